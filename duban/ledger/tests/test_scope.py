"""Who sees which problem: Problem.objects.visible_to and the getters that answer 404."""

import pytest
from django.http import Http404

from duban.accounts.models import User
from duban.ledger import actions
from duban.ledger.models import Problem
from duban.ledger.selectors import get_evidence_for_user, get_problem_for_user
from duban.org.models import Region, Role, Unit, UnitKind

from .flow import member, pdf, problem_in


@pytest.fixture
def ledger(world):
    """Five problems around 吴兴 and 南浔, named by what makes them interesting."""
    sub_unit = Unit.objects.create(
        name="吴兴分局织里所", kind=UnitKind.DEPARTMENT, region=world.wuxing, parent=world.eco
    )
    other_official = member("other_official", world.eco, Role.LEAD_OFFICIAL)
    problems = {
        "eco": world.problem(ledger_number="1"),
        "housing": world.problem(ledger_number="2", lead_unit=world.housing),
        "eco_co_operates": actions.create_problem(
            by=world.office,
            inspection=world.inspection,
            fields={
                "feedback_text": "南浔区河道污染",
                "title": "河道黑臭",
                "ledger_number": "3",
                "region": world.nanxun,
                "lead_unit": world.housing,
                "deadline": world.inspection.feedback_date,
            },
            co_units=[world.eco],
        ),
        "sub_unit": world.problem(ledger_number="4", lead_unit=sub_unit, lead_official=None),
        "other_official": world.problem(ledger_number="5", lead_official=other_official),
    }
    return problems, sub_unit


def visible(user, problems) -> set[str]:
    pks = set(Problem.objects.visible_to(user).values_list("pk", flat=True))
    return {name for name, p in problems.items() if p.pk in pks}


ALL = {"eco", "housing", "eco_co_operates", "sub_unit", "other_official"}
WUXING = {"eco", "sub_unit", "other_official"}
EXPECTED = {
    "office": ALL,  # the city office sees its whole region
    "city_acceptor": ALL,
    "discipline": ALL,
    "viewer": ALL,
    "county_acceptor": WUXING,  # the 吴兴 acceptance team sees 吴兴 only
    "liaison": {"eco", "eco_co_operates", "sub_unit", "other_official"},
    "unit_head": {"eco", "eco_co_operates", "sub_unit", "other_official"},
    "other_liaison": {"housing", "eco_co_operates"},
    "lead_official": {"eco", "housing"},  # only the problems he leads, wherever they are
    "auditor": set(),  # 三员分立: no business data
    "sysadmin": set(),
    "outsider": set(),
}


@pytest.mark.parametrize("username", list(EXPECTED))
def test_it_shows_each_role_its_own_scope(world, ledger, username):
    problems, _ = ledger
    assert visible(world.users[username], problems) == EXPECTED[username]


def test_it_covers_every_user_of_the_world():
    from duban.testing import ROLE_USERS

    assert {u for u, _, _ in ROLE_USERS} | {"outsider"} == set(EXPECTED)


def test_it_limits_county_discipline_and_viewers_to_their_county(world, ledger):
    problems, _ = ledger
    county_unit = Unit.objects.create(
        name="吴兴区纪委监委", kind=UnitKind.DISCIPLINE, region=world.wuxing
    )
    for role in (Role.DISCIPLINE, Role.VIEWER, Role.OFFICE):
        user = member(f"wuxing_{role}", county_unit, role)
        assert visible(user, problems) == WUXING, role


def test_it_shows_a_sub_units_liaison_only_its_own_problems(world, ledger):
    problems, sub_unit = ledger
    sub_liaison = member("sub_liaison", sub_unit, Role.LIAISON)
    assert visible(sub_liaison, problems) == {"sub_unit"}


def test_it_lets_a_co_operating_unit_see_but_not_act(world, ledger):
    problems, _ = ledger
    problem = problems["eco_co_operates"]
    actions.assign(problem, by=world.office)
    with pytest.raises(actions.NotAllowed):
        actions.claim(problem, by=world.liaison)
    actions.claim(problem, by=world.other_liaison)


def test_it_shows_nothing_to_an_inactive_user(world, ledger):
    problems, _ = ledger
    User.objects.filter(pk=world.liaison.pk).update(is_active=False)
    liaison = User.objects.get(pk=world.liaison.pk)
    assert visible(liaison, problems) == set()
    assert actions.allowed_actions(problems["eco"], liaison) == []


def test_it_shows_nothing_to_an_anonymous_user(ledger):
    from django.contrib.auth.models import AnonymousUser

    problems, _ = ledger
    assert visible(AnonymousUser(), problems) == set()


def test_it_answers_not_found_outside_the_scope(world, ledger):
    problems, _ = ledger
    eco = problems["eco"]
    assert get_problem_for_user(world.liaison, eco.pk) == eco
    assert get_problem_for_user(world.office, str(eco.pk)) == eco
    for user in (world.other_liaison, world.outsider, world.auditor, world.sysadmin):
        with pytest.raises(Http404):
            get_problem_for_user(user, eco.pk)
    for missing in (999999, "abc", None):
        with pytest.raises(Http404):
            get_problem_for_user(world.office, missing)


def test_it_answers_not_found_for_files_outside_the_scope(world):
    problem = problem_in(world, "in_progress")
    [evidence] = actions.upload_evidence(
        problem, by=world.liaison, files=[pdf()], category="整改报告"
    )

    assert get_evidence_for_user(world.liaison, evidence.pk) == evidence
    assert get_evidence_for_user(world.county_acceptor, evidence.pk) == evidence
    for user in (world.other_liaison, world.outsider, world.auditor, world.sysadmin):
        with pytest.raises(Http404):
            get_evidence_for_user(user, evidence.pk)
    with pytest.raises(Http404):
        get_evidence_for_user(world.office, evidence.pk + 1000)


def test_it_shows_child_problems_to_the_units_that_work_on_them(world):
    zhili = Region.objects.create(
        code="330502100", name="织里镇", level="township", parent=world.wuxing
    )
    town = Unit.objects.create(name="织里镇人民政府", kind=UnitKind.GOVERNMENT, region=zhili)
    town_liaison = member("town_liaison", town, Role.LIAISON)
    sub_unit = Unit.objects.create(
        name="吴兴分局织里所", kind=UnitKind.DEPARTMENT, region=zhili, parent=world.eco
    )
    parent = world.problem()
    town_child, sub_child = actions.split_problem(
        parent, by=world.office, children=[{"lead_unit": town}, {"lead_unit": sub_unit}]
    )

    def sees(user):
        pks = set(Problem.objects.visible_to(user).values_list("pk", flat=True))
        return {
            name
            for name, p in [("parent", parent), ("town", town_child), ("sub", sub_child)]
            if p.pk in pks
        }

    assert sees(town_liaison) == {"town"}
    assert sees(world.liaison) >= {"parent", "sub"}  # 纵向到底: a unit below 吴兴分局
    assert sees(world.office) == {"parent", "town", "sub"}
    assert sees(world.county_acceptor) == {"parent", "town", "sub"}
    assert sees(world.lead_official) == {"parent", "town", "sub"}  # the children keep their leader
    assert sees(world.other_liaison) == set()
