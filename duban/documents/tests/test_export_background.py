"""A large ledger export from the list page runs in the background: a progress page, then a
download, for the user who asked only. The command line shows a progress bar."""

import datetime as dt
import io
import os

import pytest
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from duban.audit.models import AuditEvent
from duban.documents import exporting
from duban.documents.export_tasks import run_export
from duban.documents.models import ExportJob
from duban.supervision.sweep import run_sweep

URL = "/documents/ledger.xlsx"


@pytest.fixture(autouse=True)
def _small_threshold(settings):
    # Above two problems an export goes to the background; the task runs inline in tests.
    settings.DUBAN_EXPORT_BACKGROUND_ROWS = 2
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def ledger(world):
    for number in ("第1号", "第2号", "第3号"):
        world.problem(ledger_number=number)
    world.problem(ledger_number="第4号", feedback_text="南浔区河道黑臭反弹。", title="河道黑臭")


def numbers(content: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))[exporting.HEADER_ROW :]
    return [row[0] for row in rows]


def test_it_writes_a_large_export_in_the_background_and_offers_it_for_download(
    client, world, ledger
):
    client.force_login(world.office)

    response = client.get(URL, {"q": "燃煤", "sort": "-number"})

    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/documents/exports/{job.pk}/"
    assert (job.requested_by, job.status, job.result) == (
        world.office,
        ExportJob.Status.DONE,
        {"count": 3},
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="export-done"' in html and "hx-get" not in html  # finished: no more polling
    download = client.get(f"/documents/exports/{job.pk}/download/")
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    # The list's filters and order, applied in the task.
    assert numbers(b"".join(download.streaming_content)) == ["第3号", "第2号", "第1号"]


def test_it_still_answers_an_export_up_to_the_threshold_at_once(client, world, ledger):
    client.force_login(world.office)

    response = client.get(URL, {"q": "第1号"})

    assert response.status_code == 200
    assert numbers(b"".join(response.streaming_content)) == ["第1号"]
    assert not ExportJob.objects.exists()


def test_it_shows_an_export_only_to_the_user_who_asked(client, world, ledger):
    client.force_login(world.office)
    client.get(URL)
    job = ExportJob.objects.get()

    for other in (world.liaison, world.viewer, world.sysadmin):
        client.force_login(other)
        assert client.get(f"/documents/exports/{job.pk}/").status_code == 404
        assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 404
    client.logout()
    assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 302  # to login


def test_it_exports_in_the_background_only_what_the_user_may_see(client, world, ledger):
    world.problem(ledger_number="南浔1", lead_unit=world.housing)
    world.problem(ledger_number="南浔2", lead_unit=world.housing)
    world.problem(ledger_number="南浔3", lead_unit=world.housing)
    client.force_login(world.other_liaison)

    response = client.get(URL)

    job = ExportJob.objects.get(requested_by=world.other_liaison)
    download = client.get(f"{response['Location']}download/")
    assert job.result == {"count": 3}
    assert sorted(numbers(b"".join(download.streaming_content))) == ["南浔1", "南浔2", "南浔3"]


def test_it_shows_the_progress_of_a_running_export(client, world):
    job = ExportJob.objects.create(
        requested_by=world.office,
        filename="整改台账.xlsx",
        status=ExportJob.Status.RUNNING,
        progress_total=100,
        progress_done=40,  # as the worker's pulse writes it, from any machine
    )
    client.force_login(world.office)

    partial = client.get(f"/documents/exports/{job.pk}/", headers={"HX-Request": "true"})

    html = partial.content.decode()
    assert html.startswith("<section") and "<html" not in html  # the status alone, for htmx
    assert "40 / 100" in html and 'value="40"' in html
    assert 'hx-trigger="every 1s"' in html
    # Not finished: nothing to download yet.
    assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 404


def test_the_command_shows_a_progress_bar(world, ledger, tmp_path, capsys):
    path = tmp_path / "台账.xlsx"

    call_command(
        "export_ledger",
        "--inspection",
        world.inspection.code,
        "-o",
        str(path),
        stdout=io.StringIO(),
    )

    bar = capsys.readouterr().err
    assert "100%" in bar and "4/4" in bar


def test_it_reports_a_failed_export_and_runs_a_job_only_once(client, world, ledger):
    # Filters that no longer read (a state that does not exist) when the task runs.
    job = ExportJob.objects.create(
        requested_by=world.office, query="state=nonsense", filename="台账.xlsx", progress_total=4
    )
    run_export.enqueue(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED and not job.file
    client.force_login(world.office)
    html = client.get(f"/documents/exports/{job.pk}/").content.decode()
    assert 'id="export-failed"' in html and "部分筛选条件无法识别" in html

    done = ExportJob.objects.create(
        requested_by=world.office, filename="台账.xlsx", progress_total=4
    )
    run_export.enqueue(done.pk)
    done.refresh_from_db()
    first_file = done.file.name
    run_export.enqueue(done.pk)  # enqueued twice: the second run changes nothing
    done.refresh_from_db()
    assert (done.status, done.result, done.file.name) == (
        ExportJob.Status.DONE,
        {"count": 4},
        first_file,
    )


def test_it_removes_an_exports_file_after_the_days_it_is_kept(
    client, world, ledger, settings, django_capture_on_commit_callbacks
):
    settings.DUBAN_EXPORT_KEEP_DAYS = 7
    client.force_login(world.office)
    client.get(URL, {"q": "燃煤"})
    job = ExportJob.objects.get()
    path = job.file.path
    later = job.created_at + dt.timedelta(days=6)
    assert run_sweep(later, only=["export_cleanup"]) == {}
    assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 200

    # The file goes once the sweep's transaction has committed.
    with django_capture_on_commit_callbacks(execute=True):
        removed = run_sweep(
            job.created_at + dt.timedelta(days=7, minutes=1), only=["export_cleanup"]
        )

    assert removed == {"export_removed": 1}
    assert list(
        AuditEvent.objects.filter(target_type="documents.exportjob").values_list(
            "action", "actor_name"
        )
    ) == [
        ("documents.export.request", str(world.office)),
        ("documents.export.start", "system"),
        ("documents.export.done", "system"),
        ("documents.export.removed", "system"),
    ]
    job.refresh_from_db()
    assert job.status == ExportJob.Status.REMOVED and not job.file
    assert not os.path.exists(path)
    assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 404
    page = client.get(f"/documents/exports/{job.pk}/").content.decode()
    assert 'id="export-removed"' in page and "hx-get" not in page
    assert run_sweep(timezone.now() + dt.timedelta(days=30), only=["export_cleanup"]) == {}


def test_it_answers_not_found_when_the_file_went_missing_under_it(client, world, ledger):
    client.force_login(world.office)
    client.get(URL, {"q": "燃煤"})
    job = ExportJob.objects.get()
    os.remove(job.file.path)  # as the cleanup sweep on another machine would, a moment ago

    assert client.get(f"/documents/exports/{job.pk}/download/").status_code == 404
