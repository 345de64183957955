"""The committed import as a background task (django-tasks): all rows or nothing, with progress.

The importer commits its rows in batches; each batch notes what it wrote on the job, so a run
whose worker dies half-way is undone by the sweep (duban.documents.jobs).

`run_import.enqueue(job.pk)` after the preview page's "Commit". The DatabaseBackend
runs it in `duban db_worker`; tests use the ImmediateBackend, which runs it inline.
"""

import logging

from django.utils import translation
from django.utils.translation import gettext as _
from django_tasks import task

from duban.org.models import Unit

from .actions import claim_job, finish_job
from .heartbeat import heartbeat
from .importing import importer
from .models import NEW_UNIT, ImportJob

logger = logging.getLogger(__name__)


class _Reporter:
    """The importer's progress callback: passes the rows through and counts them."""

    def __init__(self, progress):
        self.progress = progress

    def __call__(self, iterable, total=None, desc=None):
        items = list(iterable) if total is None else iterable
        total = len(items) if total is None else total
        # The importer names its phases with gettext, in the language active here too.
        phase = "reading" if desc == _("Reading") else "registering"
        advance = self.progress.counter(total, phase)
        for item in items:
            yield item
            advance()


def units_of(unit_map: dict) -> tuple[dict, bool]:
    """The importer's unit_map (name → Unit) from a job's (name → unit id or NEW_UNIT), and
    whether any unit is to be created."""
    ids = {name: value for name, value in unit_map.items() if value != NEW_UNIT}
    units = Unit.objects.in_bulk([int(v) for v in ids.values()])
    mapping = {name: units[int(v)] for name, v in ids.items() if int(v) in units}
    return mapping, NEW_UNIT in unit_map.values()


class GivenUp(Exception):
    """The sweep gave this run up for stopped while it worked: its rows must not commit."""


def _settle(job: ImportJob):
    """The importer's last step inside its transaction: the outcome commits with the rows."""

    def settle(result) -> None:
        job.progress_done = result.created
        if not finish_job(job, ImportJob.Status.DONE, {"created": result.created, "errors": []}):
            raise GivenUp

    return settle


def _written(job: ImportJob):
    """What each of the importer's transactions wrote, noted on the running job in the same
    transaction: if the worker dies before the end, the sweep deletes it again
    (actions.give_up_stopped_job). Once given up, this run can write nothing more."""
    noted = {"units": [], "problems": []}

    def written(*, units=(), problems=()) -> None:
        noted["units"] += list(units)
        noted["problems"] += list(problems)
        still_ours = ImportJob.objects.filter(
            pk=job.pk, status=ImportJob.Status.RUNNING, attempt=job.attempt
        ).update(result={"written": noted})
        if not still_ours:
            raise GivenUp

    return written


@task()
def run_import(job_id: int) -> dict:
    job = ImportJob.objects.select_related("inspection", "committed_by").get(pk=job_id)
    if not claim_job(job):
        return job.result  # enqueued twice: the first run decides
    by = job.committed_by
    with translation.override(by.language), heartbeat(job) as progress:
        try:
            unit_map, create_units = units_of(job.unit_map)
            with job.file.open("rb") as handle:
                result = importer.import_file(
                    handle,
                    job.original_name,
                    inspection=job.inspection,
                    by=by,
                    create_units=create_units,
                    unit_map=unit_map,
                    progress=_Reporter(progress),
                    settle=_settle(job),
                    written=_written(job),
                )
            if job.status == ImportJob.Status.DONE:
                return job.result
            errors = [e.as_json() for e in result.errors]
            created = 0
        except GivenUp:
            logger.warning("import job %s was given up for stopped; its rows rolled back", job.pk)
            return {}
        except Exception:
            # The importer's transaction has rolled back: nothing was written.
            logger.exception("import job %s failed", job.pk)
            created = 0
            errors = [
                {
                    "sheet": None,
                    "row": None,
                    "column": None,
                    "message": _("The import stopped on an unexpected error; nothing was written."),
                }
            ]
    job.progress_done = created
    finish_job(job, ImportJob.Status.FAILED, {"created": created, "errors": errors})
    return job.result
