"""The problem ledger (问题台账): problems, plans, progress, evidence, closing and acceptance.

A problem's state only changes through `duban.ledger.actions`; nothing here
sets `state` on its own.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duban.inspections.models import Inspection
from duban.org.models import Region, Unit

from .pace import Pace, pace_bounds, pace_on
from .querysets import ProblemQuerySet


class State(models.TextChoices):
    REGISTERED = "registered", _("Registered")
    ASSIGNED = "assigned", _("Assigned")
    CLAIMED = "claimed", _("Claimed (plan drafting)")
    PLAN_SUBMITTED = "plan_submitted", _("Plan submitted")
    IN_PROGRESS = "in_progress", _("In progress")
    CLOSING_APPLIED = "closing_applied", _("Closing applied")
    UNDER_ACCEPTANCE = "under_acceptance", _("Under acceptance")
    PUBLIC_NOTICE = "public_notice", _("Public notice")
    CLOSED = "closed", _("Closed")


# States in which the work is still to be done by the unit: a deadline can pass here.
OPEN_WORK_STATES = (
    State.REGISTERED,
    State.ASSIGNED,
    State.CLAIMED,
    State.PLAN_SUBMITTED,
    State.IN_PROGRESS,
)


# The columns a problem's pace, overdue mark and deadline label are computed from: a list
# or an export that loads only some columns must load these.
PACE_FIELDS = (
    "deadline",
    "deadline_immediate",
    "deadline_by_date",
    "deadline_ongoing",
    "state",
    "progress_percent",
    "pace_behind_from",
    "pace_ahead_until",
)


class Source(models.TextChoices):
    FEEDBACK = "feedback", _("Inspection feedback")
    COMPLAINT = "complaint", _("Complaint handed over")
    NOTIFIED = "notified", _("Notified by higher level")
    SELF_CHECK = "self_check", _("Self-inspection")
    LOOKBACK = "lookback", _("Found in look-back")
    MEDIA = "media", _("Media exposure")


class Category(models.TextChoices):
    AIR = "air", _("Air")
    WATER = "water", _("Water")
    SOIL = "soil", _("Soil")
    SOLID_WASTE = "solid_waste", _("Solid waste")
    NOISE = "noise", _("Noise")
    ECOLOGY = "ecology", _("Ecology")
    RADIATION = "radiation", _("Radiation")
    OTHER = "other", _("Other")


class Nature(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual")
    SHARED = "shared", _("Shared")


class SharedLevel(models.TextChoices):
    POLICY = "policy", _("Policy")
    TECHNICAL = "technical", _("Technical")
    MANAGEMENT = "management", _("Management")


class Problem(models.Model):
    """问题 / 整改任务: one item of the rectification ledger."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="problems")
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent problem"),
    )
    source = models.CharField(
        _("source"), max_length=12, choices=Source.choices, default=Source.FEEDBACK
    )
    feedback_text = models.TextField(_("feedback text (verbatim)"))
    ledger_number = models.CharField(_("ledger number"), max_length=50, blank=True)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(
        _("category"), max_length=12, choices=Category.choices, default=Category.OTHER
    )
    nature = models.CharField(
        _("individual or shared"), max_length=10, choices=Nature.choices, default=Nature.INDIVIDUAL
    )
    shared_level = models.CharField(
        _("shared at level"), max_length=12, choices=SharedLevel.choices, blank=True
    )
    is_key = models.BooleanField(_("key"), default=False)
    is_difficult = models.BooleanField(_("difficult"), default=False)
    is_sensitive = models.BooleanField(_("sensitive"), default=False)

    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="problems", verbose_name=_("region")
    )
    region_path = models.CharField(max_length=12, db_index=True, editable=False)
    lead_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_problems",
        verbose_name=_("lead unit"),
    )
    units = models.ManyToManyField(Unit, through="ProblemUnit", related_name="problems", blank=True)
    lead_official = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_problems",
        verbose_name=_("lead official"),
    )
    acceptance_unit = models.ForeignKey(
        Unit,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("acceptance unit"),
    )
    task_force = models.TextField(_("task force"), blank=True, help_text=_("One member per line."))

    target = models.TextField(_("rectification target"), blank=True)
    deadline_immediate = models.BooleanField(_("immediately (立行立改)"), default=False)
    deadline_by_date = models.BooleanField(_("by a date (限期完成)"), default=True)
    deadline_ongoing = models.BooleanField(_("ongoing (长期坚持)"), default=False)
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    original_deadline = models.DateField(
        _("original deadline"), null=True, blank=True, editable=False
    )

    state = models.CharField(
        _("state"), max_length=20, choices=State.choices, default=State.REGISTERED, editable=False
    )
    acceptance_level = models.PositiveSmallIntegerField(default=0, editable=False)
    is_rebound = models.BooleanField(_("rebound"), default=False, editable=False)
    progress_percent = models.PositiveSmallIntegerField(_("progress %"), default=0, editable=False)
    # Derived from dates, milestones and progress by pace.pace_bounds(); see pace.py.
    pace_behind_from = models.DateField(null=True, blank=True, editable=False)
    pace_ahead_until = models.DateField(null=True, blank=True, editable=False)
    assigned_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_report_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Bumped by every action: a conditional UPDATE on it makes concurrent actions conflict cleanly.
    version = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProblemQuerySet.as_manager()

    class Meta:
        # In id order: the primary key serves it, at any size.
        ordering = ["id"]
        verbose_name = _("problem")
        verbose_name_plural = _("problems")
        indexes = [
            models.Index(fields=["inspection", "state"]),
            # The ledger lists in id order: (filter, id) indexes give a page without sorting.
            models.Index(fields=["state", "id"]),
            models.Index(fields=["category", "id"]),
            # Each sort order of the list (filters.SORTS), alone and under a state filter: a
            # page is read off the index (forwards or backwards) without sorting the ledger,
            # and a cursor's next page starts at its key (duban.core.keyset).
            models.Index(fields=["deadline", "id"]),
            models.Index(fields=["updated_at", "id"]),
            models.Index(fields=["ledger_number", "id"]),
            models.Index(fields=["progress_percent", "id"]),
            models.Index(fields=["state", "deadline", "id"]),
            models.Index(fields=["state", "updated_at", "id"]),
            models.Index(fields=["state", "ledger_number", "id"]),
            models.Index(fields=["state", "progress_percent", "id"]),
            models.Index(fields=["lead_unit", "state"]),
            models.Index(fields=["lead_official"]),
            models.Index(fields=["region_path", "id"]),
            models.Index(fields=["pace_behind_from"]),
            # With pace_behind_from: the problems whose pace light changes between two days.
            models.Index(fields=["pace_ahead_until"]),
        ]
        # The invariants of a problem, kept by the database too (the actions keep them with
        # messages; these stop a bug, a script or a hand-edited row). The acceptance level's
        # upper bound depends on the inspection's levels, another table: the acceptance actions
        # keep it (acceptance.accept moves to the notice after the last level).
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=State.values), name="problem_state_known"
            ),
            models.CheckConstraint(
                condition=models.Q(progress_percent__gte=0, progress_percent__lte=100),
                name="problem_progress_0_100",
            ),
            models.CheckConstraint(
                condition=models.Q(state=State.CLOSED, closed_at__isnull=False)
                | (~models.Q(state=State.CLOSED) & models.Q(closed_at__isnull=True)),
                name="problem_closed_iff_closed_at",
            ),
            models.CheckConstraint(
                condition=models.Q(deadline_by_date=False) | models.Q(deadline__isnull=False),
                name="problem_by_date_has_deadline",
            ),
            models.CheckConstraint(
                condition=models.Q(deadline_immediate=True)
                | models.Q(deadline_by_date=True)
                | models.Q(deadline_ongoing=True),
                name="problem_has_deadline_kind",
            ),
            models.CheckConstraint(
                condition=models.Q(acceptance_level__gte=0), name="problem_acceptance_level_min"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ledger_number} {self.title}".strip()

    def save(self, *args, **kwargs):
        self.region_path = self.region.path
        super().save(*args, **kwargs)

    def co_units(self):
        return Unit.objects.filter(problem_links__problem=self, problem_links__role=UnitRole.CO)

    def implementing_units(self):
        return Unit.objects.filter(
            problem_links__problem=self, problem_links__role=UnitRole.IMPLEMENTING
        )

    # --- computed, never stored by hand -------------------------------------------------

    @property
    def start_date(self) -> dt.date:
        moment = self.assigned_at or self.created_at or timezone.now()
        return timezone.localdate(moment)

    def is_overdue(self, today: dt.date | None = None) -> bool:
        today = today or timezone.localdate()
        return (
            self.state in OPEN_WORK_STATES and self.deadline is not None and self.deadline < today
        )

    def pace(self, today: dt.date | None = None) -> Pace:
        return pace_on(self, today or timezone.localdate())

    def deadline_kinds(self) -> list[str]:
        kinds = []
        if self.deadline_immediate:
            kinds.append("immediate")
        if self.deadline_by_date:
            kinds.append("by_date")
        if self.deadline_ongoing:
            kinds.append("ongoing")
        return kinds

    def deadline_label(self) -> str:
        labels = {"immediate": _("immediately"), "by_date": _("by a date"), "ongoing": _("ongoing")}
        text = "、".join(str(labels[k]) for k in self.deadline_kinds())
        if self.deadline_by_date and self.deadline:
            text += f" {self.deadline:%Y-%m-%d}"
        return text

    def refresh_pace_bounds(self) -> None:
        self.pace_behind_from, self.pace_ahead_until = pace_bounds(
            start=self.start_date,
            deadline=self.deadline if self.deadline_by_date else None,
            percent=self.progress_percent,
            milestones=[(m.due_date, m.percent) for m in self.milestones.all()] if self.pk else [],
        )


