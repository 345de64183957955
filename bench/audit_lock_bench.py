"""Audit lock benchmark: how long small actions wait while a slow writer runs (PostgreSQL).

    DATABASE_URL=postgres://… .venv/bin/python bench/audit_lock_bench.py \\
        [--actions 200] [--interval 40] [--threads 16] [--rows 10000] [--files 20]

Creates a fresh database next to the one DATABASE_URL names (dropped at the end), loads the
test world (duban.testing) and, for each scenario, gets --actions problems to "assigned".
Then they are claimed, one claim falling due every --interval ms (people do not wait for
each other) and run on a pool of --threads connections; a claim (check, conditional update,
one audit event) waits from its due time to its end, queueing included. Scenarios:
- alone: nothing else runs;
- report: another process sends progress reports with --files photos each, one after the
  other, until the claims are done;
- import: another process imports a --rows list; the claims start when it starts
  registering (after reading and checking the file) and run while it registers;
- held: another process records an event and then keeps its transaction open for 1 s,
  again and again (the shape of any slow work after an action's first event).
Prints each scenario's p50/p95/max wait in ms and what the slow writer did.
Target (issue #10): p95 under 100 ms while the slow writer runs.
"""

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from duban.demo.timing import percentile  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
os.environ.setdefault("DUBAN_DATA_DIR", tempfile.mkdtemp(prefix="duban-lock-bench-"))

WRITERS = ("report", "import", "held")


def quiet() -> None:
    # Each commit logs its chain head at INFO; the figures are what this prints.
    logging.getLogger("duban.audit").setLevel(logging.WARNING)


# --- the slow writer, in its own process (as another web or task worker would be) -------------


def run_writer(kind: str, args) -> None:
    import django

    django.setup()
    from django.db import transaction
    from django.utils import translation

    translation.activate("en")  # the importer names its phases with gettext
    quiet()

    from duban.accounts.models import User
    from duban.audit import log
    from duban.documents.importing import import_file
    from duban.inspections.models import Inspection
    from duban.ledger import actions
    from duban.ledger.models import Problem
    from duban.ledger.tests.flow import jpeg

    def say(line: str) -> None:
        print(line, flush=True)

    held, locked_at = [], []
    if hasattr(log, "append_to_chain"):  # how long each commit holds the chain's head
        append, lock_head = log.append_to_chain, log._locked_head

        def timed_lock():
            head = lock_head()
            locked_at.append(time.perf_counter())
            return head

        def timed_append(events):
            append(events)
            # The commit follows at once; its own time is not counted.
            held.append((time.perf_counter() - locked_at.pop()) * 1000)

        log.append_to_chain, log._locked_head = timed_append, timed_lock

    def holds() -> str:
        if not held:
            return ""
        return (
            f" (head held per commit: mean {sum(held) / len(held):.1f} ms, max {max(held):.1f} ms)"
        )

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    done, started = 0, time.perf_counter()
    if kind == "report":
        problem = Problem.objects.get(pk=args.problem)
        liaison = User.objects.get(username="liaison")
        say("running")
        while not stop.is_set():
            files = [jpeg(f"现场照片{n}.jpg") for n in range(args.files)]
            actions.report_progress(
                Problem.objects.get(pk=problem.pk),
                by=liaison,
                period=f"第{done + 1}次",
                text="进展",
                percent=50,
                files=files,
            )
            done += 1
        say(f"{done} progress reports of {args.files} photos each{holds()}")
    elif kind == "held":
        say("running")
        while not stop.is_set():
            with transaction.atomic():
                log.record(actor=None, role="", action="bench.held", target=("bench", done))
                time.sleep(1)
            done += 1
        say(f"{done} transactions held 1 s each after their event")
    else:

        def progress(iterable, total=None, desc=None):
            if str(desc) == "Registering":
                say("running")
            return iterable

        office = User.objects.get(username="office")
        result = import_file(
            Path(args.file).read_bytes(),
            "bench.xlsx",
            inspection=Inspection.objects.get(),
            by=office,
            progress=progress,
        )
        assert result.ok and result.created == args.rows, result.errors[:3]
        took = time.perf_counter() - started
        say(f"imported {result.created} rows in {took:.1f} s{holds()}")
        stop.wait()


