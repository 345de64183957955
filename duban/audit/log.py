"""Writing and checking the audit chain."""

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from . import heads
from .models import GENESIS_HASH, AuditEvent, AuditHead


def _canonical(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


# The fields an event's hash covers (with the previous event's hash). `at`, the time pages
# show and filter on, is not hashed (older chains were written without it): the verifier
# checks that it is the same instant as the hashed `at_text` instead.
HASHED_FIELDS = (
    "seq",
    "at_text",
    "actor_id",
    "actor_name",
    "role",
    "action",
    "target_type",
    "target_id",
    "problem_id",
    "before",
    "after",
)


def event_hash(fields: dict, prev_hash: str) -> str:
    payload = _canonical(
        {
            "seq": fields["seq"],
            "at": fields["at_text"],
            "actor_id": fields["actor_id"],
            "actor_name": fields["actor_name"],
            "role": fields["role"],
            "action": fields["action"],
            "target": [fields["target_type"], str(fields["target_id"])],
            "problem_id": fields["problem_id"],
            "before": fields["before"],
            "after": fields["after"],
            "prev": prev_hash,
        }
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _locked_head() -> AuditHead:
    # The migration creates the head; an emptied database (tests, a restore) gets it back here.
    # This runs inside commit(); two writers may find it missing at once.
    head = AuditHead.objects.select_for_update().filter(id=1).first()
    if head is None:
        AuditHead.objects.bulk_create([AuditHead(id=1)], ignore_conflicts=True)
        head = AuditHead.objects.select_for_update().get(id=1)
    return head


def _pending_event(
    *, actor, role: str, action: str, target, before=None, after=None, problem_id=None
) -> AuditEvent:
    return AuditEvent(
        actor_id=getattr(actor, "pk", None),
        actor_name=str(actor) if actor is not None else "system",
        role=role or "",
        action=action,
        target_type=target._meta.label_lower if hasattr(target, "_meta") else str(target[0]),
        target_id=str(target.pk if hasattr(target, "_meta") else target[1]),
        problem_id=problem_id,
        # Round-trip through JSON so what is stored is exactly what was hashed.
        before=json.loads(_canonical(before or {})),
        after=json.loads(_canonical(after or {})),
    )


def _change_connection(what: str):
    connection = transaction.get_connection()
    if not hasattr(connection, "add_audit_events"):
        raise RuntimeError(
            f"audit.{what}() needs Duban's database backend (duban.audit.backends.*): "
            "settings.py sets it"
        )
    if not connection.in_change_transaction():
        raise RuntimeError(f"audit.{what}() must run inside the change's transaction")
    return connection


def record(
    *, actor, role: str, action: str, target, before=None, after=None, problem_id=None
) -> AuditEvent:
    """Record one event of the change in progress; must run inside that change's transaction.

    The event joins the chain when the transaction commits (duban.audit.backends.pending), in
    one short step that numbers, hashes and inserts every event the transaction recorded: no
    other writer waits for the rest of this transaction. The event returned is not saved yet;
    its seq, at and hash are filled in at commit. Until then `event.ref` names it uniquely
    (a key for what must happen once per event, e.g. a notification).
    """
    connection = _change_connection("record")
    event = _pending_event(
        actor=actor,
        role=role,
        action=action,
        target=target,
        before=before,
        after=after,
        problem_id=problem_id,
    )
    event.ref = uuid.uuid4().hex
    connection.add_audit_events([event])
    return event


def record_many(entries) -> list[AuditEvent]:
    """Record many events at once, in order; the chain is the same as from one record() each.

    `entries` are dicts of record()'s keyword arguments; the events join the chain when the
    transaction commits, like record()'s.
    """
    connection = _change_connection("record_many")
    events = [_pending_event(**entry) for entry in entries]
    for event in events:
        event.ref = uuid.uuid4().hex
    connection.add_audit_events(events)
    return events


# Rows per INSERT when the events of a transaction join the chain.
APPEND_BATCH = 1000


def append_to_chain(events: list[AuditEvent]) -> None:
    """Number, hash and insert `events` after the head, and move the head: the one short step.

    Called by the database backend just before it commits the transaction that recorded
    them; the head row stays locked from here to that commit.
    """
    if not events:
        return
    head = _locked_head()
    seq, prev_hash = head.seq, head.hash
    now = timezone.localtime()
    at_text = now.isoformat()
    for event in events:
        seq += 1
        event.seq, event.at, event.at_text, event.prev_hash = seq, now, at_text, prev_hash
        event.hash = prev_hash = event_hash(event.__dict__, prev_hash)
    AuditEvent.objects.bulk_create(events, batch_size=APPEND_BATCH)
    AuditHead.objects.filter(id=1).update(seq=seq, hash=prev_hash)
    _appended(seq, prev_hash)


def _appended(seq: int, hash_: str) -> None:
    """The one hook after events are appended: the new head is noted outside once committed."""
    heads.note_on_commit(seq, hash_)


def chain_head() -> tuple[int, str]:
    head = AuditHead.objects.filter(id=1).first()
    return (head.seq, head.hash) if head else (0, GENESIS_HASH)


def shown_time_matches(at, at_text: str) -> bool:
    """Whether the time pages show (`at`) is the instant that was hashed (`at_text`)."""
    try:
        return at == dt.datetime.fromisoformat(at_text)
    except (TypeError, ValueError):
        return False


@dataclass
class Verdict:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = ""
    # Heads noted outside the database that were checked against the chain.
    heads_checked: int = 0
    # Broken because a noted head no longer matches (the chain itself verifies).
    noted_head_mismatch: bool = False
    warnings: tuple[str, ...] = ()


def verify(progress=None, batch: int = 5000) -> Verdict:
    """Walk the whole chain in order; stop at the first broken link."""
    prev_hash, expected_seq, checked = GENESIS_HASH, 1, 0
    fields = [*HASHED_FIELDS, "at", "prev_hash", "hash"]
    last_seq = 0
    while True:
        rows = list(
            AuditEvent.objects.filter(seq__gt=last_seq).order_by("seq").values(*fields)[:batch]
        )
        if not rows:
            break
        for row in rows:
            if row["seq"] != expected_seq:
                return Verdict(
                    False,
                    checked,
                    *chain_head(),
                    broken_seq=expected_seq,
                    reason=f"event #{expected_seq} is missing (next is #{row['seq']})",
                )
            if row["prev_hash"] != prev_hash:
                return Verdict(
                    False,
                    checked,
                    *chain_head(),
                    broken_seq=row["seq"],
                    reason=f"event #{row['seq']} does not follow the event before it",
                )
            if event_hash(row, prev_hash) != row["hash"]:
                return Verdict(
                    False,
                    checked,
                    *chain_head(),
                    broken_seq=row["seq"],
                    reason=f"event #{row['seq']} was changed after it was written",
                )
            if not shown_time_matches(row["at"], row["at_text"]):
                return Verdict(
                    False,
                    checked,
                    *chain_head(),
                    broken_seq=row["seq"],
                    reason=f"the time of event #{row['seq']} was changed after it was written "
                    f"(shown {row['at'].isoformat()}, hashed {row['at_text']})",
                )
            prev_hash, expected_seq, checked = row["hash"], expected_seq + 1, checked + 1
            last_seq = row["seq"]
            if progress:
                progress(1)
    head_seq, head_hash = chain_head()
    if head_seq != checked or head_hash != prev_hash:
        return Verdict(
            False,
            checked,
            head_seq,
            head_hash,
            broken_seq=checked + 1,
            reason=f"the chain ends at #{checked} but its head says #{head_seq}: events were removed from the end",
        )
    return Verdict(True, checked, head_seq, head_hash)


def verify_against_heads(
    expected=(), *, noted_file: bool = True, every_note: bool = False, progress=None
) -> Verdict:
    """verify(), then the heads noted outside: those given (`--expect`) and the head file's.

    A chain that verifies may still have been rewritten as a whole, cut back with its
    head, or emptied; a head noted before that no longer matches tells.
    """
    verdict = verify(progress=progress)
    noted, warnings = list(expected), []
    if noted_file:
        path = heads.head_file()
        from_file, unreadable = heads.read_noted(path, every=every_note)
        noted += from_file
        if unreadable:
            warnings.append(f"{unreadable} line(s) of {path} are not 'TIME SEQ HASH' notes")
        if not from_file and verdict.head_seq:
            warnings.append(f"no chain head noted in {path} yet")
    verdict.warnings = tuple(warnings)
    if not verdict.ok or not noted:
        return verdict
    mismatch = heads.first_mismatch(noted)
    verdict.heads_checked = len(set(noted))
    if mismatch:
        head, reason = mismatch
        verdict.ok, verdict.broken_seq, verdict.reason = False, head.seq, reason
        verdict.noted_head_mismatch = True
    return verdict
