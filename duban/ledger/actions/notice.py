"""Public notice (公示), objections and the close after the notice."""

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import Conflict, InvalidInput, WrongState

from ..models import (
    NoticeStatus,
    Objection,
    ObjectionStatus,
    Problem,
    PublicNotice,
    State,
)
from ..transitions import TABLE
from .base import (
    _bump,
    _check,
    _record,
    _state_change,
    _state_change_many,
    open_notice,
    pending_objections,
)


def record_objection(problem: Problem, *, by, text: str, pending: bool = False) -> Objection:
    """An objection during 公示: upheld at once, the problem returns to in progress; or, with
    `pending`, received for the office to decide (decide_objection) — meanwhile the notice
    does not end."""
    membership = _check(problem, "record_objection", by)
    if not text.strip():
        raise InvalidInput(_("Write down the objection."), "text")
    notice = open_notice(problem)
    if pending:
        with transaction.atomic():
            _bump(problem)
            objection = Objection.objects.create(
                notice=notice,
                text=text,
                recorded_by=by,
                upheld=False,
                status=ObjectionStatus.PENDING,
            )
            _record(
                problem,
                by,
                membership,
                "notice.objection.received",
                {},
                {"objection": objection.pk, "text": text},
                target=notice,
            )
        return objection
    with transaction.atomic():
        _state_change(
            problem,
            by,
            membership,
            "record_objection",
            State.IN_PROGRESS,
            event="notice.objection",
            acceptance_level=0,
        )
        objection = Objection.objects.create(notice=notice, text=text, recorded_by=by)
        notice.status = NoticeStatus.OBJECTED
        notice.save(update_fields=["status"])
        _record(problem, by, membership, "notice.objection.text", {}, {"text": text}, target=notice)
    return objection


def decide_objection(objection: Objection, *, by, uphold: bool, note: str = "") -> Objection:
    """The office decides a received objection: upheld → the problem returns to in progress
    (as an objection upheld at once); dismissed → the notice may end."""
    problem = objection.notice.problem
    membership = _check(problem, "decide_objection", by)
    if objection.status != ObjectionStatus.PENDING or objection.notice.status != NoticeStatus.OPEN:
        raise WrongState(_("This objection was already decided."))
    if not uphold and not note.strip():
        raise InvalidInput(_("Say why the objection is dismissed."), "text")
    status = ObjectionStatus.UPHELD if uphold else ObjectionStatus.DISMISSED
    with transaction.atomic():
        if uphold:
            _state_change(
                problem,
                by,
                membership,
                "decide_objection",
                State.IN_PROGRESS,
                event="notice.objection",
                acceptance_level=0,
            )
            PublicNotice.objects.filter(pk=objection.notice_id).update(status=NoticeStatus.OBJECTED)
        else:
            _bump(problem)
        updated = Objection.objects.filter(pk=objection.pk, status=ObjectionStatus.PENDING).update(
            status=status,
            upheld=uphold,
            decided_by=by,
            decided_at=timezone.now(),
            decision_note=note,
        )
        if not updated:
            raise Conflict(_("This objection was decided a moment ago."))
        _record(
            problem,
            by,
            membership,
            f"notice.objection.{status}",
            {"objection": objection.pk, "status": ObjectionStatus.PENDING},
            {"objection": objection.pk, "status": status, "note": note},
            target=objection.notice,
        )
    objection.refresh_from_db()
    return objection


def end_notice(problem: Problem, *, by, today: dt.date | None = None) -> Problem:
    """End the public notice and close (销号); refused before the period is over."""
    membership = _check(problem, "end_notice", by)
    notice = open_notice(problem)
    today = today or timezone.localdate()
    if today <= notice.ends_on:
        raise WrongState(
            _("The public notice runs until %(date)s; it can be ended after that day.")
            % {"date": notice.ends_on.isoformat()}
        )
    if problem.children.exclude(state=State.CLOSED).exists():
        raise WrongState(
            _("Child problems are still open; a parent closes only after all of them.")
        )
    with transaction.atomic():
        _state_change(
            problem,
            by,
            membership,
            "end_notice",
            State.CLOSED,
            event="close",
            closed_at=timezone.now(),
            progress_percent=100,
        )
        notice.status = NoticeStatus.ENDED
        notice.save(update_fields=["status"])
    return problem


