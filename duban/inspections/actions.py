"""Setting up an inspection round (督察) and changing its rules: the only writes to Inspection.

Who sets up a round: office staff (整改办) whose region contains the round's target
region, or lies inside it — a city office records the provincial or central round it
rectifies, whose target is the province above it. That overlap is also the rule for
which rounds an office sees (duban.org.scope.inspection_scope_q).

Who changes a round: only an office whose region is the target region or contains it.
A round targeting a region above the office (the province-wide round a city works
under) is read-only for that office: its rules bind every city of the province, so
one city must not change them for the others.

The rules are checked by `inspection_errors`, which the form also calls to show
every mistake at once; the actions raise the first one. Errors are the shared ones
(duban.core.exceptions): InvalidInput(field=…) and NotAllowed.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.org.models import Membership, Region, Role
from duban.org.scope import membership_over, membership_overlapping
from duban.workcalendar.workdays import add_working_days

from . import plugins
from .models import ACCEPTANCE_LEVEL_CHOICES, Inspection, InspectionKind, ReportCadence

__all__ = [
    "INSPECTION_FIELDS",
    "SUPERVISION_FIELDS",
    "PLAN_PERIODS",
    "create_inspection",
    "update_inspection",
    "inspection_errors",
    "office_membership_for",
    "editor_membership_for",
    "require_editor",
    "plan_due_after",
]

# The fields an office sets; `fields` given to the actions holds these keys.
INSPECTION_FIELDS = [
    "code",
    "name",
    "kind",
    "round_label",
    "target_region",
    "stay_start",
    "stay_end",
    "feedback_date",
    "plan_due_date",
    "report_cadence",
    "acceptance_levels",
    "notice_working_days",
    "complaint_deadline_days",
    "closing_checklist",
]
# The supervision settings (reporting cycle, reminders): optional in `fields`; a missing one keeps
# the round's current value, or the default for a new round.
SUPERVISION_FIELDS = [
    "report_due_weekday",
    "report_due_day",
    "report_head_after_days",
    "reminder_days",
]
ALL_FIELDS = INSPECTION_FIELDS + SUPERVISION_FIELDS

# The rectification plan is due 30 or 45 working days after the feedback (DESIGN.md §2).
PLAN_PERIODS = (30, 45)
LEVEL_ORDER = [value for value, _label in ACCEPTANCE_LEVEL_CHOICES]
NOTICE_DAYS = (1, 30)
COMPLAINT_DAYS = (1, 365)
CHECKLIST_ITEM_MAX = 50
REMINDER_DAYS = (1, 90)
HEAD_AFTER_DAYS = (0, 60)


def plan_due_after(feedback_date: dt.date, working_days: int) -> dt.date:
    """The plan's due date: `working_days` working days counted from the day after the feedback."""
    return add_working_days(feedback_date + dt.timedelta(days=1), working_days)


def office_membership_for(user, region: Region) -> Membership | None:
    """The office membership under which `user` may set up a round targeting `region`.

    The region is the office's own, lies inside it, or lies above it (an ancestor).
    """
    return membership_overlapping(user, Role.OFFICE, region.path)


def editor_membership_for(user, region: Region) -> Membership | None:
    """The office membership under which `user` may change a round targeting `region`.

    The region is the office's own or lies inside it; a region above the office is not enough.
    """
    return membership_over(user, Role.OFFICE, region.path)


def require_editor(by, region: Region) -> Membership:
    """The editing office membership, or NotAllowed saying who may change the round."""
    membership = editor_membership_for(by, region)
    if membership is None:
        raise NotAllowed(
            _(
                "Only rectification office staff of %(region)s or of a region containing it "
                "may change this inspection. Offices of the regions inside it may read it "
                "but not change it."
            )
            % {"region": region}
        )
    return membership


def _require_office(by, region: Region) -> Membership:
    membership = office_membership_for(by, region)
    if membership is None:
        raise NotAllowed(
            _(
                "Only rectification office staff of a region inside, above or equal to "
                "%(region)s may set up or change this inspection."
            )
            % {"region": region}
        )
    return membership


# --- the rules ------------------------------------------------------------------------------


def _check_levels(levels) -> str | None:
    if not levels:
        return _("Choose at least one acceptance level.")
    if any(level not in LEVEL_ORDER for level in levels):
        return _("Choose acceptance levels among county, city and province.")
    if len(set(levels)) != len(levels):
        return _("Each acceptance level may be chosen only once.")
    if [LEVEL_ORDER.index(level) for level in levels] != sorted(
        LEVEL_ORDER.index(level) for level in levels
    ):
        return _("List the acceptance levels lowest first: county, then city, then province.")
    return None


