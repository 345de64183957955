"""The production shape, run as an operator would: real subprocesses, a real gunicorn over HTTP.

DUBAN_PRODUCTION=true fails closed without its settings; with the settings docs/deploy.md
documents, `duban check --deploy` is clean and gunicorn serves pages with the security headers
and static files through WhiteNoise, cached for a year.
"""

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
HOST = "duban.example.gov.cn"


def production_env(tmp_path: Path, **changes) -> dict[str, str]:
    """The documented production settings, on a database and folders of this test's own."""
    env = {
        name: value
        for name, value in os.environ.items()
        # Not the test run's own settings (nor its DJANGO_ALLOW_ASYNC_UNSAFE).
        if not name.startswith(("DUBAN_", "DJANGO_")) and name not in {"DATABASE_URL", "MEDIA_ROOT"}
    }
    env.update(
        {
            "DUBAN_PRODUCTION": "true",
            "DUBAN_SECRET_KEY": secrets.token_urlsafe(50),
            "DUBAN_ALLOWED_HOSTS": HOST,
            "DUBAN_HTTPS": "true",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'duban.sqlite3'}",
            "DUBAN_DATA_DIR": str(tmp_path),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "DUBAN_STATIC_ROOT": str(tmp_path / "static"),
        }
    )
    env.update(changes)
    return {name: value for name, value in env.items() if value is not None}


def duban(env, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "duban"), *args], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize(
    "missing, variable",
    [
        ({"DUBAN_SECRET_KEY": None}, "DUBAN_SECRET_KEY"),
        ({"DUBAN_SECRET_KEY": "short-and-guessable"}, "DUBAN_SECRET_KEY"),
        ({"DUBAN_ALLOWED_HOSTS": None}, "DUBAN_ALLOWED_HOSTS"),
        ({"DUBAN_ALLOWED_HOSTS": "*"}, "DUBAN_ALLOWED_HOSTS"),
        ({"DUBAN_HTTPS": None}, "DUBAN_HTTPS"),
        ({"DUBAN_HTTPS": "false"}, "DUBAN_HTTPS"),
        ({"DUBAN_DEBUG": "true"}, "DUBAN_DEBUG"),
    ],
)
def test_it_refuses_to_start_in_production_without_each_setting(tmp_path, missing, variable):
    result = duban(production_env(tmp_path, **missing), "check")

    assert result.returncode != 0
    assert variable in result.stderr
    assert "Traceback" not in result.stderr  # one clear line for the operator


def test_it_passes_the_deploy_check_clean_with_the_documented_settings(tmp_path):
    result = duban(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, **headers) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", path, headers={"Host": HOST, **headers})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def gunicorn(tmp_path):
    """gunicorn with the production settings, on a migrated temp SQLite database: its port."""
    port = free_port()
    env = production_env(tmp_path, DUBAN_BIND=f"127.0.0.1:{port}", DUBAN_WEB_WORKERS="1")
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        result = duban(env, *step)
        assert result.returncode == 0, result.stderr
    log = open(tmp_path / "gunicorn.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "python:duban.gunicorn_conf"],
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
        yield port
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def test_it_serves_pages_and_static_files_with_the_security_headers_under_gunicorn(gunicorn):
    # The proxy terminated TLS and says so.
    login = get(gunicorn, "/accounts/login/", **{"X-Forwarded-Proto": "https"})

    assert login.status == 200
    assert login.getheader("Server", "").startswith("gunicorn")
    policy = login.getheader("Content-Security-Policy")
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "unsafe" not in policy
    assert login.getheader("Strict-Transport-Security").startswith("max-age=31536000")
    assert "no-store" in login.getheader("Cache-Control")
    assert login.getheader("X-Content-Type-Options") == "nosniff"
    assert login.getheader("X-Frame-Options") == "DENY"
    assert login.getheader("Referrer-Policy") == "same-origin"
    assert "Secure" in login.getheader("Set-Cookie")

    # The stylesheet the page links to: a hashed name, served by WhiteNoise for a year.
    stylesheet = re.search(r'href="(/static/duban/duban\.[0-9a-f]{12}\.css)"', login.body.decode())
    assert stylesheet, "the page does not link a hashed stylesheet"
    css = get(gunicorn, stylesheet.group(1), **{"X-Forwarded-Proto": "https"})
    assert css.status == 200
    assert css.getheader("Content-Type").startswith("text/css")
    assert "max-age=315360000" in css.getheader("Cache-Control")
    assert "immutable" in css.getheader("Cache-Control")
    assert b".pct-100" in css.body
    compressed = get(
        gunicorn, stylesheet.group(1), **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
    )
    assert compressed.getheader("Content-Encoding") == "gzip"

    # Plain http, without the proxy's word, is sent to https.
    plain = get(gunicorn, "/accounts/login/")
    assert plain.status == 301
    assert plain.getheader("Location") == f"https://{HOST}/accounts/login/"
