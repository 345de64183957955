"""Template tags and filters shared by every Duban page: `{% load duban_tags %}`.

Filters (each returns safe HTML; CSS lives in static/duban/duban.css):

- ``{{ problem|pace_badge }}`` — the 序时进度 light: a coloured dot and the pace label,
  ``<span class="badge light light-red">…</span>`` (red/yellow/green/grey from pace.PACE_LIGHT).
  Computed for today; pass a date to compute for another day: ``{{ problem|pace_badge:some_date }}``.
- ``{{ problem|state_badge }}`` — the life-cycle state as ``<span class="badge state state-<state>">``.
- ``{{ problem|overdue_badge }}`` — ``<span class="badge badge-overdue">Overdue</span>`` when the
  problem is overdue today, else nothing.
- ``{{ problem|flag_badges }}`` — small badges for key / difficult / sensitive / rebound.
- ``{{ percent|progress_bar }}`` — a labelled progress bar for 0–100.
- ``{{ pace_value|pace_light }}`` — the light colour name ("red", "yellow", …) for a Pace value,
  for building your own markup.

- ``{{ timedelta|minutes }}`` — a duration as whole minutes (rounded up), e.g. for the lockout page.
- ``{{ user|has_role:"office" }}`` — whether the user holds that role in any unit
  (duban.org.scope.roles_of; memberships are cached on the user, so one query per request).

Tags:

- ``{% query_string request.GET page=2 sort="-deadline" %}`` — the current query string with
  some keys replaced (a value of None removes the key); starts with "?". For sort and page links.
"""

import datetime as dt
import functools

from django import template
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from duban.ledger.models import State
from duban.ledger.pace import PACE_LIGHT, Pace
from duban.org.scope import roles_of

register = template.Library()


@functools.cache
def _labels(choices, language: str) -> dict:
    """The labels of a TextChoices in one language, translated once (a list page shows 50 rows)."""
    with translation.override(language):
        return {member.value: str(member.label) for member in choices}


def labels(choices) -> dict:
    return _labels(choices, translation.get_language())


@register.filter
def pace_light(pace) -> str:
    """The light colour (red/yellow/green/grey) for a Pace value."""
    try:
        return PACE_LIGHT[Pace(pace)]
    except ValueError:
        return "grey"


@register.filter
def pace_badge(problem, today: dt.date | None = None):
    if problem is None or problem == "":
        return ""
    pace = problem.pace(today or timezone.localdate())
    return format_html(
        '<span class="badge light light-{}" title="{}"><span class="dot" aria-hidden="true"></span>{}</span>',
        PACE_LIGHT[pace],
        _("Pace"),
        labels(Pace)[pace.value],
    )


@register.filter
def state_badge(problem):
    if problem is None or problem == "":
        return ""
    state = problem.state if hasattr(problem, "state") else problem
    label = labels(State).get(state, state)
    return format_html('<span class="badge state state-{}">{}</span>', state, label)


@register.filter
def overdue_badge(problem, today: dt.date | None = None):
    if problem is None or problem == "" or not problem.is_overdue(today or timezone.localdate()):
        return ""
    return format_html('<span class="badge badge-overdue">{}</span>', _("Overdue"))


FLAG_LABELS = {
    "is_key": gettext_noop("Key"),
    "is_difficult": gettext_noop("Difficult"),
    "is_sensitive": gettext_noop("Sensitive"),
    "is_rebound": gettext_noop("Rebound"),
}


@register.filter
def flag_badges(problem):
    if problem is None or problem == "":
        return ""
    labels = [
        (field[3:], _(label))
        for field, label in FLAG_LABELS.items()
        if getattr(problem, field, False)
    ]
    return format_html_join(" ", '<span class="badge flag flag-{}">{}</span>', labels)


@register.filter
def progress_bar(percent):
    try:
        value = max(0, min(100, int(percent)))
    except (TypeError, ValueError):
        value = 0
    return format_html(
        '<span class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" '
        'aria-valuenow="{0}"><span class="progress-fill pct-{0}"></span>'
        '<span class="progress-label">{0}%</span></span>',
        value,
    )


@register.filter
def minutes(duration) -> int:
    try:
        return -int(-duration.total_seconds() // 60)
    except AttributeError:
        return 0


@register.filter
def has_role(user, role: str) -> bool:
    return role in roles_of(user)


@register.simple_tag
def query_string(params, **changes):
    """The query string `params` (a QueryDict) with `changes` applied; None removes a key."""
    query = params.copy()
    for key, value in changes.items():
        if value is None or value == "":
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode() if hasattr(query, "urlencode") else urlencode(query, doseq=True)
    return "?" + encoded if encoded else "?"


def _selected_values(bound_field) -> set[str]:
    value = bound_field.value()
    if value is None:
        return set()
    if isinstance(value, list | tuple):
        return {str(v) for v in value}
    return {str(value)}


@register.simple_tag
def select_field(bound_field):
    """A filter's <select>, rendered in Python: Django's widget templates cost ~0.1 ms per option.

    ``{% select_field form.unit %}``
    """
    field = bound_field.field
    selected = _selected_values(bound_field)
    # A yes/no filter keeps its choices on the widget; choice fields on the field.
    source = field.choices if hasattr(field, "choices") else field.widget.choices
    choices = [(str(v), label) for v, label in source]
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if value in selected else "", label) for value, label in choices),
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', bound_field.html_name, bound_field.auto_id, options
    )


@register.simple_tag
def checkboxes(bound_field):
    """A multiple-choice filter as checkboxes, rendered in Python. ``{% checkboxes form.state %}``"""
    selected = _selected_values(bound_field)
    return format_html_join(
        "",
        '<label><input type="checkbox" name="{}" value="{}" id="{}_{}"{}> {}</label>',
        (
            (
                bound_field.html_name,
                value,
                bound_field.auto_id,
                index,
                " checked" if str(value) in selected else "",
                label,
            )
            for index, (value, label) in enumerate(bound_field.field.choices)
        ),
    )
