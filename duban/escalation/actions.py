"""Every state change of the escalation ladder and of accountability records.

Each runs in one transaction with its audit event. The system's steps (issue a notice,
list for a circular, draw up a circular, refer) are called by the sweep rules in
ladder.py with the sweep's `now`; the people's steps (acknowledge, answer, approve,
discard, policy, accountability) check role and scope here.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log
from duban.core.exceptions import Conflict, InvalidInput, NotAllowed, WrongState
from duban.notify.actions import notify
from duban.org.models import Role
from duban.org.scope import memberships_as
from duban.workcalendar.workdays import add_working_days

from . import scope
from .models import (
    AccountabilityRecord,
    Circular,
    CircularEntry,
    CircularStatus,
    EscalationPolicy,
    Interview,
    Measure,
    NoticeProblem,
    NoticeStatus,
    Recipient,
    RecordStatus,
    Sequence,
    SupervisionNotice,
    circulating_region,
)

SYSTEM = "system"


def _date(value):
    return value.isoformat() if value else None


def _next_working_day_after(day: dt.date, days: int) -> dt.date:
    return add_working_days(day + dt.timedelta(days=1), days)


# --- the system's steps ---------------------------------------------------------------


def issue_notice(inspection, unit, problems, *, policy, now) -> SupervisionNotice:
    """督办通知 to `unit` about `problems` (overdue); inside the sweep's transaction."""
    today = timezone.localdate(now)
    seq = Sequence.next(f"notice:{today.year}")
    notice = SupervisionNotice.objects.create(
        inspection=inspection,
        unit=unit,
        number=f"督办〔{today.year}〕{seq}号",
        issued_at=now,
        ack_due=_next_working_day_after(today, policy.ack_working_days),
        answer_due=_next_working_day_after(today, policy.answer_working_days),
    )
    NoticeProblem.objects.bulk_create(
        NoticeProblem(notice=notice, problem_id=p.pk, deadline=p.deadline) for p in problems
    )
    log.record_many(
        {
            "actor": None,
            "role": SYSTEM,
            "action": "escalation.notice",
            "target": notice,
            "after": {
                "number": notice.number,
                "deadline": _date(problem.deadline),
                "ack_due": _date(notice.ack_due),
                "answer_due": _date(notice.answer_due),
            },
            "problem_id": problem.pk,
        }
        for problem in problems
    )
    url = reverse("escalation:notice_detail", args=[notice.pk])
    titles = "、".join(p.ledger_number or p.title for p in problems)
    notify(
        scope.recipients(policy.notice_recipients, unit, problems),
        kind="supervision_notice",
        key=f"escalation:notice:{notice.pk}",
        title=_("Supervision notice %(number)s to %(unit)s")
        % {"number": notice.number, "unit": unit},
        body=_("Overdue: %(problems)s. Acknowledge by %(ack)s; answer by %(answer)s.")
        % {"problems": titles, "ack": notice.ack_due, "answer": notice.answer_due},
        url=url,
        now=now,
    )
    return notice


def list_for_circular(problem, *, unit, notice, reason, now) -> CircularEntry:
    """Put a late problem on the list of the next circular."""
    return list_for_circular_many([problem], unit=unit, notice=notice, reason=reason, now=now)[0]


def list_for_circular_many(problems, *, unit, notice, reason, now) -> list[CircularEntry]:
    """list_for_circular() for many late problems of one notice: the same rows and events."""
    region = circulating_region(unit)
    today = timezone.localdate(now)
    entries = CircularEntry.objects.bulk_create(
        CircularEntry(
            inspection=problem.inspection,
            region=region,
            unit=unit,
            problem=problem,
            notice=notice,
            deadline=problem.deadline,
            reason=reason,
            listed_at=now,
            days_overdue=(today - problem.deadline).days,
        )
        for problem in problems
    )
    log.record_many(
        {
            "actor": None,
            "role": SYSTEM,
            "action": "escalation.listed",
            "target": entry,
            "after": {
                "reason": reason,
                "notice": notice.number if notice else None,
                "deadline": _date(problem.deadline),
            },
            "problem_id": problem.pk,
        }
        for problem, entry in zip(problems, entries, strict=True)
    )
    return entries


def draw_up_circular(inspection, region, entries, *, period, now) -> Circular:
    """A draft circular of `region`'s office naming `entries` (still overdue)."""
    today = timezone.localdate(now)
    circular = Circular.objects.create(
        inspection=inspection, region=region, period=period, generated_at=now
    )
    for entry in entries:
        entry.circular = circular
        entry.days_overdue = (today - entry.deadline).days
    CircularEntry.objects.bulk_update(entries, ["circular", "days_overdue"])
    log.record(
        actor=None,
        role=SYSTEM,
        action="circular.draft",
        target=circular,
        after={"period": period, "entries": [e.pk for e in entries]},
    )
    notify(
        scope.offices_over(region),
        kind="circular_draft",
        key=f"escalation:circular-draft:{circular.pk}",
        title=_("A circular for %(period)s awaits approval") % {"period": period},
        url=reverse("escalation:circular_detail", args=[circular.pk]),
        now=now,
    )
    return circular


