import logging

import pytest

from duban.testing import build_world


@pytest.fixture
def world(db):
    """The shared test world: see duban/testing.py."""
    return build_world()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Hash test passwords cheaply; the production hasher costs ~0.5 s per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _audit_head_file(settings, tmp_path):
    """Each test notes chain heads in its own file: another test's chain is not this one's.

    The heads are not logged either: a test that re-runs django.setup() in-process leaves
    the console handler on a closed stream (tests that read the log use caplog.at_level).
    """
    settings.DUBAN_AUDIT_HEAD_FILE = tmp_path / "audit-heads.log"
    audit_logger = logging.getLogger("duban.audit")
    level = audit_logger.level
    audit_logger.setLevel(logging.WARNING)
    yield
    audit_logger.setLevel(level)


_TRANSACTIONAL = {"transactional_db", "live_server"}


@pytest.fixture(autouse=True)
def _append_only_audit(request):
    """Keep the audit triggers in place for every test, and let transactional tests end.

    A transactional test (live server, threads) ends by emptying every table; on
    SQLite that is a DELETE, which the append-only trigger refuses. Such a test
    lifts the triggers at its end, and the next test puts them back.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(_TRANSACTIONAL & set(request.fixturenames)) or bool(
        marker and marker.kwargs.get("transaction")
    )
    uses_db = transactional or "db" in request.fixturenames or marker is not None
    if not uses_db:
        yield
        return
    from django.db import connection

    from duban.audit import triggers

    request.getfixturevalue("transactional_db" if transactional else "db")
    if not triggers.installed(connection):
        triggers.install(connection)
    yield
    if transactional and connection.vendor == "sqlite":  # PostgreSQL empties tables with TRUNCATE
        triggers.remove(connection)
