from django import forms
from django.utils.translation import gettext_lazy as _

from duban.core.limits import FreeTextLimits
from duban.ledger.models import Problem
from duban.org.models import Role, Unit
from duban.org.scope import region_paths, under_any

from .models import AccountabilityRecord, EscalationPolicy, Measure, Recipient
from .scope import notices_for


class AnswerForm(FreeTextLimits, forms.Form):
    reasons = forms.CharField(
        label=_("Reasons for the delay"), widget=forms.Textarea(attrs={"rows": 4})
    )
    catch_up_plan = forms.CharField(
        label=_("Catch-up measures and timetable"),
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class PolicyForm(FreeTextLimits, forms.ModelForm):
    notice_recipients = forms.MultipleChoiceField(
        label=_("Who hears of a supervision notice"),
        choices=Recipient.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    referral_recipients = forms.MultipleChoiceField(
        label=_("Who hears of an interview and referral"),
        choices=Recipient.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = EscalationPolicy
        fields = [
            "enabled",
            "ack_working_days",
            "answer_working_days",
            "notice_recipients",
            "use_circulars",
            "circular_after_days",
            "repeat_notices",
            "repeat_period_days",
            "circular_schedule",
            "circular_day",
            "use_referrals",
            "interview_after_days",
            "referral_recipients",
        ]


class InterviewForm(FreeTextLimits, forms.Form):
    planned_on = forms.DateField(
        label=_("Planned date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    interviewers = forms.CharField(label=_("Who holds it"), max_length=200, required=False)
    notes = forms.CharField(
        label=_("Notes"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )


class DiscardForm(forms.Form):
    note = forms.CharField(label=_("Why"), required=False, max_length=500)


class RecordForm(FreeTextLimits, forms.Form):
    measure = forms.ChoiceField(label=_("Measure"), choices=Measure.choices)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), required=False)
    person_name = forms.CharField(label=_("Person"), max_length=100, required=False)
    person_post = forms.CharField(label=_("Post"), max_length=200, required=False)
    facts = forms.CharField(
        label=_("Facts and grounds"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    decided_on = forms.DateField(
        label=_("Decided on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    problems = forms.ModelMultipleChoiceField(
        label=_("Problems"), queryset=Problem.objects.none(), required=False
    )
    notices = forms.ModelMultipleChoiceField(
        label=_("Supervision notices"), queryset=None, required=False
    )

    def __init__(self, *args, user, record: AccountabilityRecord | None = None, **kwargs):
        if record is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "measure": record.measure,
                "unit": record.unit_id,
                "person_name": record.person_name,
                "person_post": record.person_post,
                "facts": record.facts,
                "decided_on": record.decided_on,
                "problems": list(record.problems.values_list("pk", flat=True)),
                "notices": list(record.notices.values_list("pk", flat=True)),
            }
        super().__init__(*args, **kwargs)
        units = Unit.objects.filter(under_any("region__path", region_paths(user, Role.DISCIPLINE)))
        self.fields["unit"].queryset = units.order_by("region__code", "name")
        # Problems that went up the ladder, and those already linked: not the whole ledger.
        linked = record.problems.values("pk") if record else Problem.objects.none().values("pk")
        visible = Problem.objects.visible_to(user)
        self.fields["problems"].queryset = visible.filter(
            pk__in=notices_for(user).values("problems")
        ) | visible.filter(pk__in=linked)
        self.fields["notices"].queryset = notices_for(user)
