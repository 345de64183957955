import pytest

from duban.ledger.models import Extension

NOBODY = ["auditor", "sysadmin", "outsider"]


def test_it_shows_the_liaison_its_own_problem_and_not_another_district(world, api_as):
    problem = world.problem()
    liaison, other = api_as("liaison"), api_as("other_liaison")

    assert [p["id"] for p in liaison.get("/problems").json()["results"]] == [problem.pk]
    assert liaison.get(f"/problems/{problem.pk}").status_code == 200
    assert other.get("/problems", {"count": "true"}).json() == {
        "count": 0,
        "page": 1,
        "page_size": 50,
        "next": None,
        "results": [],
    }

    missing = other.get("/problems/999999")
    for path in [f"/problems/{problem.pk}", f"/problems/{problem.pk}/timeline"]:
        response = other.get(path)
        assert response.status_code == 404
        assert response.json() == missing.json()  # the same answer as for an id that does not exist


@pytest.mark.parametrize("username", NOBODY)
def test_it_shows_no_business_data_to_auditor_sysadmin_or_outsider(world, api_as, username):
    problem = world.problem()
    caller = api_as(username)
    assert caller.get("/problems").json()["results"] == []
    assert caller.get("/inspections").json() == []
    assert caller.get(f"/problems/{problem.pk}").status_code == 404
    assert caller.get(f"/problems/{problem.pk}/timeline").status_code == 404
    assert caller.act(problem.pk, "assign").status_code == 404


def test_it_answers_404_not_403_for_actions_outside_scope(world, api_as):
    problem = world.problem()
    api_as("office").act(problem.pk, "assign")
    response = api_as("other_liaison").act(problem.pk, "claim")
    assert response.status_code == 404
    problem.refresh_from_db()
    assert problem.state == "assigned"


def test_it_answers_403_when_a_role_may_see_but_not_act(world, api_as):
    problem = world.problem()
    response = api_as("liaison").act(problem.pk, "assign")
    assert response.status_code == 403
    assert response.json()["detail"]


def test_it_answers_409_for_an_action_in_the_wrong_state(world, api_as):
    problem = world.problem()
    response = api_as("liaison").act(problem.pk, "claim")
    assert response.status_code == 409


def test_it_answers_400_naming_the_field_for_invalid_input(world, api_as):
    problem = world.problem()
    office, liaison = api_as("office"), api_as("liaison")
    office.act(problem.pk, "assign")
    liaison.act(problem.pk, "claim")
    response = liaison.act(problem.pk, "save_plan", {"target": " ", "measures": [{"text": "x"}]})
    assert response.status_code == 400
    assert response.json()["field"] == "target"
    # A body that does not fit the schema is a 400 as well.
    assert liaison.act(problem.pk, "save_plan", {"target": 3}).status_code == 400


def test_it_answers_404_for_an_unknown_action(world, api_as):
    problem = world.problem()
    response = api_as("office").act(problem.pk, "delete_everything")
    assert response.status_code == 404


def test_it_decides_extensions_only_inside_scope(world, api_as):
    import datetime as dt

    problem = world.problem()
    office, liaison = api_as("office"), api_as("liaison")
    office.act(problem.pk, "assign")
    liaison.act(problem.pk, "claim")
    asked = liaison.act(
        problem.pk,
        "request_extension",
        {
            "reasons": "设备采购周期长",
            "efforts": "已完成排查",
            "roadmap": "三个月内完成淘汰",
            "new_deadline": (problem.deadline + dt.timedelta(days=90)).isoformat(),
        },
    )
    assert asked.status_code == 200, asked.content
    extension = Extension.objects.get(problem=problem)

    assert (
        api_as("other_liaison")
        .post(f"/extensions/{extension.pk}/decision", {"approve": True}, problem=problem.pk)
        .status_code
        == 404
    )
    assert (
        liaison.post(
            f"/extensions/{extension.pk}/decision", {"approve": True}, problem=problem.pk
        ).status_code
        == 403
    )
    decided = office.post(
        f"/extensions/{extension.pk}/decision",
        {"approve": True, "note": "同意"},
        problem=problem.pk,
    )
    assert decided.status_code == 200, decided.content
    assert decided.json()["status"] == "approved"
    detail = office.get(f"/problems/{problem.pk}").json()
    assert detail["deadline"] == extension.new_deadline.isoformat()
    assert detail["extensions"][0]["decided_by"]["id"] == world.office.pk
