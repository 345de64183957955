"""Method checks that views ask only after their scope check.

Django's `require_POST` answers 405 before the view runs, which would tell an outsider
that an object exists where he should get 404. These return None when the method is
allowed, else the 405 response, so a view calls them once the object is found:

    problem = get_problem_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
"""

from django.http import HttpResponseNotAllowed
from django.shortcuts import render

from .exceptions import ActionError, Conflict, NotAllowed


def read_only(request):
    """None for GET and HEAD, else 405."""
    return None if request.method in ("GET", "HEAD") else HttpResponseNotAllowed(["GET", "HEAD"])


def post_only(request):
    """None for POST, else 405."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def form_methods(request):
    """None for GET, HEAD and POST (a page with a form), else 405."""
    if request.method in ("GET", "HEAD", "POST"):
        return None
    return HttpResponseNotAllowed(["GET", "HEAD", "POST"])


def refused(request, message: str, status: int = 403):
    """The refusal page: what the user may not do here, and why."""
    return render(request, "refused.html", {"message": message}, status=status)


# Past the last page of any ledger (50 million rows at 50 a page), and small enough that the
# row offset it makes fits every database's integers.
MAX_PAGE = 1_000_000


def page_number(raw) -> int | None:
    """The page `?page=` asks for: 1 when absent, None unless a whole number from 1 to MAX_PAGE."""
    if raw in (None, ""):
        return 1
    if not (isinstance(raw, str) and raw.isascii() and raw.isdigit()):
        return None
    number = int(raw)
    return number if 1 <= number <= MAX_PAGE else None


ERROR_STATUS = {NotAllowed: 403, Conflict: 409}


def error_status(error: ActionError) -> int:
    """The HTTP status of a page that shows an action's refusal: 403, 409, else 400."""
    for kind, status in ERROR_STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def show_action_error(form, error) -> None:
    """Put an action's refusal on the form field it names, else on the form as a whole."""
    field = getattr(error, "field", None)
    form.add_error(field if field in form.fields else None, str(error))
