"""Downloads of the documents app: the ledger as .xlsx under the list page's filters.

A ledger of up to DUBAN_EXPORT_BACKGROUND_ROWS problems is answered at once; a larger one is
written by a background task (export_tasks.run_export) while a progress page shows how far it
is, and downloaded from there. An export job belongs to the user who asked: anyone else gets 404.
"""

import tempfile

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from duban.core.http import post_only, read_only

from . import actions
from .export_tasks import background_rows, filtered, write_filtered
from .models import ExportJob

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@login_required
def ledger_export(request):
    """The ledger the list page shows (same scope, same filters, same order), every page of it."""
    user = request.user
    form, queryset = filtered(user, request.GET)
    if queryset is None:
        # Like the list, a filter we cannot read exports nothing rather than everything.
        return HttpResponseBadRequest(
            _("Some filters could not be read: %(errors)s") % {"errors": form.error_text()},
            content_type="text/plain; charset=utf-8",
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    name = pgettext("file name", "Rectification ledger")  # xgettext skips calls in f-strings
    filename = f"{name}-{stamp}.xlsx"
    total = queryset.count()
    if total > background_rows():
        job = actions.request_export(
            by=user, query=request.GET.urlencode(), filename=filename, total=total
        )
        return redirect("documents:export_progress", pk=job.pk)
    # Rows stream to a temporary file (the workbook is zipped at the end), then to the client.
    out = tempfile.TemporaryFile(suffix=".xlsx")
    write_filtered(user, form, queryset, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=filename, content_type=XLSX)


def get_export_for_user(user, pk) -> ExportJob:
    """The export if `user` asked for it; 404 otherwise, whether it exists or not."""
    job = ExportJob.objects.filter(pk=pk, requested_by=user).first()
    if job is None:
        raise Http404(_("No such export."))
    return job


@login_required
def export_progress(request, pk):
    """The progress page; htmx asks it every second for the status alone (HX-Request)."""
    job = get_export_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    context = {
        "job": job,
        "progress": job.current_progress(),
        "keep_days": settings.DUBAN_EXPORT_KEEP_DAYS,
    }
    template = "documents/export_progress.html"
    if request.headers.get("HX-Request"):
        template = "documents/export_status.html"
    return render(request, template, context)


@login_required
def export_download(request, pk):
    job = get_export_for_user(request.user, pk)
    if refusal := read_only(request):
        return refusal
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404(_("The export is not ready."))
    try:
        stream = job.file.open("rb")
    except FileNotFoundError:  # removed by the cleanup sweep a moment ago
        raise Http404(_("The export is not ready.")) from None
    return FileResponse(stream, as_attachment=True, filename=job.filename, content_type=XLSX)


@login_required
def export_run_again(request, pk):
    """Write the same export again after the worker stopped while it wrote."""
    job = get_export_for_user(request.user, pk)
    if refusal := post_only(request):
        return refusal
    try:
        actions.run_export_again(job, by=request.user)
    except actions.JobError as error:
        messages.error(request, str(error))
    return redirect("documents:export_progress", pk=job.pk)
