"""Backup and restore: the database, the media files and a manifest that vouches for both.

`duban backup --to DIR` writes DIR/database.sqlite3 (SQLite's online backup API) or
DIR/database.pgdump (pg_dump, from the same snapshot as the counts), DIR/media/…
and DIR/manifest.json: the audit chain head, the row count of every table and the
sha256 of the dump and of every file. The directory appears only when complete.

`duban restore --from DIR` checks the manifest and every hash before touching
anything, refuses a database or media folder that is not empty, loads the dump,
then checks the loaded database against the manifest (audit chain verified, the
same head, the same row counts). A failed check undoes the load: SQLite gets its
empty file back exactly; PostgreSQL loses the tables the restore created (it held
no data before), and the copied files are removed.
"""

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils.translation import gettext as _

from duban.audit import heads, log
from duban.audit.models import AuditHead

FORMAT = "duban-backup/1"
MANIFEST = "manifest.json"
MEDIA = "media"
DUMP_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# Rows a fresh `duban migrate` writes: a database holding only these is empty.
MIGRATION_ROWS = (ContentType, Permission, AuditHead)


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what and where."""


@dataclass
class Progress:
    """Called with the number of files and bytes done; the command draws a bar from it."""

    start: object = None  # start(total_files)
    advance: object = None  # advance(n_files)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    """Copy a file and return the sha256 and size of the bytes written, in one read."""
    digest, size = hashlib.sha256(), 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as reader, target.open("xb") as writer:
        while chunk := reader.read(1 << 20):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _media_files(root: Path) -> list[str]:
    """Regular files under root, as relative POSIX paths; links are not followed."""
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(root).as_posix())
    return found


def _tables() -> list[str]:
    return sorted(connection.introspection.django_table_names(only_existing=True))


def _quote(table: str) -> str:
    return connection.ops.quote_name(table)


# --- finding pg_dump ----------------------------------------------------------------------------


def pg_program(name: str) -> str:
    """pg_dump or pg_restore: from DUBAN_PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    if settings.DUBAN_PG_BIN:
        candidates = [Path(settings.DUBAN_PG_BIN) / name]
    else:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
            reverse=True,
        )
        candidates = [path / name for path in versions]
        if on_path := shutil.which(name):
            candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise BackupError(
        _("%(program)s was not found: install PostgreSQL's client programs or set DUBAN_PG_BIN.")
        % {"program": name}
    )


def _libpq() -> tuple[list[str], dict]:
    """The connection as pg_dump/pg_restore arguments, with the password in the environment."""
    db = connection.settings_dict
    args = ["--dbname", db["NAME"], "--no-password"]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(
            _("%(program)s failed: %(error)s")
            % {"program": Path(command[0]).name, "error": result.stderr.strip()[-2000:]}
        )


# --- backup -------------------------------------------------------------------------------------


def backup(to: Path, progress: Progress | None = None) -> dict:
    """Write a complete backup to `to` (which must not exist or be empty); return the manifest."""
    to = Path(to)
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise BackupError(
            _("%(path)s already exists and is not an empty folder: back up into a new folder.")
            % {"path": to}
        )
    if connection.in_atomic_block:
        raise BackupError(_("A backup runs on its own, not inside a transaction."))
    partial = to.with_name(f".{to.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        manifest = _write_backup(partial, progress)
        if to.exists():
            to.rmdir()
        partial.rename(to)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return manifest


def _write_backup(folder: Path, progress: Progress | None) -> dict:
    vendor = connection.vendor
    if vendor not in DUMP_FILES:
        raise BackupError(_("Backups support SQLite and PostgreSQL only."))
    dump = folder / DUMP_FILES[vendor]
    if vendor == "sqlite":
        head, counts = _dump_sqlite(dump)
    else:
        head, counts = _dump_postgresql(dump)
    # The files after the database: every file the dump names was written before it.
    media_root = Path(settings.MEDIA_ROOT)
    names = _media_files(media_root)
    if progress and progress.start:
        progress.start(len(names))
    files = {}
    for name in names:
        sha, size = _copy_hashing(media_root / name, folder / MEDIA / name)
        files[name] = {"sha256": sha, "size": size}
        if progress and progress.advance:
            progress.advance(1)
    manifest = {
        "format": FORMAT,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "database": {
            "vendor": vendor,
            "file": dump.name,
            "sha256": sha256_of(dump),
            "size": dump.stat().st_size,
        },
        "chain_head": {"seq": head[0], "hash": head[1]},
        "row_counts": counts,
        "media": files,
    }
    (folder / MANIFEST).write_text(
        json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    )
    return manifest


def _dump_sqlite(dump: Path) -> tuple[tuple[int, str], dict]:
    connection.ensure_connection()
    target = sqlite3.connect(dump)
    try:
        # The online backup API: a consistent copy while others keep writing.
        connection.connection.backup(target)
        # Head and counts from the copy itself, so they describe exactly what was saved.
        counts = {
            table: target.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0]
            for table in _tables()
        }
        row = target.execute("SELECT seq, hash FROM audit_audithead WHERE id = 1").fetchone()
    finally:
        target.close()
    return (tuple(row) if row else (0, log.GENESIS_HASH)), counts


