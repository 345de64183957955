"""The counts by state and pace (counts.py) equal a fresh count after every kind of action.

Each test builds the counters first (a transactional test elsewhere may have emptied
them), acts through the actions, and compares what the counters answer with a count
over the problems, for every region-scoped user and every filter the counters serve,
today and on days when pace lights have changed.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from duban.ledger import actions, counts
from duban.ledger.filters import ProblemFilterForm
from duban.ledger.models import LedgerCount, LedgerCountDay, Problem, State
from duban.org.models import Membership, Role

from .flow import ORDER, Cast, advance, problem_in

pytestmark = pytest.mark.django_db

# Users whose scope is regions only: the counters answer for them.
COUNTED_USERS = ("office", "county_acceptor", "city_acceptor", "discipline", "viewer")


def filter_sets(world):
    in_work = [State.REGISTERED, State.IN_PROGRESS]
    return [
        {},
        {"state": in_work},
        {"state": [State.CLOSED, State.PUBLIC_NOTICE, State.UNDER_ACCEPTANCE]},
        {"inspection": world.inspection.code},
        {"region": world.wuxing.code},
        {"region": world.nanxun.code, "state": in_work},
        {"region": world.city.code, "inspection": world.inspection.code},
    ]


def assert_counts_fresh(world, *days):
    """For every counted user, filter and day: the counters equal a count over the rows."""
    today = timezone.localdate()
    checked = 0
    for day in days or (today,):
        for username in COUNTED_USERS:
            user = world.users[username]
            for data in filter_sets(world):
                form = ProblemFilterForm(data, user=user)
                if not form.is_valid():
                    continue  # a region outside the user's scope is refused, not counted
                queryset = form.apply(Problem.objects.visible_to(user), without=("pace",))
                filters = {k: v for k, v in form.cleaned_data.items() if k not in ("pace", "sort")}
                served = counts.pace_counts(user, filters, queryset, day)
                assert served is not None, (username, data)
                assert served == counts.live_pace_counts(queryset, day), (username, data, day)
                checked += 1
    assert checked


def assert_rows_equal_a_rebuild():
    """The rows the actions added sum to what a recount from the problems gives."""
    day = LedgerCountDay.objects.get().day

    def totals():
        result = {}
        for row in LedgerCount.objects.all():
            key = (row.inspection_id, row.region_key, row.state, row.pace)
            result[key] = result.get(key, 0) + row.n
        return {k: n for k, n in result.items() if n}

    kept = totals()
    counts.rebuild(day)
    assert totals() == kept


@pytest.fixture
def built(world):
    counts.rebuild()
    return world


def test_it_counts_as_fresh_after_every_step_of_a_problems_life(built):
    world, cast = built, Cast(built)
    waiting = world.problem(region=world.nanxun, lead_unit=world.housing)
    problem = world.problem()
    assert_counts_fresh(world)
    for state in ORDER[1:]:
        advance(problem, cast, state)
        assert_counts_fresh(world)
    assert waiting.state == State.REGISTERED
    assert_rows_equal_a_rebuild()


def test_it_counts_as_fresh_after_progress_extension_and_returns(built):
    world, cast = built, Cast(built)
    today = timezone.localdate()
    problem = problem_in(world, State.IN_PROGRESS, deadline=today + dt.timedelta(days=30))
    actions.report_progress(problem, by=world.liaison, period="一月", text="拆除过半", percent=60)
    assert_counts_fresh(world, today, today + dt.timedelta(days=20), today + dt.timedelta(days=40))
    extension = actions.request_extension(
        problem,
        by=world.liaison,
        reasons="汛期",
        efforts="已排查",
        new_deadline=today + dt.timedelta(days=300),
        roadmap="年底前完成",
    )
    actions.decide_extension(extension, by=world.office, approve=True)
    assert_counts_fresh(world, today, today + dt.timedelta(days=200))
    actions.report_progress(problem, by=world.liaison, period="二月", text="完成", percent=100)
    assert_counts_fresh(world)
    advance(problem, cast, State.UNDER_ACCEPTANCE)
    actions.return_application(
        problem, by=world.county_acceptor, site_check="仍有锅炉", reasons="未拆完"
    )
    assert problem.state == State.IN_PROGRESS
    assert_counts_fresh(world)
    rejected = problem_in(world, State.PLAN_SUBMITTED)
    actions.reject_plan(rejected, by=world.office, reasons="措施不具体")
    assert_counts_fresh(world)
    assert_rows_equal_a_rebuild()


def test_it_counts_as_fresh_after_an_edit_moves_a_problem_to_another_district(built):
    world = built
    problem = world.problem()
    actions.update_problem(
        problem,
        by=world.office,
        fields={
            "region": world.nanxun,
            "lead_unit": world.housing,
            "deadline": timezone.localdate() + dt.timedelta(days=10),
        },
    )
    assert problem.region_path == world.nanxun.path
    assert_counts_fresh(world, timezone.localdate(), timezone.localdate() + dt.timedelta(days=30))


def test_it_counts_as_fresh_after_an_import(built):
    from .test_register_many import item_for

    world = built
    items = [item_for(built, ledger_number=f"第{n}号") for n in range(25)]
    items += [item_for(built, ledger_number=f"南{n}号", region=world.nanxun) for n in range(5)]
    actions.register_problems(
        by=world.office, inspection=world.inspection, items=items, batch_size=7
    )
    assert Problem.objects.count() == 30
    assert_counts_fresh(world, timezone.localdate(), timezone.localdate() + dt.timedelta(days=400))
    assert_rows_equal_a_rebuild()


def test_it_counts_as_fresh_after_an_import_is_undone(built):
    from .test_register_many import item_for

    world = built
    items = [item_for(built, ledger_number=f"第{n}号") for n in range(12)]
    problems = actions.register_problems(
        by=world.office, inspection=world.inspection, items=items, batch_size=5
    )
    actions.undo_registration(
        [p.pk for p in problems[:8]], by=world.office, role="office", reason="a test"
    )
    assert Problem.objects.count() == 4
    assert_counts_fresh(world, timezone.localdate())
    assert_rows_equal_a_rebuild()


def test_it_counts_as_fresh_after_a_split(built):
    world = built
    parent = world.problem(region=world.city)
    children = actions.split_problem(
        parent,
        by=world.office,
        children=[{"lead_unit": world.eco}, {"lead_unit": world.housing, "title": "南浔部分"}],
    )
    assert len(children) == 2 and all(c.state == State.ASSIGNED for c in children)
    assert_counts_fresh(world)
    assert_rows_equal_a_rebuild()


def test_it_counts_as_fresh_after_a_rebound(built):
    world = built
    problem = problem_in(world, State.CLOSED)
    assert_counts_fresh(world)
    membership = Membership.objects.get(user=world.office, role=Role.OFFICE)
    actions.reopen_after_rebound(problem, by=world.office, membership=membership, reason="又冒烟")
    assert problem.state == State.IN_PROGRESS and problem.is_rebound
    assert_counts_fresh(world)
    assert_rows_equal_a_rebuild()


def test_it_stays_exact_across_days_and_after_rolling_forward(built):
    world = built
    today = timezone.localdate()
    for days, percent in ((15, 0), (90, 30), (200, 80)):
        problem = problem_in(world, State.IN_PROGRESS, deadline=today + dt.timedelta(days=days))
        if percent:
            actions.report_progress(
                problem, by=world.liaison, period="月报", text="进展", percent=percent
            )
    later = [today + dt.timedelta(days=d) for d in (1, 16, 60, 91, 150, 201)]
    assert_counts_fresh(world, today, *later)
    # The sweep moves the counts' day on; lights that changed meanwhile are folded in.
    assert counts.roll_forward(later[2]) is True
    assert LedgerCountDay.objects.get().day == later[2]
    assert_counts_fresh(world, today, *later)
    assert counts.roll_forward(later[2]) is False  # nothing to fold a second time
    assert_rows_equal_a_rebuild()


def test_it_answers_from_the_counters_without_reading_the_ledger(built, client):
    world = built
    for _n in range(3):
        world.problem()
    counts.roll_forward()
    client.force_login(world.office)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(
            reverse("ledger:problem_list"), {"part": "summary", "state": "registered"}
        )
    assert response.status_code == 200
    assert response.context["summary_all"] == 3
    problem_table = Problem._meta.db_table
    assert not [q for q in captured if f'FROM "{problem_table}"' in q["sql"]]


def test_it_counts_live_where_the_counters_cannot_answer(built):
    world = built
    world.problem()
    assert counts.counted_scope(world.liaison) is None  # linked units, not regions
    assert counts.counted_scope(world.lead_official) is None  # his own problems
    assert counts.counted_scope(world.office) == [world.city.path]
    queryset = Problem.objects.visible_to(world.office)
    assert counts.pace_counts(world.office, {"q": "锅炉"}, queryset) is None
    assert counts.pace_counts(world.office, {"unit": world.eco}, queryset) is None
    LedgerCountDay.objects.all().delete()  # never built: nothing to answer from
    assert counts.pace_counts(world.office, {}, queryset) is None


def test_the_list_summary_is_right_for_users_counted_live_and_from_counters(built, client):
    world = built
    problem_in(world, State.IN_PROGRESS)
    world.problem(region=world.nanxun, lead_unit=world.housing)
    for username in ("office", "liaison", "lead_official", "county_acceptor", "other_liaison"):
        user = world.users[username]
        client.force_login(user)
        for query in ({}, {"q": "锅炉"}, {"region": world.wuxing.code}):
            response = client.get(reverse("ledger:problem_list"), {**query, "part": "summary"})
            if response.status_code == 400:
                continue  # a region filter outside this user's scope
            form = ProblemFilterForm(query, user=user)
            assert form.is_valid()
            expected = counts.live_pace_counts(
                form.apply(Problem.objects.visible_to(user)), timezone.localdate()
            )
            got = {item["value"]: item["count"] for item in response.context["summary"]}
            assert got == expected, (username, query)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_stays_exact_when_actions_and_a_roll_forward_run_at_once(world):
    from .test_concurrency import race

    counts.rebuild()
    today = timezone.localdate()
    assigned = [problem_in(world, State.ASSIGNED) for _n in range(4)]
    working = [problem_in(world, State.IN_PROGRESS) for _n in range(3)]
    LedgerCountDay.objects.update(day=today - dt.timedelta(days=200))  # a day long gone

    def claim(problem):
        return lambda: actions.claim(Problem.objects.get(pk=problem.pk), by=world.liaison)

    def report(problem, percent):
        return lambda: actions.report_progress(
            Problem.objects.get(pk=problem.pk),
            by=world.liaison,
            period="月报",
            text="进展",
            percent=percent,
        )

    results = race(
        *(claim(p) for p in assigned),
        *(report(p, 40 + 20 * i) for i, p in enumerate(working)),
        lambda: counts.roll_forward(today),
        lambda: world.problem(region=world.nanxun, lead_unit=world.housing),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert LedgerCountDay.objects.get().day == today
    assert_counts_fresh(world, today, today + dt.timedelta(days=100))
    assert_rows_equal_a_rebuild()
