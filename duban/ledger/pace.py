"""序时进度: whether a problem's reported progress keeps pace with its timetable.

The expected progress runs from 0 % on the start date through the milestones to
100 % on the deadline. A problem is behind (滞后) when the expected share
exceeds the reported one by more than TOLERANCE points, ahead (超序时) when it
trails it by more. Since both depend on "today" only through a comparison of
dates, the two dates where the status flips are computed once, whenever the
progress, deadline or milestones change, and stored; the status itself is
computed at read time, in Python and in SQL alike, from those two dates.
"""

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

TOLERANCE = 10


class Pace(models.TextChoices):
    NOT_STARTED = "not_started", _("Not started")
    BEHIND = "behind", _("Behind")
    ON_PACE = "on_pace", _("On pace")
    AHEAD = "ahead", _("Ahead")
    DONE = "done", _("Done")
    CLOSED = "closed", pgettext_lazy("pace", "Closed")


# Traffic lights offices expect.
PACE_LIGHT = {
    Pace.NOT_STARTED: "grey",
    Pace.BEHIND: "red",
    Pace.ON_PACE: "yellow",
    Pace.AHEAD: "green",
    Pace.DONE: "green",
    Pace.CLOSED: "green",
}


def _curve(start: dt.date, deadline: dt.date, milestones) -> list[tuple[dt.date, float]]:
    points = [(start, 0.0)]
    for due, percent in sorted(milestones):
        if start < due < deadline and percent >= points[-1][1]:
            points.append((due, float(min(percent, 100))))
    points.append((max(deadline, start), 100.0))
    return points


def _first_day_reaching(points, level: float) -> dt.date | None:
    """The first day on which the expected curve is at or above `level`."""
    if level <= 0:
        return points[0][0]
    for (d0, p0), (d1, p1) in zip(points, points[1:], strict=False):
        if p1 >= level:
            if p1 == p0 or d1 == d0:
                return d1
            days = (d1 - d0).days * (level - p0) / (p1 - p0)
            try:
                return d0 + dt.timedelta(days=max(0, int(-(-days // 1))))
            except OverflowError:  # a date near the calendar's end; actions refuse such dates
                return dt.date.max
    return None


def pace_bounds(*, start: dt.date, deadline: dt.date | None, percent: int, milestones) -> tuple:
    """(behind_from, ahead_until): behind on or after the first, ahead before the second."""
    if deadline is None or percent >= 100:
        return None, None
    points = _curve(start, deadline, milestones)
    behind_from = _first_day_reaching(points, percent + TOLERANCE)
    after_deadline = deadline + dt.timedelta(days=1) if deadline < dt.date.max else deadline
    behind_from = min(behind_from, after_deadline) if behind_from else after_deadline
    ahead_until = _first_day_reaching(points, percent - TOLERANCE) if percent > TOLERANCE else None
    return behind_from, ahead_until


DONE_STATES = ("closing_applied", "under_acceptance", "public_notice")


def pace_on(problem, today: dt.date) -> Pace:
    if problem.state == "closed":
        return Pace.CLOSED
    if problem.state in DONE_STATES or problem.progress_percent >= 100:
        return Pace.DONE
    if problem.pace_behind_from and today >= problem.pace_behind_from:
        return Pace.BEHIND
    if problem.progress_percent == 0:
        return Pace.NOT_STARTED
    if problem.pace_ahead_until and today < problem.pace_ahead_until:
        return Pace.AHEAD
    return Pace.ON_PACE


def pace_q(pace: str, today: dt.date) -> models.Q:
    """The same decision as pace_on, as a filter the database can use."""
    Q = models.Q
    closed = Q(state="closed")
    done = Q(state__in=DONE_STATES) | Q(progress_percent__gte=100)
    behind = Q(pace_behind_from__lte=today)
    not_started = Q(progress_percent=0)
    ahead = Q(pace_ahead_until__gt=today)
    if pace == Pace.CLOSED:
        return closed
    if pace == Pace.DONE:
        return done & ~closed
    if pace == Pace.BEHIND:
        return behind & ~done & ~closed
    if pace == Pace.NOT_STARTED:
        return not_started & ~behind & ~done & ~closed
    if pace == Pace.AHEAD:
        return ahead & ~not_started & ~behind & ~done & ~closed
    if pace == Pace.ON_PACE:
        return ~ahead & ~not_started & ~behind & ~done & ~closed
    raise ValueError(pace)