class LedgerCount(models.Model):
    """Problems by inspection, region, state and pace as of LedgerCountDay.day (see counts.py).

    Append-only between two roll-forwards: an action adds a row of -1 for where the problem
    was counted and one of +1 for where it is now; the sum over the rows is the count.
    """

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="+")
    # The problem's region path cut to the township level (counts.KEY_DEPTH).
    region_key = models.CharField(max_length=12)
    state = models.CharField(max_length=20, choices=State.choices)
    pace = models.CharField(max_length=12, choices=Pace.choices)
    n = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["region_key", "inspection", "state"])]

    def __str__(self) -> str:
        return f"{self.inspection_id} {self.region_key} {self.state} {self.pace} {self.n:+d}"


class LedgerCountDay(models.Model):
    """The one day LedgerCount counts paces as of; no row means the counts are not built."""

    day = models.DateField()

    def __str__(self) -> str:
        return str(self.day)


class UnitRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")
    CO = "co", _("Co-operating unit")
    IMPLEMENTING = "implementing", _("Implementing unit")
    # The parent problem's lead unit follows the child problems it split off.
    SUPERVISING = "supervising", _("Supervising unit (parent problem)")


# The problem's columns that its unit links copy (ProblemUnit.state, .deadline, .region_path).
LINK_FIELDS = ("state", "deadline", "region_path")


