"""API tokens expire, die with a password change or a lockout, and fail for a locked account."""

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from duban.accounts.models import ApiToken
from duban.audit.models import AuditEvent
from duban.testing import PASSWORD

LOGIN = "/accounts/login/"
PROBLEMS = "/api/v1/problems"
NEW_PASSWORD = "Qiao-Xi-2026!"


def calls(key: str) -> int:
    return Client().get(PROBLEMS, HTTP_AUTHORIZATION=f"Bearer {key}").status_code


def test_a_token_expires_after_the_configured_days(world, settings):
    settings.DUBAN_API_TOKEN_DAYS = 30
    made = timezone.now()
    token, key = ApiToken.issue(world.liaison, "报送脚本")
    assert made + dt.timedelta(days=30) <= token.expires_at
    assert token.expires_at <= timezone.now() + dt.timedelta(days=30)
    assert calls(key) == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert calls(key) == 401


def test_the_profile_shows_each_tokens_expiry_and_the_lifetime(client, world, settings):
    settings.DUBAN_API_TOKEN_DAYS = 30
    world.liaison.language = "en"
    world.liaison.save(update_fields=["language"])
    client.force_login(world.liaison)

    response = client.post(reverse("accounts:token_create"), {"name": "报送脚本"})

    token = ApiToken.objects.get(user=world.liaison)
    expires = timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")
    html = response.content.decode()
    assert f"It works until {expires}." in html
    assert "A token expires 30 days after it is made" in html
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())
    page = client.get(reverse("accounts:profile")).content.decode()
    assert 'badge-overdue">Expired</span>' in page


def test_changing_ones_own_password_deletes_ones_tokens(client, world):
    _token, key = ApiToken.issue(world.liaison, "报送脚本")
    _other, other_key = ApiToken.issue(world.unit_head, "单位负责人的脚本")
    client.force_login(world.liaison)

    response = client.post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert calls(key) == 401
    assert calls(other_key) == 200
    [event] = AuditEvent.objects.filter(action="account.change_password")
    assert event.actor_id == world.liaison.pk
    assert event.after == {"replaced_one_time_password": False, "api_tokens_deleted": 1}
    assert client.get("/ledger/").status_code == 200  # the session lives on


def test_a_lockout_deletes_the_accounts_tokens_and_records_it(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _token, key = ApiToken.issue(world.liaison, "报送脚本")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _attempt in range(3):
        attacker.post(LOGIN, {"username": "liaison", "password": "wrong"})

    assert calls(key) == 401
    assert not ApiToken.objects.filter(user=world.liaison).exists()
    [event] = AuditEvent.objects.filter(action="token.revoke_on_lockout")
    assert event.target_id == str(world.liaison.pk) and event.actor_id is None
    assert event.after == {"user": "liaison", "address": "203.0.113.66", "api_tokens_deleted": 1}
    # More failures with no token left to delete add nothing to the log.
    attacker.post(LOGIN, {"username": "liaison", "password": "wrong"})
    assert AuditEvent.objects.filter(action="token.revoke_on_lockout").count() == 1


def test_a_locked_accounts_token_is_refused_until_it_is_unlocked(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _attempt in range(3):
        attacker.post(LOGIN, {"username": "liaison", "password": "wrong"})
    # A token made during the lockout (from a session that was already open).
    _token, key = ApiToken.issue(world.liaison, "报送脚本")

    assert calls(key) == 401

    admin = Client()
    admin.force_login(world.sysadmin)
    admin.post(reverse("account_admin:unlock", args=[world.liaison.pk]))
    assert calls(key) == 200


def test_an_inactive_accounts_token_is_refused(world):
    _token, key = ApiToken.issue(world.liaison, "报送脚本")
    world.liaison.is_active = False
    world.liaison.save(update_fields=["is_active"])

    assert calls(key) == 401
