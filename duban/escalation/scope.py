"""Who reads what in escalation; every path and membership question asked of duban.org.scope.

- Supervision notices: liaison and unit head of the unit (and units above it); office,
  discipline and viewer of a region covering the unit's region.
- Circulars: office, discipline and viewer whose region overlaps the circular's region (that
  of the office circulating it); liaison and unit head read an issued circular that names
  their unit. Only office staff at or above the circular's region approve or discard.
- Interviews (约谈): read like the unit's notices; the office of the unit's region edits them.
- Accountability records: the discipline role of a region covering the record's region.
Out of scope is 404; in scope without the role to act is 403.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404

from duban.accounts.models import User
from duban.org.models import UNIT_ROLES, Role
from duban.org.scope import (
    any_of,
    at_or_above,
    is_member_of,
    membership_over,
    overlapping,
    region_paths,
    under,
    under_any,
    unit_paths,
)

from .models import (
    AccountabilityRecord,
    Circular,
    CircularStatus,
    Interview,
    Recipient,
    SupervisionNotice,
)

READER_ROLES = {Role.OFFICE, Role.DISCIPLINE, Role.VIEWER}


def notice_scope_q(user) -> Q | None:
    clauses = [under("unit__region__path", p) for p in region_paths(user, *READER_ROLES)]
    clauses += [under("unit__path", p) for p in unit_paths(user, *UNIT_ROLES)]
    return any_of(clauses)


def notices_for(user):
    q = notice_scope_q(user)
    qs = SupervisionNotice.objects.select_related("unit", "inspection")
    return qs.none() if q is None else qs.filter(q)


def get_notice_for_user(user, pk) -> SupervisionNotice:
    return get_object_or_404(notices_for(user), pk=pk)


def interviews_for(user):
    """Interviews (约谈) are read by the same people as the unit's notices."""
    q = notice_scope_q(user)
    qs = Interview.objects.select_related("unit__region", "inspection", "circular")
    return qs.none() if q is None else qs.filter(q)


def get_interview_for_user(user, pk) -> Interview:
    return get_object_or_404(interviews_for(user), pk=pk)


def is_unit_member(user, unit, roles=UNIT_ROLES) -> bool:
    return is_member_of(user, unit, roles)


def circular_scope_q(user) -> Q | None:
    # The circular lies in the user's region, or covers it (a city circular seen from a county).
    clauses = [overlapping("region__path", p) for p in region_paths(user, *READER_ROLES)]
    for path in unit_paths(user, *UNIT_ROLES):
        clauses.append(Q(status=CircularStatus.APPROVED) & under("entries__unit__path", path))
    return any_of(clauses)


def circulars_for(user):
    q = circular_scope_q(user)
    qs = Circular.objects.select_related("inspection", "region", "decided_by")
    # Through a subquery: a filter joined on the entries would make counts over the entries
    # (the list's units and problems) count only the user's own unit's.
    return qs.none() if q is None else qs.filter(pk__in=Circular.objects.filter(q).values("pk"))


def get_circular_for_user(user, pk) -> Circular:
    return get_object_or_404(circulars_for(user), pk=pk)


def is_office_over(user, region) -> bool:
    return membership_over(user, Role.OFFICE, region.path) is not None


def records_for(user):
    paths = region_paths(user, Role.DISCIPLINE)
    qs = AccountabilityRecord.objects.select_related("unit", "region")
    return qs.filter(under_any("region_path", paths)) if paths else qs.none()


def get_record_for_user(user, pk) -> AccountabilityRecord:
    return get_object_or_404(records_for(user), pk=pk)


def discipline_membership(user, region):
    return membership_over(user, Role.DISCIPLINE, region.path)


# --- recipients -------------------------------------------------------------------------


def _over(region, role) -> list[User]:
    above = at_or_above("memberships__unit__region__path", region.path)
    return list(User.objects.filter(above, memberships__role=role).distinct())


def offices_over(region) -> list[User]:
    return _over(region, Role.OFFICE)


def discipline_over(region) -> list[User]:
    return _over(region, Role.DISCIPLINE)


def recipients(choices, unit, problems=()) -> list[User]:
    """The people behind a policy's recipient choices, for a rung against `unit`."""
    people: dict[int, User] = {}
    roles = {Recipient.LIAISON: Role.LIAISON, Recipient.UNIT_HEAD: Role.UNIT_HEAD}
    unit_roles = [role for choice, role in roles.items() if choice in choices]
    if unit_roles:
        members = User.objects.filter(
            memberships__unit=unit, memberships__role__in=unit_roles
        ).distinct()
        people.update((u.pk, u) for u in members)
    if Recipient.LEAD_OFFICIAL in choices:
        ids = {p.lead_official_id for p in problems if p.lead_official_id}
        people.update((u.pk, u) for u in User.objects.filter(pk__in=ids))
    if Recipient.OFFICE in choices:
        people.update((u.pk, u) for u in offices_over(unit.region))
    if Recipient.DISCIPLINE in choices:
        people.update((u.pk, u) for u in discipline_over(unit.region))
    return list(people.values())