def link_copies(problem) -> dict:
    """The copied fields a new ProblemUnit of `problem` is made with."""
    return {field: getattr(problem, field) for field in LINK_FIELDS}


class ProblemUnit(models.Model):
    """The units a problem involves; the lead unit is listed here too, for scoping."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="unit_links")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="problem_links")
    role = models.CharField(max_length=12, choices=UnitRole.choices)
    # Copies of the problem's LINK_FIELDS, kept by the actions (actions.base.copy_to_links):
    # the list filtered by a unit is read off this table's index, sorted by deadline and
    # scoped by region, without reading every problem in that state.
    state = models.CharField(
        max_length=20, choices=State.choices, default=State.REGISTERED, editable=False
    )
    deadline = models.DateField(null=True, blank=True, editable=False)
    region_path = models.CharField(max_length=12, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["problem", "unit", "role"], name="problem_unit_unique")
        ]
        indexes = [
            models.Index(fields=["unit", "problem"]),
            # In this state, linked to these units, by deadline (ProblemFilterForm.linked_keys);
            # PostgreSQL answers from the index alone (the region for the scope included).
            models.Index(
                fields=["unit", "state", "deadline", "problem"],
                include=["region_path"],
                name="ledger_link_unit_state_dl",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.unit} ({self.get_role_display()})"


class Measure(models.Model):
    """整改措施: one measure of the plan, with its owner and due date."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="measures")
    order = models.PositiveSmallIntegerField(default=0)
    text = models.TextField(_("measure"))
    owner = models.CharField(_("owner"), max_length=100, blank=True)
    due_date = models.DateField(_("due"), null=True, blank=True)
    done = models.BooleanField(_("done"), default=False)
    note = models.TextField(_("latest update"), blank=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("measure")
        verbose_name_plural = _("measures")

    def __str__(self) -> str:
        return self.text


class Milestone(models.Model):
    """时间表 / 路线图: what share of the work should be done by a date."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="milestones")
    due_date = models.DateField(_("date"))
    percent = models.PositiveSmallIntegerField(_("expected progress %"))
    description = models.CharField(_("description"), max_length=200)

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gte=0, percent__lte=100),
                name="milestone_percent_0_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.due_date} {self.description}"


class ProgressReport(models.Model):
    """进展报告: a periodic report of what was done."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="reports")
    period = models.CharField(_("period"), max_length=50)
    text = models.TextField(_("progress"))
    percent = models.PositiveSmallIntegerField(_("progress %"))
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("progress report")
        verbose_name_plural = _("progress reports")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(percent__gte=0, percent__lte=100),
                name="progress_report_percent_0_100",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period} {self.percent}%"


