"""Two-factor login: the code step after the password, set-up for the roles that must have it,
recovery codes, throttled guessing, turning it off, and the administrator's reset."""

import time

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from duban.audit.log import verify
from duban.audit.models import AuditEvent
from duban.notify.models import Notification
from duban.testing import PASSWORD
from duban.twofactor import actions
from duban.twofactor.middleware import NO_DEVICE_KEY, RECHECK_SECONDS

pytestmark = pytest.mark.django_db


def code_for(device, steps_ahead: int = 0) -> str:
    """The code the user's authenticator app shows now (or that many 30-second steps on)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def logged_in(user) -> Client:
    """A browser session after the password step only, as the login page leaves it."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def with_authenticator(user) -> tuple[TOTPDevice, list[str]]:
    device = actions.pending_authenticator(user)
    return actions.confirm_authenticator(user, code=code_for(device))


def test_it_holds_a_user_with_an_authenticator_at_the_code_step(world):
    world.liaison.language = "en"
    world.liaison.save(update_fields=["language"])
    device, _codes = with_authenticator(world.liaison)
    client = logged_in(world.liaison)
    ledger = reverse("ledger:problem_list")

    response = client.get(ledger)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("twofactor:verify") + "?next=")
    # The session reaches no data through the API either, and may not set up another device.
    api = client.get("/api/v1/problems")
    assert api.status_code == 403 and "code" in api.json()["detail"]
    assert client.get(reverse("twofactor:setup"))["Location"].startswith(
        reverse("twofactor:verify")
    )
    assert client.get(reverse("accounts:profile")).status_code == 302

    wrong = client.post(reverse("twofactor:verify"), {"code": "000000", "next": ledger})
    assert wrong.status_code == 400
    assert client.get(ledger).status_code == 302

    device.refresh_from_db()
    device.throttle_reset()  # the wrong code above made the next try wait a second
    right = client.post(reverse("twofactor:verify"), {"code": code_for(device, 1), "next": ledger})
    assert right.status_code == 302 and right["Location"] == ledger
    assert client.get(ledger).status_code == 200
    assert client.get("/api/v1/problems").status_code == 200


def test_a_password_alone_does_not_let_an_administrator_in_after_a_reset(world):
    """Whoever learns or resets the password still lacks the phone: only the code page opens."""
    with_authenticator(world.unit_head)
    world.unit_head.set_password("Another-pass-2026!")
    world.unit_head.save()
    client = Client()
    client.post(
        reverse("login"), {"username": world.unit_head.username, "password": "Another-pass-2026!"}
    )
    for name in ("ledger:problem_list", "notify:inbox", "accounts:profile", "twofactor:overview"):
        response = client.get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("twofactor:verify"))


def test_a_role_that_requires_it_sets_it_up_before_anything_else(world, settings):
    settings.DUBAN_2FA_REQUIRED = True
    client = logged_in(world.office)

    response = client.get(reverse("ledger:problem_list"))
    assert response["Location"].startswith(reverse("twofactor:setup"))
    page = client.get(reverse("twofactor:setup"))
    assert page.status_code == 200
    qr = client.get(reverse("twofactor:setup_qr"))
    assert qr["Content-Type"] == "image/svg+xml" and b"<svg" in qr.content
    assert qr["Cache-Control"] == "no-store"

    device = TOTPDevice.objects.get(user=world.office, confirmed=False)
    # The key on the page is the one in the QR code: an app typing it gets the same codes.
    secret = "".join(page.context["secret_groups"])
    assert secret in device.config_url
    bad = client.post(reverse("twofactor:setup"), {"code": "12345a"})
    assert bad.status_code == 400
    done = client.post(reverse("twofactor:setup"), {"code": code_for(device)})
    assert done.status_code == 200
    codes = done.context["codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        assert code in done.content.decode()

    assert client.get(reverse("ledger:problem_list")).status_code == 200
    event = AuditEvent.objects.get(action="twofactor.enable")
    assert event.actor_id == world.office.pk and event.target_id == str(world.office.pk)
    assert Notification.objects.filter(recipient=world.office, kind="twofactor").count() == 1
    assert verify().ok


def test_a_role_that_does_not_require_it_is_not_held(world, settings):
    settings.DUBAN_2FA_REQUIRED = True
    client = logged_in(world.liaison)
    assert client.get(reverse("ledger:problem_list")).status_code == 200


def test_a_recovery_code_lets_the_user_in_once_and_tells_him(world):
    _device, codes = with_authenticator(world.liaison)
    client = logged_in(world.liaison)
    response = client.post(reverse("twofactor:verify"), {"code": codes[0].upper()})
    assert response.status_code == 302
    assert client.get(reverse("ledger:problem_list")).status_code == 200
    assert StaticToken.objects.filter(device__user=world.liaison).count() == 9
    assert AuditEvent.objects.filter(action="twofactor.recovery_code_used").count() == 1
    told = Notification.objects.filter(recipient=world.liaison, kind="twofactor")
    assert told.count() == 2  # turned on, then a recovery code used
    assert told.order_by("-pk").first().key.startswith("twofactor:")

    again = logged_in(world.liaison)
    assert again.post(reverse("twofactor:verify"), {"code": codes[0]}).status_code == 400
    assert again.get(reverse("ledger:problem_list")).status_code == 302


def test_it_makes_a_guesser_wait_after_a_wrong_code(world):
    device, _codes = with_authenticator(world.liaison)
    client = logged_in(world.liaison)
    client.post(reverse("twofactor:verify"), {"code": "111111"})
    client.post(reverse("twofactor:verify"), {"code": "222222"})
    # Even the right code is not tried while the wait lasts: guessing cannot go fast.
    response = client.post(reverse("twofactor:verify"), {"code": code_for(device, 1)})
    assert response.status_code == 400
    assert "Wait" in response.content.decode() or "等待" in response.content.decode()
    assert client.get(reverse("ledger:problem_list")).status_code == 302


def test_new_recovery_codes_replace_the_old_ones(world):
    _device, old = with_authenticator(world.liaison)
    new = actions.renew_recovery_codes(world.liaison)
    assert set(new).isdisjoint(old)
    client = logged_in(world.liaison)
    assert client.post(reverse("twofactor:verify"), {"code": old[1]}).status_code == 400


def test_it_is_turned_off_only_with_a_current_code_and_never_where_required(world, settings):
    device, _codes = with_authenticator(world.liaison)
    client = Client()
    client.force_login(world.liaison)
    # force_login leaves the session unverified: prove the second factor first.
    client.post(reverse("twofactor:verify"), {"code": code_for(device, 1)})

    refused = client.post(reverse("twofactor:turn_off"), {"code": "000000"})
    assert refused.status_code == 400
    assert TOTPDevice.objects.filter(user=world.liaison).exists()

    settings.DUBAN_2FA_REQUIRED = True
    settings.DUBAN_2FA_ROLES = ["liaison"]
    device.refresh_from_db()
    device.throttle_reset()
    required = client.post(reverse("twofactor:turn_off"), {"code": code_for(device, 2)})
    assert required.status_code == 400
    assert TOTPDevice.objects.filter(user=world.liaison).exists()

    settings.DUBAN_2FA_REQUIRED = False
    device.refresh_from_db()
    device.last_t = -1
    device.save()
    done = client.post(reverse("twofactor:turn_off"), {"code": code_for(device)})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.liaison).exists()
    assert AuditEvent.objects.filter(action="twofactor.disable", actor_id=world.liaison.pk).exists()


