"""Every change to the ledger, one named function each.

The recipe (STYLE.md): check the state and the actor's role and scope → one
transaction → a conditional UPDATE on the problem's version, so that of two
concurrent actions exactly one wins → save → an audit event in the same
transaction. Views, the API, imports and commands all call these; none of them
sets a state with save().
"""

import contextlib
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core import limits
from duban.core.workdays import add_working_days
from duban.org.models import Membership, Region, Role, Unit
from duban.org.scope import acting_membership

from . import duties
from .files import FileRejected, StoredFile, check_upload, store_upload
from .models import (
    AcceptanceReview,
    ApplicationStatus,
    ClosingApplication,
    Decision,
    Evidence,
    Extension,
    ExtensionStatus,
    Measure,
    MeasureUpdate,
    Milestone,
    NoticeStatus,
    Objection,
    ObjectionStatus,
    Problem,
    ProblemUnit,
    ProgressReport,
    PublicNotice,
    Signature,
    SignatureRole,
    State,
    UnitRole,
)
from .pace import pace_bounds
from .transitions import FOLLOW_UP_TRANSITIONS, TRANSITIONS

# Photos sent with a progress report go to this evidence category unless another is chosen.
PROGRESS_PHOTO_CATEGORY = "现场照片"


class ActionError(Exception):
    """An action that cannot be taken; the message says why, for the person who tried."""


class NotAllowed(ActionError):
    """The actor can see the problem but has no role that may take this action."""


class WrongState(ActionError):
    pass


class Conflict(ActionError):
    """Someone else changed the problem first; reload and try again."""


class InvalidInput(ActionError):
    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


__all__ = [
    "ActionError",
    "check",
    "NotAllowed",
    "WrongState",
    "Conflict",
    "InvalidInput",
    "allowed_actions",
    "create_problem",
    "register_problems",
    "ProblemInput",
    "InvalidItems",
    "update_problem",
    "split_problem",
    "assign",
    "claim",
    "save_plan",
    "submit_plan",
    "approve_plan",
    "reject_plan",
    "report_progress",
    "upload_evidence",
    "review_evidence",
    "request_extension",
    "decide_extension",
    "apply_for_closing",
    "edit_application",
    "withdraw_application",
    "sign",
    "endorse",
    "accept",
    "return_application",
    "record_objection",
    "decide_objection",
    "pending_objections",
    "end_notice",
    "close_after_notice",
]


# --- the common recipe -------------------------------------------------------------------


def _pending_extension(problem):
    return problem.extensions.filter(status=ExtensionStatus.PENDING).first()


def _has_valid_signature(problem, role) -> bool:
    application = open_application(problem)
    return bool(
        application and application.signatures.filter(role=role, voided_at__isnull=True).exists()
    )


def _precondition(problem: Problem, name: str) -> str | None:
    """Beyond state and role: what else must hold for action `name`, as a refusal message."""
    if name in ("edit_application", "withdraw_application", "sign", "endorse", "accept", "return"):
        if open_application(problem) is None:
            return _("There is no open closing application.")
    if name in ("record_objection", "end_notice") and open_notice(problem) is None:
        return _("There is no open public notice.")
    if name == "end_notice" and pending_objections(problem).exists():
        return _("An objection is waiting for a decision; decide it before the notice ends.")
    if name == "decide_extension" and _pending_extension(problem) is None:
        return _("No extension request is waiting for a decision.")
    if name == "request_extension" and _pending_extension(problem) is not None:
        return _("An extension request for this problem is already waiting for a decision.")
    if name == "sign" and _has_valid_signature(problem, SignatureRole.UNIT_HEAD):
        return _("The unit head has already signed this application.")
    if name == "endorse":
        if not problem.lead_official_id:
            return _("This problem has no lead official to endorse it.")
        if _has_valid_signature(problem, SignatureRole.LEAD_OFFICIAL):
            return _("The lead official has already endorsed this application.")
    return None


def check(problem: Problem, name: str, by):
    """May `by` take action `name` on `problem` now? The membership to act under, or an ActionError.

    The same check guards the action, draws the page's buttons and explains a refusal.
    """
    transition = TRANSITIONS[name]
    membership = acting_membership(by, problem, transition.roles)
    if membership is None:
        raise NotAllowed(
            _("You have no role that may do this: %(action)s.") % {"action": transition.label}
        )
    if problem.state not in transition.sources:
        raise WrongState(
            _("This problem is %(state)s; “%(action)s” is not possible now.")
            % {"state": problem.get_state_display(), "action": transition.label}
        )
    if name in ("accept", "return"):
        # Only acceptors of the level the problem is at decide it.
        membership = _level_acceptor(problem, by)
        if membership is None:
            raise NotAllowed(
                _("This problem is at the %(level)s; only acceptors of that level decide it.")
                % {"level": problem.inspection.acceptance_level_label(problem.acceptance_level)}
            )
    refusal = _precondition(problem, name)
    if refusal:
        raise WrongState(refusal)
    # Separation of duties: what the person did before on this problem may bar him now.
    refusal = duties.conflict(problem, name, by)
    if refusal:
        raise NotAllowed(refusal)
    return membership


_check = check


def allowed_actions(problem: Problem, user) -> list:
    """The transitions `user` may take on `problem` now: the page's buttons."""
    result = []
    for transition in TRANSITIONS.values():
        try:
            check(problem, transition.name, user)
        except ActionError:
            continue
        result.append(transition)
    return result


def _bump(problem: Problem, **changes) -> None:
    """Write `changes` only if nobody changed the problem since it was read."""
    changes.setdefault("updated_at", timezone.now())
    updated = Problem.objects.filter(
        pk=problem.pk, version=problem.version, state=problem.state
    ).update(version=F("version") + 1, **changes)
    if not updated:
        raise Conflict(
            _("Someone else changed this problem a moment ago. Reload the page and try again.")
        )
    for field, value in changes.items():
        setattr(problem, field, value)
    problem.version += 1


def _record(problem, by, membership, action, before=None, after=None, target=None):
    audit.record(
        actor=by,
        role=membership.role if membership else "",
        action=action,
        target=target or problem,
        before=before,
        after=after,
        problem_id=problem.pk,
    )


def _state_change(problem, by, membership, name, to, **changes):
    before = {"state": problem.state}
    _bump(problem, state=to, **changes)
    _record(problem, by, membership, name, before, {"state": to, **_jsonable(changes)})


def _jsonable(changes: dict) -> dict:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in changes.items()
        if k != "updated_at"
    }


# --- registering and editing -----------------------------------------------------------

PROBLEM_FIELDS = [
    "source",
    "feedback_text",
    "ledger_number",
    "title",
    "category",
    "nature",
    "shared_level",
    "is_key",
    "is_difficult",
    "is_sensitive",
    "region",
    "lead_unit",
    "lead_official",
    "acceptance_unit",
    "task_force",
    "target",
    "deadline_immediate",
    "deadline_by_date",
    "deadline_ongoing",
    "deadline",
]