def _dump_postgresql(dump: Path) -> tuple[tuple[int, str], dict]:
    program = pg_program("pg_dump")
    args, env = _libpq()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            # pg_dump reads the snapshot this transaction sees, so the counts describe the dump.
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            _run(
                [program, *args, "--format=custom", "--snapshot", snapshot, "--file", str(dump)],
                env,
            )
            counts = {}
            for table in _tables():
                cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
                counts[table] = cursor.fetchone()[0]
            cursor.execute("SELECT seq, hash FROM audit_audithead WHERE id = 1")
            row = cursor.fetchone()
        finally:
            cursor.execute("ROLLBACK")
    return (tuple(row) if row else (0, log.GENESIS_HASH)), counts


# --- restore ------------------------------------------------------------------------------------


def read_manifest(folder: Path) -> dict:
    """The manifest of a backup folder, checked for shape; refuses anything else."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupError(
            _("%(path)s is missing: %(folder)s is not a Duban backup.")
            % {"path": path, "folder": folder}
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise BackupError(
            _("%(path)s cannot be read: %(error)s") % {"path": path, "error": error}
        ) from None
    try:
        assert manifest["format"] == FORMAT
        database = manifest["database"]
        assert (
            database["vendor"] in DUMP_FILES and database["file"] == DUMP_FILES[database["vendor"]]
        )
        assert isinstance(database["sha256"], str)
        head = manifest["chain_head"]
        assert isinstance(head["seq"], int) and isinstance(head["hash"], str)
        counts = manifest["row_counts"]
        assert all(isinstance(n, int) for n in counts.values())
        for name, entry in manifest["media"].items():
            relative = Path(name)
            assert not relative.is_absolute() and ".." not in relative.parts
            assert isinstance(entry["sha256"], str) and isinstance(entry["size"], int)
    except (AssertionError, KeyError, TypeError, AttributeError):
        raise BackupError(
            _("%(path)s is not a Duban backup manifest (format %(format)s).")
            % {"path": path, "format": FORMAT}
        ) from None
    return manifest


def check_backup(folder: Path, manifest: dict, progress: Progress | None = None) -> None:
    """Every hash the manifest gives matches the files, and no file is there that it does not name."""
    folder = Path(folder)
    dump = folder / manifest["database"]["file"]
    if not dump.is_file():
        raise BackupError(_("The database dump %(path)s is missing.") % {"path": dump})
    if sha256_of(dump) != manifest["database"]["sha256"]:
        raise BackupError(
            _("The database dump %(path)s does not match the manifest's hash: refused.")
            % {"path": dump}
        )
    listed = manifest["media"]
    present = set(_media_files(folder / MEDIA))
    if unlisted := sorted(present - set(listed)):
        raise BackupError(
            _("%(path)s is in the backup but not in its manifest: refused.")
            % {"path": folder / MEDIA / unlisted[0]}
        )
    if progress and progress.start:
        progress.start(len(listed))
    for name, entry in listed.items():
        path = folder / MEDIA / name
        if name not in present:
            raise BackupError(_("%(path)s is named in the manifest but missing.") % {"path": path})
        if sha256_of(path) != entry["sha256"]:
            raise BackupError(
                _("%(path)s does not match its hash in the manifest: refused.") % {"path": path}
            )
        if progress and progress.advance:
            progress.advance(1)


def non_empty_table() -> str | None:
    """The first table holding data in the target database (None: empty, or no tables yet)."""
    existing = set(connection.introspection.table_names())
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table not in existing:
            continue
        if model in MIGRATION_ROWS:
            continue
        if model._base_manager.exists():
            return meta.db_table
    if AuditHead._meta.db_table in existing and AuditHead.objects.filter(seq__gt=0).exists():
        return AuditHead._meta.db_table
    return None


def restore(folder: Path, progress: Progress | None = None) -> dict:
    """Load a checked backup into the empty database and media folder; all or nothing."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(
            _("This backup is of a %(backup)s database; DATABASE_URL points to %(target)s.")
            % {"backup": vendor, "target": connection.vendor}
        )
    if table := non_empty_table():
        raise BackupError(
            _(
                "The database is not empty (table %(table)s has rows): restore only into a new, empty database."
            )
            % {"table": table}
        )
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.exists() and any(media_root.iterdir()):
        raise BackupError(
            _("The media folder %(path)s is not empty: restore only into an empty folder.")
            % {"path": media_root}
        )
    check_backup(folder, manifest, progress)

    media_root.mkdir(parents=True, exist_ok=True)
    undo_database = None
    try:
        for name, entry in manifest["media"].items():
            sha, _size = _copy_hashing(folder / MEDIA / name, media_root / name)
            if sha != entry["sha256"]:
                raise BackupError(
                    _("%(path)s changed while it was copied: refused.")
                    % {"path": folder / MEDIA / name}
                )
        undo_database = _load(folder / manifest["database"]["file"])
        _check_loaded(manifest)
    except BaseException:
        if undo_database:
            undo_database()
        for child in media_root.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise
    # The restored head starts this installation's notes (heads noted after it are gone).
    heads.note(manifest["chain_head"]["seq"], manifest["chain_head"]["hash"])
    return manifest


