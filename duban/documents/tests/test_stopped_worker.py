"""A worker killed in the middle of a job (kill -9 of a real `duban db_worker`) does not leave the
job running for ever: the sweep marks it failed, nothing half-done is kept, the page says what
happened and runs it again, and a new worker finishes it.

Everything runs as it does in production, in processes of its own, on a database made for the test
(an SQLite file, or a new database on the PostgreSQL server of DATABASE_URL): `duban migrate`, the
pages (worker_driver.py, through Django's test client), `duban db_worker` and `duban sweep`.
"""

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from contextlib import closing
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from duban.documents.importing.importer import BATCH

DUBAN = str(Path(sys.executable).with_name("duban"))
ROWS = 2500  # seconds of registering or writing: long enough to be stopped in the middle
GUARD_SECONDS = 600  # only so that a broken run cannot hang the suite


@pytest.fixture
def database(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'duban.sqlite3'}"
        return
    import psycopg

    name = f"duban_worker_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(url)
    server = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def site(tmp_path, database):
    """The environment of every process of the test; the database migrated."""
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "DUBAN_DATA_DIR": str(tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_SETTINGS_MODULE": "duban.settings",
        "DUBAN_EXPORT_BACKGROUND_ROWS": "100",
    }
    env.pop("DUBAN_TASKS_BACKEND", None)  # the database queue, as in production
    duban(env, "migrate", "-v0")
    return env


def duban(env, *args) -> str:
    run = subprocess.run(
        [DUBAN, *args], env=env, capture_output=True, text=True, timeout=GUARD_SECONDS
    )
    assert run.returncode == 0, run.stderr
    return run.stdout


def driver(env, step, *args) -> dict:
    command = [sys.executable, "-m", "duban.documents.tests.worker_driver", step, *map(str, args)]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=GUARD_SECONDS)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def start_worker(env, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [DUBAN, "db_worker", "--interval", "0.1"], env=env, stdout=out, stderr=out
        )


def job_progress(database: str, table: str, pk: int) -> dict | None:
    """The running count of a job as its row holds it, read straight from the database (the
    way a web server on another machine than the worker sees it)."""
    query = (
        f"SELECT status, progress_phase, progress_done, progress_total FROM {table} WHERE id = %s"
    )
    if database.startswith("postgres"):
        import psycopg

        with psycopg.connect(database, autocommit=True) as connection:
            row = connection.execute(query, (pk,)).fetchone()
    else:
        with closing(sqlite3.connect(database.removeprefix("sqlite:///"), timeout=20)) as db:
            row = db.execute(query.replace("%s", "?"), (pk,)).fetchone()
    if row is None:
        return None
    return dict(zip(("status", "phase", "done", "total"), row, strict=True))


def kill_when_under_way(worker, database: str, table: str, pk: int, under_way) -> dict:
    """kill -9 the worker once the job's row shows `under_way(progress)`."""
    guard = time.monotonic() + GUARD_SECONDS
    try:
        while time.monotonic() < guard:
            if worker.poll() is not None:
                pytest.fail(f"the worker exited with {worker.returncode} before it was killed")
            progress = job_progress(database, table, pk)
            if progress and progress["status"] not in ("queued", "running"):
                pytest.fail(f"the job ended before it could be stopped: {progress}")
            if progress and progress["status"] == "running" and under_way(progress):
                return progress
            time.sleep(0.02)
        pytest.fail("the job never got under way")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()


def registering(progress: dict) -> bool:
    """Past the first batch of registering: one batch has committed, the next is under way.

    Batches commit one by one (importer.BATCH rows each). On PostgreSQL the worker's pulse
    writes the count as rows are written; on SQLite the job's own connection writes it between
    batches (heartbeat.py). Either way a count above one batch means a batch is in the ledger."""
    return progress["phase"] == "registering" and progress["done"] > BATCH


def sweep_twice_at_once(env, now: dt.datetime) -> list[dict]:
    """Two sweepers as of `now`, running at the same time (as two schedulers would)."""
    command = [DUBAN, "sweep", "--json", "--now", now.isoformat()]
    sweeps = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    counts = []
    for sweep in sweeps:
        out, err = sweep.communicate(timeout=GUARD_SECONDS)
        assert sweep.returncode == 0, err.decode()
        counts.append(json.loads(out.decode().splitlines()[-1])["counts"])
    return counts