@dataclass
class MeasureInput:
    text: str
    owner: str = ""
    due_date: dt.date | None = None


@dataclass
class MilestoneInput:
    due_date: dt.date
    percent: int
    description: str


def _value_for_audit(value):
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


# Dates a rectification ledger can mean; outside them a typo (0001, 9999) is more likely.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2100, 12, 31)


def _check_date(value, field: str) -> None:
    if value is not None and not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidInput(
            _("%(date)s is not a plausible date: give one between 2000 and 2100.")
            % {"date": value.isoformat()},
            field,
        )


def _check_length(value: str, limit: int, field: str) -> None:
    if value and len(value) > limit:
        raise InvalidInput(
            _("At most %(limit)d characters here; this has %(length)d.")
            % {"limit": limit, "length": len(value)},
            field,
        )


def _check_free_text(value: str, field: str, label) -> None:
    """A text over the house limit (duban.core.limits) is refused, naming the field."""
    message = limits.too_long(value, limits.LONG_TEXT, label)
    if message:
        raise InvalidInput(message, field)


def _check_measures(measures) -> None:
    for measure in measures:
        _check_free_text(measure.text, "measures", Measure._meta.get_field("text").verbose_name)
        _check_length(measure.owner, 100, "measures")
        _check_date(measure.due_date, "measures")


def _check_milestones(milestones) -> None:
    for milestone in milestones:
        _check_date(milestone.due_date, "milestones")
        _check_length(milestone.description, 200, "milestones")
        if not 0 <= milestone.percent <= 100:
            raise InvalidInput(_("Progress is a percentage from 0 to 100."), "milestones")


def _check_version(problem: Problem, version) -> None:
    """The form was filled in on `version`; someone who changed it since wins, not silently lost."""
    if version is not None and int(version) != problem.version:
        raise Conflict(
            _(
                "Someone else changed this problem while you were editing it. Reload the page and try again."
            )
        )


def _validate_problem(problem: Problem) -> None:
    _check_date(problem.deadline, "deadline")
    for name, limit in (("ledger_number", 50), ("title", 200)):
        _check_length(getattr(problem, name), limit, name)
    for name in ("feedback_text", "task_force", "target"):
        _check_free_text(getattr(problem, name), name, Problem._meta.get_field(name).verbose_name)
    if not (problem.deadline_immediate or problem.deadline_by_date or problem.deadline_ongoing):
        raise InvalidInput(_("Choose at least one deadline kind."), "deadline_by_date")
    if problem.deadline_by_date and not problem.deadline:
        raise InvalidInput(_("A problem to finish by a date needs its deadline."), "deadline")
    if problem.nature == "shared" and not problem.shared_level:
        raise InvalidInput(
            _("A shared problem needs the level at which it is solved."), "shared_level"
        )
    if problem.nature != "shared":
        problem.shared_level = ""


def _set_units(problem: Problem, co_units, implementing_units) -> None:
    ProblemUnit.objects.filter(problem=problem).delete()
    links = []
    if problem.lead_unit_id:
        links.append(ProblemUnit(problem=problem, unit_id=problem.lead_unit_id, role=UnitRole.LEAD))
    for unit in co_units or []:
        links.append(ProblemUnit(problem=problem, unit=unit, role=UnitRole.CO))
    for unit in implementing_units or []:
        links.append(ProblemUnit(problem=problem, unit=unit, role=UnitRole.IMPLEMENTING))
    if problem.parent_id and problem.parent.lead_unit_id:
        links.append(
            ProblemUnit(
                problem=problem, unit_id=problem.parent.lead_unit_id, role=UnitRole.SUPERVISING
            )
        )
    ProblemUnit.objects.bulk_create(links, ignore_conflicts=True)


def _set_measures(problem: Problem, measures) -> None:
    existing = list(problem.measures.all())
    # Keep measures whose text is unchanged so their updates stay attached.
    by_text = {m.text: m for m in existing}
    keep = []
    for order, item in enumerate(measures):
        measure = by_text.pop(item.text, None)
        if measure is None:
            measure = Measure(problem=problem, text=item.text)
        measure.order, measure.owner, measure.due_date = order, item.owner, item.due_date
        measure.save()
        keep.append(measure.pk)
    problem.measures.exclude(pk__in=keep).delete()


def _set_milestones(problem: Problem, milestones) -> None:
    problem.milestones.all().delete()
    Milestone.objects.bulk_create(
        [
            Milestone(
                problem=problem, due_date=m.due_date, percent=m.percent, description=m.description
            )
            for m in milestones
        ]
    )


def _check_office_scope(by, region) -> object:
    """The office membership under which `by` may register a problem in `region`."""
    probe = Problem(region=region, region_path=region.path)
    membership = acting_membership(by, probe, (Role.OFFICE,))
    if membership is None:
        raise NotAllowed(
            _("Only the rectification office of this region may register problems here.")
        )
    return membership


def _check_units_in_scope(membership, units) -> None:
    """An office links only units of its own region: linked units' staff will see the problem."""
    region_path = membership.unit.region.path
    for unit in units:
        if unit is not None and not unit.region.path.startswith(region_path):
            raise InvalidInput(
                _("%(unit)s lies outside the region of your office.") % {"unit": unit}, "lead_unit"
            )


def _check_official_in_scope(membership, official) -> None:
    """The lead official sees and endorses the problem: one of the office's region only."""
    if official is None:
        return
    if not Membership.objects.filter(
        user=official,
        role=Role.LEAD_OFFICIAL,
        unit__region__path__startswith=membership.unit.region.path,
    ).exists():
        raise InvalidInput(_("Choose a lead official of your region."), "lead_official")


def _check_inspection_covers(inspection, region) -> None:
    if not region.path.startswith(inspection.target_region.path):
        raise InvalidInput(
            _("%(region)s lies outside the region of the inspection (%(target)s).")
            % {"region": region, "target": inspection.target_region},
            "region",
        )


def create_problem(
    *,
    by,
    inspection,
    fields: dict,
    co_units=(),
    implementing_units=(),
    measures=(),
    milestones=(),
    parent=None,
) -> Problem:
    membership = _check_office_scope(by, fields["region"])
    problem = Problem(inspection=inspection, parent=parent, **fields)
    _validate_problem(problem)
    _check_units_in_scope(
        membership, [problem.lead_unit, problem.acceptance_unit, *co_units, *implementing_units]
    )
    _check_official_in_scope(membership, problem.lead_official)
    _check_inspection_covers(inspection, problem.region)
    _check_measures(measures)
    _check_milestones(milestones)
    with transaction.atomic():
        problem.original_deadline = problem.deadline
        problem.save()
        _set_units(problem, co_units, implementing_units)
        _set_measures(problem, measures)
        _set_milestones(problem, milestones)
        problem.refresh_pace_bounds()
        problem.save(update_fields=["pace_behind_from", "pace_ahead_until"])
        _record(
            problem,
            by,
            membership,
            "problem.create",
            {},
            {f: _value_for_audit(getattr(problem, f)) for f in PROBLEM_FIELDS}
            | {
                "inspection": inspection.code,
                "parent": parent.pk if parent else None,
                "co_units": [u.pk for u in co_units],
                "implementing_units": [u.pk for u in implementing_units],
                "measures": [m.text for m in measures],
            },
        )
    return problem


