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
    entry = {"recipients": recipients, "kind": kind, "key": key, "title": title, "body": body}
    entry.update(url=url, problem=problem)
    return notify_many([entry], now=now, channels=channels, urgent=urgent)


_CHUNK = 500  # values per IN (…): SQLite takes a limited number of parameters


def _chunks(values):
    values = list(values)
    return [values[start : start + _CHUNK] for start in range(0, len(values), _CHUNK)]


def _existing(keys, user_ids) -> set[tuple[int, str]]:
    """(recipient id, key) of the notifications already written for these keys and people."""
    found = set()
    for key_chunk in _chunks(sorted(keys)):
        for user_chunk in _chunks(sorted(user_ids)):
            found.update(
                Notification.objects.filter(
                    key__in=key_chunk, recipient_id__in=user_chunk
                ).values_list("recipient_id", "key")
            )
    return found


def notify_many(entries, *, now=None, channels: bool = True, urgent: bool = False) -> int:
    """notify() for many events at once, in a few queries: the same rows as one call each.

    `entries` are dicts of notify()'s per-event arguments (recipients, kind, key, title,
    and optionally body, url, problem or problem_id); returns how many new notifications
    were written. Must run in the transaction of the changes the events tell of.
    """
    wanted = []
    for entry in entries:
        users = {u.pk: u for u in entry["recipients"] if u is not None and u.is_active}
        if users:
            wanted.append((entry, users))
    if not wanted:
        return 0
    now = now or timezone.now()
    already = _existing({e["key"] for e, _u in wanted}, {pk for _e, u in wanted for pk in u})
    rows, new = [], {}  # new: key → {user id: user} written now
    for entry, users in wanted:
        key = entry["key"]
        problem = entry.get("problem")
        problem_id = problem.pk if problem is not None else entry.get("problem_id")
        for pk, user in users.items():
            if (pk, key) in already:
                continue
            already.add((pk, key))  # the same key twice in one call: the first one counts
            new.setdefault(key, {})[pk] = user
            rows.append(
                Notification(
                    recipient=user,
                    kind=entry["kind"],
                    key=key,
                    title=entry["title"][:200],
                    body=entry.get("body", ""),
                    url=entry.get("url", "")[:300],
                    problem_id=problem_id,
                    created_at=now,
                )
            )
    if not rows:
        return 0
    # Another sweeper may have written the same row a moment ago: the unique key decides.
    Notification.objects.bulk_create(rows, batch_size=_CHUNK, ignore_conflicts=True)
    if channels:
        _plan_deliveries(new, now, urgent=urgent)
    return len(rows)


def _plan_deliveries(new: dict[str, dict], now, *, urgent: bool = False) -> None:
    """One Delivery per chosen channel; sent after commit, or held for the day's digest.

    `new`: key → {user id: user} of the notifications just written.
    """
    users = {pk: user for told in new.values() for pk, user in told.items()}
    prefs = {}
    for chunk in _chunks(users):
        prefs.update((p.user_id, p) for p in Preference.objects.filter(user_id__in=chunk))
    default = Preference()
    by_email = {
        pk
        for pk, user in users.items()
        if settings.EMAIL_HOST and user.email and prefs.get(pk, default).email
    }
    robots_of: dict[int, set[int]] = {}
    robot_users = [pk for pk in users if prefs.get(pk, default).robot]
    for chunk in _chunks(robot_users):
        for robot_id, user_id in Robot.objects.filter(
            active=True, unit__memberships__user_id__in=chunk
        ).values_list("id", "unit__memberships__user_id"):
            robots_of.setdefault(user_id, set()).add(robot_id)
    if not by_email and not robots_of:
        return  # the inbox only: most calls, when no mail server is set up
    channel_users = by_email | set(robots_of)
    keys = [key for key, told in new.items() if channel_users.intersection(told)]
    position = {key: index for index, key in enumerate(keys)}
    notifications = []
    for key_chunk in _chunks(keys):
        for user_chunk in _chunks(sorted(channel_users)):
            notifications += Notification.objects.filter(
                key__in=key_chunk, recipient_id__in=user_chunk
            )
    rows = []
    for n in sorted(notifications, key=lambda n: (position[n.key], n.pk)):
        if n.recipient_id not in new[n.key]:
            continue  # written before this call: its deliveries were planned then
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
    Delivery.objects.bulk_create(rows, batch_size=_CHUNK, ignore_conflicts=True)
    pending = [row.key for row in rows if row.status == Delivery.Status.PENDING]
    if pending:
        transaction.on_commit(lambda: _enqueue(pending))


def _enqueue(keys: list[str]) -> None:
    from .tasks import send_deliveries

    ids = []
    for chunk in _chunks(keys):
        ids += Delivery.objects.filter(key__in=chunk, status=Delivery.Status.PENDING).values_list(
            "id", flat=True
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
