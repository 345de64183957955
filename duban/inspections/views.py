"""Inspection pages: the scoped list, one round's settings, and the office's forms.

Reads go through duban.inspections.selectors (out of scope → 404, on GET and POST);
writes through duban.inspections.actions. Problem counts are of the problems the
user may see, so a count never reveals more than the ledger it links to.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from duban.core.exceptions import ActionError
from duban.core.http import error_status, form_methods, read_only
from duban.org.models import Role
from duban.org.scope import roles_of

from . import actions, plugins
from .forms import InspectionForm
from .models import ACCEPTANCE_LEVEL_CHOICES
from .selectors import get_inspection_for_user, inspections_visible_to


def _refused(request, message, status, inspection=None):
    return render(
        request,
        "inspections/refused.html",
        {"message": message, "inspection": inspection},
        status=status,
    )


def _level_labels(inspection) -> list[str]:
    labels = dict(ACCEPTANCE_LEVEL_CHOICES)
    return [str(labels.get(level, level)) for level in inspection.acceptance_levels]


@login_required
def inspection_list(request):
    if refusal := read_only(request):
        return refusal
    inspections = list(inspections_visible_to(request.user).select_related("target_region"))
    counts = plugins.counts_by_state(request.user, [i.pk for i in inspections])
    for inspection in inspections:
        inspection.state_counts = counts[inspection.pk]
        inspection.problem_total = sum(row["count"] for row in counts[inspection.pk])
    return render(
        request,
        "inspections/inspection_list.html",
        {
            "inspections": inspections,
            "can_create": Role.OFFICE in roles_of(request.user),
        },
    )


@login_required
def inspection_detail(request, pk):
    inspection = get_inspection_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    counts = plugins.counts_by_state(request.user, [inspection.pk])[inspection.pk]
    context = {
        "inspection": inspection,
        "state_counts": counts,
        "problem_total": sum(row["count"] for row in counts),
        "levels": _level_labels(inspection),
        "can_edit": actions.editor_membership_for(request.user, inspection.target_region)
        is not None,
    }
    return render(request, "inspections/inspection_detail.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def inspection_create(request):
    if Role.OFFICE not in roles_of(request.user):
        return _refused(request, _("Only rectification office staff set up inspections."), 403)
    return _form_page(request, inspection=None)


@login_required
def inspection_edit(request, pk):
    inspection = get_inspection_for_user(request.user, pk)
    if refusal := form_methods(request):
        return refusal
    try:
        actions.require_editor(request.user, inspection.target_region)
    except ActionError as error:
        return _refused(request, str(error), error_status(error), inspection)
    return _form_page(request, inspection=inspection)


def _form_page(request, inspection):
    """The one form that sets up a round (inspection=None) or changes one, through the actions."""
    form = InspectionForm(request.POST or None, user=request.user, inspection=inspection)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            fields = form.inspection_fields()
            days = form.cleaned_data["plan_working_days"]
            try:
                if inspection is None:
                    inspection = actions.create_inspection(
                        by=request.user, fields=fields, plan_working_days=days
                    )
                    messages.success(request, _("Inspection set up."))
                else:
                    actions.update_inspection(
                        inspection, by=request.user, fields=fields, plan_working_days=days
                    )
                    messages.success(request, _("Changes saved."))
            except ActionError as error:
                form.add_action_error(error)
                status = error_status(error)
            else:
                return redirect("inspections:detail", pk=inspection.pk)
    return render(
        request,
        "inspections/inspection_form.html",
        {"form": form, "inspection": inspection},
        status=status,
    )
