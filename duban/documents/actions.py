"""Every change of state of a background job (imports and exports), each with its audit event.

The person: uploading a list (upload_import), mapping its unknown units (map_import_units),
committing it (commit_import), asking for a large export (request_export), running a stopped job
again. The running task (system): taking the queued job (claim_job) and storing its outcome
(finish_job). The sweep (system): giving up a job whose worker stopped, removing old exports.

Each is one transaction: a conditional update (or the insert) and its event. Files are stored
before the transaction and removed after it commits. The running count a task keeps while it
works is not a change of state (heartbeat.py).

A new job's task is enqueued inside the transaction that creates or commits it: the database
queue's row commits with the job, or neither does. The tasks are imported where they are
enqueued (they call claim_job and finish_job from here).
"""

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.ledger.actions import undo_registration
from duban.notify.actions import notify
from duban.org.models import Role, Unit, UnitKind
from duban.org.scope import membership_over

from .models import ExportJob, ImportJob


class JobError(Exception):
    """A job change that cannot be made; the message says why, for the person who tried."""


def stale_q(cutoff) -> Q:
    """Running jobs whose worker last beat before `cutoff` (or, run before heartbeats existed,
    last moved before it)."""
    return Q(status="running") & (
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, updated_at__lt=cutoff)
    )


def _import_task():
    from .import_tasks import run_import

    return run_import


def _export_task():
    from .export_tasks import run_export

    return run_export


def _office_over(by, job: ImportJob):
    membership = membership_over(by, Role.OFFICE, job.region.path)
    if membership is None:
        raise JobError(_("Only rectification office staff may import a list."))
    return membership


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
            progress_phase="",
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
        transaction.on_commit(lambda: task().enqueue(job.pk))
    return True


def run_import_again(job: ImportJob, *, by) -> bool:
    """Commit the same upload again after its worker stopped (office staff over its region)."""
    _office_over(by, job)
    return _queue_again(job, by=by, role=Role.OFFICE, task=_import_task, committed_by=by)


def run_export_again(job: ExportJob, *, by) -> bool:
    """Write the same export again after its worker stopped (only for the user who asked)."""
    if job.requested_by_id != by.pk:
        raise JobError(_("Only the person who asked for an export may run it again."))
    return _queue_again(job, by=by, role="", task=_export_task)


# --- an import, from the upload to its commit ----------------------------------------------


def upload_import(
    *, by, office, inspection, name: str, content: bytes, preview: dict, unknown_units: list
) -> ImportJob:
    """Keep an uploaded list and its dry run for the preview page (the ledger is not touched).

    `office` is the uploader's office membership: the job belongs to its region. The file is
    stored first; if the row cannot be written the file is removed again."""
    if office.user_id != by.pk or office.role != Role.OFFICE:
        raise JobError(_("Only rectification office staff may import a list."))
    job = ImportJob(
        original_name=name[:255],
        inspection=inspection,
        uploaded_by=by,
        region=office.unit.region,
        preview=preview,
        unknown_units=unknown_units,
        progress_total=len(preview.get("rows", [])),
    )
    job.file.save(name, ContentFile(content), save=False)
    try:
        with transaction.atomic():
            job.save()
            audit.record(
                actor=by,
                role=office.role,
                action="documents.import.upload",
                target=job,
                after={
                    "status": job.status,
                    "file": job.original_name,
                    "inspection": inspection.code,
                    "rows": len(preview.get("rows", [])),
                    "errors": len(preview.get("errors", [])),
                    "unknown_units": len(unknown_units),
                },
            )
    except BaseException:
        job.file.delete(save=False)
        raise
    return job


def map_import_units(job: ImportJob, *, by, unit_map: dict, preview: dict) -> bool:
    """Store the user's mapping of unknown units and the dry run made with it; False when the
    job left the preview meanwhile (committed in another tab)."""
    membership = _office_over(by, job)
    with transaction.atomic():
        saved = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
            unit_map=unit_map, preview=preview, updated_at=timezone.now()
        )
        if not saved:
            return False
        audit.record(
            actor=by,
            role=membership.role,
            action="documents.import.map_units",
            target=job,
            before={"unit_map": job.unit_map},
            after={"unit_map": unit_map, "errors": len(preview.get("errors", []))},
        )
    job.unit_map, job.preview = unit_map, preview
    return True


def commit_import(job: ImportJob, *, by) -> bool:
    """Queue the previewed list for registering by a worker; False when it is no longer in the
    preview (a double click: only one request moves it)."""
    membership = _office_over(by, job)
    if not job.can_commit:
        raise JobError(_("Correct every error and map every unknown unit before committing."))
    rows = len(job.preview["rows"])
    with transaction.atomic():
        queued = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.PREVIEWED).update(
            status=ImportJob.Status.QUEUED,
            committed_by=by,
            progress_done=0,
            progress_total=rows,
            progress_phase="",
            updated_at=timezone.now(),
        )
        if not queued:
            return False
        audit.record(
            actor=by,
            role=membership.role,
            action="documents.import.commit",
            target=job,
            before={"status": ImportJob.Status.PREVIEWED},
            after={"status": ImportJob.Status.QUEUED, "rows": rows},
        )
        _import_task().enqueue(job.pk)
    job.status, job.committed_by = ImportJob.Status.QUEUED, by
    return True