# --- the small actions --------------------------------------------------------------------------


def assigned_problems(world, count: int) -> list[int]:
    from duban.ledger import actions

    ids = []
    for n in range(count):
        problem = world.problem(ledger_number=f"小{time.monotonic_ns()}-{n}")
        actions.assign(problem, by=world.office)
        ids.append(problem.pk)
    return ids


def claims(world, ids: list[int], threads: int, interval: float) -> list[float]:
    """Claim each problem, one every `interval` seconds (people do not wait for each other),
    on `threads` connections; a claim's wait runs from its due time to its end."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from duban.ledger import actions
    from duban.ledger.models import Problem

    def claim(pk, due):
        try:
            problem = Problem.objects.get(pk=pk)
            actions.claim(problem, by=world.liaison)
            return time.perf_counter() - due
        finally:
            connection.close()

    start = time.perf_counter() + 0.1
    with ThreadPoolExecutor(threads) as pool:
        futures = []
        for n, pk in enumerate(ids):
            due = start + n * interval
            time.sleep(max(0.0, due - time.perf_counter()))
            futures.append(pool.submit(claim, pk, due))
        return [future.result() for future in futures]


def scenario(name, world, args, writer_args=None) -> None:
    ids = assigned_problems(world, args.actions)
    writer = None
    if writer_args:
        writer = subprocess.Popen(
            [sys.executable, __file__, "--writer", *writer_args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=os.environ,
        )
        line = writer.stdout.readline().strip()
        assert line == "running", line
    started = time.perf_counter()
    waits = claims(world, ids, args.threads, args.interval / 1000)
    took = time.perf_counter() - started
    did = ""
    if writer:
        writer.stdin.close()
        did = writer.stdout.read().strip().replace("\n", "; ")
        assert writer.wait() == 0
    ms = [w * 1000 for w in waits]
    print(
        f"{name:<8} p50 {percentile(ms, 0.5):7.1f}  p95 {percentile(ms, 0.95):7.1f}  "
        f"max {max(ms):7.1f} ms  ({len(ms)} claims in {took:.1f} s){'  writer: ' + did if did else ''}",
        flush=True,
    )


def fresh_database(url: str) -> tuple[str, str]:
    import psycopg

    parts = urlsplit(url)
    name = f"duban_lock_bench_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--interval", type=float, default=40, help="ms between two claims")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--only", choices=("alone", *WRITERS), action="append")
    parser.add_argument("--writer", choices=WRITERS)
    parser.add_argument("--problem", type=int)
    parser.add_argument("--file")
    args = parser.parse_args()
    if args.writer:
        return run_writer(args.writer, args)

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("DATABASE_URL must name a PostgreSQL server (row locks are the point)")
    os.environ["DATABASE_URL"], name = fresh_database(url)
    try:
        import django

        django.setup()
        quiet()
        from django.core.management import call_command
        from django.db import connection, connections

        import duban
        from duban.documents.importing import samples
        from duban.ledger.models import State
        from duban.ledger.tests.flow import problem_in
        from duban.testing import build_world

        call_command("migrate", verbosity=0)
        world = build_world()
        print(
            f"database=postgresql backend={connections['default'].__class__.__module__} "
            f"code={Path(duban.__file__).parent.parent} actions={args.actions} "
            f"threads={args.threads} interval={args.interval:g}ms "
            "(wait = from a claim's due time to its end)",
            flush=True,
        )
        reported = problem_in(world, State.IN_PROGRESS)
        units = [world.eco.short_name, world.housing.name, "吴兴分局", world.housing.short_name]
        listing = Path(os.environ["DUBAN_DATA_DIR"]) / "bench.xlsx"
        listing.write_bytes(samples.large_workbook(args.rows, units))
        runs = {
            "alone": None,
            "report": ["report", "--problem", str(reported.pk), "--files", str(args.files)],
            "import": ["import", "--file", str(listing), "--rows", str(args.rows)],
            "held": ["held"],
        }
        for key, writer_args in runs.items():
            if not args.only or key in args.only:
                scenario(key, world, args, writer_args)
        connection.close()
    finally:
        drop_database(url, name)


if __name__ == "__main__":
    main()
