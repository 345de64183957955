"""Sending deliveries: e-mail over SMTP and the group robots of DingTalk and WeCom.

Each delivery is claimed before it is sent: a conditional UPDATE moves it from pending to
sending, and only the worker whose UPDATE changed the row sends it. Two workers (the
after-commit task and a sweep, or two sweeps) therefore never send the same message
twice. A failure puts the delivery back to pending with a later attempt time until
DUBAN_NOTIFY_MAX_ATTEMPTS, then marks it failed; the inbox row is never touched.

Message formats (official docs: DingTalk "自定义机器人发送群消息", WeCom "群机器人配置说明"):
- DingTalk: POST JSON {"msgtype": "markdown", "markdown": {"title", "text"}} or
  {"msgtype": "text", "text": {"content"}}; with a signing secret the URL gets
  &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256 of "timestamp\\nsecret" keyed by secret>.
- WeCom: POST JSON {"msgtype": "markdown", "markdown": {"content"}} (≤ 4096 bytes) or
  {"msgtype": "text", "text": {"content"}} (≤ 2048 bytes).
Both answer {"errcode": 0, "errmsg": "ok"} on success, another errcode on refusal.
"""

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Delivery, Notification, Robot

logger = logging.getLogger(__name__)
Status = Delivery.Status


class SendError(Exception):
    """A channel refused or could not be reached; the message says why (no credentials)."""


# --- one delivery ---------------------------------------------------------------------


def claim(delivery_id: int, now: dt.datetime, *, fresh: bool = False) -> bool:
    """Take a pending delivery for sending; False if another worker has it or it is not due.

    fresh=True (the after-commit task) takes it only if nobody has tried it yet, whatever
    its time: a sweep travelling in time may have written it "in the future".
    """
    due = {"attempts": 0} if fresh else {"next_attempt_at__lte": now}
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=Status.PENDING, **due).update(
            status=Status.SENDING, attempts=F("attempts") + 1, claimed_at=now
        )
    )


def deliver_one(delivery_id: int, now: dt.datetime, *, fresh: bool = False) -> str | None:
    """Claim and send one delivery; "sent", "retry", "failed", or None when not claimed."""
    if not claim(delivery_id, now, fresh=fresh):
        return None
    delivery = Delivery.objects.select_related("recipient", "robot", "notification").get(
        pk=delivery_id
    )
    try:
        send(delivery)
    except Exception as error:  # every failure is recorded; the inbox row stays
        message = _scrub(str(error) or type(error).__name__, delivery.robot)
        logger.warning("delivery %s (%s) failed: %s", delivery.pk, delivery.channel, message)
        if delivery.attempts >= settings.DUBAN_NOTIFY_MAX_ATTEMPTS:
            outcome, fields = "failed", {"status": Status.FAILED}
        else:
            wait = settings.DUBAN_NOTIFY_RETRY_MINUTES * 2 ** (delivery.attempts - 1)
            outcome = "retry"
            fields = {
                "status": Status.PENDING,
                "next_attempt_at": now + dt.timedelta(minutes=wait),
            }
        Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
            last_error=message[:300], **fields
        )
        return outcome
    Delivery.objects.filter(pk=delivery.pk, status=Status.SENDING).update(
        status=Status.SENT, sent_at=now, last_error=""
    )
    return "sent"


# A delivery still "sending" this long after its claim was cut off (the worker stopped
# mid-send). Whether it reached the channel is unknown; it is marked failed, not sent again,
# since sending twice is what the claim exists to prevent.
STUCK_AFTER = dt.timedelta(minutes=15)


def give_up_interrupted(now: dt.datetime) -> Counter:
    """Mark deliveries stuck in "sending" as failed; counts per channel ("email_interrupted")."""
    counts: Counter = Counter()
    stuck = Delivery.objects.filter(status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER)
    for delivery_id, channel in stuck.values_list("id", "channel"):
        changed = Delivery.objects.filter(pk=delivery_id, status=Status.SENDING).update(
            status=Status.FAILED,
            last_error="interrupted while sending; not sent again to avoid a duplicate",
        )
        if changed:
            logger.warning("delivery %s (%s) was interrupted while sending", delivery_id, channel)
            counts[f"{channel}_interrupted"] += 1
    return counts


def deliver_pending(now: dt.datetime) -> Counter:
    """Send every delivery due at `now`; counts per channel and outcome ("email_sent", …)."""
    due = Delivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    return _deliver(due, now)