def test_the_sysadmin_resets_a_lost_authenticator_and_the_user_is_told(world):
    with_authenticator(world.liaison)
    Notification.objects.all().delete()
    sysadmin = Client()
    sysadmin.force_login(world.sysadmin)
    page = sysadmin.get(reverse("account_admin:user_detail", args=[world.liaison.pk]))
    assert reverse("twofactor:admin_reset", args=[world.liaison.pk]) in page.content.decode()

    response = sysadmin.post(reverse("twofactor:admin_reset", args=[world.liaison.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=world.liaison).exists()
    event = AuditEvent.objects.get(action="twofactor.reset")
    assert event.actor_id == world.sysadmin.pk and event.target_id == str(world.liaison.pk)
    assert event.after == {"user": "liaison", "by": "sysadmin"}
    assert Notification.objects.filter(recipient=world.liaison, kind="twofactor").count() == 1


def test_nobody_else_resets_a_second_factor(world):
    with_authenticator(world.liaison)
    with_authenticator(world.auditor)
    url = reverse("twofactor:admin_reset", args=[world.liaison.pk])
    for username in ("office", "unit_head", "auditor", "outsider"):
        client = Client()
        client.force_login(world.users[username])
        if username == "auditor":
            device = TOTPDevice.objects.get(user=world.auditor)
            client.post(reverse("twofactor:verify"), {"code": code_for(device, 1)})
        assert client.post(url).status_code == 404, username
    # Administrators' accounts are managed by nobody on the pages: the sysadmin gets 404 too.
    sysadmin = Client()
    sysadmin.force_login(world.sysadmin)
    assert (
        sysadmin.post(reverse("twofactor:admin_reset", args=[world.auditor.pk])).status_code == 404
    )
    assert TOTPDevice.objects.filter(user__in=[world.liaison, world.auditor]).count() == 2


def test_the_servers_operator_resets_an_administrators_second_factor(world):
    with_authenticator(world.auditor)
    call_command("twofactor_reset", "auditor")
    assert not TOTPDevice.objects.filter(user=world.auditor).exists()
    event = AuditEvent.objects.get(action="twofactor.reset")
    assert event.actor_id is None and event.after["by"] == "console"


def test_a_session_opened_before_two_factor_was_turned_on_is_held_within_a_minute(world):
    client = logged_in(world.liaison)
    assert client.get(reverse("ledger:problem_list")).status_code == 200
    device, _codes = with_authenticator(world.liaison)  # e.g. from the user's other browser
    # The session looks again once its minute is up.
    session = client.session
    session[NO_DEVICE_KEY] = [world.liaison.pk, time.time() - RECHECK_SECONDS - 1]
    session.save()
    response = client.get(reverse("ledger:problem_list"))
    assert response["Location"].startswith(reverse("twofactor:verify"))


@pytest.mark.parametrize("target", ["abc", "https://evil.example/", "//evil.example/", ""])
def test_the_code_step_returns_only_to_a_page_of_ours(world, target):
    device, _codes = with_authenticator(world.liaison)
    client = logged_in(world.liaison)
    response = client.post(
        reverse("twofactor:verify"), {"code": code_for(device, 1), "next": target}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    # Once verified, the page itself sends the user on, whatever `next` holds.
    assert client.get(reverse("twofactor:verify"), {"next": target})["Location"] == reverse("home")
