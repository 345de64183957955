"""The heartbeat that keeps a working job alive, the fence that keeps a run given up on from
committing, and the limits of "run it again". (A real worker killed mid-job: test_stopped_worker.)"""

import datetime as dt
import time

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from duban.audit.models import AuditEvent
from duban.documents import actions
from duban.documents.heartbeat import heartbeat
from duban.documents.import_tasks import GivenUp, _settle
from duban.documents.importing import importer, samples
from duban.documents.models import ImportJob
from duban.documents.tests.test_import_page import client_for
from duban.ledger.models import Problem
from duban.supervision.sweep import run_sweep


@pytest.fixture(autouse=True)
def _tasks_run_inline(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def committed_job(world, rows=3) -> ImportJob:
    content = samples.large_workbook(rows, [world.eco.name, world.housing.name])
    job = ImportJob(
        original_name="整改清单.xlsx",
        inspection=world.inspection,
        uploaded_by=world.office,
        committed_by=world.office,
        region=world.city,
        status=ImportJob.Status.QUEUED,
        preview={"rows": [{}] * rows, "errors": []},
        progress_total=rows,
    )
    job.file.save("整改清单.xlsx", ContentFile(content), save=False)
    job.save()
    return job


def stale_after(moment) -> dt.datetime:
    return moment + dt.timedelta(seconds=settings.DUBAN_JOB_STALE_SECONDS)


@pytest.mark.django_db(transaction=True)
def test_it_leaves_alone_a_job_whose_worker_still_beats(world):
    job = committed_job(world)
    assert actions.claim_job(job)
    claimed_at = job.heartbeat_at
    guard = time.monotonic() + 60
    with heartbeat(job, interval=0.01):
        while ImportJob.objects.get(pk=job.pk).heartbeat_at == claimed_at:
            assert time.monotonic() < guard, "the job never beat"
            time.sleep(0.01)
    beat_at = ImportJob.objects.get(pk=job.pk).heartbeat_at

    # A sweep by which the claim alone would be too old, but not the last beat.
    counts = run_sweep(stale_after(beat_at) - dt.timedelta(microseconds=1), only=["stopped_jobs"])

    assert counts == {}
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.RUNNING
    # Once it stops beating for longer than the threshold, it is given up.
    later = stale_after(beat_at) + dt.timedelta(microseconds=1)
    assert run_sweep(later, only=["stopped_jobs"]) == {"import_stopped": 1}
    assert ImportJob.objects.get(pk=job.pk).stopped


def test_it_keeps_no_row_of_a_run_that_was_given_up_while_it_worked(world):
    job = committed_job(world)
    assert actions.claim_job(job)
    # The sweep gives this run up (its worker seemed gone), and the worker then reaches the end.
    assert actions.give_up_stopped_job(
        job, cutoff=stale_after(timezone.now()), now=stale_after(timezone.now())
    )

    with pytest.raises(GivenUp), job.file.open("rb") as handle:
        importer.import_file(
            handle,
            job.original_name,
            inspection=world.inspection,
            by=world.office,
            settle=_settle(job),
        )

    assert Problem.objects.count() == 0
    job.refresh_from_db()
    assert job.stopped and job.result["created"] == 0


def test_it_notes_the_stop_for_the_office_and_runs_the_job_again_once(
    world, django_capture_on_commit_callbacks
):
    job = committed_job(world)
    actions.claim_job(job)
    office = client_for(world.office)
    later = stale_after(timezone.now()) + dt.timedelta(seconds=1)
    assert run_sweep(later, only=["stopped_jobs"]) == {"import_stopped": 1}
    assert run_sweep(later, only=["stopped_jobs"]) == {}  # once

    inbox = office.get("/inbox/").content.decode()
    page = office.get(f"/documents/import/{job.pk}/progress/").content.decode()
    assert "The import of 整改清单.xlsx stopped; nothing was written. Run it again." in inbox
    assert 'id="import-run-again"' in page

    with django_capture_on_commit_callbacks(execute=True):
        office.post(f"/documents/import/{job.pk}/run-again/")
        office.post(f"/documents/import/{job.pk}/run-again/")  # a double click

    job.refresh_from_db()
    assert (job.status, job.attempt, Problem.objects.count()) == ("done", 2, 3)
    actions_taken = AuditEvent.objects.filter(target_type="documents.importjob")
    assert list(actions_taken.values_list("action", flat=True)) == [
        "documents.import.start",
        "documents.import.stopped",
        "documents.import.run_again",
        "documents.import.start",
        "documents.import.done",
    ]


def test_it_runs_again_only_a_job_whose_worker_stopped(world):
    job = committed_job(world)
    actions.claim_job(job)
    actions.finish_job(
        job, ImportJob.Status.FAILED, {"created": 0, "errors": [{"message": "行错误"}]}
    )
    office = client_for(world.office)

    response = office.post(f"/documents/import/{job.pk}/run-again/", follow=True)

    assert (
        "Only a job whose worker stopped can be run again from here." in response.content.decode()
    )
    assert 'id="import-run-again"' not in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.attempt) == ("failed", 1)


def test_it_lets_only_the_office_of_the_region_run_an_import_again(world):
    job = committed_job(world)
    actions.claim_job(job)
    run_sweep(stale_after(timezone.now()) + dt.timedelta(seconds=1), only=["stopped_jobs"])

    for user in (world.liaison, world.viewer, world.outsider):
        assert client_for(user).post(f"/documents/import/{job.pk}/run-again/").status_code == 404
    job.refresh_from_db()
    assert job.stopped


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_running_count_in_the_jobs_row_for_any_web_server_to_read(world):
    job = committed_job(world, rows=10)
    assert actions.claim_job(job)
    office = client_for(world.office)

    def shown() -> str:
        page = office.get(f"/documents/import/{job.pk}/progress/", headers={"HX-Request": "true"})
        return " ".join(page.content.decode().split())

    def row() -> tuple:
        return ImportJob.objects.values_list("progress_phase", "progress_done").get(pk=job.pk)

    with heartbeat(job, interval=0.01) as progress:
        # Reading the list, outside any transaction: the worker's own connection writes it.
        advance = progress.counter(10, "reading")
        advance(10)
        assert row() == ("reading", 10)
        assert "Reading the list… 10 / 10" in shown()

        # Registering inside one transaction, which the progress page cannot see into.
        with transaction.atomic():
            progress.report(4, 10, "registering")
            if connection.vendor == "postgresql":
                # The pulse writes it on its own connection while the rows are being written.
                guard = time.monotonic() + 60
                while row() != ("registering", 4):
                    assert time.monotonic() < guard, "the pulse never wrote the count"
                    time.sleep(0.01)
            else:
                # SQLite: the transaction holds the one write lock; the pulse waits for it.
                time.sleep(0.1)
                assert row() == ("reading", 10)
        # Between two batches, outside the transaction, the count is written at once.
        progress.report(5, 10, "registering")
        assert row() == ("registering", 5)
        assert "Registering problems… 5 / 10" in shown()

    # A finished job shows its outcome's count, whatever a late write tried.
    job.progress_done = 10
    assert actions.finish_job(job, ImportJob.Status.DONE, {"created": 10, "errors": []})
    assert progress.write(beat=True) is False
    assert ImportJob.objects.values_list("progress_done", "progress_phase").get(pk=job.pk) == (
        10,
        "",
    )