def past_the_threshold() -> dt.datetime:
    # The default DUBAN_JOB_STALE_SECONDS is 45: a minute on, the killed worker is long quiet.
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)


def test_it_gives_up_an_import_whose_worker_was_killed_and_commits_it_again(
    site, database, tmp_path
):
    # given: a list of 2,500 problems committed by the office, taken up by a real worker
    seeded = driver(site, "seed", ROWS)
    job = seeded["job"]
    assert seeded["commit"] == 302
    worker = start_worker(site, tmp_path / "worker.log")

    # when: the worker is killed while it registers (a batch committed, the next one under way),
    # as its row in the database shows
    kill_when_under_way(worker, database, "documents_importjob", job, registering)

    # then: the job still says it runs, and only whole batches it committed are in the ledger
    stopped = driver(site, "state", job)
    assert stopped["status"] == "running"
    assert 0 < stopped["problems"] < ROWS and stopped["problems"] % BATCH == 0

    # when: the sweeps of the next minute run (two schedulers at once)
    counts = sweep_twice_at_once(site, past_the_threshold())

    # then: one of them gave the job up, with an audit event, and deleted what it had written
    assert sum(c.get("import_stopped", 0) for c in counts) == 1
    failed = driver(site, "state", job)
    assert failed["status"] == "failed" and failed["result"]["stopped"] is True
    assert failed["problems"] == 0
    assert failed["events"] == [
        "documents.import.upload",
        "documents.import.commit",
        "documents.import.start",
        "documents.import.stopped",
    ]
    page = failed["page"]
    assert 'id="import-stopped"' in page
    assert "The worker stopped while the import ran; nothing was written." in page
    assert (
        f'action="/documents/import/{job}/run-again/"' in page and 'id="import-run-again"' in page
    )

    # when: the office runs it again, and a new worker takes it
    assert driver(site, "again", job)["status"] == 302
    duban(site, "db_worker", "--batch", "--interval", "0")

    # then: every row is registered once
    done = driver(site, "state", job)
    assert (done["status"], done["attempt"], done["problems"]) == ("done", 2, ROWS)
    assert done["result"] == {"created": ROWS, "errors": []}
    assert done["events"][3:] == [
        "documents.import.stopped",
        "documents.import.run_again",
        "documents.import.start",
        "documents.import.done",
    ]
    assert 'id="import-done"' in done["page"]


def test_it_gives_up_an_export_whose_worker_was_killed_and_writes_it_again(
    site, database, tmp_path
):
    # given: a ledger of 2,500 problems, and the office exporting all of it in the background
    assert driver(site, "ledger", ROWS) == {"created": ROWS}
    asked = driver(site, "export")
    job = asked["job"]
    assert asked["status"] == 302
    worker = start_worker(site, tmp_path / "worker.log")

    # when: the worker is killed while it writes the rows, as its row in the database shows
    kill_when_under_way(
        worker, database, "documents_exportjob", job, lambda p: 0 < p["done"] < p["total"]
    )

    # and: the sweeps of the next minute run (two schedulers at once)
    counts = sweep_twice_at_once(site, past_the_threshold())

    # then: the export is given up on once; there is nothing to download, and the page says why
    assert sum(c.get("export_stopped", 0) for c in counts) == 1
    failed = driver(site, "export-state", job)
    assert (failed["status"], failed["file"], failed["download"]) == ("failed", "", 404)
    assert failed["events"] == [
        "documents.export.request",
        "documents.export.start",
        "documents.export.stopped",
    ]
    assert "The worker stopped while it wrote the export; no file was kept." in failed["page"]
    assert f'action="/documents/exports/{job}/run-again/"' in failed["page"]
    assert not list((tmp_path / "media").glob("exports/*"))

    # when: the office asks for it again, and a new worker takes it
    assert driver(site, "export-again", job)["status"] == 302
    duban(site, "db_worker", "--batch", "--interval", "0")

    # then: the ledger is ready to download
    done = driver(site, "export-state", job)
    assert (done["status"], done["attempt"], done["download"]) == ("done", 2, 200)
    assert done["result"] == {"count": ROWS}
    assert 'id="export-done"' in done["page"]
