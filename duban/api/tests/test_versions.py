"""Every change through the API names the version of the problem it was made on: a stale
change is refused (409), one without a version is asked for it (428), as the pages do."""

from duban.ledger.models import Problem


def test_it_gives_the_version_as_an_etag_and_takes_it_back_as_if_match(world, api_as):
    office = api_as("office")
    problem = world.problem()

    read = office.get(f"/problems/{problem.pk}")
    assert read.headers["ETag"] == f'"v{read.json()["version"]}"'

    edited = office.patch(f"/problems/{problem.pk}", {"title": "新标题"}, if_match=read["ETag"])
    assert edited.status_code == 200, edited.content
    assert edited.headers["ETag"] != read["ETag"]
    assert edited.json()["title"] == "新标题"


def test_it_refuses_a_stale_patch_instead_of_overwriting_a_newer_change(world, api_as):
    office, colleague = api_as("office"), api_as("office")
    problem = world.problem()
    seen = office.get(f"/problems/{problem.pk}")["ETag"]
    # given: a colleague changes the title after the office read the problem
    assert colleague.patch(f"/problems/{problem.pk}", {"title": "同事的标题"}).status_code == 200

    stale = office.patch(f"/problems/{problem.pk}", {"title": "我的标题"}, if_match=seen)

    assert stale.status_code == 409
    body = stale.json()
    assert body["field"] == "version" and body["current_version"] == seen_plus(seen, 1)
    # The refusal is in the caller's language (Chinese by default) and names the version now.
    assert "已有他人修改了它" in body["detail"] and str(body["current_version"]) in body["detail"]
    assert Problem.objects.get(pk=problem.pk).title == "同事的标题"


def seen_plus(etag: str, n: int) -> int:
    return int(etag.strip('"').removeprefix("v")) + n


def test_it_asks_for_the_version_when_a_change_names_none(world, api_as):
    office = api_as("office")
    problem = world.problem()

    patched = office.patch(f"/problems/{problem.pk}", {"title": "无版本"}, if_match=None)
    assigned = office.act(problem.pk, "assign", if_match=None)

    for response in (patched, assigned):
        assert response.status_code == 428
        assert response.json()["field"] == "version"
    problem.refresh_from_db()
    assert (problem.title, problem.state) != ("无版本", "assigned")
    assert problem.state == "registered"


def test_it_takes_the_version_in_the_body_too(world, api_as):
    office = api_as("office")
    problem = world.problem()
    version = office.get(f"/problems/{problem.pk}").json()["version"]

    stale = office.act(problem.pk, "assign", {"version": version + 1}, if_match=None)
    assigned = office.act(problem.pk, "assign", {"version": version}, if_match=None)
    patched = office.patch(
        f"/problems/{problem.pk}", {"title": "正文版本", "version": version}, if_match=None
    )

    assert stale.status_code == 409
    assert assigned.status_code == 200 and assigned.json()["state"] == "assigned"
    # The assignment moved the version on: the body's older version is refused.
    assert patched.status_code == 409


def test_it_refuses_a_header_and_a_body_that_disagree_or_a_malformed_header(world, api_as):
    office = api_as("office")
    problem = world.problem()
    version = office.get(f"/problems/{problem.pk}").json()["version"]

    disagree = office.act(problem.pk, "assign", {"version": version}, if_match=f'"v{version + 1}"')
    garbled = office.act(problem.pk, "assign", if_match="yesterday")

    assert disagree.status_code == 400 and disagree.json()["field"] == "version"
    assert garbled.status_code == 400 and garbled.json()["field"] == "version"
    assert Problem.objects.get(pk=problem.pk).state == "registered"


def test_a_stale_version_of_someone_elses_problem_is_still_not_found(world, api_as):
    problem = world.problem()
    response = api_as("outsider").act(problem.pk, "assign", {"version": 99}, if_match=None)
    assert response.status_code == 404


def test_the_document_says_every_change_takes_if_match_and_may_answer_428(api_as):
    document = api_as("office").get("/openapi.json").json()
    for path, method in [
        ("/api/v1/problems/{problem_id}", "patch"),
        ("/api/v1/problems/{problem_id}/actions/claim", "post"),
        ("/api/v1/extensions/{extension_id}/decision", "post"),
        ("/api/v1/evidence/{evidence_id}/review", "post"),
    ]:
        operation = document["paths"][path][method]
        assert "If-Match" in [p["name"] for p in operation["parameters"]], path
        assert {"409", "428"} <= set(operation["responses"]), path
    create = document["paths"]["/api/v1/problems"]["post"]
    assert "428" not in create["responses"]
