"""Export benchmark: seconds and peak memory to write N problems as the .xlsx ledger.

    DATABASE_URL=sqlite:////path/to/db .venv/bin/python bench/export_bench.py --problems 100000

Reads the problems of an inspection (default: `scale-bench`, made by `duban seed_scale`)
in id order, first N of them, and writes them with duban.documents.exporting.write_ledger
to a temporary file. Prints the time, the process's resident memory before and at its
peak (getrusage maxrss), and with --tracemalloc the peak of Python allocations during the
export (tracemalloc slows Python down, so the time of such a run is not the figure).
Run each N in its own process: maxrss is a high-water mark for the whole process.
Only reads the database.
"""

import argparse
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")

import django  # noqa: E402

django.setup()

from duban.documents.exporting import default_title, write_ledger  # noqa: E402
from duban.ledger.models import Problem  # noqa: E402


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", type=int, default=100_000)
    parser.add_argument("--inspection", default="scale-bench")
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()

    problems = Problem.objects.filter(inspection__code=args.inspection).order_by("id")
    last = problems.values_list("id", flat=True)[args.problems - 1 : args.problems].first()
    if last is not None:
        problems = problems.filter(id__lte=last)
    name = problems.values_list("inspection__name", flat=True).first()
    before = maxrss_mb()
    if args.tracemalloc:
        tracemalloc.start()
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as out:
        started = time.perf_counter()
        rows = write_ledger(problems, out, title=default_title(name))
        seconds = time.perf_counter() - started
        size = os.path.getsize(out.name)
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.tracemalloc else None
    print(
        f"problems={rows} seconds={seconds:.1f} rows/s={rows / seconds:,.0f} "
        f"file={size / 2**20:.1f}MB rss_before={before:.0f}MB rss_peak={maxrss_mb():.0f}MB"
        + (f" tracemalloc_peak={traced:.1f}MB" if traced is not None else "")
    )


if __name__ == "__main__":
    main()