# --- registering many at once (an imported list) ---------------------------------------


@dataclass
class ProblemInput:
    """One problem for register_problems(): create_problem()'s arguments but `by` and `inspection`."""

    fields: dict
    co_units: tuple = ()
    implementing_units: tuple = ()
    measures: tuple = ()
    milestones: tuple = ()


class InvalidItems(ActionError):
    """Items register_problems() refused; `errors` lists (index, ActionError), in item order."""

    def __init__(self, errors):
        first = errors[0][1]
        super().__init__(str(first))
        self.field = getattr(first, "field", None)
        self.errors = errors


def _load_regions(units) -> None:
    """Units whose region is not loaded get it from one query, so the scope checks cost none."""
    missing = [u for u in units if u is not None and not Unit.region.is_cached(u)]
    if missing:
        regions = Region.objects.in_bulk({u.region_id for u in missing})
        for unit in missing:
            unit.region = regions[unit.region_id]


def _checked_problem(by, inspection, item, offices: dict, officials: set) -> Problem:
    """create_problem()'s checks, remembering the answers that would cost a query each time."""
    region = item.fields["region"]
    membership = offices.get(region.pk) or _check_office_scope(by, region)
    offices[region.pk] = membership
    problem = Problem(inspection=inspection, **item.fields)
    _validate_problem(problem)
    _check_units_in_scope(
        membership,
        [problem.lead_unit, problem.acceptance_unit, *item.co_units, *item.implementing_units],
    )
    if (membership.pk, problem.lead_official_id) not in officials:
        _check_official_in_scope(membership, problem.lead_official)
        officials.add((membership.pk, problem.lead_official_id))
    _check_inspection_covers(inspection, problem.region)
    _check_measures(item.measures)
    _check_milestones(item.milestones)
    return problem


def register_problems(*, by, inspection, items, batch_size: int = 1000, progress=None) -> list:
    """Register many problems as create_problem() would each, all or none, in one transaction.

    The same checks refuse the same items, but every item is checked before anything is
    written, and a refusal names each item (InvalidItems). Rows go in with bulk inserts of
    `batch_size`, the audit events with audit.record_many(); `progress(done, total)` is called
    after each batch.
    """
    items = list(items)
    _load_regions(
        unit
        for item in items
        for unit in (
            item.fields.get("lead_unit"),
            item.fields.get("acceptance_unit"),
            *item.co_units,
            *item.implementing_units,
        )
    )
    offices, officials, problems, errors = {}, set(), [], []
    for index, item in enumerate(items):
        try:
            problems.append(_checked_problem(by, inspection, item, offices, officials))
        except ActionError as refused:
            errors.append((index, refused))
    if errors:
        raise InvalidItems(errors)
    # Registered today: the pace curve starts at the creation date, as refresh_pace_bounds() has it.
    start = timezone.localdate()
    for problem, item in zip(problems, items, strict=True):
        problem.original_deadline = problem.deadline
        problem.region_path = problem.region.path
        problem.pace_behind_from, problem.pace_ahead_until = pace_bounds(
            start=start,
            deadline=problem.deadline if problem.deadline_by_date else None,
            percent=problem.progress_percent,
            milestones=[(m.due_date, m.percent) for m in item.milestones],
        )
    pairs = list(zip(problems, items, strict=True))
    with transaction.atomic():
        for first in range(0, len(pairs), batch_size):
            batch = pairs[first : first + batch_size]
            _insert_batch(batch, by, offices, inspection)
            if progress:
                progress(first + len(batch), len(pairs))
    return problems


def _insert_batch(batch, by, offices, inspection) -> None:
    Problem.objects.bulk_create([problem for problem, _item in batch])
    links, measures, milestones, events = [], [], [], []
    for problem, item in batch:
        seen = set()
        for units, role in (
            ([problem.lead_unit] if problem.lead_unit_id else [], UnitRole.LEAD),
            (item.co_units, UnitRole.CO),
            (item.implementing_units, UnitRole.IMPLEMENTING),
        ):
            for unit in units:
                if (unit.pk, role) not in seen:
                    seen.add((unit.pk, role))
                    links.append(ProblemUnit(problem=problem, unit=unit, role=role))
        measures += [
            Measure(problem=problem, order=order, text=m.text, owner=m.owner, due_date=m.due_date)
            for order, m in enumerate(item.measures)
        ]
        milestones += [
            Milestone(
                problem=problem, due_date=m.due_date, percent=m.percent, description=m.description
            )
            for m in item.milestones
        ]
        # The same event, with the same after-payload, as create_problem() writes.
        events.append(
            {
                "actor": by,
                "role": offices[problem.region.pk].role,
                "action": "problem.create",
                "target": problem,
                "before": {},
                "after": {f: _value_for_audit(getattr(problem, f)) for f in PROBLEM_FIELDS}
                | {
                    "inspection": inspection.code,
                    "parent": None,
                    "co_units": [u.pk for u in item.co_units],
                    "implementing_units": [u.pk for u in item.implementing_units],
                    "measures": [m.text for m in item.measures],
                },
                "problem_id": problem.pk,
            }
        )
    ProblemUnit.objects.bulk_create(links, ignore_conflicts=True)
    Measure.objects.bulk_create(measures)
    Milestone.objects.bulk_create(milestones)
    audit.record_many(events)


