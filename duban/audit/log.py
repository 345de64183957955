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


# --- checking the chain fast ------------------------------------------------------------------
#
# verify() reads rows as plain tuples in chunks (no model instances, no Django converters) and
# writes each event's canonical JSON by hand: the same bytes as event_hash() builds through
# json.dumps of a dict, in the same key order (sorted). An event whose fast hash differs is
# checked again with event_hash() itself (and a time that differs with shown_time_matches())
# before it is called broken, so the fast path makes a run faster, never changes a verdict.

_encode = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
).encode
_string = json.encoder.encode_basestring  # what _encode writes for a str (ensure_ascii=False)


# The C scanner and encoder json.loads() and _encode() use, made once (json.dumps makes an
# encoder per call): a value never seen before costs about half as much.
_scan = json.scanner.c_make_scanner and json.scanner.c_make_scanner(json.JSONDecoder())
_c_encode = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, str, _string, None, ":", ",", True, False, True
)


def _stored_json(text) -> str:
    """The canonical form of a JSON column read as text (as JSONField would load it)."""
    if text == "{}":
        return text
    if type(text) is str and _scan and _c_encode:
        try:
            value, end = _scan(text, 0)
        except (StopIteration, ValueError):
            end = -1
        if end == len(text):
            return "".join(_c_encode(value, 0))
    return _encode(json.loads(text) if isinstance(text, str | bytes) else text)


def _chunk_query(connection) -> str:
    """One chunk of events in order, as tuples: seq, at, the other hashed fields, prev_hash, hash.

    The JSON columns come as text (parsed here, as JSONField would), and `at` as text too: the
    drivers' datetime converters are written in Python and cost more than the hash.
    """
    quote = connection.ops.quote_name
    columns = [quote(name) for name in ("seq", "at", *HASHED_FIELDS[1:], "prev_hash", "hash")]
    if connection.vendor == "postgresql":
        columns[-4] += "::text"  # before
        columns[-3] += "::text"  # after
    columns[1] = f"CAST({columns[1]} AS TEXT)"
    return (
        f"SELECT {', '.join(columns)} FROM {quote(AuditEvent._meta.db_table)} "
        f"WHERE {quote('seq')} > %s ORDER BY {quote('seq')} LIMIT %s"
    )


def _stored_row(seq: int) -> dict:
    fields = [*HASHED_FIELDS, "at", "prev_hash", "hash"]
    return AuditEvent.objects.filter(seq=seq).values(*fields).get()


def _broken(checked: int, seq: int, reason: str) -> Verdict:
    return Verdict(False, checked, *chain_head(), broken_seq=seq, reason=reason)


# Per process (a hashing process has its own): JSON text → its canonical form, and the parts
# of payloads that repeat (before/after values, who did what, roles and targets).
_canonical_cache: dict = {}


