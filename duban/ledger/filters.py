"""The ledger's filters and sort orders, declared once for the list page, the API and exports."""

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from duban.accounts.models import User
from duban.inspections.models import Inspection
from duban.org.models import Region, RegionLevel, Role, Unit
from duban.org.scope import (
    business_region_paths,
    inspection_scope_q,
    region_only_scope,
    under,
    under_any,
)

from .models import Category, ProblemUnit, Source, State
from .pace import Pace, pace_q

SORTS = {
    "number": ("ledger_number", "id"),
    "-number": ("-ledger_number", "-id"),
    "deadline": ("deadline", "id"),
    "-deadline": ("-deadline", "-id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "progress": ("progress_percent", "id"),
    "-progress": ("-progress_percent", "-id"),
    "id": ("id",),
}
# The sorts the unit links serve from their copies of the problem's columns (LINK_FIELDS),
# in the same order as SORTS: the key of a problem filtered by unit is read off the links.
LINK_SORTS = {
    "deadline": ("deadline", "problem_id"),
    "-deadline": ("-deadline", "-problem_id"),
    "id": ("problem_id",),
}
# The filters the unit links answer from their copies (with a scope of regions alone).
LINK_FILTERS = {"unit", "state", "region", "sort"}
# Villages run into the hundreds of thousands: the region filter offers levels down to townships.
REGION_LEVELS = (RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.TOWNSHIP)
FLAGS = [
    ("key", _("Key")),
    ("difficult", _("Difficult")),
    ("sensitive", _("Sensitive")),
    ("rebound", _("Rebound")),
]


class StrictNullBooleanField(forms.NullBooleanField):
    """Yes, no or unset; anything else is an error (Django's field would quietly read it as unset)."""

    def to_python(self, value):
        if value in (None, "", "true", "false", "True", "False", "1", "0", True, False):
            return super().to_python(value)
        raise forms.ValidationError(_("Choose yes or no."), code="invalid")


class ProblemFilterForm(forms.Form):
    """Every filter the ledger list offers; unknown or bad values are reported, not ignored."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    inspection = forms.ModelChoiceField(
        Inspection.objects.none(), label=_("Inspection"), required=False, to_field_name="code"
    )
    state = forms.MultipleChoiceField(label=_("State"), choices=State.choices, required=False)
    pace = forms.MultipleChoiceField(label=_("Pace"), choices=Pace.choices, required=False)
    overdue = StrictNullBooleanField(
        label=_("Overdue"),
        required=False,
        widget=forms.Select(
            choices=[("", "—"), ("true", _("Overdue")), ("false", _("Not overdue"))]
        ),
    )
    unit = forms.ModelChoiceField(Unit.objects.all(), label=_("Unit"), required=False)
    region = forms.ModelChoiceField(
        Region.objects.all(), label=_("Region"), required=False, to_field_name="code"
    )
    category = forms.MultipleChoiceField(
        label=_("Category"), choices=Category.choices, required=False
    )
    source = forms.MultipleChoiceField(label=_("Source"), choices=Source.choices, required=False)
    flag = forms.MultipleChoiceField(label=_("Flags"), choices=FLAGS, required=False)
    lead_official = forms.IntegerField(
        label=_("Lead official"), required=False, widget=forms.HiddenInput
    )
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=[(k, k) for k in SORTS])

    def __init__(self, data=None, *, user=None, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        scope = inspection_scope_q(user) if user is not None else None
        self.fields["inspection"].queryset = (
            Inspection.objects.filter(scope) if scope is not None else Inspection.objects.none()
        )
        # Units and regions outside the user's scope are not choices: such a filter is an error.
        paths = business_region_paths(user) if user is not None else []
        self.fields["unit"].queryset = (
            Unit.objects.filter(under_any("region__path", paths))
            .only("id", "name")
            .order_by("region__code", "name")
        )
        self.fields["region"].queryset = (
            Region.objects.filter(under_any("path", paths), level__in=REGION_LEVELS)
            .only("id", "code", "name")
            .order_by("code")
        )

    def clean_lead_official(self):
        value = self.cleaned_data.get("lead_official")
        if value is None:
            return value
        # Only a lead official of the user's scope: no other account's name comes back.
        paths = business_region_paths(self.user) if self.user is not None else []
        if not User.objects.filter(
            under_any("memberships__unit__region__path", paths),
            pk=value,
            memberships__role=Role.LEAD_OFFICIAL,
        ).exists():
            raise forms.ValidationError(_("Choose a lead official of your region."), code="invalid")
        return value

    def lead_officials(self) -> list:
        """The lead officials of the user's scope, for the filter's choice list."""
        paths = business_region_paths(self.user) if self.user is not None else []
        return list(
            User.objects.filter(
                under_any("memberships__unit__region__path", paths),
                memberships__role=Role.LEAD_OFFICIAL,
            )
            .distinct()
            .only("id", "display_name", "username")
            .order_by("display_name", "username")
        )

    def active(self, params) -> list[dict]:
        """The filters in use, each with a link that removes it (the chips above the table)."""
        if not self.is_bound or not self.is_valid():
            return []
        chips = []

        def without(name, value=None):
            query = params.copy()
            if value is None:
                query.pop(name, None)
            else:
                query.setlist(name, [v for v in query.getlist(name) if v != value])
            for key in ("page", "part"):
                query.pop(key, None)
            return "?" + query.urlencode()

        data = self.cleaned_data
        for name, field in self.fields.items():
            value = data.get(name)
            if name == "sort" or value in (None, "", []):
                continue
            if isinstance(field, forms.MultipleChoiceField):
                labels = dict(field.choices)
                chips += [
                    {"field": field.label, "value": labels[v], "remove": without(name, v)}
                    for v in value
                ]
                continue
            if name == "overdue":
                text = _("Overdue") if value else _("Not overdue")
            elif name == "lead_official":
                text = str(User.objects.filter(pk=value).first() or value)
            else:
                text = str(value)
            chips.append({"field": field.label, "value": text, "remove": without(name)})
        return chips

    def apply(self, queryset, *, without=()):
        """Filter and sort an already scoped queryset; call only when is_valid().

        `without` names filters to leave out, e.g. the list's summary bar counts by
        pace under every filter but the pace one.
        """
        data = {k: v for k, v in self.cleaned_data.items() if k not in without}
        today = timezone.localdate()
        if data.get("inspection"):
            queryset = queryset.filter(inspection=data["inspection"])
        if data.get("state"):
            queryset = queryset.filter(state__in=data["state"])
        if data.get("pace"):
            pace_filter = Q()
            for pace in data["pace"]:
                pace_filter |= pace_q(pace, today)
            queryset = queryset.filter(pace_filter)
        if data.get("overdue") is not None:
            queryset = queryset.overdue(today, overdue=data["overdue"])
        if data.get("unit"):
            # A subquery, not a join: no duplicate rows, so no DISTINCT and counts stay cheap.
            linked = ProblemUnit.objects.filter(unit__in=self._subtree(data["unit"]))
            queryset = queryset.filter(pk__in=linked.values("problem_id"))
        if data.get("region"):
            queryset = queryset.filter(under("region_path", data["region"].path))
        if data.get("category"):
            queryset = queryset.filter(category__in=data["category"])
        if data.get("source"):
            queryset = queryset.filter(source__in=data["source"])
        for flag in data.get("flag") or []:
            queryset = queryset.filter(
                **{("is_rebound" if flag == "rebound" else f"is_{flag}"): True}
            )
        if data.get("lead_official"):
            queryset = queryset.filter(lead_official_id=data["lead_official"])
        if data.get("q"):
            text = data["q"].strip()
            queryset = queryset.filter(
                Q(title__icontains=text)
                | Q(feedback_text__icontains=text)
                | Q(ledger_number__icontains=text)
            )
        return queryset.order_by(*SORTS.get(data.get("sort") or "id", SORTS["id"]))

    def linked_keys(self):
        """The ids of apply()'s problems, in its order, read off their unit links;
        None unless a unit filter and a sort of LINK_SORTS are chosen, and the scope and
        filters are ones the links answer (then use apply()).

        Call only when is_valid(); the scope is the form's user's. A unit filter lives on the links, not on the problem: no
        index of the problem serves "in this state, linked to these units, by deadline", so
        apply() reads every problem in the state and sorts the linked ones. The links keep a
        copy of each problem's state, deadline and region (ProblemUnit), with an index on
        (unit, state, deadline, problem): the keys are the linked rows alone, sorted the same
        way, each problem once. Served when regions alone decide the user's scope and the
        filters are among LINK_FILTERS (state, region): both are checked on the copies.
        """
        data = self.cleaned_data
        ordering = LINK_SORTS.get(data.get("sort") or "id")
        if not data.get("unit") or ordering is None:
            return None
        links = ProblemUnit.objects.filter(unit__in=self._subtree(data["unit"]))
        if data.get("state"):
            links = links.filter(state__in=data["state"])
        used = {name for name, value in data.items() if value not in (None, "", [])}
        paths = region_only_scope(self.user) if self.user is not None else None
        if paths is None or not used <= LINK_FILTERS:
            # Checking other filters or a scope of units on the problems the links name
            # costs as much as apply() (measured), so apply() pages those.
            return None
        # Regions alone decide the scope: checked on the links' copy of the region.
        links = links.filter(under_any("region_path", paths))
        if data.get("region"):
            links = links.filter(under("region_path", data["region"].path))
        columns = dict.fromkeys(["problem_id", *(name.lstrip("-") for name in ordering)])
        return links.values_list(*columns).distinct().order_by(*ordering)

    def _subtree(self, unit) -> list[int]:
        """The ids of `unit` and every unit under it (read once for the form).

        Read first, as a list: given the ids, PostgreSQL estimates how many problems they
        link and picks a hash join, not a nested probe per problem."""
        if getattr(self, "_subtree_of", (None,))[0] != unit.pk:
            ids = list(Unit.objects.filter(under("path", unit.path)).values_list("pk", flat=True))
            self._subtree_of = (unit.pk, ids)
        return self._subtree_of[1]

    def error_text(self) -> str:
        return "; ".join(
            f"{self.fields[name].label if name in self.fields else name}: {' '.join(errors)}"
            for name, errors in self.errors.items()
        )