def update_problem(
    problem: Problem,
    *,
    by,
    fields: dict,
    co_units=None,
    implementing_units=None,
    measures=None,
    milestones=None,
    version=None,
) -> Problem:
    membership = _check(problem, "edit", by)
    _check_version(problem, version)
    if "region" in fields and fields["region"] != problem.region:
        _check_office_scope(by, fields["region"])
        _check_inspection_covers(problem.inspection, fields["region"])
    _check_units_in_scope(
        membership,
        [
            fields.get("lead_unit"),
            fields.get("acceptance_unit"),
            *(co_units or []),
            *(implementing_units or []),
        ],
    )
    if "lead_official" in fields:
        _check_official_in_scope(membership, fields["lead_official"])
    _check_measures(measures or [])
    _check_milestones(milestones or [])
    before = {f: _value_for_audit(getattr(problem, f)) for f in fields}
    for name, value in fields.items():
        setattr(problem, name, value)
    _validate_problem(problem)
    if problem.state != State.REGISTERED and not problem.lead_unit_id:
        # Its liaison and head work on it through the lead unit: without one it has nobody.
        raise InvalidInput(
            _("An assigned problem keeps a lead unit: choose another unit instead of none."),
            "lead_unit",
        )
    after = {f: _value_for_audit(getattr(problem, f)) for f in fields}
    changed = {f for f in fields if before[f] != after[f]}
    with transaction.atomic():
        _bump(problem)
        if problem.original_deadline is None:
            problem.original_deadline = problem.deadline
        problem.save()
        extra_before, extra_after = {}, {}
        if co_units is not None or implementing_units is not None:
            old = {
                r: sorted(problem.unit_links.filter(role=r).values_list("unit_id", flat=True))
                for r in (UnitRole.CO, UnitRole.IMPLEMENTING)
            }
            co = co_units if co_units is not None else Unit.objects.filter(pk__in=old[UnitRole.CO])
            imp = (
                implementing_units
                if implementing_units is not None
                else Unit.objects.filter(pk__in=old[UnitRole.IMPLEMENTING])
            )
            _set_units(problem, co, imp)
            new = {"co": sorted(u.pk for u in co), "implementing": sorted(u.pk for u in imp)}
            if new["co"] != old[UnitRole.CO] or new["implementing"] != old[UnitRole.IMPLEMENTING]:
                extra_before.update(
                    co_units=old[UnitRole.CO], implementing_units=old[UnitRole.IMPLEMENTING]
                )
                extra_after.update(co_units=new["co"], implementing_units=new["implementing"])
        elif "lead_unit" in changed:
            _set_units(problem, problem.co_units(), problem.implementing_units())
        if measures is not None:
            old_measures = list(problem.measures.values_list("text", flat=True))
            _set_measures(problem, measures)
            if old_measures != [m.text for m in measures]:
                extra_before["measures"], extra_after["measures"] = (
                    old_measures,
                    [m.text for m in measures],
                )
        if milestones is not None:
            _set_milestones(problem, milestones)
            extra_after["milestones"] = [[m.due_date.isoformat(), m.percent] for m in milestones]
        problem.refresh_pace_bounds()
        problem.save(update_fields=["pace_behind_from", "pace_ahead_until"])
        _record(
            problem,
            by,
            membership,
            "problem.edit",
            {f: before[f] for f in changed} | extra_before,
            {f: after[f] for f in changed} | extra_after,
        )
    return problem


def split_problem(parent: Problem, *, by, children: list[dict]) -> list[Problem]:
    """Split a problem into child problems for lower-level units, each assigned at once."""
    membership = _check(parent, "split", by)
    if not children:
        raise InvalidInput(_("Add at least one child problem."))
    created = []
    with transaction.atomic():
        _bump(parent)
        for index, child in enumerate(children, start=1):
            unit = child["lead_unit"]
            if not unit.region.path.startswith(parent.region_path):
                raise InvalidInput(
                    _("%(unit)s lies outside the region of the parent problem.") % {"unit": unit}
                )
            fields = {
                f: getattr(parent, f)
                for f in [
                    "source",
                    "feedback_text",
                    "category",
                    "nature",
                    "shared_level",
                    "is_key",
                    "is_difficult",
                    "is_sensitive",
                    "target",
                    "deadline_immediate",
                    "deadline_by_date",
                    "deadline_ongoing",
                    "deadline",
                    "lead_official",
                    "acceptance_unit",
                ]
            }
            fields.update(
                title=child.get("title") or parent.title,
                # The parent's number with the child's index, kept within the field's 50 characters;
                # an unnumbered parent has unnumbered children, not "-1".
                ledger_number=child.get("ledger_number")
                or (
                    f"{parent.ledger_number[: 50 - len(str(index)) - 1]}-{index}"
                    if parent.ledger_number
                    else ""
                ),
                region=unit.region,
                lead_unit=unit,
            )
            fields.update({k: v for k, v in child.items() if k in fields and v not in (None, "")})
            problem = create_problem(
                by=by,
                inspection=parent.inspection,
                fields=fields,
                parent=parent,
                measures=[MeasureInput(m.text, m.owner, m.due_date) for m in parent.measures.all()],
            )
            assign(problem, by=by)
            created.append(problem)
        _record(parent, by, membership, "problem.split", {}, {"children": [p.pk for p in created]})
    return created


# --- assignment and plan -------------------------------------------------------------


def assign(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "assign", by)
    if not problem.lead_unit_id:
        raise InvalidInput(_("Choose the lead unit before assigning."), "lead_unit")
    now = timezone.now()
    with transaction.atomic():
        _state_change(problem, by, membership, "assign", State.ASSIGNED, assigned_at=now)
        problem.refresh_pace_bounds()
        Problem.objects.filter(pk=problem.pk).update(
            pace_behind_from=problem.pace_behind_from, pace_ahead_until=problem.pace_ahead_until
        )
    return problem


def claim(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "claim", by)
    with transaction.atomic():
        _state_change(problem, by, membership, "claim", State.CLAIMED)
    return problem


def save_plan(
    problem: Problem, *, by, target: str, measures: list, milestones: list, version=None
) -> Problem:
    """The unit drafts its plan: target, measures with owners and due dates, milestones."""
    membership = _check(problem, "save_plan", by)
    _check_version(problem, version)
    if not target.strip():
        raise InvalidInput(_("Write the rectification target."), "target")
    if not measures:
        raise InvalidInput(_("Add at least one measure."), "measures")
    _check_measures(measures)
    _check_milestones(milestones)
    with transaction.atomic():
        _bump(problem)
        before = {
            "target": problem.target,
            "measures": list(problem.measures.values_list("text", flat=True)),
        }
        problem.target = target
        problem.save(update_fields=["target"])
        _set_measures(problem, measures)
        _set_milestones(problem, milestones)
        problem.refresh_pace_bounds()
        problem.save(update_fields=["pace_behind_from", "pace_ahead_until"])
        _record(
            problem,
            by,
            membership,
            "plan.save",
            before,
            {
                "target": target,
                "measures": [m.text for m in measures],
                "milestones": [[m.due_date.isoformat(), m.percent] for m in milestones],
            },
        )
    return problem


def submit_plan(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "submit_plan", by)
    if not problem.target.strip() or not problem.measures.exists():
        raise InvalidInput(_("Draft the plan (target and measures) before submitting it."))
    with transaction.atomic():
        _state_change(problem, by, membership, "plan.submit", State.PLAN_SUBMITTED)
    return problem


def approve_plan(problem: Problem, *, by, note: str = "") -> Problem:
    membership = _check(problem, "approve_plan", by)
    with transaction.atomic():
        _state_change(problem, by, membership, "plan.approve", State.IN_PROGRESS)
        if note:
            _record(problem, by, membership, "plan.approve.note", {}, {"note": note})
    return problem


