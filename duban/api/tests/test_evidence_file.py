"""GET /evidence/{id}/file: the stored file, or 404 when it is gone, as on the web page."""

import hashlib
import os

from django.core.files.uploadedfile import SimpleUploadedFile

from duban.ledger.models import Evidence

from .conftest import pdf_bytes
from .test_lifecycle import ok
from .test_side_paths import to_in_progress


def uploaded(world, api_as):
    pid = to_in_progress(world, api_as)
    content = pdf_bytes("整改报告")
    ok(
        api_as("liaison").upload(
            f"/problems/{pid}/actions/upload_evidence",
            {"category": "整改报告", "files": [SimpleUploadedFile("报告.pdf", content)]},
        )
    )
    return Evidence.objects.get(problem_id=pid), content


def test_it_sends_the_stored_file_not_to_be_sniffed_nor_cached(world, api_as):
    evidence, content = uploaded(world, api_as)

    response = api_as("office").get(f"/evidence/{evidence.pk}/file")

    assert response.status_code == 200
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == (
        hashlib.sha256(content).hexdigest()
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"


def test_it_answers_404_when_the_stored_file_is_missing(world, api_as):
    evidence, _content = uploaded(world, api_as)
    os.remove(evidence.file.path)
    api_as("office").user.language = "en"
    api_as("office").user.save(update_fields=["language"])

    response = api_as("office").get(f"/evidence/{evidence.pk}/file")

    assert response.status_code == 404
    assert response.json() == {"detail": "The stored file is missing."}
    # Someone out of scope still learns nothing, missing file or not.
    outside = api_as("other_liaison").get(f"/evidence/{evidence.pk}/file")
    assert outside.status_code == 404 and outside.json() == {"detail": "未找到。"}
