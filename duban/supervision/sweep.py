"""One sweep: every registered rule, as of a given time.

A rule is a function `rule(now) -> Counter` registered with `@rule("name")`; it finds
what is due at `now`, and for each item takes a rung with `take_once` inside the
transaction that does the work (notification, document, state change, audit event).
If the rung's key was taken before — by an earlier sweep or by another sweeper
running at the same time — `take_once` returns None and the rule does nothing for
that item. A sweep run twice with the same `now` therefore does nothing the second
time, and a sweep with nothing due writes nothing.

A rule that fails is logged and counted as "<rule>.failed"; the rules after it still run
(a broken robot webhook must not stop the deadline reminders). The steps it took before
failing stay: each committed with its own transaction.
"""

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable

from django.db import IntegrityError, transaction

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
