"""The calendar's answers: statutory holidays and adjusted workdays, overrides, uncovered years."""

import datetime as dt

import chinese_calendar
import pytest

from duban.workcalendar import actions, workdays
from duban.workcalendar.models import CalendarDay
from duban.workcalendar.workdays import (
    add_working_days,
    holiday_name,
    is_working_day,
    next_working_day,
    working_days_between,
)

D = dt.date
pytestmark = pytest.mark.django_db


def days(first: dt.date, last: dt.date):
    return [first + dt.timedelta(n) for n in range((last - first).days + 1)]


def test_it_rests_for_the_spring_festival_2026_and_works_its_adjusted_saturdays():
    assert not any(is_working_day(day) for day in days(D(2026, 2, 15), D(2026, 2, 23)))
    assert holiday_name(D(2026, 2, 17)) == "春节"
    # Two Saturdays are worked in exchange (调休).
    for saturday in (D(2026, 2, 14), D(2026, 2, 28)):
        assert saturday.weekday() == 5
        assert is_working_day(saturday) and chinese_calendar.is_workday(saturday)
        assert holiday_name(saturday) == "春节调休上班"
    assert is_working_day(D(2026, 2, 24))


def test_it_rests_for_national_day_2026_and_works_the_sunday_before_and_saturday_after():
    assert not any(is_working_day(day) for day in days(D(2026, 10, 1), D(2026, 10, 7)))
    assert holiday_name(D(2026, 10, 1)) == "国庆节"
    assert D(2026, 9, 20).weekday() == 6 and is_working_day(D(2026, 9, 20))
    assert D(2026, 10, 10).weekday() == 5 and is_working_day(D(2026, 10, 10))
    assert holiday_name(D(2026, 10, 10)) == "国庆节调休上班"
    assert holiday_name(D(2026, 10, 9)) is None and holiday_name(D(2026, 10, 11)) is None


def test_it_agrees_with_the_shipped_calendar_on_every_day_it_covers():
    first, last = D(workdays.SHIPPED_FIRST_YEAR, 1, 1), D(workdays.SHIPPED_LAST_YEAR, 12, 31)
    assert [
        d for d in days(first, last) if is_working_day(d) != chinese_calendar.is_workday(d)
    ] == []


def test_it_counts_working_days_across_a_holiday():
    # Tue 29 Sep, Wed 30 Sep, (1–7 Oct off), Thu 8, Fri 9, and the adjusted Saturday 10 Oct.
    assert add_working_days(D(2026, 9, 29), 5) == D(2026, 10, 10)
    assert working_days_between(D(2026, 9, 29), D(2026, 10, 10)) == 5
    assert working_days_between(D(2026, 10, 1), D(2026, 10, 7)) == 0
    assert working_days_between(D(2026, 10, 10), D(2026, 10, 1)) == 0
    assert next_working_day(D(2026, 9, 30)) == D(2026, 10, 8)
    assert next_working_day(D(2026, 10, 9)) == D(2026, 10, 10)
    # A period starting on a day off starts on the next working day.
    assert add_working_days(D(2026, 10, 3), 1) == D(2026, 10, 8)


def test_it_counts_across_the_turn_of_the_year():
    assert add_working_days(D(2025, 12, 30), 3) == D(2026, 1, 4)  # 1–3 Jan off, Sun 4 Jan worked
    assert working_days_between(D(2025, 12, 1), D(2026, 1, 31)) == sum(
        chinese_calendar.is_workday(d) for d in days(D(2025, 12, 1), D(2026, 1, 31))
    )


def test_it_falls_back_to_weekends_for_a_year_the_shipped_calendar_does_not_cover():
    assert not workdays.ships_year(2040)
    assert is_working_day(D(2040, 1, 2)) and is_working_day(D(2040, 10, 1))  # Mon, Mon
    assert not is_working_day(D(2040, 10, 6)) and not is_working_day(D(2040, 10, 7))  # Sat, Sun
    assert holiday_name(D(2040, 10, 1)) is None
    assert add_working_days(D(2040, 10, 5), 2) == D(2040, 10, 8)  # Fri, then Mon
    assert workdays.special_days(2040) == []


def test_an_office_override_changes_the_answers_at_once(world):
    monday = D(2026, 11, 23)
    assert add_working_days(monday, 1) == monday

    actions.set_day(by=world.office, day=monday, working=False, name="防汛值守调休")
    assert not is_working_day(monday) and holiday_name(monday) == "防汛值守调休"
    assert add_working_days(monday, 1) == D(2026, 11, 24)
    assert next_working_day(D(2026, 11, 20)) == D(2026, 11, 24)

    actions.set_day(by=world.office, day=D(2026, 10, 5), working=True, name="补班")
    assert is_working_day(D(2026, 10, 5))
    assert add_working_days(D(2026, 9, 29), 5) == D(2026, 10, 9)

    actions.remove_day(by=world.office, day=monday)
    assert is_working_day(monday) and holiday_name(monday) is None


def test_an_override_in_a_year_beyond_the_shipped_calendar_counts(world):
    actions.set_day(by=world.office, day=D(2040, 10, 1), working=False, name="国庆节")
    assert not is_working_day(D(2040, 10, 1))
    assert [d.date for d in workdays.special_days(2040)] == [D(2040, 10, 1)]


def test_another_process_s_change_is_seen_after_the_recheck_interval(world, monkeypatch):
    monday = D(2026, 11, 23)
    assert is_working_day(monday)  # the tables are built
    # Another process writes the override: this one's tables know nothing of it …
    row = CalendarDay.objects.create(
        date=monday, is_working_day=False, name="放假", changed_at=dt.datetime.now(dt.UTC)
    )
    assert is_working_day(monday)
    # … until it checks the override table's signature again.
    monkeypatch.setattr(workdays, "RECHECK_SECONDS", 0)
    assert not is_working_day(monday)
    row.delete()
    assert is_working_day(monday)
