"""Changes to background jobs: giving up on one whose worker stopped, and running it again.

An import's commit and the tasks' own progress live in import_views and the tasks; these are the
changes made on behalf of someone else than the running task: the sweep (system) and the person
who asked for the job.
"""

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.ledger.actions import undo_registration
from duban.notify.actions import notify
from duban.org.models import Role
from duban.org.scope import membership_over

from .export_tasks import run_export
from .import_tasks import run_import
from .importing.importer import undo_units
from .models import ExportJob, ImportJob


class JobError(Exception):
    """A job change that cannot be made; the message says why, for the person who tried."""


def stale_q(cutoff) -> Q:
    """Running jobs whose worker last beat before `cutoff` (or, run before heartbeats existed,
    last moved before it)."""
    return Q(status="running") & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    )


def _kind(job) -> str:
    return "import" if isinstance(job, ImportJob) else "export"


def _owner(job):
    return job.committed_by if isinstance(job, ImportJob) else job.requested_by


def _page(job) -> str:
    if isinstance(job, ImportJob):
        return reverse("documents:import_progress", args=[job.pk])
    return reverse("documents:export_progress", args=[job.pk])


def give_up_stopped_job(job, *, cutoff, now) -> bool:
    """Mark `job` failed when its worker stopped beating before `cutoff`; False if it beat since,
    finished, or another sweeper got there first. Nothing of its work is kept: the batches an
    import had committed are deleted here (each noted on the job as it committed), and an
    export's file counts only with its outcome."""
    model, kind = type(job), _kind(job)
    stopped = (
        {"stopped": True, "created": 0, "errors": []} if kind == "import" else {"stopped": True}
    )
    with transaction.atomic():
        # Locked first: a batch of the import still committing finishes (and notes what it
        # wrote) before this reads it; the run's next batch then finds the job given up.
        locked = (
            model.objects.select_for_update()
            .filter(stale_q(cutoff), pk=job.pk, attempt=job.attempt)
            .first()
        )
        if locked is None:
            return False
        model.objects.filter(pk=job.pk).update(
            status=model.Status.FAILED, result=stopped, updated_at=timezone.now()
        )
        if kind == "import":
            _undo_written(locked)
        audit.record(
            actor=None,
            role="system",
            action=f"documents.{kind}.stopped",
            target=job,
            before={
                "status": "running",
                "attempt": job.attempt,
                "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
            },
            after={"status": "failed", "reason": "worker stopped", "swept_at": now.isoformat()},
        )
        owner = _owner(job)
        if owner is not None:
            with translation.override(owner.language):
                title = (
                    _("The import of %(name)s stopped; nothing was written. Run it again.")
                    if kind == "import"
                    else _("The export %(name)s stopped before it was written. Run it again.")
                ) % {"name": str(job)}
            notify(
                [owner],
                kind=f"{kind}_stopped",
                key=f"{kind}-stopped:{job.pk}:{job.attempt}",
                title=title,
                url=_page(job),
                now=now,
                channels=False,
            )
    job.clear_progress()
    return True


def _undo_written(job) -> None:
    """Delete what the stopped run of an import had committed (batch by batch), with events."""
    written = job.result.get("written") or {}
    reason = "the worker stopped while the import ran"
    undo_registration(written.get("problems", []), by=None, role="system", reason=reason)
    undo_units(written.get("units", []), by=None, role="system")


def _queue_again(job, *, by, role: str, task, **fields) -> bool:
    if not job.stopped:
        raise JobError(_("Only a job whose worker stopped can be run again from here."))
    model, kind = type(job), _kind(job)
    with transaction.atomic():
        queued = model.objects.filter(
            pk=job.pk, status=model.Status.FAILED, attempt=job.attempt
        ).update(
            status=model.Status.QUEUED,
            result={},
            progress_done=0,
            heartbeat_at=None,
            updated_at=timezone.now(),
            **fields,
        )
        if not queued:  # a double click, or someone else ran it again first
            return False
        audit.record(
            actor=by,
            role=role,
            action=f"documents.{kind}.run_again",
            target=job,
            before={"status": "failed", "attempt": job.attempt},
            after={"status": "queued"},
        )
        transaction.on_commit(lambda: task.enqueue(job.pk))
    return True


def run_import_again(job: ImportJob, *, by) -> bool:
    """Commit the same upload again after its worker stopped (office staff over its region)."""
    if membership_over(by, Role.OFFICE, job.region.path) is None:
        raise JobError(_("Only rectification office staff may import a list."))
    return _queue_again(job, by=by, role=Role.OFFICE, task=run_import, committed_by=by)


def run_export_again(job: ExportJob, *, by) -> bool:
    """Write the same export again after its worker stopped (only for the user who asked)."""
    if job.requested_by_id != by.pk:
        raise JobError(_("Only the person who asked for an export may run it again."))
    return _queue_again(job, by=by, role="", task=run_export)
