"""notify(): the one way any part of Duban tells people something; and the other changes here.

notify() writes the inbox rows in the caller's transaction (so a rolled-back change
notifies nobody) and skips recipients who already have a notification with the same key
(so an event is never sent twice, even when two sweepers run). For each channel the
recipient chose it writes a Delivery in the same transaction; after commit a background
task sends them (duban.notify.delivery), and the sweep rule "deliver" sends whatever is
still pending, retries failures and sends the daily digests.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from duban.audit import log

from .models import Delivery, Notification, Preference, Robot
from .selectors import robot_units_for


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
    channels: bool = True,
    urgent: bool = False,
) -> int:
    """Notify each recipient once per key; returns how many new notifications were written.

    channels=False writes the inbox rows only (no e-mail, no group robot); urgent=True sends
    at once even to those who chose the daily digest (e.g. a warning about their account).
    """
    recipients = {user.pk: user for user in recipients if user is not None and user.is_active}
    if not recipients:
        return 0
    now = now or timezone.now()
    already = set(
        Notification.objects.filter(recipient_id__in=recipients, key=key).values_list(
            "recipient_id", flat=True
        )
    )
    new = {pk: user for pk, user in recipients.items() if pk not in already}
    if not new:
        return 0
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=user,
                kind=kind,
                key=key,
                title=title[:200],
                body=body,
                url=url[:300],
                problem=problem,
                created_at=now,
            )
            for user in new.values()
        ],
        # Another sweeper may have written the same row a moment ago: the unique key decides.
        ignore_conflicts=True,
    )
    if channels:
        _plan_deliveries(key, new, now, urgent=urgent)
    return len(new)


def _plan_deliveries(key: str, users: dict, now, *, urgent: bool = False) -> None:
    """One Delivery per chosen channel; sent after commit, or held for the day's digest."""
    prefs = {p.user_id: p for p in Preference.objects.filter(user_id__in=users)}
    default = Preference()
    by_email = {
        pk
        for pk, user in users.items()
        if settings.EMAIL_HOST and user.email and prefs.get(pk, default).email
    }
    robots_of: dict[int, set[int]] = {}
    robot_users = [pk for pk in users if prefs.get(pk, default).robot]
    if robot_users:
        for robot_id, user_id in Robot.objects.filter(
            active=True, unit__memberships__user_id__in=robot_users
        ).values_list("id", "unit__memberships__user_id"):
            robots_of.setdefault(user_id, set()).add(robot_id)
    if not by_email and not robots_of:
        return  # the inbox only: most calls, when no mail server is set up
    rows = []
    for n in Notification.objects.filter(key=key, recipient_id__in=by_email | set(robots_of)):
        pref = prefs.get(n.recipient_id, default)
        status = Delivery.Status.HELD if pref.digest and not urgent else Delivery.Status.PENDING
        common = {"notification": n, "status": status, "next_attempt_at": now, "created_at": now}
        if n.recipient_id in by_email:
            rows.append(
                Delivery(
                    key=f"email:{n.recipient_id}:{n.key}",
                    channel=Delivery.Channel.EMAIL,
                    recipient_id=n.recipient_id,
                    **common,
                )
            )
        # A group hears of an event once, however many of its members are told.
        for robot_id in sorted(robots_of.get(n.recipient_id, ())):
            rows.append(
                Delivery(
                    key=f"robot:{robot_id}:{n.key}",
                    channel=Delivery.Channel.ROBOT,
                    robot_id=robot_id,
                    **common,
                )
            )
    if not rows:
        return
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    keys = [row.key for row in rows if row.status == Delivery.Status.PENDING]
    if keys:
        transaction.on_commit(lambda: _enqueue(keys))


def _enqueue(keys: list[str]) -> None:
    from .tasks import send_deliveries

    ids = list(
        Delivery.objects.filter(key__in=keys, status=Delivery.Status.PENDING).values_list(
            "id", flat=True
        )
    )
    if ids:
        send_deliveries.enqueue(ids)


# --- the inbox: a person's own notifications ------------------------------------------


def mark_read(notification: Notification, *, by, now=None) -> bool:
    """Mark one of `by`'s notifications read; False if it already was."""
    if notification.recipient_id != by.pk:
        from duban.core.exceptions import NotAllowed

        raise NotAllowed(_("This notification is not yours."))
    return bool(
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=now or timezone.now()
        )
    )


def mark_all_read(*, by, now=None) -> int:
    return Notification.objects.filter(recipient=by, read_at__isnull=True).update(
        read_at=now or timezone.now()
    )


def save_preference(*, by, email: bool, robot: bool, digest: bool) -> Preference:
    pref, _created = Preference.objects.update_or_create(
        user=by, defaults={"email": email, "robot": robot, "digest": digest}
    )
    return pref


# --- group robots, set up by the office -----------------------------------------------


def _robot_fields(robot: Robot) -> dict:
    # What the audit log keeps: never the webhook's token or the signing secret.
    return {
        "unit": robot.unit_id,
        "kind": robot.kind,
        "name": robot.name,
        "webhook": robot.masked_webhook,
        "signed": bool(robot.secret),
        "msgtype": robot.msgtype,
        "active": robot.active,
    }


def _check_office(by, unit_id) -> None:
    # Imported here: ledger.actions may import notify() at its top.
    from duban.core.exceptions import NotAllowed

    if unit_id is None or not robot_units_for(by).filter(pk=unit_id).exists():
        raise NotAllowed(_("Only the office of the unit's region may set up its group robots."))


def save_robot(robot: Robot, *, by, secret: str | None = None) -> Robot:
    """Create or change a unit's robot; secret=None keeps the stored secret."""
    with transaction.atomic():
        _check_office(by, robot.unit_id)
        before = {}
        if robot.pk:
            old = Robot.objects.select_for_update().get(pk=robot.pk)
            _check_office(by, old.unit_id)  # moving a robot needs scope over both units
            before = _robot_fields(old)
            if secret is None:
                robot.secret = old.secret
        if secret is not None:
            robot.secret = secret
        robot.full_clean()
        robot.save()
        log.record(
            actor=by,
            role="office",
            action="notify.robot_save",
            target=robot,
            before=before,
            after=_robot_fields(robot),
        )
    return robot


def delete_robot(robot: Robot, *, by) -> None:
    with transaction.atomic():
        _check_office(by, robot.unit_id)
        log.record(
            actor=by,
            role="office",
            action="notify.robot_delete",
            target=robot,
            before=_robot_fields(robot),
        )
        robot.delete()
