"""The audit log's filters, shared by the event list and the CSV export.

Every filter narrows a query that is read newest-first (or oldest-first for the
export) by `seq` and cut at a page or a chunk, so none of them needs an index of
its own to answer quickly on millions of events: the database walks the `seq`
index and stops once the page is full.
"""

import datetime as dt

from django import forms
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duban.core.fields import DateField


def target_types() -> list[str]:
    """The model labels an event's target can carry, for the filter's suggestions (no query)."""
    return sorted(model._meta.label_lower for model in apps.get_models())


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=60,
        help_text=_("Starts with, e.g. “plan” for plan.save and plan.submit."),
    )
    actor = forms.CharField(label=_("Actor"), required=False, max_length=150)
    target_type = forms.CharField(
        label=_("Target type"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"list": "target-types"}),
    )
    problem = forms.IntegerField(label=_("Problem id"), required=False, min_value=1)
    date_from = DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def apply(self, queryset):
        data = self.cleaned_data
        if data.get("action"):
            queryset = queryset.filter(action__startswith=data["action"].strip())
        if data.get("actor"):
            text = data["actor"].strip()
            # The name is copied into each event; the username is looked up among the accounts.
            accounts = (
                get_user_model()
                .objects.filter(Q(username__icontains=text) | Q(display_name__icontains=text))
                .values("pk")
            )
            queryset = queryset.filter(Q(actor_name__icontains=text) | Q(actor_id__in=accounts))
        if data.get("target_type"):
            queryset = queryset.filter(target_type=data["target_type"].strip().lower())
        if data.get("problem"):
            queryset = queryset.filter(problem_id=data["problem"])
        if data.get("date_from"):
            queryset = queryset.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            queryset = queryset.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        return queryset

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)