def _check_rows(rows: list, shown_suffix: str, parse_suffix: str) -> list:
    """What in one chunk of _chunk_query() rows needs a closer look, in order: (index, kind).

    Kinds: "missing" (the seq does not follow the row before), "link" (the prev_hash is not
    the row before's hash), both final, the list ends there; "hash" and "time" (the fast hash
    or the fast time comparison differ), which the caller confirms against the database
    with event_hash() / shown_time_matches() before calling the event broken. The first row
    is taken as it is: how it follows the chunk before is the caller's to check. Needs no
    database, so chunks can be checked in any order, in any process; an intact chunk gives [].
    """
    fromisoformat, sha256, string = dt.datetime.fromisoformat, hashlib.sha256, _string
    canonical = _canonical_cache
    if len(canonical) > 100_000:
        canonical.clear()
    found = []
    expected_seq, prev_hash = rows[0][0], rows[0][-2]
    hashed_text = hashed_at = stored_as = quoted_text = quoted_at = None
    for index, (
        seq,
        at,
        at_text,
        actor_id,
        actor_name,
        role,
        action,
        target_type,
        target_id,
        problem_id,
        before,
        after,
        stored_prev,
        stored_hash,
    ) in enumerate(rows):
        if seq != expected_seq:
            found.append((index, "missing"))
            return found
        if stored_prev != prev_hash:
            found.append((index, "link"))
            return found
        try:
            before_json = canonical.get(before)
            if before_json is None:
                before_json = canonical[before] = _stored_json(before)
            after_json = canonical.get(after)
            if after_json is None:
                after_json = canonical[after] = _stored_json(after)
            # event_hash()'s canonical JSON written out, keys in sorted order; the parts
            # that repeat from event to event (who, what, when) are written once.
            who = canonical.get((action, actor_id, actor_name))
            if who is None:
                who = canonical[(action, actor_id, actor_name)] = (
                    f'{{"action":{string(action)},'
                    f'"actor_id":{"null" if actor_id is None else int.__repr__(actor_id)},'
                    f'"actor_name":{string(actor_name)},"after":'
                )
            role_target = canonical.get((role, target_type))
            if role_target is None:
                role_target = canonical[(role, target_type)] = (
                    f'"role":{string(role)},"seq":',
                    f',"target":[{string(target_type)},',
                )
            if at_text != quoted_text:
                quoted_text, quoted_at = at_text, string(at_text)
            payload = (
                f'{who}{after_json},"at":{quoted_at},"before":{before_json},'
                f'"prev":{string(prev_hash)},'
                f'"problem_id":{"null" if problem_id is None else int.__repr__(problem_id)},'
                f"{role_target[0]}{int.__repr__(seq)}{role_target[1]}{string(target_id)}]}}"
            )
            same_hash = sha256(payload.encode()).hexdigest() == stored_hash
        except (TypeError, ValueError):
            same_hash = False
        if not same_hash:
            found.append((index, "hash"))
        try:
            if at_text != hashed_text:  # events appended together share their time
                hashed_text, hashed_at = at_text, fromisoformat(at_text)
                # The text the time is shown as when it is the same: compared first.
                stored_as = str(hashed_at.astimezone(dt.UTC).replace(tzinfo=None))
                stored_as += shown_suffix
            same_time = at == stored_as or fromisoformat(at + parse_suffix) == hashed_at
        except (TypeError, ValueError):
            hashed_text, same_time = None, False
        if not same_time:
            found.append((index, "time"))
        prev_hash, expected_seq = stored_hash, expected_seq + 1
    return found


def _summary(rows: list, found: list) -> tuple:
    """A checked chunk as verify() settles it: its count, its ends and what _check_rows() found.

    (count, first seq, first prev_hash, last seq, last hash, findings): each finding is
    (index, kind, seq, seq of the row before, prev_hash, hash).
    """
    first, last = rows[0], rows[-1]
    findings = [
        (index, kind, rows[index][0], rows[index - 1][0], rows[index][-2], rows[index][-1])
        for index, kind in found
    ]
    return len(rows), first[0], first[-2], last[0], last[-1], findings


def _range_query(connection) -> str:
    """_chunk_query() for the events of one range of seq, lo < seq <= hi."""
    quote = connection.ops.quote_name
    return (
        _chunk_query(connection)
        .replace(
            f"WHERE {quote('seq')} > %s", f"WHERE {quote('seq')} > %s AND {quote('seq')} <= %s"
        )
        .replace(" LIMIT %s", "")
    )


def _check_range(lo: int, hi: int, shown_suffix: str, parse_suffix: str) -> tuple | None:
    """In a hashing process: read the events lo < seq <= hi, check them; their _summary()."""
    connection = transaction.get_connection()
    with connection.cursor() as cursor:
        cursor.execute(_range_query(connection), [lo, hi])
        rows = cursor.fetchall()
    return _summary(rows, _check_rows(rows, shown_suffix, parse_suffix)) if rows else None


def _hashing_pool(workers: int):
    """`workers` processes forked from this one, each with its own database connection.

    The caller closes its connection first (it holds no transaction): a forked process must
    not share it. Forked, not spawned: a process starts in milliseconds, settings and code
    already loaded. Each closes its connection when the pool ends.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"), initializer=_hashing_process
    )


def _close_connections(connection) -> None:
    """Close `connection`, and its pool's connections if it has one (psycopg's pool)."""
    connection.close()
    if connection.settings_dict.get("OPTIONS", {}).get("pool"):
        connection.close_pool()


def _hashing_process() -> None:
    from multiprocessing.util import Finalize

    Finalize(None, _close_connections, args=(transaction.get_connection(),), exitpriority=0)


def default_workers() -> int:
    """Hashing processes `duban verify_audit` starts by default: one per core it may use."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_read_elsewhere(connection) -> bool:
    """Whether other connections read what this one would: no transaction, not in memory."""
    if connection.in_atomic_block:
        return False
    return not (connection.vendor == "sqlite" and connection.is_in_memory_db())


