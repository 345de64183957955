"""The inspection form: it parses input into the fields duban.inspections.actions takes.

The rules (dates in order, levels lowest first, the checklist…) live in the
actions' `inspection_errors`; the form asks it so that every mistake shows at once.
"""

from django import forms
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from duban.core.limits import FreeTextLimits
from duban.org.models import Region, RegionLevel, Role
from duban.org.scope import at_or_above, region_paths, under

from . import actions
from .models import ACCEPTANCE_LEVEL_CHOICES, Inspection, InspectionKind, ReportCadence, Weekday

# Inspections target a province, city or county; deeper divisions would only lengthen the list.
TARGET_LEVELS = [RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY]
LEVEL_FIELDS = ["level_1", "level_2", "level_3"]
# Where an action's InvalidInput(field=…) shows on this form.
ERROR_FIELDS = {"acceptance_levels": "level_1"}


def _label(name: str):
    return Inspection._meta.get_field(name).verbose_name


def _label_help(name: str):
    return Inspection._meta.get_field(name).help_text


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def target_regions(user, current: Region | None = None):
    """Regions an office may target: its own, those inside it and, for a new round
    (current=None), those above it. A round's editor may not move it above his region."""
    q = Q(pk__in=[current.pk] if current else [])
    for path in region_paths(user, Role.OFFICE):
        reach = under("path", path)
        if current is None:
            reach |= at_or_above("path", path, itself=False)
        q |= Q(level__in=TARGET_LEVELS) & reach
    # Two parents loaded with each region: labels show the full name (省市区) without a query each.
    return Region.objects.filter(q).select_related("parent__parent").order_by("code")


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, region):
        return f"{region.full_name()}（{region.code}）"


def _level_field(label, required=False):
    return forms.ChoiceField(
        label=label,
        choices=[("", "—")] + ACCEPTANCE_LEVEL_CHOICES,
        required=required,
    )


