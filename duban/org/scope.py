"""Scope: the one place that decides what a user may see and in which role they act.

Every list, detail page, API route, export and download asks here; nothing else
filters by user. Out of scope is answered as "not found" (404), never as a hint
that the object exists.

Two trees give scope. A region's path is the significant prefix of its division
code ("33", "3305", "330502"); a unit's path is the chain of its ids ("/1/5/").
In both, a path lies in another when it starts with it.

The rule, checked by duban/org/tests/test_scope_in_one_place.py:
- Only this module compares paths. Nobody else writes `path.startswith(...)`, a
  `…path__startswith` lookup or a list of a path's prefixes, and nobody else walks a
  user's memberships to find the one that acts: they ask the questions below.
- Querysets of other apps (ledger/querysets.py, escalation/scope.py, the selectors)
  keep their ORM filters, built here: they pass the name of their path field to
  `under`, `under_any`, `at_or_above` or `overlapping`, or their table of problem
  links to `problem_scope_q`.
- This module imports org's models only (it sits below audit, inspections and the
  ledger); objects of higher apps come in duck-typed (a problem has `region_path`,
  `lead_unit_id`, `lead_official_id`) or as a queryset passed in.
"""

from django.db.models import Q

from .models import BUSINESS_ROLES, REGION_ROLES, UNIT_ROLES, Membership, Role

# --- paths ------------------------------------------------------------------------------


def lies_in(path: str, outer: str) -> bool:
    """`path` is `outer` or lies below it (same tree: two region paths or two unit paths)."""
    return path.startswith(outer)


def nested(a: str, b: str) -> bool:
    """One of two paths lies in the other: the same place, or one above the other."""
    return lies_in(a, b) or lies_in(b, a)


def lies_in_any(path: str, outers) -> bool:
    return any(lies_in(path, outer) for outer in outers)


def paths_above(path: str, *, itself: bool = True) -> list[str]:
    """Every prefix a path above `path` may have (and `path` itself unless itself=False)."""
    return [path[:n] for n in range(2, len(path) + (1 if itself else 0))]


def outermost(paths) -> set[str]:
    """Drop paths that lie inside another path of the set."""
    paths = set(paths)
    return {p for p in paths if not any(o != p and lies_in(p, o) for o in paths)}


def topmost(paths, among) -> set[str]:
    """Those of `paths` with no path of `among` strictly above them."""
    return {p for p in paths if not any(o != p and lies_in(p, o) for o in among)}


# --- the same questions in SQL: callers name their path field -----------------------------


def under(field: str, path: str) -> Q:
    """`field` (a path) is `path` or lies below it."""
    return Q(**{f"{field}__startswith": path})


def under_any(field: str, paths) -> Q:
    """`field` (a path) lies under one of `paths`; nothing when there are none."""
    q = Q(pk__in=[])
    for path in paths:
        q |= under(field, path)
    return q


def at_or_above(field: str, path: str, *, itself: bool = True) -> Q:
    """`field` (a path) is `path` (unless itself=False) or lies above it."""
    return Q(**{f"{field}__in": paths_above(path, itself=itself)})


def overlapping(field: str, path: str) -> Q:
    """`field` (a path) lies in `path` or covers it: a county round seen from the city, and a
    provincial round seen from a county."""
    return under(field, path) | at_or_above(field, path)


def any_of(clauses: list[Q]) -> Q | None:
    """The clauses joined with OR; None (nothing visible) when there are none."""
    if not clauses:
        return None
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


# --- the user's memberships ----------------------------------------------------------------


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


def memberships_as(user, *roles) -> list[Membership]:
    """The user's memberships in one of `roles`, in the order they were granted."""
    return [m for m in memberships(user) if m.role in roles]


def roles_of(user) -> set[str]:
    return {m.role for m in memberships(user)}


def has_business_role(user) -> bool:
    return bool(roles_of(user) & BUSINESS_ROLES)


def business_region_paths(user) -> list[str]:
    """The outermost region paths in which the user holds a business role."""
    return region_paths(user, *BUSINESS_ROLES)


def region_paths(user, *roles) -> list[str]:
    """The outermost region paths of the units where the user holds one of `roles`."""
    return sorted(outermost({m.unit.region.path for m in memberships_as(user, *roles)}))


def regions_of(user, role) -> list:
    """The regions in which `user` holds `role`, outermost first."""
    regions = {m.unit.region.pk: m.unit.region for m in memberships_as(user, role)}
    return sorted(regions.values(), key=lambda r: (len(r.path), r.path))


def unit_paths(user, *roles) -> list[str]:
    """The paths of the units where the user holds one of `roles`."""
    return sorted({m.unit.path for m in memberships_as(user, *roles)})


def units_of(user) -> list:
    """The units in which the user holds any role, each once."""
    return list({m.unit.pk: m.unit for m in memberships(user)}.values())


