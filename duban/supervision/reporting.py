"""定期调度: each period's progress report, flagged when missing, reminded, closed when filed.

The day after a period's due date the sweep closes the period for the inspection (one rung
per inspection and due date): every problem in progress since before the period began that
has no report since the period began gets a ReportGap, and the contacts of each late unit
are told once. Some days later (the inspection's `report_head_after_days`) the unit's head
is told too, if the reports are still missing. A report filed afterwards, even late,
closes the gap.
"""

import datetime as dt
from collections import Counter, defaultdict

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from duban.audit import log as audit
from duban.inspections.models import Inspection
from duban.ledger.models import Problem, State
from duban.notify.actions import notify_many
from duban.org.models import Role

from .actions import close_reported_gaps
from .cycles import last_closed_period
from .models import ReportGap
from .people import members_by_unit, office_language
from .sweep import batches, rule, take_many, take_once, taken_keys


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _ledger_url(unit_id: int) -> str:
    return f"{reverse('ledger:problem_list')}?unit={unit_id}&state={State.IN_PROGRESS}"


def _flag_period(inspection: Inspection, key: str, period, now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    start = _start_of(period.start)
    with transaction.atomic():
        rung = take_once(
            key,
            kind="report_period",
            now=now,
            inspection=inspection,
            data={"start": period.start.isoformat(), "due_on": period.due_on.isoformat()},
        )
        if rung is None:
            return counts
        late = list(
            Problem.objects.filter(
                inspection=inspection,
                state=State.IN_PROGRESS,
                assigned_at__lt=start,
                lead_unit__isnull=False,
            )
            .filter(Q(last_report_at__isnull=True) | Q(last_report_at__lt=start))
            .order_by("id")
            .values_list("id", "lead_unit_id")
        )
        counts["report_period_closed"] += 1
        if not late:
            return counts
        ReportGap.objects.bulk_create(
            [
                ReportGap(
                    problem_id=problem_id,
                    unit_id=unit_id,
                    inspection=inspection,
                    period_start=period.start,
                    period_end=period.end,
                    due_on=period.due_on,
                    flagged_at=now,
                )
                for problem_id, unit_id in late
            ],
            batch_size=1000,
            ignore_conflicts=True,
        )
        after = {"period_start": period.start.isoformat(), "due_on": period.due_on.isoformat()}
        audit.record_many(
            {
                "actor": None,
                "role": "system",
                "action": "supervision.report.missing",
                "target": ("ledger.problem", problem_id),
                "after": after,
                "problem_id": problem_id,
            }
            for problem_id, _unit in late
        )
        by_unit = defaultdict(int)
        for _problem, unit_id in late:
            by_unit[unit_id] += 1
        contacts = members_by_unit(by_unit, Role.LIAISON)
        messages = []
        for unit_id, count in sorted(by_unit.items()):
            with office_language():
                title = ngettext(
                    "%(n)d progress report due on %(date)s is missing",
                    "%(n)d progress reports due on %(date)s are missing",
                    count,
                ) % {"n": count, "date": period.due_on.isoformat()}
                body = _("Report the progress of these problems as soon as possible.")
            messages.append(
                {
                    "recipients": contacts.get(unit_id, []),
                    "kind": "report_missing",
                    # Per inspection: a unit leading problems of two rounds hears of each round's.
                    "key": f"report-missing:{inspection.pk}:{unit_id}:{period.due_on.isoformat()}",
                    "title": title,
                    "body": body,
                    "url": _ledger_url(unit_id),
                }
            )
        notify_many(messages, now=now)
        counts["report_gap_flagged"] += len(late)
        counts["report_reminder_contact"] += len(by_unit)
        rung.data.update(gaps=len(late), units=len(by_unit))
        rung.save(update_fields=["data"])
    return counts


def _remind_heads(inspection: Inspection, today: dt.date, now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    cutoff = today - dt.timedelta(days=inspection.report_head_after_days)
    groups = defaultdict(list)
    for pk, problem_id, unit_id, due_on in ReportGap.objects.filter(
        inspection=inspection,
        reported_at__isnull=True,
        head_reminded_at__isnull=True,
        due_on__lte=cutoff,
        problem__state=State.IN_PROGRESS,
    ).values_list("pk", "problem_id", "unit_id", "due_on"):
        groups[(unit_id, due_on)].append((pk, problem_id))
    if not groups:
        return counts
    heads = members_by_unit((unit for unit, _due in groups), Role.UNIT_HEAD)

    def key(unit_id, due_on):
        # Per inspection, like the gaps: another round's gaps of the unit have their own step.
        return f"report-late-head:{inspection.pk}:{unit_id}:{due_on.isoformat()}"

    for batch in batches(sorted(groups.items())):
        with transaction.atomic():
            taken = take_many(
                (
                    {
                        "key": key(unit_id, due_on),
                        "kind": "report_reminder_head",
                        "unit_id": unit_id,
                        "inspection_id": inspection.pk,
                        "data": {"due_on": due_on.isoformat(), "gaps": len(gaps)},
                    }
                    for (unit_id, due_on), gaps in batch
                ),
                now=now,
            )
            fresh = [(group, gaps) for group, gaps in batch if key(*group) in taken]
            if not fresh:
                continue
            ReportGap.objects.filter(
                pk__in=[pk for _group, gaps in fresh for pk, _problem in gaps],
                head_reminded_at__isnull=True,
            ).update(head_reminded_at=now)
            audit.record_many(
                {
                    "actor": None,
                    "role": "system",
                    "action": "supervision.report.head_reminded",
                    "target": ("ledger.problem", problem_id),
                    "after": {"due_on": due_on.isoformat()},
                    "problem_id": problem_id,
                }
                for (_unit, due_on), gaps in fresh
                for _pk, problem_id in gaps
            )
            messages = []
            for (unit_id, due_on), gaps in fresh:
                with office_language():
                    title = ngettext(
                        "Your unit is late with %(n)d progress report due on %(date)s",
                        "Your unit is late with %(n)d progress reports due on %(date)s",
                        len(gaps),
                    ) % {"n": len(gaps), "date": due_on.isoformat()}
                    body = _("The unit's contact was reminded; the reports are still missing.")
                messages.append(
                    {
                        "recipients": heads.get(unit_id, []),
                        "kind": "report_missing_head",
                        "key": key(unit_id, due_on),
                        "title": title,
                        "body": body,
                        "url": _ledger_url(unit_id),
                    }
                )
            notify_many(messages, now=now)
        counts["report_reminder_head"] += len(fresh)
    return counts


@rule("report_cycles")
def report_cycles(now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    today = timezone.localdate(now)
    closed = close_reported_gaps(now)
    if closed:
        counts["report_gap_closed"] += closed
    inspections = list(
        Inspection.objects.filter(
            pk__in=Problem.objects.filter(state=State.IN_PROGRESS)
            .order_by()
            .values("inspection_id")
            .distinct()
        )
    )
    periods = {inspection.pk: last_closed_period(inspection, today) for inspection in inspections}
    keys = {
        inspection.pk: f"report-period:{inspection.pk}:{periods[inspection.pk].due_on.isoformat()}"
        for inspection in inspections
    }
    taken = taken_keys(keys.values())
    for inspection in inspections:
        if keys[inspection.pk] not in taken:
            counts.update(
                _flag_period(inspection, keys[inspection.pk], periods[inspection.pk], now)
            )
    for inspection in Inspection.objects.filter(
        pk__in=ReportGap.objects.filter(reported_at__isnull=True, head_reminded_at__isnull=True)
        .order_by()
        .values("inspection_id")
        .distinct()
    ):
        counts.update(_remind_heads(inspection, today, now))
    return counts