def reject_plan(problem: Problem, *, by, reasons: str) -> Problem:
    membership = _check(problem, "reject_plan", by)
    if not reasons.strip():
        raise InvalidInput(_("Say why the plan is returned."), "reasons")
    with transaction.atomic():
        _bump(problem, state=State.CLAIMED)
        _record(
            problem,
            by,
            membership,
            "plan.return",
            {"state": State.PLAN_SUBMITTED},
            {"state": State.CLAIMED, "reasons": reasons},
        )
    return problem


# --- progress and evidence -------------------------------------------------------------


def report_progress(
    problem: Problem,
    *,
    by,
    period: str,
    text: str,
    percent: int,
    measure_updates=(),
    files=(),
    evidence_category: str = "",
) -> ProgressReport:
    """进展报告: period, text, percent, measure updates and evidence files."""
    membership = _check(problem, "report_progress", by)
    if not period.strip():
        raise InvalidInput(_("Name the period this report covers."), "period")
    if not text.strip():
        raise InvalidInput(_("Describe the progress."), "text")
    if not 0 <= percent <= 100:
        raise InvalidInput(_("Progress is a percentage from 0 to 100."), "percent")
    stored = _stored_all(files)
    with _files_removed_on_failure(stored), transaction.atomic():
        now = timezone.now()
        _bump(problem, progress_percent=percent, last_report_at=now)
        report = ProgressReport.objects.create(
            problem=problem,
            period=period,
            text=text,
            percent=percent,
            submitted_by=by,
            submitted_at=now,
        )
        measures = {m.pk: m for m in problem.measures.all()}
        for measure_id, note, done in measure_updates:
            measure = measures.get(measure_id)
            if measure is None:
                raise InvalidInput(_("A measure update names a measure of another problem."))
            MeasureUpdate.objects.create(report=report, measure=measure, note=note, done=done)
            measure.note, measure.done = note, done
            measure.save(update_fields=["note", "done"])
        problem.refresh_pace_bounds()
        Problem.objects.filter(pk=problem.pk).update(
            pace_behind_from=problem.pace_behind_from, pace_ahead_until=problem.pace_ahead_until
        )
        _record(
            problem,
            by,
            membership,
            "progress.report",
            {},
            {
                "report": report.pk,
                "period": period,
                "percent": percent,
                "text": text,
                "measure_updates": [[m, n, d] for m, n, d in measure_updates],
            },
        )
        for item in stored:
            _store_evidence(
                problem,
                by,
                membership,
                item,
                evidence_category or PROGRESS_PHOTO_CATEGORY,
                report=report,
            )
    return report


# Files in one upload. Each is checked and hashed in chunks from Django's temporary file,
# so the number bounds the disk and time of one request, not its memory.
MAX_FILES_PER_UPLOAD = 20


def _stored_all(files) -> list[StoredFile]:
    """Every file checked, then thumbnailed and written to storage, before any transaction.

    All are checked before the first is stored; if one fails to store, those before it are
    removed. The caller removes them all if its transaction fails (_files_removed_on_failure).
    """
    if len(files) > MAX_FILES_PER_UPLOAD:
        raise InvalidInput(
            _("At most %(n)d files at a time; send the others in another upload.")
            % {"n": MAX_FILES_PER_UPLOAD},
            "files",
        )
    checked = [_checked(f) for f in files]
    stored: list[StoredFile] = []
    with _files_removed_on_failure(stored):
        for item in checked:
            try:
                stored.append(store_upload(item))
            except FileRejected as error:
                raise InvalidInput(str(error), "files") from None
    return stored


def _checked(uploaded):
    try:
        return check_upload(uploaded)
    except FileRejected as error:
        raise InvalidInput(str(error), "files") from None


def _store_evidence(
    problem, by, membership, stored: StoredFile, category, title="", report=None
) -> Evidence:
    """The row and audit event of a file already in storage (see _stored_all)."""
    checked = stored.checked
    evidence = Evidence(
        problem=problem,
        report=report,
        category=category,
        title=title,
        original_name=checked.original_name,
        content_type=checked.content_type,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=by,
        taken_at=stored.taken_at,
        file=stored.name,
        thumbnail=stored.thumbnail,
    )
    if stored.position:
        evidence.latitude, evidence.longitude = (round(v, 6) for v in stored.position)
    evidence.save()
    _record(
        problem,
        by,
        membership,
        "evidence.upload",
        {},
        {
            "evidence": evidence.pk,
            "category": category,
            "name": checked.original_name,
            "sha256": checked.sha256,
            "size": checked.size,
        },
        target=evidence,
    )
    return evidence


@contextlib.contextmanager
def _files_removed_on_failure(stored: list[StoredFile]):
    """Files are written before the transaction; if anything fails, remove them again."""
    try:
        yield stored
    except BaseException:
        for item in stored:
            item.remove()
        raise


def record_changed_file(evidence: Evidence, *, by, part: str, found: str) -> None:
    """A stored file (or its thumbnail) no longer matches its sha256: kept in the audit log.

    Any reader who opens the file triggers the check, so no role is required; the download
    itself is refused by the caller.
    """
    with transaction.atomic():
        audit.record(
            actor=by,
            role="",
            action="evidence.file_changed",
            target=evidence,
            before={"sha256": evidence.sha256 if part == "file" else evidence.thumbnail.name},
            after={"part": part, "found_sha256": found, "name": evidence.original_name},
            problem_id=evidence.problem_id,
        )


def upload_evidence(
    problem: Problem, *, by, files, category: str, title: str = ""
) -> list[Evidence]:
    membership = _check(problem, "upload_evidence", by)
    if not category.strip():
        raise InvalidInput(_("Choose the category of the material."), "category")
    _check_length(category, 50, "category")
    _check_length(title, 200, "title")
    if not files:
        raise InvalidInput(_("Choose at least one file."), "files")
    stored = _stored_all(files)
    with _files_removed_on_failure(stored), transaction.atomic():
        _bump(problem)
        rows = [_store_evidence(problem, by, membership, item, category, title) for item in stored]
        application = open_application(problem) if problem.state == State.CLOSING_APPLIED else None
        if application is not None:
            # A file added to a submitted application changes what was signed.
            application.evidence.add(*rows)
            voided = _void_signatures(application, "evidence added after signing")
            _record(
                problem,
                by,
                membership,
                "closing.evidence_added",
                {},
                {
                    "application": application.pk,
                    "content_hash": content_hash(application),
                    "voided_signatures": voided,
                },
                target=application,
            )
    return rows


def _void_signatures(application: ClosingApplication, reason: str) -> list[int]:
    """Void the valid signatures of an application whose content changed; return their ids."""
    voided = list(
        application.signatures.filter(voided_at__isnull=True).values_list("pk", flat=True)
    )
    application.signatures.filter(pk__in=voided).update(
        voided_at=timezone.now(), void_reason=reason
    )
    return voided


