"""序时进度 and 逾期: computed from dates, milestones and progress, the same in Python and SQL."""

import datetime as dt
from types import SimpleNamespace

import pytest

from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.pace import PACE_LIGHT, Pace, pace_bounds, pace_on

from .flow import problem_in

D = dt.date
START = D(2026, 1, 1)
DEADLINE = D(2026, 4, 11)  # 100 days after START


def on(today, *, percent, state="in_progress", milestones=(), start=START, deadline=DEADLINE):
    behind_from, ahead_until = pace_bounds(
        start=start, deadline=deadline, percent=percent, milestones=list(milestones)
    )
    problem = SimpleNamespace(
        state=state,
        progress_percent=percent,
        pace_behind_from=behind_from,
        pace_ahead_until=ahead_until,
    )
    return pace_on(problem, today)


# --- the bounds ---------------------------------------------------------------------------


def test_it_expects_progress_to_rise_evenly_to_the_deadline_without_milestones():
    # 50 % done: behind once 60 % is due (day 60), ahead while under 40 % is due (day 40).
    assert pace_bounds(start=START, deadline=DEADLINE, percent=50, milestones=[]) == (
        D(2026, 3, 2),
        D(2026, 2, 10),
    )


def test_it_follows_the_milestones_of_the_roadmap():
    # Half of the work due by day 20: 30 % done is behind from day 16 (40 %), ahead until day 8 (20 %).
    milestones = [(D(2026, 1, 21), 50)]
    assert pace_bounds(start=START, deadline=DEADLINE, percent=30, milestones=milestones) == (
        D(2026, 1, 17),
        D(2026, 1, 9),
    )


def test_it_ignores_milestones_outside_the_period_or_going_backwards():
    plain = pace_bounds(start=START, deadline=DEADLINE, percent=30, milestones=[])
    odd = [(D(2025, 12, 1), 80), (D(2026, 6, 1), 90)]
    assert pace_bounds(start=START, deadline=DEADLINE, percent=30, milestones=odd) == plain
    backwards = [(D(2026, 1, 21), 50), (D(2026, 2, 1), 20)]
    assert pace_bounds(start=START, deadline=DEADLINE, percent=30, milestones=backwards) == (
        pace_bounds(start=START, deadline=DEADLINE, percent=30, milestones=backwards[:1])
    )


def test_it_has_no_bounds_without_a_deadline_or_when_done():
    assert pace_bounds(start=START, deadline=None, percent=30, milestones=[]) == (None, None)
    assert pace_bounds(start=START, deadline=DEADLINE, percent=100, milestones=[]) == (None, None)


def test_it_is_behind_the_day_after_the_deadline_at_the_latest():
    behind_from, _ = pace_bounds(start=START, deadline=DEADLINE, percent=95, milestones=[])
    assert behind_from == DEADLINE + dt.timedelta(days=1)


# --- the status on a day ------------------------------------------------------------------


def test_it_is_not_started_until_the_first_ten_percent_are_due():
    assert on(START, percent=0) == Pace.NOT_STARTED
    assert on(D(2026, 1, 10), percent=0) == Pace.NOT_STARTED
    assert on(D(2026, 1, 11), percent=0) == Pace.BEHIND


def test_it_is_ahead_then_on_pace_then_behind():
    assert on(D(2026, 2, 9), percent=50) == Pace.AHEAD
    assert on(D(2026, 2, 10), percent=50) == Pace.ON_PACE
    assert on(D(2026, 3, 1), percent=50) == Pace.ON_PACE
    assert on(D(2026, 3, 2), percent=50) == Pace.BEHIND


def test_it_is_behind_with_milestones_earlier_than_without():
    milestones = [(D(2026, 1, 21), 50)]
    today = D(2026, 1, 25)
    assert on(today, percent=30) == Pace.ON_PACE
    assert on(today, percent=30, milestones=milestones) == Pace.BEHIND


def test_it_is_behind_past_the_deadline_unless_done():
    after = DEADLINE + dt.timedelta(days=1)
    assert on(DEADLINE, percent=95) == Pace.ON_PACE
    assert on(after, percent=95) == Pace.BEHIND
    assert on(after, percent=100) == Pace.DONE


