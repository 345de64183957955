"""公示 ends by itself: the day after its last day the problem closes (销号) as the system,
unless an objection received during the notice still waits for the office's decision."""

import datetime as dt
from collections import Counter

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.ledger import actions
from duban.ledger.models import NoticeStatus, ObjectionStatus, Problem, PublicNotice, State
from duban.notify.actions import notify_many
from duban.org.models import Role

from .models import Rung
from .people import members_by_unit, office_language, problem_url
from .sweep import batches, rule, take_many


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
    for batch in batches(notices):
        with transaction.atomic():
            keys = {notice.pk: f"notice-end:{notice.pk}" for notice in batch}
            taken = take_many(
                (
                    {
                        "key": keys[notice.pk],
                        "kind": "notice_closed",
                        "problem_id": notice.problem_id,
                        "unit_id": notice.problem.lead_unit_id,
                        "inspection_id": notice.problem.inspection_id,
                        "data": {"ends_on": notice.ends_on.isoformat()},
                    }
                    for notice in batch
                ),
                now=now,
            )
            mine = [notice for notice in batch if keys[notice.pk] in taken]
            closed = {
                problem.pk
                for problem in actions.close_after_notices(
                    mine, today=today, now=now, open_children=parents
                )
            }
            # A problem that does not close after all keeps no rung (as if never taken).
            kept_open = [taken[keys[n.pk]] for n in mine if n.problem_id not in closed]
            if kept_open:
                Rung.objects.filter(pk__in=kept_open).delete()
            done = [notice for notice in mine if notice.problem_id in closed]
            with office_language():
                messages = [
                    (
                        _("Closed after the public notice: %(problem)s")
                        % {"problem": str(notice.problem)},
                        _("The public notice ended on %(date)s without objection upheld.")
                        % {"date": notice.ends_on.isoformat()},
                    )
                    for notice in done
                ]
            notify_many(
                (
                    {
                        "recipients": contacts.get(notice.problem.lead_unit_id, []),
                        "kind": "notice_closed",
                        "key": keys[notice.pk],
                        "title": title,
                        "body": body,
                        "url": problem_url(notice.problem_id),
                        "problem_id": notice.problem_id,
                    }
                    for notice, (title, body) in zip(done, messages, strict=True)
                ),
                now=now,
            )
        counts["notice_closed"] += len(done)
    return counts
