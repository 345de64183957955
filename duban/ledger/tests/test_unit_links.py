"""The unit links' copies of their problem's state and deadline, and the list they serve.

A unit filter ("this unit or any under it, in any role") is read off ProblemUnit, which
keeps a copy of each problem's state and deadline (LINK_FIELDS) so the list filtered by
unit and sorted by deadline is read off one index. These tests check that the copies
equal the problem's values after every kind of action, and that the list read off the
links gives exactly the rows, in the same order, as the plain query over the problems:
ties, missing deadlines (which each database sorts in its own place) and pages included.
"""

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from duban.ledger import actions
from duban.ledger.filters import LINK_SORTS, ProblemFilterForm
from duban.ledger.models import (
    LINK_FIELDS,
    NoticeStatus,
    Problem,
    ProblemUnit,
    PublicNotice,
    State,
)
from duban.org.models import Membership, Role, Unit, UnitKind

from .flow import ORDER, Cast, advance, member, problem_in

pytestmark = pytest.mark.django_db


def assert_copies_fresh():
    """Every unit link holds its problem's state and deadline."""
    problems = {p["pk"]: p for p in Problem.objects.values("pk", *LINK_FIELDS)}
    links = list(ProblemUnit.objects.values("problem_id", *LINK_FIELDS))
    assert links
    for link in links:
        problem = problems[link["problem_id"]]
        assert [link[f] for f in LINK_FIELDS] == [problem[f] for f in LINK_FIELDS], link


def test_the_copies_follow_every_step_of_a_problems_life(world):
    cast = Cast(world)
    problem = world.problem()
    assert_copies_fresh()
    for state in ORDER[1:]:
        advance(problem, cast, state)
        assert_copies_fresh()
    assert ProblemUnit.objects.filter(problem=problem, state=State.CLOSED).exists()


def test_the_copies_follow_progress_extensions_returns_and_rejections(world):
    cast = Cast(world)
    today = timezone.localdate()
    problem = problem_in(world, State.IN_PROGRESS, deadline=today + dt.timedelta(days=30))
    actions.report_progress(problem, by=world.liaison, period="一月", text="拆除过半", percent=60)
    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="汛期",
        efforts="已排查",
        new_deadline=today + dt.timedelta(days=300),
        roadmap="年底前完成",
    )
    actions.decide_extension(extension, by=world.office, approve=True)
    assert_copies_fresh()
    assert ProblemUnit.objects.filter(deadline=today + dt.timedelta(days=300)).exists()
    advance(problem, cast, State.UNDER_ACCEPTANCE)
    actions.return_application(
        problem, by=world.county_acceptor, site_check="仍有锅炉", reasons="未拆完"
    )
    assert_copies_fresh()
    rejected = problem_in(world, State.PLAN_SUBMITTED)
    actions.reject_plan(rejected, by=world.office, reasons="措施不具体")
    assert_copies_fresh()


def test_the_copies_follow_an_edit_of_the_deadline_and_the_units(world):
    problem = world.problem()
    actions.update_problem(
        problem, by=world.office, fields={"deadline": timezone.localdate() + dt.timedelta(days=9)}
    )
    assert_copies_fresh()
    actions.update_problem(
        problem,
        by=world.office,
        fields={"deadline": None, "deadline_by_date": False, "deadline_ongoing": True},
        co_units=[world.housing],
    )
    assert ProblemUnit.objects.filter(problem=problem, deadline=None).count() == 2
    assert_copies_fresh()
    actions.update_problem(
        problem, by=world.office, fields={"region": world.nanxun, "lead_unit": world.housing}
    )
    assert_copies_fresh()


def test_the_copies_are_made_by_an_import_a_split_and_a_rebound(world):
    from .test_register_many import item_for

    items = [item_for(world, ledger_number=f"第{n}号") for n in range(9)]
    actions.register_problems(
        by=world.office, inspection=world.inspection, items=items, batch_size=4
    )
    assert_copies_fresh()
    parent = world.problem(region=world.city)
    children = actions.split_problem(
        parent, by=world.office, children=[{"lead_unit": world.eco}, {"lead_unit": world.housing}]
    )
    assert all(c.state == State.ASSIGNED for c in children)
    assert_copies_fresh()
    closed = problem_in(world, State.CLOSED)
    membership = Membership.objects.get(user=world.office, role=Role.OFFICE)
    actions.reopen_after_rebound(closed, by=world.office, membership=membership, reason="又冒烟")
    assert closed.state == State.IN_PROGRESS
    assert_copies_fresh()


def test_the_copies_follow_the_sweeps_batch_close(world):
    for _n in range(3):
        problem_in(world, State.PUBLIC_NOTICE)
    notices = list(PublicNotice.objects.filter(status=NoticeStatus.OPEN).select_related("problem"))
    today = max(n.ends_on for n in notices) + dt.timedelta(days=1)
    with transaction.atomic():
        closed = actions.close_after_notices(notices, today=today)
    assert len(closed) == 3
    assert ProblemUnit.objects.filter(state=State.CLOSED).count() >= 3
    assert_copies_fresh()