class MeasureUpdate(models.Model):
    report = models.ForeignKey(
        ProgressReport, on_delete=models.CASCADE, related_name="measure_updates"
    )
    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="updates")
    note = models.TextField(_("update"))
    done = models.BooleanField(_("done"), default=False)

    def __str__(self) -> str:
        return self.note[:50]


class Evidence(models.Model):
    """台账资料: one stored file with its category and fingerprint."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="evidence")
    report = models.ForeignKey(
        ProgressReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="evidence"
    )
    category = models.CharField(_("category"), max_length=50)
    title = models.CharField(_("title"), max_length=200, blank=True)
    file = models.FileField(upload_to="evidence/%Y/%m/", max_length=200)
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/", max_length=200, blank=True)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    taken_at = models.DateTimeField(_("photo taken"), null=True, blank=True)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["category", "uploaded_at", "id"]
        verbose_name = _("evidence file")
        verbose_name_plural = _("evidence files")

    def __str__(self) -> str:
        return self.title or self.original_name

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def has_thumbnail(self) -> bool:
        """A thumbnail named by its sha256, so it can be checked when served (older ones are not)."""
        from .files import thumbnail_sha256

        return (
            self.is_image and bool(self.thumbnail) and bool(thumbnail_sha256(self.thumbnail.name))
        )


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class Extension(models.Model):
    """延期申请: a unit asks for a new deadline."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="extensions")
    reasons = models.TextField(_("reasons"))
    efforts = models.TextField(_("what has been done"))
    roadmap = models.TextField(_("new roadmap"))
    old_deadline = models.DateField(_("deadline before"), null=True, blank=True)
    new_deadline = models.DateField(_("new deadline"))
    status = models.CharField(
        max_length=10, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["problem"],
                condition=models.Q(status="pending"),
                name="one_pending_extension",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ExtensionStatus.values), name="extension_status_known"
            ),
            # A decided request says when; a pending one has not been decided.
            models.CheckConstraint(
                condition=models.Q(status=ExtensionStatus.PENDING, decided_at__isnull=True)
                | (~models.Q(status=ExtensionStatus.PENDING) & models.Q(decided_at__isnull=False)),
                name="extension_decided_iff_decided_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.old_deadline} → {self.new_deadline}"


class ApplicationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    ACCEPTED = "accepted", _("Accepted")


class ClosingApplication(models.Model):
    """申请销号: the unit's request to close a problem, with its evidence."""

    problem = models.ForeignKey(
        Problem, on_delete=models.CASCADE, related_name="closing_applications"
    )
    summary = models.TextField(_("what was done"))
    self_check = models.TextField(_("self-check statement"))
    evidence = models.ManyToManyField(Evidence, related_name="applications", blank=True)
    status = models.CharField(
        max_length=10, choices=ApplicationStatus.choices, default=ApplicationStatus.SUBMITTED
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("closing application")
        verbose_name_plural = _("closing applications")
        constraints = [
            models.UniqueConstraint(
                fields=["problem"],
                condition=models.Q(status="submitted"),
                name="one_open_application",
            )
        ]

    def __str__(self) -> str:
        return f"{self.problem_id} {self.get_status_display()}"

    def signed_content(self) -> dict:
        """Exactly what a signature covers: the application text and the evidence hashes."""
        return {
            "application": self.pk,
            "problem": self.problem_id,
            "summary": self.summary,
            "self_check": self.self_check,
            "evidence": sorted(self.evidence.values_list("sha256", flat=True)),
        }


class SignatureRole(models.TextChoices):
    UNIT_HEAD = "unit_head", _("Unit head signature")
    LEAD_OFFICIAL = "lead_official", _("Lead official endorsement")


class Signature(models.Model):
    """签字背书: who signed what, in which role, over which content hash."""

    application = models.ForeignKey(
        ClosingApplication, on_delete=models.CASCADE, related_name="signatures"
    )
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=SignatureRole.choices)
    statement = models.TextField(_("statement"))
    content_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "role"],
                condition=models.Q(voided_at__isnull=True),
                name="one_valid_signature_per_role",
            ),
            # A signature is worth what it signed: the hash of the application as shown.
            models.CheckConstraint(
                condition=~models.Q(content_hash=""), name="signature_hash_present"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=SignatureRole.values), name="signature_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer} {self.get_role_display()}"


