"""The life of a problem (DESIGN §3), walked by the actions as the people who take them."""

import datetime as dt

import pytest

from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import (
    AcceptanceReview,
    ApplicationStatus,
    ClosingApplication,
    Decision,
    NoticeStatus,
    Objection,
    State,
)
from duban.org.models import Role, Unit, UnitKind
from duban.workcalendar import workdays

from .flow import Cast, advance, apply, member, problem_in, sign_all, upload_checklist

SITE_CHECK = "现场核查，锅炉已拆除。"


def timeline(problem) -> list[str]:
    return list(
        AuditEvent.objects.filter(problem_id=problem.pk)
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_it_walks_a_problem_from_registered_to_closed(world):
    problem = world.problem()
    assert problem.state == State.REGISTERED

    actions.assign(problem, by=world.office)
    assert problem.state == State.ASSIGNED and problem.assigned_at is not None
    actions.claim(problem, by=world.liaison)
    assert problem.state == State.CLAIMED
    actions.save_plan(
        problem,
        by=world.liaison,
        target="全部淘汰",
        measures=[actions.MeasureInput("逐家拆除", "分局")],
        milestones=[],
    )
    actions.submit_plan(problem, by=world.liaison)
    assert problem.state == State.PLAN_SUBMITTED
    actions.approve_plan(problem, by=world.office)
    assert problem.state == State.IN_PROGRESS
    actions.report_progress(
        problem, by=world.liaison, period="2026年7月", text="已拆除一半", percent=50
    )
    upload_checklist(problem, Cast(world))
    application = apply(problem, Cast(world))
    assert problem.state == State.CLOSING_APPLIED
    actions.sign(problem, by=world.unit_head, statement="属实")
    assert problem.state == State.CLOSING_APPLIED  # the endorsement is still missing
    actions.endorse(problem, by=world.lead_official, statement="同意")
    assert problem.state == State.UNDER_ACCEPTANCE and problem.acceptance_level == 0
    actions.accept(problem, by=world.county_acceptor, site_check=SITE_CHECK)
    assert problem.state == State.UNDER_ACCEPTANCE and problem.acceptance_level == 1
    actions.accept(problem, by=world.city_acceptor, site_check=SITE_CHECK)
    assert problem.state == State.PUBLIC_NOTICE
    notice = actions.open_notice(problem)
    assert notice.application == application
    assert notice.ends_on > notice.starts_on  # five working days
    actions.end_notice(problem, by=world.office, today=notice.ends_on + dt.timedelta(days=1))

    problem.refresh_from_db()
    assert problem.state == State.CLOSED
    assert problem.closed_at is not None and problem.progress_percent == 100
    application.refresh_from_db()
    notice.refresh_from_db()
    assert application.status == ApplicationStatus.ACCEPTED
    assert notice.status == NoticeStatus.ENDED
    assert [r.level_name for r in application.reviews.all()] == ["county", "city"]
    assert timeline(problem)[0] == "problem.create"
    assert timeline(problem)[-1] == "close"


def test_it_returns_to_in_progress_when_the_county_returns_and_keeps_the_history(world):
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    application = actions.open_application(problem)

    review = actions.return_application(
        problem, by=world.county_acceptor, site_check="仍有两台锅炉在用", reasons="未全部拆除"
    )

    problem.refresh_from_db()
    assert problem.state == State.IN_PROGRESS and problem.acceptance_level == 0
    assert review.decision == Decision.RETURNED and review.level_name == "county"
    application.refresh_from_db()
    assert application.status == ApplicationStatus.RETURNED
    assert application.signatures.count() == 2  # the signed application stays on record
    assert list(application.reviews.values_list("reasons", flat=True)) == ["未全部拆除"]
    assert actions.open_application(problem) is None
    events = timeline(problem)
    assert "acceptance.return" in events
    assert events.index("closing.application") < events.index("acceptance.return")


def test_it_accepts_a_new_application_after_a_return(world):
    cast = Cast(world)
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    first = actions.open_application(problem)
    actions.return_application(
        problem, by=world.county_acceptor, site_check="未完成", reasons="未完成"
    )

    second = apply(problem, cast, summary="剩余两台锅炉也已拆除。")
    assert second.pk != first.pk
    sign_all(problem, cast)
    advance(problem, cast, State.CLOSED)

    assert ClosingApplication.objects.filter(problem=problem).count() == 2
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (ApplicationStatus.RETURNED, ApplicationStatus.ACCEPTED)
    assert AcceptanceReview.objects.filter(application__problem=problem).count() == 3


def test_it_refuses_the_city_acceptor_before_the_county_has_accepted(world):
    problem = problem_in(world, State.UNDER_ACCEPTANCE)

    with pytest.raises(actions.NotAllowed):
        actions.accept(problem, by=world.city_acceptor, site_check=SITE_CHECK)
    with pytest.raises(actions.NotAllowed):
        actions.return_application(problem, by=world.city_acceptor, site_check="x", reasons="x")

    problem.refresh_from_db()
    assert problem.state == State.UNDER_ACCEPTANCE and problem.acceptance_level == 0
    assert not AcceptanceReview.objects.exists()


def test_it_refuses_the_county_acceptor_at_the_city_level(world):
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    actions.accept(problem, by=world.county_acceptor, site_check=SITE_CHECK)

    with pytest.raises(actions.NotAllowed):
        actions.accept(problem, by=world.county_acceptor, site_check=SITE_CHECK)
    assert problem.acceptance_level == 1
    # The buttons move up with the level.
    assert "accept" not in {t.name for t in actions.allowed_actions(problem, world.county_acceptor)}
    assert {"accept", "return"} <= {
        t.name for t in actions.allowed_actions(problem, world.city_acceptor)
    }


def test_it_refuses_an_acceptor_of_another_county(world):
    nanxun_acceptance = Unit.objects.create(
        name="南浔区整改验收组", kind=UnitKind.ACCEPTANCE, region=world.nanxun
    )
    nanxun_acceptor = member("nanxun_acceptor", nanxun_acceptance, Role.ACCEPTOR)
    problem = problem_in(world, State.UNDER_ACCEPTANCE)

    with pytest.raises(actions.NotAllowed):
        actions.accept(problem, by=nanxun_acceptor, site_check=SITE_CHECK)
    with pytest.raises(actions.NotAllowed):
        actions.return_application(problem, by=nanxun_acceptor, site_check="x", reasons="x")
    assert not AcceptanceReview.objects.exists()


def test_it_refuses_to_end_the_notice_before_its_last_day_is_over(world):
    problem = problem_in(world, State.PUBLIC_NOTICE)
    notice = actions.open_notice(problem)

    for today in (notice.starts_on, notice.ends_on):
        with pytest.raises(actions.WrongState) as refused:
            actions.end_notice(problem, by=world.office, today=today)
        assert notice.ends_on.isoformat() in str(refused.value)
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE

    actions.end_notice(problem, by=world.office, today=notice.ends_on + dt.timedelta(days=1))
    problem.refresh_from_db()
    assert problem.state == State.CLOSED


def test_it_opens_a_notice_of_the_configured_working_days(world):
    world.inspection.notice_working_days = 7
    world.inspection.save()
    problem = problem_in(world, State.PUBLIC_NOTICE)
    notice = actions.open_notice(problem)

    # Counted on the working-day calendar: holidays are skipped, adjusted workdays count.
    length = (notice.ends_on - notice.starts_on).days + 1
    days = [notice.starts_on + dt.timedelta(days=n) for n in range(length)]
    assert sum(workdays.is_working_day(day) for day in days) == 7
    assert workdays.is_working_day(notice.ends_on)


def test_it_returns_to_in_progress_on_an_objection_during_the_notice(world):
    cast = Cast(world)
    problem = problem_in(world, State.PUBLIC_NOTICE)
    notice = actions.open_notice(problem)

    objection = actions.record_objection(problem, by=world.office, text="群众反映锅炉仍在夜间使用")

    problem.refresh_from_db()
    notice.refresh_from_db()
    assert problem.state == State.IN_PROGRESS and problem.acceptance_level == 0
    assert notice.status == NoticeStatus.OBJECTED
    assert objection.notice == notice and Objection.objects.count() == 1
    assert actions.open_notice(problem) is None
    with pytest.raises(actions.WrongState):
        actions.end_notice(problem, by=world.office, today=notice.ends_on + dt.timedelta(days=1))

    # The unit fixes it and goes through acceptance again, up to a new notice.
    apply(problem, cast, summary="夜间使用问题已查处。")
    advance(problem, cast, State.PUBLIC_NOTICE)
    assert actions.open_notice(problem) != notice


def test_it_requires_the_text_of_an_objection(world):
    problem = problem_in(world, State.PUBLIC_NOTICE)
    with pytest.raises(actions.InvalidInput) as refused:
        actions.record_objection(problem, by=world.office, text="  ")
    assert refused.value.field == "text"
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE


def test_it_withdraws_a_closing_application(world):
    cast = Cast(world)
    problem = problem_in(world, State.CLOSING_APPLIED)
    application = actions.open_application(problem)
    actions.sign(problem, by=world.unit_head, statement="属实")

    actions.withdraw_application(problem, by=world.liaison)

    problem.refresh_from_db()
    application.refresh_from_db()
    assert problem.state == State.IN_PROGRESS
    assert application.status == ApplicationStatus.WITHDRAWN
    assert actions.open_application(problem) is None
    assert "closing.withdraw" in timeline(problem)
    # The unit may apply again later.
    again = apply(problem, cast)
    assert again.status == ApplicationStatus.SUBMITTED and again.signatures.count() == 0


def test_it_lets_the_office_return_a_plan_with_reasons(world):
    problem = problem_in(world, State.PLAN_SUBMITTED)
    with pytest.raises(actions.InvalidInput):
        actions.reject_plan(problem, by=world.office, reasons=" ")

    actions.reject_plan(problem, by=world.office, reasons="措施不具体")

    problem.refresh_from_db()
    assert problem.state == State.CLAIMED
    event = AuditEvent.objects.filter(problem_id=problem.pk, action="plan.return").get()
    assert event.after["reasons"] == "措施不具体"


def test_it_refuses_to_submit_a_plan_before_it_is_drafted(world):
    problem = problem_in(world, State.ASSIGNED)
    actions.claim(problem, by=world.liaison)
    with pytest.raises(actions.InvalidInput):
        actions.submit_plan(problem, by=world.liaison)
    assert problem.state == State.CLAIMED


def test_it_refuses_an_action_from_the_wrong_state(world):
    problem = world.problem()
    with pytest.raises(actions.WrongState):
        actions.claim(problem, by=world.liaison)
    closed = problem_in(world, State.CLOSED, ledger_number="第2号")
    with pytest.raises(actions.WrongState):
        actions.update_problem(closed, by=world.office, fields={"title": "改名"})


def test_it_refuses_a_stale_copy_of_the_problem(world):
    """Two people opened the same page; the second one to act gets a conflict."""
    problem = problem_in(world, State.ASSIGNED)
    stale = type(problem).objects.get(pk=problem.pk)
    actions.update_problem(problem, by=world.office, fields={"title": "燃煤锅炉（更正）"})

    with pytest.raises(actions.Conflict):
        actions.claim(stale, by=world.liaison)
    problem.refresh_from_db()
    assert problem.state == State.ASSIGNED


def test_it_lists_the_buttons_a_user_may_press(world):
    problem = problem_in(world, State.ASSIGNED)

    assert {t.name for t in actions.allowed_actions(problem, world.liaison)} >= {"claim"}
    assert "claim" not in {t.name for t in actions.allowed_actions(problem, world.other_liaison)}
    assert actions.allowed_actions(problem, world.outsider) == []
    assert {t.name for t in actions.allowed_actions(problem, world.office)} == {"edit", "split"}
