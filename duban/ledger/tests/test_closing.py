"""申请销号: evidence, signatures over a content hash, and parents that close after their children."""

import pytest

from duban.ledger import actions
from duban.ledger.models import Problem, Signature, SignatureRole, State
from duban.org.models import Region, Role, Unit, UnitKind

from .flow import Cast, advance, apply, member, pdf, problem_in, upload_checklist

# --- evidence catalogue -------------------------------------------------------------------


def test_it_lists_missing_materials_from_the_inspection_checklist(world):
    problem = problem_in(world, State.IN_PROGRESS)
    assert actions.missing_materials(problem) == ["整改报告", "现场照片"]

    actions.upload_evidence(problem, by=world.liaison, files=[pdf()], category="整改报告")
    assert actions.missing_materials(problem) == ["现场照片"]
    actions.upload_evidence(problem, by=world.liaison, files=[pdf("其他.pdf")], category="会议纪要")
    assert actions.missing_materials(problem) == ["现场照片"]

    world.inspection.closing_checklist = ["整改报告", "会议纪要"]
    world.inspection.save()
    assert actions.missing_materials(problem) == []


def test_it_refuses_to_apply_while_a_required_category_is_missing(world):
    problem = problem_in(world, State.IN_PROGRESS)
    actions.upload_evidence(problem, by=world.liaison, files=[pdf()], category="整改报告")

    with pytest.raises(actions.InvalidInput) as refused:
        apply(problem, Cast(world))

    assert "现场照片" in str(refused.value) and "整改报告" not in str(refused.value)
    problem.refresh_from_db()
    assert problem.state == State.IN_PROGRESS
    assert not problem.closing_applications.exists()


def test_it_requires_a_summary_and_a_self_check(world):
    problem = problem_in(world, State.IN_PROGRESS)
    upload_checklist(problem, Cast(world))
    with pytest.raises(actions.InvalidInput) as refused:
        actions.apply_for_closing(problem, by=world.liaison, summary="已完成", self_check=" ")
    assert refused.value.field == "self_check"
    with pytest.raises(actions.InvalidInput) as refused:
        actions.apply_for_closing(problem, by=world.liaison, summary="", self_check="属实")
    assert refused.value.field == "summary"


def test_it_attaches_every_file_of_the_problem_to_the_application(world):
    problem = problem_in(world, State.IN_PROGRESS)
    upload_checklist(problem, Cast(world))
    application = apply(problem, Cast(world))
    assert set(application.evidence.all()) == set(problem.evidence.all())
    assert application.evidence.count() == 2


# --- signatures ---------------------------------------------------------------------------


