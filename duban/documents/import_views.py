"""The import page for office staff: upload → preview (map unknown units) → commit → progress.

Scope: only office staff open the upload page (403 for others). A job belongs to the
region of its uploader's office: office staff of that region (or a region above it)
open its pages; everyone else gets 404, whether the job exists or not.
Nothing is written to the ledger before "Commit", and the commit is all or nothing.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.core.http import post_only
from duban.inspections.models import Inspection
from duban.ledger.forms import DEADLINE_KINDS
from duban.ledger.models import Category
from duban.org.models import Role, Unit
from duban.org.scope import inspection_scope_q, memberships_as, region_paths, under, under_any

from . import actions
from .import_tasks import units_of
from .importing import importer
from .importing.readers import ImportRejected, read_bytes
from .models import NEW_UNIT, ImportJob


def _office_memberships(user):
    return memberships_as(user, Role.OFFICE)


def get_job_for_user(user, pk) -> ImportJob:
    """The job if one of the user's offices covers its region; 404 otherwise."""
    paths = region_paths(user, Role.OFFICE)
    job = (
        ImportJob.objects.filter(under_any("region__path", paths), pk=pk)
        .select_related("inspection", "region", "uploaded_by")
        .first()
    )
    if job is None:
        raise Http404(_("No such import."))
    return job


