"""Acceptance, level by level, and returns."""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.exceptions import Conflict, InvalidInput
from duban.workcalendar.workdays import add_working_days

from ..models import (
    AcceptanceReview,
    ApplicationStatus,
    Decision,
    Problem,
    PublicNotice,
    State,
)
from .base import _bump, _record, _state_change, check, open_application


def accept(
    problem: Problem, *, by, site_check: str, today: dt.date | None = None
) -> AcceptanceReview:
    """One acceptance level accepts; after the last level the public notice opens (from
    `today`, default the local date; its end counts working days of the holiday calendar)."""
    membership = check(problem, "accept", by)
    if not site_check.strip():
        raise InvalidInput(_("Record the site-check conclusion."), "site_check")
    application = open_application(problem)
    levels = problem.inspection.acceptance_levels
    level = problem.acceptance_level
    with transaction.atomic():
        last = level + 1 >= len(levels)
        if last:
            _state_change(problem, by, membership, "accept", State.PUBLIC_NOTICE)
        else:
            _bump(problem, acceptance_level=level + 1)
        review = _review(application, level, by, Decision.ACCEPTED, site_check)
        _record(
            problem,
            by,
            membership,
            "acceptance.accept",
            {"state": State.UNDER_ACCEPTANCE, "level": levels[level]},
            {"state": problem.state, "level": levels[level], "site_check": site_check},
            target=application,
        )
        if last:
            application.status = ApplicationStatus.ACCEPTED
            application.save(update_fields=["status"])
            today = today or timezone.localdate()
            days = problem.inspection.notice_working_days
            notice = PublicNotice.objects.create(
                problem=problem,
                application=application,
                starts_on=today,
                ends_on=add_working_days(today, days),
                text=application.summary,
            )
            _record(
                problem,
                None,
                None,
                "notice.open",
                {},
                {
                    "notice": notice.pk,
                    "starts_on": notice.starts_on.isoformat(),
                    "ends_on": notice.ends_on.isoformat(),
                    "working_days": days,
                },
            )
    return review


def _review(application, level, by, decision, site_check, reasons="") -> AcceptanceReview:
    """One level's decision; a second decision at the same level loses the race cleanly."""
    try:
        with transaction.atomic():
            return AcceptanceReview.objects.create(
                application=application,
                level=level,
                level_name=application.problem.inspection.acceptance_levels[level],
                reviewer=by,
                decision=decision,
                site_check=site_check,
                reasons=reasons,
            )
    except IntegrityError:
        raise Conflict(_("This level was decided a moment ago by someone else.")) from None


def return_application(problem: Problem, *, by, site_check: str, reasons: str) -> AcceptanceReview:
    """退回: the level returns the application; the problem goes back to in progress."""
    membership = check(problem, "return", by)
    if not reasons.strip():
        raise InvalidInput(_("Say why the application is returned."), "reasons")
    application = open_application(problem)
    levels = problem.inspection.acceptance_levels
    level = problem.acceptance_level
    with transaction.atomic():
        _state_change(problem, by, membership, "return", State.IN_PROGRESS, acceptance_level=0)
        review = _review(application, level, by, Decision.RETURNED, site_check, reasons)
        application.status = ApplicationStatus.RETURNED
        application.save(update_fields=["status"])
        _record(
            problem,
            by,
            membership,
            "acceptance.return",
            {"state": State.UNDER_ACCEPTANCE, "level": levels[level]},
            {"state": State.IN_PROGRESS, "reasons": reasons, "site_check": site_check},
            target=application,
        )
    return review
