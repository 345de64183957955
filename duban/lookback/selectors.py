"""Reads for look-back: candidates and pools of a draw, what a user may see, rebound counts."""

import datetime as dt
from collections import Counter

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.accounts.models import User
from duban.ledger.models import Problem, ProblemUnit, State, UnitRole
from duban.org.models import BUSINESS_ROLES, Membership, Role, Unit
from duban.org.scope import regions_of, under, under_any

from . import method
from .models import LookbackCheck, LookbackDraw, Outcome, Stratum

# The units whose people may not check a problem: those that did the work.
CONFLICT_ROLES = (UnitRole.LEAD, UnitRole.CO, UnitRole.IMPLEMENTING)


def closed_before(as_of: dt.date, min_age_days: int) -> dt.datetime:
    """Closed on or before the local day as_of − min_age_days: before the start of the next day."""
    last_day = as_of - dt.timedelta(days=min_age_days)
    return timezone.make_aware(dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time.min))


def candidate_problems(inspection, region, as_of: dt.date, min_age_days: int) -> QuerySet:
    return Problem.objects.filter(
        under("region_path", region.path),
        inspection=inspection,
        state=State.CLOSED,
        closed_at__lt=closed_before(as_of, min_age_days),
    ).order_by("ledger_number", "id")


def stratum_label(problem, strata) -> str:
    parts = []
    if Stratum.UNIT in strata:
        parts.append(problem.lead_unit.name if problem.lead_unit_id else "—")
    if Stratum.CATEGORY in strata:
        parts.append(problem.category)
    return " / ".join(parts)


def candidates(problems, strata) -> list[method.Candidate]:
    problems = list(problems.select_related("lead_unit"))
    paths: dict[int, set[str]] = {p.pk: set() for p in problems}
    links = ProblemUnit.objects.filter(
        problem_id__in=list(paths), role__in=CONFLICT_ROLES
    ).values_list("problem_id", "unit__path")
    for problem_id, path in links:
        paths[problem_id].add(path)
    for p in problems:
        if p.lead_unit_id:
            paths[p.pk].add(p.lead_unit.path)
    return [
        method.Candidate(
            id=p.pk,
            ledger_number=p.ledger_number,
            stratum=stratum_label(p, strata),
            unit_paths=tuple(sorted(paths[p.pk])),
        )
        for p in problems
    ]


def default_pool(region) -> QuerySet:
    """双随机's pool by default: the acceptors of the draw's region and the regions below it."""
    return User.objects.filter(
        under("memberships__unit__region__path", region.path),
        is_active=True,
        memberships__role=Role.ACCEPTOR,
    ).distinct()


def pool_choices(region) -> QuerySet:
    """Whom an office may put in a pool: people with a business role in its region."""
    return (
        User.objects.filter(
            under("memberships__unit__region__path", region.path),
            is_active=True,
            memberships__role__in=BUSINESS_ROLES,
        )
        .distinct()
        .order_by("username")
    )


def pool_members(users) -> list[method.PoolMember]:
    users = sorted(users, key=lambda u: u.username)
    paths: dict[int, set[str]] = {u.pk: set() for u in users}
    for user_id, path in Membership.objects.filter(user_id__in=list(paths)).values_list(
        "user_id", "unit__path"
    ):
        paths[user_id].add(path)
    return [method.PoolMember(u.pk, u.username, tuple(sorted(paths[u.pk]))) for u in users]


# --- what a user may see ----------------------------------------------------------------


def office_regions(user) -> list:
    """The regions in which `user` is rectification office staff (outermost first)."""
    return regions_of(user, Role.OFFICE)


def draws_for_user(user) -> QuerySet:
    """Draws of the regions where `user` is office staff; nothing for anyone else."""
    paths = [r.path for r in office_regions(user)]
    if not paths:
        return LookbackDraw.objects.none()
    return LookbackDraw.objects.filter(under_any("region_path", paths)).select_related(
        "inspection", "region", "created_by"
    )


def get_draw_for_user(user, pk) -> LookbackDraw:
    try:
        return draws_for_user(user).get(pk=pk)
    except (LookbackDraw.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such draw.")) from None


def checks_for_user(user) -> QuerySet:
    """A checker's own checks, and every check of the draws the user's office may read."""
    from django.db.models import Q

    return LookbackCheck.objects.filter(
        Q(checker=user) | Q(draw__in=draws_for_user(user).values("pk"))
    ).select_related("draw__inspection", "problem__lead_unit", "unit", "checker")


def get_check_for_user(user, pk) -> LookbackCheck:
    try:
        return checks_for_user(user).get(pk=pk)
    except (LookbackCheck.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such check.")) from None


# --- rebounds -----------------------------------------------------------------------------


def rebounds_by_unit(checks: QuerySet) -> dict[Unit, int]:
    """Rebounds found among `checks` (look-back checks), per lead unit when drawn, most first.

    A problem found rebound twice counts twice: each rebound counts against the unit.
    """
    rebounds = checks.filter(outcome=Outcome.REBOUND).exclude(unit=None)
    counts = Counter(rebounds.values_list("unit_id", flat=True))
    units = Unit.objects.in_bulk(list(counts))
    return {
        units[pk]: n
        for pk, n in sorted(counts.items(), key=lambda item: (-item[1], units[item[0]].name))
    }
