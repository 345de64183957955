"""Audit chain benchmark: events checked a second by `duban verify_audit`.

    .venv/bin/python bench/verify_bench.py [--events 500000]
    DATABASE_URL=postgres://… .venv/bin/python bench/verify_bench.py --events 500000

Builds (or tops up) a chain of N events with audit.record_many, in transactions of 10,000
events shaped like the ledger's (state changes, progress reports each with its own Chinese
text, system steps; 1 to 40 events at a time, each group at its own time), then walks it
with log.verify() as the command does (a progress callback per chunk; `--workers N`
hashing processes, one per core by default, 0 for none) and prints the events checked, the
seconds, the events a second, the CPU time here and in the hashing processes, and the
queries made here (the hashing processes read their chunks over their own connections).
Without DATABASE_URL it uses a throwaway SQLite database; with one it writes to it: use a
scratch database. The chain must be intact: the bench stops if the verdict is not ok.
"""

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
_tmp = tempfile.mkdtemp(prefix="duban-verify-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp}/bench.sqlite3")
os.environ.setdefault("DUBAN_AUDIT_HEAD_FILE", f"{_tmp}/audit-heads.log")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from duban.audit import log  # noqa: E402
from duban.audit.models import AuditEvent  # noqa: E402

BATCH = 10_000
STATES = ["registered", "assigned", "claimed", "planning", "in_progress", "closing", "closed"]


def event(rng: random.Random, n: int) -> dict:
    kind = rng.random()
    problem_id = rng.randrange(1, 100_000)
    if kind < 0.5:
        i = rng.randrange(len(STATES) - 1)
        return {
            "actor": None,
            "role": "liaison",
            "action": "claim",
            "target": ("ledger.problem", problem_id),
            "before": {"state": STATES[i]},
            "after": {"state": STATES[i + 1]},
            "problem_id": problem_id,
        }
    if kind < 0.8:
        return {
            "actor": None,
            "role": "liaison",
            "action": "progress.report",
            "target": ("ledger.progressreport", n),
            "after": {
                "period": "2026年11月",
                "percent": rng.randrange(0, 101),
                # Each report's own text: a JSON value seen once (not served from a cache).
                "text": f"第{n}次报告：按整改方案推进，本月完成阶段性任务：清理堆场、完成防渗改造。",
            },
            "problem_id": problem_id,
        }
    return {
        "actor": None,
        "role": "system",
        "action": "supervision.remind.deadline",
        "target": ("supervision.rung", n),
        "after": {"date": "2026-12-31", "days_left": rng.choice([1, 3, 7]), "milestone": ""},
        "problem_id": problem_id,
    }


def ensure_events(n: int) -> None:
    have = AuditEvent.objects.count()
    if have >= n:
        return
    rng, started = random.Random(have), time.perf_counter()
    for start in range(have, n, BATCH):
        with transaction.atomic():
            k, end = start, min(n, start + BATCH)
            while k < end:
                # Actions append 1 to 40 events at a time, each group at its own time.
                group = min(end - k, rng.randint(1, 40))
                log.record_many(event(rng, j) for j in range(k, k + group))
                k += group
    print(f"built {n - have:,} events in {time.perf_counter() - started:.0f} s")


def walk(run: int, total: int, workers: int) -> float:
    """One verify() as the command makes it; prints and returns its seconds."""
    told, queries = [], []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        started, cpu = time.perf_counter(), time.process_time()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        verdict = log.verify(progress=told.append, workers=workers)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_children = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    if not verdict.ok or sum(told) != total:
        sys.exit(f"the chain does not verify: {verdict}")
    print(
        f"run {run + 1}: {verdict.checked:,} events in {seconds:.2f} s "
        f"({cpu:.2f} s CPU here, {cpu_children:.2f} s in hashing processes): "
        f"{verdict.checked / seconds:,.0f} events/s, {len(queries)} queries here"
    )
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=3, help="walks to time (the best is shown)")
    parser.add_argument(
        "--workers",
        type=int,
        default=log.default_workers(),
        help="hashing processes, as `verify_audit --workers` (default: one per core)",
    )
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    ensure_events(args.events)
    total = AuditEvent.objects.count()
    print(f"database: {connection.vendor}; events: {total:,}; hashing processes: {args.workers}")
    best = None
    for run in range(args.runs):
        seconds = walk(run, total, args.workers)
        best = seconds if best is None else min(best, seconds)
    print(f"best: {total / best:,.0f} events/s")


if __name__ == "__main__":
    main()
