"""While the database is down, a real server answers 503 with Retry-After, and recovers after.

The outage is real: every connection to the test database is terminated and new ones are
refused (ALLOW_CONNECTIONS false), while a live server answers over HTTP; then the
database is let back in and the same requests succeed.
"""

import json
import urllib.error
import urllib.request
from contextlib import contextmanager

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from psycopg import sql

from duban.accounts.models import ApiToken
from duban.core.errors import RETRY_AFTER_SECONDS

pytestmark = pytest.mark.postgres_only


@contextmanager
def database_down():
    """Cut every connection to the test database and refuse new ones, as a failed server would."""
    name = connection.settings_dict["NAME"]
    params = connection.get_connection_params() | {"dbname": "postgres"}
    with psycopg.connect(**params, autocommit=True) as admin:
        database = sql.Identifier(name)
        admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database))
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        try:
            yield
        finally:
            admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database))
            # This thread's connection was cut too; the test's teardown needs a fresh one.
            connection.close()


def fetch(url, headers):
    """(status, headers, body) of a GET over HTTP, whatever the status."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def callers(world, live_server):
    """An API script with a token and a logged-in browser, both of the office."""
    _, key = ApiToken.issue(world.office, "outage")
    browser = Client()
    browser.force_login(world.office)
    cookie = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "api": (f"{live_server.url}/api/v1/problems", {"Authorization": f"Bearer {key}"}),
        "page": (
            f"{live_server.url}/ledger/",
            {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
        ),
        "health": (f"{live_server.url}/healthz", {}),
    }


def test_the_api_answers_503_in_json_while_the_database_is_down(callers):
    with database_down():
        status, headers, body = fetch(*callers["api"])
    assert status == 503
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert json.loads(body)["detail"]


def test_pages_answer_503_while_the_database_is_down(callers):
    with database_down():
        answers = {name: fetch(*callers[name]) for name in ("page", "health")}
    for name, (status, headers, body) in answers.items():
        assert status == 503, name
        assert headers["Content-Type"].startswith("text/html"), name
        assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS), name
        assert "<h1>" in body.decode(), name


def test_it_answers_again_once_the_database_is_back(callers):
    with database_down():
        assert fetch(*callers["api"])[0] == 503
        assert fetch(*callers["page"])[0] == 503
    status, headers, body = fetch(*callers["api"])
    assert status == 200 and "results" in json.loads(body)
    assert fetch(*callers["page"])[0] == 200
    assert fetch(*callers["health"])[0] == 200
