"""notify(): the one way any part of Duban tells people something.

It writes the inbox rows in the caller's transaction (so a rolled-back change notifies
nobody) and skips recipients who already have a notification with the same key (so an
event is never sent twice, even when two sweepers run). Delivery by other channels
happens after commit (see duban.notify.delivery, when present).
"""

from django.utils import timezone

from .models import Notification


def notify(
    recipients,
    *,
    kind: str,
    key: str,
    title: str,
    body: str = "",
    url: str = "",
    problem=None,
    now=None,
) -> int:
    """Notify each recipient once per key; returns how many new notifications were written."""
    recipients = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not recipients:
        return 0
    already = set(
        Notification.objects.filter(recipient_id__in=recipients, key=key).values_list(
            "recipient_id", flat=True
        )
    )
    rows = [
        Notification(
            recipient=user,
            kind=kind,
            key=key,
            title=title[:200],
            body=body,
            url=url,
            problem=problem,
            created_at=now or timezone.now(),
        )
        for pk, user in recipients.items()
        if pk not in already
    ]
    created = Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)
