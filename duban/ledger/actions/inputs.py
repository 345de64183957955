"""What a problem is made of, checked: its fields, measures and milestones, and the scope they must lie in."""

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from duban.core import limits
from duban.core.exceptions import Conflict, InvalidInput, NotAllowed
from duban.org.models import Role
from duban.org.scope import holds_role_in, in_region_of, lies_in, membership_over

from ..models import (
    Measure,
    Milestone,
    Problem,
    ProblemUnit,
    UnitRole,
    link_copies,
)

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
    copies = link_copies(problem)
    links = []
    if problem.lead_unit_id:
        links.append(
            ProblemUnit(problem=problem, unit_id=problem.lead_unit_id, role=UnitRole.LEAD, **copies)
        )
    for unit in co_units or []:
        links.append(ProblemUnit(problem=problem, unit=unit, role=UnitRole.CO, **copies))
    for unit in implementing_units or []:
        links.append(ProblemUnit(problem=problem, unit=unit, role=UnitRole.IMPLEMENTING, **copies))
    if problem.parent_id and problem.parent.lead_unit_id:
        links.append(
            ProblemUnit(
                problem=problem,
                unit_id=problem.parent.lead_unit_id,
                role=UnitRole.SUPERVISING,
                **copies,
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
    membership = membership_over(by, Role.OFFICE, region.path)
    if membership is None:
        raise NotAllowed(
            _("Only the rectification office of this region may register problems here.")
        )
    return membership


def _check_units_in_scope(membership, units) -> None:
    """An office links only units of its own region: linked units' staff will see the problem."""
    for unit in units:
        if unit is not None and not in_region_of(membership, unit.region.path):
            raise InvalidInput(
                _("%(unit)s lies outside the region of your office.") % {"unit": unit}, "lead_unit"
            )


def _check_official_in_scope(membership, official) -> None:
    """The lead official sees and endorses the problem: one of the office's region only."""
    if official is None:
        return
    if not holds_role_in(official, Role.LEAD_OFFICIAL, membership.unit.region.path):
        raise InvalidInput(_("Choose a lead official of your region."), "lead_official")


def _check_inspection_covers(inspection, region) -> None:
    if not lies_in(region.path, inspection.target_region.path):
        raise InvalidInput(
            _("%(region)s lies outside the region of the inspection (%(target)s).")
            % {"region": region, "target": inspection.target_region},
            "region",
        )
