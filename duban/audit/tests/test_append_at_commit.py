"""Events join the chain in one short step at commit, and only what commits joins it.

An action records its events as it goes; they wait with the transaction and are numbered,
hashed and inserted just before it commits, so a slow transaction holds up no other
writer. Whatever rolls back (a transaction, or a savepoint inside one) takes its events
with it, as it takes its rows.
"""

import threading

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from duban.audit import log
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import problem_in


class Undone(Exception):
    pass


def note(action: str, n: int = 1):
    return log.record(actor=None, role="", action=action, target=("ledger.problem", n))


def chain_after(seq: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", flat=True)
    )


def committed_heads() -> list[tuple[int, str]]:
    if not settings.DUBAN_AUDIT_HEAD_FILE.exists():
        return []
    lines = settings.DUBAN_AUDIT_HEAD_FILE.read_text().splitlines()
    return [(int(line.split()[1]), line.split()[2]) for line in lines]


def run_rolled_back_savepoints():
    with transaction.atomic():
        note("kept.first")
        with pytest.raises(Undone), transaction.atomic():
            note("undone.inner")
            with transaction.atomic():
                note("undone.nested")
            raise Undone
        sid = transaction.savepoint()
        note("undone.by_hand")
        transaction.savepoint_rollback(sid)
        with transaction.atomic():
            note("kept.inner")
        note("kept.last")


def test_events_of_a_rolled_back_savepoint_are_not_in_the_chain(world):
    seq = log.chain_head()[0]

    run_rolled_back_savepoints()

    assert chain_after(seq) == ["kept.first", "kept.inner", "kept.last"]
    verdict = log.verify()
    assert verdict.ok, verdict.reason


@pytest.mark.django_db(transaction=True)
def test_events_of_a_rolled_back_savepoint_are_not_in_the_committed_chain(world):
    seq = log.chain_head()[0]

    run_rolled_back_savepoints()

    assert chain_after(seq) == ["kept.first", "kept.inner", "kept.last"]
    assert log.verify().ok
    # The head noted outside after the commit is the transaction's last event.
    assert committed_heads()[-1] == log.chain_head()


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_events_and_takes_no_number(world):
    seq = log.chain_head()[0]
    with pytest.raises(Undone), transaction.atomic():
        note("undone")
        raise Undone
    with transaction.atomic():
        event = note("kept")

    assert chain_after(seq) == ["kept"]
    assert event.seq == seq + 1 and log.verify().ok


@pytest.mark.django_db(transaction=True)
def test_the_event_returned_gets_its_number_and_hash_at_commit(world):
    with transaction.atomic():
        event = note("numbered")
        assert event.seq is None and event.ref
    stored = AuditEvent.objects.get(seq=event.seq)
    assert (stored.hash, stored.action, event.pk) == (event.hash, "numbered", stored.pk)


def take_the_next_number():
    """Someone wrote an event past the head (a restore gone wrong, a forged row): the next
    number is taken, so appending the next transaction's events fails in the database."""
    seq, head_hash = log.chain_head()
    now = timezone.localtime()
    AuditEvent.objects.create(
        seq=seq + 1,
        at=now,
        at_text=now.isoformat(),
        actor_name="system",
        action="stray",
        target_type="ledger.problem",
        target_id="0",
        prev_hash=head_hash,
        hash="f" * 64,
    )
    return seq, head_hash


def check_an_error_in_the_append_leaves_nothing(world):
    problems = Problem.objects.count()
    head = take_the_next_number()

    with pytest.raises(IntegrityError):
        world.problem(ledger_number="第99号")

    assert Problem.objects.count() == problems  # the change went with its events
    assert log.chain_head() == head
    assert chain_after(head[0]) == ["stray"]
    assert connection.audit_pending == []


@pytest.mark.django_db(transaction=True)
def test_an_error_in_the_append_at_commit_leaves_nothing(world):
    check_an_error_in_the_append_leaves_nothing(world)
    # Nothing was noted outside for the commit that failed.
    assert all(seq <= log.chain_head()[0] for seq, _hash in committed_heads())


def test_an_error_in_the_append_leaves_nothing(world):
    check_an_error_in_the_append_leaves_nothing(world)


def test_it_refuses_to_record_outside_the_change_transaction(world):
    # A test's own wrapping transaction is not a change: production would refuse here too.
    with pytest.raises(RuntimeError):
        note("stray")
    assert connection.audit_pending == []


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_slow_transaction_does_not_hold_up_another_writer(world):
    slow_problem = problem_in(world, State.ASSIGNED, ledger_number="慢")
    quick_problem = problem_in(world, State.ASSIGNED, ledger_number="快")
    seq = log.chain_head()[0]
    recorded, quick_done, release = threading.Event(), threading.Event(), threading.Event()
    errors = []

    def slow():
        try:
            with transaction.atomic():
                actions.claim(Problem.objects.get(pk=slow_problem.pk), by=world.liaison)
                note("slow.after_claim", slow_problem.pk)
                recorded.set()
                # Still in its transaction, as a report storing twenty files once was.
                release.wait(timeout=60)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def quick():
        try:
            recorded.wait(timeout=60)
            actions.claim(Problem.objects.get(pk=quick_problem.pk), by=world.liaison)
            quick_done.set()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=slow), threading.Thread(target=quick)]
    for thread in threads:
        thread.start()
    try:
        # The quick action finishes while the slow transaction is still open.
        assert quick_done.wait(timeout=30), "the quick action waited for the slow transaction"
        assert not release.is_set() and threads[0].is_alive()
        assert chain_after(seq) == ["claim"]
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=30)
    assert errors == []
    events = AuditEvent.objects.filter(seq__gt=seq).order_by("seq")
    # In commit order: the quick claim first, then the slow transaction's two events.
    assert [(e.action, e.problem_id or int(e.target_id)) for e in events] == [
        ("claim", quick_problem.pk),
        ("claim", slow_problem.pk),
        ("slow.after_claim", slow_problem.pk),
    ]
    assert log.verify().ok


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_chain_verifies_after_concurrent_writers(world):
    seq = log.chain_head()[0]
    writers, changes, events_per_change = 6, 15, 3
    barrier = threading.Barrier(writers)
    errors = []

    def write(writer):
        try:
            barrier.wait(timeout=30)
            for change in range(changes):
                with transaction.atomic():
                    for n in range(events_per_change):
                        note(f"w{writer}", change * 10 + n)
                    if change % 5 == 4:  # some roll back, and take their events with them
                        with pytest.raises(Undone), transaction.atomic():
                            note("undone")
                            raise Undone
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    verdict = log.verify()
    assert verdict.ok, verdict.reason
    seqs = list(AuditEvent.objects.filter(seq__gt=seq).values_list("seq", flat=True))
    assert seqs == list(range(seq + 1, seq + 1 + writers * changes * events_per_change))
    assert not AuditEvent.objects.filter(action="undone").exists()
    # Each change's events stay together and in the order recorded.
    actions_in_order = chain_after(seq)
    for start in range(0, len(actions_in_order), events_per_change):
        assert len(set(actions_in_order[start : start + events_per_change])) == 1
