"""Imports every module that registers sweep rules (see sweep.rule)."""

from duban.documents import export_tasks  # noqa: F401
from duban.documents import jobs as documents_jobs  # noqa: F401
from duban.escalation import ladder as escalation_ladder  # noqa: F401
from duban.notify import rules as notify_rules  # noqa: F401

# Reporting cycles, reminders before deadlines, the public notice:
from . import (
    clock,  # noqa: F401
    ledger_counts,  # noqa: F401
)
