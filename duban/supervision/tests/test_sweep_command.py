"""`duban sweep --now … --json` prints what it did; run twice, the second does nothing and
writes nothing. `duban scheduler` sweeps every interval."""

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Problem, PublicNotice, State
from duban.ledger.tests.flow import problem_in
from duban.notify.models import Notification
from duban.supervision import sweep as sweeping
from duban.supervision.models import ReportGap, Rung

from .support import RULES, at, today

DAY = dt.timedelta(days=1)


def snapshot() -> dict:
    """Every table the sweep writes, with the columns it updates."""
    return {
        "rungs": list(Rung.objects.values_list("key", "data")),
        "gaps": list(ReportGap.objects.values_list("pk", "reported_at", "head_reminded_at")),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "problems": list(Problem.objects.values_list("pk", "state", "version")),
        "notices": list(PublicNotice.objects.values_list("pk", "status")),
    }


def run(now) -> dict:
    out = io.StringIO()
    call_command("sweep", now=now.isoformat(), json=True, only=RULES, stdout=out)
    return json.loads(out.getvalue())


def test_a_second_sweep_at_the_same_time_does_nothing_and_writes_nothing(world):
    # Something of every kind due on the same day.
    notice_problem = problem_in(world, State.PUBLIC_NOTICE, ledger_number="第2号")
    ends_on = actions.open_notice(notice_problem).ends_on
    day = ends_on + DAY
    world.problem(deadline=day + 3 * DAY)
    late = problem_in(world, State.IN_PROGRESS, ledger_number="第3号", deadline=day + 90 * DAY)
    Problem.objects.filter(pk=late.pk).update(assigned_at=timezone.now() - dt.timedelta(days=90))
    now = at(day)

    first = run(now)
    assert first["now"] == now.isoformat()
    assert first["counts"]["notice_closed"] == 1
    assert first["counts"]["deadline_reminder"] == 1
    assert first["counts"]["report_gap_flagged"] == 1
    before = snapshot()

    second = run(now)

    assert second["counts"] == {}
    assert snapshot() == before


def test_a_sweep_with_nothing_due_writes_nothing(world):
    world.problem()
    before = snapshot()

    assert run(at(today()))["counts"] == {}
    assert snapshot() == before


def test_the_scheduler_sweeps_every_interval_until_stopped(world):
    out = io.StringIO()
    call_command("scheduler", interval=0, sweeps=2, only=RULES, stdout=out)

    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(" sweep: " in line for line in lines)


def test_a_failing_rule_is_reported_and_the_rules_after_it_still_run(world, monkeypatch):
    def broken(now):
        raise RuntimeError("the robot's server is down")

    monkeypatch.setattr(sweeping, "RULES", {"broken": broken, **sweeping.RULES})
    problem = world.problem(deadline=today() + 3 * DAY)

    with translation.override("en"), pytest.raises(CommandError, match="rules failed.*broken"):
        call_command("sweep", now=at(today()).isoformat(), only=["broken", "deadline_reminders"])

    assert Rung.objects.filter(problem=problem, kind="deadline_reminder").count() == 1
    assert sweeping.run_sweep(at(today()), only=["broken"]) == {"broken.failed": 1}
