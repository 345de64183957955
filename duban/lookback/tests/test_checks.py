"""Checks: the drawn checker records kept or rebound; a rebound reopens the problem and counts."""

import pytest

from duban.audit.models import AuditEvent
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import pdf, png, problem_in
from duban.ledger.timeline import timeline
from duban.lookback import actions, selectors
from duban.lookback.models import LookbackCheck, Outcome
from duban.notify.models import Notification


@pytest.fixture
def check(world):
    """A problem of 吴兴分局 walked to closed by the ledger's actions, drawn for a check."""
    problem = problem_in(world, State.CLOSED, ledger_number="第7号")
    draw = actions.create_draw(by=world.office, inspection=world.inspection, seed="7", size=1)
    return draw.checks.get(problem=problem)


def test_it_draws_a_checker_from_the_acceptors_and_tells_him(world, check):
    assert check.checker in (world.county_acceptor, world.city_acceptor)
    assert Notification.objects.filter(recipient=check.checker, kind="lookback_assigned").exists()
    assert "lookback.drawn" in [e.action for e in timeline(check.problem_id)]


def test_it_reopens_a_rebound_problem_and_tells_the_unit_and_the_office(world, check):
    problem = check.problem
    version = problem.version
    actions.record_check(
        check,
        by=check.checker,
        outcome=Outcome.REBOUND,
        findings="现场复查发现燃煤锅炉死灰复燃。",
        files=[png("复查照片.png")],
    )
    problem = Problem.objects.get(pk=problem.pk)
    assert problem.state == State.IN_PROGRESS
    assert problem.is_rebound and problem.closed_at is None and problem.version > version
    assert list(Problem.objects.filter(is_rebound=True)) == [problem]

    events = AuditEvent.objects.filter(problem_id=problem.pk).order_by("seq")
    actions_ = [e.action for e in events]
    assert actions_[-3:] == ["evidence.upload", "lookback.rebound", "rebound.reopen"]
    assert events.last().after["state"] == State.IN_PROGRESS
    labels = {entry.action: entry.label for entry in timeline(problem.pk)}
    assert labels["rebound.reopen"] != "rebound.reopen"  # labelled for people

    told = set(
        Notification.objects.filter(kind="rebound", problem=problem).values_list(
            "recipient__username", flat=True
        )
    )
    assert {"liaison", "unit_head", "office"} <= told
    assert "other_liaison" not in told

    evidence = check.evidence.get()
    assert evidence.problem_id == problem.pk and evidence.category == "回头看"
    of_round = LookbackCheck.objects.filter(draw__inspection=world.inspection)
    assert selectors.rebounds_by_unit(of_round) == {world.eco: 1}
    assert selectors.rebounds_by_unit(of_round.filter(problem__lead_unit=world.housing)) == {}


def test_it_leaves_a_kept_problem_closed(world, check):
    actions.record_check(
        check, by=check.checker, outcome=Outcome.KEPT, findings="整改成果巩固。", files=[pdf()]
    )
    problem = Problem.objects.get(pk=check.problem_id)
    assert problem.state == State.CLOSED and not problem.is_rebound
    assert LookbackCheck.objects.get(pk=check.pk).outcome == Outcome.KEPT
    assert selectors.rebounds_by_unit(LookbackCheck.objects.all()) == {}
    assert not Notification.objects.filter(kind="rebound").exists()


def test_it_lets_only_the_drawn_checker_record_once(world, check):
    other = world.city_acceptor if check.checker == world.county_acceptor else world.county_acceptor
    for user in (other, world.office, world.liaison):
        with pytest.raises(actions.NotAllowed):
            actions.record_check(
                check, by=user, outcome=Outcome.KEPT, findings="巩固", files=[pdf()]
            )
    actions.record_check(
        check, by=check.checker, outcome=Outcome.KEPT, findings="巩固", files=[pdf()]
    )
    with pytest.raises(actions.WrongState):
        actions.record_check(
            check, by=check.checker, outcome=Outcome.REBOUND, findings="反弹", files=[pdf()]
        )


def test_it_wants_findings_and_a_real_file(world, check):
    with pytest.raises(actions.InvalidInput):
        actions.record_check(
            check, by=check.checker, outcome=Outcome.KEPT, findings=" ", files=[pdf()]
        )
    with pytest.raises(actions.InvalidInput):
        actions.record_check(
            check, by=check.checker, outcome=Outcome.KEPT, findings="巩固", files=[]
        )
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("照片.jpg", b"<html>not a photo</html>")
    with pytest.raises(actions.InvalidInput, match="照片.jpg"):
        actions.record_check(
            check, by=check.checker, outcome=Outcome.KEPT, findings="巩固", files=[fake]
        )
    assert LookbackCheck.objects.get(pk=check.pk).outcome == Outcome.PENDING
