"""Every change of the working-day calendar: an office sets a day, or removes its setting.

A calendar change moves deadlines (plan due dates, notice ends, working-day reminders), so
each one is recorded in the audit log in the same transaction. Errors are the ledger's
(ActionError and kin), so views answer them the same way.
"""

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import ActionError, Conflict, InvalidInput, NotAllowed
from duban.org.models import Role, Unit, UnitKind
from duban.org.scope import region_paths, roles_of, topmost
from duban.workcalendar import workdays

from .models import CalendarDay

__all__ = ["ActionError", "Conflict", "InvalidInput", "NotAllowed", "set_day", "remove_day"]

MAX_NAME_LENGTH = CalendarDay._meta.get_field("name").max_length
TARGET = "workcalendar.calendarday"


def may_see(user) -> bool:
    """Office staff read the calendar their deadlines are counted on; nobody else does."""
    return Role.OFFICE in roles_of(user)


def may_edit(user) -> bool:
    """The calendar is one for the whole installation, so it is kept by the top office: the
    office staff of a region with no rectification office above it. A county office reads
    it but does not move the deadlines of the whole province."""
    paths = region_paths(user, Role.OFFICE)
    if not paths:
        return False
    offices = Unit.objects.filter(kind=UnitKind.OFFICE).values_list("region__path", flat=True)
    return bool(topmost(paths, set(offices)))


def top_office_only() -> str:
    return _("Only the top rectification office of this installation edits the calendar.")


def _check(user):
    if not may_edit(user):
        raise NotAllowed(top_office_only())


def _state(info: workdays.DayInfo) -> dict:
    return {"working": info.working, "name": info.name or "", "source": info.source}


def _shipped_or(row: CalendarDay | None, day: dt.date) -> workdays.DayInfo:
    if row is None:
        return workdays.shipped_day(day)
    return workdays.DayInfo(day, row.is_working_day, row.name, workdays.OFFICE)


def _changed():
    # This process answers with the new calendar at once (and again once committed, in case
    # the tables were rebuilt from inside the transaction); others see it within seconds.
    workdays.invalidate()
    transaction.on_commit(workdays.invalidate)


def set_day(*, by, day: dt.date, working: bool, name: str) -> CalendarDay:
    """Make `day` a holiday (working=False) or a working day, under `name`, for everyone."""
    _check(by)
    name = (name or "").strip()
    if not name:
        raise InvalidInput(_("Give the day a name, e.g. 春节 or 调休上班."), "name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            _("A name has at most %(n)d characters.") % {"n": MAX_NAME_LENGTH}, "name"
        )
    try:
        with transaction.atomic():
            row = CalendarDay.objects.select_for_update().filter(date=day).first()
            before = _shipped_or(row, day)
            if before.working == working and (before.name or "") == name:
                if row is not None:
                    message = _("The office already set %(day)s this way.")
                else:
                    message = _("%(day)s is already so in the statutory calendar.")
                raise InvalidInput(message % {"day": day.isoformat()}, "date")
            if row is None:
                row = CalendarDay(date=day)
            row.is_working_day, row.name = working, name
            row.changed_by, row.changed_at = by, timezone.now()
            row.save()
            audit.record(
                actor=by,
                role=Role.OFFICE,
                action="calendar.set",
                target=(TARGET, day.isoformat()),
                before=_state(before),
                after=_state(_shipped_or(row, day)),
            )
            _changed()
    except IntegrityError:
        # Two offices set the same new day at once: the other one won.
        raise Conflict(_("Someone set this day a moment ago; reload and try again.")) from None
    return row


def remove_day(*, by, day: dt.date) -> workdays.DayInfo:
    """Drop the office's setting of `day`: the shipped calendar decides it again."""
    _check(by)
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update().filter(date=day).first()
        if row is None:
            raise InvalidInput(
                _("The office has not set %(day)s; there is nothing to remove.")
                % {"day": day.isoformat()},
                "date",
            )
        before = _shipped_or(row, day)
        row.delete()
        after = workdays.shipped_day(day)
        audit.record(
            actor=by,
            role=Role.OFFICE,
            action="calendar.remove",
            target=(TARGET, day.isoformat()),
            before=_state(before),
            after=_state(after),
        )
        _changed()
    return after
