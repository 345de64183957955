"""Appending many audit events at once gives the same chain as appending them one by one."""

import pytest
from django.db import connection, transaction

from duban.audit import log, triggers
from duban.audit.models import AuditEvent


def entry(world, n: int) -> dict:
    return {
        "actor": world.office,
        "role": "office",
        "action": "test.bulk",
        "target": ("ledger.problem", n),
        "before": {},
        "after": {"n": n, "名称": f"第{n}号", "list": [n, None]},
        "problem_id": n,
    }


def test_it_appends_a_chain_that_verifies(world):
    with transaction.atomic():
        events = log.record_many([entry(world, n) for n in range(1, 8)])

    verdict = log.verify()
    assert verdict.ok, verdict.reason
    assert verdict.checked == 7
    assert [e.seq for e in events] == list(range(1, 8))
    assert log.chain_head() == (7, events[-1].hash)
    stored = AuditEvent.objects.get(seq=3)
    assert (stored.problem_id, stored.target_id, stored.after["名称"]) == (3, "3", "第3号")


def test_it_interleaves_with_single_records(world):
    with transaction.atomic():
        log.record(**entry(world, 1))
        log.record_many([entry(world, 2), entry(world, 3)])
        log.record(**entry(world, 4))
    with transaction.atomic():
        log.record_many([entry(world, 5)])
        log.record(**entry(world, 6))

    verdict = log.verify()
    assert verdict.ok, verdict.reason
    assert list(AuditEvent.objects.values_list("problem_id", flat=True)) == [1, 2, 3, 4, 5, 6]


def test_a_tampered_bulk_event_breaks_the_chain(world):
    with transaction.atomic():
        log.record_many([entry(world, n) for n in range(1, 4)])
    # The append-only triggers refuse the edit; lift them as someone with the password could.
    triggers.remove(connection)
    AuditEvent.objects.filter(seq=2).update(after={"n": 99})
    verdict = log.verify()

    assert not verdict.ok
    assert verdict.broken_seq == 2


def test_nothing_is_appended_for_no_entries(world):
    head = log.chain_head()
    with transaction.atomic():
        assert log.record_many([]) == []
    assert log.chain_head() == head


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_runs_only_inside_the_change_transaction(world):
    head = log.chain_head()

    with pytest.raises(RuntimeError):
        log.record_many([entry(world, 1)])

    assert log.chain_head() == head and log.verify().ok