def _load(dump: Path):
    """Load the dump into the target; return what undoes it."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        # The empty database as it is now, kept in memory to put back if a check fails.
        before = sqlite3.connect(":memory:")
        connection.connection.backup(before)
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()

        def undo():
            connection.ensure_connection()
            before.backup(connection.connection)
            before.close()

        return undo

    program = pg_program("pg_restore")
    args, env = _libpq()
    # One transaction: a dump that fails half-way leaves nothing behind.
    _run(
        [
            program,
            *args,
            "--single-transaction",
            "--exit-on-error",
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            str(dump),
        ],
        env,
    )
    return _drop_loaded_postgresql_tables


def _drop_loaded_postgresql_tables() -> None:
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if tables:
            cursor.execute(
                "DROP TABLE IF EXISTS " + ", ".join(_quote(t) for t in tables) + " CASCADE"
            )
        cursor.execute("DROP FUNCTION IF EXISTS audit_event_append_only() CASCADE")


def _check_loaded(manifest: dict) -> None:
    """The loaded database is the one the manifest describes."""
    connection.close()  # SQLite replaced the file under the connection; start afresh
    verdict = log.verify()
    if not verdict.ok:
        raise BackupError(
            _("The restored audit chain does not verify (event #%(seq)s: %(reason)s): undone.")
            % {"seq": verdict.broken_seq, "reason": verdict.reason}
        )
    head = manifest["chain_head"]
    if (verdict.head_seq, verdict.head_hash) != (head["seq"], head["hash"]):
        raise BackupError(
            _(
                "The restored chain head #%(seq)s %(hash)s is not the manifest's #%(want_seq)s %(want_hash)s: undone."
            )
            % {
                "seq": verdict.head_seq,
                "hash": verdict.head_hash,
                "want_seq": head["seq"],
                "want_hash": head["hash"],
            }
        )
    with connection.cursor() as cursor:
        for table, expected in sorted(manifest["row_counts"].items()):
            try:
                cursor.execute(f"SELECT count(*) FROM {_quote(table)}")
                found = cursor.fetchone()[0]
            except Exception:
                found = None
            if found != expected:
                raise BackupError(
                    _(
                        "Table %(table)s has %(found)s rows after the restore, the manifest says %(expected)s: undone."
                    )
                    % {"table": table, "found": found, "expected": expected}
                )
