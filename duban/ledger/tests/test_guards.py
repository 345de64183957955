"""What the actions refuse whatever the caller (page, API, import): out-of-scope people and
places, implausible dates, over-long text, too many files, and forms filled in on stale content."""

import datetime as dt

import pytest

from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.org.models import Region, Role, Unit, UnitKind

from .flow import jpeg, member, problem_in


@pytest.fixture
def hangzhou(world):
    city = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    unit = Unit.objects.create(name="杭州市人民政府", kind=UnitKind.GOVERNMENT, region=city)
    return city, member("hz_lead", unit, Role.LEAD_OFFICIAL)


def test_it_refuses_a_lead_official_of_another_city(world, hangzhou):
    _, hz_lead = hangzhou
    with pytest.raises(actions.InvalidInput) as error:
        world.problem(title="外市领导", lead_official=hz_lead)
    assert error.value.field == "lead_official"
    problem = world.problem()
    with pytest.raises(actions.InvalidInput):
        actions.update_problem(problem, by=world.office, fields={"lead_official": hz_lead})
    assert not Problem.objects.visible_to(hz_lead).exists()


def test_it_refuses_a_problem_outside_the_inspections_region(world):
    county_round = Inspection.objects.create(
        code="wx-self", name="吴兴区自查", kind="self", target_region=world.wuxing
    )
    with pytest.raises(actions.InvalidInput) as error:
        actions.create_problem(
            by=world.office,
            inspection=county_round,
            fields={
                "feedback_text": "x",
                "title": "南浔问题",
                "region": world.nanxun,
                "lead_unit": world.housing,
                "deadline": dt.date(2027, 6, 30),
            },
        )
    assert error.value.field == "region"
    assert not Problem.objects.filter(title="南浔问题").exists()


@pytest.mark.parametrize("deadline", [dt.date(9999, 12, 31), dt.date(1, 1, 1)])
def test_it_refuses_an_implausible_deadline(world, deadline):
    with pytest.raises(actions.InvalidInput) as error:
        world.problem(deadline=deadline)
    assert error.value.field == "deadline"
    assert "2000" in str(error.value)


def test_it_refuses_an_extension_into_the_past(world):
    problem = problem_in(
        world, State.IN_PROGRESS, deadline_by_date=False, deadline_ongoing=True, deadline=None
    )
    with pytest.raises(actions.InvalidInput) as error:
        actions.request_extension(
            problem,
            by=world.liaison,
            reasons="r",
            efforts="e",
            roadmap="m",
            new_deadline=dt.date.today() - dt.timedelta(days=1),
        )
    assert error.value.field == "new_deadline"


def test_it_refuses_an_over_long_measure_owner_and_evidence_category(world):
    with pytest.raises(actions.InvalidInput):
        actions.create_problem(
            by=world.office,
            inspection=world.inspection,
            fields={
                "feedback_text": "x",
                "title": "长负责人",
                "region": world.wuxing,
                "lead_unit": world.eco,
                "deadline": dt.date(2027, 6, 30),
            },
            measures=[actions.MeasureInput("措施", "负" * 101)],
        )
    problem = problem_in(world, State.IN_PROGRESS)
    with pytest.raises(actions.InvalidInput) as error:
        actions.upload_evidence(problem, by=world.liaison, files=[jpeg()], category="类" * 51)
    assert error.value.field == "category"


def test_it_refuses_more_files_than_one_upload_may_carry(world):
    problem = problem_in(world, State.IN_PROGRESS)
    files = [jpeg(f"{n}.jpg") for n in range(actions.MAX_FILES_PER_UPLOAD + 1)]
    with pytest.raises(actions.InvalidInput) as error:
        actions.upload_evidence(problem, by=world.liaison, files=files, category="现场照片")
    assert str(actions.MAX_FILES_PER_UPLOAD) in str(error.value)
    assert not problem.evidence.exists()


def test_it_refuses_a_signature_over_content_the_signer_did_not_see(world):
    problem = problem_in(world, State.CLOSING_APPLIED)
    shown = actions.content_hash(actions.open_application(problem))
    actions.edit_application(problem, by=world.liaison, summary="改过的说明", self_check="自查属实")
    problem.refresh_from_db()
    with pytest.raises(actions.Conflict):
        actions.sign(problem, by=world.unit_head, statement="同意。", expected_hash=shown)
    assert not actions.open_application(problem).signatures.exists()
    fresh = actions.content_hash(actions.open_application(problem))
    actions.sign(problem, by=world.unit_head, statement="同意。", expected_hash=fresh)


def test_it_refuses_an_edit_made_on_a_stale_form(world):
    problem = world.problem()
    seen = problem.version
    actions.update_problem(problem, by=world.office, fields={"title": "先改的标题"})
    stale = Problem.objects.get(pk=problem.pk)
    with pytest.raises(actions.Conflict):
        actions.update_problem(stale, by=world.office, fields={"title": "后改的标题"}, version=seen)
    assert Problem.objects.get(pk=problem.pk).title == "先改的标题"
