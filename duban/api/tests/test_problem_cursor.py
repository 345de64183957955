"""GET /problems by cursor: following `next` walks the filtered, sorted ledger once, in order."""

import base64
import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.ledger.filters import SORTS
from duban.ledger.models import Problem

TODAY = dt.date.today()


@pytest.fixture
def ledger(world, settings):
    """Eleven problems: deadlines with ties, two without a deadline, two units."""
    settings.DUBAN_PAGE_SIZE = 3
    days = [30, 10, 30, 5, 30, 10, 60, 5, 90, None, None]
    for n, days_left in enumerate(days):
        problem = world.problem(
            title=f"问题{n}",
            ledger_number=f"第{n % 4}号",
            lead_unit=world.housing if n % 3 else world.eco,
            deadline=TODAY + dt.timedelta(days=days_left or 1),
        )
        if days_left is None:  # an ongoing task (长期坚持) has no deadline
            Problem.objects.filter(pk=problem.pk).update(
                deadline=None, deadline_by_date=False, deadline_ongoing=True
            )


def walk(client, params) -> list[int]:
    """The ids of every page, following `next` from the first page to the last."""
    response = client.get("/problems", params)
    ids = []
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        ids += [p["id"] for p in body["results"]]
        if body["next"] is None:
            return ids
        assert len(body["results"]) == body["page_size"]
        response = client.http.get(body["next"])


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_following_next_walks_every_problem_once_in_the_sort_order(ledger, api_as, sort):
    office = api_as("office")
    expected = list(Problem.objects.order_by(*SORTS[sort]).values_list("id", flat=True))
    assert walk(office, {"sort": sort}) == expected


def test_the_cursor_keeps_the_filters_of_the_first_page(world, ledger, api_as):
    office = api_as("office")
    filtered = {"unit": world.housing.pk, "sort": "-deadline"}
    expected = list(
        Problem.objects.filter(lead_unit=world.housing)
        .order_by(*SORTS["-deadline"])
        .values_list("id", flat=True)
    )
    assert len(expected) > 3
    assert walk(office, filtered) == expected


def test_problems_added_during_a_walk_are_neither_repeated_nor_make_it_skip(world, ledger, api_as):
    office = api_as("office")
    before = set(Problem.objects.values_list("id", flat=True))
    first = office.get("/problems", {"sort": "deadline"}).json()
    seen = [p["id"] for p in first["results"]]
    # New problems sort before the page just read (the earliest deadline) and after it.
    world.problem(title="新增一", deadline=TODAY)
    world.problem(title="新增二", deadline=TODAY + dt.timedelta(days=365))
    response = office.http.get(first["next"])
    while True:
        body = response.json()
        seen += [p["id"] for p in body["results"]]
        if body["next"] is None:
            break
        response = office.http.get(body["next"])
    assert len(seen) == len(set(seen))
    assert before <= set(seen)
    assert len(seen) == len(before) + 1  # the one sorted after the first page is reached


def test_a_deep_page_by_cursor_costs_the_queries_of_the_first(ledger, api_as):
    office = api_as("office")
    office.get("/problems")  # the token's first use is written down once
    with CaptureQueriesContext(connection) as first:
        body = office.get("/problems", {"sort": "-updated"}).json()
    for _step in range(2):
        with CaptureQueriesContext(connection) as deep:
            body = office.http.get(body["next"]).json()
    assert len(deep) == len(first)


def encode(data) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not a cursor!"},
        {"cursor": encode(["a list"])},
        {"cursor": encode({"o": ["deadline", "id"], "k": ["someday", 3]}), "sort": "deadline"},
        {"cursor": encode({"o": ["id"], "k": [None]})},
        {"cursor": encode({"o": ["id"], "k": [1, 2]})},
        # A cursor of another sort order.
        {"cursor": encode({"o": ["deadline", "id"], "k": ["2030-01-01", 3]}), "sort": "number"},
        {"cursor": encode({"o": ["id"], "k": [3]}), "page": "2"},
    ],
)
def test_it_refuses_a_cursor_it_did_not_make_with_a_clear_message(ledger, api_as, params):
    response = api_as("office").get("/problems", params)
    assert response.status_code == 400
    body = response.json()
    assert body["errors"]["cursor"] == [body["detail"]]
    assert "cursor" in body["detail"]


def test_it_counts_only_when_asked(ledger, api_as):
    office = api_as("office")
    assert office.get("/problems").json()["count"] is None
    assert office.get("/problems", {"count": "true"}).json()["count"] == 11
    refused = office.get("/problems", {"count": "yes please"})
    assert refused.status_code == 400 and "count" in refused.json()["errors"]


def test_a_cursor_opens_nothing_outside_the_callers_scope(world, ledger, api_as):
    office, other = api_as("office"), api_as("other_liaison")  # 南浔区's liaison
    cursor = office.get("/problems").json()["next"].split("cursor=")[1]
    shown = {p["id"] for p in other.get("/problems", {"cursor": cursor}).json()["results"]}
    theirs = set(Problem.objects.filter(lead_unit=world.housing).values_list("id", flat=True))
    assert shown and shown <= theirs
