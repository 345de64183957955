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
