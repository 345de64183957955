"""Travelling in time through the escalation ladder."""

import datetime as dt

from django.utils import timezone

from duban.supervision.sweep import run_sweep

RULES = ["escalation.notices", "escalation.listing", "escalation.circulars", "escalation.referrals"]


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def sweep(now: dt.datetime):
    """The ladder's rules only, so other rules' steps do not muddle the counts."""
    return run_sweep(now, only=RULES)


def first_of_next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def late_problem(world, days_late: int = 70, **fields):
    """A problem of 吴兴 生态环境分局 whose deadline passed `days_late` days ago (wall clock).

    The ladder's early rungs are swept in that past; people then act today (their
    actions use the wall clock), and the last rung is swept days after today.
    """
    deadline = timezone.localdate() - dt.timedelta(days=days_late)
    return world.problem(deadline=deadline, **fields)
