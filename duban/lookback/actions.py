"""Every change of look-back: making a draw, recording a check (and a rebound through the ledger).

Errors are the ledger's (ActionError and kin), so views answer them the same way.
"""

import datetime as dt
import secrets
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import ActionError, Conflict, InvalidInput, NotAllowed, WrongState
from duban.ledger import actions as ledger
from duban.ledger.models import State
from duban.notify.actions import notify
from duban.org.models import Membership, Role
from duban.org.scope import holders_over, membership_over, memberships, memberships_as, nested

from . import method, selectors
from .models import LookbackCheck, LookbackDraw, Outcome, Stratum

__all__ = ["ActionError", "InvalidInput", "NotAllowed", "WrongState", "Conflict"]

# The evidence category of files a look-back check keeps with the problem.
EVIDENCE_CATEGORY = "回头看"
MAX_SEED_LENGTH = 64
MAX_FINDINGS = 5000
# A century: more is no look-back, and a date that far back overflows.
MAX_MIN_AGE_DAYS = 36500


def new_seed() -> str:
    """A seed for a draw when the office gives none: eight digits, shown and recorded."""
    return f"{secrets.randbelow(10**8):08d}"


@dataclass
class DrawPlan:
    """A draw computed from its inputs, not written: what the command prints and the page saves."""

    inspection: object
    region: object
    seed: str
    as_of: dt.date
    min_age_days: int
    strata: list[str]
    size: int | None
    share: Decimal | None
    result: method.Result
    pool: list
    pool_chosen: bool = False


def _clean_inputs(seed, size, share, min_age_days, strata):
    seed = (seed or "").strip()
    if not seed:
        raise InvalidInput(_("Give a seed, or let one be generated."), "seed")
    if len(seed) > MAX_SEED_LENGTH:
        raise InvalidInput(
            _("A seed has at most %(n)d characters.") % {"n": MAX_SEED_LENGTH}, "seed"
        )
    if size is None and share is None:
        raise InvalidInput(_("Give either a size or a share."), "size")
    if size is not None and share is not None:
        raise InvalidInput(_("Give either a size or a share, not both."), "share")
    if size is not None and size < 1:
        raise InvalidInput(_("The size must be at least 1."), "size")
    if share is not None:
        try:
            share = Decimal(str(share))
        except InvalidOperation:
            raise InvalidInput(_("The share is a number above 0 and at most 1."), "share") from None
        if not Decimal(0) < share <= Decimal(1):
            raise InvalidInput(_("The share is a number above 0 and at most 1."), "share")
    if min_age_days is None or min_age_days < 0:
        raise InvalidInput(_("The minimum age is a number of days, 0 or more."), "min_age_days")
    if min_age_days > MAX_MIN_AGE_DAYS:
        raise InvalidInput(
            _("The minimum age is at most %(n)d days.") % {"n": MAX_MIN_AGE_DAYS}, "min_age_days"
        )
    # In a fixed order, whatever order they were given in: the stratum names depend on it.
    strata = [s for s in Stratum.values if s in set(strata or ())]
    return seed, size, share, strata


