"""Sweep benchmark: seconds and queries for a supervision sweep over N open problems.

    DATABASE_URL=sqlite:////path/to/bench.sqlite3 .venv/bin/python bench/sweep_bench.py --problems 100000

Builds (or reuses) the synthetic world of `duban seed_scale` (inspection `scale-bench`),
gives its problems in progress a year of monthly progress reports (one in ten skips the
last month), then times three sweeps as of `--days` days from today: the first has things
due (missing reports, reminders before deadlines, notices ending), the second runs at the
same time and must do nothing, the third runs an hour later with nothing due. Prints the
seconds, the queries and the counts of each, and the rows written by the idle sweeps
(which must be 0). It writes to the database it is given: use a scratch one.
"""

import argparse
import cProfile
import datetime as dt
import os
import pstats
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from duban.audit.models import AuditEvent  # noqa: E402
from duban.demo import scale  # noqa: E402
from duban.ledger.models import Problem, ProgressReport, PublicNotice, State  # noqa: E402
from duban.notify.models import Notification  # noqa: E402
from duban.supervision.models import ReportGap, Rung  # noqa: E402
from duban.supervision.sweep import run_sweep  # noqa: E402

REPORT_TEXT = "按整改方案推进，本月完成阶段性任务。"


def ensure_problems(n: int) -> None:
    have = Problem.objects.filter(inspection__code=scale.DEFAULT_INSPECTION).count()
    if have < n:
        call_command("seed_scale", problems=n - have, seed=1)


def ensure_reports() -> None:
    """A year of monthly reports for every problem in progress (once)."""
    problems = Problem.objects.filter(
        inspection__code=scale.DEFAULT_INSPECTION, state=State.IN_PROGRESS
    )
    if ProgressReport.objects.filter(problem__in=problems[:1]).exists():
        return
    world = scale.ensure_world()
    today, rng = timezone.localdate(), random.Random(7)
    inserter = scale._Inserter(ProgressReport)
    months = [
        timezone.make_aware(
            dt.datetime(today.year, today.month, 20, 10) - dt.timedelta(days=30 * k)
        )
        for k in range(11, -1, -1)
    ]
    ids = list(problems.values_list("id", flat=True))
    started = time.perf_counter()
    for start in range(0, len(ids), 5000):
        rows, last = [], {}
        for pk in ids[start : start + 5000]:
            # One problem in ten has not reported in the last month.
            for k, moment in enumerate(months[:-1] if rng.random() < 0.1 else months):
                rows.append(
                    {
                        "problem_id": pk,
                        "period": f"{moment:%Y年%m月}",
                        "text": REPORT_TEXT,
                        "percent": min(95, 5 * (k + 1)),
                        "submitted_by_id": world.liaison.pk,
                        "submitted_at": moment,
                    }
                )
                last[pk] = moment
        with transaction.atomic(), connection.cursor() as cursor:
            inserter.insert(cursor, rows)
            for pk, moment in last.items():
                Problem.objects.filter(pk=pk).update(last_report_at=moment)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ProgressReport._meta.db_table}")
    print(
        f"reports: {ProgressReport.objects.count():,} written in {time.perf_counter() - started:.0f} s"
    )


def rows() -> dict:
    return {
        "rungs": Rung.objects.count(),
        "gaps": ReportGap.objects.count(),
        "open_gaps": ReportGap.objects.filter(reported_at__isnull=True).count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "open_notices": PublicNotice.objects.filter(status="open").count(),
    }


def timed_sweep(label: str, now, only, profile: bool = False) -> None:
    before = rows()
    queries = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    profiler = cProfile.Profile() if profile else None
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        counts = run_sweep(now, only=only)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - started
    after = rows()
    written = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    print(
        f"{label}: {seconds:.3f} s, {len(queries)} queries, counts={dict(sorted(counts.items()))}"
        f", rows changed={written}"
    )
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=8, help="sweep as of today + DAYS")
    parser.add_argument("--only", action="append", help="run only these rules (default: all)")
    parser.add_argument("--profile", action="store_true", help="profile the first sweep")
    args = parser.parse_args()
    ensure_problems(args.problems)
    ensure_reports()
    open_problems = Problem.objects.exclude(state=State.CLOSED).count()
    print(f"database: {connection.vendor}; open problems: {open_problems:,}")
    day = timezone.localdate() + dt.timedelta(days=args.days)
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
    timed_sweep("sweep with things due", now, args.only, args.profile)
    timed_sweep("same time again", now, args.only)
    timed_sweep("an hour later, nothing due", now + dt.timedelta(hours=1), args.only)


if __name__ == "__main__":
    main()
