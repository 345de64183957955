import json
import re

import pytest
from django.test import Client

from duban.accounts.models import ApiToken
from duban.ledger.tests.flow import jpeg_bytes, pdf_bytes  # noqa: F401 - used by the API tests

PREFIX = "/api/v1"


PROBLEM_PATH = re.compile(r"^/problems/(\d+)(/|$)")
CURRENT = object()  # send the version the problem is at now, read through the API first


class ApiClient:
    """A script talking to /api/v1/ with its bearer token, as an office's other systems would.

    Like such a script it reads a problem before changing it: a change of /problems/{id}...
    (or of another object, with `problem=`) sends the ETag the read gave as If-Match, unless
    the test names one (`if_match="..."`) or none (`if_match=None`).
    """

    def __init__(self, user):
        self.user = user
        self.token, self.raw = ApiToken.issue(user, "pytest")
        self.http = Client(headers={"Authorization": f"Bearer {self.raw}"})

    def etag(self, problem_id):
        """The problem's ETag as this caller reads it (None if it may not see it)."""
        response = self.get(f"/problems/{problem_id}")
        return response.headers.get("ETag") if response.status_code == 200 else None

    def _headers(self, path, if_match, problem) -> dict:
        if if_match is CURRENT:
            match = PROBLEM_PATH.match(path)
            problem = problem if problem is not None else (match and match.group(1))
            if_match = self.etag(problem) if problem is not None else None
        return {"If-Match": if_match} if if_match is not None else {}

    def get(self, path, params=None):
        return self.http.get(PREFIX + path, params or {})

    def post(self, path, body=None, *, if_match=CURRENT, problem=None):
        return self.http.post(
            PREFIX + path,
            json.dumps(body or {}),
            content_type="application/json",
            headers=self._headers(path, if_match, problem),
        )

    def patch(self, path, body, *, if_match=CURRENT):
        return self.http.patch(
            PREFIX + path,
            json.dumps(body),
            content_type="application/json",
            headers=self._headers(path, if_match, None),
        )

    def upload(self, path, data, *, if_match=CURRENT):
        # multipart/form-data
        return self.http.post(PREFIX + path, data, headers=self._headers(path, if_match, None))

    def act(self, problem_id, name, body=None, *, if_match=CURRENT):
        return self.post(f"/problems/{problem_id}/actions/{name}", body, if_match=if_match)


@pytest.fixture
def api_as(world):
    """api_as("liaison") → an ApiClient holding a fresh token of that world user."""
    clients = {}

    def make(username):
        if username not in clients:
            clients[username] = ApiClient(getattr(world, username))
        return clients[username]

    return make
