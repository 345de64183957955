"""Forms of the ledger's pages: the problem form and one form per action.

Forms only parse and present input; every rule about who may do what, and when,
lives in duban.ledger.actions. A form's cleaned data is what its action takes.
"""

import datetime as dt

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.accounts.models import User
from duban.core.limits import FreeTextLimits
from duban.inspections.models import Inspection
from duban.org.models import Region, Role, Unit
from duban.org.scope import inspection_scope_q, region_paths, under_any

from . import actions, duties
from .models import Category, Nature, Problem, SharedLevel, Source

# Domain value for evidence that fits none of the inspection's checklist categories.
OTHER_CATEGORY = "其他"


def _label(field_name: str):
    return Problem._meta.get_field(field_name).verbose_name


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _text(rows=3):
    return forms.Textarea(attrs={"rows": rows})


# --- "one per line" fields -----------------------------------------------------------------


def _columns(line: str) -> list[str]:
    return [part.strip() for part in line.replace("｜", "|").split("|")]


def _parse_date(text: str, line_no: int) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise forms.ValidationError(
            _("Line %(n)d: “%(text)s” is not a date like 2026-12-31.")
            % {"n": line_no, "text": text}
        ) from None


def parse_measures(text: str) -> list[actions.MeasureInput]:
    """Lines of "measure | owner | YYYY-MM-DD"; owner and date may be left out."""
    measures, errors = [], []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = _columns(line)
        if len(parts) > 3:
            errors.append(
                _("Line %(n)d: use at most three columns: measure | owner | date.") % {"n": line_no}
            )
            continue
        parts += [""] * (3 - len(parts))
        measure, owner, due = parts
        if not measure:
            errors.append(_("Line %(n)d: the measure itself is missing.") % {"n": line_no})
            continue
        due_date = None
        if due:
            try:
                due_date = _parse_date(due, line_no)
            except forms.ValidationError as error:
                errors.extend(error.messages)
                continue
        measures.append(actions.MeasureInput(measure, owner, due_date))
    if errors:
        raise forms.ValidationError(errors)
    return measures


def parse_milestones(text: str) -> list[actions.MilestoneInput]:
    """Lines of "YYYY-MM-DD | percent | description"."""
    milestones, errors = [], []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = _columns(line)
        if len(parts) != 3 or not all(parts):
            errors.append(
                _(
                    "Line %(n)d: write date | percent | description, e.g. 2026-12-31 | 50 | 完成排查."
                )
                % {"n": line_no}
            )
            continue
        due, percent, description = parts
        try:
            due_date = _parse_date(due, line_no)
        except forms.ValidationError as error:
            errors.extend(error.messages)
            continue
        try:
            value = int(percent.rstrip("%％").strip())
        except ValueError:
            value = -1
        if not 0 <= value <= 100:
            errors.append(
                _("Line %(n)d: “%(text)s” is not a percentage from 0 to 100.")
                % {"n": line_no, "text": percent}
            )
            continue
        milestones.append(actions.MilestoneInput(due_date, value, description[:200]))
    if errors:
        raise forms.ValidationError(errors)
    return milestones


def measures_as_text(problem: Problem) -> str:
    return "\n".join(
        " | ".join([m.text, m.owner, m.due_date.isoformat() if m.due_date else ""]).rstrip(" |")
        for m in problem.measures.all()
    )


def milestones_as_text(problem: Problem) -> str:
    return "\n".join(
        f"{m.due_date.isoformat()} | {m.percent} | {m.description}"
        for m in problem.milestones.all()
    )


MEASURES_HELP = gettext_lazy(
    "One measure per line: measure | owner | YYYY-MM-DD (owner and date may be left out)."
)
MILESTONES_HELP = gettext_lazy(
    "One milestone per line: YYYY-MM-DD | expected progress % | description."
)


# --- scope of choices ------------------------------------------------------------------------


def office_region_paths(user) -> list[str]:
    return region_paths(user, Role.OFFICE)


def scoped_units(paths: list[str]):
    return Unit.objects.filter(under_any("region__path", paths)).select_related("region")


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, unit):
        return f"{unit.name}（{unit.region.name}）"


class UnitsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, unit):
        return f"{unit.name}（{unit.region.name}）"


class OfficialChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        return str(user)


# --- the problem form -------------------------------------------------------------------------

DEADLINE_KINDS = [
    ("immediate", gettext_lazy("Immediately (立行立改)")),
    ("by_date", gettext_lazy("By a date (限期完成)")),
    ("ongoing", gettext_lazy("Ongoing (长期坚持)")),
]
DEADLINE_FIELDS = {
    "immediate": "deadline_immediate",
    "by_date": "deadline_by_date",
    "ongoing": "deadline_ongoing",
}
# Where an action's InvalidInput(field=…) is shown on this form.
PROBLEM_ERROR_FIELDS = {
    "deadline_by_date": "deadline_kinds",
    "deadline_immediate": "deadline_kinds",
    "deadline_ongoing": "deadline_kinds",
}


class ProblemForm(FreeTextLimits, forms.Form):
    """Every field of a problem (DESIGN.md §2); choices limited to the office's region."""

    # When editing: the problem as the form showed it, so a change made meanwhile is not lost.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    inspection = forms.ModelChoiceField(
        label=gettext_lazy("Inspection"), queryset=Inspection.objects.none()
    )
    source = forms.ChoiceField(label=_label("source"), choices=Source.choices)
    ledger_number = forms.CharField(label=_label("ledger_number"), max_length=50, required=False)
    title = forms.CharField(label=_label("title"), max_length=200)
    feedback_text = forms.CharField(label=_label("feedback_text"), widget=_text(5))
    category = forms.ChoiceField(label=_label("category"), choices=Category.choices)
    nature = forms.ChoiceField(
        label=_label("nature"), choices=Nature.choices, widget=forms.RadioSelect
    )
    shared_level = forms.ChoiceField(
        label=_label("shared_level"),
        choices=[("", "—")] + SharedLevel.choices,
        required=False,
        help_text=gettext_lazy("Only for shared problems."),
    )
    is_key = forms.BooleanField(label=_label("is_key"), required=False)
    is_difficult = forms.BooleanField(label=_label("is_difficult"), required=False)
    is_sensitive = forms.BooleanField(label=_label("is_sensitive"), required=False)
    region = forms.ModelChoiceField(label=_label("region"), queryset=Region.objects.none())
    lead_unit = UnitChoiceField(
        label=_label("lead_unit"), queryset=Unit.objects.none(), required=False
    )
    co_units = UnitsChoiceField(
        label=gettext_lazy("Co-operating units"), queryset=Unit.objects.none(), required=False
    )
    implementing_units = UnitsChoiceField(
        label=gettext_lazy("Implementing units"), queryset=Unit.objects.none(), required=False
    )
    lead_official = OfficialChoiceField(
        label=_label("lead_official"), queryset=User.objects.none(), required=False
    )
    acceptance_unit = UnitChoiceField(
        label=_label("acceptance_unit"), queryset=Unit.objects.none(), required=False
    )
    task_force = forms.CharField(
        label=_label("task_force"),
        widget=_text(3),
        required=False,
        help_text=gettext_lazy("One member per line."),
    )
    target = forms.CharField(label=_label("target"), widget=_text(3), required=False)
    measures = forms.CharField(
        label=gettext_lazy("Measures"), widget=_text(5), required=False, help_text=MEASURES_HELP
    )
    deadline_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Deadline kind"),
        choices=DEADLINE_KINDS,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("May be combined, e.g. immediately and ongoing."),
    )
    deadline = forms.DateField(label=_label("deadline"), required=False, widget=_date_input())
    milestones = forms.CharField(
        label=gettext_lazy("Milestones"),
        widget=_text(4),
        required=False,
        help_text=MILESTONES_HELP,
    )

    def __init__(self, *args, user, problem: Problem | None = None, **kwargs):
        self.problem = problem
        if problem is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(problem)
        super().__init__(*args, **kwargs)
        paths = office_region_paths(user)
        if problem is not None and not paths:
            paths = [problem.region.path]
        self.fields["region"].queryset = Region.objects.filter(under_any("path", paths))
        units = scoped_units(paths)
        for name in ("lead_unit", "co_units", "implementing_units", "acceptance_unit"):
            self.fields[name].queryset = units
        self.fields["lead_official"].queryset = (
            User.objects.filter(
                pk__in=User.objects.filter(
                    under_any("memberships__unit__region__path", paths),
                    memberships__role=Role.LEAD_OFFICIAL,
                ).values("pk")
            )
            .filter(is_active=True)
            .order_by("display_name", "username")
        )
        if problem is None:
            self.fields["inspection"].queryset = (
                Inspection.objects.filter(inspection_scope_q(user))
                if inspection_scope_q(user) is not None
                else Inspection.objects.none()
            )
        else:
            del self.fields["inspection"]

    @staticmethod
    def initial_for(problem: Problem) -> dict:
        initial = {name: getattr(problem, name) for name in actions.PROBLEM_FIELDS}
        initial["deadline_kinds"] = problem.deadline_kinds()
        initial["co_units"] = list(problem.co_units())
        initial["implementing_units"] = list(problem.implementing_units())
        initial["measures"] = measures_as_text(problem)
        initial["milestones"] = milestones_as_text(problem)
        initial["version"] = problem.version
        return initial

    def clean_measures(self):
        return parse_measures(self.cleaned_data["measures"])

    def clean_milestones(self):
        return parse_milestones(self.cleaned_data["milestones"])

    def clean_task_force(self):
        lines = [line.strip() for line in self.cleaned_data["task_force"].splitlines()]
        return "\n".join(line for line in lines if line)

    def problem_fields(self) -> dict:
        data = self.cleaned_data
        fields = {name: data[name] for name in actions.PROBLEM_FIELDS if name in data}
        for kind, name in DEADLINE_FIELDS.items():
            fields[name] = kind in data["deadline_kinds"]
        return fields

    def add_action_error(self, error: actions.ActionError) -> None:
        field = getattr(error, "field", None)
        field = PROBLEM_ERROR_FIELDS.get(field, field)
        self.add_error(field if field in self.fields else None, str(error))


