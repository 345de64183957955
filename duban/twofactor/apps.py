from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    """两步验证: a second factor (an authenticator app's code) at login, and recovery codes."""

    name = "duban.twofactor"
    label = "twofactor"
    verbose_name = _("Two-factor login")
