"""A user's own changes: API tokens, the password, and what a login or a lockout changes.

A token is a standing credential to the API, so who made or dropped one, and when,
belongs in the audit log like any other change. The raw key never reaches the log:
the event names the token (its row, and its name), never the key or its hash.
A token is deleted with the password it was made under: on a password change, an
administrator's reset, and when an address is locked out of the account.
"""

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from duban.audit import log as audit
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.notify.actions import notify

from .models import ApiToken, User

# Tokens belong to the person, not to one of his roles: the events carry no acting role.
NO_ROLE = ""


def issue_token(*, by, name: str) -> tuple[ApiToken, str]:
    """A new token of `by`'s, and its raw key (to show once; it is not stored)."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the token a name."), field="name")
    with transaction.atomic():
        token, raw = ApiToken.issue(by, name)
        audit.record(
            actor=by, role=NO_ROLE, action="token.create", target=token, after={"name": name}
        )
    return token, raw


def revoke_token(token: ApiToken, *, by) -> None:
    """Delete one of `by`'s own tokens; calls with it fail from now on."""
    if token.user_id != by.pk:
        # The views answer 404 before this; the check keeps the rule in the action too.
        raise NotAllowed(_("This token is not yours."))
    with transaction.atomic():
        audit.record(
            actor=by, role=NO_ROLE, action="token.revoke", target=token, before={"name": token.name}
        )
        token.delete()


def change_password(user, *, new_password: str) -> int:
    """`user` sets his own password (already checked by the form: old one, validators).

    A one-time password from a reset is thereby used up. His API tokens are deleted, as
    they would outlive a password that may have leaked. Returns how many were deleted.
    """
    if user.check_password(new_password):
        raise InvalidInput(
            _("The new password must differ from the current one."), field="new_password1"
        )
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        was_one_time = user.must_change_password
        user.set_password(new_password)
        user.one_time_password_set_at = None
        user.one_time_password_set_by = None
        user.one_time_password_expires_at = None
        user.one_time_password_used_at = None
        user.save(
            update_fields=[
                "password",
                "one_time_password_set_at",
                "one_time_password_set_by",
                "one_time_password_expires_at",
                "one_time_password_used_at",
            ]
        )
        deleted, _by_model = ApiToken.objects.filter(user=user).delete()
        audit.record(
            actor=user,
            role=NO_ROLE,
            action="account.change_password",
            target=user,
            after={"replaced_one_time_password": was_one_time, "api_tokens_deleted": deleted},
        )
    return deleted


def note_one_time_login(user, *, address: str | None) -> bool:
    """The first login with a one-time password: an audit event naming the account and the
    administrator who reset it, and a word to the account's owner. False if already noted."""
    set_at = user.one_time_password_set_at
    if set_at is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        first = User.objects.filter(
            pk=user.pk, one_time_password_set_at=set_at, one_time_password_used_at__isnull=True
        ).update(one_time_password_used_at=now)
        if not first:
            return False
        setter = user.one_time_password_set_by
        audit.record(
            actor=user,
            role=NO_ROLE,
            action="account.one_time_login",
            target=user,
            after={
                "user": user.username,
                "reset_by": setter.username if setter else "",
                "reset_by_id": setter.pk if setter else None,
                "address": address or "",
            },
        )
        with translation.override(user.language):
            notify(
                [user],
                kind="one_time_password_used",
                key=f"account.one_time_login.{user.pk}.{set_at.timestamp():.6f}",
                title=_("Your one-time password was used"),
                body=_(
                    "Someone logged in to your account %(username)s at %(time)s from the address "
                    "%(address)s with the one-time password that %(admin)s set, and must now set "
                    "a new password. If that was not you, your account may be in other hands: "
                    "tell your rectification office and the audit administrator at once."
                )
                % {
                    "username": user.username,
                    "time": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
                    "address": address or "?",
                    "admin": f"{setter} ({setter.username})" if setter else "?",
                },
                now=now,
                urgent=True,
            )
    return True


def revoke_tokens_on_lockout(username: str, *, address: str | None) -> int:
    """An address was locked out of `username` after failed logins: delete its API tokens
    (the event is recorded only when there were any, so failed logins cannot flood the log)."""
    user = User.objects.filter(username=username).first()
    if user is None:
        return 0
    with transaction.atomic():
        deleted, _by_model = ApiToken.objects.filter(user=user).delete()
        if deleted:
            audit.record(
                actor=None,
                role=NO_ROLE,
                action="token.revoke_on_lockout",
                target=user,
                after={"user": username, "address": address or "", "api_tokens_deleted": deleted},
            )
    return deleted
