"""Long work started from a page and done by a background task (django-tasks).

BackgroundJob holds what every such job shares: its status, the running count the task
reports (in the row, see heartbeat.py), and the stored outcome. Every change of status is an
action in duban.documents.actions. ImportJob: one uploaded rectification list (the file under
a generated name in MEDIA_ROOT/imports/, the dry run's preview, the user's mapping of unknown
units; duban.documents.import_tasks). ExportJob: one large ledger export from the list page,
kept for the user who asked (duban.documents.export_tasks).
"""

import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
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

    # The running count, written by the task while it works (duban.documents.heartbeat) so that
    # any web process, on any machine, reads it from the database; the outcome's count after.
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # What the count counts while running ("reading", "registering"; "" for an export's rows).
    progress_phase = models.CharField(max_length=20, blank=True, default="")
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

    def current_progress(self) -> dict:
        """{"done", "total", "phase", "percent"}: the running count the task keeps in this row
        (duban.documents.heartbeat), or the outcome's once it finished."""
        total = self.progress_total or 0
        return {
            "done": self.progress_done,
            "total": total,
            "phase": self.progress_phase if self.status == self.Status.RUNNING else "",
            "percent": min(100, round(100 * self.progress_done / total)) if total else 0,
        }


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
