"""One request's body is bounded (DUBAN_MAX_REQUEST_MB): over it, 413 before a byte is read."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from duban.api.tests.conftest import ApiClient
from duban.ledger.models import Evidence, State
from duban.ledger.tests.flow import pdf_bytes, problem_in

MB = 1024 * 1024


def declared(client, path, megabytes, **extra):
    """A POST that declares `megabytes` but carries a few bytes: reading it would fail loudly."""
    return client.post(
        path,
        b"--x--\r\n",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(megabytes * MB),
        **extra,
    )


def test_it_refuses_an_oversized_upload_page_request_with_413_unread(world, settings):
    settings.DUBAN_MAX_REQUEST_MB = 2
    problem = problem_in(world, State.IN_PROGRESS)
    world.liaison.language = "en"
    world.liaison.save(update_fields=["language"])
    client = Client()
    client.force_login(world.liaison)
    url = reverse("ledger:problem_action", args=[problem.pk, "upload_evidence"])

    response = declared(client, url, 3)

    assert response.status_code == 413
    html = response.content.decode()
    assert "This request is 3 MB; one upload may be at most 2 MB." in html
    assert not Evidence.objects.exists()

    under = client.post(
        url,
        {"category": "现场照片", "files": [SimpleUploadedFile("报告.pdf", pdf_bytes())]},
    )
    assert under.status_code == 302 and Evidence.objects.count() == 1


def test_the_api_answers_413_in_json(world, settings):
    settings.DUBAN_MAX_REQUEST_MB = 2
    problem = problem_in(world, State.IN_PROGRESS)
    api = ApiClient(world.liaison)

    response = declared(api.http, f"/api/v1/problems/{problem.pk}/actions/upload_evidence", 1025)

    assert response.status_code == 413
    assert "最多 2 MB" in json.loads(response.content)["detail"]  # "at most 2 MB", in Chinese
