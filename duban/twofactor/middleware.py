"""Hold a logged-in user at the second step until his second factor is given.

After the password, a user who has an authenticator reaches nothing but the code page (and
logout, the language switch); a user whose role requires two-factor login but who has none
yet reaches nothing but the set-up page. The API answers 403 in JSON to such a session; API
tokens are not sessions and are made only from a page behind this step.
Runs after django_otp's OTPMiddleware, which tells whether the session is verified.
"""

import time
from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext as _

from duban.core.errors import is_api

from .policy import has_two_factor, required_for

ALWAYS_OPEN = {"logout", "login", "healthz", "accounts:set_language"}
STEP_PAGES = {
    "verify": ALWAYS_OPEN | {"twofactor:verify"},
    "setup": ALWAYS_OPEN | {"twofactor:setup", "twofactor:setup_qr"},
}


def _route_name(request) -> str | None:
    try:
        return resolve(request.path_info).view_name
    except Resolver404:
        return None


# A session that found no authenticator looks again after this long, not on every request.
RECHECK_SECONDS = 60
NO_DEVICE_KEY = "twofactor_none_seen"


def note_no_authenticator(session, user) -> None:
    session[NO_DEVICE_KEY] = [user.pk, time.time()]


def _has_two_factor(request) -> bool:
    """Whether the user has an authenticator: asked of the database at login and then at most
    once a minute per session, so pages of users without one cost no query for it."""
    user = request.user
    seen = request.session.get(NO_DEVICE_KEY)
    if seen and seen[0] == user.pk and time.time() - seen[1] < RECHECK_SECONDS:
        return False
    if has_two_factor(user):
        request.session.pop(NO_DEVICE_KEY, None)
        return True
    note_no_authenticator(request.session, user)
    return False


def step_due(request) -> str | None:
    """'verify', 'setup' or None: what the user must do before anything else."""
    user = request.user
    if not user.is_authenticated or user.is_verified():
        return None
    if _has_two_factor(request):
        return "verify"
    if required_for(user):
        return "setup"
    return None


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        step = step_due(request)
        if step is None or _route_name(request) in STEP_PAGES[step]:
            return self.get_response(request)
        if is_api(request):
            message = (
                _("Give the code of your authenticator app first.")
                if step == "verify"
                else _("Set up two-factor login first.")
            )
            return JsonResponse({"detail": message}, status=403)
        target = reverse(f"twofactor:{step}")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
