"""Form fields that every app's forms share."""

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

# The dates an office writes (the working-day calendar covers the same years). Dates at the
# ends of the calendar, year 1 or 9999, overflow the arithmetic done on them: the day after,
# the start of the day in UTC.
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2100, 12, 31)
DATE_OUT_OF_RANGE = _("Enter a date from %(first)s to %(last)s.")


class DateField(forms.DateField):
    """A date from FIRST_DATE to LAST_DATE; any other is refused with a message saying so."""

    default_error_messages = {"out_of_range": DATE_OUT_OF_RANGE}

    def validate(self, value):
        super().validate(value)
        if value is not None and not FIRST_DATE <= value <= LAST_DATE:
            raise forms.ValidationError(
                self.error_messages["out_of_range"],
                code="out_of_range",
                params={"first": FIRST_DATE.isoformat(), "last": LAST_DATE.isoformat()},
            )
