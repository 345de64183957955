"""Counts of problems by state and pace light that do not grow with the ledger.

The ledger list's summary bar (and anything else that counts problems by state and
pace) reads these counters instead of counting the whole filtered ledger.

What is counted. `LedgerCount` holds, for each (inspection, region key, state, pace)
the number of problems there, with the pace light as of one day D kept in
`LedgerCountDay` (the region key is the region path cut to the township level,
KEY_DEPTH, so the rows are bounded by the map and the states, not by the ledger).

How the counts stay exact.
- Every action that changes what is counted — state, progress, deadline, milestones,
  region, a new problem — adds, in its own transaction, a row of -1 where the problem
  was counted (as of D) and a row of +1 where it is now (as of D): `_bump()` does it for
  every state and progress change, `store_pace_bounds()` for new deadlines and
  milestones, `create_problem`/`register_problems`/`update_problem` for the rest.
  Rows are only ever inserted by actions, so two actions never wait for each other
  on a counter row (an import holding its transaction open does not hold up a claim).
- A pace light depends on today as well: behind once today reaches
  `pace_behind_from`, ahead while today is before `pace_ahead_until` (pace.py). So the
  counts for today T are the rows' sum as of D, corrected by the few problems whose
  light changed between D and T, i.e. whose `pace_behind_from` or `pace_ahead_until`
  lies in (D, T]: for each of them the light as of T replaces the light as of D. Both
  dates are indexed; when D is today the correction is two empty index probes.
- The sweep (`duban.supervision.ledger_counts`) rolls the counts forward once a day:
  it folds the actions' rows into one row per key and moves D to today by the same
  correction; `rebuild()` recounts from the problems (the migration, and `seed_scale`,
  which writes rows without the actions). Neither is needed for exactness, only to
  keep the rows and the correction small.

Concurrency (PostgreSQL). An action reads D under a shared advisory lock, held to
its commit; a roll-forward or rebuild takes the same lock exclusively, so it waits
for the actions in flight and they wait for it (a roll-forward touches only the
counter rows and the problems changing light that day: milliseconds). A reader
takes its figures from one REPEATABLE READ snapshot, so the rows and the correction
agree. SQLite runs one writer at a time and needs no lock.

Where the counters cannot answer, the caller counts live: a user whose scope is not
only regions (a unit's liaison sees the problems his unit is linked to, a lead
official his own), a region deeper than a township, and any filter but inspection,
state and region (free text, unit, overdue, category, flags …). `pace_counts()`
returns None for those.
"""

import datetime as dt
from collections import defaultdict
from contextlib import contextmanager
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.db.models.functions import Substr
from django.utils import timezone

from duban.org.scope import region_only_scope, under_any

from .models import LedgerCount, LedgerCountDay, Problem
from .pace import Pace, pace_on, pace_q

# Region paths are cut to this length: a township's path (9 of the 12 digits of a village).
KEY_DEPTH = 9
# The advisory lock an action holds shared and a roll-forward exclusively (PostgreSQL).
LOCK_KEY = 0x4C454447  # "LEDG"
# The filters of the ledger list the counters serve; any other one is counted live.
SERVED_FILTERS = frozenset({"inspection", "state", "region"})


class Counted(NamedTuple):
    """What decides where a problem is counted: its keys and what its pace light comes from."""

    inspection_id: int
    region_key: str
    state: str
    progress_percent: int
    pace_behind_from: dt.date | None
    pace_ahead_until: dt.date | None


# The fields of a problem counted() reads (to load no more of a problem about to go).
FIELDS = (
    "inspection_id",
    "region_path",
    "state",
    "progress_percent",
    "pace_behind_from",
    "pace_ahead_until",
)


def counted(problem) -> Counted:
    return Counted(
        problem.inspection_id,
        problem.region_path[:KEY_DEPTH],
        problem.state,
        problem.progress_percent,
        problem.pace_behind_from,
        problem.pace_ahead_until,
    )


# --- writes, inside the action's transaction -----------------------------------------------


def record_change(before: Counted | None, problem) -> None:
    """The problem was counted as `before` (None: it is new) and is now as it stands."""
    record_changes([(before, problem)])


def record_changes(pairs) -> None:
    """record_change() for many problems at once: (before, problem) pairs, one write for all;
    nothing is written when none of them moved."""
    changes: dict[Counted, int] = defaultdict(int)
    for before, problem in pairs:
        after = counted(problem)
        if before != after:
            changes[after] += 1
            if before is not None:
                changes[before] -= 1
    if any(changes.values()):
        _add(changes)


def record_added(problems) -> None:
    """New problems (an imported batch): one row per key they land on."""
    record_changes((None, problem) for problem in problems)


def record_removed(problems) -> None:
    """Problems deleted (an import undone): one row per key they leave."""
    changes: dict[Counted, int] = defaultdict(int)
    for problem in problems:
        changes[counted(problem)] -= 1
    if changes:
        _add(changes)


def _add(changes: dict[Counted, int]) -> None:
    with transaction.atomic():
        day = _counting_day()
        if day is None:
            return  # not built: readers count live until a rebuild
        totals: dict[tuple, int] = defaultdict(int)
        for where, n in changes.items():
            totals[(where.inspection_id, where.region_key, where.state, pace_on(where, day))] += n
        LedgerCount.objects.bulk_create(
            [
                LedgerCount(inspection_id=i, region_key=r, state=s, pace=p, n=n)
                for (i, r, s, p), n in totals.items()
                if n
            ]
        )


