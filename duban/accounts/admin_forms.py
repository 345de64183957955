"""Forms of the system administrator's account pages; the rules live in admin_actions."""

from django import forms
from django.conf import settings
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from duban.org.models import Role

from .models import User


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)


class PasswordFields(forms.Form):
    """A new password typed twice; the validators run in the action, with the user known."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Built per request: the validators' texts follow the user's language.
        self.fields["password"].help_text = " ".join(
            password_validation.password_validators_help_texts()
        )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class ProfileFields(forms.Form):
    display_name = forms.CharField(
        label=pgettext_lazy("person", "Name"), max_length=50, required=False
    )
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False)
    language = forms.ChoiceField(
        label=_("Language"), choices=settings.LANGUAGES, initial=settings.LANGUAGE_CODE
    )


class UserCreateForm(ProfileFields, PasswordFields):
    username = forms.CharField(
        label=_("Username"),
        max_length=150,
        validators=[User.username_validator],
        help_text=_("Letters, digits and @ . + - _ only; used to log in."),
    )
    field_order = ["username", "display_name", "phone", "language", "password", "password2"]


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
