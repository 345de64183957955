"""Steps of test_stopped_worker, each run as its own process against the database of
DATABASE_URL (python -m duban.documents.tests.worker_driver STEP [ARG]); each prints one JSON.

seed ROWS    the test world (the office reads English), and a list of ROWS problems uploaded and
             committed by the office through the pages (the DatabaseBackend queues the import
             for a real `duban db_worker`)
state JOB    the import job, the problems in the ledger, the audit events about the job, its page
again JOB    the office presses "Run the import again" on the page
ledger ROWS  the test world and ROWS problems in the ledger (imported at once, without a job)
export       the office exports the whole ledger from the list page (a background export)
export-state JOB, export-again JOB: as state and again, for the export job
"""

import json
import os
import sys


def _client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def seed(rows: str) -> dict:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from duban.documents.importing.samples import large_workbook
    from duban.documents.models import ImportJob
    from duban.testing import build_world

    world = build_world()
    world.office.language = "en"
    world.office.save(update_fields=["language"])
    content = large_workbook(int(rows), [world.eco.name, world.housing.name])
    office = _client(world.office)
    upload = SimpleUploadedFile("大规模整改清单.xlsx", content)
    office.post("/documents/import/", {"inspection": world.inspection.pk, "file": upload})
    job = ImportJob.objects.get()
    commit = office.post(f"/documents/import/{job.pk}/commit/")
    return {"job": job.pk, "commit": commit.status_code, "bytes": len(content)}


def state(pk: str) -> dict:
    from duban.accounts.models import User
    from duban.audit.models import AuditEvent
    from duban.documents.models import ImportJob
    from duban.ledger.models import Problem

    job = ImportJob.objects.get(pk=pk)
    page = _client(User.objects.get(username="office")).get(f"/documents/import/{pk}/progress/")
    events = AuditEvent.objects.filter(target_type="documents.importjob", target_id=str(pk))
    return {
        "status": job.status,
        "attempt": getattr(job, "attempt", None),  # None before jobs had attempts
        "result": job.result,
        "problems": Problem.objects.filter(inspection=job.inspection).count(),
        "events": list(events.order_by("seq").values_list("action", flat=True)),
        "page": page.content.decode(),
    }


def again(pk: str) -> dict:
    from duban.accounts.models import User

    office = _client(User.objects.get(username="office"))
    response = office.post(f"/documents/import/{pk}/run-again/")
    return {"status": response.status_code, "location": response.get("Location", "")}


def ledger(rows: str) -> dict:
    from duban.documents.importing import importer
    from duban.documents.importing.samples import large_workbook
    from duban.testing import build_world

    world = build_world()
    world.office.language = "en"
    world.office.save(update_fields=["language"])
    content = large_workbook(int(rows), [world.eco.name, world.housing.name])
    result = importer.import_file(
        content, "整改清单.xlsx", inspection=world.inspection, by=world.office
    )
    return {"created": result.created}


def export() -> dict:
    from duban.accounts.models import User
    from duban.documents.models import ExportJob

    response = _client(User.objects.get(username="office")).get("/documents/ledger.xlsx")
    return {"status": response.status_code, "job": ExportJob.objects.get().pk}


def export_state(pk: str) -> dict:
    from duban.accounts.models import User
    from duban.audit.models import AuditEvent
    from duban.documents.models import ExportJob

    job = ExportJob.objects.get(pk=pk)
    office = _client(User.objects.get(username="office"))
    page = office.get(f"/documents/exports/{pk}/")
    download = office.get(f"/documents/exports/{pk}/download/")
    events = AuditEvent.objects.filter(target_type="documents.exportjob", target_id=str(pk))
    return {
        "status": job.status,
        "attempt": getattr(job, "attempt", None),  # None before jobs had attempts
        "result": job.result,
        "file": job.file.name,
        "download": download.status_code,
        "events": list(events.order_by("seq").values_list("action", flat=True)),
        "page": page.content.decode(),
    }


def export_again(pk: str) -> dict:
    from duban.accounts.models import User

    office = _client(User.objects.get(username="office"))
    response = office.post(f"/documents/exports/{pk}/run-again/")
    return {"status": response.status_code, "location": response.get("Location", "")}


STEPS = {
    "seed": seed,
    "state": state,
    "again": again,
    "ledger": ledger,
    "export": export,
    "export-state": export_state,
    "export-again": export_again,
}

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duban.settings")
    import django

    django.setup()
    step, *args = sys.argv[1:]
    print(json.dumps(STEPS[step](*args)))
