"""Login cookies, CSRF and idle timeout: what keeps a session from being stolen or reused."""

import datetime as dt
import re
import time

from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from duban.core.middleware import IdleTimeoutMiddleware
from duban.testing import PASSWORD


def _login(client, username, **extra):
    page = client.get("/accounts/login/", **extra)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    return client.post(
        "/accounts/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token},
        **extra,
    )


def test_it_refuses_a_login_post_without_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "office", "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_sets_the_session_cookie_httponly_and_samesite(world):
    client = Client(enforce_csrf_checks=True)
    response = _login(client, "office")
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # served over plain HTTP here


def test_it_marks_cookies_secure_when_served_over_https(world):
    client = Client(enforce_csrf_checks=True)
    # Over HTTPS Django's CSRF check also wants the page the form came from.
    response = _login(
        client, "office", secure=True, HTTP_REFERER="https://testserver/accounts/login/"
    )
    assert response.status_code == 302
    assert response.cookies["sessionid"]["secure"]
    assert response.cookies["csrftoken"]["secure"] or "csrftoken" not in response.cookies


def _last_seen(client, seconds_ago):
    """Travel in time: the session was last refreshed `seconds_ago`."""
    store = SessionStore(session_key=client.session.session_key)
    store[IdleTimeoutMiddleware.KEY] = int(time.time()) - seconds_ago
    store.save()


def test_it_ends_an_idle_session_after_the_configured_minutes(world, settings):
    settings.SESSION_COOKIE_AGE = 15 * 60
    client = Client()
    _login(client, "office")
    key = client.session.session_key
    # A request after a minute or more pushes the expiry on: the timeout counts idle time.
    _last_seen(client, 61)
    Session.objects.filter(pk=key).update(expire_date=timezone.now() + dt.timedelta(minutes=1))
    assert client.get("/ledger/").status_code == 200
    assert Session.objects.get(pk=key).expire_date > timezone.now() + dt.timedelta(minutes=14)
    # Idle past the limit: the next request is sent to the login page.
    Session.objects.filter(pk=key).update(expire_date=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/ledger/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_does_not_write_the_session_on_every_page_view(world, settings):
    client = Client()
    _login(client, "office")
    key = client.session.session_key
    expiry = Session.objects.get(pk=key).expire_date
    assert client.get("/ledger/").status_code == 200
    # Within the minute the session row is left alone: a page view stays a read.
    assert Session.objects.get(pk=key).expire_date == expiry


def test_it_sends_no_sniff_and_frame_deny_headers(world):
    client = Client()
    response = client.get("/accounts/login/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
