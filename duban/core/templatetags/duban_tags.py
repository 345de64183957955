"""Template tags and filters shared by every Duban page: `{% load duban_tags %}`.

This library is the bottom layer's and knows no app. Filters about problems (pace, state,
overdue and flag badges) are the ledger's: `{% load problem_tags %}`
(duban/ledger/templatetags/problem_tags.py); ``user|has_role`` is org's:
`{% load role_tags %}` (duban/org/templatetags/role_tags.py).

Filters (each returns safe HTML; CSS lives in static/duban/duban.css):

- ``{{ percent|progress_bar }}`` — a labelled progress bar for 0–100.
- ``{{ timedelta|minutes }}`` — a duration as whole minutes (rounded up), e.g. for the lockout page.

Tags:

- ``{% query_string request.GET page=2 sort="-deadline" %}`` — the current query string with
  some keys replaced (a value of None removes the key); starts with "?". For sort and page links.
- ``{% select_field form.unit %}``, ``{% checkboxes form.state %}`` — a filter's fields, rendered
  in Python.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

register = template.Library()


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