def refer(inspection, unit, entries, *, policy, now) -> Interview:
    """约谈 and 问责移送: an interview record and a draft accountability record."""
    today = timezone.localdate(now)
    problems = [e.problem for e in entries]
    interview = Interview.objects.create(
        inspection=inspection,
        unit=unit,
        circular=entries[0].circular,
        planned_on=_next_working_day_after(today, policy.answer_working_days),
        created_at=now,
    )
    interview.problems.set(problems)
    record = AccountabilityRecord.objects.create(
        region=unit.region,
        unit=unit,
        measure=Measure.INTERVIEW,
        facts=_("Still overdue after being named in circular %(number)s.")
        % {"number": entries[0].circular.number},
        interview=interview,
        created_at=now,
    )
    record.problems.set(problems)
    notices = {e.notice_id for e in entries if e.notice_id}
    record.notices.set(notices)
    log.record_many(
        {
            "actor": None,
            "role": SYSTEM,
            "action": action,
            "target": target,
            "after": {"unit": unit.name, "planned_on": _date(interview.planned_on)},
            "problem_id": problem.pk,
        }
        for problem in problems
        for action, target in (
            ("escalation.interview", interview),
            ("escalation.referral", record),
        )
    )
    told = scope.recipients(policy.referral_recipients, unit, problems)
    inspectors = {u.pk for u in scope.discipline_over(unit.region)}
    notify(
        [u for u in told if u.pk in inspectors],
        kind="referral",
        key=f"escalation:referral:{record.pk}",
        title=_("Referral for accountability: %(unit)s") % {"unit": unit},
        url=reverse("escalation:record_edit", args=[record.pk]),
        now=now,
    )
    notify(
        [u for u in told if u.pk not in inspectors],
        kind="interview",
        key=f"escalation:interview:{interview.pk}",
        title=_("Interview (约谈) planned for %(unit)s on %(day)s")
        % {"unit": unit, "day": interview.planned_on},
        url=reverse("escalation:interview_detail", args=[interview.pk]),
        now=now,
    )
    return interview


# --- the unit's steps -----------------------------------------------------------------


def _unit_role(notice, user) -> str:
    for m in memberships_as(user, Role.LIAISON, Role.UNIT_HEAD):
        if m.unit_id == notice.unit_id:
            return m.role
    raise NotAllowed(_("Only the liaison or head of the unit answers its notices."))


def acknowledge_notice(notice: SupervisionNotice, *, by) -> SupervisionNotice:
    """签收: once; a second click (or a second person) gets a clear message."""
    role = _unit_role(notice, by)
    now = timezone.now()
    with transaction.atomic():
        updated = SupervisionNotice.objects.filter(
            pk=notice.pk, acknowledged_at__isnull=True
        ).update(acknowledged_at=now, acknowledged_by=by, status=NoticeStatus.ACKNOWLEDGED)
        if not updated:
            notice.refresh_from_db()
            raise Conflict(
                _("This notice was already acknowledged by %(who)s at %(when)s.")
                % {
                    "who": notice.acknowledged_by,
                    "when": timezone.localtime(notice.acknowledged_at).strftime("%Y-%m-%d %H:%M"),
                }
            )
        for item in notice.items.all():
            log.record(
                actor=by,
                role=role,
                action="escalation.acknowledge",
                target=notice,
                before={"status": NoticeStatus.ISSUED},
                after={"status": NoticeStatus.ACKNOWLEDGED, "number": notice.number},
                problem_id=item.problem_id,
            )
    notice.refresh_from_db()
    return notice


def answer_notice(notice: SupervisionNotice, *, by, reasons: str, catch_up_plan: str):
    """The unit's answer: why it is late and how it catches up (acknowledges if not yet)."""
    role = _unit_role(notice, by)
    reasons, catch_up_plan = reasons.strip(), catch_up_plan.strip()
    if not reasons:
        raise InvalidInput(_("Say why the problems are late."), "reasons")
    if not catch_up_plan:
        raise InvalidInput(_("Give the catch-up measures and timetable."), "catch_up_plan")
    now = timezone.now()
    with transaction.atomic():
        current = SupervisionNotice.objects.select_for_update().get(pk=notice.pk)
        if current.status == NoticeStatus.ANSWERED:
            raise WrongState(_("This notice was already answered."))
        before = {"status": current.status}
        current.reasons, current.catch_up_plan = reasons, catch_up_plan
        current.answered_at, current.answered_by = now, by
        if current.acknowledged_at is None:
            current.acknowledged_at, current.acknowledged_by = now, by
        current.status = NoticeStatus.ANSWERED
        current.save()
        for item in current.items.all():
            log.record(
                actor=by,
                role=role,
                action="escalation.answer",
                target=current,
                before=before,
                after={"status": current.status, "reasons": reasons, "plan": catch_up_plan},
                problem_id=item.problem_id,
            )
        notify(
            scope.offices_over(current.unit.region),
            kind="notice_answered",
            key=f"escalation:notice-answered:{current.pk}",
            title=_("%(unit)s answered notice %(number)s")
            % {"unit": current.unit, "number": current.number},
            url=reverse("escalation:notice_detail", args=[current.pk]),
        )
    return current


