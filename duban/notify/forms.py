import urllib.parse

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .delivery import is_https_on_443
from .models import Preference, Robot


class PreferenceForm(forms.ModelForm):
    class Meta:
        model = Preference
        fields = ["email", "robot", "digest"]
        help_texts = {
            "email": _("Each notification also goes to the e-mail address of your account."),
            "robot": _("Notifications to you are also posted in your unit's group chat."),
            "digest": _("One message a day with everything new, instead of one per event."),
        }


class RobotForm(forms.ModelForm):
    webhook = forms.URLField(label=_("Webhook URL"), max_length=500, assume_scheme="https")
    # Never rendered back: leave empty to keep the stored secret.
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "DingTalk only, for signed requests (starts with SEC). Leave empty to keep the current one."
        ),
    )
    clear_secret = forms.BooleanField(label=_("Remove the signing secret"), required=False)

    class Meta:
        model = Robot
        fields = ["unit", "kind", "name", "webhook", "msgtype", "active"]

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        if self.instance.pk:
            # The stored webhook carries a token: ask for it again rather than showing it.
            self.fields["webhook"].required = False
            self.fields["webhook"].help_text = _("Current: %(masked)s. Leave empty to keep it.") % {
                "masked": self.instance.masked_webhook
            }
            self.initial["webhook"] = ""
        else:
            self.fields["clear_secret"].widget = forms.HiddenInput()

    def clean_webhook(self):
        url = self.cleaned_data.get("webhook") or ""
        if not url:
            if self.instance.pk:
                return self.instance.webhook
            raise forms.ValidationError(_("Enter the robot's webhook URL."))
        parts = urllib.parse.urlsplit(url)
        if parts.hostname not in settings.DUBAN_NOTIFY_ROBOT_HOSTS:
            raise forms.ValidationError(
                _("The webhook must be an address of %(hosts)s.")
                % {"hosts": ", ".join(settings.DUBAN_NOTIFY_ROBOT_HOSTS)}
            )
        if not is_https_on_443(url):
            # Plain http would carry the robot's token in clear; another port is not the robot's.
            raise forms.ValidationError(
                _(
                    "The webhook must be an https address on the standard port 443, "
                    "e.g. https://%(host)s/… (not http, and no other port)."
                )
                % {"host": parts.hostname}
            )
        return url

    def secret_value(self) -> str | None:
        """The secret to store: None keeps the current one."""
        if self.cleaned_data.get("clear_secret"):
            return ""
        return self.cleaned_data.get("secret") or None