def test_it_is_done_once_closing_is_applied_and_closed_when_closed():
    for state in ("closing_applied", "under_acceptance", "public_notice"):
        assert on(D(2026, 12, 1), percent=40, state=state) == Pace.DONE
    assert on(D(2026, 12, 1), percent=40, state="closed") == Pace.CLOSED


def test_it_is_on_pace_without_a_deadline_once_started():
    assert on(D(2030, 1, 1), percent=0, deadline=None) == Pace.NOT_STARTED
    assert on(D(2030, 1, 1), percent=30, deadline=None) == Pace.ON_PACE


def test_it_gives_every_pace_a_light():
    assert set(PACE_LIGHT) == set(Pace)
    assert PACE_LIGHT[Pace.BEHIND] == "red"


# --- the same answer in SQL, on real problems ---------------------------------------------


def report(problem, by, percent):
    actions.report_progress(problem, by=by, period="本期", text="进展", percent=percent)
    problem.refresh_from_db()


@pytest.fixture
def ledger(world):
    """Problems in many states, with and without milestones, some overdue."""
    today = dt.date.today()
    made = []

    def make(state, percent=None, **fields):
        problem = problem_in(world, state, ledger_number=f"第{len(made) + 1}号", **fields)
        if percent is not None:
            report(problem, world.liaison, percent)
        made.append(problem)
        return problem

    make(State.REGISTERED)
    make(State.ASSIGNED, deadline=today + dt.timedelta(days=20))
    for percent in (0, 15, 50, 95, 100):
        make(State.IN_PROGRESS, percent)
    staged = make(State.IN_PROGRESS, 30)
    actions.update_problem(
        staged,
        by=world.office,
        fields={},
        milestones=[
            actions.MilestoneInput(today + dt.timedelta(days=30), 60, "主体完工"),
            actions.MilestoneInput(today + dt.timedelta(days=90), 90, "基本完成"),
        ],
    )
    make(State.IN_PROGRESS, 40, deadline=today - dt.timedelta(days=3))
    make(State.IN_PROGRESS, 0, deadline=today + dt.timedelta(days=5))
    make(State.IN_PROGRESS, 30, deadline_by_date=False, deadline_ongoing=True, deadline=None)
    make(State.CLOSING_APPLIED, deadline=today - dt.timedelta(days=10))
    make(State.CLOSED)
    return [Problem.objects.get(pk=p.pk) for p in made]


def test_it_filters_by_pace_in_sql_exactly_as_it_computes_it(ledger):
    today = dt.date.today()
    seen = set()
    for offset in range(-5, 160, 3):
        day = today + dt.timedelta(days=offset)
        for pace in Pace:
            in_sql = set(Problem.objects.with_pace(pace, day).values_list("pk", flat=True))
            in_python = {p.pk for p in ledger if p.pace(day) == pace}
            assert in_sql == in_python, (day, pace)
            if in_python:
                seen.add(pace)
    assert seen == set(Pace)  # the loop really met every status


def test_it_finds_overdue_problems_in_sql_exactly_as_it_computes_them(ledger):
    today = dt.date.today()
    seen = set()
    for offset in range(-5, 160, 5):
        day = today + dt.timedelta(days=offset)
        in_sql = set(Problem.objects.overdue(day).values_list("pk", flat=True))
        in_python = {p.pk for p in ledger if p.is_overdue(day)}
        assert in_sql == in_python, day
        not_overdue = set(Problem.objects.overdue(day, overdue=False).values_list("pk", flat=True))
        assert not_overdue == {p.pk for p in ledger} - in_python
        seen.add(bool(in_python))
    assert seen == {False, True}  # days with and without overdue problems were both met


def test_it_does_not_count_a_problem_awaiting_acceptance_as_overdue(world):
    problem = problem_in(
        world, State.CLOSING_APPLIED, deadline=dt.date.today() - dt.timedelta(days=1)
    )
    assert not problem.is_overdue()
    assert not Problem.objects.overdue().exists()


def test_it_recomputes_the_pace_when_progress_is_reported(world):
    problem = problem_in(world, State.IN_PROGRESS, deadline=dt.date.today() + dt.timedelta(days=10))
    late = dt.date.today() + dt.timedelta(days=8)
    assert problem.pace(late) == Pace.BEHIND
    report(problem, world.liaison, 90)
    assert problem.pace(late) == Pace.ON_PACE
    assert problem.pace(dt.date.today()) == Pace.AHEAD
