"""Imports of rectification lists from the web page: one ImportJob per uploaded file.

The job keeps the file (under a generated name in MEDIA_ROOT/imports/), the dry run's
preview, the user's mapping of unknown units, and — once committed — the progress and
the outcome of the background task (duban.documents.import_tasks).
"""

import json
import os
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


class ImportJob(models.Model):
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
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    # The last dry run: {"rows": [...], "errors": [...]} as the importer's JSON.
    preview = models.JSONField(default=dict)
    # Every unit name of the file that matched no unit, as first read (before any mapping).
    unknown_units = models.JSONField(default=list)
    # Name as written → unit id, or NEW_UNIT.
    unit_map = models.JSONField(default=dict)
    # After the task: {"created": int, "errors": [...]}.
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("import")

    def __str__(self):
        return self.original_name

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

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

    # The running count lives in a small file beside the upload: the task registers every
    # problem inside one transaction, so row updates of the job would stay invisible to the
    # progress page (another connection, maybe another process) until the very end.
    def _progress_path(self) -> Path:
        return Path(self.file.path).with_suffix(".progress")

    def write_progress(self, done: int, total: int, phase: str) -> None:
        path = self._progress_path()
        partial = path.with_suffix(".progress-tmp")
        partial.write_text(json.dumps({"done": done, "total": total, "phase": phase}))
        os.replace(partial, path)  # readers never see a half-written file

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
