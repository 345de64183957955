"""Account management by the system administrator (系统管理员): one named function per change.

A sysadmin manages the accounts of his region: users all of whose memberships are
in units of his unit's region subtree (a user who also holds a role elsewhere is
not his alone, so not his), plus users with no membership yet (new accounts).
Never the accounts of system or audit administrators, his own included: nobody
in the application manages an administrator's account, so one administrator
cannot take over another's (reset its password, change its roles). He never sees business data, and account management, business data
and audit stay with different people (三员分立): nobody holds a business role
together with the sysadmin or auditor role, and no sysadmin grants himself a role. Among
business roles, a grant that would let one person take two steps whose duties must be
separate on the same problems (apply and sign, sign and endorse, apply and accept, accept at
two levels…) is refused: CONFLICTING_ROLES.

The recipe is the ledger's: check role and scope → transaction.atomic() → change →
audit event in the same transaction. Errors reuse the ledger's ActionError classes.
"""

import datetime as dt
import secrets

from axes.utils import reset as reset_axes_attempts
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duban.audit import log as audit
from duban.core.exceptions import InvalidInput, NotAllowed
from duban.notify.actions import notify
from duban.org.models import BUSINESS_ROLES, Membership, Role, Unit
from duban.org.scope import lies_in, nested, region_paths, under_any

from .lockout import locked_usernames, login_failures  # noqa: F401 (the account pages read them here)
from .models import ApiToken, User

# Roles that manage or watch the system and must stay apart from business roles.
ADMIN_ROLES = {Role.SYSADMIN, Role.AUDITOR}


# --- separation of duties between business roles ----------------------------------------


def _same_unit(a, b) -> bool:
    return a.pk == b.pk


def _nested_regions(a, b) -> bool:
    """One unit's region is, or lies within, the other's: an acceptor of the one may accept
    problems the other unit works on."""
    return nested(a.region.path, b.region.path)


def _two_levels(a, b) -> bool:
    """Acceptance teams at two levels over the same place (a county's and its city's)."""
    return a.region.path != b.region.path and _nested_regions(a, b)


def _in_first_region(a, b) -> bool:
    """The second unit lies in the region of the first (an office over a liaison's unit)."""
    return lies_in(b.region.path, a.region.path)


# Roles one person may not hold together where their duties meet on the same problems: the
# first unit's role, the second unit's role, how the two units must relate for the duties to
# meet, and what one person could then do alone. duban.ledger.duties refuses the conflicting
# steps in any case (memberships made before this table, or with other units).
CONFLICTING_ROLES = (
    (
        Role.LIAISON,
        Role.UNIT_HEAD,
        _same_unit,
        gettext_lazy("apply for closing a problem and sign the application"),
    ),
    (
        Role.LIAISON,
        Role.LEAD_OFFICIAL,
        _same_unit,
        gettext_lazy("apply for closing a problem and endorse the application"),
    ),
    (
        Role.UNIT_HEAD,
        Role.LEAD_OFFICIAL,
        _same_unit,
        gettext_lazy("sign a closing application and endorse it"),
    ),
    (
        Role.ACCEPTOR,
        Role.LIAISON,
        _nested_regions,
        gettext_lazy("apply for closing a problem and accept it"),
    ),
    (
        Role.ACCEPTOR,
        Role.UNIT_HEAD,
        _nested_regions,
        gettext_lazy("sign a closing application and accept it"),
    ),
    (
        Role.ACCEPTOR,
        Role.LEAD_OFFICIAL,
        _nested_regions,
        gettext_lazy("endorse a closing application and accept it"),
    ),
    (
        Role.ACCEPTOR,
        Role.ACCEPTOR,
        _two_levels,
        gettext_lazy("accept the same problem at two levels"),
    ),
    (
        Role.OFFICE,
        Role.LIAISON,
        _in_first_region,
        gettext_lazy("submit a plan or an extension request and approve it"),
    ),
)


def duty_conflict(held, unit, role: str):
    """What one person could do alone if he held `role` in `unit` besides membership `held`,
    or None when the two roles do not meet on the same problems."""
    for first, second, related, duty in CONFLICTING_ROLES:
        if (held.role, role) == (first, second) and related(held.unit, unit):
            return duty
        if (role, held.role) == (first, second) and related(unit, held.unit):
            return duty
    return None