def _check_checklist(items) -> str | None:
    if not items:
        return _("Name at least one evidence category that a closing application must include.")
    for item in items:
        if not item or item != item.strip():
            return _("Write one category per line, without empty lines or surrounding spaces.")
        if len(item) > CHECKLIST_ITEM_MAX:
            return _("“%(item)s” is longer than %(max)d characters.") % {
                "item": item,
                "max": CHECKLIST_ITEM_MAX,
            }
    seen = set()
    for item in items:
        if item in seen:
            return _("“%(item)s” appears twice in the closing checklist.") % {"item": item}
        seen.add(item)
    return None


def _in_range(value, bounds) -> bool:
    return isinstance(value, int) and bounds[0] <= value <= bounds[1]


def inspection_errors(fields: dict, inspection: Inspection | None = None) -> list[InvalidInput]:
    """Everything wrong with `fields` for a new round (inspection=None) or for `inspection`.

    `fields` holds every key of INSPECTION_FIELDS, as the actions receive them.
    """
    errors = []

    def error(field, message):
        errors.append(InvalidInput(message, field))

    code = fields.get("code") or ""
    if not code:
        error("code", _("Give the inspection a short code, e.g. central-2-2026."))
    else:
        taken = Inspection.objects.filter(code=code)
        if inspection is not None:
            taken = taken.exclude(pk=inspection.pk)
        if taken.exists():
            errors.append(_duplicate_code(code))
    if not (fields.get("name") or "").strip():
        error("name", _("Give the inspection its name."))
    if fields.get("kind") not in InspectionKind.values:
        error("kind", _("Choose the kind of inspection."))
    if fields.get("report_cadence") not in ReportCadence.values:
        error("report_cadence", _("Choose how often units report progress."))
    if not isinstance(fields.get("target_region"), Region):
        error("target_region", _("Choose the region the inspection targets."))

    start, end = fields.get("stay_start"), fields.get("stay_end")
    feedback, plan_due = fields.get("feedback_date"), fields.get("plan_due_date")
    if end and not start:
        error("stay_start", _("Give the day the stay begins as well."))
    if start and end and end < start:
        error("stay_end", _("The stay cannot end before it begins."))
    if feedback and start and feedback < start:
        error("feedback_date", _("The feedback cannot come before the stay begins."))
    if plan_due and feedback and plan_due <= feedback:
        error("plan_due_date", _("The plan must be due after the feedback date."))

    if message := _check_levels(fields.get("acceptance_levels")):
        error("acceptance_levels", message)
    if not _in_range(fields.get("notice_working_days"), NOTICE_DAYS):
        error(
            "notice_working_days",
            _("The public notice lasts from %(min)d to %(max)d working days.")
            % {"min": NOTICE_DAYS[0], "max": NOTICE_DAYS[1]},
        )
    if not _in_range(fields.get("complaint_deadline_days"), COMPLAINT_DAYS):
        error(
            "complaint_deadline_days",
            _("The complaint deadline is from %(min)d to %(max)d days.")
            % {"min": COMPLAINT_DAYS[0], "max": COMPLAINT_DAYS[1]},
        )
    if message := _check_checklist(fields.get("closing_checklist")):
        error("closing_checklist", message)
    errors.extend(_supervision_errors(fields))
    return errors


def _supervision_errors(fields: dict) -> list[InvalidInput]:
    """The reporting cycle and reminder settings; a key left out is not checked (it is kept)."""
    errors = []
    if "report_due_weekday" in fields and not _in_range(fields["report_due_weekday"], (0, 6)):
        errors.append(InvalidInput(_("Choose the weekday reports are due."), "report_due_weekday"))
    if "report_due_day" in fields and not _in_range(fields["report_due_day"], (1, 31)):
        errors.append(
            InvalidInput(
                _("Reports are due on a day of the month from 1 to 31 (31: the last day)."),
                "report_due_day",
            )
        )
    if "report_head_after_days" in fields and not _in_range(
        fields["report_head_after_days"], HEAD_AFTER_DAYS
    ):
        errors.append(
            InvalidInput(
                _("The unit head is reminded from %(min)d to %(max)d days after the due date.")
                % {"min": HEAD_AFTER_DAYS[0], "max": HEAD_AFTER_DAYS[1]},
                "report_head_after_days",
            )
        )
    if "reminder_days" in fields:
        days = fields["reminder_days"]
        if not isinstance(days, list | tuple) or not all(_in_range(d, REMINDER_DAYS) for d in days):
            errors.append(
                InvalidInput(
                    _("Reminder days are whole numbers from %(min)d to %(max)d, e.g. 7, 3, 1.")
                    % {"min": REMINDER_DAYS[0], "max": REMINDER_DAYS[1]},
                    "reminder_days",
                )
            )
    return errors


