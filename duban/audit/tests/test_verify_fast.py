"""verify() reads the chain in chunks and hashes without building rows: the same verdicts.

Its hand-written canonical JSON must be byte for byte what event_hash() hashes, for every
kind of value an event may carry; otherwise existing chains would stop verifying (or the
walk would fall back to the slow check on every event).
"""

import datetime as dt

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from duban.audit import log, triggers
from duban.audit.models import AuditEvent

ODD_VALUES = [
    {},
    {"state": "closed", "n": 7, "ok": True, "none": None},
    {"名称": "第3号 “引号” 和 \\ 反斜杠", "emoji": "🌿", "ctl": "a\tb\nc\u0001\u2028"},
    {"nested": {"b": [1, 2.5, 0.0, 1e-7, {"z": 1, "a": [None, False]}], "a": "x"}},
    {"big": 2**62, "neg": -(2**40), "float": 0.1 + 0.2, "list": [], "empty": ""},
    {"quote": '"', "slash": "/", "unicode_key_é": "é", "": "empty key"},
]


def entries(world):
    for n, value in enumerate(ODD_VALUES):
        yield {
            "actor": world.office if n % 2 else None,
            "role": "office" if n % 2 else "system",
            "action": f"test.fast.{n}",
            "target": ("ledger.problem", n * 1000) if n % 3 else world.office,
            "before": value,
            "after": ODD_VALUES[-n - 1],
            "problem_id": n or None,
        }


def test_it_checks_every_kind_of_value_in_one_query_per_chunk(world):
    """The fast hash agrees with event_hash() on each event: no event is read again."""
    with transaction.atomic():
        log.record_many(list(entries(world)))
        for entry in entries(world):
            log.record(**entry)
        log.record_many([{**entry, "action": "again"} for entry in entries(world)] * 3)
    total = AuditEvent.objects.count()
    assert total == 5 * len(ODD_VALUES)

    told = []
    with CaptureQueriesContext(connection) as queries:
        verdict = log.verify(progress=told.append, batch=7)
    assert verdict.ok and verdict.checked == total
    assert sum(told) == total
    # One query per chunk of 7, an empty one at the end, and the head: none per event.
    assert len(queries) == -(-total // 7) + 2


def test_it_names_a_changed_event_and_a_moved_time_as_before(world):
    with transaction.atomic():
        log.record_many([{**entry, "action": "a"} for entry in entries(world)] * 2)
    triggers.remove(connection)

    moved = AuditEvent.objects.get(seq=4).at - dt.timedelta(hours=1)
    AuditEvent.objects.filter(seq=4).update(at=moved)
    verdict = log.verify(batch=3)
    assert (verdict.ok, verdict.broken_seq, verdict.checked) == (False, 4, 3)
    assert verdict.reason == (
        "the time of event #4 was changed after it was written "
        f"(shown {moved.astimezone(dt.UTC).isoformat()}, "
        f"hashed {AuditEvent.objects.get(seq=4).at_text})"
    )

    AuditEvent.objects.filter(seq=2).update(after={"名称": "改过"})
    verdict = log.verify(batch=3)
    assert (verdict.ok, verdict.broken_seq, verdict.checked) == (False, 2, 1)
    assert verdict.reason == "event #2 was changed after it was written"
