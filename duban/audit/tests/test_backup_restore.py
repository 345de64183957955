"""duban backup and duban restore: a backup restores into a fresh database and media folder.

The world is seeded through the actions (problems, evidence files, audit events),
backed up with `duban backup`, and restored by `duban restore` in a subprocess
pointed at a new database (a new SQLite file, or a second database on the same
PostgreSQL server) and a new media folder. The restored copy verifies, has the
same chain head, the same row count in every table and every file's hash.
Restore refuses a non-empty database, a tampered file and a tampered manifest,
and leaves nothing behind when it refuses.
"""

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from duban.audit import log
from duban.audit.backup import non_empty_table
from duban.ledger import actions
from duban.ledger.models import State
from duban.ledger.tests.flow import jpeg, pdf, problem_in

pytestmark = pytest.mark.django_db(transaction=True)

DUBAN = str(Path(sys.executable).with_name("duban"))

# What the restored database says about itself, read by a `duban shell` in the target.
INSPECT = """
import json
from django.db import connection
from django.utils import translation
from duban.audit.log import chain_head
from duban.audit.backup import non_empty_table
tables = connection.introspection.django_table_names(only_existing=True)
with connection.cursor() as cursor:
    counts = {}
    for table in sorted(tables):
        cursor.execute("SELECT count(*) FROM " + connection.ops.quote_name(table))
        counts[table] = cursor.fetchone()[0]
head = list(chain_head()) if tables else None
print(json.dumps({"head": head, "counts": counts, "non_empty": non_empty_table()}))
"""


def file_hashes(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def table_counts() -> dict[str, int]:
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.django_table_names(only_existing=True)):
            cursor.execute("SELECT count(*) FROM " + connection.ops.quote_name(table))
            counts[table] = cursor.fetchone()[0]
    return counts


