import io
import json

import pytest
from django.test import Client
from PIL import Image

from duban.accounts.models import ApiToken

PREFIX = "/api/v1"


class ApiClient:
    """A script talking to /api/v1/ with its bearer token, as an office's other systems would."""

    def __init__(self, user):
        self.user = user
        self.token, self.raw = ApiToken.issue(user, "pytest")
        self.http = Client(headers={"Authorization": f"Bearer {self.raw}"})

    def get(self, path, params=None):
        return self.http.get(PREFIX + path, params or {})

    def post(self, path, body=None):
        return self.http.post(
            PREFIX + path, json.dumps(body or {}), content_type="application/json"
        )

    def patch(self, path, body):
        return self.http.patch(PREFIX + path, json.dumps(body), content_type="application/json")

    def upload(self, path, data):
        return self.http.post(PREFIX + path, data)  # multipart/form-data

    def act(self, problem_id, name, body=None):
        return self.post(f"/problems/{problem_id}/actions/{name}", body)


@pytest.fixture
def api_as(world):
    """api_as("liaison") → an ApiClient holding a fresh token of that world user."""
    clients = {}

    def make(username):
        if username not in clients:
            clients[username] = ApiClient(getattr(world, username))
        return clients[username]

    return make


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (40, 120, 60)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    """A minimal but real one-page PDF (header, catalog, pages, page, xref, trailer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()