class UploadForm(forms.Form):
    inspection = forms.ModelChoiceField(
        label=gettext_lazy("Inspection"), queryset=Inspection.objects.none()
    )
    file = forms.FileField(
        label=gettext_lazy("Rectification list"),
        help_text=gettext_lazy("An .xlsx, .xls or .csv file, as the list was received."),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.csv"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        scope = inspection_scope_q(user)
        self.fields["inspection"].queryset = (
            Inspection.objects.none()
            if scope is None
            else Inspection.objects.filter(scope).order_by("-created_at", "-pk")
        )


def _location(error: dict) -> str:
    parts = []
    if error.get("sheet"):
        parts.append(_("sheet %(sheet)s") % {"sheet": error["sheet"]})
    if error.get("row"):
        parts.append(_("row %(row)s") % {"row": error["row"]})
    if error.get("column"):
        parts.append(_("column %(column)s") % {"column": error["column"]})
    return "，".join(parts) or _("the whole file")


def _dry_run(content, filename, *, inspection, by, unit_map=None):
    """The importer's dry run, with a mapping of unknown units (name → unit id or NEW_UNIT)."""
    unit_map, create_units = units_of(unit_map or {})
    return importer.import_file(
        content,
        filename,
        inspection=inspection,
        by=by,
        dry_run=True,
        create_units=create_units,
        unit_map=unit_map,
    )


def _preview_of(result) -> dict:
    rows = [{**row.as_json(), "sheet": row.sheet} for row in result.rows]
    return {"rows": rows, "errors": [e.as_json() for e in result.errors]}


@login_required
def import_upload(request):
    user = request.user
    offices = _office_memberships(user)
    if not offices:
        raise PermissionDenied(_("Only rectification office staff may import a list."))
    form = UploadForm(request.POST or None, request.FILES or None, user=user)
    refusals = []
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        inspection = form.cleaned_data["inspection"]
        try:
            content = read_bytes(upload)
        except ImportRejected as rejected:
            form.add_error("file", str(rejected))
        else:
            result = _dry_run(content, upload.name, inspection=inspection, by=user)
            if not result.rows:
                # The readers refused the file or found no problem in it: nothing is stored.
                refusals = [
                    {"where": _location(e.as_json()), "message": e.message} for e in result.errors
                ]
            else:
                job = actions.upload_import(
                    by=user,
                    office=offices[0],
                    inspection=inspection,
                    name=upload.name,
                    content=content,
                    preview=_preview_of(result),
                    unknown_units=result.unknown_units,
                )
                return redirect("documents:import_preview", pk=job.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "documents/import_upload.html",
        {"form": form, "refusals": refusals},
        status=status,
    )


def _unit_choices(job):
    return Unit.objects.filter(under("region__path", job.region.path)).order_by("path", "name")


KIND_LABELS = dict(DEADLINE_KINDS)
CATEGORY_LABELS = dict(Category.choices)


def _preview_context(job, message=None) -> dict:
    rows = [
        {
            **row,
            "kind_labels": [KIND_LABELS.get(k, k) for k in row["deadline_kinds"]],
            "category_label": CATEGORY_LABELS.get(row["category"], row["category"]),
        }
        for row in job.preview.get("rows", [])
    ]
    errors = [{**e, "where": _location(e)} for e in job.preview.get("errors", [])]
    unknown = [
        {"index": i, "name": name, "choice": str(job.unit_map.get(name, ""))}
        for i, name in enumerate(job.unknown_units)
    ]
    return {
        "job": job,
        "rows": rows,
        "errors": errors,
        "unknown": unknown,
        "units": _unit_choices(job),
        "new_unit": NEW_UNIT,
        "message": message,
    }


@login_required
def import_preview(request, pk):
    """Every parsed row and every error; a POST saves the mapping of unknown units and checks again."""
    job = get_job_for_user(request.user, pk)
    if job.status != ImportJob.Status.PREVIEWED:
        return redirect("documents:import_progress", pk=job.pk)
    if request.method == "POST":
        allowed = {str(pk) for pk in _unit_choices(job).values_list("pk", flat=True)}
        unit_map = {}
        for i, name in enumerate(job.unknown_units):
            choice = request.POST.get(f"unit-{i}", "")
            if choice == NEW_UNIT or choice in allowed:
                unit_map[name] = choice
        with job.file.open("rb") as handle:
            result = _dry_run(
                handle,
                job.original_name,
                inspection=job.inspection,
                by=request.user,
                unit_map=unit_map,
            )
        try:
            actions.map_import_units(
                job, by=request.user, unit_map=unit_map, preview=_preview_of(result)
            )
        except actions.JobError as error:
            raise PermissionDenied(str(error)) from None
        return redirect("documents:import_preview", pk=job.pk)
    return render(request, "documents/import_preview.html", _preview_context(job))


@login_required
def import_commit(request, pk):
    job = get_job_for_user(request.user, pk)  # before the method: out of scope stays 404
    if refusal := post_only(request):
        return refusal
    if job.status != ImportJob.Status.PREVIEWED:
        return redirect("documents:import_progress", pk=job.pk)
    if not job.can_commit:
        message = _("Correct every error and map every unknown unit before committing.")
        return render(
            request, "documents/import_preview.html", _preview_context(job, message), status=400
        )
    # Only one request moves the job from previewed to queued, even on a double click.
    try:
        actions.commit_import(job, by=request.user)
    except actions.JobError as error:
        raise PermissionDenied(str(error)) from None
    return redirect("documents:import_progress", pk=job.pk)


@login_required
def import_run_again(request, pk):
    """Commit the same upload again after the worker stopped while it ran."""
    job = get_job_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.run_import_again(job, by=request.user)
    except actions.JobError as error:
        messages.error(request, str(error))
    return redirect("documents:import_progress", pk=job.pk)


@login_required
def import_progress(request, pk):
    """The progress page; htmx asks it every second for the bar alone (HX-Request)."""
    job = get_job_for_user(request.user, pk)
    if job.status == ImportJob.Status.PREVIEWED:
        return redirect("documents:import_preview", pk=job.pk)
    ledger_url = (
        reverse("ledger:problem_list") + "?" + urlencode({"inspection": job.inspection.code})
    )
    errors = [{**e, "where": _location(e)} for e in job.result.get("errors", [])]
    notice_units = []
    if job.status == ImportJob.Status.DONE:
        # The lead units of the imported rows, for their supervision notices (render:*).
        names = {row["lead_unit"] for row in job.preview.get("rows", []) if row["lead_unit"]}
        notice_units = _unit_choices(job).filter(name__in=names)
    context = {
        "job": job,
        "notice_units": notice_units,
        "progress": job.current_progress(),
        "errors": errors,
        "ledger_url": ledger_url,
    }
    template = "documents/import_progress.html"
    if request.headers.get("HX-Request"):
        template = "documents/import_status.html"
    return render(request, template, context)
