"""A sysadmin's password reset cannot become a quiet takeover of the account.

The reset gives a one-time password made up by Duban, shown once to the sysadmin to hand
over; a login with it allows nothing but setting a new password; the user hears of the
reset and of the use; the audit events name the sysadmin and the user.
"""

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from duban.accounts import admin_actions
from duban.accounts.models import ApiToken, User
from duban.audit.log import verify
from duban.audit.models import AuditEvent
from duban.notify.models import Delivery, Notification, Preference
from duban.testing import PASSWORD

LOGIN = "/accounts/login/"
CHANGE = reverse("accounts:password_change")
NEW_PASSWORD = "Qiao-Xi-2026!"


@pytest.fixture
def admin(world, client):
    world.sysadmin.language = "en"
    world.sysadmin.save(update_fields=["language"])
    client.force_login(world.sysadmin)
    return client


@pytest.fixture
def liaison_by_email(world, settings):
    """The liaison reads English and has an e-mail address; a mail server is configured."""
    settings.EMAIL_HOST = "mail.example.org"
    world.liaison.language = "en"
    world.liaison.email = "liaison@example.org"
    world.liaison.save(update_fields=["language", "email"])
    return world.liaison


def reset(admin, user) -> str:
    """Reset `user`'s password on the sysadmin's page; the one-time password it shows."""
    response = admin.post(
        reverse("account_admin:password_reset", args=[user.pk]),
        # A password in the request is ignored: the sysadmin does not choose it.
        {"password": NEW_PASSWORD, "password2": NEW_PASSWORD},
    )
    assert response.status_code == 200, response.content.decode()
    match = re.search(r'<code class="token-raw">([^<]+)</code>', response.content.decode())
    assert match, "the one-time password is shown to the sysadmin once"
    return match.group(1)


def notifications(user, kind):
    return list(Notification.objects.filter(recipient=user, kind=kind))


def test_a_sysadmin_who_resets_and_logs_in_with_the_one_time_password_gets_only_the_change_page(
    admin, world, liaison_by_email
):
    one_time = reset(admin, world.liaison)

    # The reset is in the log, naming both, and the liaison is told in the inbox and by e-mail.
    [event] = AuditEvent.objects.filter(action="account.reset_password")
    assert event.actor_id == world.sysadmin.pk and event.role == "sysadmin"
    assert event.target_id == str(world.liaison.pk)
    assert event.after["user"] == "liaison" and event.after["reset_by"] == "sysadmin"
    assert one_time not in str(event.after) and one_time not in str(event.before)
    [told] = notifications(world.liaison, "password_reset")
    assert told.title == "An administrator reset your password"
    assert "sysadmin" in told.body and "liaison" in told.body and one_time not in told.body
    assert Delivery.objects.filter(
        notification=told, channel=Delivery.Channel.EMAIL, recipient=world.liaison
    ).exists()

    # The sysadmin, in another browser, logs in with it: the password change page, nothing else.
    intruder = Client(REMOTE_ADDR="10.1.1.9")
    response = intruder.post(LOGIN, {"username": "liaison", "password": one_time})
    assert response.status_code == 302 and response["Location"] == CHANGE
    for path in ("/ledger/", reverse("accounts:profile"), "/inbox/", "/admin/accounts/"):
        refused = intruder.get(path)
        assert refused.status_code == 302 and refused["Location"] == CHANGE, path
    assert intruder.post(reverse("accounts:token_create"), {"name": "x"})["Location"] == CHANGE
    assert not ApiToken.objects.filter(user=world.liaison).exists()
    api = intruder.get("/api/v1/problems")
    assert api.status_code == 403 and api.json() == {"detail": "Set a new password first."}
    page = intruder.get(CHANGE)
    assert page.status_code == 200
    assert "Your password was reset by a system administrator." in page.content.decode()

    # The use is in the log, naming the account and the sysadmin who reset it, and told again.
    [used] = AuditEvent.objects.filter(action="account.one_time_login")
    assert used.target_id == str(world.liaison.pk) and used.actor_id == world.liaison.pk
    assert used.after["reset_by"] == "sysadmin" and used.after["reset_by_id"] == world.sysadmin.pk
    assert used.after["address"] == "10.1.1.9"
    [told_again] = notifications(world.liaison, "one_time_password_used")
    assert "10.1.1.9" in told_again.body and "sysadmin" in told_again.body
    # A second login with it is not a second first use.
    Client().post(LOGIN, {"username": "liaison", "password": one_time})
    assert AuditEvent.objects.filter(action="account.one_time_login").count() == 1
    assert verify().ok


def test_the_sysadmin_does_not_choose_the_password_and_the_old_one_stops_working(admin, world):
    first = reset(admin, world.liaison)
    second = reset(admin, world.liaison)

    assert first != second and NEW_PASSWORD not in (first, second)
    assert re.fullmatch(r"[A-Za-z2-9]{4}(-[A-Za-z2-9]{4}){3}", second)
    world.liaison.refresh_from_db()
    assert world.liaison.check_password(second)
    assert not world.liaison.check_password(first)
    assert not world.liaison.check_password(NEW_PASSWORD)
    assert not world.liaison.check_password(PASSWORD)
    assert world.liaison.one_time_password_set_by == world.sysadmin


