"""How the API reads what callers send: every text passes here before any schema sees it.

A NUL character (\\0) is refused wherever it appears (body, query or form, in keys and
values): PostgreSQL cannot store it in text, and no text of an office contains one.
Refusing it here, once, covers every route and every field.
"""

from django.utils.translation import gettext as _
from ninja.errors import ValidationError
from ninja.parser import Parser

NUL = "\x00"


def _nul_errors(value, loc: tuple) -> list[dict]:
    if isinstance(value, str):
        return [_nul_error(loc)] if NUL in value else []
    if isinstance(value, dict):
        errors = []
        for key, item in value.items():
            if isinstance(key, str) and NUL in key:
                errors.append(_nul_error(loc))
            errors.extend(_nul_errors(item, (*loc, key)))
        return errors
    if isinstance(value, list):
        return [error for i, item in enumerate(value) for error in _nul_errors(item, (*loc, i))]
    return []


def _nul_error(loc: tuple) -> dict:
    return {
        "type": "nul_character",
        "loc": loc,
        "msg": _("Text may not contain the NUL character (\\0)."),
    }


class TextParser(Parser):
    """ninja's JSON and form parser, refusing NUL characters."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if errors := _nul_errors(data, ("body",)):
            raise ValidationError(errors)
        return data

    def parse_querydict(self, data, list_fields, request):
        source = "query" if data is request.GET else "form"
        # Uploaded files are not text (Django drops unprintable characters from their names).
        values = {key: items[0] if len(items) == 1 else items for key, items in data.lists()}
        errors = _nul_errors(values, (source,))
        if errors:
            raise ValidationError(errors)
        return super().parse_querydict(data, list_fields, request)