def _closed_event(problem, notice, was: str, now) -> dict:
    """The audit event of the system's close after the notice (audit.record's arguments)."""
    return {
        "actor": None,
        "role": "system",
        "action": "close",
        "target": problem,
        "before": {"state": was},
        "after": {
            "state": State.CLOSED,
            "closed_at": now.isoformat(),
            "progress_percent": 100,
            "notice": notice.pk,
            "notice_ended_on": notice.ends_on.isoformat(),
            "automatic": True,
        },
        "problem_id": problem.pk,
    }


def close_after_notice(
    problem: Problem, *, today: dt.date, now: dt.datetime | None = None, open_children=None
):
    """The notice's last day has passed: the system ends it and closes the problem (销号).

    Taken by the supervision sweep (actor None, role "system"). Returns the problem, or None
    when it does not close now: an objection waits for a decision, a child problem is open, or
    someone else changed the problem a moment ago (a second sweeper). Nothing is written then.
    A sweep closing many problems passes `open_children` (whether the problem has open child
    problems), read for all of them in one query.
    """
    notice = open_notice(problem)
    if problem.state not in TABLE["close_after_notice"].sources:
        return None
    if notice is None or today <= notice.ends_on:
        return None
    if open_children is None:
        open_children = problem.children.exclude(state=State.CLOSED).exists()
    if open_children or pending_objections(problem).exists():
        return None
    now = now or timezone.now()
    try:
        with transaction.atomic():
            before = {"state": problem.state}
            _state_change(
                problem,
                None,
                None,
                "close_after_notice",
                State.CLOSED,
                closed_at=now,
                progress_percent=100,
            )
            ended = PublicNotice.objects.filter(pk=notice.pk, status=NoticeStatus.OPEN).update(
                status=NoticeStatus.ENDED
            )
            if not ended:
                raise Conflict(_("The public notice was ended a moment ago."))
            audit.record(**_closed_event(problem, notice, before["state"], now))
    except Conflict:
        return None
    return problem


def close_after_notices(
    notices, *, today: dt.date, now: dt.datetime | None = None, open_children=frozenset()
) -> list[Problem]:
    """close_after_notice() for many problems at once, in a few queries for all of them.

    `notices` are open public notices with their problems (select_related); `open_children`
    the ids of those problems that have open child problems. Returns the problems closed,
    in the order given; the others (an objection waits, a child is open, the notice has
    not ended, or someone changed the problem since it was read) are left as they are.
    Writes the same rows and audit events as one close_after_notice() each; must run
    inside the caller's transaction.
    """
    candidates = [
        notice
        for notice in notices
        if notice.problem.state == State.PUBLIC_NOTICE
        and notice.status == NoticeStatus.OPEN
        and today > notice.ends_on
        and notice.problem_id not in open_children
    ]
    if not candidates:
        return []
    problem_ids = [notice.problem_id for notice in candidates]
    waiting = set(
        Objection.objects.filter(
            notice__problem_id__in=problem_ids,
            notice__status=NoticeStatus.OPEN,
            status=ObjectionStatus.PENDING,
        ).values_list("notice__problem_id", flat=True)
    )
    # Lock the rows, then keep only those nobody changed since they were read (a second
    # sweeper, a person recording an objection): what _bump checks one at a time.
    current = dict(
        Problem.objects.select_for_update()
        .filter(pk__in=problem_ids, state=State.PUBLIC_NOTICE)
        .values_list("pk", "version")
    )
    still_open = set(
        PublicNotice.objects.select_for_update()
        .filter(pk__in=[notice.pk for notice in candidates], status=NoticeStatus.OPEN)
        .values_list("pk", flat=True)
    )
    closing = [
        notice
        for notice in candidates
        if notice.problem_id not in waiting
        and current.get(notice.problem_id) == notice.problem.version
        and notice.pk in still_open
    ]
    if not closing:
        return []
    now = now or timezone.now()
    closed = [notice.problem for notice in closing]
    before = {problem.pk: problem.state for problem in closed}
    _state_change_many(
        closed, "close_after_notice", State.CLOSED, closed_at=now, progress_percent=100
    )
    PublicNotice.objects.filter(pk__in=[notice.pk for notice in closing]).update(
        status=NoticeStatus.ENDED
    )
    for notice in closing:
        notice.status = NoticeStatus.ENDED
    entries = [
        _closed_event(notice.problem, notice, before[notice.problem_id], now) for notice in closing
    ]
    audit.record_many(entries)
    return [notice.problem for notice in closing]
