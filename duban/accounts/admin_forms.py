"""Forms of the system administrator's account pages; the rules live in admin_actions."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from duban.org.models import Role

from .models import User


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class ProfileFields(forms.Form):
    display_name = forms.CharField(
        label=pgettext_lazy("person", "Name"), max_length=50, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )


class UserCreateForm(ProfileFields):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Letters, digits and @ . + - _ only; used to log in."),
    )
    field_order = ["username", "display_name", "phone", "language"]


class UserEditForm(ProfileFields):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("A deactivated account can no longer log in; its history stays."),
    )


class MembershipForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=None)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
