"""The sweep rules of the escalation ladder (found through duban.escalation.rules).

Every rung's key carries the problem's deadline, so an approved extension (a new
deadline) re-arms the ladder, and a step found for a deadline that has since moved is
not taken. Each step runs in the transaction of its batch with its rung (take_many).
"""

import datetime as dt
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from duban.inspections.models import Inspection
from duban.ledger.models import OPEN_WORK_STATES, Problem
from duban.org.models import Region, Unit
from duban.supervision.sweep import batches, rule, take_many, take_once, taken_keys

from . import actions
from .models import (
    CircularEntry,
    CircularStatus,
    EscalationPolicy,
    ListingReason,
    NoticeProblem,
    Schedule,
    SupervisionNotice,
    policy_for,
)


class Policies(dict):
    """Policies by inspection id, loaded once per rule run."""

    def of(self, inspection):
        if inspection.pk not in self:
            self[inspection.pk] = policy_for(inspection)
        return self[inspection.pk]


# The fields of a problem that a supervision notice and its message use.
NOTICE_FIELDS = (
    "id",
    "inspection_id",
    "lead_unit_id",
    "lead_official_id",
    "deadline",
    "ledger_number",
    "title",
)


def notice_key(problem) -> str:
    return f"escalation:notice:{problem.pk}:{problem.deadline}"


@rule("escalation.notices")
def issue_notices(now: dt.datetime) -> Counter:
    """Rung 1: an overdue problem not yet noticed for its deadline → a notice to its unit."""
    counts: Counter = Counter()
    today = timezone.localdate(now)
    disabled = EscalationPolicy.objects.filter(enabled=False).values("inspection_id")
    # A notice item exists exactly when the rung was taken (same transaction): a cheap
    # way to skip, in the query, problems already noticed for their current deadline.
    noticed = NoticeProblem.objects.filter(problem=OuterRef("pk"), deadline=OuterRef("deadline"))
    overdue = list(
        Problem.objects.overdue(today)
        .filter(lead_unit__isnull=False)
        .exclude(inspection_id__in=disabled)
        .exclude(Exists(noticed))
        # What a notice needs of its problems (a catch-up reads thousands): not whole rows.
        .only(*NOTICE_FIELDS)
        .order_by("inspection_id", "lead_unit_id", "deadline", "id")
    )
    taken = taken_keys(notice_key(p) for p in overdue)
    groups = defaultdict(list)
    for problem in overdue:
        if notice_key(problem) not in taken:
            groups[(problem.inspection_id, problem.lead_unit_id)].append(problem)
    inspections = Inspection.objects.select_related("target_region").in_bulk(
        {i for i, _u in groups}
    )
    units = Unit.objects.select_related("region").in_bulk({u for _i, u in groups})
    policies = Policies()
    for (inspection_id, unit_id), problems in groups.items():
        inspection, unit = inspections[inspection_id], units[unit_id]
        with transaction.atomic():
            taken = take_many(
                (
                    {
                        "key": notice_key(p),
                        "kind": "escalation.notice",
                        "problem_id": p.pk,
                        "unit_id": unit.pk,
                        "inspection_id": inspection.pk,
                    }
                    for p in problems
                ),
                now=now,
            )
            fresh = [p for p in problems if notice_key(p) in taken]
            if fresh:
                actions.issue_notice(
                    inspection, unit, fresh, policy=policies.of(inspection), now=now
                )
                counts["escalation.notice"] += 1
    return counts


def _still_overdue(prefix: str, today):
    """Filters on a related problem: open, overdue, and the deadline has not moved."""
    return {
        f"{prefix}state__in": OPEN_WORK_STATES,
        f"{prefix}deadline": F("deadline"),
        "deadline__lt": today,
    }


