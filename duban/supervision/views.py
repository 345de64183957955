"""The office's view of reporting cycles: which units are late with progress reports."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Min
from django.shortcuts import render
from django.utils.translation import gettext as _

from duban.core.http import refused
from duban.ledger.models import State
from duban.org.models import Role, Unit
from duban.org.scope import region_paths, under_any

from .models import ReportGap


@login_required
def late_reports(request):
    """Units with missing progress reports on problems still in progress, in the office's region."""
    paths = region_paths(request.user, Role.OFFICE)
    if not paths:
        return refused(
            request,
            _("Only rectification office staff see which units are late with their reports."),
        )
    rows = list(
        ReportGap.objects.filter(reported_at__isnull=True, problem__state=State.IN_PROGRESS)
        .filter(under_any("problem__region_path", paths))
        .values("unit_id")
        .annotate(problems=Count("problem_id", distinct=True), oldest=Min("due_on"))
        .order_by("oldest", "unit_id")
    )
    units = Unit.objects.in_bulk([row["unit_id"] for row in rows])
    for row in rows:
        row["unit"] = units[row["unit_id"]]
    return render(
        request,
        "supervision/late_reports.html",
        {"rows": rows, "in_progress": State.IN_PROGRESS},
    )
