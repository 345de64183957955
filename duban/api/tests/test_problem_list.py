"""GET /problems: the list page's filters, sorts and pages, in JSON, at a constant query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from duban.ledger import actions

TODAY = dt.date.today()


@pytest.fixture
def ledger(world):
    world.problem(title="燃煤小锅炉淘汰不到位", ledger_number="第1号", category="air", is_key=True)
    world.problem(
        title="河道黑臭水体反弹",
        ledger_number="第2号",
        category="water",
        deadline=TODAY - dt.timedelta(days=3),
    )
    world.problem(
        title="南浔区垃圾填埋场渗滤液超标",
        ledger_number="第3号",
        category="solid_waste",
        lead_unit=world.housing,
        source="complaint",
        is_sensitive=True,
    )
    actions.assign(
        world.problem(title="餐饮油烟扰民", ledger_number="第4号", category="air"), by=world.office
    )


def page_ids(response) -> list[int]:
    assert response.status_code == 200, response.content.decode()[:2000]
    return [p.pk for p in response.context["problems"]]


def api_ids(response) -> list[int]:
    assert response.status_code == 200, response.content.decode()
    return [p["id"] for p in response.json()["results"]]


@pytest.mark.parametrize("username", ["office", "liaison", "lead_official"])
def test_it_filters_exactly_as_the_list_page_does(world, ledger, api_as, settings, username):
    settings.DUBAN_PAGE_SIZE = 2
    user = getattr(world, username)
    browser = Client()
    browser.force_login(user)
    api = api_as(username)
    queries = [
        "",
        "q=锅炉",
        "q=第2",
        "category=air",
        "category=air&category=water",
        "state=registered",
        "state=assigned&state=registered",
        "pace=behind",
        "pace=not_started&pace=behind",
        "overdue=true",
        "overdue=false",
        f"unit={world.eco.pk}",
        f"region={world.wuxing.code}",
        f"region={world.city.code}",
        "source=complaint",
        "flag=key",
        "flag=sensitive",
        f"inspection={world.inspection.code}",
        f"lead_official={world.lead_official.pk}",
        "sort=-number",
        "sort=deadline",
        "sort=-progress",
        "sort=-number&page=2",
        "category=air&sort=-deadline&page=1",
    ]
    compared = 0
    for query in queries:
        page = browser.get("/ledger/?" + query)
        response = api.http.get("/api/v1/problems?" + query)
        # A region or unit outside the user's scope is refused by both.
        assert response.status_code == page.status_code, query
        if page.status_code == 200:
            assert api_ids(response) == page_ids(page), query
            compared += bool(page_ids(page))
    assert compared >= 15  # most filters matched something: the comparison means something


def test_it_pages_by_number_and_counts_when_asked(world, ledger, api_as, settings):
    settings.DUBAN_PAGE_SIZE = 3
    office = api_as("office")
    first = office.get("/problems", {"sort": "number", "count": "true"}).json()
    second = office.get("/problems", {"sort": "number", "page": 2}).json()
    assert (first["count"], first["page"], first["page_size"]) == (4, 1, 3)
    # Counting reads every matching problem: only when asked.
    assert second["count"] is None and second["page"] == 2 and second["next"] is None
    assert len(first["results"]) == 3 and len(second["results"]) == 1
    assert office.get("/problems", {"page": 3}).json()["results"] == []
    assert office.get("/problems", {"page": "zero"}).status_code == 400


@pytest.mark.parametrize(
    "query",
    ["state=lost", "sort=color", "unit=999999", "inspection=nope", "pace=fast"],
)
def test_it_refuses_a_filter_it_cannot_read_as_the_list_page_does(world, ledger, api_as, query):
    browser = Client()
    browser.force_login(world.office)
    assert browser.get("/ledger/?" + query).status_code == 400
    response = api_as("office").http.get("/api/v1/problems?" + query)
    assert response.status_code == 400
    body = response.json()
    field = query.split("=")[0]
    assert field in body["errors"] and body["detail"]


def test_it_refuses_a_unit_outside_the_liaison_scope_as_the_list_page_does(world, ledger, api_as):
    browser = Client()
    browser.force_login(world.liaison)
    query = f"unit={world.housing.pk}"
    assert browser.get("/ledger/?" + query).status_code == 400
    assert api_as("liaison").http.get("/api/v1/problems?" + query).status_code == 400


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/problems")
        assert response.status_code == 200
    return len(queries)


def test_it_lists_at_a_constant_number_of_queries(world, api_as):
    office = api_as("office")
    units = [world.eco, world.housing]
    for n in range(5):
        world.problem(title=f"问题{n}", lead_unit=units[n % 2])
    office.get("/problems")  # the token's first use is written down once
    few = count_queries(office)
    for n in range(5, 30):
        world.problem(title=f"问题{n}", lead_unit=units[n % 2])
    many = count_queries(office)
    assert office.get("/problems", {"count": "true"}).json()["count"] == 30
    assert few == many
