"""Sweep benchmark: seconds and queries for a supervision sweep over N open problems.

    DATABASE_URL=sqlite:////path/to/bench.sqlite3 .venv/bin/python bench/sweep_bench.py --problems 100000

Builds (or reuses) the synthetic world of `duban seed_scale` (inspection `scale-bench`),
gives its problems in progress a year of monthly progress reports (one in ten skips the
last month), then times three sweeps as of `--days` days from today: the first has things
due (missing reports, reminders before deadlines, notices ending), the second runs at the
same time and must do nothing, the third runs an hour later with nothing due. Prints the
seconds, the steps taken (rungs written), the queries and queries a step, the counts of
each, and the rows written by the idle sweeps (which must be 0). It writes to the database it is given: use a scratch one.
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
from duban.supervision.sweep import RULES, run_sweep  # noqa: E402

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


def timed_sweep(label: str, now, only, profile: str = "", slowest: int = 0) -> None:
    before = rows()
    queries = []

    def count(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append((time.perf_counter() - started, sql))

    profiler = cProfile.Profile() if profile else None
    per_rule = {}

    def timed(name, function):
        def run(now):
            started, first = time.perf_counter(), len(queries)
            try:
                return function(now)
            finally:
                per_rule[name] = (time.perf_counter() - started, len(queries) - first)

        return run

    original = dict(RULES)
    RULES.update((name, timed(name, function)) for name, function in original.items())
    with connection.execute_wrapper(count):
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        counts = run_sweep(now, only=only)
        if profiler:
            profiler.disable()
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    RULES.update(original)
    after = rows()
    written = {k: after[k] - before[k] for k in after if after[k] != before[k]}
    # A step is one rung taken (one reminder, one problem noticed, one notice ended, …).
    steps = written.get("rungs", 0)
    per_step = f", {len(queries) / steps:.3f} queries a step" if steps else ""
    print(
        f"{label}: {seconds:.3f} s ({cpu:.3f} s CPU here), {steps:,} steps, {len(queries)} queries{per_step}, "
        f"counts={dict(sorted(counts.items()))}, rows changed={written}"
    )
    if steps:
        print(
            "    by rule: "
            + ", ".join(f"{name} {t:.2f} s/{n} q" for name, (t, n) in per_rule.items() if n)
        )
    for seconds, sql in sorted(queries, reverse=True)[:slowest]:
        print(f"    {seconds:7.3f} s  {sql[:160]}")
    if profiler:
        pstats.Stats(profiler).sort_stats(profile).print_stats(25)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=8, help="sweep as of today + DAYS")
    parser.add_argument("--only", action="append", help="run only these rules (default: all)")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="cumulative",
        default="",
        help="profile the first sweep (sorted by cumulative time, or the pstats key given)",
    )
    parser.add_argument("--slowest", type=int, default=0, help="print the N slowest queries")
    args = parser.parse_args()
    ensure_problems(args.problems)
    ensure_reports()
    open_problems = Problem.objects.exclude(state=State.CLOSED).count()
    print(f"database: {connection.vendor}; open problems: {open_problems:,}")
    day = timezone.localdate() + dt.timedelta(days=args.days)
    now = timezone.make_aware(dt.datetime.combine(day, dt.time(9)))
    timed_sweep("sweep with things due", now, args.only, args.profile, args.slowest)
    timed_sweep("same time again", now, args.only)
    timed_sweep("an hour later, nothing due", now + dt.timedelta(hours=1), args.only)


if __name__ == "__main__":
    main()
