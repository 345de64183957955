"""Every change to a user's second factor, each with its audit event and a notice to the user.

A second factor guards an account against a stolen or reset password, so turning it on or
off, using a recovery code and an administrator's reset are told to the user at once (inbox
and the channels he chose): whoever did it, he learns of it.
"""

from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.accounts.admin_actions import managed_users
from duban.audit import log as audit
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.notify.actions import notify
from duban.org.models import Role

from .policy import has_two_factor, required_for

RECOVERY_CODES = 10
AUTHENTICATOR = "authenticator"
RECOVERY = "recovery"
# The user's own changes carry no acting role, like his API tokens.
NO_ROLE = ""


def pending_authenticator(user) -> TOTPDevice:
    """The authenticator being set up (not yet confirmed); made on first ask, kept until confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _tell(user, *, event, kind: str, title: str, body: str) -> None:
    """Notify the user in his own language; the key is the audit event, so once per event."""
    with translation.override(user.language or None):
        notify(
            [user],
            kind=kind,
            key=f"twofactor:{event.ref}",
            title=str(title),
            body=str(body),
            url=reverse("twofactor:overview"),
            urgent=True,  # a security warning: not held for the daily digest
        )


def confirm_authenticator(user, *, code: str) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor login on with the code the new authenticator shows; returns the device and
    a fresh set of recovery codes (to show once)."""
    if has_two_factor(user):
        raise NotAllowed(_("Two-factor login is already on for your account."))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise InvalidInput(_("Open the set-up page again to get a new key."), field="code")
    if not device.verify_token(code.strip()):
        raise InvalidInput(
            _("This code does not match. Check the time on your phone and type the current code."),
            field="code",
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        event = audit.record(
            actor=user, role=NO_ROLE, action="twofactor.enable", target=user, after={"on": True}
        )
        _tell(
            user,
            event=event,
            kind="twofactor",
            title=_("Two-factor login was turned on for your account"),
            body=_("From now on, logging in asks for the code of your authenticator app."),
        )
    return device, codes


def renew_recovery_codes(user) -> list[str]:
    """A new set of recovery codes; the old ones stop working."""
    if not has_two_factor(user):
        raise NotAllowed(_("Turn two-factor login on first."))
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit.record(
            actor=user,
            role=NO_ROLE,
            action="twofactor.recovery_codes",
            target=user,
            after={"codes": len(codes)},
        )
    return codes


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user).count()


def note_recovery_code_used(user) -> None:
    """A recovery code let the user in: recorded, and told to him (it may not have been him)."""
    with transaction.atomic():
        event = audit.record(
            actor=user,
            role=NO_ROLE,
            action="twofactor.recovery_code_used",
            target=user,
            after={"codes_left": recovery_codes_left(user)},
        )
        _tell(
            user,
            event=event,
            kind="twofactor",
            title=_("A recovery code was used to log in to your account"),
            body=_(
                "If this was not you, change your password and ask the system administrator "
                "to reset your two-factor login."
            ),
        )


def turn_off(user, *, code: str) -> None:
    """The user turns his second factor off, proving it with a current code."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        raise NotAllowed(_("Two-factor login is not on for your account."))
    if required_for(user):
        raise NotAllowed(_("Your role requires two-factor login; it cannot be turned off."))
    if not device.verify_token(code.strip()):
        raise InvalidInput(_("This code does not match."), field="code")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        event = audit.record(
            actor=user, role=NO_ROLE, action="twofactor.disable", target=user, before={"on": True}
        )
        _tell(
            user,
            event=event,
            kind="twofactor",
            title=_("Two-factor login was turned off for your account"),
            body=_("Logging in now asks for your password only."),
        )


def reset_by_administrator(user, *, by) -> None:
    """A system administrator removes a user's lost authenticator; the user sets up a new one.

    The event names both; the user is told at once, so a reset he did not ask for is noticed.
    `by=None` is the operator at the server's console (`duban twofactor_reset`), the only way
    to reset an administrator's own second factor, which no administrator manages.
    """
    if by is not None and not managed_users(by).filter(pk=user.pk).exists():
        # Same answer for another region's user, an administrator's account and a non-sysadmin.
        raise NotAllowed(_("This account is not one you manage."))
    if by is not None and user.pk == by.pk:
        raise NotAllowed(
            _("You cannot reset your own two-factor login; ask another administrator.")
        )
    if not TOTPDevice.objects.filter(user=user).exists():
        raise InvalidInput(_("Two-factor login is not on for this account."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        event = audit.record(
            actor=by,
            role=Role.SYSADMIN if by is not None else "",
            action="twofactor.reset",
            target=user,
            before={"on": True},
            after={"user": user.username, "by": by.username if by is not None else "console"},
        )
        _tell(
            user,
            event=event,
            kind="twofactor",
            title=_("Your two-factor login was reset by an administrator"),
            body=_(
                "%(admin)s removed your authenticator. Set up a new one at your next login. "
                "If you did not ask for this, tell your office."
            )
            % {"admin": by if by is not None else _("The server's operator")},
        )