# --- the office's steps ---------------------------------------------------------------


def _office_check(circular, user):
    if not scope.is_office_over(user, circular.region):
        raise NotAllowed(_("Only the rectification office of this region approves circulars."))


def approve_circular(circular: Circular, *, by) -> Circular:
    """The circular goes out: numbered, the units named are notified. Once."""
    _office_check(circular, by)
    now = timezone.now()
    with transaction.atomic():
        if not circular.entries.exists():
            raise WrongState(_("This circular names no unit; discard it instead."))
        updated = Circular.objects.filter(pk=circular.pk, status=CircularStatus.DRAFT).update(
            status=CircularStatus.APPROVED, decided_at=now, decided_by=by
        )
        if not updated:
            raise Conflict(_("This circular was already decided."))
        year = timezone.localdate(now).year  # the office's year, not UTC's (1 January, 07:00)
        seq = Sequence.next(f"circular:{year}")
        number = f"督查通报〔{year}〕{seq}号"
        Circular.objects.filter(pk=circular.pk).update(number=number)
        circular.refresh_from_db()
        log.record(
            actor=by,
            role=Role.OFFICE,
            action="circular.approve",
            target=circular,
            before={"status": CircularStatus.DRAFT},
            after={"status": circular.status, "number": number},
        )
        url = reverse("escalation:circular_detail", args=[circular.pk])
        entries = list(circular.entries.select_related("unit", "problem"))
        for entry in entries:
            log.record(
                actor=by,
                role=Role.OFFICE,
                action="escalation.circulated",
                target=circular,
                after={"number": number, "days_overdue": entry.days_overdue},
                problem_id=entry.problem_id,
            )
        for unit in {e.unit for e in entries}:
            notify(
                scope.recipients([Recipient.LIAISON, Recipient.UNIT_HEAD], unit),
                kind="circular",
                key=f"escalation:circular:{circular.pk}:{unit.pk}",
                title=_("Your unit is named in circular %(number)s") % {"number": number},
                url=url,
                now=now,
            )
    return circular


def discard_circular(circular: Circular, *, by, note: str = "") -> Circular:
    """Not sent; its problems go back to wait for the next circular."""
    _office_check(circular, by)
    with transaction.atomic():
        updated = Circular.objects.filter(pk=circular.pk, status=CircularStatus.DRAFT).update(
            status=CircularStatus.DISCARDED, decided_at=timezone.now(), decided_by=by, note=note
        )
        if not updated:
            raise Conflict(_("This circular was already decided."))
        released = list(circular.entries.values_list("pk", flat=True))
        CircularEntry.objects.filter(pk__in=released).update(circular=None)
        log.record(
            actor=by,
            role=Role.OFFICE,
            action="circular.discard",
            target=circular,
            before={"status": CircularStatus.DRAFT},
            after={"status": CircularStatus.DISCARDED, "note": note, "released": released},
        )
    circular.refresh_from_db()
    return circular


def update_interview(interview: Interview, *, by, planned_on, interviewers: str, notes: str):
    """The office sets the interview's date, who holds it, and what was said."""
    if not scope.is_office_over(by, interview.unit.region):
        raise NotAllowed(
            _("Only the rectification office of the unit's region arranges interviews.")
        )
    if planned_on is None:
        raise InvalidInput(_("Give the date."), "planned_on")
    with transaction.atomic():
        current = Interview.objects.select_for_update().get(pk=interview.pk)
        before = {
            "planned_on": _date(current.planned_on),
            "interviewers": current.interviewers,
            "notes": current.notes,
        }
        current.planned_on, current.interviewers = planned_on, interviewers.strip()
        current.notes = notes.strip()
        current.save(update_fields=["planned_on", "interviewers", "notes"])
        log.record(
            actor=by,
            role=Role.OFFICE,
            action="interview.edit",
            target=current,
            before=before,
            after={
                "planned_on": _date(current.planned_on),
                "interviewers": current.interviewers,
                "notes": current.notes,
            },
        )
    return current