# --- action forms -----------------------------------------------------------------------------


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name; the action checks each file's content."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        items = [item for item in (data if isinstance(data, list | tuple) else [data]) if item]
        if not items:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        return [super(MultipleFileField, self).clean(item, initial) for item in items]


# What the file pickers offer; the server decides by content anyway (files.py).
FILE_ACCEPT = "image/*,.pdf,.doc,.docx,.xls,.xlsx,.mp4"


def _files_field(required: bool):
    return MultipleFileField(
        label=gettext_lazy("Files"),
        required=required,
        widget=MultipleFileInput(attrs={"accept": FILE_ACCEPT}),
        help_text=gettext_lazy("Photos, PDF, Word, Excel or MP4; several at once."),
    )


def evidence_categories(problem: Problem) -> list[tuple[str, str]]:
    checklist = list(problem.inspection.closing_checklist)
    return [(c, c) for c in checklist if c != OTHER_CATEGORY] + [(OTHER_CATEGORY, _("Other"))]


class ActionForm(FreeTextLimits, forms.Form):
    """A form for one action on `problem` by `user`."""

    def __init__(self, *args, problem: Problem, user, **kwargs):
        self.problem, self.user = problem, user
        super().__init__(*args, **kwargs)


class ConfirmForm(ActionForm):
    """Actions that need nothing but a click: claim, submit plan, withdraw, end notice, assign."""


