"""Scope: the one place that decides what a user may see and in which role they act.

Every list, detail page, API route, export and download asks here; nothing else
filters by user. Out of scope is answered as "not found" (404), never as a hint
that the object exists.
"""

from django.db.models import Q

from .models import BUSINESS_ROLES, REGION_ROLES, UNIT_ROLES, Membership, Role


def memberships(user) -> list[Membership]:
    """The user's memberships with unit and region, loaded once per request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_duban_memberships", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user).select_related("unit__region").order_by("id")
        )
        user._duban_memberships = cached
    return cached


def roles_of(user) -> set[str]:
    return {m.role for m in memberships(user)}


def has_business_role(user) -> bool:
    return bool(roles_of(user) & BUSINESS_ROLES)


def business_region_paths(user) -> list[str]:
    """The outermost region paths in which the user holds a business role."""
    return region_paths(user, *BUSINESS_ROLES)


def region_paths(user, *roles) -> list[str]:
    """The outermost region paths of the units where the user holds one of `roles`."""
    return sorted(_outermost({m.unit.region.path for m in memberships(user) if m.role in roles}))


def membership_over(user, role, region_path: str) -> Membership | None:
    """The user's membership in `role` at a unit whose region is, or lies above, `region_path`."""
    for m in memberships(user):
        if m.role == role and region_path.startswith(m.unit.region.path):
            return m
    return None


def under_any(field: str, paths) -> Q:
    """`field` (a region path) lies under one of `paths`; nothing when there are none."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__startswith": path})
    return q


def problem_scope_q(user) -> Q | None:
    """A filter on Problem for everything the user may read, or None for nothing."""
    from duban.ledger.models import ProblemUnit

    clauses = []
    region_paths = {m.unit.region.path for m in memberships(user) if m.role in REGION_ROLES}
    unit_paths = {m.unit.path for m in memberships(user) if m.role in UNIT_ROLES}
    for path in sorted(_outermost(region_paths)):
        clauses.append(Q(region_path__startswith=path))
    if unit_paths:
        unit_q = Q()
        for path in _outermost(unit_paths):
            unit_q |= Q(unit__path__startswith=path)
        clauses.append(Q(pk__in=ProblemUnit.objects.filter(unit_q).values("problem_id")))
    if any(m.role == Role.LEAD_OFFICIAL for m in memberships(user)):
        clauses.append(Q(lead_official=user))
    return _any(clauses)


def _any(clauses: list[Q]) -> Q | None:
    """The clauses joined with OR; None (nothing visible) when there are none."""
    if not clauses:
        return None
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


def _outermost(paths: set[str]) -> set[str]:
    """Drop paths that lie inside another path of the set."""
    return {p for p in paths if not any(o != p and p.startswith(o) for o in paths)}


def inspection_scope_q(user) -> Q | None:
    """Inspections whose target region overlaps the user's business scope."""
    clauses = []
    for m in memberships(user):
        if m.role not in BUSINESS_ROLES:
            continue
        path = m.unit.region.path
        # The inspection covers the user's region (a provincial round seen from a county),
        # or lies inside it (a county round seen from the city office).
        clauses.append(Q(target_region__path__startswith=path))
        prefixes = [path[:n] for n in range(2, len(path) + 1)]
        clauses.append(Q(target_region__path__in=prefixes))
    return _any(clauses)


def acting_membership(user, problem, roles) -> Membership | None:
    """The membership through which `user` may act on `problem` in one of `roles`.

    Office, acceptors: the problem's region lies in the unit's region.
    Liaison and unit head: the problem's lead unit is their unit.
    Lead official: the user is the problem's lead official.
    """
    for m in memberships(user):
        if m.role not in roles:
            continue
        if m.role in (Role.OFFICE, Role.ACCEPTOR, Role.DISCIPLINE):
            if problem.region_path.startswith(m.unit.region.path):
                return m
        elif m.role in UNIT_ROLES:
            if problem.lead_unit_id == m.unit_id:
                return m
        elif m.role == Role.LEAD_OFFICIAL:
            if problem.lead_official_id == user.pk:
                return m
    return None