def is_member_of(user, unit, roles=UNIT_ROLES) -> bool:
    """The user holds one of `roles` in `unit` itself."""
    return any(m.unit_id == unit.pk for m in memberships_as(user, *roles))


# --- who acts over a region ---------------------------------------------------------------


def memberships_over(user, roles, region_path: str) -> list[Membership]:
    """The user's memberships in `roles` at units whose region is, or lies above, `region_path`."""
    return [m for m in memberships_as(user, *roles) if lies_in(region_path, m.unit.region.path)]


def membership_over(user, role, region_path: str) -> Membership | None:
    """The user's membership in `role` at a unit whose region is, or lies above, `region_path`:
    the office (or acceptor, discipline…) of or over that region."""
    found = memberships_over(user, (role,), region_path)
    return found[0] if found else None


def membership_overlapping(user, role, region_path: str) -> Membership | None:
    """The user's membership in `role` whose region is, lies above, or lies below `region_path`."""
    for m in memberships_as(user, role):
        if nested(region_path, m.unit.region.path):
            return m
    return None


def in_region_of(membership, region_path: str) -> bool:
    """`region_path` lies in the region of the membership's unit (an office's own region)."""
    return lies_in(region_path, membership.unit.region.path)


def region_paths_of(members) -> tuple[str, ...]:
    """The region paths of these memberships' units, in their order."""
    return tuple(m.unit.region.path for m in members)


def widest_first(members) -> list[Membership]:
    """Memberships ordered from the widest region down (the shortest path), then by user."""
    return sorted(members, key=lambda m: (len(m.unit.region.path), m.user_id))


def holders_over(role, region_path: str):
    """Memberships in `role`, of anyone, at units whose region is or lies above `region_path`."""
    return Membership.objects.filter(at_or_above("unit__region__path", region_path), role=role)


def holders_overlapping(role, region_path: str):
    """Memberships in `role` whose region lies in, or covers, `region_path`."""
    return Membership.objects.filter(overlapping("unit__region__path", region_path), role=role)


def holders_in(roles, region_path: str):
    """Memberships in one of `roles` at units of the region `region_path` or below it."""
    return Membership.objects.filter(under("unit__region__path", region_path), role__in=roles)


def holds_role_in(user, role, region_path: str) -> bool:
    """`user` (from the database, active or not) holds `role` in the region or below it."""
    return holders_in((role,), region_path).filter(user=user).exists()


# --- problems and inspections ------------------------------------------------------------------


def problem_scope_q(user, links) -> Q | None:
    """A filter on Problem for everything the user may read, or None for nothing.

    `links` is the table of the problems' units (ledger's ProblemUnit: `unit`, `problem_id`),
    passed in so that this module stays below the ledger."""
    clauses = []
    mine = memberships(user)
    regions = {m.unit.region.path for m in mine if m.role in REGION_ROLES}
    units = {m.unit.path for m in mine if m.role in UNIT_ROLES}
    for path in sorted(outermost(regions)):
        clauses.append(under("region_path", path))
    if units:
        linked = links.filter(under_any("unit__path", outermost(units)))
        clauses.append(Q(pk__in=linked.values("problem_id")))
    if any(m.role == Role.LEAD_OFFICIAL for m in mine):
        clauses.append(Q(lead_official=user))
    return any_of(clauses)


def region_only_scope(user) -> list[str] | None:
    """The region paths whose problems are exactly what `user` may read, when regions alone
    decide it (office, acceptor, discipline, viewer); None when a unit role or the lead
    official's own problems widen it (problem_scope_q's other clauses)."""
    mine = memberships(user)
    if any(m.role in UNIT_ROLES or m.role == Role.LEAD_OFFICIAL for m in mine):
        return None
    return sorted(outermost({m.unit.region.path for m in mine if m.role in REGION_ROLES}))


def inspection_scope_q(user, field: str = "target_region__path") -> Q | None:
    """Inspections whose target region overlaps the user's business scope."""
    return any_of(
        [overlapping(field, m.unit.region.path) for m in memberships_as(user, *BUSINESS_ROLES)]
    )


def acting_membership(user, problem, roles) -> Membership | None:
    """The membership through which `user` may act on `problem` in one of `roles`.

    Office, acceptors: the problem's region lies in the unit's region.
    Liaison and unit head: the problem's lead unit is their unit.
    Lead official: the user is the problem's lead official.
    """
    for m in memberships_as(user, *roles):
        if m.role in (Role.OFFICE, Role.ACCEPTOR, Role.DISCIPLINE):
            if in_region_of(m, problem.region_path):
                return m
        elif m.role in UNIT_ROLES:
            if problem.lead_unit_id == m.unit_id:
                return m
        elif m.role == Role.LEAD_OFFICIAL:
            if problem.lead_official_id == user.pk:
                return m
    return None


def acting_memberships(user, problem, roles) -> list[Membership]:
    """Every membership in `roles` whose region covers the problem's (acceptors at each level)."""
    return memberships_over(user, roles, problem.region_path)
