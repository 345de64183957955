"""The answers of last resort, set as Django's error handlers in duban/urls.py.

Whatever fails inside a request (a view, the API, a middleware) ends here. The API
always answers JSON; a database that does not answer is 503 with Retry-After (the
request may succeed in a moment), a page for the browser and JSON for the API.
These answers are made without touching the database or the session, which may be
what failed.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

# How long a client should wait before trying again while the database is unreachable.
RETRY_AFTER_SECONDS = 30
API_PREFIX = "/api/"


def database_unavailable(exc) -> bool:
    """True for errors that mean the database is down, unreachable or dropped the connection."""
    return isinstance(exc, OperationalError | InterfaceError)


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


def server_error(request, template_name="500.html"):
    """handler500: 503 while the database is unavailable, else 500; JSON under /api/."""
    exc = sys.exc_info()[1]
    if database_unavailable(exc):
        message = _("The database is not answering. Try again in a minute.")
        if is_api(request):
            response = _json(message, 503)
        else:
            body = loader.get_template("503.html").render({"message": message})
            response = HttpResponse(body, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    if is_api(request):
        return _json(_("Server error. It has been logged; try again later."), 500)
    return defaults.server_error(request, template_name)


def page_not_found(request, exception, template_name="404.html"):
    """handler404: a path under /api/ that names no route is answered in JSON like the others."""
    if is_api(request):
        return _json(_("Not found."), 404)
    return defaults.page_not_found(request, exception, template_name)


def bad_request(request, exception, template_name="400.html"):
    """handler400 (a request Django refuses before any view: too many fields, a bad host)."""
    if is_api(request):
        return _json(_("Bad request."), 400)
    return defaults.bad_request(request, exception, template_name)


def permission_denied(request, exception, template_name="403.html"):
    if is_api(request):
        return _json(_("Permission denied."), 403)
    return defaults.permission_denied(request, exception, template_name)