def _counting_day() -> dt.date | None:
    """The counts' day, read under the shared lock that a roll-forward waits for."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [LOCK_KEY])
    return LedgerCountDay.objects.values_list("day", flat=True).first()


def _lock_exclusive() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


# --- rebuild and roll forward ---------------------------------------------------------------


def _region_key():
    return Substr("region_path", 1, KEY_DEPTH)


def _moved_between(day: dt.date, today: dt.date) -> Q:
    """Problems whose pace light may differ between `day` and `today` (either order)."""
    lo, hi = sorted((day, today))
    return Q(pace_behind_from__gt=lo, pace_behind_from__lte=hi) | Q(
        pace_ahead_until__gt=lo, pace_ahead_until__lte=hi
    )


def _by_pace(day: dt.date, prefix: str = "") -> dict:
    return {f"{prefix}{pace.value}": Count("pk", filter=pace_q(pace, day)) for pace in Pace}


def rebuild(today: dt.date | None = None) -> int:
    """Recount everything from the problems as of `today`; the number of counter rows."""
    today = today or timezone.localdate()
    with transaction.atomic():
        _lock_exclusive()
        LedgerCountDay.objects.update_or_create(pk=1, defaults={"day": today})
        LedgerCount.objects.all().delete()
        groups = (
            Problem.objects.order_by()
            .values("inspection_id", "state", key=_region_key())
            .annotate(**_by_pace(today))
        )
        rows = [
            LedgerCount(
                inspection_id=g["inspection_id"],
                region_key=g["key"],
                state=g["state"],
                pace=pace.value,
                n=g[pace.value],
            )
            for g in groups
            for pace in Pace
            if g[pace.value]
        ]
        LedgerCount.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def roll_forward(today: dt.date | None = None) -> bool:
    """Fold the actions' rows into one per key and count paces as of `today`.

    Costs the counter rows plus the problems whose light changed since the counts' day,
    not the ledger. Builds the counts if they were never built. False when there was
    nothing to do.
    """
    today = today or timezone.localdate()
    with transaction.atomic():
        _lock_exclusive()
        current = LedgerCountDay.objects.filter(pk=1).first()
        if current is None:
            rebuild(today)
            return True
        keys = ("inspection_id", "region_key", "state", "pace")
        totals: dict[tuple, int] = defaultdict(int)
        for *key, n in LedgerCount.objects.order_by().values_list(*keys).annotate(Sum("n")):
            totals[tuple(key)] += n
        if current.day == today and LedgerCount.objects.count() == len(totals):
            return False
        if current.day != today:
            moved = (
                Problem.objects.filter(_moved_between(current.day, today))
                .order_by()
                .values("inspection_id", "state", key=_region_key())
                .annotate(**_by_pace(today, "now_"), **_by_pace(current.day, "then_"))
            )
            for g in moved:
                for pace in Pace:
                    shift = g[f"now_{pace.value}"] - g[f"then_{pace.value}"]
                    if shift:
                        totals[(g["inspection_id"], g["key"], g["state"], pace.value)] += shift
        LedgerCount.objects.all().delete()
        LedgerCount.objects.bulk_create(
            [
                LedgerCount(inspection_id=i, region_key=r, state=s, pace=p, n=n)
                for (i, r, s, p), n in totals.items()
                if n
            ],
            batch_size=1000,
        )
        current.day = today
        current.save(update_fields=["day"])
    return True


# --- reads ----------------------------------------------------------------------------------


def counted_scope(user) -> list[str] | None:
    """The region paths whose problems are exactly what `user` may read, or None.

    Users whose scope is not regions alone (duban.org.scope.region_only_scope), and regions
    deeper than the counters' key, are counted live.
    """
    paths = region_only_scope(user)
    if paths is None:
        return None
    if any(len(path) > KEY_DEPTH for path in paths):
        return None
    return paths


def pace_counts(user, filters: dict, queryset, today: dt.date | None = None) -> dict | None:
    """Counts by pace of `queryset` from the counters; None when they cannot answer.

    `queryset` is the user's visible problems under `filters` (the filter form's cleaned
    data, the pace filter and the sort left out); the counters answer from `filters`
    and read `queryset` only for the problems whose light changed since their day.
    """
    today = today or timezone.localdate()
    paths = counted_scope(user)
    if paths is None:
        return None
    used = {name for name, value in filters.items() if value not in (None, "", [], ())}
    if used - SERVED_FILTERS:
        return None
    rows = LedgerCount.objects.filter(under_any("region_key", paths))
    if filters.get("inspection"):
        rows = rows.filter(inspection=filters["inspection"])
    if filters.get("state"):
        rows = rows.filter(state__in=filters["state"])
    if filters.get("region"):
        path = filters["region"].path
        if len(path) > KEY_DEPTH:
            return None
        rows = rows.filter(under_any("region_key", [path]))
    with _one_snapshot():
        day = LedgerCountDay.objects.values_list("day", flat=True).first()
        if day is None:
            return None
        counts = {pace.value: 0 for pace in Pace}
        for pace, n in rows.order_by().values_list("pace").annotate(Sum("n")):
            counts[pace] += n
        if day != today:
            moved = (
                queryset.filter(_moved_between(day, today))
                .order_by()
                .aggregate(**_by_pace(today, "now_"), **_by_pace(day, "then_"))
            )
            for pace in Pace:
                counts[pace.value] += moved[f"now_{pace.value}"] - moved[f"then_{pace.value}"]
    return counts


@contextmanager
def _one_snapshot():
    """On PostgreSQL, the reads inside see one snapshot (unless already in a transaction)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def live_pace_counts(queryset, today: dt.date) -> dict:
    """The same figures counted over the rows: the fallback, and what the tests compare with."""
    counts = queryset.order_by().aggregate(**_by_pace(today))
    return {pace.value: counts[pace.value] or 0 for pace in Pace}
