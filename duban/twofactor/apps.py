from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TwoFactorConfig(AppConfig):
    """两步验证: a second factor (an authenticator app's code) at login, and recovery codes."""

    name = "duban.twofactor"
    label = "twofactor"
    verbose_name = _("Two-factor login")

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_remember_no_authenticator, dispatch_uid="twofactor-login")


def _remember_no_authenticator(sender, request, user, **kwargs):
    """At login, note a user without an authenticator so his next pages need not ask again."""
    from .middleware import note_no_authenticator
    from .policy import has_two_factor

    if request is not None and hasattr(request, "session") and not has_two_factor(user):
        note_no_authenticator(request.session, user)
