"""Pages read off an index: by cursor (keyset) in constant time, by page number without joins.

A page number N makes the database read and skip (N-1) pages of rows first; a cursor
names the last row's sort key instead, so the next page is read straight off the index
that serves the order, in the same time at any depth, and rows added or removed
meanwhile neither repeat nor skip a row. An ordering is a sort column and the primary
key as tie-breaker (`("deadline", "id")`, `("-deadline", "-id")`) or the key alone.

The cursor is opaque to clients: URL-safe base64 of JSON naming the ordering and the
last row's key. It grants nothing: the page it opens is still filtered by the caller's
scope; a cursor that does not decode, or belongs to another ordering, is refused.
"""

import base64
import binascii
import json

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Field, Func, Q, Value
from django.db.models.lookups import GreaterThan, LessThan
from django.utils.translation import gettext as _


class BadCursor(ValueError):
    """A cursor that cannot be read (the message says why, for the client)."""


class Row(Func):
    """A row value, `(a, b)`: compared as a whole, so `(deadline, id) > (d, i)` is one index range."""

    template = "(%(expressions)s)"
    output_field = Field()


def _field(model, name):
    return model._meta.pk if name == "pk" else model._meta.get_field(name)


def _text(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def cursor_for(row, ordering: tuple[str, ...]) -> str:
    """The cursor of the page that starts after `row`."""
    key = [_text(getattr(row, name.lstrip("-"))) for name in ordering]
    data = json.dumps({"o": list(ordering), "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def read_cursor(raw: str, model, ordering: tuple[str, ...]) -> tuple:
    """The key a cursor names, typed as the model's fields; BadCursor if it is not one of ours."""
    try:
        data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        order, key = data["o"], data["k"]
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise BadCursor(_("This cursor cannot be read; use the next link of a page.")) from None
    if order != list(ordering) or not isinstance(key, list) or len(key) != len(ordering):
        raise BadCursor(_("This cursor belongs to another sort order; start again without it."))
    values = []
    for name, value in zip(ordering, key, strict=True):
        field = _field(model, name.lstrip("-"))
        if value is None and not field.null:
            raise BadCursor(_("This cursor cannot be read; use the next link of a page."))
        try:
            values.append(None if value is None else field.to_python(value))
        except (ValidationError, TypeError, ValueError):
            raise BadCursor(_("This cursor cannot be read; use the next link of a page.")) from None
    return tuple(values)


def _segments(model, ordering: tuple[str, ...], after: tuple) -> list:
    """The conditions, in order, that together select every row after `after`.

    Where the sort column has NULLs they sort as one block (after the values in
    PostgreSQL's ascending order, before them in SQLite's), so the rows after a key
    are one index range plus, maybe, the whole NULL block, or the reverse.
    """
    names = [name.lstrip("-") for name in ordering]
    descending = ordering[0].startswith("-")
    beyond = LessThan if descending else GreaterThan
    if len(names) == 1:
        return [beyond(F(names[0]), Value(after[0]))]
    lead, tie = names
    value, last = after
    nulls_after = connection.features.nulls_order_largest != descending
    if value is None:
        segments = [Q(**{f"{lead}__isnull": True}) & beyond(F(tie), Value(last))]
        if not nulls_after:
            segments.append(Q(**{f"{lead}__isnull": False}))
        return segments
    # A row value comparison is never true for a NULL column, so the NULL block is apart.
    segments = [beyond(Row(F(lead), F(tie)), Row(Value(value), Value(last)))]
    if nulls_after and _field(model, lead).null:
        segments.append(Q(**{f"{lead}__isnull": True}))
    return segments


def rows_after(queryset, ordering: tuple[str, ...], after: tuple | None, limit: int) -> list:
    """Up to `limit` rows of `queryset` in `ordering` after the key `after` (from the start if None).

    One query, or two when the page runs from the sorted values into the NULL block.
    """
    queryset = queryset.order_by(*ordering)
    if after is None:
        return list(queryset[:limit])
    rows: list = []
    for condition in _segments(queryset.model, ordering, after):
        rows += queryset.filter(condition)[: limit - len(rows)]
        if len(rows) >= limit:
            break
    return rows


def rows_at(queryset, offset: int, limit: int, keys=None) -> list:
    """Up to `limit` rows of `queryset` (ordered) from `offset`: a page by its number.

    Deep in the list, the rows skipped are only walked in the index to find the page's
    keys; the rows themselves, with whatever select_related joins, are read for the page
    alone (a second query), instead of joined for every row skipped. `keys`, if given, is
    a query of the rows' primary keys (first column) in the queryset's order, cheaper to
    page through than the queryset itself.
    """
    if keys is not None:
        keys = [row[0] for row in keys[offset : offset + limit]]
    elif offset == 0:
        return list(queryset[:limit])
    else:
        keys = list(queryset.values_list("pk", flat=True)[offset : offset + limit])
    if not keys:
        return []
    found = queryset.order_by().in_bulk(keys)
    return [found[key] for key in keys if key in found]
