"""Reopening after a look-back check found the problem back (反弹)."""

from django.db import transaction
from django.utils.translation import gettext as _

from duban.core.exceptions import InvalidInput, WrongState

from ..models import (
    Problem,
)
from ..transitions import FOLLOW_UP_TRANSITIONS
from .base import _iso, _record, _state_change


def reopen_after_rebound(problem: Problem, *, by, membership, reason: str, check=None) -> Problem:
    """反弹: a look-back check found the problem back; it reopens to in progress, marked rebound.

    Called by duban.lookback's record action, which has checked that `by` is the drawn checker
    of this problem (a cross-check may come from outside the problem's own scope) and passes
    the `membership` he acts under; here the state is checked and the change made and audited.
    """
    transition = FOLLOW_UP_TRANSITIONS["reopen_after_rebound"]
    if problem.state not in transition.sources:
        raise WrongState(
            _("This problem is %(state)s; “%(action)s” is not possible now.")
            % {"state": problem.get_state_display(), "action": transition.label}
        )
    if not reason.strip():
        raise InvalidInput(_("Say what was found."), "findings")
    with transaction.atomic():
        before = {"state": problem.state, "closed_at": _iso(problem.closed_at)}
        # The closing date goes with the closed state; the audit event keeps it.
        _state_change(
            problem,
            by,
            membership,
            transition.name,
            transition.target,
            is_rebound=True,
            acceptance_level=0,
            closed_at=None,
        )
        _record(
            problem,
            by,
            membership,
            "rebound.reopen",
            before,
            {"state": transition.target, "rebound": True, "reasons": reason, "check": check},
        )
    return problem
