"""Logging in: a clear error on bad credentials, lockout after repeated failures."""

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
