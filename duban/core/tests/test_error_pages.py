"""The answers of last resort: a fault in the API is still JSON, and a page stays a page."""

import json

from django.test import RequestFactory

from duban.core.errors import server_error


def _answer_to_a_fault(path):
    request = RequestFactory().get(path)
    try:
        {}["missing"]  # a real fault inside the request
    except KeyError:
        return server_error(request)


def test_the_api_answers_json_to_a_fault():
    response = _answer_to_a_fault("/api/v1/problems")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["detail"]
    assert "Retry-After" not in response


def test_a_page_answers_the_html_error_page_to_a_fault():
    response = _answer_to_a_fault("/ledger/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
