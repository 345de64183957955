"""Assignment, claiming and the rectification plan."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.exceptions import InvalidInput

from ..models import (
    Problem,
    State,
)
from .base import _bump, _check, _record, _state_change, store_pace_bounds
from .inputs import (
    _check_measures,
    _check_milestones,
    _check_version,
    _set_measures,
    _set_milestones,
)

# --- assignment and plan -------------------------------------------------------------


def assign(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "assign", by)
    if not problem.lead_unit_id:
        raise InvalidInput(_("Choose the lead unit before assigning."), "lead_unit")
    now = timezone.now()
    with transaction.atomic():
        _state_change(
            problem, by, membership, "assign", State.ASSIGNED, event="assign", assigned_at=now
        )
        store_pace_bounds(problem)
    return problem


def claim(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "claim", by)
    with transaction.atomic():
        _state_change(problem, by, membership, "claim", State.CLAIMED, event="claim")
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
        store_pace_bounds(problem)
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
        _state_change(
            problem, by, membership, "submit_plan", State.PLAN_SUBMITTED, event="plan.submit"
        )
    return problem


def approve_plan(problem: Problem, *, by, note: str = "") -> Problem:
    membership = _check(problem, "approve_plan", by)
    with transaction.atomic():
        _state_change(
            problem, by, membership, "approve_plan", State.IN_PROGRESS, event="plan.approve"
        )
        if note:
            _record(problem, by, membership, "plan.approve.note", {}, {"note": note})
    return problem


def reject_plan(problem: Problem, *, by, reasons: str) -> Problem:
    membership = _check(problem, "reject_plan", by)
    if not reasons.strip():
        raise InvalidInput(_("Say why the plan is returned."), "reasons")
    with transaction.atomic():
        _state_change(problem, by, membership, "reject_plan", State.CLAIMED)
        _record(
            problem,
            by,
            membership,
            "plan.return",
            {"state": State.PLAN_SUBMITTED},
            {"state": State.CLAIMED, "reasons": reasons},
        )
    return problem