def _validate(fields: dict, inspection: Inspection | None, plan_working_days: int) -> dict:
    """The fields to store, with the plan's due date computed when it was left empty."""
    missing = [name for name in INSPECTION_FIELDS if name not in fields]
    if missing:
        raise InvalidInput(_("Missing fields: %(names)s.") % {"names": ", ".join(missing)})
    if plan_working_days not in PLAN_PERIODS:
        raise InvalidInput(_("The plan is due 30 or 45 working days after the feedback."))
    errors = inspection_errors(fields, inspection)
    if errors:
        raise errors[0]
    values = {name: fields[name] for name in INSPECTION_FIELDS}
    template = inspection or Inspection()
    for name in SUPERVISION_FIELDS:
        values[name] = fields[name] if name in fields else getattr(template, name)
    values["reminder_days"] = sorted(set(values["reminder_days"]), reverse=True)
    values["name"] = values["name"].strip()
    values["round_label"] = (values["round_label"] or "").strip()
    values["acceptance_levels"] = list(values["acceptance_levels"])
    values["closing_checklist"] = list(values["closing_checklist"])
    if values["plan_due_date"] is None and values["feedback_date"] is not None:
        values["plan_due_date"] = plan_due_after(values["feedback_date"], plan_working_days)
    return values


def _for_audit(name: str, value):
    if name == "target_region":
        return value.code
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _audit_values(inspection: Inspection) -> dict:
    return {name: _for_audit(name, getattr(inspection, name)) for name in ALL_FIELDS}


def _duplicate_code(code: str) -> InvalidInput:
    return InvalidInput(
        _("Another inspection already uses the code “%(code)s”.") % {"code": code}, "code"
    )


# --- the actions ----------------------------------------------------------------------------


def create_inspection(*, by, fields: dict, plan_working_days: int = 30) -> Inspection:
    """Set up a new inspection round; the plan's due date is computed if `fields` leaves it None."""
    region = fields.get("target_region")
    if not isinstance(region, Region):
        raise InvalidInput(_("Choose the region the inspection targets."), "target_region")
    membership = _require_office(by, region)
    values = _validate(fields, None, plan_working_days)
    inspection = Inspection(**values)
    try:
        with transaction.atomic():
            inspection.save()
            audit.record(
                actor=by,
                role=membership.role,
                action="inspection.create",
                target=inspection,
                before={},
                after=_audit_values(inspection),
            )
    except IntegrityError:
        # Someone took the code between the check and the insert.
        raise _duplicate_code(values["code"]) from None
    return inspection


def update_inspection(
    inspection: Inspection, *, by, fields: dict, plan_working_days: int = 30
) -> Inspection:
    """Change a round's settings. Refuses new acceptance levels while problems are under acceptance:
    each of those problems keeps an index into the levels it is being accepted at."""
    require_editor(by, inspection.target_region)
    region = fields.get("target_region")
    if not isinstance(region, Region):
        raise InvalidInput(_("Choose the region the inspection targets."), "target_region")
    # The new target must be the editor's too, or a change could hand the round to a region above.
    membership = require_editor(by, region)
    values = _validate(fields, inspection, plan_working_days)
    try:
        with transaction.atomic():
            # Compare with the row as it is now, locked, so the audit's "before" is true.
            current = Inspection.objects.select_for_update().get(pk=inspection.pk)
            before = _audit_values(current)
            for name, value in values.items():
                setattr(current, name, value)
            after = _audit_values(current)
            changed = [name for name in ALL_FIELDS if before[name] != after[name]]
            if "acceptance_levels" in changed and (
                refusal := plugins.level_change_refusal(current)
            ):
                raise InvalidInput(refusal, "acceptance_levels")
            if changed:
                current.save(update_fields=changed)
                audit.record(
                    actor=by,
                    role=membership.role,
                    action="inspection.edit",
                    target=current,
                    before={name: before[name] for name in changed},
                    after={name: after[name] for name in changed},
                )
    except IntegrityError:
        raise _duplicate_code(values["code"]) from None
    for name, value in values.items():
        setattr(inspection, name, value)
    return inspection
