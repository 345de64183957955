"""verify(workers=N): forked processes read and hash the chunks; the verdict is settled here.

A broken event deep in a later chunk, or at a chunk's edge, is reported exactly as the
walk in one process reports it: the same event, message and count of events checked before
it, and the progress told adds up to that count; the first broken event wins even when a
later chunk's check comes back first.

The hashing processes read over their own connections, so they see only what is committed:
these tests commit their chain (transactional tests) on PostgreSQL. SQLite's test database
lives in memory, where verify() checks everything in its own process (last test).
"""

import datetime as dt
import json
import os
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from duban.audit import log, triggers
from duban.audit.models import AuditEvent

from .tampering import drop_append_only_triggers, execute

EVENTS, BATCH = 70, 7  # ten chunks: 1–7, 8–14, …, 43–49, 50–56, 57–63, 64–70


# The chain committed, so that the hashing processes' connections see it.
committed = pytest.mark.django_db(transaction=True)


def build_chain(world):
    with transaction.atomic():
        log.record_many(
            {
                "actor": world.office if n % 3 else None,
                "role": "office" if n % 3 else "system",
                "action": f"test.parallel.{n % 4}",
                "target": ("ledger.problem", n),
                "before": {"state": "assigned"} if n % 2 else {},
                "after": {"n": n, "text": f"第{n}次 “报告”"},
                "problem_id": n % 5 or None,
            }
            for n in range(EVENTS)
        )
    assert AuditEvent.objects.count() == EVENTS


@pytest.fixture
def chain(world):
    build_chain(world)
    drop_append_only_triggers()
    yield
    triggers.install(connection)  # committed tests: nothing rolls their removal back


@pytest.fixture
def pools(monkeypatch):
    """The hashing pools verify() starts, with the ids of their processes (real pools)."""
    started = []
    make = log._hashing_pool

    def recorded(workers):
        pool = make(workers)
        started.append((pool, set(pool.submit(os.getpid).result() for _ in range(8))))
        return pool

    monkeypatch.setattr(log, "_hashing_pool", recorded)
    return started


def walk(workers: int):
    told = []
    verdict = log.verify(progress=told.append, batch=BATCH, workers=workers)
    assert sum(told) == verdict.checked
    return verdict


@pytest.mark.postgres_only
@committed
def test_an_intact_chain_verifies_in_other_processes(chain, pools):
    verdict = walk(workers=2)
    assert (verdict.ok, verdict.checked, verdict.head_seq) == (True, EVENTS, EVENTS)
    assert len(pools) == 1 and os.getpid() not in pools[0][1]
    # A chain shorter than a chunk is checked here: no processes are started for it.
    assert log.verify(batch=EVENTS + 1, workers=2).ok and len(pools) == 1


def changed(seq):
    execute("UPDATE {table} SET after = %s WHERE seq = %s", ['{"n": "改过"}', seq])
    return seq, f"event #{seq} was changed after it was written"


def unlinked(seq):
    execute("UPDATE {table} SET prev_hash = %s WHERE seq = %s", ["0" * 64, seq])
    return seq, f"event #{seq} does not follow the event before it"


def removed(seq):
    execute("DELETE FROM {table} WHERE seq = %s", [seq])
    return seq, f"event #{seq} is missing (next is #{seq + 1})"


def moved(seq):
    event = AuditEvent.objects.get(seq=seq)
    shown = event.at + dt.timedelta(minutes=5)
    AuditEvent.objects.filter(seq=seq).update(at=shown)
    return seq, (
        f"the time of event #{seq} was changed after it was written "
        f"(shown {shown.astimezone(dt.UTC).isoformat()}, hashed {event.at_text})"
    )


@pytest.mark.postgres_only
@committed
@pytest.mark.parametrize("tamper", [changed, unlinked, removed, moved])
@pytest.mark.parametrize(
    "seq",
    [
        61,  # deep inside the ninth chunk (57–63)
        50,  # the first event of the eighth chunk (50–56)
        49,  # the last event of the seventh (43–49)
    ],
)
def test_a_broken_event_in_a_later_chunk_is_named_exactly(chain, pools, tamper, seq):
    seq, reason = tamper(seq)
    verdict = walk(workers=2)
    assert pools, "the chunks were hashed in other processes"
    assert (verdict.ok, verdict.broken_seq, verdict.checked, verdict.reason) == (
        False,
        seq,
        seq - 1,
        reason,
    )
    assert verdict == walk(workers=0)


@pytest.mark.postgres_only
@committed
def test_the_first_broken_event_wins_over_a_later_one(chain, pools):
    changed(64)  # the last chunk: its check may well come back first
    seq, reason = unlinked(22)
    for workers in (1, 2, 3):
        verdict = walk(workers=workers)
        assert (verdict.broken_seq, verdict.checked, verdict.reason) == (seq, seq - 1, reason)
    assert len(pools) == 3


@pytest.mark.postgres_only
@committed
def test_the_tail_cut_off_is_still_told(chain, pools):
    execute("DELETE FROM {table} WHERE seq > %s", [EVENTS - 3])
    verdict = walk(workers=2)
    assert (verdict.ok, verdict.broken_seq, verdict.checked) == (False, EVENTS - 2, EVENTS - 3)
    assert verdict.reason.startswith(f"the chain ends at #{EVENTS - 3} but its head says")


def test_inside_a_transaction_it_checks_in_its_own_process(world, pools):
    """Other connections would not see the transaction's events: no processes are started."""
    build_chain(world)
    drop_append_only_triggers()
    seq, reason = changed(50)
    verdict = walk(workers=2)
    assert (verdict.broken_seq, verdict.checked, verdict.reason) == (seq, seq - 1, reason)
    assert pools == []


@pytest.mark.postgres_only
@committed
def test_the_command_names_the_broken_event_with_its_workers(chain):
    seq, reason = changed(50)
    out = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "verify_audit",
            "--json",
            "--no-progress",
            "--workers",
            "2",
            stdout=out,
            stderr=StringIO(),
        )
    assert raised.value.returncode == 1
    verdict = json.loads(out.getvalue())
    assert (verdict["ok"], verdict["broken_seq"], verdict["checked"], verdict["reason"]) == (
        False,
        seq,
        seq - 1,
        reason,
    )


def test_the_command_refuses_a_negative_number_of_workers(db):
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit", "--workers", "-1", stdout=StringIO(), stderr=StringIO())
    assert raised.value.returncode == 2
