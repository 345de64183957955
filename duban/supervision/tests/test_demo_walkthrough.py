"""The demo world, swept ahead in time as the README tells a newcomer to do.

`duban seed_demo`, then `duban sweep --now …` on later and later days: reminders arrive
before 吴兴分局's deadline, the overdue unit gets a supervision notice to acknowledge, the
circular is drawn up and approved, public notices close their problems, a look-back draw
redoes itself from its seed and a rebound reopens a problem.
"""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from duban.accounts.models import User
from duban.escalation import actions as escalation
from duban.escalation.models import Circular, CircularStatus, NoticeStatus, SupervisionNotice
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import png
from duban.lookback import actions as lookback
from duban.notify.models import Notification
from duban.workcalendar import workdays


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def demo(db):
    call_command("seed_demo", stdout=StringIO(), stderr=StringIO())


def sweep(day: dt.date) -> dict:
    out = StringIO()
    moment = dt.datetime.combine(day, dt.time(9)).isoformat()
    call_command("sweep", "--now", moment, "--json", stdout=out)
    return json.loads(out.getvalue())["counts"]


def user(name: str) -> User:
    return User.objects.get(username=name)


def test_the_demo_brings_reminders_then_a_notice_then_a_circular(demo):
    today = timezone.localdate()
    near = Problem.objects.get(ledger_number="省编号第11号")
    assert near.state == State.IN_PROGRESS and (near.deadline - today).days == 12

    # Five days ahead: the milestone (due in eight days at seeding) is three days away,
    # the deadline seven; the liaison of 吴兴分局 hears of both, once.
    counts = sweep(today + dt.timedelta(days=5))
    assert counts.get("deadline_reminder", 0) >= 1 and counts.get("milestone_reminder", 0) >= 1
    inbox = Notification.objects.filter(recipient=user("liaison"), problem=near)
    assert {"deadline_reminder", "milestone_reminder"} <= set(inbox.values_list("kind", flat=True))
    assert sweep(today + dt.timedelta(days=5)) == {}

    # The day after the deadline: a supervision notice to 吴兴分局, to acknowledge.
    sweep(near.deadline + dt.timedelta(days=1))
    notice = SupervisionNotice.objects.get(unit=near.lead_unit, problems=near)
    assert notice.status == NoticeStatus.ISSUED
    assert Notification.objects.filter(recipient=user("liaison"), kind__contains="notice").exists()

    # Not acknowledged in time: listed; the next month's circular is drawn up as a draft.
    sweep(notice.ack_due + dt.timedelta(days=1))
    month_after = (notice.ack_due.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    sweep(workdays.next_working_day(month_after))
    circular = Circular.objects.get(entries__problem=near)
    assert circular.status == CircularStatus.DRAFT
    escalation.approve_circular(circular, by=user("office"))
    circular.refresh_from_db()
    assert circular.status == CircularStatus.APPROVED and circular.number


def test_the_demo_closes_its_public_notices_when_their_days_are_over(demo):
    noticed = list(Problem.objects.filter(state=State.PUBLIC_NOTICE))
    assert noticed
    last = max(p.notices.get(status="open").ends_on for p in noticed)
    counts = sweep(last + dt.timedelta(days=1))
    assert counts.get("notice_closed") == len(noticed)
    assert set(
        Problem.objects.filter(pk__in=[p.pk for p in noticed]).values_list("state", flat=True)
    ) == {State.CLOSED}


def test_the_demo_draws_for_a_look_back_and_a_rebound_reopens(demo):
    office = user("office")
    args = ["--inspection", "central-2-zj", "--size", "2", "--seed", "2026", "--min-age-days", "0"]

    def draw_from_the_command() -> dict:
        out = StringIO()
        call_command("lookback_draw", *args, "--json", stdout=out)
        return json.loads(out.getvalue())

    first = draw_from_the_command()
    assert first == draw_from_the_command() and len(first["drawn"]) == 2

    inspection = Problem.objects.get(ledger_number=first["drawn"][0]).inspection
    draw = lookback.create_draw(
        by=office, inspection=inspection, seed="2026", size=2, min_age_days=0
    )
    drawn = sorted(draw.checks.values_list("problem__ledger_number", flat=True))
    assert drawn == sorted(first["drawn"])

    check = draw.checks.select_related("problem", "checker").first()
    lookback.record_check(
        check,
        by=check.checker,
        outcome="rebound",
        findings="复查发现部分点位问题反弹。",
        files=[png("复查照片.png")],
    )
    problem = Problem.objects.get(pk=check.problem_id)
    assert problem.state == State.IN_PROGRESS and problem.is_rebound
