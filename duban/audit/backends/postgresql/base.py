"""Django's PostgreSQL backend with the audit chain appended at commit (see ..pending)."""

from django.db.backends.postgresql import base

from ..pending import PendingAuditEvents


class DatabaseWrapper(PendingAuditEvents, base.DatabaseWrapper):
    pass
