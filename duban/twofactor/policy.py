"""Who must use two-factor login, and whether a user has it: one place for both questions."""

from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.org.scope import roles_of


def required_for(user) -> bool:
    """DUBAN_2FA_REQUIRED makes a second factor compulsory for the roles in DUBAN_2FA_ROLES."""
    if not settings.DUBAN_2FA_REQUIRED:
        return False
    return bool(roles_of(user) & set(settings.DUBAN_2FA_ROLES))


def authenticator(user) -> TOTPDevice | None:
    """The user's confirmed authenticator, if two-factor login is on for him."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def has_two_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
