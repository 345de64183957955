from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkcalendarConfig(AppConfig):
    """The working-day calendar: statutory holidays and adjusted workdays, and an office's edits."""

    name = "duban.workcalendar"
    label = "workcalendar"
    verbose_name = _("Working-day calendar")