POLICY_FIELDS = (
    "enabled",
    "use_circulars",
    "use_referrals",
    "notice_recipients",
    "referral_recipients",
    "ack_working_days",
    "answer_working_days",
    "circular_after_days",
    "repeat_notices",
    "repeat_period_days",
    "interview_after_days",
    "circular_schedule",
    "circular_day",
)


def save_policy(inspection, *, by, values: dict) -> EscalationPolicy:
    if not scope.is_office_over(by, inspection.target_region):
        raise NotAllowed(_("Only the rectification office of the inspection sets its ladder."))
    day = values.get("circular_day", 1)
    if values.get("circular_schedule") == "weekly" and not 1 <= day <= 7:
        raise InvalidInput(_("A weekly circular needs a day from 1 (Monday) to 7."), "circular_day")
    if values.get("circular_schedule") == "monthly" and not 1 <= day <= 28:
        raise InvalidInput(_("A monthly circular needs a day from 1 to 28."), "circular_day")
    with transaction.atomic():
        policy, _created = EscalationPolicy.objects.select_for_update().get_or_create(
            inspection=inspection
        )
        before = {f: getattr(policy, f) for f in POLICY_FIELDS}
        for field in POLICY_FIELDS:
            if field in values:
                setattr(policy, field, values[field])
        policy.save()
        log.record(
            actor=by,
            role=Role.OFFICE,
            action="escalation.policy",
            target=policy,
            before=before,
            after={f: getattr(policy, f) for f in POLICY_FIELDS},
        )
    return policy


# --- accountability -------------------------------------------------------------------


@dataclass
class RecordInput:
    region: object
    measure: str
    unit: object = None
    person_name: str = ""
    person_post: str = ""
    facts: str = ""
    decided_on: dt.date | None = None
    problems: tuple = ()
    notices: tuple = ()


def _record_values(data: RecordInput) -> dict:
    if data.measure not in Measure.values:
        raise InvalidInput(_("Choose a measure."), "measure")
    if data.unit is None and not data.person_name.strip():
        raise InvalidInput(_("Name a person or a unit."), "person_name")
    return {
        "region": data.unit.region if data.unit else data.region,
        "unit": data.unit,
        "person_name": data.person_name.strip(),
        "person_post": data.person_post.strip(),
        "measure": data.measure,
        "facts": data.facts.strip(),
        "decided_on": data.decided_on,
    }


def _discipline_check(user, region):
    if scope.discipline_membership(user, region) is None:
        raise NotAllowed(_("Only the discipline inspectors of this region record accountability."))


def _snapshot(record) -> dict:
    return {
        "unit": record.unit.name if record.unit else None,
        "person": record.person_name,
        "post": record.person_post,
        "measure": record.measure,
        "status": record.status,
        "decided_on": _date(record.decided_on),
        "problems": sorted(record.problems.values_list("pk", flat=True)),
        "notices": sorted(record.notices.values_list("pk", flat=True)),
    }


def create_record(*, by, data: RecordInput) -> AccountabilityRecord:
    values = _record_values(data)
    _discipline_check(by, values["region"])
    with transaction.atomic():
        record = AccountabilityRecord.objects.create(
            **values, created_at=timezone.now(), created_by=by
        )
        record.problems.set(data.problems)
        record.notices.set(data.notices)
        log.record(
            actor=by,
            role=Role.DISCIPLINE,
            action="accountability.create",
            target=record,
            after=_snapshot(record),
        )
    return record


def update_record(record: AccountabilityRecord, *, by, data: RecordInput, finish: bool = False):
    """Edit a record; with `finish` it becomes recorded (and is then fixed)."""
    values = _record_values(data)
    _discipline_check(by, record.region)
    _discipline_check(by, values["region"])
    if finish and values["decided_on"] is None:
        raise InvalidInput(_("Give the date of the decision."), "decided_on")
    with transaction.atomic():
        current = AccountabilityRecord.objects.select_for_update().get(pk=record.pk)
        if current.status == RecordStatus.RECORDED:
            raise WrongState(_("This record is already recorded and can no longer change."))
        before = _snapshot(current)
        for field, value in values.items():
            setattr(current, field, value)
        if finish:
            current.status = RecordStatus.RECORDED
            current.recorded_at, current.recorded_by = timezone.now(), by
        current.save()
        current.problems.set(data.problems)
        current.notices.set(data.notices)
        after = _snapshot(current)
        log.record(
            actor=by,
            role=Role.DISCIPLINE,
            action="accountability.record" if finish else "accountability.edit",
            target=current,
            before=before,
            after=after,
        )
        if finish:
            for problem_id in after["problems"]:
                log.record(
                    actor=by,
                    role=Role.DISCIPLINE,
                    action="escalation.accountability",
                    target=current,
                    after={"measure": current.measure, "unit": after["unit"]},
                    problem_id=problem_id,
                )
    return current
