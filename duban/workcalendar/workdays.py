"""Working days: China's statutory holidays and adjusted workdays (调休), and an office's edits.

Where a day's status comes from, first match wins:

1. an office's override (duban.workcalendar.models.CalendarDay, edited on /calendar/);
2. the shipped calendar of the `chinese-calendar` package, for the years it covers
   (2004–2026 in version 1.11; newer releases add years as the State Council announces them);
3. weekends only: Monday to Friday work, Saturday and Sunday rest.

Speed: sweeps call these functions for every open problem (100,000 and more), so each year
is computed once into a table of flags and a sorted list of its working days, and every
answer is a lookup or a bisect — no query per call.

Invalidation: an override changed in this process drops the tables at once (the calendar
action calls `invalidate()`, and again when its transaction commits). Another process (a
worker, a sweep, another web server) notices within RECHECK_SECONDS: it then compares the
override table's signature — its row count and latest change time, one small aggregate
query — with the one its tables were built from, and rebuilds when they differ. Adding,
editing and removing an override each change that signature.
"""

import datetime as dt
import threading
import time
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import chinese_calendar

# How long a process trusts its tables before it checks the override table for changes
# made elsewhere. A calendar edit moves deadlines by days, so a few seconds is harmless.
RECHECK_SECONDS = 2.0

OFFICE = "office"
STATUTORY = "statutory"
WEEKEND = "weekend"  # no special day: the weekend rule (also every day of an uncovered year)

_HOLIDAY_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
SHIPPED_FIRST_YEAR = min(chinese_calendar.holidays).year
SHIPPED_LAST_YEAR = max(chinese_calendar.holidays).year


@dataclass(frozen=True)
class DayInfo:
    """What one day is, and who says so (source: office, statutory or weekend)."""

    date: dt.date
    working: bool
    name: str | None
    source: str


def shipped_day(day: dt.date) -> DayInfo:
    """The day as the shipped calendar has it, without the office's overrides."""
    if day in chinese_calendar.workdays:
        holiday = _HOLIDAY_NAMES.get(chinese_calendar.workdays[day], chinese_calendar.workdays[day])
        return DayInfo(day, True, f"{holiday}调休上班", STATUTORY)
    if day in chinese_calendar.holidays:
        holiday = chinese_calendar.holidays[day]
        return DayInfo(day, False, _HOLIDAY_NAMES.get(holiday, holiday), STATUTORY)
    return DayInfo(day, day.weekday() < 5, None, WEEKEND)


class _Year:
    """One year's answers: a flag per day and the sorted ordinals of its working days."""

    __slots__ = ("first", "flags", "ords")

    def __init__(self, year: int, overrides: dict):
        self.first = dt.date(year, 1, 1).toordinal()
        last = dt.date(year, 12, 31).toordinal()
        flags = bytearray(last - self.first + 1)
        for ordinal in range(self.first, last + 1):
            day = dt.date.fromordinal(ordinal)
            override = overrides.get(day)
            flags[ordinal - self.first] = (
                override.working if override is not None else shipped_day(day).working
            )
        self.flags = bytes(flags)
        self.ords = [self.first + i for i, flag in enumerate(flags) if flag]


class _Calendar:
    def __init__(self, overrides: dict, signature):
        self.overrides = overrides  # date → DayInfo (source office)
        self.signature = signature
        self.checked_at = time.monotonic()
        self.years: dict[int, _Year] = {}

    def year(self, year: int) -> _Year:
        table = self.years.get(year)
        if table is None:
            table = self.years[year] = _Year(year, self.overrides)
        return table


_current: _Calendar | None = None
_lock = threading.Lock()


def _load() -> _Calendar:
    from .models import CalendarDay  # imported late: workdays may load before the app registry

    overrides, last_change = {}, None
    for day, working, name, changed_at in CalendarDay.objects.values_list(
        "date", "is_working_day", "name", "changed_at"
    ):
        overrides[day] = DayInfo(day, working, name, OFFICE)
        last_change = changed_at if last_change is None else max(last_change, changed_at)
    return _Calendar(overrides, (len(overrides), last_change))


