"""Notifications: one row per recipient and event, unique by (recipient, key)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # What happened, e.g. "deadline_reminder", "supervision_notice", "rebound".
    kind = models.CharField(_("kind"), max_length=40)
    # The event's identity: the same key is never delivered twice to the same person.
    key = models.CharField(max_length=200)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    problem = models.ForeignKey(
        "ledger.Problem", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once")
        ]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.title


class Preference(models.Model):
    """How one person wants to hear about events; the inbox is always on."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_preference"
    )
    email = models.BooleanField(_("by e-mail"), default=True)
    robot = models.BooleanField(_("in my unit's group chat"), default=False)
    # One message a day (at DUBAN_NOTIFY_DIGEST_HOUR) instead of one per event.
    digest = models.BooleanField(_("daily digest"), default=False)

    def __str__(self):
        return f"{self.user} · {self.email} {self.robot} {self.digest}"


class Robot(models.Model):
    """A group-chat robot (DingTalk or WeCom) of a unit; its webhook posts to the unit's group."""

    class Kind(models.TextChoices):
        DINGTALK = "dingtalk", _("DingTalk")
        WECOM = "wecom", _("WeCom")

    class Format(models.TextChoices):
        MARKDOWN = "markdown", _("Markdown")
        TEXT = "text", _("Plain text")

    unit = models.ForeignKey("org.Unit", on_delete=models.CASCADE, related_name="robots")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50, blank=True)
    # The webhook URL carries the robot's access token: a credential, shown masked only.
    webhook = models.URLField(_("webhook URL"), max_length=500)
    # DingTalk's signing secret ("SEC…"), when the robot uses signed requests.
    secret = models.CharField(_("signing secret"), max_length=200, blank=True)
    msgtype = models.CharField(
        _("message format"), max_length=10, choices=Format.choices, default=Format.MARKDOWN
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["unit__name", "id"]
        verbose_name = _("group robot")
        verbose_name_plural = _("group robots")

    def __str__(self):
        return self.name or f"{self.unit} · {self.get_kind_display()}"

    @property
    def masked_webhook(self) -> str:
        return mask(self.webhook)

    @property
    def masked_secret(self) -> str:
        return mask(self.secret) if self.secret else ""


def mask(value: str, keep: int = 4) -> str:
    """A credential as its last few characters, e.g. "…c9d2", so staff can tell two apart."""
    if not value:
        return ""
    if "?" in value:  # a webhook: the address is fine to show, its token is not
        base, _query = value.split("?", 1)
        return f"{base}?…{value[-keep:]}"
    return f"…{value[-keep:]}" if len(value) > keep * 3 else "…"


class Delivery(models.Model):
    """One message to send by one channel: an event, or a day's digest of events.

    A delivery's key is its identity (unique), so the same event never goes twice to the
    same mailbox or group. Sending claims it first (pending → sending with a conditional
    UPDATE), so two workers never both send it.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        ROBOT = "robot", _("Group robot")

    class Status(models.TextChoices):
        HELD = "held", _("Waiting for the digest")
        DIGESTED = "digested", _("Sent in a digest")
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    key = models.CharField(max_length=250, unique=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    robot = models.ForeignKey(
        Robot, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    # The event sent; empty for a digest, whose events point to it through `digest`.
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    digest = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    digest_day = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return self.key
