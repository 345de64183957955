from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay

DATE_ERROR = _("Enter the date as YYYY-MM-DD, e.g. 2026-10-01.")


def _date_field():
    return forms.DateField(
        label=_("Date"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": DATE_ERROR, "required": _("Give the date.")},
    )


class DayForm(forms.Form):
    """Set one day: a holiday or a working day, with its name."""

    HOLIDAY, WORKING = "holiday", "working"

    date = _date_field()
    kind = forms.ChoiceField(
        label=_("The day is"),
        choices=[(HOLIDAY, _("a holiday (no work)")), (WORKING, _("a working day"))],
        widget=forms.RadioSelect,
        initial=HOLIDAY,
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=CalendarDay._meta.get_field("name").max_length,
        help_text=_("As it should read in the calendar, e.g. 春节, 国庆节 or 调休上班."),
    )

    def clean_date(self):
        day = self.cleaned_data["date"]
        if not 1900 <= day.year <= 2100:
            raise forms.ValidationError(_("Give a date between 1900 and 2100."))
        return day


class RemoveForm(forms.Form):
    """Remove the office's setting of one day."""

    date = _date_field()