def held_conflicts(memberships) -> list[str]:
    """Conflicting pairs among memberships a user already holds (made before CONFLICTING_ROLES,
    or directly in the database): the ledger refuses the conflicting steps, the sysadmin
    should remove one role of each pair."""
    memberships = list(memberships)
    found = []
    for index, first in enumerate(memberships):
        for second in memberships[index + 1 :]:
            duty = duty_conflict(first, second.unit, second.role)
            if duty is not None:
                found.append(
                    _(
                        "%(role)s in %(unit)s and %(other_role)s in %(other_unit)s conflict: one "
                        "person could %(duty)s. The ledger refuses him the conflicting steps; "
                        "remove one of these roles."
                    )
                    % {
                        "role": first.get_role_display(),
                        "unit": first.unit,
                        "other_role": second.get_role_display(),
                        "other_unit": second.unit,
                        "duty": duty,
                    }
                )
    return found


def _conflicting_grant(user, unit, role: str) -> str | None:
    held = Membership.objects.filter(user=user).select_related("unit__region").order_by("id")
    for membership in held:
        duty = duty_conflict(membership, unit, role)
        if duty is not None:
            return _(
                "%(user)s already holds the role %(held_role)s in %(held_unit)s; also holding "
                "%(role)s in %(unit)s would let one person %(duty)s. Separation of duties: "
                "give one of these roles to someone else."
            ) % {
                "user": user,
                "held_role": membership.get_role_display(),
                "held_unit": membership.unit,
                "role": Role(role).label,
                "unit": unit,
                "duty": duty,
            }
    return None


# --- scope -------------------------------------------------------------------------------


def sysadmin_region_paths(by) -> list[str]:
    """The region paths of the units in which `by` is system administrator."""
    return region_paths(by, Role.SYSADMIN)


def is_sysadmin(by) -> bool:
    return bool(sysadmin_region_paths(by))


def _region_q(paths: list[str], prefix: str) -> Q:
    return under_any(f"{prefix}region__path", paths)


def managed_units(by):
    """Units a sysadmin may grant roles in: those of his region subtree."""
    paths = sysadmin_region_paths(by)
    if not paths:
        return Unit.objects.none()
    return Unit.objects.filter(_region_q(paths, "")).select_related("region")


def _administrators_q() -> Q:
    """Accounts nobody manages here: system and audit administrators, and Django superusers."""
    admin_membership = Membership.objects.filter(user=OuterRef("pk"), role__in=ADMIN_ROLES)
    return Q(Exists(admin_membership)) | Q(is_superuser=True)


def managed_users(by):
    """Users a sysadmin manages: those whose every membership is in his region subtree (users
    without any membership included), administrators excepted."""
    paths = sysadmin_region_paths(by)
    if not paths:
        return User.objects.none()
    elsewhere = Membership.objects.filter(user=OuterRef("pk")).exclude(_region_q(paths, "unit__"))
    return User.objects.exclude(_administrators_q()).exclude(Exists(elsewhere))


def _check_sysadmin(by):
    if not is_sysadmin(by):
        raise NotAllowed(_("Only system administrators manage accounts."))


def _check_manages(by, user):
    _check_sysadmin(by)
    if User.objects.filter(_administrators_q(), pk=user.pk).exists():
        raise NotAllowed(
            _(
                "%(user)s is a system or audit administrator. Administrators' accounts are not "
                "managed here: no administrator may change another administrator's account, "
                "nor his own."
            )
            % {"user": user}
        )
    if not managed_users(by).filter(pk=user.pk).exists():
        # Same answer as for a user who does not exist.
        raise NotAllowed(_("This account is outside your region."))


# --- changes -----------------------------------------------------------------------------


# Letters and digits that read the same on paper and on screen (no 0/O, 1/l/I).
ONE_TIME_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _one_time_password() -> str:
    """Four groups of four, e.g. "Kp7x-9QmR-t4Vz-Hc2e": about 93 bits, easy to read out."""
    return "-".join("".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(4)) for _ in range(4))


