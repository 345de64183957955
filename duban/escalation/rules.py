"""The escalation ladder's sweep rules (ladder.py), found by the sweep registry
(duban.supervision.apps): notices, listing, circulars, referrals, in this order."""

from . import ladder  # noqa: F401
