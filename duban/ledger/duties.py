"""Separation of duties (职责分离): who may not take an action because of another he took.

DESIGN.md §5: whoever applies may not sign, the signer may not endorse, nobody from the
applying unit or who signed may accept. The rule lives here, in the actions: actions.check()
asks conflict() after role, scope and state, so a conflicted person gets no button, and the
page and the API refuse him (NotAllowed, 403) with a message that names the duty. It holds
whatever memberships exist; the sysadmin's grants refuse the same pairs of roles up front
(duban.accounts.admin_actions.CONFLICTING_ROLES), but old data and roles held in other units
are caught only here.

| action                         | refused to                                       | so that                     |
|--------------------------------|--------------------------------------------------|-----------------------------|
| approve_plan, reject_plan      | whoever drafted or submitted a plan of the       | nobody decides his own plan |
|                                | problem                                          |                             |
| decide_extension               | whoever requested the pending extension          | nobody decides his own      |
|                                |                                                  | request                     |
| sign (unit head)               | the applicant; the endorser of the application   | applicant, signer and       |
| endorse (lead official)        | the applicant; the signer of the application     | endorser are three people   |
| accept, return (a level's      | the applicant; whoever signed or endorsed the    | the acceptance is           |
| decision)                      | application (voided signatures too); whoever     | independent of the          |
|                                | holds any role in the applying unit or a unit    | application                 |
|                                | above or below it                                |                             |
| accept, return                 | whoever decided another level of the application | one person per level        |
| accept at the last level       | an office user who approved the problem's plan,  | the plan's approver is not  |
|                                | when no earlier level was accepted by someone    | the only acceptor           |
|                                | who did not approve it (one level: always)       |                             |
| deciding a received objection, | the applicant, signer, endorser and the applying | nobody dismisses objections |
| end_notice                     | unit's people, as for acceptance                 | to, or closes, his own      |
|                                |                                                  | problem                     |

"The applicant" is whoever submitted the closing application or edited it afterwards; "the
applying unit" is the problem's lead unit, whose liaison applied. "The plan's approver may
not be the only acceptor", with several levels: since nobody decides two levels, it can only
bite at the last level, and only when every earlier level was accepted by a plan approver too;
with one level the plan's approver may not accept at all. Returning is not accepting, so he
may return. Left as they are: recording an objection (it is the public's; the office user
only writes it down) and the same office user deciding an objection he recorded.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from duban.audit.models import AuditEvent
from duban.org.scope import nested, units_of

from .models import (
    AcceptanceReview,
    ApplicationStatus,
    ClosingApplication,
    Decision,
    ExtensionStatus,
    NoticeStatus,
    Problem,
    SignatureRole,
    State,
)

# The audit actions that name the people on the applicant's side of a plan or application.
PLAN_AUTHOR_EVENTS = ("plan.save", "plan.submit")
APPLICATION_EDIT_EVENT = "closing.edit"
PLAN_APPROVAL_EVENT = "plan.approve"

# Actions judged by someone independent of the closing application.
_LEVEL_DECISIONS = ("accept", "return")
_NOTICE_DECISIONS = ("decide_objection", "end_notice")


@dataclass
class Parties:
    """The people on the applicant's side of one closing application."""

    application: ClosingApplication
    applicants: set = field(default_factory=set)
    # Valid signatures (the content as it stands) and every signature ever given on it.
    signer: int | None = None
    endorser: int | None = None
    signed: set = field(default_factory=set)
    endorsed: set = field(default_factory=set)


def _application(problem: Problem) -> ClosingApplication | None:
    """The application the action is about: the open one, or the one in public notice."""
    if problem.state == State.PUBLIC_NOTICE:
        notice = problem.notices.filter(status=NoticeStatus.OPEN).select_related("application")
        notice = notice.first()
        return notice.application if notice else None
    return problem.closing_applications.filter(status=ApplicationStatus.SUBMITTED).first()


def parties(application: ClosingApplication) -> Parties:
    result = Parties(application)
    result.applicants.add(application.submitted_by_id)
    result.applicants |= set(
        AuditEvent.objects.filter(
            action=APPLICATION_EDIT_EVENT,
            target_type=ClosingApplication._meta.label_lower,
            target_id=str(application.pk),
        ).values_list("actor_id", flat=True)
    )
    for signer, role, voided_at in application.signatures.values_list(
        "signer_id", "role", "voided_at"
    ):
        if role == SignatureRole.UNIT_HEAD:
            result.signed.add(signer)
            if voided_at is None:
                result.signer = signer
        else:
            result.endorsed.add(signer)
            if voided_at is None:
                result.endorser = signer
    return result


