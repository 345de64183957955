"""Download links of an inspection's generated documents: `{% load document_links %}`.

``{% inspection_documents inspection %}`` renders a card with, for the current user:
- the progress report (整改进展情况报告), for anyone who sees the inspection (the download counts
  only the problems they see);
- for office staff: the public notice (公示), the feedback-report upload, and the supervision notice
  (督办通知单) of each lead unit with overdue problems of this inspection in their scope.
The links follow the download views' own rules (duban/documents/render_views.py).
"""

from django import template
from django.db.models import Count

from duban.ledger.models import Problem
from duban.org.models import Role, Unit
from duban.org.scope import lies_in_any, region_paths

register = template.Library()


def _overdue_lead_units(user, inspection, office_paths):
    """Lead units of this inspection's overdue problems the user sees, in the user's office regions,
    each with its number of overdue problems."""
    counts = dict(
        Problem.objects.visible_to(user)
        .filter(inspection=inspection, lead_unit__isnull=False)
        .overdue()
        .order_by()
        .values_list("lead_unit")
        .annotate(n=Count("pk"))
    )
    units = Unit.objects.filter(pk__in=counts).select_related("region").order_by("name")
    return [
        {"unit": unit, "overdue": counts[unit.pk]}
        for unit in units
        if lies_in_any(unit.region.path, office_paths)
    ]


@register.inclusion_tag("documents/_inspection_documents.html", takes_context=True)
def inspection_documents(context, inspection):
    user = context["request"].user
    office_paths = region_paths(user, Role.OFFICE)
    return {
        "inspection": inspection,
        "is_office": bool(office_paths),
        "overdue_units": _overdue_lead_units(user, inspection, office_paths)
        if office_paths
        else [],
    }
