"""Working-day calendar benchmark: 100,000 add_working_days calls, as a sweep makes them.

    .venv/bin/python bench/workdays_bench.py [--calls 100000]

Builds a throwaway SQLite database (or uses DATABASE_URL if set — it is migrated), sets a
few office overrides, then times N calls each of add_working_days (start dates over
2025–2027, periods of 1–45 working days), working_days_between and is_working_day, and
counts the queries they make (one load of the overrides, then a signature check at most
every duban.workcalendar.workdays.RECHECK_SECONDS). Only the throwaway database is written.
"""

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
_tmp = tempfile.mkdtemp(prefix="duban-workdays-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp}/bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from duban.workcalendar import workdays  # noqa: E402
from duban.workcalendar.models import CalendarDay  # noqa: E402


def timed(label, function, inputs):
    workdays.invalidate()
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        for args in inputs:
            function(*args)
        seconds = time.perf_counter() - started
    per_call = seconds / len(inputs) * 1e6
    print(f"{label}: {seconds:.3f} s ({per_call:.2f} µs a call), {len(queries)} queries")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=100_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    CalendarDay.objects.all().delete()
    for day, working, name in [
        (dt.date(2026, 11, 23), False, "防汛值守调休"),
        (dt.date(2027, 10, 1), False, "国庆节"),
        (dt.date(2027, 2, 6), True, "调休上班"),
    ]:
        CalendarDay.objects.create(
            date=day, is_working_day=working, name=name, changed_at=timezone.now()
        )

    rng = random.Random(4)
    first = dt.date(2025, 1, 1)
    starts = [first + dt.timedelta(days=rng.randrange(3 * 365)) for _ in range(args.calls)]
    periods = [rng.randint(1, 45) for _ in range(args.calls)]
    print(f"database={os.environ['DATABASE_URL'].split(':')[0]} calls={args.calls}")

    timed("add_working_days", workdays.add_working_days, list(zip(starts, periods, strict=True)))
    ends = [s + dt.timedelta(days=p) for s, p in zip(starts, periods, strict=True)]
    timed(
        "working_days_between", workdays.working_days_between, list(zip(starts, ends, strict=True))
    )
    timed("is_working_day", workdays.is_working_day, [(s,) for s in starts])


if __name__ == "__main__":
    main()
