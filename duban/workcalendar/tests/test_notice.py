"""The ledger's public notice counts working days of the holiday calendar."""

import datetime as dt

from duban.ledger import actions
from duban.ledger.models import State
from duban.ledger.tests.flow import Cast, problem_in
from duban.workcalendar.workdays import add_working_days


def test_a_notice_opened_just_before_national_day_ends_after_the_holiday(world):
    world.inspection.notice_working_days = 5
    world.inspection.save()
    cast = Cast(world)
    problem = problem_in(world, State.UNDER_ACCEPTANCE, cast)
    actions.accept(problem, by=cast.county_acceptor, site_check="区级现场核查通过。")

    opened = dt.date(2026, 9, 29)  # a Tuesday; 1–7 October are off, Saturday 10 October is worked
    actions.accept(problem, by=cast.city_acceptor, site_check="市级现场核查通过。", today=opened)

    notice = actions.open_notice(problem)
    assert notice.starts_on == opened
    assert notice.ends_on == dt.date(2026, 10, 10) == add_working_days(opened, 5)
    # Weekends alone would have ended it during the holiday, on Monday 5 October.
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE
