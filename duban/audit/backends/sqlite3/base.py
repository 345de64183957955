"""Django's SQLite backend with the audit chain appended at commit (see ..pending)."""

from django.db.backends.sqlite3 import base

from ..pending import PendingAuditEvents


class DatabaseWrapper(PendingAuditEvents, base.DatabaseWrapper):
    pass
