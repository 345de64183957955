"""The import page: upload, preview every row and error, map unknown units, commit all or nothing."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.documents.heartbeat import heartbeat
from duban.documents.import_tasks import _Reporter
from duban.documents.importing import samples
from duban.documents.models import NEW_UNIT, ImportJob
from duban.ledger.models import Problem
from duban.org.models import Membership, Role, Unit
from duban.testing import PASSWORD

UPLOAD = reverse("documents:import_upload")


@pytest.fixture(autouse=True)
def _tasks_run_inline(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def client_for(user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def unknown_unit_list() -> bytes:
    """Two problems, one of them led by a unit the directory does not know."""
    return samples.simple_workbook(
        [
            [
                1,
                "城区餐饮油烟扰民问题突出。",
                "市治水办（牵头），吴兴分局",
                "1.排查。2.整治",
                "2027年6月30日前",
            ],
            [2, "部分河道黑臭现象反弹。", "南浔区住建局", "清淤", "2027年底前完成"],
        ]
    )


def upload(client, world, content, name="整改清单.xlsx"):
    return client.post(
        UPLOAD,
        {"inspection": world.inspection.pk, "file": SimpleUploadedFile(name, content)},
    )


@pytest.fixture
def office(world):
    return client_for(world.office)


def test_it_lets_only_office_staff_open_the_upload_page(world, office):
    assert office.get(UPLOAD).status_code == 200
    for user in (world.liaison, world.viewer, world.auditor, world.outsider):
        assert client_for(user).get(UPLOAD).status_code == 403
    assert Client().get(UPLOAD).status_code == 302  # to the login page


def test_it_previews_every_row_and_locates_every_error_without_writing(world, office):
    bad = [10, "露天焚烧秸秆现象时有发生。", None, "吴兴分局", None, None, "尽快", None]
    content = samples.workbook_bytes(samples.messy_workbook(extra_rows=[bad]))

    response = upload(office, world, content)

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response.url == job_url("import_preview", job)
    page = office.get(response.url).content.decode()
    assert samples.FEEDBACK_BOILERS in page
    assert "湖州市生态环境局吴兴分局" in page and "南浔区住房和城乡建设局" in page
    assert "2018-12-31" in page and "全面排查燃煤锅炉。" in page
    assert page.count("<tr>") == 1 + 12  # the header, then every problem row
    # The unreadable deadline, located by sheet, row and column.
    assert "sheet 整改清单，row 18，column 完成时限" in page
    assert 'id="commit" disabled' in page
    assert office.post(job_url("import_commit", job)).status_code == 400
    assert job.status == ImportJob.Status.PREVIEWED
    assert not Problem.objects.exists()


def test_it_refuses_a_file_it_cannot_read_and_stores_nothing(world, office, media_root):
    imports = media_root / "imports"
    stored_before = set(imports.glob("*")) if imports.exists() else set()

    response = upload(office, world, b"PK\x03\x04 truncated", name="整改清单.xlsx")
    macro = upload(office, world, samples.simple_workbook([]), name="整改清单.xlsm")

    assert response.status_code == 400 and macro.status_code == 400
    assert "Macro-enabled workbooks" in macro.content.decode()
    assert 'id="import-refused"' in response.content.decode()
    assert not ImportJob.objects.exists()
    assert (set(imports.glob("*")) if imports.exists() else set()) == stored_before


def test_it_maps_an_unknown_unit_then_commits_every_row(world, office):
    upload(office, world, unknown_unit_list())
    job = ImportJob.objects.get()
    assert job.unknown_units == ["市治水办"]
    page = office.get(job_url("import_preview", job)).content.decode()
    assert "“市治水办” is not a known unit" in page and 'id="commit" disabled' in page

    office.post(job_url("import_preview", job), {"unit-0": str(world.housing.pk)})

    job.refresh_from_db()
    assert job.unit_map == {"市治水办": str(world.housing.pk)} and job.can_commit
    assert 'id="commit" disabled' not in office.get(job_url("import_preview", job)).content.decode()
    response = office.post(job_url("import_commit", job))
    assert response.url == job_url("import_progress", job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE and job.result == {"created": 2, "errors": []}
    assert job.committed_by == world.office
    first = Problem.objects.get(ledger_number="1")
    assert first.lead_unit == world.housing and first.inspection == world.inspection
    page = office.get(response.url).content.decode()
    assert "2 problems were registered." in page
    assert "/ledger/?inspection=" + world.inspection.code in page
    assert f"/documents/render/unit/{world.housing.pk}/supervision-notice.docx" in page
    # A committed job is not committed twice.
    office.post(job_url("import_commit", job))
    assert Problem.objects.count() == 2


def test_it_creates_an_unknown_unit_when_the_office_chooses_so(world, office):
    upload(office, world, unknown_unit_list())
    job = ImportJob.objects.get()
    office.post(job_url("import_preview", job), {"unit-0": NEW_UNIT})
    office.post(job_url("import_commit", job))

    created = Unit.objects.get(name="市治水办")
    assert created.region == world.office_unit.region
    assert Problem.objects.get(ledger_number="1").lead_unit == created
    # Every step of the job is on the record: the office's, then the worker's.
    steps = AuditEvent.objects.filter(target_type="documents.importjob", target_id=str(job.pk))
    assert list(steps.order_by("seq").values_list("action", "actor_name", "role")) == [
        ("documents.import.upload", str(world.office), "office"),
        ("documents.import.map_units", str(world.office), "office"),
        ("documents.import.commit", str(world.office), "office"),
        ("documents.import.start", "system", "system"),
        ("documents.import.done", "system", "system"),
    ]
    mapped = steps.get(action="documents.import.map_units")
    assert (mapped.before, mapped.after) == (
        {"unit_map": {}},
        {"unit_map": {"市治水办": NEW_UNIT}, "errors": 0},
    )
    assert steps.get(action="documents.import.done").after == {
        "status": "done",
        "created": 2,
        "errors": 0,
    }
    unit_event = AuditEvent.objects.get(action="unit.create")
    assert (unit_event.target_id, unit_event.actor_id) == (str(created.pk), world.office.pk)
    assert unit_event.after == {
        "name": "市治水办",
        "region": world.office_unit.region.code,
        "source": "import",
    }


def test_it_writes_nothing_when_the_commit_meets_an_error(world, office):
    upload(office, world, unknown_unit_list())
    job = ImportJob.objects.get()
    office.post(job_url("import_preview", job), {"unit-0": str(world.housing.pk)})
    # The file changed under the preview (a second row now names another unknown unit):
    # the first row is fine, but the commit is all or nothing.
    broken = samples.simple_workbook(
        [
            [1, "城区餐饮油烟扰民问题突出。", "市治水办", "排查", "2027年6月30日前"],
            [2, "部分河道黑臭现象反弹。", "市河长办", "清淤", "2027年底前完成"],
        ]
    )
    with open(job.file.path, "wb") as handle:
        handle.write(broken)

    office.post(job_url("import_commit", job))

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and job.result["created"] == 0
    assert not Problem.objects.exists()
    page = office.get(job_url("import_progress", job)).content.decode()
    assert "The import failed; nothing was written." in page and "市河长办" in page


def test_it_shows_a_job_only_to_the_office_of_its_region(world, office):
    upload(office, world, unknown_unit_list())
    job = ImportJob.objects.get()
    nanxun_office = User.objects.create_user("nanxun_office", password=PASSWORD)
    Membership.objects.create(user=nanxun_office, unit=world.housing, role=Role.OFFICE)

    for user in (nanxun_office, world.liaison, world.county_acceptor, world.outsider):
        client = client_for(user)
        for name in ("import_preview", "import_progress"):
            assert client.get(job_url(name, job)).status_code == 404
        assert client.post(job_url("import_commit", job)).status_code == 404
        assert client.post(job_url("import_preview", job), {"unit-0": NEW_UNIT}).status_code == 404
    job.refresh_from_db()
    assert job.unit_map == {} and job.status == ImportJob.Status.PREVIEWED


def test_it_starts_a_new_job_for_each_upload(world, office):
    upload(office, world, unknown_unit_list())
    upload(office, world, unknown_unit_list())

    first, second = ImportJob.objects.order_by("pk")
    assert first.file.name != second.file.name
    assert first.file.name.startswith("imports/") and "整改清单" not in first.file.name


def test_it_polls_the_progress_every_second_until_the_job_ends(world, office):
    upload(office, world, unknown_unit_list())
    job = ImportJob.objects.get()
    job.status = ImportJob.Status.RUNNING
    job.progress_total = 2
    job.save()
    # The worker's count, written to the job's row (the page may be served by another machine).
    with heartbeat(job) as progress:
        rows = _Reporter(progress)(["a", "b", "c", "d"], 4, "Registering")
        next(rows), next(rows), next(rows)

    fragment = office.get(job_url("import_progress", job), headers={"HX-Request": "true"})

    text = fragment.content.decode()
    assert 'hx-trigger="every 1s"' in text and "<html" not in text
    assert "Registering problems… 2 / 4" in " ".join(text.split())
    assert '<progress max="4" value="2"' in text
    job.status = ImportJob.Status.DONE
    job.result = {"created": 2, "errors": []}
    job.save()
    done = office.get(job_url("import_progress", job), headers={"HX-Request": "true"})
    assert "hx-trigger" not in done.content.decode()


def job_url(name, job) -> str:
    return reverse(f"documents:{name}", args=[job.pk])


def test_it_locates_a_unit_written_as_a_slash_and_a_year_zero_instead_of_failing(world, office):
    content = samples.simple_workbook(
        [
            [1, "城区餐饮油烟扰民问题突出。", "/", "排查", "2027年6月30日前"],
            [2, "部分河道黑臭现象反弹。", "吴兴分局", "清淤", "0000年底前"],
        ]
    )

    response = upload(office, world, content)

    assert response.status_code == 302
    page = office.get(response.url).content.decode()
    assert "row 2，column 责任单位" in page and "No responsible unit is given." in page
    assert "row 3，column 整改时限" in page and "is not a real date" in page
    assert not Problem.objects.exists()
