"""Import benchmark: a 10,000-row list parsed, validated and committed, against a bare read.

    .venv/bin/python bench/import_bench.py [--rows 10000] [--keep-db]

Builds a throwaway SQLite database (or uses DATABASE_URL if set — it must be an empty
database, which is migrated), loads the test world (duban.testing), writes a list of
--rows problems (free-text units, numbered measures, group headings every ten rows,
deadlines in words) and prints:
- bare read: python-calamine reading every cell of the file (the underlying reader);
- dry run: parse + validate (what the preview costs);
- import: parse + validate + commit through actions.register_problems (bulk inserts, one audit event per problem), one transaction;
- the ratios to the bare read. The bare read and the dry run are the best of three runs. Target: import under 10 s and within 4x of the bare read.
"""

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
_tmp = tempfile.mkdtemp(prefix="duban-import-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_tmp}/bench.sqlite3")

import django  # noqa: E402

django.setup()

import python_calamine  # noqa: E402
from django.core.management import call_command  # noqa: E402

from duban.documents.importing import import_file, samples  # noqa: E402
from duban.ledger.models import Problem  # noqa: E402
from duban.testing import build_world  # noqa: E402


def timed(function):
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def best_of(runs, function):
    """The fastest of `runs` timings: a busy machine only ever makes a run slower."""
    timings = [timed(function) for _ in range(runs)]
    return min(timings, key=lambda t: t[0])


def bare_read(content: bytes) -> int:
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    return len(workbook.get_sheet_by_index(0).to_python(skip_empty_area=False))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    world = build_world()
    units = [world.eco.short_name, world.housing.name, "吴兴分局", world.housing.short_name]
    content = samples.large_workbook(args.rows, units)
    print(
        f"database={os.environ['DATABASE_URL'].split(':')[0]} rows={args.rows} "
        f"file={len(content) / 2**20:.1f}MB"
    )

    read_s, _ = best_of(3, lambda: bare_read(content))
    dry_s, dry = best_of(3, lambda: import_file(content, "bench.xlsx", dry_run=True))
    assert dry.ok and len(dry.rows) == args.rows, dry.errors[:3]
    run_s, result = timed(
        lambda: import_file(content, "bench.xlsx", inspection=world.inspection, by=world.office)
    )
    assert result.ok and result.created == args.rows, result.errors[:3]
    assert Problem.objects.count() == args.rows

    print(f"bare read (python-calamine): {read_s:.2f} s")
    print(f"parse + validate (dry run):  {dry_s:.2f} s  = {dry_s / read_s:.1f}x the bare read")
    print(f"parse + validate + commit:   {run_s:.2f} s  = {run_s / read_s:.1f}x the bare read")
    print(
        f"target: under 10 s ({'met' if run_s < 10 else 'missed'}), within 4x of the bare "
        f"read ({'met' if run_s <= 4 * read_s else 'missed'} for the commit, "
        f"{'met' if dry_s <= 4 * read_s else 'missed'} for parse + validate)"
    )


if __name__ == "__main__":
    main()
