"""The ledger list page: scope, every filter, the summary by pace, paging, query count."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from duban.ledger import actions
from duban.ledger.models import Problem
from duban.org.models import Membership, Role, Unit, UnitKind
from duban.testing import PASSWORD

URL = "/ledger/"  # not reverse() at import: collection must not load the URLconf
TODAY = dt.date.today()


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The world creates a dozen users; the production hasher takes most of a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def client_for(client, user):
    client.force_login(user)
    return client


def listed(response) -> set[str]:
    """Titles of the problems on the page."""
    assert response.status_code == 200, response.content.decode()[:2000]
    return {p.title for p in response.context["problems"]}


@pytest.fixture
def ledger(world):
    """A small ledger: problems in two districts, states, paces, flags, categories."""
    return {
        "boiler": world.problem(
            title="燃煤小锅炉淘汰不到位", ledger_number="第1号", category="air", is_key=True
        ),
        "river": world.problem(
            title="河道黑臭水体反弹",
            ledger_number="第2号",
            category="water",
            deadline=TODAY - dt.timedelta(days=3),  # overdue, therefore behind
        ),
        "landfill": world.problem(
            title="南浔区垃圾填埋场渗滤液超标",
            ledger_number="第3号",
            category="solid_waste",
            lead_unit=world.housing,
            source="complaint",
            is_sensitive=True,
        ),
        "assigned": actions.assign(
            world.problem(title="餐饮油烟扰民", ledger_number="第4号", category="air"),
            by=world.office,
        ),
    }


def test_it_shows_the_office_every_problem_of_its_region(client, world, ledger):
    response = client_for(client, world.office).get(URL)
    assert listed(response) == {p.title for p in ledger.values()}
    html = response.content.decode()
    assert reverse("ledger:problem_detail", args=[ledger["boiler"].pk]) in html
    assert "light-red" in html and "light-grey" in html


def test_it_shows_a_liaison_only_the_problems_of_his_unit(client, world, ledger):
    titles = listed(client_for(client, world.liaison).get(URL))
    assert titles == {"燃煤小锅炉淘汰不到位", "河道黑臭水体反弹", "餐饮油烟扰民"}


def test_it_shows_the_other_liaison_only_the_problem_of_the_other_district(client, world, ledger):
    assert listed(client_for(client, world.other_liaison).get(URL)) == {
        "南浔区垃圾填埋场渗滤液超标"
    }


def test_it_shows_the_lead_official_the_problems_he_leads(client, world, ledger):
    assert len(listed(client_for(client, world.lead_official).get(URL))) == 4


@pytest.mark.parametrize("role", ["auditor", "sysadmin", "outsider"])
def test_it_shows_an_empty_ledger_to_users_without_a_business_role(client, world, ledger, role):
    response = client_for(client, getattr(world, role)).get(URL)
    assert listed(response) == set()
    assert "您的权限范围内没有问题。" in response.content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(client, world):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "assigned"}, {"餐饮油烟扰民"}),
        (
            {"state": ["assigned", "registered"]},
            {
                "燃煤小锅炉淘汰不到位",
                "河道黑臭水体反弹",
                "南浔区垃圾填埋场渗滤液超标",
                "餐饮油烟扰民",
            },
        ),
        ({"pace": "behind"}, {"河道黑臭水体反弹"}),
        (
            {"pace": "not_started"},
            {"燃煤小锅炉淘汰不到位", "南浔区垃圾填埋场渗滤液超标", "餐饮油烟扰民"},
        ),
        ({"overdue": "true"}, {"河道黑臭水体反弹"}),
        (
            {"overdue": "false"},
            {"燃煤小锅炉淘汰不到位", "南浔区垃圾填埋场渗滤液超标", "餐饮油烟扰民"},
        ),
        ({"region": "330503"}, {"南浔区垃圾填埋场渗滤液超标"}),
        ({"category": "air"}, {"燃煤小锅炉淘汰不到位", "餐饮油烟扰民"}),
        (
            {"category": ["water", "solid_waste"]},
            {"河道黑臭水体反弹", "南浔区垃圾填埋场渗滤液超标"},
        ),
        ({"source": "complaint"}, {"南浔区垃圾填埋场渗滤液超标"}),
        ({"flag": "key"}, {"燃煤小锅炉淘汰不到位"}),
        ({"flag": "sensitive"}, {"南浔区垃圾填埋场渗滤液超标"}),
        ({"q": "填埋场"}, {"南浔区垃圾填埋场渗滤液超标"}),
        ({"q": "第2号"}, {"河道黑臭水体反弹"}),
        ({"q": "没有这个问题"}, set()),
    ],
)
def test_it_filters_the_ledger(client, world, ledger, query, expected):
    assert listed(client_for(client, world.office).get(URL, query)) == expected


def test_it_filters_by_unit_including_co_operating_units(client, world, ledger):
    actions.create_problem(
        by=world.office,
        inspection=world.inspection,
        co_units=[world.housing],
        fields={
            "feedback_text": "督察发现",
            "title": "建筑工地扬尘",
            "region": world.wuxing,
            "lead_unit": world.eco,
            "deadline": TODAY + dt.timedelta(days=90),
        },
    )
    office = client_for(client, world.office)
    assert listed(office.get(URL, {"unit": world.housing.pk})) == {
        "南浔区垃圾填埋场渗滤液超标",
        "建筑工地扬尘",
    }


def test_it_filters_by_inspection(client, world, ledger):
    from duban.inspections.models import Inspection

    other = Inspection.objects.create(
        code="provincial-test",
        name="省级生态环境保护督察",
        kind="provincial",
        target_region=world.city,
        feedback_date=TODAY,
    )
    actions.create_problem(
        by=world.office,
        inspection=other,
        fields={
            "feedback_text": "省督察发现",
            "title": "矿山生态修复滞后",
            "region": world.wuxing,
            "lead_unit": world.eco,
            "deadline": TODAY + dt.timedelta(days=90),
        },
    )
    office = client_for(client, world.office)
    assert listed(office.get(URL, {"inspection": "provincial-test"})) == {"矿山生态修复滞后"}
    assert "矿山生态修复滞后" not in listed(office.get(URL, {"inspection": world.inspection.code}))


def test_it_filters_by_lead_official(client, world, ledger):
    office = client_for(client, world.office)
    assert len(listed(office.get(URL, {"lead_official": world.lead_official.pk}))) == 4
    # Someone who is not a lead official of the scope is a filter error, and no name comes back.
    response = office.get(URL, {"lead_official": world.liaison.pk})
    assert response.status_code == 400 and list(response.context["problems"]) == []


def test_it_does_not_tell_anyone_the_name_behind_a_user_id(client, world, ledger):
    world.sysadmin.display_name = "郑磊"
    world.sysadmin.save()
    response = client_for(client, world.outsider).get(URL, {"lead_official": world.sysadmin.pk})
    assert response.status_code == 400
    assert "郑磊" not in response.content.decode()


def test_it_offers_only_units_in_the_users_scope(client, world, ledger):
    page = client_for(client, world.other_liaison).get(URL).content.decode()
    # The closed filter panel fetches its fields when opened.
    assert "part=filters" in page
    response = client.get(URL, {"part": "filters"})
    units = set(response.context["form"].fields["unit"].queryset)
    assert world.housing in units and world.eco not in units
    html = response.content.decode()
    assert world.housing.name in html and world.eco.name not in html


def test_it_shows_the_filters_in_use_and_keeps_them_for_a_new_search(client, world, ledger):
    office = client_for(client, world.office)
    html = office.get(URL, {"category": "air", "overdue": "false"}).content.decode()
    # A chip per filter in use, each with a link that removes it alone.
    assert 'class="chips"' in html
    assert "大气" in html and "?overdue=false" in html and "?category=air" in html
    # Until the panel is opened its fields travel as hidden inputs, so a search keeps them.
    assert '<input type="hidden" name="category" value="air">' in html
    fields = office.get(URL, {"category": "air", "part": "filters"}).content.decode()
    assert 'name="category" value="air" id="id_category_0" checked' in fields


@pytest.mark.parametrize(
    "query",
    [
        {"state": "burnt"},
        {"pace": "fast"},
        {"overdue": "maybe"},
        {"unit": "abc"},
        {"region": "999999"},
        {"sort": "salary"},
        {"inspection": "no-such-round"},
    ],
)
def test_it_reports_a_bad_filter_and_lists_nothing(client, world, ledger, query):
    response = client_for(client, world.office).get(URL, query)
    assert response.status_code == 400
    assert response.context["problems"] == [] or not list(response.context["problems"])
    html = response.content.decode()
    assert "部分筛选条件无法识别" in html
    assert 'class="alert alert-error"' in html


def _summary(client, query):
    """The counts by pace that the page fetches right after it loads (?part=summary)."""
    page = client.get(URL, query).content.decode()
    assert 'hx-trigger="load"' in page and "part=summary" in page
    return client.get(URL, {**query, "part": "summary"})


def test_it_counts_problems_by_pace_for_the_current_filter(client, world, ledger):
    office = client_for(client, world.office)
    response = _summary(office, {"category": "air"})
    counts = {item["value"]: item["count"] for item in response.context["summary"]}
    assert counts["not_started"] == 2 and counts["behind"] == 0
    # The summary ignores the pace filter itself so every light stays clickable.
    response = _summary(office, {"pace": "behind"})
    counts = {item["value"]: item["count"] for item in response.context["summary"]}
    assert counts == {
        "not_started": 3,
        "behind": 1,
        "on_pace": 0,
        "ahead": 0,
        "done": 0,
        "closed": 0,
    }
    assert response.context["total"] == 1
    html = response.content.decode()
    assert "pace=behind" in html and "part=summary" not in html
    assert len(office.get(URL, {"pace": "behind"}).context["problems"]) == 1


def test_it_sorts_by_deadline(client, world, ledger):
    office = client_for(client, world.office)
    ordered = [p.title for p in office.get(URL, {"sort": "deadline"}).context["problems"]]
    assert ordered[0] == "河道黑臭水体反弹"
    ordered = [p.title for p in office.get(URL, {"sort": "-deadline"}).context["problems"]]
    assert ordered[-1] == "河道黑臭水体反弹"


def test_it_pages_the_ledger(client, world, settings):
    settings.DUBAN_PAGE_SIZE = 3
    for n in range(7):
        world.problem(title=f"问题{n}", ledger_number=f"第{n}号")
    office = client_for(client, world.office)
    first = office.get(URL)
    assert len(first.context["problems"]) == 3
    assert first.context["page"]["has_next"] and not first.context["page"]["has_previous"]
    last = office.get(URL, {"page": 3})
    assert [p.title for p in last.context["problems"]] == ["问题6"]
    assert not last.context["page"]["has_next"]
    assert "page=2" in last.content.decode()


def test_it_renders_only_the_results_for_htmx(client, world, ledger):
    response = client_for(client, world.office).get(
        URL, {"state": "assigned"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "<html" not in html and "餐饮油烟扰民" in html


def _make_problems(world, count):
    for n in range(count):
        problem = world.problem(
            title=f"批量问题{n}",
            ledger_number=f"第{100 + n}号",
            lead_unit=world.housing if n % 2 else world.eco,
            is_key=bool(n % 3),
        )
        if n % 4 == 0:
            actions.assign(problem, by=world.office)


def _queries_for_list(client):
    client.get(URL)  # warm up: session, caches
    with CaptureQueriesContext(connection) as queries:
        response = client.get(URL)
    assert response.status_code == 200
    return len(queries), len(response.context["problems"])


def test_it_uses_the_same_number_of_queries_for_5_and_30_problems(client, world):
    office = client_for(client, world.office)
    _make_problems(world, 5)
    few, rows_few = _queries_for_list(office)
    _make_problems(world, 25)
    many, rows_many = _queries_for_list(office)
    assert (rows_few, rows_many) == (5, 30)
    assert few == many


def test_it_shows_a_new_problem_link_only_to_the_office(client, world):
    create = reverse("ledger:problem_create")
    assert create in client_for(client, world.office).get(URL).content.decode()
    client.logout()
    assert create not in client_for(client, world.liaison).get(URL).content.decode()


def test_it_gives_everyone_the_same_counts_as_the_database(client, world, ledger):
    for user in (world.office, world.liaison, world.other_liaison, world.lead_official):
        response = _summary(client_for(client, user), {})
        assert response.context["summary_all"] == Problem.objects.visible_to(user).count()


def test_it_lists_problems_of_units_below_a_liaisons_unit(client, world):
    team = Unit.objects.create(
        name="吴兴分局执法大队", kind=UnitKind.DEPARTMENT, region=world.wuxing, parent=world.eco
    )
    world.problem(title="执法大队问题", lead_unit=team)
    world.problem(title="分局问题")
    team_liaison = type(world.liaison).objects.create_user("team", password=PASSWORD)
    Membership.objects.create(user=team_liaison, unit=team, role=Role.LIAISON)
    assert listed(client_for(client, world.liaison).get(URL)) == {"执法大队问题", "分局问题"}
    client.logout()
    assert listed(client_for(client, team_liaison).get(URL)) == {"执法大队问题"}


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999999999999999999", "1000001", "²"])
def test_it_shows_the_first_page_for_a_page_number_it_cannot_use(client, world, ledger, page):
    client_for(client, world.office)
    response = client.get("/ledger/", {"page": page})
    assert listed(response) == {p.title for p in ledger.values()}
    assert response.context["page"]["number"] == 1
