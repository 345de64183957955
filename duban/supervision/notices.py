"""公示 ends by itself: the day after its last day the problem closes (销号) as the system,
unless an objection received during the notice still waits for the office's decision."""

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.ledger import actions
from duban.ledger.models import NoticeStatus, ObjectionStatus, Problem, PublicNotice, State
from duban.notify.actions import notify
from duban.org.models import Role

from .people import members_by_unit, office_language, problem_url
from .sweep import rule, take_once


class _NotClosed(Exception):
    """Rolls back the rung when the problem did not close after all."""


@rule("public_notice")
def public_notice(now: dt.datetime) -> Counter:
    counts: Counter = Counter()
    today = timezone.localdate(now)
    notices = list(
        PublicNotice.objects.filter(
            status=NoticeStatus.OPEN, ends_on__lt=today, problem__state=State.PUBLIC_NOTICE
        )
        .exclude(objections__status=ObjectionStatus.PENDING)
        .select_related("problem")
        .order_by("id")
    )
    if not notices:
        return counts
    contacts = members_by_unit((n.problem.lead_unit_id for n in notices), Role.LIAISON)
    # A parent problem closes only after its children: read which have open ones at once.
    parents = set(
        Problem.objects.filter(parent_id__in=[n.problem_id for n in notices])
        .exclude(state=State.CLOSED)
        .values_list("parent_id", flat=True)
    )
    for notice in notices:
        problem = notice.problem
        try:
            with transaction.atomic():
                rung = take_once(
                    f"notice-end:{notice.pk}",
                    kind="notice_closed",
                    now=now,
                    problem=problem,
                    unit_id=problem.lead_unit_id,
                    inspection_id=problem.inspection_id,
                    data={"ends_on": notice.ends_on.isoformat()},
                )
                if rung is None:
                    continue
                if (
                    actions.close_after_notice(
                        problem, today=today, now=now, open_children=problem.pk in parents
                    )
                    is None
                ):
                    raise _NotClosed
                with office_language():
                    title = _("Closed after the public notice: %(problem)s") % {
                        "problem": str(problem)
                    }
                    body = _("The public notice ended on %(date)s without objection upheld.") % {
                        "date": notice.ends_on.isoformat()
                    }
                notify(
                    contacts.get(problem.lead_unit_id, []),
                    kind="notice_closed",
                    key=f"notice-end:{notice.pk}",
                    title=title,
                    body=body,
                    url=problem_url(problem.pk),
                    problem=problem,
                    now=now,
                )
        except _NotClosed:
            continue
        counts["notice_closed"] += 1
    return counts