class InspectionForm(FreeTextLimits, forms.Form):
    code = forms.SlugField(
        label=_label("code"),
        max_length=40,
        help_text=_("Letters, digits and hyphens; used in links, e.g. central-2-2026."),
    )
    name = forms.CharField(label=_label("name"), max_length=200)
    kind = forms.ChoiceField(label=_label("kind"), choices=InspectionKind.choices)
    round_label = forms.CharField(label=_label("round_label"), max_length=100, required=False)
    target_region = RegionChoiceField(
        label=_("Target region"), queryset=Region.objects.none(), empty_label="—"
    )
    stay_start = forms.DateField(label=_label("stay_start"), required=False, widget=_date_input())
    stay_end = forms.DateField(label=_label("stay_end"), required=False, widget=_date_input())
    feedback_date = forms.DateField(
        label=_label("feedback_date"), required=False, widget=_date_input()
    )
    plan_due_date = forms.DateField(
        label=_label("plan_due_date"),
        required=False,
        widget=_date_input(),
        help_text=_("Leave empty to compute it from the feedback date and the period below."),
    )
    plan_working_days = forms.TypedChoiceField(
        label=_("Plan due within"),
        choices=[],  # labels set per request, in the user's language
        coerce=int,
        initial=actions.PLAN_PERIODS[0],
        widget=forms.RadioSelect,
    )
    report_cadence = forms.ChoiceField(
        label=_label("report_cadence"), choices=ReportCadence.choices
    )
    report_due_weekday = forms.TypedChoiceField(
        label=_label("report_due_weekday"),
        required=False,
        choices=Weekday.choices,
        coerce=int,
        help_text=_("For weekly and two-weekly reports."),
    )
    report_due_day = forms.IntegerField(
        label=_label("report_due_day"),
        required=False,
        widget=forms.NumberInput(attrs={"min": 1, "max": 31}),
        help_text=_(
            "For monthly reports; quarterly reports are due on this day of the quarter's last "
            "month. 31 means the last day of the month."
        ),
    )
    report_head_after_days = forms.IntegerField(
        label=_label("report_head_after_days"),
        required=False,
        widget=forms.NumberInput(
            attrs={"min": actions.HEAD_AFTER_DAYS[0], "max": actions.HEAD_AFTER_DAYS[1]}
        ),
        help_text=_label_help("report_head_after_days"),
    )
    reminder_days = forms.CharField(
        label=_label("reminder_days"),
        required=False,
        help_text=_(
            "Days before a deadline or milestone on which the lead unit is reminded, "
            "separated by commas, e.g. 7, 3, 1. Empty: no reminders."
        ),
    )
    level_1 = _level_field(_("First acceptance level"), required=True)
    level_2 = _level_field(_("Second acceptance level"))
    level_3 = _level_field(_("Third acceptance level"))
    notice_working_days = forms.IntegerField(
        label=_label("notice_working_days"),
        widget=forms.NumberInput(
            attrs={"min": actions.NOTICE_DAYS[0], "max": actions.NOTICE_DAYS[1]}
        ),
    )
    complaint_deadline_days = forms.IntegerField(
        label=_label("complaint_deadline_days"),
        widget=forms.NumberInput(
            attrs={"min": actions.COMPLAINT_DAYS[0], "max": actions.COMPLAINT_DAYS[1]}
        ),
    )
    closing_checklist = forms.CharField(
        label=_label("closing_checklist"),
        # Not required here: the action's own message says what an empty list lacks.
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "One evidence category per line, e.g. 整改报告; a closing application must include each."
        ),
    )

    def __init__(self, *args, user, inspection: Inspection | None = None, **kwargs):
        self.inspection = inspection
        if "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(inspection) if inspection else self.defaults()
        super().__init__(*args, **kwargs)
        self.fields["plan_working_days"].choices = [
            (n, gettext("%(n)d working days after feedback") % {"n": n})
            for n in actions.PLAN_PERIODS
        ]
        self.fields["target_region"].queryset = target_regions(
            user, inspection.target_region if inspection else None
        )

    @staticmethod
    def defaults() -> dict:
        new = Inspection()
        return {
            "report_cadence": new.report_cadence,
            "notice_working_days": new.notice_working_days,
            "complaint_deadline_days": new.complaint_deadline_days,
            "closing_checklist": "\n".join(new.closing_checklist),
            "report_due_weekday": new.report_due_weekday,
            "report_due_day": new.report_due_day,
            "report_head_after_days": new.report_head_after_days,
            "reminder_days": ", ".join(str(d) for d in new.reminder_days),
            **dict(zip(LEVEL_FIELDS, new.acceptance_levels, strict=False)),
        }

    @staticmethod
    def initial_for(inspection: Inspection) -> dict:
        initial = {
            name: getattr(inspection, name)
            for name in actions.INSPECTION_FIELDS + actions.SUPERVISION_FIELDS
        }
        initial["reminder_days"] = ", ".join(str(d) for d in inspection.reminder_days)
        initial["closing_checklist"] = "\n".join(inspection.closing_checklist)
        initial.update(zip(LEVEL_FIELDS, inspection.acceptance_levels, strict=False))
        # Show the period the stored due date was computed with, when it was.
        if inspection.feedback_date and inspection.plan_due_date:
            for days in actions.PLAN_PERIODS:
                if (
                    actions.plan_due_after(inspection.feedback_date, days)
                    == inspection.plan_due_date
                ):
                    initial["plan_working_days"] = days
        return initial

    def clean_closing_checklist(self):
        lines = [line.strip() for line in self.cleaned_data["closing_checklist"].splitlines()]
        return [line for line in lines if line]

    def clean_reminder_days(self):
        text = self.cleaned_data["reminder_days"].replace("，", ",").replace("、", ",")
        try:
            return [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError(
                _("Write whole numbers of days separated by commas, e.g. 7, 3, 1.")
            ) from None

    def clean(self):
        data = super().clean()
        levels = [data.get(name) for name in LEVEL_FIELDS]
        chosen = [level for level in levels if level]
        if levels[: len(chosen)] != chosen:
            self.add_error("level_1", _("Fill the acceptance levels from the first, without gaps."))
        data["acceptance_levels"] = chosen
        for error in actions.inspection_errors(self.inspection_fields(), self.inspection):
            # A field that could not be read already says so; its rule would repeat it.
            if ERROR_FIELDS.get(error.field, error.field) not in self.errors:
                self.add_action_error(error)
        return data

    def inspection_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data.get(name) for name in actions.INSPECTION_FIELDS}
        # A form posted without these settings (an older page, a script) keeps them as they are.
        for name in actions.SUPERVISION_FIELDS:
            if name in self.data and (name == "reminder_days" or data.get(name) not in (None, "")):
                fields[name] = data.get(name)
        return fields

    def add_action_error(self, error) -> None:
        field = getattr(error, "field", None)
        field = ERROR_FIELDS.get(field, field)
        self.add_error(field if field in self.fields else None, str(error))
