"""The ledger export under the list page's filters, now or as a background task (django-tasks).

Up to DUBAN_EXPORT_BACKGROUND_ROWS problems the list page's "Export" answers with the file at
once; above, it creates an ExportJob and `run_export.enqueue(job.pk)` writes the file in
`duban db_worker` while the user watches a progress page. The filters are applied again in the
task with the requesting user's scope, so the file holds what the list showed that user.
"""

import datetime as dt
import logging
import tempfile
from collections import Counter

from django.conf import settings
from django.core.files import File
from django.http import QueryDict
from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task

from duban.ledger.filters import ProblemFilterForm
from duban.ledger.models import Problem
from duban.supervision.sweep import rule

from . import actions
from .exporting import default_title, write_ledger
from .heartbeat import heartbeat
from .models import ExportJob

logger = logging.getLogger(__name__)


def background_rows() -> int:
    """Exports of more problems than this run in the background (a setting)."""
    return settings.DUBAN_EXPORT_BACKGROUND_ROWS


def filtered(user, params):
    """The list page's filter form and the problems it selects for `user` (None if invalid)."""
    form = ProblemFilterForm(params, user=user)
    if not form.is_valid():
        return form, None
    return form, form.apply(Problem.objects.visible_to(user))


def _inspection_name(form, queryset) -> str | None:
    """The inspection named in the title: the one filtered on, or the only one listed."""
    if form.cleaned_data.get("inspection"):
        return form.cleaned_data["inspection"].name
    names = list(queryset.order_by().values_list("inspection__name", flat=True).distinct()[:2])
    return names[0] if len(names) == 1 else None


def write_filtered(user, form, queryset, out, progress=None) -> int:
    return write_ledger(
        queryset,
        out,
        title=default_title(_inspection_name(form, queryset)),
        exported_by=user.display_name or user.username,
        progress=progress,
    )


@task()
def run_export(job_id: int) -> dict:
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    if not actions.claim_job(job):
        return job.result  # enqueued twice: the first run decides
    user = job.requested_by
    # The rows stream through an open cursor: the pulse writes the count, not this connection.
    with translation.override(user.language), heartbeat(job, own_writes=False) as progress:
        form, queryset = filtered(user, QueryDict(job.query))
        if queryset is None:  # the filters no longer read (e.g. a unit was removed)
            error = _("Some filters could not be read: %(errors)s") % {"errors": form.error_text()}
            actions.finish_job(job, ExportJob.Status.FAILED, {"error": error})
            return job.result
        try:
            with tempfile.TemporaryFile(suffix=".xlsx") as out:
                count = write_filtered(
                    user, form, queryset, out, progress=progress.counter(job.progress_total)
                )
                out.seek(0)
                job.file.save("ledger.xlsx", File(out), save=False)
            job.progress_done = job.progress_total = count
            status, result = ExportJob.Status.DONE, {"count": count}
        except Exception:
            logger.exception("export job %s failed", job.pk)
            message = _("The export stopped on an unexpected error; try again.")
            status, result = ExportJob.Status.FAILED, {"error": message}
    if not actions.finish_job(job, status, result, "file") and job.file:
        # Given up for stopped while it wrote (the page already offers to run it again).
        job.file.delete(save=False)
    return job.result


@rule("export_cleanup")
def remove_old_exports(now: dt.datetime) -> Counter:
    """A written export is a copy of the ledger at one moment, with personal data in it; its
    file is removed DUBAN_EXPORT_KEEP_DAYS after it was asked for (the ledger itself stays,
    and exporting again gives today's copy)."""
    counts: Counter = Counter()
    cutoff = now - dt.timedelta(days=settings.DUBAN_EXPORT_KEEP_DAYS)
    if removed := actions.remove_old_exports(cutoff, now):
        counts["export_removed"] += removed
    return counts
