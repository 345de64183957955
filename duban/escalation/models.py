"""The escalation ladder and accountability.

Rung 1: a problem overdue → a SupervisionNotice (督办通知) to its lead unit, to acknowledge
(签收) and answer (reasons and a catch-up plan) by set dates.
Rung 2: still overdue some days after the notice, the notice not acknowledged in time, or
the unit noticed repeatedly → a CircularEntry waiting for the next Circular (督查通报),
which the office approves before it goes out.
Rung 3: named in an approved circular and still overdue some days later → an Interview
(约谈) and a referral: a draft AccountabilityRecord (问责) for the discipline role.
"""

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


class Schedule(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    WEEKLY = "weekly", _("Weekly")


class Recipient(models.TextChoices):
    """Who hears of a rung taken against a unit."""

    LIAISON = "liaison", _("the unit's liaison")
    UNIT_HEAD = "unit_head", _("the unit's head")
    LEAD_OFFICIAL = "lead_official", _("the lead officials of its problems")
    OFFICE = "office", _("the rectification office")
    DISCIPLINE = "discipline", _("the discipline inspectors")


def default_notice_recipients():
    return [Recipient.LIAISON, Recipient.UNIT_HEAD, Recipient.OFFICE]


def default_referral_recipients():
    return [Recipient.LIAISON, Recipient.UNIT_HEAD, Recipient.OFFICE, Recipient.DISCIPLINE]


class EscalationPolicy(models.Model):
    """The ladder of one inspection; an inspection without one uses the defaults below."""

    inspection = models.OneToOneField(
        "inspections.Inspection", on_delete=models.CASCADE, related_name="escalation_policy"
    )
    enabled = models.BooleanField(_("escalate automatically"), default=True)
    ack_working_days = models.PositiveSmallIntegerField(
        _("working days to acknowledge a notice"), default=2
    )
    answer_working_days = models.PositiveSmallIntegerField(
        _("working days to answer a notice"), default=5
    )
    circular_after_days = models.PositiveSmallIntegerField(
        _("days after a notice before a circular names the unit"), default=10
    )
    repeat_notices = models.PositiveSmallIntegerField(
        _("notices that make a unit repeatedly late"), default=3
    )
    repeat_period_days = models.PositiveSmallIntegerField(
        _("period counted for repeated notices (days)"), default=90
    )
    interview_after_days = models.PositiveSmallIntegerField(
        _("days after a circular before an interview and referral"), default=15
    )
    use_circulars = models.BooleanField(_("name late units in circulars (督查通报)"), default=True)
    use_referrals = models.BooleanField(
        _("interview and refer units still late after a circular (约谈, 问责移送)"), default=True
    )
    notice_recipients = models.JSONField(
        _("who hears of a supervision notice"), default=default_notice_recipients
    )
    referral_recipients = models.JSONField(
        _("who hears of an interview and referral"), default=default_referral_recipients
    )
    circular_schedule = models.CharField(
        _("circulars are drawn up"),
        max_length=10,
        choices=Schedule.choices,
        default=Schedule.MONTHLY,
    )
    # Monthly: day of the month (1–28); weekly: 1 = Monday … 7 = Sunday.
    circular_day = models.PositiveSmallIntegerField(
        _("on day"), default=1, help_text=_("Day of the month (1–28), or of the week (1 = Monday).")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("escalation policy")

    def __str__(self):
        return f"{self.inspection} · {self.get_circular_schedule_display()}"


def circulating_region(unit):
    """The region of the nearest rectification office at or above the unit's region."""
    from duban.org.models import Unit, UnitKind

    region = unit.region
    while region is not None:
        if Unit.objects.filter(kind=UnitKind.OFFICE, region=region).exists():
            return region
        region = region.parent
    return unit.region


def policy_for(inspection) -> EscalationPolicy:
    """The inspection's policy, or an unsaved one holding the defaults."""
    try:
        return inspection.escalation_policy
    except EscalationPolicy.DoesNotExist:
        return EscalationPolicy(inspection=inspection)


class Sequence(models.Model):
    """A counter for document numbers (督办〔2026〕3号), taken under a row lock."""

    name = models.CharField(max_length=50, unique=True)
    value = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"

    @classmethod
    def next(cls, name: str) -> int:
        if not transaction.get_connection().in_atomic_block:
            raise RuntimeError("Sequence.next() must run inside the numbered object's transaction")
        cls.objects.get_or_create(name=name)
        row = cls.objects.select_for_update().get(name=name)
        row.value += 1
        row.save(update_fields=["value"])
        return row.value


class NoticeStatus(models.TextChoices):
    ISSUED = "issued", _("Awaiting acknowledgement")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ANSWERED = "answered", _("Answered")


class SupervisionNotice(models.Model):
    """督办通知: the office tells a unit that problems are overdue and asks for an answer."""

    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=50, unique=True)
    issued_at = models.DateTimeField(_("issued at"))
    ack_due = models.DateField(_("acknowledge by"))
    answer_due = models.DateField(_("answer by"))
    status = models.CharField(
        _("status"), max_length=12, choices=NoticeStatus.choices, default=NoticeStatus.ISSUED
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reasons = models.TextField(_("reasons for the delay"), blank=True)
    catch_up_plan = models.TextField(_("catch-up measures and timetable"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    problems = models.ManyToManyField(
        "ledger.Problem", through="NoticeProblem", related_name="supervision_notices"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("supervision notice")
        verbose_name_plural = _("supervision notices")

    def __str__(self):
        return f"{self.number} {self.unit}"


class NoticeProblem(models.Model):
    """A problem named in a notice, with the deadline it had passed (an extension re-arms)."""

    notice = models.ForeignKey(SupervisionNotice, on_delete=models.CASCADE, related_name="items")
    problem = models.ForeignKey("ledger.Problem", on_delete=models.CASCADE, related_name="+")
    deadline = models.DateField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["notice", "problem"], name="notice_problem_once")
        ]

    def __str__(self):
        return f"{self.notice_id}:{self.problem_id}"


class CircularStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Issued")
    DISCARDED = "discarded", _("Discarded")


class Circular(models.Model):
    """督查通报: drawn up on a schedule as a draft; the office approves it before it goes out."""

    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="+"
    )
    # The region of the office that circulates it: the nearest office above the units named.
    region = models.ForeignKey("org.Region", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=CircularStatus.choices, default=CircularStatus.DRAFT
    )
    generated_at = models.DateTimeField(_("drawn up at"))
    number = models.CharField(_("number"), max_length=50, blank=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-generated_at", "-id"]
        verbose_name = _("circular")
        verbose_name_plural = _("circulars")
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~models.Q(number=""), name="circular_number_unique"
            )
        ]

    def __str__(self):
        return self.number or f"{self.inspection} {self.period}"


class ListingReason(models.TextChoices):
    UNACKNOWLEDGED = "unacknowledged", _("Notice not acknowledged in time")
    STILL_OVERDUE = "still_overdue", _("Still overdue after the notice")
    REPEATED = "repeated", _("Repeatedly late")


class CircularEntry(models.Model):
    """A late problem of a unit to be named in the next circular (circular empty until drawn up)."""

    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="+"
    )
    circular = models.ForeignKey(
        Circular, on_delete=models.SET_NULL, null=True, blank=True, related_name="entries"
    )
    region = models.ForeignKey("org.Region", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    problem = models.ForeignKey("ledger.Problem", on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey(
        SupervisionNotice, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    deadline = models.DateField()
    reason = models.CharField(_("reason"), max_length=20, choices=ListingReason.choices)
    listed_at = models.DateTimeField(_("listed at"))
    days_overdue = models.PositiveIntegerField(_("days overdue"), default=0)

    class Meta:
        ordering = ["unit__name", "deadline", "id"]

    def __str__(self):
        return f"{self.unit} · {self.problem_id} · {self.reason}"


class Interview(models.Model):
    """约谈: the office talks with a unit's leaders about problems still overdue."""

    inspection = models.ForeignKey(
        "inspections.Inspection", on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey("org.Unit", on_delete=models.PROTECT, related_name="+")
    circular = models.ForeignKey(
        Circular, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    problems = models.ManyToManyField("ledger.Problem", related_name="+")
    planned_on = models.DateField(_("planned date"))
    interviewers = models.CharField(_("who holds it"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("interview")

    def __str__(self):
        return f"{self.unit} · {self.planned_on}"


class Measure(models.TextChoices):
    INTERVIEW = "interview", _("Interview (约谈)")
    REMINDER_TALK = "reminder_talk", _("Reminder talk (提醒谈话)")
    ADMONITION = "admonition", _("Admonition (诫勉)")
    CRITICISM = "criticism", _("Circulated criticism (通报批评)")
    SANCTION = "sanction", _("Party or government sanction (党纪政务处分)")
    OTHER = "other", _("Other")


class RecordStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    RECORDED = "recorded", _("Recorded")


class AccountabilityRecord(models.Model):
    """问责: a measure against a person and/or a unit, read and written by the discipline role."""

    region = models.ForeignKey("org.Region", on_delete=models.PROTECT, related_name="+")
    region_path = models.CharField(max_length=12, db_index=True, editable=False)
    unit = models.ForeignKey(
        "org.Unit", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    person_name = models.CharField(_("person"), max_length=100, blank=True)
    person_post = models.CharField(_("post"), max_length=200, blank=True)
    measure = models.CharField(_("measure"), max_length=20, choices=Measure.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=RecordStatus.choices, default=RecordStatus.DRAFT
    )
    facts = models.TextField(_("facts and grounds"), blank=True)
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    problems = models.ManyToManyField("ledger.Problem", blank=True, related_name="+")
    notices = models.ManyToManyField(SupervisionNotice, blank=True, related_name="+")
    interview = models.ForeignKey(
        Interview, on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    created_at = models.DateTimeField()
    # Empty for a referral made by the ladder.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("accountability record")
        verbose_name_plural = _("accountability records")

    def __str__(self):
        who = " ".join(x for x in (str(self.unit or ""), self.person_name) if x)
        return f"{self.get_measure_display()} · {who}"

    def save(self, *args, **kwargs):
        self.region_path = self.region.path
        super().save(*args, **kwargs)
