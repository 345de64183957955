from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .lockout import login_wait


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


class LoginForm(AuthenticationForm):
    """Django's login form, with the username's login delay checked before the password."""

    # The seconds to wait, when the attempt was refused for the delay (the view answers 429).
    wait = 0

    def clean(self):
        username = self.cleaned_data.get("username")
        self.wait = login_wait(username) if username else 0
        if self.wait:
            # Refused before the password is looked at, and not counted as a failure.
            raise ValidationError(
                ngettext(
                    "Too many failed logins for this username. Try again in %(seconds)d second.",
                    "Too many failed logins for this username. Try again in %(seconds)d seconds.",
                    self.wait,
                )
                % {"seconds": self.wait},
                code="login_delay",
            )
        return super().clean()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.one_time_password_expired():
            raise ValidationError(
                _(
                    "This one-time password has expired. Ask your system administrator for a "
                    "new one."
                ),
                code="one_time_password_expired",
            )