def plan_draw(
    *,
    inspection,
    region,
    seed: str,
    size: int | None = None,
    share=None,
    min_age_days: int = 0,
    strata=(),
    as_of: dt.date | None = None,
    pool_users=None,
    with_checkers: bool = True,
) -> DrawPlan:
    """Compute a draw without writing anything; InvalidInput when the inputs do not make one."""
    unknown = set(strata or ()) - set(Stratum.values)
    if unknown:
        raise InvalidInput(_("Strata are “unit” and/or “category”."), "strata")
    seed, size, share, strata = _clean_inputs(seed, size, share, min_age_days, strata)
    if not nested(region.path, inspection.target_region.path):
        raise InvalidInput(_("The region lies outside the inspection's region."), "region")
    as_of = as_of or timezone.localdate()
    problems = selectors.candidate_problems(inspection, region, as_of, min_age_days)
    found = selectors.candidates(problems, strata)
    if not found:
        raise InvalidInput(
            _("No closed problem fits these criteria: nothing to draw from."), "min_age_days"
        )
    n = method.sample_size(len(found), size, share)
    if n > len(found):
        raise InvalidInput(
            _("The size (%(size)d) is larger than the %(count)d candidates.")
            % {"size": n, "count": len(found)},
            "size",
        )
    result = method.draw(seed, found, n)
    pool_chosen = pool_users is not None
    pool = selectors.pool_members(
        list(selectors.default_pool(region)) if pool_users is None else list(pool_users)
    )
    if with_checkers:
        if not pool:
            raise InvalidInput(_("The pool of checkers is empty."), "pool")
        unmatched = method.draw_checkers(seed, result, pool)
        if unmatched:
            raise InvalidInput(
                _("Nobody in the pool is independent of the units of %(list)s.")
                % {"list": "、".join(item.candidate.key for item in unmatched)},
                "pool",
            )
    return DrawPlan(
        inspection,
        region,
        seed,
        as_of,
        min_age_days,
        strata,
        size,
        share,
        result,
        pool,
        pool_chosen,
    )


def save_draw(plan: DrawPlan, *, by=None, membership=None) -> LookbackDraw:
    """Record a computed draw with its checks; `by` None is the system (the command)."""
    from duban.accounts.models import User
    from duban.ledger.models import Problem

    problems = Problem.objects.in_bulk([d.candidate.id for d in plan.result.drawn])
    checkers = User.objects.in_bulk([d.checker.id for d in plan.result.drawn])
    role = membership.role if membership else "system"
    with transaction.atomic():
        draw = LookbackDraw.objects.create(
            inspection=plan.inspection,
            region=plan.region,
            seed=plan.seed,
            as_of=plan.as_of,
            min_age_days=plan.min_age_days,
            strata=plan.strata,
            size=plan.size,
            share=plan.share,
            method=method.METHOD,
            candidate_count=plan.result.candidates,
            pool_chosen=plan.pool_chosen,
            created_by=by,
        )
        checks = LookbackCheck.objects.bulk_create(
            [
                LookbackCheck(
                    draw=draw,
                    problem=problems[d.candidate.id],
                    unit=problems[d.candidate.id].lead_unit,
                    stratum=d.candidate.stratum,
                    score=d.score,
                    checker=checkers[d.checker.id],
                    checker_score=d.checker_score,
                )
                for d in plan.result.drawn
            ]
        )
        audit.record(
            actor=by,
            role=role,
            action="lookback.draw",
            target=draw,
            before={},
            after={
                **draw.criteria(),
                "method": method.METHOD,
                "candidates": plan.result.candidates,
                "drawn": plan.result.ledger_numbers,
                "pool": [m.username for m in plan.pool],
            },
        )
        for check in checks:
            check_url = reverse("lookback:check_detail", args=[check.pk])
            audit.record(
                actor=by,
                role=role,
                action="lookback.drawn",
                target=check,
                before={},
                after={"draw": draw.pk, "check": check.pk, "seed": draw.seed},
                problem_id=check.problem_id,
            )
            notify(
                [check.checker],
                kind="lookback_assigned",
                key=f"lookback.assigned.{check.pk}",
                title=_("You were drawn to check %(problem)s (回头看)")
                % {"problem": check.problem},
                url=check_url,
                problem=check.problem,
            )
    return draw


def create_draw(*, by, inspection, pool=None, **inputs) -> LookbackDraw:
    """The office of a region draws closed problems of its region for look-back checks."""
    regions = selectors.office_regions(by)
    if not regions:
        raise NotAllowed(_("Only rectification office staff make look-back draws."))
    region = inputs.pop("region", None) or regions[0]
    membership = membership_over(by, Role.OFFICE, region.path)
    if membership is None:
        raise NotAllowed(_("Only the rectification office of this region draws here."))
    if pool is not None:
        allowed = set(selectors.pool_choices(region).values_list("pk", flat=True))
        if any(user.pk not in allowed for user in pool):
            raise InvalidInput(_("Choose checkers of your region."), "pool")
        if not pool:
            pool = None
    plan = plan_draw(inspection=inspection, region=region, pool_users=pool, **inputs)
    return save_draw(plan, by=by, membership=membership)