def test_the_users_open_sessions_end_at_a_reset(admin, world):
    own = Client()
    own.force_login(world.liaison)
    assert own.get("/ledger/").status_code == 200

    reset(admin, world.liaison)

    assert own.get("/ledger/")["Location"].startswith(LOGIN)


def test_the_user_replaces_the_one_time_password_and_works_again(admin, world):
    one_time = reset(admin, world.liaison)
    own = Client()
    own.post(LOGIN, {"username": "liaison", "password": one_time})

    same = own.post(
        CHANGE,
        {"old_password": one_time, "new_password1": one_time, "new_password2": one_time},
    )
    assert same.status_code == 200
    assert own.get("/ledger/")["Location"] == CHANGE

    response = own.post(
        CHANGE,
        {"old_password": one_time, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert own.get("/ledger/").status_code == 200  # still logged in, now free to work
    world.liaison.refresh_from_db()
    assert not world.liaison.must_change_password
    assert world.liaison.check_password(NEW_PASSWORD)
    [event] = AuditEvent.objects.filter(action="account.change_password")
    assert event.actor_id == world.liaison.pk
    assert event.after == {"replaced_one_time_password": True, "api_tokens_deleted": 0}


def test_an_expired_one_time_password_logs_nobody_in(admin, world):
    one_time = reset(admin, world.liaison)
    User.objects.filter(pk=world.liaison.pk).update(
        one_time_password_expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    visitor = Client()

    response = visitor.post(LOGIN, {"username": "liaison", "password": one_time})

    assert response.status_code == 200
    assert "此一次性密码已过期" in response.content.decode()  # "… has expired", in Chinese
    assert "_auth_user_id" not in visitor.session
    assert not AuditEvent.objects.filter(action="account.one_time_login").exists()


def test_it_says_how_long_the_one_time_password_lasts(admin, world, settings):
    settings.DUBAN_ONE_TIME_PASSWORD_HOURS = 4
    before = timezone.now()

    reset(admin, world.liaison)

    world.liaison.refresh_from_db()
    expires = world.liaison.one_time_password_expires_at
    assert before + dt.timedelta(hours=4) <= expires <= timezone.now() + dt.timedelta(hours=4)
    page = admin.get(reverse("account_admin:user_detail", args=[world.liaison.pk]))
    assert "valid for 4 hours" in page.content.decode()
    assert "holds a one-time password" in page.content.decode()


def test_a_token_made_while_the_one_time_password_stands_is_refused(admin, world):
    reset(admin, world.liaison)
    _token, key = ApiToken.issue(world.liaison, "脚本")

    response = Client().get("/api/v1/problems", HTTP_AUTHORIZATION=f"Bearer {key}")

    assert response.status_code == 401


def test_the_reset_deletes_the_users_api_tokens_and_says_so(admin, world):
    _token, key = ApiToken.issue(world.liaison, "报送脚本")
    ApiToken.issue(world.liaison, "备用")
    _kept, other_key = ApiToken.issue(world.unit_head, "单位负责人的脚本")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert Client().get("/api/v1/problems", **bearer).status_code == 200

    response = admin.post(reverse("account_admin:password_reset", args=[world.liaison.pk]))

    assert "2 API tokens of the account were deleted." in response.content.decode()
    assert Client().get("/api/v1/problems", **bearer).status_code == 401
    other = {"HTTP_AUTHORIZATION": f"Bearer {other_key}"}
    assert Client().get("/api/v1/problems", **other).status_code == 200
    [event] = AuditEvent.objects.filter(action="account.reset_password")
    assert event.after["api_tokens_deleted"] == 2


def test_nobody_but_a_sysadmin_of_the_region_resets_a_password(world):
    for username in ("office", "auditor", "liaison"):
        client = Client()
        client.force_login(world.users[username])
        url = reverse("account_admin:password_reset", args=[world.unit_head.pk])
        assert client.post(url).status_code == 404, username
        with pytest.raises(admin_actions.NotAllowed):
            admin_actions.reset_password(world.unit_head, by=world.users[username])
    world.unit_head.refresh_from_db()
    assert world.unit_head.check_password(PASSWORD) and not world.unit_head.must_change_password
    assert not Notification.objects.filter(kind="password_reset").exists()


def test_the_warning_goes_out_at_once_even_to_a_user_who_chose_the_daily_digest(
    admin, world, liaison_by_email
):
    Preference.objects.create(user=world.liaison, email=True, digest=True)

    one_time = reset(admin, world.liaison)
    Client().post(LOGIN, {"username": "liaison", "password": one_time})

    deliveries = Delivery.objects.filter(recipient=world.liaison, channel=Delivery.Channel.EMAIL)
    assert deliveries.count() == 2  # the reset, and the use
    assert Delivery.Status.HELD not in {d.status for d in deliveries}  # not kept for the digest
