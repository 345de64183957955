"""Who is calling the API: a bearer token (scripts, other systems) or a browser session (docs page)."""

import datetime as dt
from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from duban.accounts.lockout import is_locked
from duban.accounts.models import ApiToken, hash_token

# Writing last_used_at on every call would make every read a write; once a minute is enough
# to tell a live token from a forgotten one.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def user_for_token(raw: str):
    """The user a raw token belongs to, or None: not for an expired token, nor for an account
    that is inactive, locked out, or must first replace a one-time password."""
    if not raw:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(raw)).first()
    now = timezone.now()
    if token is None or token.expired(now) or not token_user_may_call(token.user):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def token_user_may_call(user) -> bool:
    return user.is_active and not user.must_change_password and not is_locked(user.username)


def _act_as(request, user):
    """The rest of the request sees the token's user, in that user's language."""
    request.user = user
    if user.language in dict(settings.LANGUAGES):
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language
    return user


class BearerToken(HttpBearer):
    """`Authorization: Bearer <key>`; only the key's sha256 is stored (ApiToken)."""

    def authenticate(self, request, token):
        user = user_for_token(token)
        return None if user is None else _act_as(request, user)


class BrowserSession(APIKeyCookie):
    """The logged-in browser (the docs page); CSRF-checked for unsafe methods.

    Unlike ninja's SessionAuth, a request without a session is simply not
    authenticated (401) instead of failing the CSRF check (403).
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self):
        super().__init__(csrf=True)

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, _("CSRF check failed. Reload the page and try again."))
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        return request.user if request.user.is_authenticated else None


def authenticated_docs(view):
    """The OpenAPI document and docs page, for callers who could use the API."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated:
            return view(request, *args, **kwargs)
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        user = user_for_token(raw.strip()) if scheme.lower() == "bearer" else None
        if user is not None:
            _act_as(request, user)
            return view(request, *args, **kwargs)
        if request.path.endswith("/docs"):
            return redirect_to_login(request.get_full_path())
        return JsonResponse({"detail": _("Authentication required.")}, status=401)

    return wrapper
