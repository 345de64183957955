"""Tampering with the audit log as an attacker with database rights would.

The event table refuses UPDATE and DELETE through triggers (audit migration 0002);
an attacker who owns the database drops them first. Tests run inside a transaction,
so the triggers come back when the test's transaction is rolled back.
"""

from django.db import connection

from duban.audit import triggers
from duban.audit.models import AuditEvent

TABLE = AuditEvent._meta.db_table


def drop_append_only_triggers() -> None:
    triggers.remove(connection)


def execute(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(table=TABLE), params)


def _columns(seq: int) -> dict:
    return AuditEvent.objects.filter(seq=seq).values().get()


def move_head_back(seq: int) -> None:
    """Point the chain head at event `seq` (0: the genesis), as if nothing came after it."""
    from duban.audit.models import GENESIS_HASH, AuditHead

    hash_ = AuditEvent.objects.get(seq=seq).hash if seq else GENESIS_HASH
    AuditHead.objects.filter(id=1).update(seq=seq, hash=hash_)


def cut_tail_after(seq: int) -> None:
    """Delete every event after `seq` and move the head back to it."""
    drop_append_only_triggers()
    execute("DELETE FROM {table} WHERE seq > %s", [seq])
    move_head_back(seq)


def empty_the_log() -> None:
    """Delete every event and reset the head to the genesis."""
    cut_tail_after(0)


def rewrite_from(seq: int, **changes) -> None:
    """Change event `seq`'s columns and recompute every hash from it to the head, consistently."""
    from duban.audit.log import event_hash
    from duban.audit.models import GENESIS_HASH, AuditHead

    drop_append_only_triggers()
    if changes:
        assignments = ", ".join(f"{column} = %s" for column in changes)
        execute(f"UPDATE {{table}} SET {assignments} WHERE seq = %s", [*changes.values(), seq])
    prev = AuditEvent.objects.get(seq=seq - 1).hash if seq > 1 else GENESIS_HASH
    last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    for n in range(seq, last + 1):
        row = _columns(n)
        new_hash = event_hash(row, prev)
        execute("UPDATE {table} SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, new_hash, n])
        prev = new_hash
    AuditHead.objects.filter(id=1).update(seq=last, hash=prev)


def shift_time(seq: int, by) -> None:
    """Move the time an event shows (the `at` column) by a timedelta."""
    drop_append_only_triggers()
    at = AuditEvent.objects.get(seq=seq).at + by
    execute(
        "UPDATE {table} SET at = %s WHERE seq = %s",
        [connection.ops.adapt_datetimefield_value(at), seq],
    )
