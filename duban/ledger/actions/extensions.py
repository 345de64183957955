"""Extension requests and their decisions."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.exceptions import Conflict, InvalidInput, WrongState

from ..models import (
    Extension,
    ExtensionStatus,
    Problem,
)
from .base import _bump, _check, _iso, _record, store_pace_bounds
from .inputs import _check_date

# --- extension -----------------------------------------------------------------------


def request_extension(
    problem: Problem, *, by, reasons: str, efforts: str, new_deadline: dt.date, roadmap: str
) -> Extension:
    membership = _check(problem, "request_extension", by)
    for name, value in (("reasons", reasons), ("efforts", efforts), ("roadmap", roadmap)):
        if not value.strip():
            raise InvalidInput(_("This field is required."), name)
    _check_date(new_deadline, "new_deadline")
    if problem.deadline and new_deadline <= problem.deadline:
        raise InvalidInput(
            _("The new deadline must be later than the current one (%(date)s).")
            % {"date": problem.deadline},
            "new_deadline",
        )
    if new_deadline <= timezone.localdate():
        raise InvalidInput(_("The new deadline must lie in the future."), "new_deadline")
    with transaction.atomic():
        _bump(problem)
        try:
            with transaction.atomic():
                extension = Extension.objects.create(
                    problem=problem,
                    reasons=reasons,
                    efforts=efforts,
                    roadmap=roadmap,
                    old_deadline=problem.deadline,
                    new_deadline=new_deadline,
                    requested_by=by,
                )
        except IntegrityError:
            raise WrongState(
                _("An extension request for this problem is already waiting for a decision.")
            ) from None
        _record(
            problem,
            by,
            membership,
            "extension.request",
            {"deadline": _iso(problem.deadline)},
            {
                "extension": extension.pk,
                "new_deadline": new_deadline.isoformat(),
                "reasons": reasons,
            },
        )
    return extension


def decide_extension(extension: Extension, *, by, approve: bool, note: str = "") -> Extension:
    problem = extension.problem
    membership = _check(problem, "decide_extension", by)
    if extension.status != ExtensionStatus.PENDING:
        raise WrongState(_("This extension request was already decided."))
    if not approve and not note.strip():
        raise InvalidInput(_("Say why the extension is rejected."), "note")
    status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REJECTED
    with transaction.atomic():
        changes = {}
        if approve:
            changes = {"deadline": extension.new_deadline}
            if problem.original_deadline is None:
                changes["original_deadline"] = problem.deadline
        _bump(problem, **changes)
        updated = Extension.objects.filter(pk=extension.pk, status=ExtensionStatus.PENDING).update(
            status=status, decided_by=by, decided_at=timezone.now(), decision_note=note
        )
        if not updated:
            raise Conflict(_("This extension request was decided a moment ago."))
        if approve:
            store_pace_bounds(problem)
        _record(
            problem,
            by,
            membership,
            f"extension.{status}",
            {"deadline": _iso(extension.old_deadline)},
            {"extension": extension.pk, "deadline": _iso(problem.deadline), "note": note},
        )
    extension.refresh_from_db()
    return extension
