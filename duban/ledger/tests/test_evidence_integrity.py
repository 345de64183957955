"""A stored file is served only while it matches the sha256 taken when it was uploaded.

Whoever can write to the media folder could otherwise swap a site photo or a monitoring
report under a ledger that still shows the old fingerprint. A changed file is refused on
the page, in the API and for thumbnails, logged as a warning and kept in the audit log.
"""

import logging
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from duban.api.tests.conftest import ApiClient
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.files import thumbnail_sha256
from duban.ledger.models import State

from .flow import jpeg, pdf, problem_in


def client_for(user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def files(world):
    problem = problem_in(world, State.IN_PROGRESS)
    photo, report = actions.upload_evidence(
        problem, by=world.liaison, files=[jpeg(), pdf()], category="现场照片"
    )
    return photo, report


def tamper(field, settings) -> None:
    path = Path(settings.MEDIA_ROOT, field.name)
    content = bytearray(path.read_bytes())
    content[-3] ^= 0xFF
    path.write_bytes(bytes(content))


def test_it_serves_an_unchanged_file_and_refuses_one_changed_on_disk(
    world, files, settings, caplog
):
    photo, report = files
    client = client_for(world.unit_head)
    url = reverse("ledger:evidence_download", args=[report.pk])
    assert client.get(url).status_code == 200

    tamper(report.file, settings)
    with caplog.at_level(logging.WARNING, logger="duban.ledger.files"):
        response = client.get(url)

    assert response.status_code == 409
    assert "changed on the server after it was uploaded" in response.content.decode()
    assert not hasattr(response, "streaming_content")
    [warning] = [r for r in caplog.records if r.name == "duban.ledger.files"]
    assert report.sha256 in warning.getMessage() and report.file.name in warning.getMessage()
    event = AuditEvent.objects.get(action="evidence.file_changed")
    assert event.actor_id == world.unit_head.pk and event.problem_id == report.problem_id
    assert event.before == {"sha256": report.sha256}
    assert event.after["part"] == "file" and event.after["found_sha256"] != report.sha256
    # The other file of the problem is still served.
    photo_url = reverse("ledger:evidence_download", args=[photo.pk])
    assert client.get(photo_url).status_code == 200


def test_the_api_refuses_a_changed_file_with_a_json_message(world, files, settings):
    _photo, report = files
    tamper(report.file, settings)
    api = ApiClient(world.office)
    api.user.language = "en"
    api.user.save(update_fields=["language"])

    response = api.get(f"/evidence/{report.pk}/file")

    assert response.status_code == 409
    assert "sha256 no longer matches" in response.json()["detail"]
    assert AuditEvent.objects.filter(action="evidence.file_changed").count() == 1


def test_it_refuses_a_thumbnail_changed_on_disk(world, files, settings):
    photo, _report = files
    assert thumbnail_sha256(photo.thumbnail.name)  # named by its own sha256
    client = client_for(world.office)
    url = reverse("ledger:evidence_thumbnail", args=[photo.pk])
    assert client.get(url).status_code == 200

    tamper(photo.thumbnail, settings)

    assert client.get(url).status_code == 409
    event = AuditEvent.objects.get(action="evidence.file_changed")
    assert event.after["part"] == "thumbnail"


def test_a_thumbnail_that_cannot_be_checked_is_neither_shown_nor_served(world, files, settings):
    """Thumbnails stored before they were named by their sha256 have nothing to check against."""
    photo, _report = files
    old_name = photo.thumbnail.name.rsplit("/", 1)[0] + "/0123456789abcdef0123456789abcdef.jpg"
    Path(settings.MEDIA_ROOT, photo.thumbnail.name).rename(Path(settings.MEDIA_ROOT, old_name))
    type(photo).objects.filter(pk=photo.pk).update(thumbnail=old_name)
    client = client_for(world.office)
    url = reverse("ledger:evidence_thumbnail", args=[photo.pk])

    html = client.get(reverse("ledger:problem_detail", args=[photo.problem_id])).content.decode()

    assert url not in html
    assert reverse("ledger:evidence_download", args=[photo.pk]) in html
    assert client.get(url).status_code == 404