# --- an export -------------------------------------------------------------------------------


def request_export(*, by, query: str, filename: str, total: int) -> ExportJob:
    """Ask for a ledger export written in the background, for `by` only."""
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=by, query=query, filename=filename, progress_total=total
        )
        audit.record(
            actor=by,
            role="",
            action="documents.export.request",
            target=job,
            after={"status": job.status, "query": query, "rows": total},
        )
        _export_task().enqueue(job.pk)
    return job


def remove_old_exports(cutoff, now) -> int:
    """Remove the files of the exports written before `cutoff` (the rows stay, as "removed").

    One transaction for the lot, one event each; the files go once it has committed. Another
    sweeper at the same time removes each one once (the conditional update)."""
    old = ExportJob.objects.filter(status=ExportJob.Status.DONE, created_at__lt=cutoff)
    removed = []
    with transaction.atomic():
        for job in old.only("pk", "file", "filename").order_by("pk"):
            if ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
                status=ExportJob.Status.REMOVED, file="", updated_at=timezone.now()
            ):
                removed.append(job)
        audit.record_many(
            {
                "actor": None,
                "role": "system",
                "action": "documents.export.removed",
                "target": job,
                "before": {"status": ExportJob.Status.DONE, "file": job.file.name},
                "after": {"status": ExportJob.Status.REMOVED, "swept_at": now.isoformat()},
            }
            for job in removed
        )

        def delete_files():
            for job in removed:
                if job.file:
                    job.file.delete(save=False)

        transaction.on_commit(delete_files)
    return len(removed)


# --- the running task ------------------------------------------------------------------------


def claim_job(job) -> bool:
    """Move the queued job to running as its next attempt; False when another run has it
    (enqueued twice)."""
    model, kind = type(job), _kind(job)
    now = timezone.now()
    with transaction.atomic():
        attempt = model.objects.filter(pk=job.pk).values_list("attempt", flat=True).first()
        claimed = model.objects.filter(
            pk=job.pk, status=model.Status.QUEUED, attempt=attempt
        ).update(
            status=model.Status.RUNNING,
            attempt=(attempt or 0) + 1,
            progress_phase="",
            heartbeat_at=now,
            updated_at=now,
        )
        if not claimed:
            return False
        audit.record(
            actor=None,
            role="system",
            action=f"documents.{kind}.start",
            target=job,
            before={"status": model.Status.QUEUED},
            after={"status": model.Status.RUNNING, "attempt": (attempt or 0) + 1},
        )
    job.status, job.attempt, job.heartbeat_at = model.Status.RUNNING, (attempt or 0) + 1, now
    return True


def finish_job(job, status: str, result: dict, *fields: str) -> bool:
    """Store the outcome (with the other `fields` the task set on `job`, and its count).

    False, storing nothing, when this run no longer holds the job: the sweep gave it up for
    stopped (and maybe it runs again); the caller then undoes what it did. Runs inside the
    caller's transaction when there is one (an import's outcome commits with its rows)."""
    model, kind = type(job), _kind(job)
    values = {field: getattr(job, field) for field in ("progress_done", "progress_total")}
    values.update({field: getattr(job, field) for field in fields})
    with transaction.atomic():
        finished = model.objects.filter(
            pk=job.pk, status=model.Status.RUNNING, attempt=job.attempt
        ).update(
            status=status, result=result, progress_phase="", updated_at=timezone.now(), **values
        )
        if not finished:
            return False
        summary = {k: v for k, v in result.items() if k != "errors"}
        if "errors" in result:
            summary["errors"] = len(result["errors"])
        audit.record(
            actor=None,
            role="system",
            action=f"documents.{kind}.{status}",
            target=job,
            before={"status": model.Status.RUNNING, "attempt": job.attempt},
            after={"status": status, **summary},
        )
    job.status, job.result = status, result
    return True


# Units an import creates: a list may name a department the ledger does not know yet, and the
# office that imports it may choose "create it as a new unit" (duban.documents.importing).
def create_units(names, *, region, by, role: str, source: str = "import") -> dict:
    """Create a department in `region` for each name, with its "unit.create" event; returns
    name → Unit. One transaction (the caller's, when there is one)."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    with transaction.atomic():
        units = {
            name: Unit.objects.create(name=name, kind=UnitKind.DEPARTMENT, region=region)
            for name in names
        }
        audit.record_many(
            {
                "actor": by,
                "role": role,
                "action": "unit.create",
                "target": unit,
                "after": {"name": unit.name, "region": region.code, "source": source},
            }
            for unit in units.values()
        )
    return units


def undo_units(unit_ids, *, by, role: str) -> None:
    """The units an import created, deleted again (with an event each) when it leaves nothing."""
    if not unit_ids:
        return
    with transaction.atomic():
        units = list(Unit.objects.filter(pk__in=unit_ids).select_related("region"))
        Unit.objects.filter(pk__in=[u.pk for u in units]).delete()
        audit.record_many(
            {
                "actor": by,
                "role": role,
                "action": "unit.import_undone",
                "target": ("org.unit", unit.pk),
                "before": {"name": unit.name, "region": unit.region.code},
                "after": {"reason": "the import that created it left nothing"},
            }
            for unit in units
        )
