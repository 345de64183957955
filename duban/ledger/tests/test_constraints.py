"""The invariants of the ledger are kept by the database too: a row written past the actions
(a script, a bug, a hand edit) that breaks one is refused, on SQLite and PostgreSQL alike; and
an upgrade that adds them names the rows to correct first."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from duban.core.row_checks import ConstraintViolations
from duban.inspections.models import Inspection
from duban.ledger.models import Milestone, ProgressReport, PublicNotice, Signature, State
from duban.ledger.tests.flow import problem_in


def refused(queryset, **values) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**values)
    except IntegrityError:
        return True
    return False


def test_a_problem_keeps_progress_state_deadline_and_closing_consistent(world):
    problem = world.problem()
    rows = type(problem).objects.filter(pk=problem.pk)

    assert refused(rows, progress_percent=101)
    assert refused(rows, state="archived")
    assert refused(rows, state=State.CLOSED)  # closed without a closing time
    assert refused(rows, closed_at=timezone.now())  # a closing time on an open problem
    assert refused(rows, deadline_by_date=True, deadline=None)
    assert refused(rows, deadline_immediate=False, deadline_by_date=False, deadline_ongoing=False)

    # The same values together are what closing writes: allowed.
    assert not refused(rows, state=State.CLOSED, closed_at=timezone.now(), progress_percent=100)


def test_reports_milestones_notices_and_signatures_keep_their_rules(world):
    problem = problem_in(world, "public_notice")
    notice = PublicNotice.objects.filter(problem=problem)
    signatures = Signature.objects.filter(application__problem=problem)
    assert signatures.exists() and notice.exists()

    assert refused(notice, ends_on=notice.get().starts_on - dt.timedelta(days=1))
    assert refused(signatures, content_hash="")
    milestone = Milestone.objects.create(
        problem=problem, due_date=dt.date(2030, 1, 1), percent=50, description="半程"
    )
    assert refused(Milestone.objects.filter(pk=milestone.pk), percent=150)
    report = ProgressReport.objects.create(
        problem=problem, period="2026年10月", text="已完成", percent=40, submitted_by=world.liaison
    )
    assert refused(ProgressReport.objects.filter(pk=report.pk), percent=120)


def test_an_inspection_keeps_its_report_days_in_range(world):
    rows = Inspection.objects.filter(pk=world.inspection.pk)
    assert refused(rows, report_due_day=0)
    assert refused(rows, report_due_day=32)
    assert refused(rows, report_due_weekday=7)


@pytest.mark.django_db(transaction=True)
def test_the_upgrade_names_the_rows_that_break_a_new_rule_and_changes_nothing(world):
    problem = world.problem()
    try:
        # given: a database from before the rules, holding a problem that breaks two of them
        call_command("migrate", "ledger", "0005", verbosity=0)
        type(problem).objects.filter(pk=problem.pk).update(progress_percent=140, state="closed")

        # when: it is upgraded
        with pytest.raises(ConstraintViolations) as stopped:
            call_command("migrate", verbosity=0)

        # then: the message names the table, the rules and the row, and nothing was applied
        message = str(stopped.value)
        assert "ledger_problem (problem_progress_0_100: progress is 0 to 100 %)" in message
        assert "problem_closed_iff_closed_at" in message
        assert f"id {problem.pk}" in message
        assert not refused(type(problem).objects.filter(pk=problem.pk), progress_percent=150)
    finally:
        # Once the row is corrected, the upgrade goes through.
        type(problem).objects.filter(pk=problem.pk).update(
            progress_percent=0, state=State.REGISTERED
        )
        call_command("migrate", verbosity=0)
    assert refused(type(problem).objects.filter(pk=problem.pk), progress_percent=150)