def _unit_conflict(problem: Problem, by) -> str | None:
    """The refusal for a person holding a role in the applying unit, or above or below it."""
    lead = problem.lead_unit
    if lead is None:
        return None
    for unit in units_of(by):
        if unit.pk == lead.pk:
            return _("You belong to %(unit)s, the unit that applied for closing this problem") % {
                "unit": lead
            }
        if nested(unit.path, lead.path):
            return _(
                "You belong to %(your_unit)s, a unit above or below %(unit)s, which applied "
                "for closing this problem"
            ) % {"your_unit": unit, "unit": lead}
    return None


def _party_conflict(problem: Problem, found: Parties, by) -> str | None:
    """Why `by` is on the applicant's side of the application, or None."""
    if by.pk in found.applicants:
        return _("You applied for closing this problem")
    if by.pk in found.signed:
        return _("You signed this closing application as unit head")
    if by.pk in found.endorsed:
        return _("You endorsed this closing application")
    return _unit_conflict(problem, by)


def _refusal(conflict: str, duty: str) -> str:
    return _("%(conflict)s; %(duty)s.") % {"conflict": conflict, "duty": duty}


def _actors(problem: Problem, *event_actions) -> set:
    return set(
        AuditEvent.objects.filter(problem_id=problem.pk, action__in=event_actions).values_list(
            "actor_id", flat=True
        )
    )


def _signature_conflict(problem: Problem, name: str, by) -> str | None:
    application = _application(problem)
    if application is None:
        return None
    found = parties(application)
    duty = (
        _("another person must sign it") if name == "sign" else _("another person must endorse it")
    )
    if by.pk in found.applicants:
        return _refusal(_("You applied for closing this problem"), duty)
    if name == "sign" and by.pk == found.endorser:
        return _refusal(_("You endorsed this closing application"), duty)
    if name == "endorse" and by.pk == found.signer:
        return _refusal(_("You signed this closing application as unit head"), duty)
    return None


def _level_conflict(problem: Problem, name: str, by) -> str | None:
    application = _application(problem)
    if application is None:
        return None
    conflict = _party_conflict(problem, parties(application), by)
    if conflict:
        return _refusal(conflict, _("its acceptance must be decided by someone else"))
    inspection = problem.inspection
    level = problem.acceptance_level
    reviews = list(
        AcceptanceReview.objects.filter(application=application, level__lt=level).values_list(
            "reviewer_id", "level", "decision"
        )
    )
    for reviewer, decided, _decision in reviews:
        if reviewer == by.pk:
            return _(
                "You already accepted this application at the %(level)s; another person must "
                "decide the %(this_level)s."
            ) % {
                "level": inspection.acceptance_level_label(decided),
                "this_level": inspection.acceptance_level_label(level),
            }
    last = level + 1 >= len(inspection.acceptance_levels)
    if name == "accept" and last:
        approvers = _actors(problem, PLAN_APPROVAL_EVENT)
        independent = [
            r
            for r, _level, decision in reviews
            if decision == Decision.ACCEPTED and r not in approvers
        ]
        if by.pk in approvers and not independent:
            return _(
                "You approved this problem's plan and may not be its only acceptor: another "
                "acceptor of the %(level)s must accept it."
            ) % {"level": inspection.acceptance_level_label(level)}
    return None


def _notice_conflict(problem: Problem, name: str, by) -> str | None:
    application = _application(problem)
    if application is None:
        return None
    conflict = _party_conflict(problem, parties(application), by)
    if conflict is None:
        return None
    if name == "end_notice":
        return _refusal(conflict, _("another person must end its public notice and close it"))
    return _refusal(conflict, _("another person must decide the objections to it"))


def conflict(problem: Problem, name: str, by) -> str | None:
    """Why taking action `name` on `problem` would break a separation of duties for `by`, or
    None. The caller has checked role, scope and state."""
    if by is None or not getattr(by, "pk", None):
        return None
    if name in ("approve_plan", "reject_plan"):
        if by.pk in _actors(problem, *PLAN_AUTHOR_EVENTS):
            return _("You drafted or submitted this problem's plan; another person must decide it.")
        return None
    if name == "decide_extension":
        pending = problem.extensions.filter(status=ExtensionStatus.PENDING).first()
        if pending is not None and pending.requested_by_id == by.pk:
            return _("You requested this extension; another person must decide it.")
        return None
    if name in ("sign", "endorse"):
        return _signature_conflict(problem, name, by)
    if name in _LEVEL_DECISIONS:
        return _level_conflict(problem, name, by)
    if name in _NOTICE_DECISIONS:
        return _notice_conflict(problem, name, by)
    return None
