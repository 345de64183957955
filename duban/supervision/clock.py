"""Supervision's own sweep rules, registered after every app's `rules` module (apps.py):
the delivery of notifications (notify's, which cannot register itself: notify sits below
supervision), then the rules that keep time: the public notice, reminders before deadlines,
reporting cycles."""

from duban.notify.delivery import deliver

from .sweep import rule

rule("deliver")(deliver)

from . import notices, reminders, reporting  # noqa: E402, F401  (register in this order)

# isort: split
from . import ledger_counts  # noqa: E402, F401  (last: folds the day's counter rows)