def test_it_hashes_the_application_text_and_the_evidence(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    application = actions.open_application(problem)
    original = actions.content_hash(application)

    application.summary = "改过的说明"
    assert actions.content_hash(application) != original
    application.refresh_from_db()
    assert actions.content_hash(application) == original

    application.evidence.remove(application.evidence.first())
    assert actions.content_hash(application) != original


def test_it_signs_over_the_content_hash(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    application = actions.open_application(problem)

    signature = actions.sign(problem, by=world.unit_head, statement="情况属实")

    assert signature.role == SignatureRole.UNIT_HEAD and signature.signer == world.unit_head
    assert signature.content_hash == actions.content_hash(application)
    assert len(signature.content_hash) == 64


def test_it_refuses_a_second_signature_in_the_same_role(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    actions.sign(problem, by=world.unit_head, statement="属实")
    with pytest.raises(actions.WrongState):
        actions.sign(problem, by=world.unit_head, statement="再签一次")
    assert Signature.objects.count() == 1


def test_it_voids_the_signatures_when_the_application_is_edited(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    application = actions.open_application(problem)
    signed = actions.sign(problem, by=world.unit_head, statement="属实")

    actions.edit_application(problem, by=world.liaison, summary="补充说明", self_check="已自查")

    signed.refresh_from_db()
    assert signed.voided_at is not None and signed.void_reason
    application.refresh_from_db()
    assert application.summary == "补充说明"
    assert actions.content_hash(application) != signed.content_hash

    # The endorsement alone does not start acceptance: the head's signature was voided.
    actions.endorse(problem, by=world.lead_official, statement="同意")
    problem.refresh_from_db()
    assert problem.state == State.CLOSING_APPLIED

    resigned = actions.sign(problem, by=world.unit_head, statement="补充后仍属实")
    problem.refresh_from_db()
    assert problem.state == State.UNDER_ACCEPTANCE
    assert resigned.content_hash == actions.content_hash(application)
    valid = application.signatures.filter(voided_at__isnull=True)
    assert {s.role for s in valid} == {SignatureRole.UNIT_HEAD, SignatureRole.LEAD_OFFICIAL}
    assert application.signatures.count() == 3


def test_it_needs_only_the_unit_heads_signature_without_a_lead_official(world):
    problem = problem_in(world, State.CLOSING_APPLIED, lead_official=None)

    with pytest.raises(actions.NotAllowed):
        actions.endorse(problem, by=world.lead_official, statement="同意")
    actions.sign(problem, by=world.unit_head, statement="属实")

    problem.refresh_from_db()
    assert problem.state == State.UNDER_ACCEPTANCE


def test_it_waits_for_both_signatures_with_a_lead_official(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    actions.endorse(problem, by=world.lead_official, statement="同意")
    problem.refresh_from_db()
    assert problem.state == State.CLOSING_APPLIED
    actions.sign(problem, by=world.unit_head, statement="属实")
    problem.refresh_from_db()
    assert problem.state == State.UNDER_ACCEPTANCE


# --- parents and children -----------------------------------------------------------------


@pytest.fixture
def township(world):
    """织里镇 in 吴兴区, with its own government, liaison and head."""
    zhili = Region.objects.create(
        code="330502100", name="织里镇", level="township", parent=world.wuxing
    )
    unit = Unit.objects.create(name="织里镇人民政府", kind=UnitKind.GOVERNMENT, region=zhili)
    liaison = member("zhili_liaison", unit, Role.LIAISON)
    head = member("zhili_head", unit, Role.UNIT_HEAD)
    return unit, Cast(world, liaison=liaison, unit_head=head)


def test_it_splits_a_problem_into_assigned_children_for_lower_units(world, township):
    unit, _ = township
    parent = world.problem()

    children = actions.split_problem(
        parent,
        by=world.office,
        children=[{"lead_unit": unit}, {"lead_unit": world.eco, "title": "城区部分"}],
    )

    assert len(children) == 2
    for child in children:
        child.refresh_from_db()
        assert child.parent == parent and child.state == State.ASSIGNED
        assert child.deadline == parent.deadline and child.lead_official == parent.lead_official
        assert list(child.measures.values_list("text", flat=True)) == ["全面排查燃煤锅炉"]
    assert children[0].lead_unit == unit and children[0].region.name == "织里镇"
    assert children[0].ledger_number == "第1号-1"
    assert children[1].title == "城区部分"
    assert set(parent.children.all()) == set(children)
    parent.refresh_from_db()
    assert parent.state == State.REGISTERED


def test_it_refuses_a_child_outside_the_parents_region(world):
    parent = world.problem()
    with pytest.raises(actions.InvalidInput):
        actions.split_problem(parent, by=world.office, children=[{"lead_unit": world.housing}])
    assert not Problem.objects.filter(parent=parent).exists()


def test_it_closes_a_parent_only_after_every_child_is_closed(world, township):
    unit, zhili = township
    cast = Cast(world)
    parent = problem_in(world, State.IN_PROGRESS)
    first, second = actions.split_problem(
        parent, by=world.office, children=[{"lead_unit": unit}, {"lead_unit": unit, "title": "二"}]
    )
    upload_checklist(parent, cast)

    with pytest.raises(actions.WrongState) as refused:
        apply(parent, cast)
    assert "2" in str(refused.value)

    advance(first, zhili, State.CLOSED)
    with pytest.raises(actions.WrongState) as refused:
        apply(parent, cast)
    assert "1" in str(refused.value)
    parent.refresh_from_db()
    assert parent.state == State.IN_PROGRESS

    advance(second, zhili, State.CLOSED)
    advance(parent, cast, State.CLOSED)
    assert parent.state == State.CLOSED
