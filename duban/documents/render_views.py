"""Downloads of generated documents (.docx and PDF), each read through the ledger's scope.

- closing record: any user who sees the problem (404 otherwise), once it has a closing application;
- supervision notice: office staff of the unit's region (403 for others);
- progress report: anyone who sees the inspection, counting only the problems they see;
- public notice: office staff of a region the inspection covers (403 for others).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from duban.core.http import read_only
from duban.documents import rendering
from duban.inspections.selectors import get_inspection_for_user
from duban.ledger.models import Problem
from duban.ledger.selectors import get_problem_for_user
from duban.org.models import Role, Unit
from duban.org.scope import membership_over, memberships_as, roles_of


def _download(data, fmt) -> HttpResponse:
    response = HttpResponse(rendering.render(data, fmt), content_type=rendering.CONTENT_TYPES[fmt])
    # Django writes filename*=utf-8''… (RFC 5987) for the Chinese file names.
    response["Content-Disposition"] = content_disposition_header(
        True, rendering.filename(data, fmt)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _office_name(user) -> str | None:
    """The reader's own office signs reports that span regions (a province-wide round)."""
    offices = memberships_as(user, Role.OFFICE)
    return offices[0].unit.name if offices else None


@login_required
def closing_record(request, pk, fmt):
    problem = get_problem_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    if rendering.closing_application_of(problem) is None:
        raise Http404(_("This problem has no closing application yet."))
    return _download(rendering.closing_record(problem), fmt)


@login_required
def supervision_notice(request, pk, fmt):
    # Refused by role before the unit is looked up; a unit outside the office's region is
    # answered like one that does not exist.
    if Role.OFFICE not in roles_of(request.user):
        raise PermissionDenied(_("Only the rectification office of this region issues notices."))
    unit = Unit.objects.select_related("region").filter(pk=pk).first()
    if unit is None or membership_over(request.user, Role.OFFICE, unit.region.path) is None:
        raise Http404(_("No such unit."))
    if refusal := read_only(request):
        return refusal
    problems = Problem.objects.visible_to(request.user)
    return _download(rendering.supervision_notice(unit, problems), fmt)


@login_required
def progress_report(request, pk, fmt):
    inspection = get_inspection_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    problems = Problem.objects.visible_to(request.user)
    return _download(
        rendering.progress_report(inspection, problems, office_name=_office_name(request.user)), fmt
    )


@login_required
def public_notice(request, pk, fmt):
    inspection = get_inspection_for_user(request.user, pk)
    if Role.OFFICE not in roles_of(request.user):
        raise PermissionDenied(_("Only the rectification office publishes notices."))
    if refusal := read_only(request):
        return refusal
    problems = Problem.objects.visible_to(request.user)
    return _download(
        rendering.public_notice(inspection, problems, office_name=_office_name(request.user)), fmt
    )