def review_evidence(evidence: Evidence, *, by) -> Evidence:
    """The unit head marks a file as checked (审核)."""
    problem = evidence.problem
    membership = acting_membership(by, problem, (Role.UNIT_HEAD,))
    if membership is None:
        raise NotAllowed(_("Only the head of the lead unit reviews its evidence."))
    if evidence.uploaded_by_id == by.pk:
        # Separation of duties: a file is checked by someone other than whoever supplied it.
        raise NotAllowed(_("You uploaded this file; another person must review it."))
    if evidence.reviewed_at:
        raise WrongState(_("This file was already reviewed."))
    with transaction.atomic():
        updated = Evidence.objects.filter(pk=evidence.pk, reviewed_at__isnull=True).update(
            reviewed_by=by, reviewed_at=timezone.now()
        )
        if not updated:
            raise Conflict(_("This file was reviewed a moment ago."))
        _record(
            problem,
            by,
            membership,
            "evidence.review",
            {},
            {"evidence": evidence.pk},
            target=evidence,
        )
    evidence.refresh_from_db()
    return evidence


# --- extension -----------------------------------------------------------------------


def request_extension(
    problem: Problem, *, by, reasons: str, efforts: str, new_deadline: dt.date, roadmap: str
) -> Extension:
    membership = _check(problem, "request_extension", by)
    for name, value in (("reasons", reasons), ("efforts", efforts), ("roadmap", roadmap)):
        if not value.strip():
            raise InvalidInput(_("This field is required."), name)
    _check_date(new_deadline, "new_deadline")
    if problem.deadline and new_deadline <= problem.deadline:
        raise InvalidInput(
            _("The new deadline must be later than the current one (%(date)s).")
            % {"date": problem.deadline},
            "new_deadline",
        )
    if new_deadline <= timezone.localdate():
        raise InvalidInput(_("The new deadline must lie in the future."), "new_deadline")
    with transaction.atomic():
        _bump(problem)
        try:
            with transaction.atomic():
                extension = Extension.objects.create(
                    problem=problem,
                    reasons=reasons,
                    efforts=efforts,
                    roadmap=roadmap,
                    old_deadline=problem.deadline,
                    new_deadline=new_deadline,
                    requested_by=by,
                )
        except IntegrityError:
            raise WrongState(
                _("An extension request for this problem is already waiting for a decision.")
            ) from None
        _record(
            problem,
            by,
            membership,
            "extension.request",
            {"deadline": _iso(problem.deadline)},
            {
                "extension": extension.pk,
                "new_deadline": new_deadline.isoformat(),
                "reasons": reasons,
            },
        )
    return extension


def decide_extension(extension: Extension, *, by, approve: bool, note: str = "") -> Extension:
    problem = extension.problem
    membership = _check(problem, "decide_extension", by)
    if extension.status != ExtensionStatus.PENDING:
        raise WrongState(_("This extension request was already decided."))
    if not approve and not note.strip():
        raise InvalidInput(_("Say why the extension is rejected."), "note")
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    with transaction.atomic():
        changes = {}
        if approve:
            changes = {"deadline": extension.new_deadline}
            if problem.original_deadline is None:
                changes["original_deadline"] = problem.deadline
        _bump(problem, **changes)
        updated = Extension.objects.filter(pk=extension.pk, status=ExtensionStatus.PENDING).update(
            status=status, decided_by=by, decided_at=timezone.now(), decision_note=note
        )
        if not updated:
            raise Conflict(_("This extension request was decided a moment ago."))
        if approve:
            problem.refresh_pace_bounds()
            Problem.objects.filter(pk=problem.pk).update(
                pace_behind_from=problem.pace_behind_from, pace_ahead_until=problem.pace_ahead_until
            )
        _record(
            problem,
            by,
            membership,
            f"extension.{status}",
            {"deadline": _iso(extension.old_deadline)},
            {"extension": extension.pk, "deadline": _iso(problem.deadline), "note": note},
        )
    extension.refresh_from_db()
    return extension


def _iso(value):
    return value.isoformat() if value else None


# --- closing application, signatures, acceptance, notice -------------------------------


def missing_materials(problem: Problem) -> list[str]:
    """Checklist categories of the inspection for which the problem has no file yet."""
    present = set(problem.evidence.values_list("category", flat=True))
    return [c for c in problem.inspection.closing_checklist if c not in present]


def open_application(problem: Problem) -> ClosingApplication | None:
    return problem.closing_applications.filter(status=ApplicationStatus.SUBMITTED).first()