class PlanForm(ActionForm):
    # The problem as the form showed it: an edit made meanwhile is not silently overwritten.
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    target = forms.CharField(label=_label("target"), widget=_text(3))
    measures = forms.CharField(
        label=gettext_lazy("Measures"), widget=_text(6), help_text=MEASURES_HELP
    )
    milestones = forms.CharField(
        label=gettext_lazy("Milestones"),
        widget=_text(4),
        required=False,
        help_text=MILESTONES_HELP,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("target", self.problem.target)
            self.initial.setdefault("measures", measures_as_text(self.problem))
            self.initial.setdefault("milestones", milestones_as_text(self.problem))
        self.initial.setdefault("version", self.problem.version)

    def clean_measures(self):
        return parse_measures(self.cleaned_data["measures"])

    def clean_milestones(self):
        return parse_milestones(self.cleaned_data["milestones"])


class NoteForm(ActionForm):
    note = forms.CharField(label=gettext_lazy("Note"), widget=_text(3), required=False)


class ReasonsForm(ActionForm):
    reasons = forms.CharField(label=gettext_lazy("Reasons"), widget=_text(4))


class ProgressForm(ActionForm):
    period = forms.CharField(
        label=gettext_lazy("Period"),
        max_length=50,
        help_text=gettext_lazy("E.g. 2026年11月 or 第3周."),
    )
    text = forms.CharField(label=gettext_lazy("Progress"), widget=_text(5))
    percent = forms.IntegerField(
        label=gettext_lazy("Overall progress %"), min_value=0, max_value=100
    )
    evidence_category = forms.ChoiceField(label=gettext_lazy("Category of the files"))
    files = _files_field(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evidence_category"].choices = evidence_categories(self.problem)
        if "现场照片" in self.problem.inspection.closing_checklist:
            self.fields["evidence_category"].initial = "现场照片"
        if not self.is_bound:
            self.initial.setdefault("percent", self.problem.progress_percent)
        self.measures = list(self.problem.measures.all())
        for index, measure in enumerate(self.measures, start=1):
            self.fields[f"measure_{measure.pk}_note"] = forms.CharField(
                label=_("Measure %(n)d: %(text)s") % {"n": index, "text": measure.text},
                required=False,
                widget=_text(2),
                initial=measure.note,
            )
            self.fields[f"measure_{measure.pk}_done"] = forms.BooleanField(
                label=_("Measure %(n)d done") % {"n": index},
                required=False,
                initial=measure.done,
            )

    def measure_fields(self):
        """(measure, note field, done field) for the template."""
        return [
            (m, self[f"measure_{m.pk}_note"], self[f"measure_{m.pk}_done"]) for m in self.measures
        ]

    def measure_updates(self) -> list[tuple[int, str, bool]]:
        updates = []
        for measure in self.measures:
            note = self.cleaned_data.get(f"measure_{measure.pk}_note", "").strip()
            done = self.cleaned_data.get(f"measure_{measure.pk}_done", False)
            if note != measure.note.strip() or done != measure.done:
                updates.append((measure.pk, note, done))
        return updates


class EvidenceForm(ActionForm):
    category = forms.ChoiceField(label=gettext_lazy("Category"))
    other_category = forms.CharField(
        label=gettext_lazy("Name of the other category"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("Optional, when the category is “Other”."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200, required=False)
    files = _files_field(required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = evidence_categories(self.problem)

    def category_value(self) -> str:
        data = self.cleaned_data
        if data["category"] == OTHER_CATEGORY and data["other_category"].strip():
            return data["other_category"].strip()
        return data["category"]


class ExtensionForm(ActionForm):
    reasons = forms.CharField(label=gettext_lazy("Reasons"), widget=_text(3))
    efforts = forms.CharField(label=gettext_lazy("What has been done so far"), widget=_text(3))
    new_deadline = forms.DateField(label=gettext_lazy("New deadline"), widget=_date_input())
    roadmap = forms.CharField(label=gettext_lazy("New roadmap"), widget=_text(4))


class DecideExtensionForm(ActionForm):
    decision = forms.ChoiceField(
        label=gettext_lazy("Decision"),
        choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        widget=_text(3),
        required=False,
        help_text=gettext_lazy("Required when rejecting."),
    )


class ClosingForm(ActionForm):
    summary = forms.CharField(label=gettext_lazy("What was done"), widget=_text(6))
    self_check = forms.CharField(label=gettext_lazy("Self-check statement"), widget=_text(4))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        application = actions.open_application(self.problem)
        if application is not None and not self.is_bound:
            self.initial.setdefault("summary", application.summary)
            self.initial.setdefault("self_check", application.self_check)


class StatementForm(ActionForm):
    statement = forms.CharField(label=gettext_lazy("Statement"), widget=_text(3))
    # What the page showed; the action refuses if the application changed since.
    content_hash = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        application = actions.open_application(self.problem)
        if application is not None:
            self.fields["content_hash"].initial = actions.content_hash(application)


class AcceptForm(ActionForm):
    site_check = forms.CharField(label=gettext_lazy("Site-check conclusion"), widget=_text(4))


class ReturnForm(ActionForm):
    site_check = forms.CharField(
        label=gettext_lazy("Site-check conclusion"), widget=_text(4), required=False
    )
    reasons = forms.CharField(label=gettext_lazy("Reasons for returning"), widget=_text(4))


class ObjectionForm(ActionForm):
    """Record an objection (upheld at once, or received for a later decision), or decide one
    received earlier: the choices `uphold:<id>` and `dismiss:<id>` name that objection."""

    outcome = forms.ChoiceField(
        label=gettext_lazy("What to do"), choices=[], required=False, widget=forms.RadioSelect
    )
    text = forms.CharField(
        label=gettext_lazy("Objection"),
        widget=_text(4),
        required=False,
        help_text=gettext_lazy("When deciding an objection received earlier: the reasons."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [
            ("uphold", _("Uphold it now: the problem returns for rectification")),
            ("pending", _("Received: decide later (the notice does not end meanwhile)")),
        ]
        # Someone on the applicant's side may record an objection but not decide one.
        refusal = duties.conflict(self.problem, "decide_objection", self.user)
        pending = actions.pending_objections(self.problem).order_by("recorded_at", "id")
        if refusal and pending.exists():
            self.fields["outcome"].help_text = refusal
            pending = pending.none()
        for objection in pending:
            received = f"{objection.recorded_at:%Y-%m-%d} · {objection.text[:40]}"
            choices += [
                (
                    f"uphold:{objection.pk}",
                    _("Uphold the objection received %(what)s: the problem returns")
                    % {"what": received},
                ),
                (
                    f"dismiss:{objection.pk}",
                    _("Dismiss the objection received %(what)s: the notice may end")
                    % {"what": received},
                ),
            ]
        self.fields["outcome"].choices = choices
        self.initial.setdefault("outcome", "uphold")

    def clean_outcome(self):
        return self.cleaned_data["outcome"] or "uphold"

    def perform(self):
        outcome, text = self.cleaned_data["outcome"], self.cleaned_data["text"]
        if outcome in ("uphold", "pending"):
            return actions.record_objection(
                self.problem, by=self.user, text=text, pending=outcome == "pending"
            )
        decision, _sep, pk = outcome.partition(":")
        objection = (
            actions.pending_objections(self.problem).select_related("notice").filter(pk=pk).first()
        )
        if objection is None:
            raise actions.WrongState(_("This objection was already decided."))
        objection.notice.problem = self.problem  # the instance already checked for scope
        return actions.decide_objection(
            objection, by=self.user, uphold=decision == "uphold", note=text
        )


SPLIT_ROWS = 6


class SplitForm(ActionForm):
    """Up to SPLIT_ROWS child problems: a lead unit each and, optionally, a title."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        units = scoped_units([self.problem.region_path]).exclude(pk=self.problem.lead_unit_id)
        for row in range(1, SPLIT_ROWS + 1):
            self.fields[f"child_{row}_unit"] = UnitChoiceField(
                label=_("Child %(n)d: lead unit") % {"n": row}, queryset=units, required=False
            )
            self.fields[f"child_{row}_title"] = forms.CharField(
                label=_("Child %(n)d: title (optional)") % {"n": row},
                max_length=200,
                required=False,
            )

    def rows(self):
        return [
            (self[f"child_{row}_unit"], self[f"child_{row}_title"])
            for row in range(1, SPLIT_ROWS + 1)
        ]

    def clean(self):
        data = super().clean()
        children = []
        for row in range(1, SPLIT_ROWS + 1):
            unit, title = data.get(f"child_{row}_unit"), data.get(f"child_{row}_title", "")
            if title and not unit:
                self.add_error(f"child_{row}_unit", _("Choose the lead unit of this child."))
            elif unit:
                children.append({"lead_unit": unit, "title": title.strip()})
        if not children and not self.errors:
            raise forms.ValidationError(_("Add at least one child problem."))
        data["children"] = children
        return data
