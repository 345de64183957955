"""One problem: its detail page with evidence catalogue and timeline, its form, and its files."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from duban.core.http import form_methods, read_only, refused
from duban.inspections.models import ACCEPTANCE_LEVEL_CHOICES
from duban.ledger import actions
from duban.ledger.files import StoredFileChanged, evidence_response, thumbnail_response
from duban.ledger.forms import ProblemForm, office_region_paths
from duban.ledger.models import (
    AcceptanceReview,
    MeasureUpdate,
    Objection,
    PublicNotice,
    Signature,
    State,
)
from duban.ledger.selectors import get_evidence_for_user, get_problem_for_user
from duban.ledger.timeline import timeline
from duban.org.models import Role
from duban.org.scope import acting_membership

from .actions import available_actions, error_status


def _refused(request, message, status, problem=None):
    return render(
        request, "ledger/refused.html", {"message": message, "problem": problem}, status=status
    )


# --- create and edit ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def problem_create(request):
    if not office_region_paths(request.user):
        return _refused(request, _("Only rectification office staff register problems."), 403)
    return _problem_form_page(request, problem=None)


@login_required
def problem_edit(request, pk):
    problem = get_problem_for_user(request.user, pk)
    if refusal := form_methods(request):
        return refusal
    try:
        actions.check(problem, "edit", request.user)
    except actions.ActionError as error:
        return _refused(request, str(error), error_status(error), problem)
    return _problem_form_page(request, problem=problem)


def _problem_form_page(request, problem):
    """The one form that registers a problem (problem=None) or edits one, through the actions."""
    form = ProblemForm(request.POST or None, user=request.user, problem=problem)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            links = {
                "fields": form.problem_fields(),
                "co_units": list(data["co_units"]),
                "implementing_units": list(data["implementing_units"]),
                "measures": data["measures"],
                "milestones": data["milestones"],
            }
            try:
                if problem is None:
                    problem = actions.create_problem(
                        by=request.user, inspection=data["inspection"], **links
                    )
                    messages.success(request, _("Problem registered."))
                else:
                    actions.update_problem(
                        problem, by=request.user, version=data.get("version"), **links
                    )
                    messages.success(request, _("Changes saved."))
            except actions.ActionError as error:
                form.add_action_error(error)
                status = error_status(error)
            else:
                return redirect("ledger:problem_detail", pk=problem.pk)
    return render(
        request, "ledger/problem_form.html", {"form": form, "problem": problem}, status=status
    )


# --- the detail page ---------------------------------------------------------------------------


def _catalogue(problem, evidence):
    """资料目录: the files grouped by category, the checklist's categories first."""
    checklist = list(problem.inspection.closing_checklist)
    groups = {category: [] for category in checklist}
    for item in evidence:
        groups.setdefault(item.category, []).append(item)
    return [
        {"category": category, "required": category in checklist, "files": files}
        for category, files in groups.items()
    ]


def _applications(problem):
    level_labels = {value: str(label) for value, label in ACCEPTANCE_LEVEL_CHOICES}
    applications = list(
        problem.closing_applications.select_related("submitted_by").prefetch_related(
            Prefetch("signatures", queryset=Signature.objects.select_related("signer")),
            Prefetch("reviews", queryset=AcceptanceReview.objects.select_related("reviewer")),
            Prefetch(
                "notices",
                queryset=PublicNotice.objects.prefetch_related(
                    Prefetch("objections", queryset=Objection.objects.select_related("recorded_by"))
                ),
            ),
            "evidence",
        )
    )
    for application in applications:
        for review in application.reviews.all():
            review.level_label = level_labels.get(review.level_name, review.level_name)
    return applications


@login_required
def problem_detail(request, pk):
    problem = get_problem_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    user = request.user
    today = timezone.localdate()
    evidence = list(problem.evidence.select_related("uploaded_by", "reviewed_by", "report"))
    children = list(problem.children.select_related("lead_unit").order_by("id"))
    reports = list(
        problem.reports.select_related("submitted_by").prefetch_related(
            Prefetch("measure_updates", queryset=MeasureUpdate.objects.select_related("measure")),
            "evidence",
        )
    )
    applications = _applications(problem)
    current = next((a for a in applications if a.status == "submitted"), None)
    context = {
        "problem": problem,
        "today": today,
        "overdue": problem.is_overdue(today),
        "deadline_changed": bool(
            problem.original_deadline and problem.original_deadline != problem.deadline
        ),
        "co_units": list(problem.co_units()),
        "implementing_units": list(problem.implementing_units()),
        "task_force": [line for line in problem.task_force.splitlines() if line.strip()],
        "children": children,
        "open_children": sum(1 for c in children if c.state != State.CLOSED),
        "measures": list(problem.measures.all()),
        "milestones": list(problem.milestones.all()),
        "reports": reports,
        "catalogue": _catalogue(problem, evidence),
        "missing": actions.missing_materials(problem),
        "evidence_count": len(evidence),
        "can_review": acting_membership(user, problem, (Role.UNIT_HEAD,)) is not None,
        "extensions": list(problem.extensions.select_related("requested_by", "decided_by")),
        "applications": applications,
        "current_application": current,
        "current_hash": actions.content_hash(current) if current else "",
        "acceptance_level_label": (
            problem.inspection.acceptance_level_label(problem.acceptance_level)
            if problem.state == State.UNDER_ACCEPTANCE
            else ""
        ),
        "notice": actions.open_notice(problem),
        "buttons": available_actions(problem, user),
        "timeline": timeline(problem.pk),
    }
    return render(request, "ledger/problem_detail.html", context)


# --- files -------------------------------------------------------------------------------------


@login_required
def evidence_download(request, pk):
    evidence = get_evidence_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    try:
        response = evidence_response(evidence, by=request.user)
    except StoredFileChanged as changed:
        return refused(request, str(changed), status=409)
    if response is None:
        raise Http404(_("The stored file is missing."))
    return response


@login_required
def evidence_thumbnail(request, pk):
    evidence = get_evidence_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    try:
        response = thumbnail_response(evidence, by=request.user)
    except StoredFileChanged as changed:
        return refused(request, str(changed), status=409)
    if response is None:
        raise Http404(_("This file has no thumbnail."))
    return response
