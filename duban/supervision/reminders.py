"""Reminders before a problem's deadline and its milestones' dates (days set per inspection).

For each open problem whose deadline (or a milestone's date) lies within the inspection's
largest reminder day, the most urgent threshold reached is reminded once: with 7, 3, 1,
a deadline 2 days away is the "3 days" reminder. The rung key holds the date reminded
about, so an approved extension (a new problem.deadline) arms the reminders again, while
the rungs of the old deadline stay in the history.
"""

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from duban.audit import log as audit
from duban.inspections.models import Inspection
from duban.ledger.models import OPEN_WORK_STATES, Milestone, Problem
from duban.notify.actions import notify_many
from duban.org.models import Role

from .models import Rung
from .people import members_by_unit, office_language, problem_url
from .sweep import batches, rule, take_many, taken_keys


def threshold(days_left: int, reminder_days) -> int | None:
    """The reminder due when `days_left` days remain: the smallest set day not below it."""
    due = [n for n in reminder_days if n >= days_left]
    return min(due) if due and days_left >= 1 else None


def _due_items(today: dt.date, days_by_inspection: dict) -> list[dict]:
    horizon = today + dt.timedelta(days=max(max(d) for d in days_by_inspection.values()))
    fields = ("id", "inspection_id", "lead_unit_id", "deadline", "ledger_number", "title")
    items = []
    for p in (
        Problem.objects.filter(
            state__in=OPEN_WORK_STATES,
            deadline_by_date=True,
            deadline__gt=today,
            deadline__lte=horizon,
            inspection_id__in=days_by_inspection,
        )
        .order_by()
        .values(*fields)
    ):
        items.append({**p, "what": "deadline", "pk": p["id"], "date": p["deadline"], "label": ""})
    for m in (
        Milestone.objects.filter(
            problem__state__in=OPEN_WORK_STATES,
            problem__inspection_id__in=days_by_inspection,
            due_date__gt=today,
            due_date__lte=horizon,
        )
        .order_by()
        .values(
            "id",
            "due_date",
            "description",
            "problem_id",
            "problem__inspection_id",
            "problem__lead_unit_id",
            "problem__ledger_number",
            "problem__title",
        )
    ):
        items.append(
            {
                "what": "milestone",
                "pk": m["id"],
                "date": m["due_date"],
                "label": m["description"],
                "id": m["problem_id"],
                "inspection_id": m["problem__inspection_id"],
                "lead_unit_id": m["problem__lead_unit_id"],
                "ledger_number": m["problem__ledger_number"],
                "title": m["problem__title"],
            }
        )
    for item in items:
        days_left = (item["date"] - today).days
        n = threshold(days_left, days_by_inspection[item["inspection_id"]])
        item["days_left"], item["threshold"] = days_left, n
        item["key"] = f"remind:{item['what']}:{item['pk']}:{item['date'].isoformat()}:{n}"
    return [item for item in items if item["threshold"] is not None]


def _message(item) -> tuple[str, str]:
    days = item["days_left"]
    name = f"{item['ledger_number']} {item['title']}".strip()
    if item["what"] == "deadline":
        title = ngettext(
            "Deadline in %(days)d day: %(problem)s",
            "Deadline in %(days)d days: %(problem)s",
            days,
        ) % {"days": days, "problem": name}
        body = _("The rectification deadline is %(date)s.") % {"date": item["date"].isoformat()}
    else:
        title = ngettext(
            "Milestone in %(days)d day: %(problem)s",
            "Milestone in %(days)d days: %(problem)s",
            days,
        ) % {"days": days, "problem": name}
        body = _("Milestone “%(milestone)s” is due on %(date)s.") % {
            "milestone": item["label"],
            "date": item["date"].isoformat(),
        }
    return title, body


@rule("deadline_reminders")
def deadline_reminders(now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    today = timezone.localdate(now)
    days_by_inspection = {
        pk: days for pk, days in Inspection.objects.values_list("pk", "reminder_days") if days
    }
    if not days_by_inspection:
        return counts
    items = _due_items(today, days_by_inspection)
    taken = taken_keys(item["key"] for item in items)
    items = [item for item in items if item["key"] not in taken]
    if not items:
        return counts
    contacts = members_by_unit((item["lead_unit_id"] for item in items), Role.LIAISON)
    for batch in batches(items):
        with transaction.atomic():
            taken = take_many(
                (
                    {
                        "key": item["key"],
                        "kind": f"{item['what']}_reminder",
                        "problem_id": item["id"],
                        "unit_id": item["lead_unit_id"],
                        "inspection_id": item["inspection_id"],
                        "data": {"date": item["date"].isoformat(), "days_left": item["days_left"]},
                    }
                    for item in batch
                ),
                now=now,
            )
            fresh = [item for item in batch if item["key"] in taken]
            if not fresh:
                continue
            with office_language():
                messages = [_message(item) for item in fresh]
            notify_many(
                (
                    {
                        "recipients": contacts.get(item["lead_unit_id"], []),
                        "kind": f"{item['what']}_reminder",
                        "key": item["key"],
                        "title": title,
                        "body": body,
                        "url": problem_url(item["id"]),
                        "problem_id": item["id"],
                    }
                    for item, (title, body) in zip(fresh, messages, strict=True)
                ),
                now=now,
            )
            audit.record_many(
                {
                    "actor": None,
                    "role": "system",
                    "action": f"supervision.remind.{item['what']}",
                    "target": (Rung._meta.label_lower, taken[item["key"]]),
                    "after": {
                        "date": item["date"].isoformat(),
                        "days_left": item["days_left"],
                        "milestone": item["label"],
                    },
                    "problem_id": item["id"],
                }
                for item in fresh
            )
        for item in fresh:
            counts[f"{item['what']}_reminder"] += 1
    return counts
