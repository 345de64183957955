"""Reporting cycles (定期调度): when each period's progress report is due.

An inspection's cadence and due day give a sequence of due dates; the period of a due
date runs from the day after the previous due date up to it. Weekly reports are due on
a weekday; two-weekly ones on that weekday every other week, counted from a fixed
Monday so every sweep agrees on which weeks; monthly ones on a day of the month and
quarterly ones on that day of March, June, September and December (a day past the
month's end, e.g. the 31st in April, means its last day).
"""

import calendar
import datetime as dt
from dataclasses import dataclass

from duban.inspections.models import ReportCadence

# Two-weekly periods are counted from this Monday.
BIWEEKLY_EPOCH = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # the due date: the report must be in by the end of this day

    @property
    def due_on(self) -> dt.date:
        return self.end


def _month_day(year: int, month: int, day: int) -> dt.date:
    return dt.date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _months_back(year: int, month: int, count: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) - count
    return index // 12, index % 12 + 1


def _last_due_on_or_before(cadence: str, weekday: int, day: int, today: dt.date) -> dt.date:
    if cadence == ReportCadence.WEEKLY:
        return today - dt.timedelta(days=(today.weekday() - weekday) % 7)
    if cadence == ReportCadence.BIWEEKLY:
        first = BIWEEKLY_EPOCH + dt.timedelta(days=weekday)
        return today - dt.timedelta(days=(today - first).days % 14)
    step = 3 if cadence == ReportCadence.QUARTERLY else 1
    year, month = today.year, today.month
    if step == 3:
        # The quarter's last month at or before this month.
        year, month = _months_back(year, month, (month % 3))
    due = _month_day(year, month, day)
    if due > today:
        due = _month_day(*_months_back(year, month, step), day)
    return due


def _previous_due(cadence: str, weekday: int, day: int, due: dt.date) -> dt.date:
    if cadence == ReportCadence.WEEKLY:
        return due - dt.timedelta(days=7)
    if cadence == ReportCadence.BIWEEKLY:
        return due - dt.timedelta(days=14)
    step = 3 if cadence == ReportCadence.QUARTERLY else 1
    return _month_day(*_months_back(due.year, due.month, step), day)


def last_closed_period(inspection, today: dt.date) -> Period:
    """The latest period whose due date lies before `today`: its report is now late if missing."""
    cadence = inspection.report_cadence
    weekday, day = inspection.report_due_weekday, inspection.report_due_day
    due = _last_due_on_or_before(cadence, weekday, day, today - dt.timedelta(days=1))
    previous = _previous_due(cadence, weekday, day, due)
    return Period(previous + dt.timedelta(days=1), due)
