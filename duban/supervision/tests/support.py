"""Time travel for supervision tests: sweeps as of a given day, never sleeping."""

import datetime as dt

from django.utils import timezone

from duban.notify.models import Notification
from duban.supervision.sweep import run_sweep


def at(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


# This app's rules; other apps' rules (escalation, notifications) are tested by their apps.
RULES = ["report_cycles", "deadline_reminders", "public_notice"]


def sweep(day: dt.date, hour: int = 9, only=None):
    return run_sweep(at(day, hour), only=only or RULES)


def inbox(user, kind=None) -> list[Notification]:
    rows = Notification.objects.filter(recipient=user).order_by("id")
    if kind:
        rows = rows.filter(kind=kind)
    return list(rows)


def today() -> dt.date:
    return timezone.localdate()
