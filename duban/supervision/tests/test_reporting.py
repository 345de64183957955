"""定期调度: a missing progress report is flagged, the contact then the head reminded, and a
late report closes the gap; the office sees which units are late."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.inspections.models import ReportCadence
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import Cast, member, problem_in
from duban.org.models import Region, Role, Unit, UnitKind
from duban.supervision.cycles import last_closed_period
from duban.supervision.models import ReportGap

from .support import inbox, sweep, today

DAY = dt.timedelta(days=1)


@pytest.fixture
def weekly(world):
    """Weekly reports due yesterday's weekday: today's sweep closes the period due yesterday."""
    inspection = world.inspection
    inspection.report_cadence = ReportCadence.WEEKLY
    inspection.report_due_weekday = (today() - DAY).weekday()
    inspection.report_head_after_days = 3
    inspection.save()
    return inspection


def in_progress_since_long_ago(world, cast=None, **fields):
    problem = problem_in(world, State.IN_PROGRESS, cast, **fields)
    Problem.objects.filter(pk=problem.pk).update(assigned_at=timezone.now() - dt.timedelta(days=60))
    problem.refresh_from_db()
    return problem


def test_it_computes_the_periods_of_each_cadence(world):
    inspection = world.inspection
    inspection.report_cadence, inspection.report_due_day = ReportCadence.MONTHLY, 25
    period = last_closed_period(inspection, dt.date(2026, 7, 3))
    assert (period.start, period.due_on) == (dt.date(2026, 5, 26), dt.date(2026, 6, 25))
    inspection.report_cadence = ReportCadence.QUARTERLY
    period = last_closed_period(inspection, dt.date(2026, 8, 1))
    assert (period.start, period.due_on) == (dt.date(2026, 3, 26), dt.date(2026, 6, 25))
    inspection.report_cadence, inspection.report_due_day = ReportCadence.MONTHLY, 31
    assert last_closed_period(inspection, dt.date(2026, 3, 2)).due_on == dt.date(2026, 2, 28)
    inspection.report_cadence, inspection.report_due_weekday = ReportCadence.WEEKLY, 4
    period = last_closed_period(inspection, dt.date(2026, 7, 3))  # a Friday
    assert (period.start, period.due_on) == (dt.date(2026, 6, 20), dt.date(2026, 6, 26))
    inspection.report_cadence = ReportCadence.BIWEEKLY
    period = last_closed_period(inspection, dt.date(2026, 7, 3))
    assert (period.due_on - period.start).days == 13 and period.due_on.weekday() == 4


def test_it_flags_a_missing_report_and_reminds_the_contact_then_the_head(world, weekly):
    problem = in_progress_since_long_ago(world)
    due = today() - DAY

    counts = sweep(today())
    assert counts["report_gap_flagged"] == 1 and counts["report_reminder_contact"] == 1
    gap = ReportGap.objects.get()
    assert (gap.problem, gap.unit, gap.due_on, gap.reported_at) == (problem, world.eco, due, None)
    assert len(inbox(world.liaison, "report_missing")) == 1
    assert inbox(world.unit_head) == []
    assert AuditEvent.objects.filter(
        problem_id=problem.pk, action="supervision.report.missing", role="system"
    ).exists()

    assert sweep(today() + DAY) == {}  # two days after the due date: the head is not told yet
    assert sweep(today() + 2 * DAY) == {"report_reminder_head": 1}
    assert len(inbox(world.unit_head, "report_missing_head")) == 1
    assert sweep(today() + 2 * DAY) == {}
    assert len(inbox(world.liaison, "report_missing")) == 1  # told once


def test_a_late_report_closes_the_gap(world, weekly):
    problem = in_progress_since_long_ago(world)
    sweep(today())

    report = actions.report_progress(
        problem, by=world.liaison, period="本周", text="补报", percent=30
    )

    assert sweep(today() + DAY) == {"report_gap_closed": 1}
    gap = ReportGap.objects.get()
    assert gap.reported_at == report.submitted_at
    received = AuditEvent.objects.get(action="supervision.report.received")
    assert (received.problem_id, received.role, received.actor_name) == (
        problem.pk,
        "system",
        "system",
    )
    assert received.before["due_on"] == gap.due_on.isoformat()
    assert sweep(today() + 2 * DAY) == {}  # reported: the head is not bothered
    assert AuditEvent.objects.filter(action="supervision.report.received").count() == 1


def test_it_does_not_flag_a_problem_that_reported_in_the_period(world, weekly):
    problem = in_progress_since_long_ago(world)
    actions.report_progress(problem, by=world.liaison, period="本周", text="按时", percent=30)
    Problem.objects.filter(pk=problem.pk).update(last_report_at=timezone.now() - 3 * DAY)

    assert sweep(today()) == {"report_period_closed": 1}
    assert not ReportGap.objects.exists()


def test_it_does_not_flag_a_problem_assigned_during_the_period(world, weekly):
    problem_in(world, State.IN_PROGRESS)  # assigned today, after the period began

    assert sweep(today()).get("report_gap_flagged") is None


@pytest.fixture
def late_world(world, weekly):
    in_progress_since_long_ago(world)
    in_progress_since_long_ago(world, ledger_number="第2号")
    in_progress_since_long_ago(
        world,
        Cast(world, liaison=world.other_liaison),
        lead_unit=world.housing,
        ledger_number="第3号",
    )
    sweep(today())
    return world


def test_the_office_sees_which_units_are_late(client, late_world):
    client.force_login(User.objects.get(username="office"))
    response = client.get(reverse("supervision:late_reports"))

    assert response.status_code == 200
    rows = {row["unit"]: row for row in response.context["rows"]}
    assert rows[late_world.eco]["problems"] == 2
    assert rows[late_world.housing]["problems"] == 1
    assert rows[late_world.eco]["oldest"] == today() - DAY
    html = response.content.decode()
    assert f"?unit={late_world.eco.pk}&amp;state=in_progress" in html


def test_an_office_of_another_region_does_not_see_them(client, late_world):
    jiaxing = Region.objects.create(
        code="330400", name="嘉兴市", level="city", parent=late_world.city.parent
    )
    unit = Unit.objects.create(name="嘉兴市整改办", kind=UnitKind.OFFICE, region=jiaxing)
    member("jiaxing_office", unit, Role.OFFICE)
    client.force_login(User.objects.get(username="jiaxing_office"))

    response = client.get(reverse("supervision:late_reports"))

    assert response.status_code == 200 and response.context["rows"] == []


@pytest.mark.parametrize("username", ["liaison", "unit_head", "viewer", "outsider"])
def test_the_late_reports_page_is_for_office_staff_only(client, late_world, username):
    client.force_login(User.objects.get(username=username))

    assert client.get(reverse("supervision:late_reports")).status_code == 403


def test_a_unit_late_in_two_rounds_hears_of_each_and_its_head_of_both(world, weekly):
    from duban.inspections.models import Inspection

    first = in_progress_since_long_ago(world)
    second = in_progress_since_long_ago(world, ledger_number="第2号")
    provincial = Inspection.objects.create(
        code="prov-test",
        name="省级生态环境保护督察",
        kind="provincial",
        target_region=world.city.parent,
        feedback_date=dt.date(2026, 6, 1),
        report_cadence=ReportCadence.WEEKLY,
        report_due_weekday=weekly.report_due_weekday,
        report_head_after_days=weekly.report_head_after_days,
    )
    Problem.objects.filter(pk=second.pk).update(inspection=provincial)

    sweep(today())
    assert len(inbox(world.liaison, "report_missing")) == 2  # one per round, not one dropped

    assert sweep(today() + 2 * DAY) == {"report_reminder_head": 2}
    assert len(inbox(world.unit_head, "report_missing_head")) == 2
    assert not ReportGap.objects.filter(head_reminded_at__isnull=True).exists()
    for problem in (first, second):
        assert AuditEvent.objects.filter(
            problem_id=problem.pk, action="supervision.report.head_reminded", role="system"
        ).exists()
    assert sweep(today() + 3 * DAY) == {}
