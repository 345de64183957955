"""Who a problem is linked to decides who sees it; what was signed must stay what was signed."""

import pytest

from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.org.models import Role, Unit, UnitKind

from .flow import jpeg, member, problem_in


def test_it_refuses_to_link_a_unit_outside_the_offices_region(world):
    # A county office may not hand a problem to another county's unit: that unit's staff would see it.
    county_office = Unit.objects.create(
        name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing
    )
    clerk = member("wuxing_clerk", county_office, Role.OFFICE)
    with pytest.raises(actions.InvalidInput) as error:
        actions.create_problem(
            by=clerk,
            inspection=world.inspection,
            fields={
                "feedback_text": "x",
                "title": "x",
                "region": world.wuxing,
                "lead_unit": world.eco,
                "deadline": world.inspection.feedback_date,
            },
            co_units=[world.housing],
        )
    assert world.housing.name in str(error.value)
    assert not Problem.objects.filter(title="x").exists()


def test_it_refuses_to_move_the_lead_to_a_unit_outside_the_offices_region(world):
    county_office = Unit.objects.create(
        name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing
    )
    clerk = member("wuxing_clerk", county_office, Role.OFFICE)
    problem = world.problem()
    with pytest.raises(actions.InvalidInput):
        actions.update_problem(problem, by=clerk, fields={"lead_unit": world.housing})
    problem.refresh_from_db()
    assert problem.lead_unit == world.eco


def test_it_lets_the_parents_lead_unit_follow_the_children_it_split_off(world):
    town = Unit.objects.create(name="织里镇人民政府", kind=UnitKind.GOVERNMENT, region=world.wuxing)
    town_liaison = member("zhili_liaison", town, Role.LIAISON)
    parent = problem_in(world, State.IN_PROGRESS)
    [child] = actions.split_problem(parent, by=world.office, children=[{"lead_unit": town}])
    # The parent's unit sees the child (to know why the parent cannot close yet) but does not act on it.
    assert Problem.objects.visible_to(world.liaison).filter(pk=child.pk).exists()
    with pytest.raises(actions.NotAllowed):
        actions.claim(child, by=world.liaison)
    actions.claim(child, by=town_liaison)
    # The town does not see the parent.
    assert not Problem.objects.visible_to(town_liaison).filter(pk=parent.pk).exists()


def test_it_voids_the_signatures_when_a_file_is_added_after_signing(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    signature = actions.sign(problem, by=world.unit_head, statement="情况属实。")
    application = actions.open_application(problem)
    before = actions.content_hash(application)
    problem.refresh_from_db()
    [added] = actions.upload_evidence(
        problem, by=world.liaison, files=[jpeg("补充照片.jpg")], category="现场照片"
    )
    signature.refresh_from_db()
    assert signature.voided_at is not None
    assert added in application.evidence.all()
    assert actions.content_hash(application) != before
    problem.refresh_from_db()
    assert problem.state == State.CLOSING_APPLIED
