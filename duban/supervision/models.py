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