def content_hash(application: ClosingApplication) -> str:
    payload = json.dumps(application.signed_content(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def apply_for_closing(problem: Problem, *, by, summary: str, self_check: str) -> ClosingApplication:
    """申请销号: with a self-check statement and every file on the problem as evidence."""
    membership = _check(problem, "apply_for_closing", by)
    if not summary.strip():
        raise InvalidInput(_("Describe what was done."), "summary")
    if not self_check.strip():
        raise InvalidInput(_("Write the self-check statement."), "self_check")
    missing = missing_materials(problem)
    if missing:
        raise InvalidInput(
            _("Materials still missing from the evidence catalogue: %(list)s.")
            % {"list": "、".join(missing)}
        )
    open_children = problem.children.exclude(state=State.CLOSED)
    if open_children.exists():
        raise WrongState(
            _("%(n)d child problems are not closed yet; a parent closes only after all of them.")
            % {"n": open_children.count()}
        )
    with transaction.atomic():
        _state_change(problem, by, membership, "closing.apply", State.CLOSING_APPLIED)
        application = ClosingApplication.objects.create(
            problem=problem, summary=summary, self_check=self_check, submitted_by=by
        )
        application.evidence.set(problem.evidence.all())
        _record(
            problem,
            by,
            membership,
            "closing.application",
            {},
            {
                "application": application.pk,
                "content_hash": content_hash(application),
                "evidence": sorted(problem.evidence.values_list("sha256", flat=True)),
            },
            target=application,
        )
    return application


def edit_application(problem: Problem, *, by, summary: str, self_check: str) -> ClosingApplication:
    """Editing after signing voids the signatures: they covered the old content."""
    membership = _check(problem, "edit_application", by)
    application = open_application(problem)
    if not summary.strip() or not self_check.strip():
        raise InvalidInput(_("Both what was done and the self-check statement are required."))
    with transaction.atomic():
        _bump(problem)
        before = {
            "summary": application.summary,
            "self_check": application.self_check,
            "content_hash": content_hash(application),
        }
        application.summary, application.self_check = summary, self_check
        application.edited_at = timezone.now()
        application.save(update_fields=["summary", "self_check", "edited_at"])
        application.evidence.set(problem.evidence.all())
        voided = _void_signatures(application, "application edited after signing")
        _record(
            problem,
            by,
            membership,
            "closing.edit",
            before,
            {
                "summary": summary,
                "self_check": self_check,
                "content_hash": content_hash(application),
                "voided_signatures": voided,
            },
            target=application,
        )
    return application


def withdraw_application(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "withdraw_application", by)
    application = open_application(problem)
    with transaction.atomic():
        _state_change(problem, by, membership, "closing.withdraw", State.IN_PROGRESS)
        application.status = ApplicationStatus.WITHDRAWN
        application.save(update_fields=["status"])
    return problem


def _signature(
    problem: Problem, *, by, statement: str, name: str, role: str, expected_hash=None
) -> Signature:
    membership = _check(problem, name, by)
    if not statement.strip():
        raise InvalidInput(_("Write the statement you sign."), "statement")
    application = open_application(problem)
    # The signer signs what the page showed; if the application changed since, they must see
    # it again. (A change racing with this is caught by the version check in _bump.)
    if expected_hash and expected_hash != content_hash(application):
        raise Conflict(
            _("The application changed after you opened it. Read it again before you sign.")
        )
    with transaction.atomic():
        _bump(problem)
        digest = content_hash(application)
        try:
            with transaction.atomic():
                signature = Signature.objects.create(
                    application=application,
                    signer=by,
                    role=role,
                    statement=statement,
                    content_hash=digest,
                )
        except IntegrityError:
            raise WrongState(_("This application already carries this signature.")) from None
        _record(
            problem,
            by,
            membership,
            f"closing.{name}",
            {},
            {"application": application.pk, "statement": statement, "content_hash": digest},
            target=application,
        )
        needed = {SignatureRole.UNIT_HEAD} | (
            {SignatureRole.LEAD_OFFICIAL} if problem.lead_official_id else set()
        )
        have = set(
            application.signatures.filter(voided_at__isnull=True).values_list("role", flat=True)
        )
        if needed <= have:
            _bump(problem, state=State.UNDER_ACCEPTANCE, acceptance_level=0)
            _record(
                problem,
                None,
                None,
                "acceptance.start",
                {"state": State.CLOSING_APPLIED},
                {"state": State.UNDER_ACCEPTANCE, "level": problem.inspection.acceptance_levels[0]},
            )
    return signature


def sign(problem: Problem, *, by, statement: str, expected_hash=None) -> Signature:
    """签字: the unit head signs the closing application (as shown: `expected_hash`)."""
    return _signature(
        problem,
        by=by,
        statement=statement,
        name="sign",
        role=SignatureRole.UNIT_HEAD,
        expected_hash=expected_hash,
    )


def endorse(problem: Problem, *, by, statement: str, expected_hash=None) -> Signature:
    """背书: the lead official endorses the closing application (as shown: `expected_hash`)."""
    return _signature(
        problem,
        by=by,
        statement=statement,
        name="endorse",
        role=SignatureRole.LEAD_OFFICIAL,
        expected_hash=expected_hash,
    )


def _level_acceptor(problem: Problem, by):
    """The acceptor membership of `by` at the acceptance level the problem is at, if any."""
    level = problem.inspection.acceptance_levels[problem.acceptance_level]
    for m in acting_memberships(by, problem, (Role.ACCEPTOR,)):
        if m.unit.region.level == level:
            return m
    return None


def acting_memberships(by, problem, roles):
    from duban.org.scope import memberships

    return [
        m
        for m in memberships(by)
        if m.role in roles and problem.region_path.startswith(m.unit.region.path)
    ]


def accept(
    problem: Problem, *, by, site_check: str, today: dt.date | None = None
) -> AcceptanceReview:
    """One acceptance level accepts; after the last level the public notice opens (from
    `today`, default the local date; its end counts working days of the holiday calendar)."""
    membership = check(problem, "accept", by)
    if not site_check.strip():
        raise InvalidInput(_("Record the site-check conclusion."), "site_check")
    application = open_application(problem)
    levels = problem.inspection.acceptance_levels
    level = problem.acceptance_level
    with transaction.atomic():
        last = level + 1 >= len(levels)
        if last:
            _bump(problem, state=State.PUBLIC_NOTICE)
        else:
            _bump(problem, acceptance_level=level + 1)
        review = _review(application, level, by, Decision.ACCEPTED, site_check)
        _record(
            problem,
            by,
            membership,
            "acceptance.accept",
            {"state": State.UNDER_ACCEPTANCE, "level": levels[level]},
            {"state": problem.state, "level": levels[level], "site_check": site_check},
            target=application,
        )
        if last:
            application.status = ApplicationStatus.ACCEPTED
            application.save(update_fields=["status"])
            today = today or timezone.localdate()
            days = problem.inspection.notice_working_days
            notice = PublicNotice.objects.create(
                problem=problem,
                application=application,
                starts_on=today,
                ends_on=add_working_days(today, days),
                text=application.summary,
            )
            _record(
                problem,
                None,
                None,
                "notice.open",
                {},
                {
                    "notice": notice.pk,
                    "starts_on": notice.starts_on.isoformat(),
                    "ends_on": notice.ends_on.isoformat(),
                    "working_days": days,
                },
            )
    return review


def _review(application, level, by, decision, site_check, reasons="") -> AcceptanceReview:
    """One level's decision; a second decision at the same level loses the race cleanly."""
    try:
        with transaction.atomic():
            return AcceptanceReview.objects.create(
                application=application,
                level=level,
                level_name=application.problem.inspection.acceptance_levels[level],
                reviewer=by,
                decision=decision,
                site_check=site_check,
                reasons=reasons,
            )
    except IntegrityError:
        raise Conflict(_("This level was decided a moment ago by someone else.")) from None


def return_application(problem: Problem, *, by, site_check: str, reasons: str) -> AcceptanceReview:
    """退回: the level returns the application; the problem goes back to in progress."""
    membership = check(problem, "return", by)
    if not reasons.strip():
        raise InvalidInput(_("Say why the application is returned."), "reasons")
    application = open_application(problem)
    levels = problem.inspection.acceptance_levels
    level = problem.acceptance_level
    with transaction.atomic():
        _bump(problem, state=State.IN_PROGRESS, acceptance_level=0)
        review = _review(application, level, by, Decision.RETURNED, site_check, reasons)
        application.status = ApplicationStatus.RETURNED
        application.save(update_fields=["status"])
        _record(
            problem,
            by,
            membership,
            "acceptance.return",
            {"state": State.UNDER_ACCEPTANCE, "level": levels[level]},
            {"state": State.IN_PROGRESS, "reasons": reasons, "site_check": site_check},
            target=application,
        )
    return review


def open_notice(problem: Problem) -> PublicNotice | None:
    return problem.notices.filter(status=NoticeStatus.OPEN).first()


def pending_objections(problem: Problem):
    """Objections received during the open notice and not decided yet: they stop the close."""
    return Objection.objects.filter(
        notice__problem=problem,
        notice__status=NoticeStatus.OPEN,
        status=ObjectionStatus.PENDING,
    )


def record_objection(problem: Problem, *, by, text: str, pending: bool = False) -> Objection:
    """An objection during 公示: upheld at once, the problem returns to in progress; or, with
    `pending`, received for the office to decide (decide_objection) — meanwhile the notice
    does not end."""
    membership = _check(problem, "record_objection", by)
    if not text.strip():
        raise InvalidInput(_("Write down the objection."), "text")
    notice = open_notice(problem)
    if pending:
        with transaction.atomic():
            _bump(problem)
            objection = Objection.objects.create(
                notice=notice,
                text=text,
                recorded_by=by,
                upheld=False,
                status=ObjectionStatus.PENDING,
            )
            _record(
                problem,
                by,
                membership,
                "notice.objection.received",
                {},
                {"objection": objection.pk, "text": text},
                target=notice,
            )
        return objection
    with transaction.atomic():
        _state_change(
            problem, by, membership, "notice.objection", State.IN_PROGRESS, acceptance_level=0
        )
        objection = Objection.objects.create(notice=notice, text=text, recorded_by=by)
        notice.status = NoticeStatus.OBJECTED
        notice.save(update_fields=["status"])
        _record(problem, by, membership, "notice.objection.text", {}, {"text": text}, target=notice)
    return objection


def decide_objection(objection: Objection, *, by, uphold: bool, note: str = "") -> Objection:
    """The office decides a received objection: upheld → the problem returns to in progress
    (as an objection upheld at once); dismissed → the notice may end."""
    problem = objection.notice.problem
    membership = _check(problem, "record_objection", by)
    if refusal := duties.conflict(problem, "decide_objection", by):
        raise NotAllowed(refusal)
    if objection.status != ObjectionStatus.PENDING or objection.notice.status != NoticeStatus.OPEN:
        raise WrongState(_("This objection was already decided."))
    if not uphold and not note.strip():
        raise InvalidInput(_("Say why the objection is dismissed."), "text")
    status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    with transaction.atomic():
        if uphold:
            _state_change(
                problem, by, membership, "notice.objection", State.IN_PROGRESS, acceptance_level=0
            )
            PublicNotice.objects.filter(pk=objection.notice_id).update(status=NoticeStatus.OBJECTED)
        else:
            _bump(problem)
        updated = Objection.objects.filter(pk=objection.pk, status=ObjectionStatus.PENDING).update(
            status=status,
            upheld=uphold,
            decided_by=by,
            decided_at=timezone.now(),
            decision_note=note,
        )
        if not updated:
            raise Conflict(_("This objection was decided a moment ago."))
        _record(
            problem,
            by,
            membership,
            f"notice.objection.{status}",
            {"objection": objection.pk, "status": ObjectionStatus.PENDING},
            {"objection": objection.pk, "status": status, "note": note},
            target=objection.notice,
        )
    objection.refresh_from_db()
    return objection


def end_notice(problem: Problem, *, by, today: dt.date | None = None) -> Problem:
    """End the public notice and close (销号); refused before the period is over."""
    membership = _check(problem, "end_notice", by)
    notice = open_notice(problem)
    today = today or timezone.localdate()
    if today <= notice.ends_on:
        raise WrongState(
            _("The public notice runs until %(date)s; it can be ended after that day.")
            % {"date": notice.ends_on.isoformat()}
        )
    if problem.children.exclude(state=State.CLOSED).exists():
        raise WrongState(
            _("Child problems are still open; a parent closes only after all of them.")
        )
    with transaction.atomic():
        _state_change(
            problem,
            by,
            membership,
            "close",
            State.CLOSED,
            closed_at=timezone.now(),
            progress_percent=100,
        )
        notice.status = NoticeStatus.ENDED
        notice.save(update_fields=["status"])
    return problem


def close_after_notice(
    problem: Problem, *, today: dt.date, now: dt.datetime | None = None, open_children=None
):
    """The notice's last day has passed: the system ends it and closes the problem (销号).

    Taken by the supervision sweep (actor None, role "system"). Returns the problem, or None
    when it does not close now: an objection waits for a decision, a child problem is open, or
    someone else changed the problem a moment ago (a second sweeper). Nothing is written then.
    A sweep closing many problems passes `open_children` (whether the problem has open child
    problems), read for all of them in one query.
    """
    notice = open_notice(problem)
    if problem.state != State.PUBLIC_NOTICE or notice is None or today <= notice.ends_on:
        return None
    if open_children is None:
        open_children = problem.children.exclude(state=State.CLOSED).exists()
    if open_children or pending_objections(problem).exists():
        return None
    now = now or timezone.now()
    try:
        with transaction.atomic():
            before = {"state": problem.state}
            _bump(problem, state=State.CLOSED, closed_at=now, progress_percent=100)
            ended = PublicNotice.objects.filter(pk=notice.pk, status=NoticeStatus.OPEN).update(
                status=NoticeStatus.ENDED
            )
            if not ended:
                raise Conflict(_("The public notice was ended a moment ago."))
            audit.record(
                actor=None,
                role="system",
                action="close",
                target=problem,
                before=before,
                after={
                    "state": State.CLOSED,
                    "closed_at": now.isoformat(),
                    "progress_percent": 100,
                    "notice": notice.pk,
                    "notice_ended_on": notice.ends_on.isoformat(),
                    "automatic": True,
                },
                problem_id=problem.pk,
            )
    except Conflict:
        return None
    return problem


# Another app's action that keeps files with a problem (a look-back check, duban.lookback) uses
# the same content checks and storage: store_files before its transaction (checked, hashed,
# thumbnailed and written, slow work outside any lock), then store_evidence for each inside
# `with files_removed_on_failure(stored), transaction.atomic():`.
def store_files(files) -> list[StoredFile]:
    return _stored_all(files)


def store_evidence(problem, by, membership, stored: StoredFile, category, title="") -> Evidence:
    return _store_evidence(problem, by, membership, stored, category, title)


def files_removed_on_failure(stored: list[StoredFile]):
    return _files_removed_on_failure(stored)


def reopen_after_rebound(problem: Problem, *, by, membership, reason: str, check=None) -> Problem:
    """反弹: a look-back check found the problem back; it reopens to in progress, marked rebound.

    Called by duban.lookback's record action, which has checked that `by` is the drawn checker
    of this problem (a cross-check may come from outside the problem's own scope) and passes
    the `membership` he acts under; here the state is checked and the change made and audited.
    """
    transition = FOLLOW_UP_TRANSITIONS["reopen_after_rebound"]
    if problem.state not in transition.sources:
        raise WrongState(
            _("This problem is %(state)s; “%(action)s” is not possible now.")
            % {"state": problem.get_state_display(), "action": transition.label}
        )
    if not reason.strip():
        raise InvalidInput(_("Say what was found."), "findings")
    with transaction.atomic():
        before = {"state": problem.state, "closed_at": _iso(problem.closed_at)}
        # The closing date goes with the closed state; the audit event keeps it.
        _bump(
            problem,
            state=transition.target,
            is_rebound=True,
            acceptance_level=0,
            closed_at=None,
        )
        _record(
            problem,
            by,
            membership,
            "rebound.reopen",
            before,
            {"state": transition.target, "rebound": True, "reasons": reason, "check": check},
        )
    return problem
