"""Failed logins (django-axes' AccessAttempt rows), read for the lockout and the login delay.

django-axes locks one address out of one username after DUBAN_LOGIN_FAILURES failures
(AXES_LOCKOUT_PARAMETERS). A username's failures from all addresses together only slow
its logins down: past the limit, each attempt waits 1, 2, 4 … seconds (at most
DUBAN_LOGIN_DELAY_MAX_SECONDS) after the last failure. An attempt refused for the wait
checks no password and counts no failure, so the real user, from an address that is not
locked, gets in once the wait is over, however many addresses an attacker tries from.
"""

import datetime as dt
import math

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.utils import timezone


def _recent_attempts(usernames, now=None):
    attempts = AccessAttempt.objects.filter(username__in=list(usernames))
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=(now or timezone.now()) - cool_off)
    return attempts


def failure_limit() -> int:
    return get_failure_limit(None, None)


def login_failures(usernames) -> dict[str, int]:
    """Failed logins within the cool-off period, by username, from all addresses together
    (only usernames with failures)."""
    rows = (
        _recent_attempts(usernames)
        .values("username")
        .annotate(failures=Sum("failures_since_start"))
    )
    return {row["username"]: row["failures"] for row in rows}


def locked_usernames(usernames) -> set[str]:
    """The usernames that some address is locked out of right now."""
    rows = (
        _recent_attempts(usernames)
        .values("username", "ip_address")
        .annotate(failures=Sum("failures_since_start"))
        .filter(failures__gte=failure_limit())
    )
    return {row["username"] for row in rows}


def is_locked(username: str) -> bool:
    return bool(locked_usernames([username]))


def login_wait(username: str, now=None) -> int:
    """Seconds to wait before the next login attempt for `username` is checked (0: none)."""
    if not username:
        return 0
    now = now or timezone.now()
    row = _recent_attempts([username], now).aggregate(
        failures=Sum("failures_since_start"), last=Max("attempt_time")
    )
    beyond = (row["failures"] or 0) - failure_limit()
    if beyond < 0:
        return 0
    # 2**beyond grows fast: cap the exponent before the power, not after.
    delay = min(2 ** min(beyond, 30), settings.DUBAN_LOGIN_DELAY_MAX_SECONDS)
    remaining = row["last"] + dt.timedelta(seconds=delay) - now
    return max(0, math.ceil(remaining.total_seconds()))