def deliver_fresh(ids, now: dt.datetime) -> Counter:
    """Send the new deliveries `ids` that nobody has tried yet (the after-commit task)."""
    return _deliver(Delivery.objects.filter(pk__in=ids, attempts=0), now, fresh=True)


def _deliver(deliveries, now, fresh=False) -> Counter:
    counts: Counter = Counter()
    for delivery_id, channel in deliveries.order_by("id").values_list("id", "channel"):
        outcome = deliver_one(delivery_id, now, fresh=fresh)
        if outcome:
            counts[f"{channel}_{outcome}"] += 1
    return counts


def _scrub(text: str, robot: Robot | None) -> str:
    # Errors must never carry a robot's token or secret into the log or the page.
    if robot is not None:
        for credential in (robot.webhook, robot.secret, robot.webhook.split("?", 1)[-1]):
            if credential:
                text = text.replace(credential, "…")
    return text


# --- what a delivery says -------------------------------------------------------------


@dataclass
class Message:
    title: str
    text: str  # plain text
    markdown: str


def link(url: str) -> str:
    if not url:
        return ""
    return settings.DUBAN_BASE_URL + url if url.startswith("/") else url


def _one(n: Notification) -> Message:
    href = link(n.url)
    text = "\n\n".join(part for part in (n.body, href) if part)
    md_parts = [f"#### {n.title}"]
    if n.body:
        md_parts.append(n.body)
    if href:
        md_parts.append(f"[{_('Open in Duban')}]({href})" if "://" in href else href)
    return Message(n.title, text, "\n\n".join(md_parts))


def _digest(delivery: Delivery) -> Message:
    events = list(
        Notification.objects.filter(deliveries__digest=delivery).order_by("created_at", "id")
    )
    day = formats.date_format(delivery.digest_day, "Y-m-d")
    title = ngettext(
        "Duban: %(count)d notification, %(day)s",
        "Duban: %(count)d notifications, %(day)s",
        len(events),
    ) % {"count": len(events), "day": day}
    lines, md = [], [f"#### {title}"]
    for n in events:
        href = link(n.url)
        lines.append(f"- {n.title}" + (f"\n  {href}" if href else ""))
        md.append(f"- [{n.title}]({href})" if "://" in href else f"- {n.title}")
    return Message(title, "\n".join(lines), "\n".join(md))


def compose(delivery: Delivery) -> Message:
    if delivery.notification_id:
        return _one(delivery.notification)
    return _digest(delivery)


# --- channels -------------------------------------------------------------------------


def send(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        user = delivery.recipient
        with translation.override(user.language or settings.LANGUAGE_CODE):
            send_email(user.email, compose(delivery))
    else:
        with translation.override(settings.LANGUAGE_CODE):
            send_robot(delivery.robot, compose(delivery))


def send_email(address: str, message: Message) -> None:
    if not address:
        raise SendError("no e-mail address")
    subject = " ".join(message.title.split())  # a header: one line
    connection = get_connection(fail_silently=False)
    EmailMessage(subject, message.text, to=[address], connection=connection).send()


def sign(secret: str, timestamp: str) -> str:
    """DingTalk's signature: base64 of HMAC-SHA256("timestamp\\nsecret", key=secret), url-encoded."""
    digest = hmac.new(
        secret.encode(), f"{timestamp}\n{secret}".encode(), digestmod=hashlib.sha256
    ).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest))


def _cut(text: str, limit_bytes: int) -> str:
    data = text.encode()
    if len(data) <= limit_bytes:
        return text
    return data[: limit_bytes - 3].decode(errors="ignore") + "…"


def robot_payload(robot: Robot, message: Message) -> dict:
    if robot.kind == Robot.Kind.DINGTALK:
        if robot.msgtype == Robot.Format.TEXT:
            return {
                "msgtype": "text",
                "text": {"content": _cut(message.title + "\n" + message.text, 18000)},
            }
        return {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": _cut(message.markdown, 18000)},
        }
    if robot.msgtype == Robot.Format.TEXT:
        return {
            "msgtype": "text",
            "text": {"content": _cut(message.title + "\n" + message.text, 2048)},
        }
    return {"msgtype": "markdown", "markdown": {"content": _cut(message.markdown, 4096)}}