class Decision(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned")


class AcceptanceReview(models.Model):
    """One acceptance level's decision, with its site-check conclusion."""

    application = models.ForeignKey(
        ClosingApplication, on_delete=models.CASCADE, related_name="reviews"
    )
    level = models.PositiveSmallIntegerField()
    level_name = models.CharField(max_length=20)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices)
    site_check = models.TextField(_("site-check conclusion"))
    reasons = models.TextField(_("reasons"), blank=True)
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reviewed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "level"], name="one_review_per_level"),
            models.CheckConstraint(
                condition=models.Q(decision__in=Decision.values), name="review_decision_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level_name} {self.get_decision_display()}"


class NoticeStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ENDED = "ended", _("Ended")
    OBJECTED = "objected", _("Returned after objection")


class PublicNotice(models.Model):
    """公示: N working days in which anyone may object before a problem closes."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="notices")
    application = models.ForeignKey(
        ClosingApplication, on_delete=models.CASCADE, related_name="notices"
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    text = models.TextField(_("notice text"), blank=True)
    status = models.CharField(
        max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.OPEN
    )
    opened_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="notice_ends_after_start",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=NoticeStatus.values), name="notice_status_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.starts_on}–{self.ends_on}"


class ObjectionStatus(models.TextChoices):
    # Received, to be decided by the office: the notice does not end by itself meanwhile.
    PENDING = "pending", _("Waiting for a decision")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class Objection(models.Model):
    notice = models.ForeignKey(PublicNotice, on_delete=models.CASCADE, related_name="objections")
    text = models.TextField(_("objection"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    # True only once upheld (kept beside `status` for the documents that print it).
    upheld = models.BooleanField(default=True)
    status = models.CharField(
        max_length=10, choices=ObjectionStatus.choices, default=ObjectionStatus.UPHELD
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    def __str__(self) -> str:
        return self.text[:50]
