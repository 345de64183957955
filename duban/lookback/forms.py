from django import forms
from django.utils.translation import gettext_lazy as _

from duban.core.limits import FreeTextLimits
from duban.inspections.models import Inspection
from duban.ledger.forms import FILE_ACCEPT, MultipleFileField, MultipleFileInput
from duban.org.scope import inspection_scope_q

from . import selectors
from .actions import MAX_MIN_AGE_DAYS
from .models import Outcome, Stratum


class DrawForm(FreeTextLimits, forms.Form):
    inspection = forms.ModelChoiceField(label=_("Inspection"), queryset=Inspection.objects.none())
    min_age_days = forms.IntegerField(
        label=_("Closed at least this many days ago"),
        min_value=0,
        max_value=MAX_MIN_AGE_DAYS,
        initial=180,
    )
    strata = forms.MultipleChoiceField(
        label=_("Strata"),
        choices=Stratum.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Each stratum gets its proportional share of the draw."),
    )
    size = forms.IntegerField(label=_("How many problems"), required=False)
    share = forms.DecimalField(
        label=_("Or what share of the candidates"),
        required=False,
        max_digits=5,
        decimal_places=4,
        help_text=_("A number above 0 and at most 1, e.g. 0.2 for a fifth; rounded up."),
    )
    seed = forms.CharField(
        label=_("Seed"),
        max_length=64,
        required=False,
        help_text=_("Leave empty to have one generated; it is recorded and shown with the draw."),
    )
    pool = forms.ModelMultipleChoiceField(
        label=_("Pool of checkers"),
        queryset=None,
        required=False,
        help_text=_("Empty: every acceptor of your region."),
    )

    def __init__(self, *args, user, region, **kwargs):
        super().__init__(*args, **kwargs)
        scope = inspection_scope_q(user)
        self.fields["inspection"].queryset = (
            Inspection.objects.filter(scope) if scope is not None else Inspection.objects.none()
        )
        self.fields["pool"].queryset = selectors.pool_choices(region)
        self.fields["pool"].label_from_instance = lambda u: f"{u} ({u.username})"

    def clean(self):
        data = super().clean()
        if data.get("size") is None and data.get("share") is None:
            self.add_error("size", _("Give either a size or a share."))
        elif data.get("size") is not None and data.get("share") is not None:
            self.add_error("share", _("Give either a size or a share, not both."))
        return data


class CheckForm(FreeTextLimits, forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        choices=[(Outcome.KEPT, Outcome.KEPT.label), (Outcome.REBOUND, Outcome.REBOUND.label)],
        widget=forms.RadioSelect,
    )
    findings = forms.CharField(
        label=_("What was found"), widget=forms.Textarea(attrs={"rows": 5}), max_length=5000
    )
    files = MultipleFileField(
        label=_("Evidence files"),
        widget=MultipleFileInput(attrs={"accept": FILE_ACCEPT}),
        help_text=_("Photos, PDF, Word, Excel or MP4; several at once."),
    )