class Target:
    """A fresh, empty database and media folder to restore into, driven by subprocesses."""

    def __init__(self, tmp_path: Path, name: str):
        self.media = tmp_path / f"{name}-media"
        self.data = tmp_path / f"{name}-data"
        self.data.mkdir()
        if connection.vendor == "postgresql":
            self.database = f"restore_{uuid.uuid4().hex[:12]}"
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.database}"')
            db = connection.settings_dict
            auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
            self.url = f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{self.database}"
        else:
            self.database = None
            self.url = f"sqlite:///{tmp_path / f'{name}.sqlite3'}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "DUBAN_AUDIT_HEAD_FILE"}
        env.update(DATABASE_URL=self.url, MEDIA_ROOT=str(self.media), DUBAN_DATA_DIR=str(self.data))
        return env

    def duban(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run(
            [DUBAN, *args], env=self.env(), capture_output=True, text=True, timeout=300
        )

    def restore(self, backup: Path) -> subprocess.CompletedProcess:
        return self.duban("restore", "--from", str(backup), "--no-progress")

    def inspect(self) -> dict:
        result = self.duban("shell", "-c", INSPECT)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def has_tables(self) -> bool:
        """Whether the target database holds any table (a refused restore leaves none)."""
        if self.database is None:
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.exists():
                return False
            with sqlite3.connect(path) as db:
                return (
                    db.execute(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    ).fetchone()[0]
                    > 0
                )
        db = connection.settings_dict
        with psycopg.connect(
            dbname=self.database,
            host=db["HOST"],
            port=db["PORT"],
            user=db["USER"],
            password=db.get("PASSWORD") or None,
        ) as conn:
            return (
                conn.execute(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                ).fetchone()[0]
                > 0
            )

    def drop(self) -> None:
        if self.database:
            with connection.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@pytest.fixture
def targets(tmp_path):
    made = []

    def make(name="restored"):
        target = Target(tmp_path, name)
        made.append(target)
        return target

    yield make
    for target in made:
        target.drop()


@pytest.fixture
def seeded(world, settings, tmp_path):
    """Problems at several stages with real evidence files, and their audit events."""
    settings.MEDIA_ROOT = tmp_path / "media"
    problem_in(world, State.IN_PROGRESS, ledger_number="第1号")
    reported = problem_in(world, State.IN_PROGRESS, ledger_number="第2号")
    actions.report_progress(
        reported, by=world.liaison, period="12月", text="进展", percent=50, files=[jpeg()]
    )
    actions.upload_evidence(
        reported, by=world.liaison, files=[pdf(), pdf("附件.pdf")], category="整改报告"
    )
    world.problem(ledger_number="第3号")
    assert len(file_hashes(settings.MEDIA_ROOT)) >= 3
    assert log.verify().ok
    return settings.MEDIA_ROOT


@pytest.fixture
def backup(seeded, tmp_path):
    folder = tmp_path / "backup"
    out = StringIO()
    call_command("backup", "--to", str(folder), "--no-progress", stdout=out)
    assert log.chain_head()[1] in out.getvalue()
    return folder


def test_a_backup_restores_into_a_fresh_database_and_media_folder(seeded, backup, targets):
    head_seq, head_hash = log.chain_head()
    counts = table_counts()
    target = targets()

    restored = target.restore(backup)

    assert restored.returncode == 0, restored.stderr
    assert f"#{head_seq} {head_hash}" in restored.stdout
    verified = target.duban(
        "verify_audit", "--json", "--no-progress", "--expect", f"{head_seq}:{head_hash}"
    )
    assert verified.returncode == 0, verified.stderr
    verdict = json.loads(verified.stdout)
    assert verdict["ok"] and verdict["checked"] == head_seq
    # The restore noted the restored head in the new installation's head file.
    assert verdict["heads_checked"] == 2
    state = target.inspect()
    assert state["head"] == [head_seq, head_hash]
    assert state["counts"] == counts
    assert counts["ledger_evidence"] == 3 and counts["audit_auditevent"] == head_seq
    assert file_hashes(target.media) == file_hashes(seeded)


def test_the_manifest_names_the_head_the_counts_and_every_file(seeded, backup):
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["chain_head"] == dict(zip(("seq", "hash"), log.chain_head(), strict=True))
    assert manifest["row_counts"] == table_counts()
    assert {name: entry["sha256"] for name, entry in manifest["media"].items()} == file_hashes(
        seeded
    )
    dump = backup / manifest["database"]["file"]
    assert hashlib.sha256(dump.read_bytes()).hexdigest() == manifest["database"]["sha256"]


def test_it_refuses_to_back_up_into_a_folder_that_holds_files(seeded, tmp_path):
    folder = tmp_path / "full"
    folder.mkdir()
    (folder / "old.txt").write_text("x")
    with translation.override("en"), pytest.raises(CommandError, match="not an empty folder"):
        call_command("backup", "--to", str(folder), "--no-progress", stdout=StringIO())
    assert [p.name for p in folder.iterdir()] == ["old.txt"]


def test_it_refuses_a_database_that_is_not_empty(backup, seeded):
    # The test's own database holds the world.
    assert non_empty_table() is not None
    counts = table_counts()
    with translation.override("en"), pytest.raises(CommandError, match="not empty"):
        call_command("restore", "--from", str(backup), "--no-progress", stdout=StringIO())
    assert table_counts() == counts


def refused_and_untouched(target, result, named: str) -> None:
    """Refused (exit 1, naming what is wrong: the commands speak the office's language) and nothing left."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert named in result.stderr
    assert not target.media.exists() or not any(target.media.iterdir())
    assert not target.has_tables()


def test_it_refuses_a_backup_whose_file_was_tampered_with(backup, targets):
    evidence = next(p for p in sorted((backup / "media").rglob("*")) if p.is_file())
    evidence.write_bytes(evidence.read_bytes() + b"forged")
    target = targets()

    result = target.restore(backup)

    refused_and_untouched(target, result, evidence.name)


def test_it_refuses_a_backup_with_a_file_its_manifest_does_not_name(backup, targets):
    (backup / "media" / "planted.pdf").write_bytes(b"%PDF-1.4 planted")
    target = targets()
    refused_and_untouched(target, target.restore(backup), "planted.pdf")


def test_it_undoes_a_restore_whose_manifest_was_tampered_with(backup, targets):
    """A manifest claiming another head or other counts: the load is checked against it and undone."""
    path = backup / "manifest.json"
    original = json.loads(path.read_text())
    target = targets()

    claimed_head = json.loads(json.dumps(original))
    claimed_head["chain_head"]["hash"] = "f" * 64
    path.write_text(json.dumps(claimed_head))
    result = target.restore(backup)
    refused_and_untouched(target, result, "f" * 64)

    claimed_counts = json.loads(json.dumps(original))
    claimed_counts["row_counts"]["ledger_evidence"] += 1
    path.write_text(json.dumps(claimed_counts))
    refused_and_untouched(target, target.restore(backup), "ledger_evidence")


def test_it_refuses_a_manifest_it_cannot_read_or_not_the_one_noted(backup, targets):
    target = targets()
    other = target.duban(
        "restore", "--from", str(backup), "--no-progress", "--expect-manifest", "0" * 64
    )
    refused_and_untouched(target, other, "manifest.json")

    (backup / "manifest.json").write_text("{not json")
    # json's own words for what is wrong, after the manifest's path.
    refused_and_untouched(target, target.restore(backup), "Expecting property name")
