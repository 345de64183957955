"""回头看: a seeded draw of closed problems, and one check of each drawn problem by a drawn checker.

The draw is recorded with everything needed to redo it (seed, criteria, the date it was
made as of, the candidate count): see method.py for the method in words.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from duban.inspections.models import Inspection
from duban.ledger.models import Evidence, Problem
from duban.org.models import Region, Unit


class Stratum(models.TextChoices):
    UNIT = "unit", _("Lead unit")
    CATEGORY = "category", _("Category")


class LookbackDraw(models.Model):
    """One draw: which closed problems may be drawn, how many, from which seed."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="+")
    # The region whose closed problems are candidates; the office of this region reads the draw.
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=12, db_index=True, editable=False)
    seed = models.CharField(_("seed"), max_length=64)
    as_of = models.DateField(_("as of"))
    min_age_days = models.PositiveIntegerField(_("minimum days since closing"), default=0)
    strata = models.JSONField(_("strata"), default=list, blank=True)
    size = models.PositiveIntegerField(_("size"), null=True, blank=True)
    share = models.DecimalField(_("share"), max_digits=5, decimal_places=4, null=True, blank=True)
    method = models.CharField(max_length=20, default="sha256-v1", editable=False)
    candidate_count = models.PositiveIntegerField(_("candidates"))
    pool_chosen = models.BooleanField(_("pool chosen by the office"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("look-back draw")
        verbose_name_plural = _("look-back draws")

    def __str__(self) -> str:
        return f"{self.inspection.code} · {self.as_of:%Y-%m-%d} · {self.seed}"

    def save(self, *args, **kwargs):
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    def criteria(self) -> dict:
        """The inputs of the draw, as the command takes them."""
        return {
            "inspection": self.inspection.code,
            "region": self.region.code,
            "as_of": self.as_of.isoformat(),
            "min_age_days": self.min_age_days,
            "strata": list(self.strata),
            "size": self.size,
            "share": str(self.share) if self.share is not None else None,
            "seed": self.seed,
        }


class Outcome(models.TextChoices):
    PENDING = "pending", _("Not checked yet")
    KEPT = "kept", _("Kept (巩固)")
    REBOUND = "rebound", _("Rebound (反弹)")


class LookbackCheck(models.Model):
    """One drawn problem, its drawn checker, and what the check found."""

    draw = models.ForeignKey(LookbackDraw, on_delete=models.CASCADE, related_name="checks")
    problem = models.ForeignKey(Problem, on_delete=models.PROTECT, related_name="+")
    # The lead unit when drawn: a rebound counts against it even if the problem moves later.
    unit = models.ForeignKey(
        Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stratum = models.CharField(_("stratum"), max_length=300, blank=True)
    score = models.CharField(max_length=64)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lookback_checks"
    )
    checker_score = models.CharField(max_length=64)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING
    )
    findings = models.TextField(_("what was found"), blank=True)
    evidence = models.ManyToManyField(Evidence, blank=True, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["draw", "id"]
        verbose_name = _("look-back check")
        verbose_name_plural = _("look-back checks")
        constraints = [
            models.UniqueConstraint(
                fields=["draw", "problem"], name="lookback_check_once_per_draw"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=Outcome.values), name="lookback_outcome_known"
            ),
            # A check is done when it says what it found, and only then.
            models.CheckConstraint(
                condition=models.Q(outcome=Outcome.PENDING, checked_at__isnull=True)
                | (~models.Q(outcome=Outcome.PENDING) & models.Q(checked_at__isnull=False)),
                name="lookback_checked_iff_checked_at",
            ),
        ]
        indexes = [models.Index(fields=["outcome", "unit"])]

    def __str__(self) -> str:
        return f"{self.problem} · {self.get_outcome_display()}"
