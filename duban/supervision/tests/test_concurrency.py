"""Two schedulers sweeping at the same moment on PostgreSQL: each step is taken once."""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from duban.audit import log
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import problem_in
from duban.notify.models import Notification
from duban.supervision.models import ReportGap, Rung
from duban.supervision.sweep import run_sweep

from .support import RULES, at

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

DAY = dt.timedelta(days=1)


def test_two_sweepers_take_each_step_once(world):
    notice_problem = problem_in(world, State.PUBLIC_NOTICE, ledger_number="第2号")
    day = actions.open_notice(notice_problem).ends_on + DAY
    world.problem(deadline=day + 1 * DAY)
    late = problem_in(world, State.IN_PROGRESS, ledger_number="第3号", deadline=day + 90 * DAY)
    Problem.objects.filter(pk=late.pk).update(assigned_at=timezone.now() - dt.timedelta(days=90))
    now = at(day)
    audit_before = AuditEvent.objects.count()
    barrier = threading.Barrier(2)
    results = [None, None]

    def sweeper(index):
        try:
            barrier.wait(timeout=10)
            results[index] = run_sweep(now, only=RULES)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=sweeper, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(isinstance(r, Exception) for r in results), results
    total = results[0] + results[1]
    assert total["notice_closed"] == 1
    assert total["deadline_reminder"] == 1
    assert total["report_gap_flagged"] == 1
    assert Rung.objects.filter(kind="notice_closed").count() == 1
    assert ReportGap.objects.count() == 1
    assert Notification.objects.filter(kind="deadline_reminder").count() == 1
    # Once each: the close, the reminder, the missing report and the head's reminder.
    actions_taken = AuditEvent.objects.order_by("seq").values_list("action", flat=True)
    assert sorted(actions_taken[audit_before:]) == [
        "close",
        "supervision.remind.deadline",
        "supervision.report.head_reminded",
        "supervision.report.missing",
    ]
    assert log.verify().ok
