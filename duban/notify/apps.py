from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    """Notifications: the in-app inbox, e-mail and the group robots of DingTalk and WeCom."""

    name = "duban.notify"
    label = "notify"
    verbose_name = _("Notifications")
