"""Who is told: the contacts (liaison) and heads of units, loaded in bulk for a sweep."""

from collections import defaultdict

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from duban.org.models import Membership


def members_by_unit(unit_ids, role: str) -> dict[int, list]:
    """unit id → the active users holding `role` in that unit."""
    found = defaultdict(list)
    unit_ids = sorted({pk for pk in unit_ids if pk is not None})
    for start in range(0, len(unit_ids), 500):
        for m in Membership.objects.filter(
            unit_id__in=unit_ids[start : start + 500], role=role, user__is_active=True
        ).select_related("user"):
            found[m.unit_id].append(m.user)
    return found


def problem_url(problem_id: int) -> str:
    return reverse("ledger:problem_detail", args=[problem_id])


def office_language():
    """Notifications are written in the office's language (the site's default)."""
    return translation.override(settings.LANGUAGE_CODE)
