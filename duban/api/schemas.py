"""The shapes of the API's requests and answers, as they appear in /api/v1/openapi.json.

Inputs name related objects the way people and other systems know them: an
inspection by its code, a region by its division code, units and users by id.
"""

import datetime as dt
from typing import Annotated

from ninja import Field, Schema

from duban.core.limits import LONG_TEXT
from duban.ledger.models import Category, Nature, SharedLevel, Source

# A free text of a request: at most the house limit, as in the forms and the importer.
LongText = Annotated[str, Field(max_length=LONG_TEXT)]

# --- small building blocks ---------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class RegionRef(Schema):
    code: str
    name: str


class InspectionRef(Schema):
    code: str
    name: str


class ActionRef(Schema):
    name: str
    label: str


class Error(Schema):
    detail: str
    field: str | None = None
    # On 409 for a stale version: the version the problem is at now.
    current_version: int | None = None


class FilterError(Schema):
    detail: str
    errors: dict[str, list[str]]


# --- inspections -------------------------------------------------------------------------


class InspectionOut(Schema):
    code: str
    name: str
    kind: str
    kind_label: str
    round_label: str
    target_region: RegionRef
    stay_start: dt.date | None
    stay_end: dt.date | None
    feedback_date: dt.date | None
    plan_due_date: dt.date | None
    report_cadence: str
    acceptance_levels: list[str]
    notice_working_days: int
    complaint_deadline_days: int
    closing_checklist: list[str]


# --- problems: reading -------------------------------------------------------------------


class ProblemListItem(Schema):
    id: int
    inspection: str
    ledger_number: str
    title: str
    source: str
    category: str
    state: str
    state_label: str
    region: RegionRef
    lead_unit: Ref | None
    lead_official: Ref | None
    deadline: dt.date | None
    deadline_label: str
    progress_percent: int
    pace: str
    pace_light: str
    overdue: bool
    is_key: bool
    is_difficult: bool
    is_sensitive: bool
    is_rebound: bool
    updated_at: dt.datetime


class ProblemPage(Schema):
    count: int | None = Field(
        None, description="How many problems match; only with `count=true` (it reads them all)."
    )
    page: int | None = Field(None, description="The page number asked for; null with `cursor`.")
    page_size: int
    next: str | None = Field(
        None, description="The next page's URL (with a `cursor`); null on the last page."
    )
    results: list[ProblemListItem]


class MeasureOut(Schema):
    id: int
    order: int
    text: str
    owner: str
    due_date: dt.date | None
    done: bool
    note: str


class MilestoneOut(Schema):
    id: int
    due_date: dt.date
    percent: int
    description: str


class MeasureUpdateOut(Schema):
    measure: int
    note: str
    done: bool


class ReportOut(Schema):
    id: int
    period: str
    text: str
    percent: int
    submitted_by: Ref
    submitted_at: dt.datetime
    measure_updates: list[MeasureUpdateOut]


class EvidenceOut(Schema):
    id: int
    category: str
    title: str
    original_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: Ref
    uploaded_at: dt.datetime
    taken_at: dt.datetime | None
    latitude: float | None
    longitude: float | None
    reviewed_at: dt.datetime | None
    report: int | None
    download_url: str = Field(description="The file in the web UI (needs a browser session).")
    api_download_url: str = Field(description="The same file through the API (token or session).")


class SignatureOut(Schema):
    id: int
    role: str
    signer: Ref
    statement: str
    content_hash: str
    signed_at: dt.datetime
    voided_at: dt.datetime | None
    void_reason: str


class ReviewOut(Schema):
    id: int
    level: int
    level_name: str
    reviewer: Ref
    decision: str
    site_check: str
    reasons: str
    reviewed_at: dt.datetime


class ApplicationOut(Schema):
    id: int
    status: str
    summary: str
    self_check: str
    submitted_by: Ref
    submitted_at: dt.datetime
    edited_at: dt.datetime | None
    evidence: list[int]
    signatures: list[SignatureOut]
    reviews: list[ReviewOut]


class ObjectionOut(Schema):
    id: int
    text: str
    recorded_by: Ref
    recorded_at: dt.datetime


class NoticeOut(Schema):
    id: int
    status: str
    starts_on: dt.date
    ends_on: dt.date
    text: str
    objections: list[ObjectionOut]


class ExtensionOut(Schema):
    id: int
    problem: int
    status: str
    reasons: str
    efforts: str
    roadmap: str
    old_deadline: dt.date | None
    new_deadline: dt.date
    requested_by: Ref
    requested_at: dt.datetime
    decided_by: Ref | None
    decided_at: dt.datetime | None
    decision_note: str


class ChildOut(Schema):
    id: int
    ledger_number: str
    title: str
    state: str


class ProblemDetail(ProblemListItem):
    inspection_name: str
    parent: int | None
    children: list[ChildOut]
    feedback_text: str
    nature: str
    shared_level: str
    co_units: list[Ref]
    implementing_units: list[Ref]
    acceptance_unit: Ref | None
    task_force: str
    target: str
    deadline_immediate: bool
    deadline_by_date: bool
    deadline_ongoing: bool
    original_deadline: dt.date | None
    acceptance_level: int
    acceptance_level_name: str | None
    assigned_at: dt.datetime | None
    closed_at: dt.datetime | None
    last_report_at: dt.datetime | None
    version: int
    created_at: dt.datetime
    allowed_actions: list[ActionRef]
    measures: list[MeasureOut]
    milestones: list[MilestoneOut]
    reports: list[ReportOut]
    evidence: list[EvidenceOut]
    missing_materials: list[str]
    closing_applications: list[ApplicationOut] = Field(description="Newest first.")
    notice: NoticeOut | None = Field(description="The latest public notice, if any.")
    extensions: list[ExtensionOut]


