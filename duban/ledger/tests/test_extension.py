"""延期申请: a unit asks for a later deadline, the office decides."""

import datetime as dt

import pytest

from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Extension, ExtensionStatus, State

from .flow import problem_in


@pytest.fixture
def problem(world):
    return problem_in(world, State.IN_PROGRESS, deadline=dt.date.today() + dt.timedelta(days=30))


def request(problem, by, days=60):
    return actions.request_extension(
        problem,
        by=by,
        reasons="设备采购周期长",
        efforts="已拆除三台",
        new_deadline=problem.deadline + dt.timedelta(days=days),
        roadmap="9月底前完成剩余拆除",
    )


def test_it_moves_the_deadline_when_an_extension_is_approved(world, problem):
    original, behind_from = problem.deadline, problem.pace_behind_from
    extension = request(problem, world.liaison)
    assert extension.status == ExtensionStatus.PENDING
    assert extension.old_deadline == original

    decided = actions.decide_extension(extension, by=world.office, approve=True)

    problem.refresh_from_db()
    assert decided.status == ExtensionStatus.APPROVED and decided.decided_by == world.office
    assert problem.deadline == original + dt.timedelta(days=60)
    assert problem.original_deadline == original
    assert decided.old_deadline == original
    assert problem.pace_behind_from > behind_from  # the timetable stretches with the deadline


def test_it_keeps_the_original_deadline_through_two_extensions(world, problem):
    original = problem.deadline
    actions.decide_extension(request(problem, world.liaison, 30), by=world.office, approve=True)
    problem.refresh_from_db()
    second = request(problem, world.liaison, 30)
    assert second.old_deadline == original + dt.timedelta(days=30)
    actions.decide_extension(second, by=world.office, approve=True)

    problem.refresh_from_db()
    assert problem.deadline == original + dt.timedelta(days=60)
    assert problem.original_deadline == original
    assert [e.old_deadline for e in Extension.objects.order_by("id")] == [
        original,
        original + dt.timedelta(days=30),
    ]


def test_it_makes_an_overdue_problem_current_again(world):
    problem = problem_in(world, State.IN_PROGRESS, deadline=dt.date.today() - dt.timedelta(days=1))
    assert problem.is_overdue()
    actions.decide_extension(request(problem, world.liaison, 30), by=world.office, approve=True)
    problem.refresh_from_db()
    assert not problem.is_overdue()


def test_it_needs_a_note_to_reject(world, problem):
    original = problem.deadline
    extension = request(problem, world.liaison)

    with pytest.raises(actions.InvalidInput) as refused:
        actions.decide_extension(extension, by=world.office, approve=False, note="  ")
    assert refused.value.field == "note"
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING

    actions.decide_extension(extension, by=world.office, approve=False, note="理由不充分")
    extension.refresh_from_db()
    problem.refresh_from_db()
    assert extension.status == ExtensionStatus.REJECTED and extension.decision_note == "理由不充分"
    assert problem.deadline == original
    assert AuditEvent.objects.filter(problem_id=problem.pk, action="extension.rejected").exists()


def test_it_refuses_a_second_pending_request(world, problem):
    request(problem, world.liaison)
    with pytest.raises(actions.WrongState):
        request(problem, world.liaison, 90)
    assert Extension.objects.filter(problem=problem).count() == 1


def test_it_allows_a_new_request_after_a_decision(world, problem):
    first = request(problem, world.liaison)
    actions.decide_extension(first, by=world.office, approve=False, note="不同意")
    second = request(problem, world.liaison)
    assert second.status == ExtensionStatus.PENDING


def test_it_refuses_to_decide_twice(world, problem):
    extension = request(problem, world.liaison)
    actions.decide_extension(extension, by=world.office, approve=True)
    with pytest.raises(actions.WrongState):
        actions.decide_extension(extension, by=world.office, approve=False, note="反悔")


def test_it_refuses_a_new_deadline_that_is_not_later(world, problem):
    with pytest.raises(actions.InvalidInput) as refused:
        request(problem, world.liaison, days=0)
    assert refused.value.field == "new_deadline"
    assert not Extension.objects.exists()


def test_it_requires_reasons_efforts_and_roadmap(world, problem):
    with pytest.raises(actions.InvalidInput) as refused:
        actions.request_extension(
            problem,
            by=world.liaison,
            reasons="原因",
            efforts="",
            new_deadline=problem.deadline + dt.timedelta(days=10),
            roadmap="路线",
        )
    assert refused.value.field == "efforts"


def test_it_lets_only_the_lead_units_liaison_request_and_the_office_decide(world, problem):
    with pytest.raises(actions.NotAllowed):
        request(problem, world.other_liaison)
    extension = request(problem, world.liaison)
    for user in (world.liaison, world.unit_head, world.county_acceptor, world.outsider):
        with pytest.raises(actions.NotAllowed):
            actions.decide_extension(extension, by=user, approve=True)
    extension.refresh_from_db()
    assert extension.status == ExtensionStatus.PENDING
