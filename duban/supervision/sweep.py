"""One sweep: every registered rule, as of a given time.

A rule is a function `rule(now) -> Counter` registered with `@rule("name")`; it finds
what is due at `now`, and for each item takes a rung inside the transaction that does
the work (notification, document, state change, audit event). If the rung's key was
taken before — by an earlier sweep or by another sweeper running at the same time —
the rule does nothing for that item. A sweep run twice with the same `now` therefore
does nothing the second time, and a sweep with nothing due writes nothing.

Steps are taken in batches (`batches`, `take_many`): one transaction per batch of up to
STEP_BATCH steps, a few queries per batch and not per step, so a catch-up of thousands
of steps takes seconds. `take_once` takes a single step the same way.

A rule that fails is logged and counted as "<rule>.failed"; the rules after it still run
(a broken robot webhook must not stop the deadline reminders). The batches it committed
before failing stay; the failing batch leaves nothing.
"""

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Callable, Iterable

from django.db import IntegrityError, connection, transaction

from .models import Rung

RULES: dict[str, Callable[[dt.datetime], Counter]] = {}
log = logging.getLogger("duban.supervision")


def rule(name: str):
    """Register a sweep rule under a stable name (rules run in registration order)."""

    def register(function):
        if name in RULES:
            raise ValueError(f"sweep rule {name!r} registered twice")
        RULES[name] = function
        return function

    return register


def take_once(key: str, *, kind: str, now: dt.datetime, **fields) -> Rung | None:
    """Record the step `key` as taken at `now`; None if it was taken before.

    Call it inside the transaction that does the step's work, so that the step and its
    record commit together or not at all.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_once() must run inside the step's transaction")
    if Rung.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a lost race leaves the caller's work intact
            return Rung.objects.create(key=key, kind=kind, taken_at=now, **fields)
    except IntegrityError:
        return None


KEY_CHUNK = 500  # keys per query: SQLite takes at most a few thousand parameters


def taken_keys(keys) -> set[str]:
    """Which of `keys` were taken before: a rule skips those without starting a transaction."""
    keys, taken = list(keys), set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        taken.update(Rung.objects.filter(key__in=chunk).values_list("key", flat=True))
    return taken


# Steps per transaction: large enough that a catch-up costs a few queries per batch, small
# enough that a batch's transaction (and the audit chain's head) is held only briefly.
STEP_BATCH = 500

_RUNG_COLUMNS = ("key", "kind", "taken_at", "inspection_id", "problem_id", "unit_id", "data")


def batches(items, size: int = STEP_BATCH):
    """`items` in lists of at most `size`, in order."""
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def take_many(steps: Iterable[dict], *, now: dt.datetime) -> dict[str, int]:
    """Record many steps as taken at `now`: {key: rung id} of those taken now.

    Each step is a dict with "key" and "kind", and optionally "inspection_id",
    "problem_id", "unit_id" and "data". A key taken before — by an earlier sweep, or
    by another sweeper at this moment (its insert waits for the other's commit and
    then yields) — is left out: the caller does that step's work for the keys
    returned only. One INSERT … ON CONFLICT DO NOTHING RETURNING per KEY_CHUNK steps;
    must run inside the transaction that does the steps' work.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("take_many() must run inside the steps' transaction")
    postgresql = connection.vendor == "postgresql"
    taken_at = now if postgresql else connection.ops.adapt_datetimefield_value(now)
    rows = [
        (
            step["key"],
            step["kind"],
            taken_at,
            step.get("inspection_id"),
            step.get("problem_id"),
            step.get("unit_id"),
            json.dumps(step.get("data") or {}),
        )
        for step in steps
    ]
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(Rung._meta.db_table)} ({', '.join(map(quote, _RUNG_COLUMNS))}) "
    returning = f" ON CONFLICT ({quote('key')}) DO NOTHING RETURNING {quote('key')}, {quote('id')}"
    taken: dict[str, int] = {}
    with connection.cursor() as cursor:
        for chunk in batches(rows, KEY_CHUNK):
            if postgresql:
                # One array per column: a short statement whatever the number of rows.
                cursor.execute(
                    insert + "SELECT k, kd, t, i, p, u, d::jsonb FROM unnest(%s::text[], "
                    "%s::text[], %s::timestamptz[], %s::bigint[], %s::bigint[], %s::bigint[], "
                    "%s::text[]) AS s(k, kd, t, i, p, u, d)" + returning,
                    [list(column) for column in zip(*chunk, strict=True)],
                )
            else:
                row = "(" + ", ".join(["%s"] * len(_RUNG_COLUMNS)) + ")"
                cursor.execute(
                    insert + f"VALUES {', '.join([row] * len(chunk))}" + returning,
                    [value for values in chunk for value in values],
                )
            taken.update(cursor.fetchall())
    return taken


def run_sweep(now: dt.datetime, *, only: list[str] | None = None) -> Counter:
    """Run every rule (or those named in `only`) as of `now`; counts per kind of action."""
    counts: Counter = Counter()
    for name, function in RULES.items():
        if only and name not in only:
            continue
        try:
            counts.update(function(now))
        except Exception:
            log.exception("sweep rule %s as of %s failed", name, now.isoformat())
            counts[f"{name}.failed"] += 1
    return counts


def failed_rules(counts: Counter) -> list[str]:
    return sorted(kind.removesuffix(".failed") for kind in counts if kind.endswith(".failed"))
