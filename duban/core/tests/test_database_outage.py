"""While the database is down, a real server answers 503 with Retry-After, and recovers after.

The outage is real: every connection to the test database is terminated and new ones are
refused (ALLOW_CONNECTIONS false), while a live server answers over HTTP; then the
database is let back in and the same requests succeed. The last test does it to gunicorn
as deployed, whose workers keep their database connection between requests (the default
on PostgreSQL): the kept connection dies with the outage and the same worker serves again.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_backends(name: str) -> list[int]:
    """The ids of the server processes other than ours connected to the database `name`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        return sorted(row[0] for row in cursor.fetchall())


@pytest.fixture
def gunicorn(callers, live_server, tmp_path):
    """gunicorn as deployed (one worker, settings left at their defaults) on the test database."""
    db = connection.settings_dict
    port = _free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("DJANGO_") and name != "DUBAN_DB_CONN_MAX_AGE"
    }
    env |= {
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}"
        f"/{db['NAME']}",
        "DUBAN_BIND": f"127.0.0.1:{port}",
        "DUBAN_WEB_WORKERS": "1",
    }
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "-c", "python:duban.gunicorn_conf"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        # Wait until it listens (or has died): a wait for start-up, not a timed assertion.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        base = f"http://127.0.0.1:{port}"
        yield {
            name: (url.replace(live_server.url, base), headers)
            for name, (url, headers) in callers.items()
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def test_gunicorn_keeps_its_connection_and_serves_again_after_an_outage(gunicorn):
    name = connection.settings_dict["NAME"]
    assert fetch(*gunicorn["page"])[0] == 200
    kept = _server_backends(name)
    assert fetch(*gunicorn["api"])[0] == 200
    # One connection, kept from one request to the next (not one per request).
    assert len(kept) == 1 and _server_backends(name) == kept

    # A restart between two requests: the kept connection is found dead and replaced before
    # use (the health check), so no request fails once the database is back.
    with database_down():
        pass
    assert _server_backends(name) == []
    assert fetch(*gunicorn["api"])[0] == 200
    kept = _server_backends(name)

    with database_down():
        status, headers, body = fetch(*gunicorn["api"])
        assert status == 503 and headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert json.loads(body)["detail"]
        status, headers, _body = fetch(*gunicorn["page"])
        assert status == 503 and headers["Content-Type"].startswith("text/html")

    # The same worker, without a restart: its dead connection is replaced on the next request.
    status, _headers, body = fetch(*gunicorn["api"])
    assert status == 200 and "results" in json.loads(body)
    assert fetch(*gunicorn["page"])[0] == 200
    assert fetch(*gunicorn["health"])[0] == 200
    assert len(_server_backends(name)) == 1 and _server_backends(name) != kept
