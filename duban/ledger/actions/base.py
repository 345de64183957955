"""The common recipe: the check every action makes, the version bump and the audit record."""

import contextvars
import hashlib
import json
from collections import defaultdict

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import ActionError, Conflict, NotAllowed, WrongState
from duban.org.models import Role
from duban.org.scope import acting_membership, acting_memberships

from .. import counts, duties
from ..models import (
    LINK_FIELDS,
    ApplicationStatus,
    ClosingApplication,
    ExtensionStatus,
    NoticeStatus,
    Objection,
    ObjectionStatus,
    Problem,
    ProblemUnit,
    PublicNotice,
    SignatureRole,
)
from ..transitions import TABLE, TRANSITIONS, IllegalMove, move

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
    if (
        name in ("record_objection", "decide_objection", "end_notice")
        and open_notice(problem) is None
    ):
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
    transition = TABLE[name]
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


# Set while _state_change writes: the state is written there and nowhere else.
_changing_state = contextvars.ContextVar("changing_state", default=False)


def _bump(problem: Problem, **changes) -> None:
    """Write `changes` only if nobody changed the problem since it was read."""
    if "state" in changes and not _changing_state.get():
        raise IllegalMove("A problem's state changes only through _state_change and its table.")
    changes.setdefault("updated_at", timezone.now())
    was = counts.counted(problem)
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
    # State and progress move the problem between the counts by state and pace (counts.py).
    counts.record_change(was, problem)
    if any(field in changes for field in LINK_FIELDS):
        copy_to_links([problem])


def copy_to_links(problems) -> None:
    """Copy each problem's LINK_FIELDS (state, deadline, region) to its unit links.

    The one place the copies are written after a change, called by every write of a state,
    deadline or region (_bump, _state_change_many, update_problem); new links are made with
    them (_set_units, _insert_batch). One UPDATE per distinct set of values.
    """
    groups = defaultdict(list)
    for problem in problems:
        groups[tuple(getattr(problem, field) for field in LINK_FIELDS)].append(problem.pk)
    for values, ids in groups.items():
        ProblemUnit.objects.filter(problem_id__in=ids).update(
            **dict(zip(LINK_FIELDS, values, strict=True))
        )


def store_pace_bounds(problem: Problem) -> None:
    """Recompute and store the dates the pace light flips on, after a new deadline or plan."""
    was = counts.counted(problem)
    problem.refresh_pace_bounds()
    Problem.objects.filter(pk=problem.pk).update(
        pace_behind_from=problem.pace_behind_from, pace_ahead_until=problem.pace_ahead_until
    )
    counts.record_change(was, problem)


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


def _state_change_many(problems, name, to, **changes) -> None:
    """_state_change() for many problems the caller has locked and checked (the sweep's batch):
    row `name` must allow each move; one UPDATE for all, the counts moved in one write. The
    caller records the audit events (audit.record_many) with what it knows of each."""
    for problem in problems:
        move(name, problem.state, to)
    if not problems:
        return
    changes.setdefault("updated_at", timezone.now())
    was = [counts.counted(problem) for problem in problems]
    Problem.objects.filter(pk__in=[problem.pk for problem in problems]).update(
        version=F("version") + 1, state=to, **changes
    )
    for problem in problems:
        for field, value in {"state": to, **changes}.items():
            setattr(problem, field, value)
        problem.version += 1
    counts.record_changes(zip(was, problems, strict=True))
    copy_to_links(problems)


def _state_change(problem, by, membership, name, to, *, event=None, **changes):
    """The one place a problem's state changes: row `name` of the table (transitions.TABLE)
    must allow the move from the state the problem is in to `to`, else IllegalMove. With
    `event` the change is recorded under that audit action; without, the caller records it
    with more to say."""
    before = {"state": problem.state}
    move(name, problem.state, to)
    token = _changing_state.set(True)
    try:
        _bump(problem, state=to, **changes)
    finally:
        _changing_state.reset(token)
    if event:
        _record(problem, by, membership, event, before, {"state": to, **_jsonable(changes)})


def _jsonable(changes: dict) -> dict:
    return {
        k: (v.isoformat() if hasattr(v, "isoformat") else v)
        for k, v in changes.items()
        if k != "updated_at"
    }


def _iso(value):
    return value.isoformat() if value else None


def open_application(problem: Problem) -> ClosingApplication | None:
    return problem.closing_applications.filter(status=ApplicationStatus.SUBMITTED).first()


def content_hash(application: ClosingApplication) -> str:
    payload = json.dumps(application.signed_content(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _void_signatures(application: ClosingApplication, reason: str) -> list[int]:
    """Void the valid signatures of an application whose content changed; return their ids."""
    voided = list(
        application.signatures.filter(voided_at__isnull=True).values_list("pk", flat=True)
    )
    application.signatures.filter(pk__in=voided).update(
        voided_at=timezone.now(), void_reason=reason
    )
    return voided


def _level_acceptor(problem: Problem, by):
    """The acceptor membership of `by` at the acceptance level the problem is at, if any."""
    level = problem.inspection.acceptance_levels[problem.acceptance_level]
    for m in acting_memberships(by, problem, (Role.ACCEPTOR,)):
        if m.unit.region.level == level:
            return m
    return None


def open_notice(problem: Problem) -> PublicNotice | None:
    return problem.notices.filter(status=NoticeStatus.OPEN).first()


def pending_objections(problem: Problem):
    """Objections received during the open notice and not decided yet: they stop the close."""
    return Objection.objects.filter(
        notice__problem=problem,
        notice__status=NoticeStatus.OPEN,
        status=ObjectionStatus.PENDING,
    )
