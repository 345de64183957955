"""公示 ends by itself after its working days and the problem closes as the system, unless an
objection received during the notice waits for the office's decision."""

import datetime as dt

import pytest
from django.urls import reverse

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import NoticeStatus, ObjectionStatus, State
from duban.ledger.tests.flow import problem_in
from duban.workcalendar.workdays import add_working_days

from .support import sweep

DAY = dt.timedelta(days=1)


def in_notice(world):
    problem = problem_in(world, State.PUBLIC_NOTICE)
    return problem, actions.open_notice(problem)


def test_the_notice_ends_by_itself_after_its_working_days_and_the_problem_closes(world):
    problem, notice = in_notice(world)
    assert notice.ends_on == add_working_days(
        notice.starts_on, world.inspection.notice_working_days
    )

    assert sweep(notice.ends_on, hour=23) == {}  # its last day is not over
    assert sweep(notice.ends_on + DAY, hour=0) == {"notice_closed": 1}

    problem.refresh_from_db()
    notice.refresh_from_db()
    assert problem.state == State.CLOSED and problem.closed_at is not None
    assert notice.status == NoticeStatus.ENDED
    event = AuditEvent.objects.filter(problem_id=problem.pk).order_by("seq").last()
    assert (event.action, event.actor_id, event.role) == ("close", None, "system")
    assert event.after["automatic"] is True
    assert sweep(notice.ends_on + DAY) == {}


def test_a_pending_objection_stops_the_close_until_it_is_dismissed(world):
    problem, notice = in_notice(world)
    objection = actions.record_objection(
        problem, by=world.office, text="群众反映仍有异味", pending=True
    )
    assert objection.status == ObjectionStatus.PENDING
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE

    assert sweep(notice.ends_on + 3 * DAY) == {}
    with pytest.raises(actions.WrongState):
        actions.end_notice(problem, by=world.office, today=notice.ends_on + 3 * DAY)

    with pytest.raises(actions.InvalidInput):
        actions.decide_objection(objection, by=world.office, uphold=False)
    actions.decide_objection(
        objection, by=world.office, uphold=False, note="经核查，异味来自相邻企业"
    )

    assert sweep(notice.ends_on + 3 * DAY) == {"notice_closed": 1}
    problem.refresh_from_db()
    assert problem.state == State.CLOSED
    actions_taken = list(
        AuditEvent.objects.filter(problem_id=problem.pk)
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert actions_taken[-3:] == [
        "notice.objection.received",
        "notice.objection.dismissed",
        "close",
    ]


def test_an_upheld_pending_objection_returns_the_problem_as_before(world):
    problem, notice = in_notice(world)
    objection = actions.record_objection(problem, by=world.office, text="仍在使用", pending=True)

    actions.decide_objection(objection, by=world.office, uphold=True)

    problem.refresh_from_db()
    notice.refresh_from_db()
    objection.refresh_from_db()
    assert problem.state == State.IN_PROGRESS and notice.status == NoticeStatus.OBJECTED
    assert objection.upheld and objection.status == ObjectionStatus.UPHELD
    assert sweep(notice.ends_on + 3 * DAY).get("notice_closed") is None
    with pytest.raises(actions.WrongState):
        actions.decide_objection(objection, by=world.office, uphold=False, note="x")


def test_the_objection_page_records_a_received_objection_and_decides_it(client, world):
    problem, notice = in_notice(world)
    client.force_login(User.objects.get(username="office"))
    url = reverse("ledger:problem_action", args=[problem.pk, "record_objection"])

    response = client.post(url, {"outcome": "pending", "text": "来信反映仍有夜间排放"})
    assert response.status_code == 302
    [objection] = notice.objections.all()
    assert objection.status == ObjectionStatus.PENDING

    page = client.get(url).content.decode()
    assert f'value="dismiss:{objection.pk}"' in page
    response = client.post(url, {"outcome": f"dismiss:{objection.pk}", "text": "经核查不属实"})
    assert response.status_code == 302
    objection.refresh_from_db()
    assert (
        objection.status == ObjectionStatus.DISMISSED and objection.decision_note == "经核查不属实"
    )
    problem.refresh_from_db()
    assert problem.state == State.PUBLIC_NOTICE


def test_the_objection_page_still_upholds_at_once_by_default(client, world):
    problem, _notice = in_notice(world)
    client.force_login(User.objects.get(username="office"))
    url = reverse("ledger:problem_action", args=[problem.pk, "record_objection"])

    assert client.post(url, {"text": "仍在使用"}).status_code == 302
    problem.refresh_from_db()
    assert problem.state == State.IN_PROGRESS
