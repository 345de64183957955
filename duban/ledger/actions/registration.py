"""Registering problems (one, many from an imported list), editing and splitting them."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import ActionError, InvalidInput
from duban.org.models import Region, Unit
from duban.org.scope import lies_in

from .. import counts
from ..models import (
    Measure,
    Milestone,
    Problem,
    ProblemUnit,
    State,
    UnitRole,
    link_copies,
)
from ..pace import pace_bounds
from ..transitions import INITIAL, IllegalMove
from .base import _bump, _check, _record, copy_to_links
from .inputs import (
    PROBLEM_FIELDS,
    MeasureInput,
    _check_inspection_covers,
    _check_measures,
    _check_milestones,
    _check_office_scope,
    _check_official_in_scope,
    _check_units_in_scope,
    _check_version,
    _set_measures,
    _set_milestones,
    _set_units,
    _validate_problem,
    _value_for_audit,
)
from .plan import assign


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
    if problem.state != INITIAL:
        raise IllegalMove("A problem is born registered; the transition table moves it on.")
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
        counts.record_change(None, problem)
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


def register_problems(
    *, by, inspection, items, batch_size: int = 1000, progress=None, on_batch=None, finish=None
) -> list:
    """Register many problems as create_problem() would each, all or none.

    The same checks refuse the same items, but every item is checked before anything is
    written, and a refusal names each item (InvalidItems). Rows go in with bulk inserts of
    `batch_size`, the audit events with audit.record_many(); `progress(done, total)` is called
    after each batch.

    Each batch commits in its own transaction, with its events: the audit chain's head is
    held for one batch's append at a time, so other people's actions go on during a long
    import. If a batch fails, the problems of the batches before it are deleted again
    (undo_registration) and the error is raised: whoever imported sees all or none. (Inside
    a caller's transaction the batches are savepoints and the same undo keeps that
    transaction all or none.) `on_batch(problems)` runs inside each batch's transaction (a
    caller notes what was written, to undo it should its process die before the end), and
    `finish()` last inside the last one (a caller's outcome commits with the rows); if either
    raises, that batch rolls back and the others are undone the same way.
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
    registered = []
    try:
        for first in range(0, max(len(pairs), 1), batch_size):
            batch = pairs[first : first + batch_size]
            with transaction.atomic():
                _insert_batch(batch, by, offices, inspection)
                if on_batch is not None and batch:
                    on_batch([problem for problem, _item in batch])
                if finish is not None and first + batch_size >= len(pairs):
                    finish()
            registered += [problem.pk for problem, _item in batch]
            if progress:
                progress(first + len(batch), len(pairs))
    except BaseException:  # Ctrl-C in `duban import_ledger` too
        if registered:
            role = next(iter(offices.values())).role
            undo_registration(
                registered, by=by, role=role, reason="a later batch of the same import failed"
            )
        raise
    return problems


def undo_registration(problem_ids, *, by, role: str, reason: str, chunk: int = 1000) -> int:
    """Delete problems that an import registered but did not finish, in one transaction.

    Each gets a "problem.import_undone" event after its "problem.create" (the chain keeps
    both); returns how many were deleted. Used when a later batch of the import fails, and by
    the sweep when the worker running an import stopped (duban.documents.jobs).
    """
    problem_ids, deleted = list(problem_ids), 0
    with transaction.atomic():
        for first in range(0, len(problem_ids), chunk):
            part = problem_ids[first : first + chunk]
            found = list(Problem.objects.filter(pk__in=part).only("ledger_number", *counts.FIELDS))
            Problem.objects.filter(pk__in=part).delete()
            counts.record_removed(found)
            deleted += len(found)
            audit.record_many(
                {
                    "actor": by,
                    "role": role,
                    "action": "problem.import_undone",
                    "target": ("ledger.problem", problem.pk),
                    "before": {"ledger_number": problem.ledger_number},
                    "after": {"reason": reason},
                    "problem_id": problem.pk,
                }
                for problem in found
            )
    return deleted


def _insert_batch(batch, by, offices, inspection) -> None:
    if not batch:
        return
    Problem.objects.bulk_create([problem for problem, _item in batch])
    counts.record_added(problem for problem, _item in batch)
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
                    links.append(
                        ProblemUnit(problem=problem, unit=unit, role=role, **link_copies(problem))
                    )
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
    was_counted = counts.counted(problem)
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
        # A new region or deadline moves the problem between the counts (counts.py).
        counts.record_change(was_counted, problem)
        # save() above wrote the deadline without _bump: its unit links copy it here.
        copy_to_links([problem])
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
            if not lies_in(unit.region.path, parent.region_path):
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
