from duban.api.api import api_route_inventory
from duban.ledger.transitions import TRANSITIONS


def test_it_has_a_route_for_every_transition(world):
    routes = set(api_route_inventory())
    for name in TRANSITIONS:
        assert ("POST", f"/api/v1/problems/{{problem_id}}/actions/{name}") in routes, name


def test_it_lists_every_route_of_the_api(world):
    routes = set(api_route_inventory())
    assert {
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/docs"),
        ("GET", "/api/v1/inspections"),
        ("GET", "/api/v1/problems"),
        ("POST", "/api/v1/problems"),
        ("GET", "/api/v1/problems/{problem_id}"),
        ("PATCH", "/api/v1/problems/{problem_id}"),
        ("GET", "/api/v1/problems/{problem_id}/timeline"),
        ("POST", "/api/v1/problems/{problem_id}/actions/{name}"),
        ("POST", "/api/v1/extensions/{extension_id}/decision"),
        ("GET", "/api/v1/evidence/{evidence_id}/file"),
        ("POST", "/api/v1/evidence/{evidence_id}/review"),
    } <= routes
    for method, path in routes:
        assert method in {"GET", "POST", "PATCH"} and path.startswith("/api/v1/")


def test_it_answers_404_out_of_scope_before_looking_at_the_body(world, api_as):
    problem = world.problem()
    other = api_as("other_liaison")
    # An empty body does not fit save_plan; scope is decided first all the same.
    assert other.act(problem.pk, "save_plan", {}).status_code == 404
    assert api_as("liaison").act(problem.pk, "save_plan", {}).status_code == 400
    upload = other.upload(f"/problems/{problem.pk}/actions/upload_evidence", {})
    assert upload.status_code == 404
