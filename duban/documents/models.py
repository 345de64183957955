"""Long work started from a page and done by a background task (django-tasks).

BackgroundJob holds what every such job shares: its status, the running count the task
reports, and the stored outcome. ImportJob: one uploaded rectification list (the file under
a generated name in MEDIA_ROOT/imports/, the dry run's preview, the user's mapping of unknown
units; duban.documents.import_tasks). ExportJob: one large ledger export from the list page,
kept for the user who asked (duban.documents.export_tasks).
"""

import json
import os
import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A unit chosen as "create it as a new unit" in ImportJob.unit_map.
NEW_UNIT = "new"


def _stored_name(job, filename: str) -> str:
    """A generated name: the user's file name is kept only for display (original_name)."""
    suffix = Path(filename).suffix.lower()[:8]
    return f"imports/{uuid.uuid4().hex}{suffix}"


class BackgroundJob(models.Model):
    """A job's progress and outcome. Subclasses define `Status` (with at least QUEUED, RUNNING,
    DONE and FAILED) and a `status` field."""

    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The task's outcome, e.g. {"created": int, "errors": [...]} for an import.
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Which run of the job this is (1 for the first): a run that was given up for stopped may not
    # write its outcome over a later one (see documents.jobs).
    attempt = models.PositiveIntegerField(default=0)
    # When the running worker last said it was alive; the sweep marks a job whose worker went
    # quiet as failed (documents.jobs.fail_stopped_jobs).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def finished(self) -> bool:
        return self.status not in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def stopped(self) -> bool:
        """Failed because its worker stopped while it ran (killed, machine lost): run it again."""
        return self.status == self.Status.FAILED and bool(self.result.get("stopped"))

    def claim(self) -> bool:
        """Move the queued job to running as its next attempt; False when another run has it
        (enqueued twice)."""
        now = timezone.now()
        attempt = type(self).objects.filter(pk=self.pk).values_list("attempt", flat=True).first()
        claimed = (
            type(self)
            .objects.filter(pk=self.pk, status=self.Status.QUEUED, attempt=attempt)
            .update(
                status=self.Status.RUNNING,
                attempt=(attempt or 0) + 1,
                heartbeat_at=now,
                updated_at=now,
            )
        )
        if claimed:
            self.status, self.attempt, self.heartbeat_at = self.Status.RUNNING, attempt + 1, now
        return bool(claimed)

    def finish(self, status: str, result: dict, *fields: str) -> bool:
        """Store the outcome (and the other `fields` the task set) and drop the running count.

        False, storing nothing, when this run no longer holds the job: the sweep gave it up for
        stopped (and maybe it runs again); the caller then undoes what it did.
        """
        values = {field: getattr(self, field) for field in ("progress_done", "progress_total")}
        values.update({field: getattr(self, field) for field in fields})
        finished = (
            type(self)
            .objects.filter(pk=self.pk, status=self.Status.RUNNING, attempt=self.attempt)
            .update(status=status, result=result, updated_at=timezone.now(), **values)
        )
        if finished:
            self.status, self.result = status, result
            self.clear_progress()
        return bool(finished)

    # The running count lives in a small file under MEDIA_ROOT/jobs/: a task may do its work
    # inside one transaction (an import registers every problem in one), so row updates of the
    # job would stay invisible to the progress page (another connection, maybe another process)
    # until the very end.
    def _progress_path(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "jobs" / f"{self._meta.model_name}-{self.pk}.progress"

    def write_progress(self, done: int, total: int, phase: str = "") -> None:
        path = self._progress_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".progress-tmp")
        partial.write_text(json.dumps({"done": done, "total": total, "phase": phase}))
        os.replace(partial, path)  # readers never see a half-written file

    def progress_counter(self, total: int, phase: str = ""):
        """A callable `advance(n=1)` counting work done; it writes the count about every 1 %."""
        step = max(1, total // 100)
        count = {"done": 0, "written": 0}
        self.write_progress(0, total, phase)

        def advance(n: int = 1) -> None:
            count["done"] += n
            if count["done"] - count["written"] >= step or count["done"] >= total:
                count["written"] = count["done"]
                self.write_progress(count["done"], total, phase)

        return advance

    def clear_progress(self) -> None:
        self._progress_path().unlink(missing_ok=True)

    def current_progress(self) -> dict:
        """{"done", "total", "phase", "percent"}: the task's running count, else the stored one."""
        progress = {"done": self.progress_done, "total": self.progress_total, "phase": ""}
        if self.status == self.Status.RUNNING:
            try:
                progress.update(json.loads(self._progress_path().read_text()))
            except (OSError, ValueError):
                pass
        total = progress["total"] or 0
        progress["percent"] = min(100, round(100 * progress["done"] / total)) if total else 0
        return progress


class ImportJob(BackgroundJob):
    class Status(models.TextChoices):
        PREVIEWED = "previewed", _("Previewed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    file = models.FileField(_("file"), upload_to=_stored_name, max_length=200)
    original_name = models.CharField(_("file name"), max_length=255)
    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="import_jobs"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="import_jobs"
    )
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The uploader's office region: office staff of this region (or above) may open the job.
    region = models.ForeignKey("org.Region", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PREVIEWED
    )
    # The last dry run: {"rows": [...], "errors": [...]} as the importer's JSON.
    preview = models.JSONField(default=dict)
    # Every unit name of the file that matched no unit, as first read (before any mapping).
    unknown_units = models.JSONField(default=list)
    # Name as written → unit id, or NEW_UNIT.
    unit_map = models.JSONField(default=dict)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("import")

    def __str__(self):
        return self.original_name

    @property
    def unmapped_units(self) -> list[str]:
        return [name for name in self.unknown_units if name not in self.unit_map]

    @property
    def can_commit(self) -> bool:
        return (
            self.status == self.Status.PREVIEWED
            and not self.preview.get("errors")
            and bool(self.preview.get("rows"))
            and not self.unmapped_units
        )


def _export_name(job, filename: str) -> str:
    return f"exports/{uuid.uuid4().hex}.xlsx"


class ExportJob(BackgroundJob):
    """A ledger export too large to wait for: written in the background, downloaded when done.

    Only the user who asked may see it. The filters are kept as the list page's query string
    and applied again, with that user's scope, when the task runs.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        REMOVED = "removed", _("Removed")

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="export_jobs"
    )
    query = models.TextField(blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    file = models.FileField(_("file"), upload_to=_export_name, max_length=200, blank=True)
    filename = models.CharField(_("file name"), max_length=255)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("export")

    def __str__(self):
        return self.filename