# --- recording a check -------------------------------------------------------------------------


def _checker_membership(check, by):
    """The membership the drawn checker acts under: an acceptor role first, then any business role."""
    if by is None or check.checker_id != by.pk:
        raise NotAllowed(_("Only the drawn checker records this check."))
    acceptor = memberships_as(by, Role.ACCEPTOR)
    if acceptor:
        return acceptor[0]
    mine = memberships(by)
    if not mine:
        raise NotAllowed(_("Only the drawn checker records this check."))
    return mine[0]


def _unit_and_office(problem):
    unit_people = Membership.objects.filter(
        unit_id=problem.lead_unit_id, role__in=(Role.LIAISON, Role.UNIT_HEAD)
    )
    offices = holders_over(Role.OFFICE, problem.region_path)
    users = {m.user for m in unit_people.select_related("user")}
    users |= {m.user for m in offices.select_related("user")}
    return users


def record_check(check: LookbackCheck, *, by, outcome: str, findings: str, files) -> LookbackCheck:
    """The drawn checker records what was found: kept (巩固), or rebound (反弹) → reopened."""
    membership = _checker_membership(check, by)
    if check.outcome != Outcome.PENDING:
        raise WrongState(_("This check was already recorded."))
    if outcome not in (Outcome.KEPT, Outcome.REBOUND):
        raise InvalidInput(_("Choose kept or rebound."), "outcome")
    if not findings.strip():
        raise InvalidInput(_("Say what was found."), "findings")
    if len(findings) > MAX_FINDINGS:
        raise InvalidInput(
            _("At most %(limit)d characters here; this has %(length)d.")
            % {"limit": MAX_FINDINGS, "length": len(findings)},
            "findings",
        )
    if not files:
        raise InvalidInput(_("Add at least one file as evidence of the check."), "files")
    problem = check.problem
    if outcome == Outcome.REBOUND and problem.state != State.CLOSED:
        raise WrongState(
            _("This problem is %(state)s, not closed; a rebound reopens only a closed problem.")
            % {"state": problem.get_state_display()}
        )
    now = timezone.now()
    stored = ledger.store_files(files)
    with ledger.files_removed_on_failure(stored), transaction.atomic():
        updated = LookbackCheck.objects.filter(pk=check.pk, outcome=Outcome.PENDING).update(
            outcome=outcome, findings=findings, checked_at=now
        )
        if not updated:
            raise Conflict(_("This check was recorded a moment ago."))
        evidence = [
            ledger.store_evidence(problem, by, membership, item, EVIDENCE_CATEGORY)
            for item in stored
        ]
        check.evidence.add(*evidence)
        audit.record(
            actor=by,
            role=membership.role,
            action=f"lookback.{outcome}",
            target=check,
            before={"outcome": Outcome.PENDING},
            after={
                "outcome": outcome,
                "findings": findings,
                "draw": check.draw_id,
                "evidence": [e.sha256 for e in evidence],
            },
            problem_id=problem.pk,
        )
        if outcome == Outcome.REBOUND:
            ledger.reopen_after_rebound(
                problem, by=by, membership=membership, reason=findings, check=check.pk
            )
            notify(
                _unit_and_office(problem),
                kind="rebound",
                key=f"lookback.rebound.{check.pk}",
                title=_("Rebound found in a look-back check: %(problem)s") % {"problem": problem},
                body=findings,
                url=reverse("ledger:problem_detail", args=[problem.pk]),
                problem=problem,
                now=now,
            )
    check.refresh_from_db()
    return check
