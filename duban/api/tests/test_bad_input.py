"""Bad input to the API is a 4xx in JSON that says what is wrong and where, never a 500."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from duban.api.api import api_route_inventory
from duban.ledger.tests.flow import jpeg_bytes

from .conftest import PREFIX

NOT_NUMBERS = ["abc", "null", "1.5", "-0.1", "%C3%9B", "1%00"]


def test_it_answers_404_in_json_to_an_id_that_is_not_a_number_on_every_route(world, api_as):
    office = api_as("office")
    routes = [(m, p) for m, p in api_route_inventory() if "{" in p]
    assert len(routes) > 25
    for method, path in routes:
        for value in NOT_NUMBERS:
            url = path.replace("{name}", "claim")
            for name in ("problem_id", "evidence_id", "extension_id"):
                url = url.replace(f"{{{name}}}", value)
            response = office.http.generic(method, url, "{}", content_type="application/json")
            assert response.status_code == 404, f"{method} {url} → {response.status_code}"
            assert response.json()["detail"]


def _nul_refused(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["field"] == field
    assert "\\0" in body["detail"] and field in body["detail"]  # names the NUL character


def test_it_refuses_a_nul_character_in_any_text_it_is_sent(world, api_as):
    problem = world.problem()
    office, liaison = api_as("office"), api_as("liaison")
    title = problem.title

    _nul_refused(office.patch(f"/problems/{problem.pk}", {"title": "燃煤\x00锅炉"}), "title")
    _nul_refused(
        office.patch(f"/problems/{problem.pk}", {"measures": [{"text": "排查\x00"}]}),
        "measures.0.text",
    )
    _nul_refused(office.post("/problems", {"inspection": "x\x00", "title": "t"}), "inspection")
    office.act(problem.pk, "assign")
    liaison.act(problem.pk, "claim")
    _nul_refused(liaison.act(problem.pk, "save_plan", {"target": "\x00", "measures": []}), "target")
    upload = liaison.upload(
        f"/problems/{problem.pk}/actions/upload_evidence",
        {"category": "现场\x00照片", "files": [SimpleUploadedFile("a.jpg", jpeg_bytes())]},
    )
    _nul_refused(upload, "category")
    # In the query, too (for the routes that declare their parameters; the list's filter form
    # refuses NUL on its own).
    assert office.get("/problems", {"q": "a\x00"}).status_code == 400

    problem.refresh_from_db()
    assert problem.title == title
    assert not problem.evidence.exists()


def test_it_names_the_field_of_a_body_that_does_not_fit(world, api_as):
    problem = world.problem()
    response = api_as("office").patch(f"/problems/{problem.pk}", {"title": 5})
    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "title"
    assert body["detail"].startswith("title: ")
    assert body["errors"][0]["loc"][-1] == "title"


def test_it_refuses_a_page_number_out_of_range_with_a_message(world, api_as):
    office = api_as("office")
    for page in ["0", "-1", "99999999999999999999", "1000001", "²", "１"]:
        response = office.get("/problems", {"page": page})
        assert response.status_code == 400, page
        assert response.json()["errors"]["page"] == [response.json()["detail"]]
    assert office.get("/problems", {"page": "1000000"}).json()["results"] == []


def test_it_answers_unknown_api_paths_in_json(world, api_as):
    response = api_as("office").http.get(PREFIX + "/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["detail"]
