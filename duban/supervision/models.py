"""What the sweeps did: one Rung per step taken, unique by its key.

A rung's key names the step and what it is about, e.g. "remind:deadline:42:2026-12-31:7".
The unique key is what makes sweeps idempotent and safe with several instances: the
second sweeper's insert of the same key fails, so it does not act again.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Rung(models.Model):
    key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=40, db_index=True)
    # The sweep's "now" (the time travelled to), not the wall clock.
    taken_at = models.DateTimeField(_("taken at"))
    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    problem = models.ForeignKey(
        "ledger.Problem", on_delete=models.CASCADE, null=True, blank=True, related_name="rungs"
    )
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["taken_at", "id"]
        verbose_name = _("supervision step")

    def __str__(self):
        return self.key


class ReportGap(models.Model):
    """定期调度: a reporting period of a problem in progress for which no report came by its due date.

    Flagged by the sweep the day after the due date; closed (reported_at) by the first report
    filed after the period began, even a late one.
    """

    problem = models.ForeignKey(
        "ledger.Problem", on_delete=models.CASCADE, related_name="report_gaps"
    )
    # The unit expected to report: the lead unit when the gap was flagged.
    unit = models.ForeignKey("org.Unit", on_delete=models.CASCADE, related_name="report_gaps")
    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField(_("period from"))
    period_end = models.DateField(_("period to"))
    due_on = models.DateField(_("report due"))
    flagged_at = models.DateTimeField(_("flagged at"))
    head_reminded_at = models.DateTimeField(_("unit head reminded at"), null=True, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("missing progress report")
        constraints = [
            models.UniqueConstraint(fields=["problem", "due_on"], name="one_gap_per_period")
        ]
        indexes = [
            models.Index(fields=["reported_at", "due_on"]),
            models.Index(fields=["unit", "reported_at"]),
        ]

    def __str__(self):
        return f"{self.problem_id} {self.period_start}–{self.period_end}"