# --- the list read off the links ------------------------------------------------------------


@pytest.fixture
def ledger(world):
    """A county government with a department under it, and problems linked to them in
    several roles and states, with tied and missing deadlines."""
    gov = Unit.objects.create(name="吴兴区人民政府", kind=UnitKind.GOVERNMENT, region=world.wuxing)
    bureau = Unit.objects.create(
        name="吴兴区水利局", kind=UnitKind.DEPARTMENT, region=world.wuxing, parent=gov
    )
    world.gov, world.bureau = gov, bureau
    casts = {
        world.eco.pk: Cast(world),
        world.housing.pk: Cast(world, liaison=world.other_liaison),
        gov.pk: Cast(world, liaison=member("gov_liaison", gov, Role.LIAISON)),
        bureau.pk: Cast(world, liaison=member("bureau_liaison", bureau, Role.LIAISON)),
    }
    today = timezone.localdate()
    tied = today + dt.timedelta(days=40)
    plan = [
        # (lead unit, co units, deadline or None for none, state)
        (bureau, [gov], tied, State.IN_PROGRESS),
        (bureau, [], tied, State.IN_PROGRESS),
        (world.eco, [bureau], tied, State.IN_PROGRESS),
        (gov, [bureau], None, State.IN_PROGRESS),
        (bureau, [], None, State.IN_PROGRESS),
        (world.eco, [gov], today + dt.timedelta(days=5), State.IN_PROGRESS),
        (bureau, [world.housing], today + dt.timedelta(days=90), State.IN_PROGRESS),
        (gov, [], today + dt.timedelta(days=20), State.REGISTERED),
        (bureau, [], None, State.ASSIGNED),
        (world.eco, [], tied, State.IN_PROGRESS),  # not linked to the government
        (world.housing, [bureau], today + dt.timedelta(days=7), State.IN_PROGRESS),
    ]
    for index, (lead, co, deadline, state) in enumerate(plan):
        problem = world.problem(
            lead_unit=lead, region=lead.region, ledger_number=f"第{index}号", title=f"问题{index}"
        )
        fields = {"deadline": deadline}
        if deadline is None:
            fields.update(deadline_by_date=False, deadline_ongoing=True)
        actions.update_problem(problem, by=world.office, fields=fields, co_units=co)
        advance(problem, casts[lead.pk], state)
    assert_copies_fresh()
    return world


# Users whose scope is regions alone: the links answer for them.
REGION_USERS = ("office", "county_acceptor")


def plain_ids(form, user):
    return list(form.apply(Problem.objects.visible_to(user)).values_list("pk", flat=True))


def test_the_links_list_the_same_problems_in_the_same_order(ledger):
    world = ledger
    checked = 0
    for username in ("office", "liaison", "lead_official", "county_acceptor", "other_liaison"):
        user = world.users[username]
        for unit in (world.gov, world.bureau, world.eco, world.housing):
            for sort in LINK_SORTS:
                for extra in (
                    {},
                    {"state": [State.IN_PROGRESS]},
                    {"state": [State.REGISTERED, State.ASSIGNED]},
                    {"state": [State.IN_PROGRESS], "region": world.wuxing.code},
                    {"q": "问题1"},
                ):
                    form = ProblemFilterForm({"unit": unit.pk, "sort": sort, **extra}, user=user)
                    if not form.is_valid():
                        continue  # a unit or region outside the user's scope is refused
                    keys = form.linked_keys()
                    if username not in REGION_USERS or "q" in extra:
                        # A scope of units, or a filter the links do not copy: apply() pages.
                        assert keys is None
                        continue
                    got = [row[0] for row in keys]
                    assert got == plain_ids(form, user), (username, unit, sort, extra)
                    checked += bool(got)
    assert checked > 20


def test_sorts_the_links_do_not_copy_are_listed_as_before(ledger):
    user = ledger.office
    for sort in ("number", "-updated", "progress"):
        form = ProblemFilterForm({"unit": ledger.gov.pk, "sort": sort}, user=user)
        assert form.is_valid()
        assert form.linked_keys() is None
    form = ProblemFilterForm({"sort": "deadline"}, user=user)
    assert form.is_valid() and form.linked_keys() is None


def test_every_page_of_the_list_filtered_by_unit_is_the_plain_querys(ledger, client, settings):
    settings.DUBAN_PAGE_SIZE = 2
    world = ledger
    client.force_login(world.office)
    for sort in ("deadline", "-deadline", "id", "number"):
        for state in ([], [State.IN_PROGRESS]):
            query = {"unit": world.gov.pk, "sort": sort, "state": state}
            form = ProblemFilterForm(query, user=world.office)
            assert form.is_valid()
            expected = plain_ids(form, world.office)
            assert len(expected) >= 3
            shown, number = [], 1
            while True:
                response = client.get(reverse("ledger:problem_list"), {**query, "page": number})
                assert response.status_code == 200
                shown += [p.pk for p in response.context["problems"]]
                if not response.context["page"]["has_next"]:
                    break
                number += 1
            assert shown == expected, (sort, state)