ONE_TIME_PASSWORD_FIELDS = [
    "one_time_password_set_at",
    "one_time_password_set_by",
    "one_time_password_expires_at",
    "one_time_password_used_at",
]


def _give_one_time_password(user, *, by) -> tuple[str, dt.datetime]:
    """Set (not save) a new one-time password on `user`; returns it and when it expires."""
    now = timezone.now()
    raw = _one_time_password()
    expires_at = now + dt.timedelta(hours=settings.DUBAN_ONE_TIME_PASSWORD_HOURS)
    user.set_password(raw)
    user.one_time_password_set_at = now
    user.one_time_password_set_by = by
    user.one_time_password_expires_at = expires_at
    user.one_time_password_used_at = None
    return raw, expires_at


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _profile(user) -> dict:
    return {
        "username": user.username,
        "display_name": user.display_name,
        "phone": user.phone,
        "language": user.language,
        "is_active": user.is_active,
    }


def create_user(
    *, by, username: str, display_name: str = "", phone: str = "", language: str = ""
) -> tuple[User, str, dt.datetime]:
    """A new account, with no role yet, and a one-time password that Duban makes up.

    As after a reset, the sysadmin hands the one-time password over and cannot use the
    account unseen: it is good only to set the user's own password, and its first use is
    recorded. Returns the user, the one-time password (to show once) and when it expires.
    """
    _check_sysadmin(by)
    username = username.strip()
    if not username:
        raise InvalidInput(_("Enter a username."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("This username is already taken."), field="username")
    user = User(username=username, display_name=display_name.strip(), phone=phone.strip())
    if language:
        user.language = language
    raw, expires_at = _give_one_time_password(user, by=by)
    with transaction.atomic():
        user.save()
        audit.record(
            actor=by,
            role=Role.SYSADMIN,
            action="account.create",
            target=user,
            after={**_profile(user), "one_time_password_expires_at": expires_at.isoformat()},
        )
    return user, raw, expires_at


def update_user(user, *, by, display_name: str, phone: str, language: str, is_active: bool) -> User:
    """Change a user's name, phone, language or active flag; a deactivated user cannot log in."""
    _check_manages(by, user)
    if user.pk == by.pk and not is_active:
        raise NotAllowed(_("You cannot deactivate your own account."))
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        before = _profile(user)
        user.display_name = display_name.strip()
        user.phone = phone.strip()
        user.language = language
        user.is_active = is_active
        after = _profile(user)
        changed = [key for key in after if after[key] != before[key]]
        if not changed:
            return user
        user.save(update_fields=changed)
        audit.record(
            actor=by,
            role=Role.SYSADMIN,
            action="account.update",
            target=user,
            before={key: before[key] for key in changed},
            after={key: after[key] for key in changed},
        )
    return user


def _roles_held(user) -> set[str]:
    # Straight from the database: scope.memberships() ignores inactive users.
    return set(Membership.objects.filter(user=user).values_list("role", flat=True))


def add_membership(user, *, by, unit, role: str) -> Membership:
    """Grant `role` in `unit`, keeping business roles apart from the sysadmin and auditor roles
    and refusing a business role whose duties conflict with one the user holds
    (CONFLICTING_ROLES)."""
    _check_manages(by, user)
    if role not in Role.values:
        raise InvalidInput(_("Unknown role."), field="role")
    if not managed_units(by).filter(pk=unit.pk).exists():
        raise InvalidInput(_("Choose a unit of your region."), field="unit")
    if user.pk == by.pk:
        raise NotAllowed(_("You cannot grant roles to yourself; ask another system administrator."))
    held = _roles_held(user)
    if role in BUSINESS_ROLES and held & ADMIN_ROLES:
        raise InvalidInput(
            _(
                "%(user)s is a system or audit administrator and cannot also hold a business role "
                "(separation of duties)."
            )
            % {"user": user},
            field="role",
        )
    if role in ADMIN_ROLES and held & BUSINESS_ROLES:
        raise InvalidInput(
            _(
                "%(user)s holds a business role and cannot also be a system or audit administrator "
                "(separation of duties)."
            )
            % {"user": user},
            field="role",
        )
    if role in ADMIN_ROLES and (held & ADMIN_ROLES) - {role}:
        # The sysadmin and the auditor watch each other: one person cannot be both.
        raise InvalidInput(
            _("One person cannot be both system administrator and audit administrator."),
            field="role",
        )
    if Membership.objects.filter(user=user, unit=unit, role=role).exists():
        raise InvalidInput(_("The user already holds this role in this unit."), field="role")
    with transaction.atomic():
        # Two grants at once must not slip a conflicting pair past each other's check.
        User.objects.select_for_update().filter(pk=user.pk).first()
        if refusal := _conflicting_grant(user, unit, role):
            raise InvalidInput(refusal, field="role")
        membership = Membership.objects.create(user=user, unit=unit, role=role)
        audit.record(
            actor=by,
            role=Role.SYSADMIN,
            action="account.grant",
            target=user,
            after={"unit_id": unit.pk, "unit": unit.name, "role": role},
        )
    return membership


def remove_membership(membership, *, by) -> None:
    """Take a role away; the user's signatures and history stay."""
    user = membership.user
    _check_manages(by, user)
    if not managed_units(by).filter(pk=membership.unit_id).exists():
        raise NotAllowed(_("This role belongs to a unit outside your region."))
    if user.pk == by.pk:
        raise NotAllowed(_("You cannot change your own roles; ask another system administrator."))
    with transaction.atomic():
        before = {
            "unit_id": membership.unit_id,
            "unit": membership.unit.name,
            "role": membership.role,
        }
        audit.record(
            actor=by, role=Role.SYSADMIN, action="account.revoke", target=user, before=before
        )
        membership.delete()


def reset_password(user, *, by) -> tuple[str, dt.datetime, int]:
    """Replace a user's password with a one-time password that Duban makes up.

    The administrator never chooses the password and cannot log in as the user unseen: the
    one-time password expires after DUBAN_ONE_TIME_PASSWORD_HOURS, a login with it allows
    nothing but setting a new password (PasswordChangeRequiredMiddleware), and the user is
    told at once, and again when it is used. The user's sessions end (the password changed)
    and his API tokens are deleted. A second factor, when the user has one, is not touched.
    Returns the one-time password (to show once), when it expires, and the tokens deleted.
    """
    _check_manages(by, user)
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        raw, expires_at = _give_one_time_password(user, by=by)
        now = user.one_time_password_set_at
        user.save(update_fields=["password", *ONE_TIME_PASSWORD_FIELDS])
        deleted, _by_model = ApiToken.objects.filter(user=user).delete()
        # Never the password or its hash in the audit log: who reset whose, and until when.
        event = audit.record(
            actor=by,
            role=Role.SYSADMIN,
            action="account.reset_password",
            target=user,
            after={
                "user": user.username,
                "reset_by": by.username,
                "one_time_password_expires_at": expires_at.isoformat(),
                "api_tokens_deleted": deleted,
            },
        )
        with translation.override(user.language):
            notify(
                [user],
                kind="password_reset",
                key=f"account.password_reset.{user.pk}.{event.ref}",
                title=_("An administrator reset your password"),
                body=_(
                    "%(admin)s, system administrator, reset the password of your account "
                    "%(username)s at %(time)s and was given a one-time password for you, "
                    "valid until %(expires)s. Logging in with it allows nothing but setting "
                    "a new password. If you did not ask for this, tell your rectification "
                    "office and the audit administrator at once."
                )
                % {
                    "admin": f"{by} ({by.username})",
                    "username": user.username,
                    "time": _when(now),
                    "expires": _when(expires_at),
                },
                now=now,
                urgent=True,
            )
    return raw, expires_at, deleted


def unlock(user, *, by) -> int:
    """Clear the failed logins that lock the account; returns how many were counted."""
    _check_manages(by, user)
    failures = login_failures([user.username]).get(user.username, 0)
    with transaction.atomic():
        reset_axes_attempts(username=user.username)
        audit.record(
            actor=by,
            role=Role.SYSADMIN,
            action="account.unlock",
            target=user,
            before={"failed_logins": failures},
            after={"failed_logins": 0},
        )
    return failures
