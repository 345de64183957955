"""Reminders before a problem's deadline and its milestones: once per threshold, re-armed
by an approved extension."""

import datetime as dt

from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Milestone, State
from duban.ledger.tests.flow import problem_in
from duban.supervision.models import Rung

from .support import inbox, sweep, today

DAY = dt.timedelta(days=1)
ONLY = ["deadline_reminders"]


def test_it_reminds_the_lead_units_contact_7_3_and_1_days_before_the_deadline_once_each(world):
    world.liaison.language = "en"
    world.liaison.save()
    deadline = today() + 20 * DAY
    world.problem(deadline=deadline)

    sent = []
    for days_before in (8, 7, 7, 6, 5, 4, 3, 3, 2, 1, 1, 0):
        counts = sweep(deadline - days_before * DAY)
        sent.append(counts.get("deadline_reminder", 0))

    assert sent == [0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0]
    titles = [n.title for n in inbox(world.liaison, "deadline_reminder")]
    assert len(titles) == 3
    assert ["7" in titles[0], "3" in titles[1], "1" in titles[2]] == [True, True, True]
    assert inbox(world.other_liaison) == []  # another unit's contact hears nothing


def test_it_sends_only_the_most_urgent_reminder_when_sweeps_were_missed(world):
    deadline = today() + 20 * DAY
    world.problem(deadline=deadline)

    assert sweep(deadline - 2 * DAY)["deadline_reminder"] == 1
    assert sweep(deadline - 1 * DAY)["deadline_reminder"] == 1
    assert [r.data["days_left"] for r in Rung.objects.order_by("id")] == [2, 1]


def test_it_reminds_before_each_milestone(world):
    problem = problem_in(world, State.CLAIMED, deadline=today() + 90 * DAY)
    milestone_day = today() + 30 * DAY
    Milestone.objects.create(
        problem=problem, due_date=milestone_day, percent=50, description="完成一半"
    )

    assert sweep(milestone_day - 3 * DAY)["milestone_reminder"] == 1
    assert sweep(milestone_day - 3 * DAY) == {}
    [notification] = inbox(world.liaison, "milestone_reminder")
    assert "完成一半" in notification.body and notification.problem_id == problem.pk


def test_an_approved_extension_rearms_the_reminders_and_keeps_the_old_ones(world):
    old = today() + 10 * DAY
    problem = problem_in(world, State.IN_PROGRESS, deadline=old)
    assert sweep(old - 7 * DAY, only=ONLY)["deadline_reminder"] == 1

    new = today() + 40 * DAY
    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="工程量大",
        efforts="已拆除一半",
        new_deadline=new,
        roadmap="分两批",
    )
    actions.decide_extension(extension, by=world.office, approve=True)

    assert sweep(old - 7 * DAY, only=ONLY) == {}  # the old deadline is no longer the problem's
    assert sweep(old - 1 * DAY, only=ONLY) == {}
    assert sweep(new - 7 * DAY, only=ONLY)["deadline_reminder"] == 1
    assert sweep(new - 1 * DAY, only=ONLY)["deadline_reminder"] == 1
    dates = [r.data["date"] for r in Rung.objects.filter(problem=problem).order_by("id")]
    assert dates == [old.isoformat(), new.isoformat(), new.isoformat()]
    events = AuditEvent.objects.filter(problem_id=problem.pk, action="supervision.remind.deadline")
    assert events.count() == 3 and all(e.actor_id is None and e.role == "system" for e in events)
    assert len(inbox(world.liaison, "deadline_reminder")) == 3


def test_it_does_not_remind_about_a_closed_problem_or_one_without_a_date(world):
    problem_in(world, State.PUBLIC_NOTICE, deadline=today() + 10 * DAY)
    world.problem(deadline_by_date=False, deadline_ongoing=True, deadline=None)

    assert sweep(today() + 3 * DAY, only=["deadline_reminders"]) == {}


def test_it_uses_the_inspections_reminder_days(world):
    world.inspection.reminder_days = [14]
    world.inspection.save()
    deadline = today() + 30 * DAY
    world.problem(deadline=deadline)

    assert sweep(deadline - 7 * DAY).get("deadline_reminder") == 1  # the 14-day one, late
    assert sweep(deadline - 1 * DAY) == {}