@rule("escalation.listing")
def list_late_units(now: dt.datetime) -> Counter:
    """Rung 2: not acknowledged in time, still overdue, or repeatedly late → next circular.

    The reason belongs to the notice, so the notices with problems still to list are read
    first (few), and a notice's problems only once it has a reason: a sweep with nothing
    due reads no problem.
    """
    counts: Counter = Counter()
    today = timezone.localdate(now)
    already = CircularEntry.objects.filter(
        problem_id=OuterRef("problem_id"), deadline=OuterRef("deadline")
    )
    unlisted = NoticeProblem.objects.filter(**_still_overdue("problem__", today)).exclude(
        Exists(already)
    )
    notices = (
        SupervisionNotice.objects.filter(issued_at__lte=now)
        .filter(Exists(unlisted.filter(notice=OuterRef("pk"))))
        .select_related("unit", "inspection")
        .order_by("issued_at", "id")
    )
    policies = Policies()
    repeated: dict[tuple, bool] = {}
    for notice in notices:
        policy = policies.of(notice.inspection)
        if not (policy.enabled and policy.use_circulars):
            continue
        group = (notice.inspection_id, notice.unit_id)
        if group not in repeated:
            since = now - dt.timedelta(days=policy.repeat_period_days)
            repeated[group] = (
                SupervisionNotice.objects.filter(
                    inspection_id=group[0],
                    unit_id=group[1],
                    issued_at__gt=since,
                    issued_at__lte=now,
                ).count()
                >= policy.repeat_notices
            )
        if notice.acknowledged_at is None and today > notice.ack_due:
            reason = ListingReason.UNACKNOWLEDGED
        elif now >= notice.issued_at + dt.timedelta(days=policy.circular_after_days):
            reason = ListingReason.STILL_OVERDUE
        elif repeated[group]:
            reason = ListingReason.REPEATED
        else:
            continue
        items = list(
            unlisted.filter(notice=notice).select_related("problem__inspection").order_by("id")
        )
        for batch in batches(items):
            with transaction.atomic():
                taken = take_many(
                    (
                        {
                            "key": f"escalation:list:{item.problem_id}:{item.deadline}",
                            "kind": "escalation.listing",
                            "problem_id": item.problem_id,
                            "unit_id": notice.unit_id,
                            "inspection_id": notice.inspection_id,
                            "data": {"reason": reason, "notice": notice.pk},
                        }
                        for item in batch
                    ),
                    now=now,
                )
                fresh = [
                    item.problem
                    for item in batch
                    if f"escalation:list:{item.problem_id}:{item.deadline}" in taken
                ]
                if fresh:
                    actions.list_for_circular_many(
                        fresh, unit=notice.unit, notice=notice, reason=reason, now=now
                    )
            counts["escalation.listing"] += len(fresh)
    return counts


def circular_period(policy, today: dt.date) -> tuple[str, dt.date]:
    """The latest scheduled circular day on or before `today`, and its period's name."""
    if policy.circular_schedule == Schedule.WEEKLY:
        day = today - dt.timedelta(days=(today.isoweekday() - policy.circular_day) % 7)
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}", day
    day = min(policy.circular_day, 28)
    scheduled = today.replace(day=day)
    if scheduled > today:
        previous = today.replace(day=1) - dt.timedelta(days=1)
        scheduled = previous.replace(day=day)
    return f"{scheduled:%Y-%m}", scheduled


@rule("escalation.circulars")
def draw_up_circulars(now: dt.datetime) -> Counter:
    """On the scheduled day, a draft circular naming what was listed before that day."""
    counts: Counter = Counter()
    today = timezone.localdate(now)
    pending = CircularEntry.objects.filter(
        circular__isnull=True, **_still_overdue("problem__", today)
    )
    groups = set(pending.values_list("inspection_id", "region_id").distinct())
    if not groups:
        return counts
    inspections = Inspection.objects.in_bulk({i for i, _r in groups})
    regions = Region.objects.in_bulk({r for _i, r in groups})
    for inspection_id, region_id in sorted(groups):
        inspection, region = inspections[inspection_id], regions[region_id]
        policy = policy_for(inspection)
        if not policy.enabled:
            continue
        period, scheduled = circular_period(policy, today)
        start = timezone.make_aware(dt.datetime.combine(scheduled, dt.time.min))
        with transaction.atomic():
            entries = list(
                pending.filter(inspection=inspection, region=region, listed_at__lt=start)
                .select_for_update(of=("self",))
                .order_by("unit__name", "deadline", "id")
            )
            if not entries:
                continue
            if take_once(
                f"escalation:circular:{inspection.pk}:{region.pk}:{period}",
                kind="escalation.circular",
                now=now,
                inspection=inspection,
            ):
                actions.draw_up_circular(inspection, region, entries, period=period, now=now)
                counts["escalation.circular"] += 1
    return counts


@rule("escalation.referrals")
def refer_still_late(now: dt.datetime) -> Counter:
    """Rung 3: named in an issued circular and still overdue days later → 约谈 and 问责移送."""
    counts: Counter = Counter()
    today = timezone.localdate(now)
    entries = list(
        CircularEntry.objects.filter(
            circular__status=CircularStatus.APPROVED,
            circular__decided_at__lte=now,
            **_still_overdue("problem__", today),
        ).select_related("circular", "unit__region", "inspection", "problem")
    )
    policies = Policies()

    def key(entry):
        return f"escalation:interview:{entry.problem_id}:{entry.deadline}"

    taken = taken_keys(key(e) for e in entries)
    groups = defaultdict(list)
    for entry in entries:
        policy = policies.of(entry.inspection)
        due = entry.circular.decided_at + dt.timedelta(days=policy.interview_after_days)
        if policy.enabled and policy.use_referrals and key(entry) not in taken and now >= due:
            groups[(entry.inspection_id, entry.unit_id)].append(entry)
    for group in groups.values():
        inspection, unit = group[0].inspection, group[0].unit
        with transaction.atomic():
            taken = take_many(
                (
                    {
                        "key": key(e),
                        "kind": "escalation.referral",
                        "problem_id": e.problem_id,
                        "unit_id": unit.pk,
                        "inspection_id": inspection.pk,
                    }
                    for e in group
                ),
                now=now,
            )
            fresh = [e for e in group if key(e) in taken]
            if fresh:
                actions.refer(inspection, unit, fresh, policy=policies.of(inspection), now=now)
                counts["escalation.referral"] += 1
    return counts
