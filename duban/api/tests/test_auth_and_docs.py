import json
import re

from django.test import Client
from django.utils import translation

from duban.accounts.models import ApiToken
from duban.ledger.transitions import TRANSITIONS

from .conftest import PREFIX


def test_it_answers_401_without_credentials(world):
    for method, path in [("get", "/problems"), ("get", "/inspections"), ("post", "/problems")]:
        response = getattr(Client(), method)(PREFIX + path)
        assert response.status_code == 401, path


def test_it_answers_401_to_an_unknown_token(world):
    client = Client(headers={"Authorization": "Bearer dbn_not-a-real-token"})
    assert client.get(PREFIX + "/problems").status_code == 401
    assert client.post(PREFIX + "/problems/1/actions/claim").status_code == 401


def test_it_accepts_a_good_token_and_notes_when_it_was_used(api_as):
    liaison = api_as("liaison")
    assert liaison.token.last_used_at is None
    assert liaison.get("/problems").status_code == 200
    liaison.token.refresh_from_db()
    assert liaison.token.last_used_at is not None


def test_it_refuses_the_token_of_a_deactivated_user(api_as, world):
    liaison = api_as("liaison")
    world.liaison.is_active = False
    world.liaison.save()
    assert liaison.get("/problems").status_code == 401


def test_it_stores_only_the_hash_of_a_token(api_as):
    liaison = api_as("liaison")
    stored = ApiToken.objects.get(pk=liaison.token.pk)
    assert liaison.raw not in (stored.key_hash, stored.prefix)


def test_it_lets_a_logged_in_browser_read_and_checks_csrf_on_changes(world):
    problem = world.problem()
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.office)
    read = browser.get(f"{PREFIX}/problems/{problem.pk}")
    assert read.status_code == 200

    refused = browser.post(f"{PREFIX}/problems/{problem.pk}/actions/assign")
    assert refused.status_code == 403
    problem.refresh_from_db()
    assert problem.state == "registered"

    docs = browser.get(PREFIX + "/docs")  # sets the CSRF cookie, as the docs page does
    token = browser.cookies["csrftoken"].value
    assert docs.status_code == 200
    done = browser.post(
        f"{PREFIX}/problems/{problem.pk}/actions/assign",
        headers={"X-CSRFToken": token, "If-Match": read["ETag"]},
    )
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "assigned"


def test_it_serves_the_openapi_document_listing_every_path(api_as):
    api = api_as("office")
    response = api.get("/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.content)
    paths = document["paths"]
    for path in [
        "/api/v1/inspections",
        "/api/v1/problems",
        "/api/v1/problems/{problem_id}",
        "/api/v1/problems/{problem_id}/timeline",
        "/api/v1/problems/{problem_id}/actions/claim",
        "/api/v1/problems/{problem_id}/actions/upload_evidence",
        "/api/v1/extensions/{extension_id}/decision",
    ]:
        assert path in paths, path
    assert {"get", "patch"} <= set(paths["/api/v1/problems/{problem_id}"])
    # The list's query parameters come from the list page's filter form.
    claim = paths["/api/v1/problems/{problem_id}/actions/claim"]["post"]
    with translation.override(
        api.user.language
    ):  # the transition's label, in the caller's language
        assert claim["summary"] == str(TRANSITIONS["claim"].label)
    names = {p["name"] for p in paths["/api/v1/problems"]["get"]["parameters"]}
    assert {
        "q",
        "inspection",
        "state",
        "pace",
        "overdue",
        "unit",
        "region",
        "sort",
        "page",
        "cursor",
        "count",
    } <= names


def test_it_keeps_the_openapi_document_and_docs_for_signed_in_callers(world):
    anonymous = Client()
    assert anonymous.get(PREFIX + "/openapi.json").status_code == 401
    response = anonymous.get(PREFIX + "/docs")
    assert response.status_code == 302
    assert "/accounts/login" in response["Location"]


def test_it_serves_a_docs_page_that_needs_no_internet(world):
    browser = Client()
    browser.force_login(world.liaison)
    response = browser.get(PREFIX + "/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert re.findall(r"https?://", html) == []
    assert "cdn" not in html.lower()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    assert "/api/v1/openapi.json" in html
    assert 'data-api-csrf="true"' in html  # "Try it out" sends the CSRF token with changes