class AuditEventOut(Schema):
    seq: int
    at: str = Field(description="The time exactly as hashed, with its UTC offset.")
    actor_id: int | None
    actor_name: str
    role: str
    action: str
    target_type: str
    target_id: str
    before: dict
    after: dict
    prev_hash: str
    hash: str


# --- problems: writing -------------------------------------------------------------------


class Versioned(Schema):
    """Every change names the version of the problem it was made on (optimistic locking)."""

    version: int | None = Field(
        None,
        ge=0,
        description="The problem's `version` as last read (GET /problems/{id} also gives it as "
        "its ETag). Required, here or as an `If-Match` header: a change made on an older "
        "version is refused with 409, one without a version with 428.",
    )


class VersionIn(Versioned):
    """The body of an action that takes nothing else (it may be left out with If-Match)."""


class MeasureIn(Schema):
    text: str = Field(min_length=1, max_length=LONG_TEXT)
    owner: str = Field("", max_length=100)
    due_date: dt.date | None = None


class MilestoneIn(Schema):
    due_date: dt.date
    percent: int = Field(ge=0, le=100)
    description: str = Field(max_length=200)


class ProblemFieldsIn(Versioned):
    """Problem fields that may be changed after registration; all optional (PATCH)."""

    source: Source | None = None
    feedback_text: LongText | None = None
    ledger_number: str | None = Field(None, max_length=50)
    title: str | None = Field(None, min_length=1, max_length=200)
    category: Category | None = None
    nature: Nature | None = None
    shared_level: SharedLevel | None = Field(None, description="Only for a shared problem.")
    is_key: bool | None = None
    is_difficult: bool | None = None
    is_sensitive: bool | None = None
    region: str | None = Field(None, description="Division code, e.g. 330502.")
    lead_unit: int | None = Field(None, description="Unit id.")
    lead_official: int | None = Field(None, description="User id of a lead official.")
    acceptance_unit: int | None = Field(None, description="Unit id.")
    task_force: LongText | None = None
    target: LongText | None = None
    deadline_immediate: bool | None = None
    deadline_by_date: bool | None = None
    deadline_ongoing: bool | None = None
    deadline: dt.date | None = None
    co_units: list[int] | None = Field(None, description="Unit ids; replaces the list.")
    implementing_units: list[int] | None = Field(None, description="Unit ids; replaces the list.")
    measures: list[MeasureIn] | None = Field(None, description="Replaces the measures.")
    milestones: list[MilestoneIn] | None = Field(None, description="Replaces the timetable.")


class ProblemCreateIn(Schema):
    inspection: str = Field(description="Inspection code.")
    source: Source = Source.FEEDBACK
    feedback_text: str = Field(min_length=1, max_length=LONG_TEXT)
    ledger_number: str = Field("", max_length=50)
    title: str = Field(min_length=1, max_length=200)
    category: Category = Category.OTHER
    nature: Nature = Nature.INDIVIDUAL
    shared_level: SharedLevel | None = None
    is_key: bool = False
    is_difficult: bool = False
    is_sensitive: bool = False
    region: str = Field(description="Division code, e.g. 330502.")
    lead_unit: int | None = Field(None, description="Unit id.")
    lead_official: int | None = Field(None, description="User id of a lead official.")
    acceptance_unit: int | None = Field(None, description="Unit id.")
    task_force: LongText = ""
    target: LongText = ""
    deadline_immediate: bool = False
    deadline_by_date: bool = True
    deadline_ongoing: bool = False
    deadline: dt.date | None = None
    co_units: list[int] = []
    implementing_units: list[int] = []
    measures: list[MeasureIn] = []
    milestones: list[MilestoneIn] = []


# --- action bodies -----------------------------------------------------------------------


class SplitChildIn(Schema):
    lead_unit: int = Field(description="Unit id of the lower-level unit.")
    title: str = Field("", max_length=200)
    ledger_number: str = Field("", max_length=50)
    deadline: dt.date | None = None
    target: LongText = ""


class SplitIn(Versioned):
    children: list[SplitChildIn]


class PlanIn(Versioned):
    target: LongText
    measures: list[MeasureIn]
    milestones: list[MilestoneIn] = []


class NoteIn(Versioned):
    note: LongText = ""


class ReasonsIn(Versioned):
    reasons: LongText


class MeasureUpdateIn(Schema):
    measure: int = Field(description="Measure id.")
    note: LongText
    done: bool = False


class ProgressIn(Versioned):
    period: str = Field(max_length=50)
    text: LongText
    percent: int
    measure_updates: list[MeasureUpdateIn] = []


class ExtensionRequestIn(Versioned):
    reasons: LongText
    efforts: LongText
    roadmap: LongText
    new_deadline: dt.date


class ExtensionDecisionIn(Versioned):
    approve: bool
    note: str = Field("", max_length=LONG_TEXT, description="Required when rejecting.")


class ProblemExtensionDecisionIn(ExtensionDecisionIn):
    extension: int = Field(description="Extension id.")


class ApplicationIn(Versioned):
    summary: LongText
    self_check: LongText


class StatementIn(Versioned):
    statement: LongText


class SiteCheckIn(Versioned):
    site_check: LongText


class ReturnIn(Versioned):
    site_check: LongText = ""
    reasons: LongText


class ObjectionIn(Versioned):
    text: LongText
