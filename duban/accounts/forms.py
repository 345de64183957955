from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    # Where to go back to; checked against the host before use.
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=50,
        help_text=_("What the token is for, e.g. the script or system that uses it."),
    )
