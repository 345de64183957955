import json

import pytest
from django.test import Client

from duban.accounts.models import ApiToken
from duban.ledger.tests.flow import jpeg_bytes, pdf_bytes  # noqa: F401 - used by the API tests

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
