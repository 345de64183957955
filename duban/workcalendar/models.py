"""An office's override of one day of the working-day calendar.

The shipped calendar (statutory holidays and adjusted workdays, from the chinese-calendar
package) needs no rows; a row here wins over it for its date. duban.workcalendar.workdays reads both.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    date = models.DateField(_("date"), unique=True)
    is_working_day = models.BooleanField(_("working day"))
    # What the day is, as the office calls it: 春节, 国庆节, 调休上班, 防汛值守…
    name = models.CharField(_("name"), max_length=50)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    changed_at = models.DateTimeField(_("changed at"))

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self):
        return f"{self.date.isoformat()} {self.name}"
