"""The closing application and its signatures (the unit head signs, the lead official endorses)."""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.exceptions import Conflict, InvalidInput, WrongState

from ..models import (
    ApplicationStatus,
    ClosingApplication,
    Problem,
    Signature,
    SignatureRole,
    State,
)
from .base import (
    _bump,
    _check,
    _record,
    _state_change,
    _void_signatures,
    content_hash,
    open_application,
)

# --- closing application, signatures, acceptance, notice -------------------------------


def missing_materials(problem: Problem) -> list[str]:
    """Checklist categories of the inspection for which the problem has no file yet."""
    present = set(problem.evidence.values_list("category", flat=True))
    return [c for c in problem.inspection.closing_checklist if c not in present]


def apply_for_closing(problem: Problem, *, by, summary: str, self_check: str) -> ClosingApplication:
    """申请销号: with a self-check statement and every file on the problem as evidence."""
    membership = _check(problem, "apply_for_closing", by)
    if not summary.strip():
        raise InvalidInput(_("Describe what was done."), "summary")
    if not self_check.strip():
        raise InvalidInput(_("Write the self-check statement."), "self_check")
    missing = missing_materials(problem)
    if missing:
        raise InvalidInput(
            _("Materials still missing from the evidence catalogue: %(list)s.")
            % {"list": "、".join(missing)}
        )
    open_children = problem.children.exclude(state=State.CLOSED)
    if open_children.exists():
        raise WrongState(
            _("%(n)d child problems are not closed yet; a parent closes only after all of them.")
            % {"n": open_children.count()}
        )
    with transaction.atomic():
        _state_change(
            problem,
            by,
            membership,
            "apply_for_closing",
            State.CLOSING_APPLIED,
            event="closing.apply",
        )
        application = ClosingApplication.objects.create(
            problem=problem, summary=summary, self_check=self_check, submitted_by=by
        )
        application.evidence.set(problem.evidence.all())
        _record(
            problem,
            by,
            membership,
            "closing.application",
            {},
            {
                "application": application.pk,
                "content_hash": content_hash(application),
                "evidence": sorted(problem.evidence.values_list("sha256", flat=True)),
            },
            target=application,
        )
    return application


def edit_application(problem: Problem, *, by, summary: str, self_check: str) -> ClosingApplication:
    """Editing after signing voids the signatures: they covered the old content."""
    membership = _check(problem, "edit_application", by)
    application = open_application(problem)
    if not summary.strip() or not self_check.strip():
        raise InvalidInput(_("Both what was done and the self-check statement are required."))
    with transaction.atomic():
        _bump(problem)
        before = {
            "summary": application.summary,
            "self_check": application.self_check,
            "content_hash": content_hash(application),
        }
        application.summary, application.self_check = summary, self_check
        application.edited_at = timezone.now()
        application.save(update_fields=["summary", "self_check", "edited_at"])
        application.evidence.set(problem.evidence.all())
        voided = _void_signatures(application, "application edited after signing")
        _record(
            problem,
            by,
            membership,
            "closing.edit",
            before,
            {
                "summary": summary,
                "self_check": self_check,
                "content_hash": content_hash(application),
                "voided_signatures": voided,
            },
            target=application,
        )
    return application


def withdraw_application(problem: Problem, *, by) -> Problem:
    membership = _check(problem, "withdraw_application", by)
    application = open_application(problem)
    with transaction.atomic():
        _state_change(
            problem,
            by,
            membership,
            "withdraw_application",
            State.IN_PROGRESS,
            event="closing.withdraw",
        )
        application.status = ApplicationStatus.WITHDRAWN
        application.save(update_fields=["status"])
    return problem


def _signature(
    problem: Problem, *, by, statement: str, name: str, role: str, expected_hash=None
) -> Signature:
    membership = _check(problem, name, by)
    if not statement.strip():
        raise InvalidInput(_("Write the statement you sign."), "statement")
    application = open_application(problem)
    # The signer signs what the page showed; if the application changed since, they must see
    # it again. (A change racing with this is caught by the version check in _bump.)
    if expected_hash and expected_hash != content_hash(application):
        raise Conflict(
            _("The application changed after you opened it. Read it again before you sign.")
        )
    with transaction.atomic():
        _bump(problem)
        digest = content_hash(application)
        try:
            with transaction.atomic():
                signature = Signature.objects.create(
                    application=application,
                    signer=by,
                    role=role,
                    statement=statement,
                    content_hash=digest,
                )
        except IntegrityError:
            raise WrongState(_("This application already carries this signature.")) from None
        _record(
            problem,
            by,
            membership,
            f"closing.{name}",
            {},
            {"application": application.pk, "statement": statement, "content_hash": digest},
            target=application,
        )
        needed = {SignatureRole.UNIT_HEAD} | (
            {SignatureRole.LEAD_OFFICIAL} if problem.lead_official_id else set()
        )
        have = set(
            application.signatures.filter(voided_at__isnull=True).values_list("role", flat=True)
        )
        if needed <= have:
            _state_change(problem, by, membership, name, State.UNDER_ACCEPTANCE, acceptance_level=0)
            _record(
                problem,
                None,
                None,
                "acceptance.start",
                {"state": State.CLOSING_APPLIED},
                {"state": State.UNDER_ACCEPTANCE, "level": problem.inspection.acceptance_levels[0]},
            )
    return signature


def sign(problem: Problem, *, by, statement: str, expected_hash=None) -> Signature:
    """签字: the unit head signs the closing application (as shown: `expected_hash`)."""
    return _signature(
        problem,
        by=by,
        statement=statement,
        name="sign",
        role=SignatureRole.UNIT_HEAD,
        expected_hash=expected_hash,
    )


def endorse(problem: Problem, *, by, statement: str, expected_hash=None) -> Signature:
    """背书: the lead official endorses the closing application (as shown: `expected_hash`)."""
    return _signature(
        problem,
        by=by,
        statement=statement,
        name="endorse",
        role=SignatureRole.LEAD_OFFICIAL,
        expected_hash=expected_hash,
    )
