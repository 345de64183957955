"""Logging in: a clear error on bad credentials, lockout after repeated failures."""

import datetime as dt

from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from duban.accounts.lockout import login_wait
from duban.testing import PASSWORD

LOGIN = "/accounts/login/"


def test_it_logs_a_user_in_and_opens_the_ledger(client, world):
    response = client.post(LOGIN, {"username": "liaison", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/ledger/"


def test_it_shows_a_clear_error_on_bad_credentials(client, world):
    response = client.post(LOGIN, {"username": "liaison", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    errors = response.context["form"].non_field_errors()
    assert errors and 'role="alert"' in html
    assert errors[0] in html
    assert "_auth_user_id" not in client.session


def test_it_locks_the_account_after_repeated_failures(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _attempt in range(2):
        assert client.post(LOGIN, {"username": "liaison", "password": "wrong"}).status_code == 200
    locked = client.post(LOGIN, {"username": "liaison", "password": "wrong"})
    assert locked.status_code == 429
    assert "账号已锁定" in locked.content.decode()  # Chinese: the default language
    # Even the right password is refused while the account is locked.
    again = client.post(LOGIN, {"username": "liaison", "password": PASSWORD})
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_one_account_not_the_others(client, world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    for _attempt in range(2):
        client.post(LOGIN, {"username": "liaison", "password": "wrong"})
    response = client.post(LOGIN, {"username": "office", "password": PASSWORD})
    assert response.status_code == 302


def test_it_logs_out_by_post(client, world):
    client.force_login(world.office)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


# --- lockout per username and address; for the username alone, a delay -----------------------


def attempts_of(username):
    return sum(
        AccessAttempt.objects.filter(username=username).values_list(
            "failures_since_start", flat=True
        )
    )


def wait_out_the_delay(username, seconds=120):
    """As if the last failure for `username` were `seconds` ago (no sleeping in tests)."""
    AccessAttempt.objects.filter(username=username).update(
        attempt_time=timezone.now() - dt.timedelta(seconds=seconds)
    )


def test_failures_from_one_address_lock_that_address_only_and_slow_the_username_down(
    world, settings
):
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    office = Client(REMOTE_ADDR="10.20.0.5")
    for _attempt in range(3):
        attacker.post(LOGIN, {"username": "office", "password": "wrong"})

    # Right after, the real user is asked to wait, politely, and no password is checked.
    waited = office.post(LOGIN, {"username": "office", "password": PASSWORD})
    assert waited.status_code == 429 and waited["Retry-After"] == "1"
    # In Chinese, the login page's default language: "Too many failed logins … in 1 second."
    assert "该用户名登录失败次数过多。请1秒后再试。" in waited.content.decode()
    assert attempts_of("office") == 3  # the refused attempt is not a failure
    assert "_auth_user_id" not in office.session

    # After the wait the real user gets in from his address; the attacker's stays locked.
    wait_out_the_delay("office")
    assert attacker.post(LOGIN, {"username": "office", "password": PASSWORD}).status_code == 429
    wait_out_the_delay("office")
    assert office.post(LOGIN, {"username": "office", "password": PASSWORD}).status_code == 302


def test_each_further_failure_for_the_username_doubles_the_wait_up_to_the_maximum(world, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.DUBAN_LOGIN_DELAY_MAX_SECONDS = 5
    waits = []
    for n in range(6):
        wait_out_the_delay("liaison")
        # Each from a new address, as a botnet would: no address is ever locked.
        Client(REMOTE_ADDR=f"198.51.100.{n}").post(LOGIN, {"username": "liaison", "password": "x"})
        waits.append(login_wait("liaison"))
    assert waits == [0, 1, 2, 4, 5, 5]
    # Within the wait, the right password from a fresh address is refused without a check.
    response = Client(REMOTE_ADDR="10.20.0.7").post(
        LOGIN, {"username": "liaison", "password": PASSWORD}
    )
    assert response.status_code == 429 and "请5秒后再试" in response.content.decode()


def test_a_made_up_x_forwarded_for_does_not_escape_the_lock(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}").post(
            LOGIN, {"username": "office", "password": "wrong"}
        )
    wait_out_the_delay("office")
    again = Client(REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="10.9.9.99")

    assert again.post(LOGIN, {"username": "office", "password": PASSWORD}).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}


def test_behind_a_trusted_proxy_the_address_is_the_one_the_proxy_saw(world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.DUBAN_TRUSTED_PROXIES = 1
    proxy = "10.0.0.1"
    for _attempt in range(3):
        # The client wrote "1.2.3.4" itself; the proxy appended the address it saw.
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.66").post(
            LOGIN, {"username": "office", "password": "wrong"}
        )
    wait_out_the_delay("office")

    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.66"}
    locked = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="203.0.113.66")
    assert locked.post(LOGIN, {"username": "office", "password": PASSWORD}).status_code == 429
    wait_out_the_delay("office")
    colleague = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="10.20.0.5")
    assert colleague.post(LOGIN, {"username": "office", "password": PASSWORD}).status_code == 302
