"""API answers carry a person's ledger: no cache keeps them, success or refusal."""

import pytest

pytestmark = pytest.mark.django_db


def test_it_keeps_api_answers_out_of_every_cache(world, api_as):
    problem = world.problem()
    office, outsider = api_as("office"), api_as("other_liaison")

    for response in (
        office.get("/problems"),
        office.get(f"/problems/{problem.pk}"),
        outsider.get(f"/problems/{problem.pk}"),
    ):
        assert "no-store" in response["Cache-Control"], response.status_code
    assert outsider.get(f"/problems/{problem.pk}").status_code == 404