def _stored_signature():
    from django.db.models import Count, Max

    from .models import CalendarDay

    row = CalendarDay.objects.aggregate(count=Count("id"), last=Max("changed_at"))
    return (row["count"], row["last"])


def _calendar() -> _Calendar:
    global _current
    calendar = _current
    if calendar is None:
        with _lock:
            calendar = _current = _current or _load()
    elif time.monotonic() - calendar.checked_at > RECHECK_SECONDS:
        if _stored_signature() == calendar.signature:
            calendar.checked_at = time.monotonic()
        else:
            with _lock:
                calendar = _current = _load()
    return calendar


def invalidate() -> None:
    """Forget the tables: the next call reads the overrides again. Called on every change."""
    global _current
    _current = None


# --- the questions -----------------------------------------------------------------------


def is_working_day(day: dt.date) -> bool:
    table = _calendar().year(day.year)
    return bool(table.flags[day.toordinal() - table.first])


def day_info(day: dt.date) -> DayInfo:
    """The day with its name and the source that decides it (an override, else shipped)."""
    override = _calendar().overrides.get(day)
    return override if override is not None else shipped_day(day)


def holiday_name(day: dt.date) -> str | None:
    """The name of a holiday or adjusted workday (春节, 国庆节调休上班, an office's name), or
    None for an ordinary weekday or weekend."""
    return day_info(day).name


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date on which a period of `days` working days beginning on `start` ends.

    `start` counts when it is a working day: add_working_days(a Monday, 1) is that Monday.
    A period of 0 or 1 day ends on the first working day on or after `start`.
    """
    remaining = max(days, 1)
    year = start.year
    calendar = _calendar()
    table = calendar.year(year)
    index = bisect_left(table.ords, start.toordinal())
    while True:
        available = len(table.ords) - index
        if remaining <= available:
            return dt.date.fromordinal(table.ords[index + remaining - 1])
        remaining -= available
        year += 1
        table, index = calendar.year(year), 0


def working_days_between(start: dt.date, end: dt.date) -> int:
    """How many working days lie from `start` to `end`, both included (0 if end < start).

    The inverse of add_working_days: working_days_between(s, add_working_days(s, n)) == n
    when `s` is a working day. For "working days late", count from the day after the deadline.
    """
    if end < start:
        return 0
    calendar = _calendar()
    first, last = start.toordinal(), end.toordinal()
    total = 0
    for year in range(start.year, end.year + 1):
        ords = calendar.year(year).ords
        total += bisect_right(ords, last) - bisect_left(ords, first)
    return total


def next_working_day(day: dt.date) -> dt.date:
    """The first working day after `day` (strictly after; add_working_days(day, 1) is the
    first working day on or after it)."""
    return add_working_days(day + dt.timedelta(days=1), 1)


def special_days(year: int) -> list[DayInfo]:
    """The year's named days (holidays and adjusted workdays) and every office override, by date.

    Used by the calendar page. Overrides come first in precedence: a shipped day the office
    changed appears once, as the office's.
    """
    calendar = _calendar()
    days = {}
    if SHIPPED_FIRST_YEAR <= year <= SHIPPED_LAST_YEAR:
        for source in (chinese_calendar.holidays, chinese_calendar.workdays):
            for day in source:
                if day.year == year:
                    days[day] = shipped_day(day)
    for day, info in calendar.overrides.items():
        if day.year == year:
            days[day] = info
    return [days[day] for day in sorted(days)]


def ships_year(year: int) -> bool:
    """Whether the shipped calendar knows the year's holidays (else only weekends count)."""
    return SHIPPED_FIRST_YEAR <= year <= SHIPPED_LAST_YEAR
