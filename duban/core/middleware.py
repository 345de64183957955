import time

from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext as _

from duban.core.errors import is_api
from duban.core.http import refused


class SecureCookiesOverHttpsMiddleware:
    """Mark every cookie Secure when the request came over HTTPS.

    DUBAN_HTTPS=true does this from settings in production; this also covers a
    deployment that serves both, so a cookie set over HTTPS never travels in clear.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.is_secure():
            for cookie in response.cookies.values():
                cookie["secure"] = True
        return response


class IdleTimeoutMiddleware:
    """Push a session's expiry on at most once a minute instead of writing it on every request.

    The session ends after DUBAN_IDLE_MINUTES without a request (SESSION_COOKIE_AGE);
    saving it on each page view would make every read a write (on SQLite, a write
    lock). A minute's granularity is all an idle timeout needs.
    """

    KEY = "_duban_seen"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= settings.DUBAN_SESSION_REFRESH_SECONDS:
                session[self.KEY] = now  # modified: saved, with a new expiry
        return response


class RequestSizeLimitMiddleware:
    """Refuse a request whose body is over DUBAN_MAX_REQUEST_MB before any of it is read (413).

    Under WSGI Django reads at most CONTENT_LENGTH bytes of a body (none when it is absent, as
    with a chunked body), so checking the declared length bounds what a request can make us
    read; Django then spools file uploads to temporary files, not memory.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.DUBAN_MAX_REQUEST_MB * 1024 * 1024
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= limit:
            return self.get_response(request)
        message = _(
            "This request is %(size)d MB; one upload may be at most %(limit)d MB. "
            "Send the files in several smaller uploads."
        ) % {"size": -(-length // 1048576), "limit": settings.DUBAN_MAX_REQUEST_MB}
        if is_api(request):
            return JsonResponse({"detail": message}, status=413)
        return refused(request, message, status=413)


class NoStoreMiddleware:
    """Cache-Control: no-store on every response Django makes (static files answer before it).

    Pages and API answers carry a person's scope of the ledger; no-store keeps them out of the
    browser's cache and any proxy's, so the next person at a shared office computer cannot page
    back through them after logout. A response that sets its own Cache-Control keeps it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        return response
