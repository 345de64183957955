"""The ledger's template filters about problems: `{% load problem_tags %}`.

Filters (each returns safe HTML; CSS lives in duban/core/static/duban/duban.css):

- ``{{ problem|pace_badge }}`` — the 序时进度 light: a coloured dot and the pace label,
  ``<span class="badge light light-red">…</span>`` (red/yellow/green/grey from pace.PACE_LIGHT).
  Computed for today; pass a date to compute for another day: ``{{ problem|pace_badge:some_date }}``.
- ``{{ problem|state_badge }}`` — the life-cycle state as ``<span class="badge state state-<state>">``.
- ``{{ problem|overdue_badge }}`` — ``<span class="badge badge-overdue">Overdue</span>`` when the
  problem is overdue today, else nothing.
- ``{{ problem|flag_badges }}`` — small badges for key / difficult / sensitive / rebound.
- ``{{ pace_value|pace_light }}`` — the light colour name ("red", "yellow", …) for a Pace value,
  for building your own markup.
"""

import datetime as dt
import functools

from django import template
from django.utils import timezone, translation
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from duban.ledger.models import State
from duban.ledger.pace import PACE_LIGHT, Pace

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