def verify(progress=None, batch: int = 10_000, workers: int = 0) -> Verdict:
    """Walk the whole chain in order; stop at the first broken link.

    Checks, for each event: its number follows the one before (none missing), it links to
    the hash of the event before, its hash matches its fields, and the time shown is the
    time hashed; then that the chain's head is its last event. `progress(n)` is told of
    every `n` events checked.

    The chain is read in chunks of `batch` events. With `workers` > 0, once the first chunk
    comes back full, that many forked processes read and hash the chunks up to the last
    event there is then, in parallel, each over its own connection (not inside a
    transaction, whose changes they would not see, nor on an in-memory SQLite database:
    there this process does all). How each chunk follows the one before, and every event a
    chunk's check flags, is settled here in chain order, so the verdict (the first broken
    event, its message, the events checked before it) and the progress told are those of
    `workers=0`.
    """
    connection = transaction.get_connection()
    sql = _chunk_query(connection)
    # `at` as text: SQLite's is naive UTC ("2026-12-08 00:39:54.064406"); PostgreSQL writes
    # the offset of the session's time zone, UTC under Django ("…064406+00").
    suffixes = ("", "+00:00") if connection.vendor == "sqlite" else ("+00", "")
    state = {"prev_hash": GENESIS_HASH, "expected_seq": 1, "checked": 0}

    def settle(summary: tuple) -> Verdict | None:
        """Account for one checked chunk, in chain order: a Verdict if an event is broken."""
        count, seq, stored_prev, last_seq, last_hash, findings = summary
        checked = state["checked"]

        def broken(index: int, seq: int, reason: str) -> Verdict:
            if progress and index:
                progress(index)
            return _broken(checked + index, seq, reason)

        if seq != state["expected_seq"]:
            expected = state["expected_seq"]
            return broken(0, expected, f"event #{expected} is missing (next is #{seq})")
        if stored_prev != state["prev_hash"]:
            return broken(0, seq, f"event #{seq} does not follow the event before it")
        for index, kind, seq, seq_before, stored_prev, stored_hash in findings:
            if kind == "missing":
                expected = seq_before + 1
                return broken(index, expected, f"event #{expected} is missing (next is #{seq})")
            if kind == "link":
                return broken(index, seq, f"event #{seq} does not follow the event before it")
            stored = _stored_row(seq)
            if kind == "hash" and event_hash(stored, stored_prev) != stored_hash:
                return broken(index, seq, f"event #{seq} was changed after it was written")
            if kind == "time" and not shown_time_matches(stored["at"], stored["at_text"]):
                return broken(
                    index,
                    seq,
                    f"the time of event #{seq} was changed after it was written "
                    f"(shown {stored['at'].isoformat()}, hashed {stored['at_text']})",
                )
        state["prev_hash"], state["expected_seq"] = last_hash, last_seq + 1
        state["checked"] = checked + count
        if progress:
            progress(count)
        return None

    def in_parallel(after_seq: int) -> tuple[Verdict | None, int]:
        """Check the events after `after_seq` up to the last one now, in hashing processes."""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT MAX({connection.ops.quote_name('seq')}) "
                f"FROM {connection.ops.quote_name(AuditEvent._meta.db_table)}"
            )
            (last_seq,) = cursor.fetchone()
        if last_seq is None or last_seq <= after_seq:
            return None, after_seq
        _close_connections(connection)  # none to be shared with the forked processes
        pool = _hashing_pool(workers)
        try:
            chunks = [
                pool.submit(_check_range, lo, min(lo + batch, last_seq), *suffixes)
                for lo in range(after_seq, last_seq, batch)
            ]
            for chunk in chunks:
                summary = chunk.result()
                if summary and (verdict := settle(summary)):
                    return verdict, last_seq
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return None, last_seq

    verdict, last_seq, parallel = None, 0, workers > 0 and _can_read_elsewhere(connection)
    while verdict is None:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last_seq, batch])
            rows = cursor.fetchall()
        if not rows:
            break
        last_seq = rows[-1][0]
        verdict = settle(_summary(rows, _check_rows(rows, *suffixes)))
        if verdict is None and parallel and len(rows) == batch:
            # The rest up to the last event now in parallel; any appended since, here.
            parallel = False
            verdict, last_seq = in_parallel(last_seq)
    if verdict:
        return verdict
    checked, prev_hash = state["checked"], state["prev_hash"]
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
    expected=(), *, noted_file: bool = True, every_note: bool = False, progress=None, workers=0
) -> Verdict:
    """verify(), then the heads noted outside: those given (`--expect`) and the head file's.

    A chain that verifies may still have been rewritten as a whole, cut back with its
    head, or emptied; a head noted before that no longer matches tells.
    """
    verdict = verify(progress=progress, workers=workers)
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
