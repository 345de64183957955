"""The working-day calendar page: a year's holidays and adjusted workdays, and the office's edits.

Office staff only: anyone else logged in gets 403. Changes go through actions.py.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.core.http import error_status, form_methods, post_only, refused
from duban.workcalendar import workdays

from . import actions
from .forms import DayForm, RemoveForm
from .models import CalendarDay

MIN_YEAR, MAX_YEAR = 1900, 2100


def _year(value) -> int:
    if value in (None, ""):
        return timezone.localdate().year
    try:
        year = int(value)
    except (TypeError, ValueError):
        raise Http404 from None
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    return year


def _page(request, year, *, form=None, remove_error=None, status=200):
    set_rows = {
        row.date: row
        for row in CalendarDay.objects.filter(date__year=year).select_related("changed_by")
    }
    days = [
        {
            "info": info,
            "row": set_rows.get(info.date),
            # What the office's setting replaces, to show beside it.
            "shipped": workdays.shipped_day(info.date) if info.source == workdays.OFFICE else None,
        }
        for info in workdays.special_days(year)
    ]
    return render(
        request,
        "workcalendar/year.html",
        {
            "year": year,
            "previous_year": year - 1 if year > MIN_YEAR else None,
            "next_year": year + 1 if year < MAX_YEAR else None,
            "days": days,
            "ships_year": workdays.ships_year(year),
            "shipped_first": workdays.SHIPPED_FIRST_YEAR,
            "shipped_last": workdays.SHIPPED_LAST_YEAR,
            "form": form or DayForm(),
            "can_edit": actions.may_edit(request.user),
            "remove_error": remove_error,
        },
        status=status,
    )


def _to_year(day: dt.date):
    return redirect(f"{reverse('workcalendar:year')}?year={day.year}")


def _refusal(request, *, editing: bool):
    """The role is asked before the method and the form: others get 403 whatever they send."""
    if not actions.may_see(request.user):
        return refused(
            request, _("Only rectification office staff see and edit the working-day calendar.")
        )
    if editing and not actions.may_edit(request.user):
        return refused(request, actions.top_office_only())
    return None


@login_required
def year_page(request):
    if refusal := _refusal(request, editing=request.method == "POST"):
        return refusal
    if refusal := form_methods(request):
        return refusal
    year = _year(request.GET.get("year"))
    if request.method != "POST":
        return _page(request, year)
    form = DayForm(request.POST)
    if not form.is_valid():
        return _page(request, year, form=form, status=400)
    data = form.cleaned_data
    try:
        actions.set_day(
            by=request.user,
            day=data["date"],
            working=data["kind"] == DayForm.WORKING,
            name=data["name"],
        )
    except actions.ActionError as error:
        form.add_error(getattr(error, "field", None), str(error))
        return _page(request, year, form=form, status=error_status(error))
    messages.success(
        request,
        _("%(day)s is now set by the office: %(name)s.")
        % {"day": data["date"].isoformat(), "name": data["name"].strip()},
    )
    return _to_year(data["date"])


@login_required
def remove_day(request):
    if refusal := _refusal(request, editing=True):
        return refusal
    if refusal := post_only(request):
        return refusal
    form = RemoveForm(request.POST)
    year = _year(request.POST.get("year"))
    if not form.is_valid():
        return _page(request, year, remove_error=form.errors["date"][0], status=400)
    day = form.cleaned_data["date"]
    try:
        actions.remove_day(by=request.user, day=day)
    except actions.ActionError as error:
        return _page(request, year, remove_error=str(error), status=error_status(error))
    messages.success(
        request,
        _("The office's setting of %(day)s is removed; the statutory calendar applies.")
        % {"day": day.isoformat()},
    )
    return _to_year(day)
