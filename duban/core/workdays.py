"""Working days. Weekends only for now; a holiday calendar can replace `is_working_day`."""

import datetime as dt


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date on which a period of `days` working days beginning on `start` ends."""
    day, counted = start, 0
    while True:
        if is_working_day(day):
            counted += 1
            if counted >= days:
                return day
        day += dt.timedelta(days=1)
