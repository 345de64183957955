"""Inspections (督察): one visit of an inspection team and its settings."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from duban.org.models import Region, RegionLevel


class InspectionKind(models.TextChoices):
    CENTRAL = "central", _("Central inspection")
    CENTRAL_LOOKBACK = "central_lookback", _("Central look-back")
    PROVINCIAL = "provincial", _("Provincial inspection")
    PROVINCIAL_SPECIAL = "provincial_special", _("Provincial special inspection")
    SELF = "self", pgettext_lazy("inspection kind", "Self-inspection")


class ReportCadence(models.TextChoices):
    WEEKLY = "weekly", _("Weekly")
    BIWEEKLY = "biweekly", _("Every two weeks")
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")


# The acceptance levels an inspection may configure, from the lowest up.
ACCEPTANCE_LEVEL_CHOICES = [
    (RegionLevel.COUNTY, _("County initial check")),
    (RegionLevel.CITY, _("City acceptance")),
    (RegionLevel.PROVINCE, _("Provincial acceptance")),
]
DEFAULT_ACCEPTANCE_LEVELS = [RegionLevel.COUNTY.value, RegionLevel.CITY.value]
DEFAULT_CLOSING_CHECKLIST = ["整改报告", "现场照片", "监测报告", "处罚决定书", "会议纪要"]


def default_acceptance_levels():
    return list(DEFAULT_ACCEPTANCE_LEVELS)


def default_closing_checklist():
    return list(DEFAULT_CLOSING_CHECKLIST[:2])


# Reminders go out this many days before a deadline or a milestone's date.
DEFAULT_REMINDER_DAYS = [7, 3, 1]


def default_reminder_days():
    return list(DEFAULT_REMINDER_DAYS)


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Inspection(models.Model):
    """督察: one inspection round and the rules its rectification runs by."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=InspectionKind.choices)
    round_label = models.CharField(_("round / batch"), max_length=100, blank=True)
    target_region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="inspections")
    stay_start = models.DateField(_("stay begins"), null=True, blank=True)
    stay_end = models.DateField(_("stay ends"), null=True, blank=True)
    feedback_date = models.DateField(_("feedback date"), null=True, blank=True)
    plan_due_date = models.DateField(_("plan due"), null=True, blank=True)
    report_cadence = models.CharField(
        _("progress report cadence"),
        max_length=10,
        choices=ReportCadence.choices,
        default=ReportCadence.MONTHLY,
    )
    # When a period's report is due: a weekday for weekly and two-weekly reports, a day of the
    # month (of the quarter's last month) for monthly and quarterly ones; the 31st means month end.
    report_due_weekday = models.PositiveSmallIntegerField(
        _("report due on (weekly)"), choices=Weekday.choices, default=Weekday.FRIDAY
    )
    report_due_day = models.PositiveSmallIntegerField(_("report due on day (monthly)"), default=25)
    report_head_after_days = models.PositiveSmallIntegerField(
        _("remind the unit head after (days)"),
        default=3,
        help_text=_("Days after a missed report's due date before the unit head is reminded too."),
    )
    reminder_days = models.JSONField(
        _("reminders before deadlines (days)"),
        default=default_reminder_days,
        help_text=_("Days before a deadline or milestone on which the lead unit is reminded."),
    )
    acceptance_levels = models.JSONField(
        _("acceptance levels"),
        default=default_acceptance_levels,
        help_text=_("From the first check to the last, e.g. county then city."),
    )
    notice_working_days = models.PositiveSmallIntegerField(
        _("public notice (working days)"), default=5
    )
    complaint_deadline_days = models.PositiveSmallIntegerField(
        _("complaint deadline (days)"), default=10
    )
    closing_checklist = models.JSONField(
        _("closing checklist"),
        default=default_closing_checklist,
        help_text=_("Evidence categories a closing application must include."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-feedback_date", "code"]
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(report_due_weekday__gte=0, report_due_weekday__lte=6),
                name="inspection_report_weekday_0_6",
            ),
            models.CheckConstraint(
                condition=models.Q(report_due_day__gte=1, report_due_day__lte=31),
                name="inspection_report_day_1_31",
            ),
            models.CheckConstraint(
                condition=models.Q(report_cadence__in=ReportCadence.values),
                name="inspection_cadence_known",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def acceptance_level_label(self, index: int) -> str:
        labels = dict(ACCEPTANCE_LEVEL_CHOICES)
        return str(labels.get(self.acceptance_levels[index], self.acceptance_levels[index]))
