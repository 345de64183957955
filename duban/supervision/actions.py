"""Changes of state the supervision makes outside a sweep step's own recipe.

close_reported_gaps: a missing progress report (ReportGap) is closed once its problem has
reported since the period began, at that report's time, even a late one. The sweep calls it
first in every "report_cycles" run.
"""

import datetime as dt

from django.db import transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import TruncDate

from duban.audit import log as audit
from duban.ledger.models import ProgressReport

from .models import ReportGap


def close_reported_gaps(now: dt.datetime) -> int:
    """Close every gap whose problem has reported since the period began; one UPDATE for all,
    one "supervision.report.received" event each, in one transaction. Returns how many."""
    first_report = (
        ProgressReport.objects.annotate(submitted_day=TruncDate("submitted_at"))
        .filter(problem_id=OuterRef("problem_id"), submitted_day__gte=OuterRef("period_start"))
        .order_by("submitted_at")
        .values("submitted_at")[:1]
    )
    with transaction.atomic():
        closable = list(
            ReportGap.objects.select_for_update(of=("self",))
            .filter(reported_at__isnull=True, problem__last_report_at__isnull=False)
            .annotate(
                reported_day=TruncDate("problem__last_report_at"), first=Subquery(first_report)
            )
            .filter(reported_day__gte=F("period_start"))
            # last_report_at may be ahead of the reports (a report removed): such a gap stays.
            .filter(first__isnull=False)
            .values_list("pk", "problem_id", "period_start", "due_on", "first")
        )
        if not closable:
            return 0
        closed = ReportGap.objects.filter(
            pk__in=[pk for pk, *_rest in closable], reported_at__isnull=True
        ).update(reported_at=Subquery(first_report))
        audit.record_many(
            {
                "actor": None,
                "role": "system",
                "action": "supervision.report.received",
                "target": ("ledger.problem", problem_id),
                "before": {"period_start": start.isoformat(), "due_on": due_on.isoformat()},
                "after": {"reported_at": first.isoformat(), "swept_at": now.isoformat()},
                "problem_id": problem_id,
            }
            for _pk, problem_id, start, due_on, first in closable
        )
    return closed