def robot_url(robot: Robot, timestamp: str | None = None) -> str:
    url = robot.webhook
    if robot.kind == Robot.Kind.DINGTALK and robot.secret:
        # DingTalk refuses a timestamp more than an hour off its own clock: the wall clock.
        timestamp = timestamp or str(int(time.time() * 1000))
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"timestamp": timestamp})
        url += "&sign=" + sign(robot.secret, timestamp)
    return url


def is_https_on_443(url: str) -> bool:
    """Robots are reached by https on the standard port only: never plain http, no other port."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    return parts.scheme == "https" and port in (None, 443)


def check_robot_host(url: str) -> None:
    """Checked at every send: robots stored before a rule (or edited by hand) obey it too."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host not in settings.DUBAN_NOTIFY_ROBOT_HOSTS:
        raise SendError(f"robot host {host!r} is not in DUBAN_NOTIFY_ROBOT_HOSTS")
    if not is_https_on_443(url):
        raise SendError("a robot webhook must be https on port 443")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a webhook that redirects is refused, not followed


_opener = urllib.request.build_opener(_NoRedirects)


def send_robot(robot: Robot, message: Message) -> None:
    if robot is None or not robot.active:
        raise SendError("the robot was removed or switched off")
    check_robot_host(robot.webhook)
    body = json.dumps(robot_payload(robot, message), ensure_ascii=False).encode()
    request = urllib.request.Request(
        robot_url(robot),
        data=body,
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    try:
        with _opener.open(request, timeout=settings.DUBAN_NOTIFY_HTTP_TIMEOUT) as response:
            status, answer = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        raise SendError(f"HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise SendError(str(getattr(error, "reason", error))) from None
    if status != 200:
        raise SendError(f"HTTP {status}")
    try:
        result = json.loads(answer or b"{}")
    except ValueError:
        return  # a 200 without JSON: accepted
    if isinstance(result, dict) and result.get("errcode", 0) != 0:
        raise SendError(f"errcode {result.get('errcode')}: {str(result.get('errmsg', ''))[:100]}")


# --- daily digests --------------------------------------------------------------------


def digest_cutoff(now: dt.datetime) -> dt.datetime:
    """The latest digest time at or before `now` (DUBAN_NOTIFY_DIGEST_HOUR, local time)."""
    hour = settings.DUBAN_NOTIFY_DIGEST_HOUR
    local = timezone.localtime(now)
    day = local.date() if local.hour >= hour else local.date() - dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def make_digests(now: dt.datetime) -> Counter:
    """Gather held events into one digest per mailbox or group and day; counts digests made.

    One digest per (recipient or robot, day) by the digest's unique key: a second run the
    same day, or a second sweeper, finds the key taken and makes nothing.
    """
    counts: Counter = Counter()
    cutoff = digest_cutoff(now)
    day = cutoff.date()
    held = Delivery.objects.filter(status=Status.HELD, created_at__lte=cutoff)
    groups: dict[tuple, list[int]] = {}
    for pk, channel, recipient_id, robot_id in held.values_list(
        "id", "channel", "recipient_id", "robot_id"
    ).order_by("id"):
        groups.setdefault((channel, recipient_id, robot_id), []).append(pk)
    for (channel, recipient_id, robot_id), ids in groups.items():
        who = recipient_id if channel == Delivery.Channel.EMAIL else robot_id
        key = f"digest:{channel}:{who}:{day.isoformat()}"
        if Delivery.objects.filter(key=key).exists():
            continue  # today's digest went out: these wait for tomorrow's
        try:
            with transaction.atomic():
                digest = Delivery.objects.create(
                    key=key,
                    channel=channel,
                    recipient_id=recipient_id,
                    robot_id=robot_id,
                    digest_day=day,
                    status=Status.PENDING,
                    next_attempt_at=now,
                    created_at=now,
                )
                taken = Delivery.objects.filter(pk__in=ids, status=Status.HELD).update(
                    status=Status.DIGESTED, digest=digest
                )
                if not taken:
                    raise IntegrityError("another sweeper digested these events")
        except IntegrityError:
            continue
        counts["digest_made"] += 1
    return counts


def deliver(now: dt.datetime) -> Counter:
    """One round of delivery, the sweep rule "deliver": digests that are due, then every delivery
    still pending; those cut off while sending are given up (see give_up_interrupted).

    Notify sits below supervision (whose reminders and notices notify people), so it does not
    register this rule itself: supervision registers it (duban/supervision/clock.py).
    """
    counts = make_digests(now)
    counts.update(deliver_pending(now))
    counts.update(give_up_interrupted(now))
    return counts
