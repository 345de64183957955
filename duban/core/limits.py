"""How long a free text may be: one table for the forms, the API schemas, the importer and the
actions, so that all of them refuse the same text with the same message.

A multi-line text (a feedback text, a plan, a report, a statement) holds up to LONG_TEXT
characters: about ten printed pages, far more than an office writes in one field, and far
less than a pasted book that would slow every page showing it. A one-line text without a
shorter column holds up to LINE_TEXT.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

LONG_TEXT = 20_000
LINE_TEXT = 500


def too_long(value: str | None, limit: int, label) -> str | None:
    """The message refusing `value` in the field called `label`, or None when it fits."""
    if value is None or len(value) <= limit:
        return None
    return _(
        "%(field)s: at most %(limit)s characters; this text has %(length)s. "
        "Shorten it, or attach the full text as a file."
    ) % {"field": label, "limit": f"{limit:,}", "length": f"{len(value):,}"}


class TextLimit:
    """A form field validator that refuses a text over `limit` characters, naming the field."""

    def __init__(self, limit: int, label):
        self.limit, self.label = limit, label

    def __call__(self, value):
        message = too_long(value, self.limit, self.label)
        if message:
            raise ValidationError(message, code="max_length")


def limit_free_texts(form: forms.BaseForm) -> None:
    """Give every text field of `form` without a length of its own the house limit.

    Server-side only: a browser's maxlength would cut a pasted text without a word.
    """
    for name, field in form.fields.items():
        if not isinstance(field, forms.CharField) or field.max_length is not None:
            continue
        if any(isinstance(v, TextLimit) for v in field.validators):
            continue
        multiline = isinstance(field.widget, forms.Textarea)
        field.validators.append(
            TextLimit(LONG_TEXT if multiline else LINE_TEXT, field.label or name)
        )


class FreeTextLimits:
    """A form mixin: limit_free_texts() before validating, so fields added in __init__ count."""

    def full_clean(self):
        limit_free_texts(self)
        super().full_clean()
