"""The ladder by itself: travel in time with the sweep and watch each rung taken once."""

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from docx import Document

from duban.audit.log import verify
from duban.audit.models import AuditEvent
from duban.escalation import actions
from duban.escalation.models import (
    AccountabilityRecord,
    Circular,
    CircularEntry,
    CircularStatus,
    EscalationPolicy,
    Interview,
    ListingReason,
    NoticeStatus,
    RecordStatus,
    SupervisionNotice,
)
from duban.ledger import actions as ledger
from duban.ledger.tests.flow import member
from duban.ledger.timeline import timeline
from duban.notify.models import Notification
from duban.org.models import Role, Unit, UnitKind
from duban.supervision.models import Rung
from duban.workcalendar.workdays import add_working_days

from .support import at, first_of_next_month, late_problem, sweep

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    user.language = "en"
    user.save(update_fields=["language"])
    client = Client()
    client.force_login(user)
    return client


def listed_and_drawn_up(world, problem):
    """Sweep until the unacknowledged notice puts the problem in a draft circular."""
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    sweep(at(notice.ack_due + dt.timedelta(days=1)))
    sweep(at(first_of_next_month(notice.ack_due + dt.timedelta(days=1))))
    return notice, Circular.objects.get()


def test_it_issues_one_notice_once_a_problem_is_overdue(world):
    problem = late_problem(world)
    other = late_problem(world, days_late=70, ledger_number="第2号", title="河道清淤不到位")

    assert sweep(at(problem.deadline)) == {}  # due today is not overdue yet
    counts = sweep(at(problem.deadline + dt.timedelta(days=1)))

    assert counts == {"escalation.notice": 1}
    notice = SupervisionNotice.objects.get()
    assert notice.unit == world.eco and notice.status == NoticeStatus.ISSUED
    assert set(notice.problems.all()) == {problem, other}
    assert notice.number.startswith("督办〔")
    assert notice.ack_due > problem.deadline + dt.timedelta(days=1)
    # Recorded on the timeline, in the audit log, and in the inboxes of unit and office.
    entry = next(e for e in timeline(problem.pk) if e.action == "escalation.notice")
    assert entry.label != entry.action  # a registered label, not the raw action
    detail = client_for(world.liaison).get(reverse("ledger:problem_detail", args=[problem.pk]))
    assert "Supervision notice issued" in detail.content.decode()
    event = AuditEvent.objects.get(action="escalation.notice", problem_id=problem.pk)
    assert event.actor_id is None and event.role == "system"
    recipients = set(
        Notification.objects.filter(kind="supervision_notice").values_list(
            "recipient__username", flat=True
        )
    )
    assert recipients == {"liaison", "unit_head", "office"}
    assert verify().ok

    # The same time again, a day later, and through the command: nothing more.
    assert sweep(at(problem.deadline + dt.timedelta(days=1))) == {}
    out = io.StringIO()
    call_command(
        "sweep", now=at(problem.deadline + dt.timedelta(days=2)).isoformat(), json=True, stdout=out
    )
    counts = json.loads(out.getvalue())["counts"]
    assert not [kind for kind in counts if kind.startswith("escalation.")]
    assert SupervisionNotice.objects.count() == 1


def test_it_writes_nothing_when_nothing_is_due(world):
    world.problem()  # its deadline lies months ahead
    rungs, events = Rung.objects.count(), AuditEvent.objects.count()
    assert sweep(timezone.now()) == {}
    assert (Rung.objects.count(), AuditEvent.objects.count()) == (rungs, events)


def test_it_lists_an_unacknowledged_notice_in_the_next_circular_draft(world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()

    assert sweep(at(notice.ack_due, hour=18)) == {}  # still the day to acknowledge
    listed_on = notice.ack_due + dt.timedelta(days=1)
    assert sweep(at(listed_on)) == {"escalation.listing": 1}
    entry = CircularEntry.objects.get()
    assert entry.reason == ListingReason.UNACKNOWLEDGED and entry.circular is None

    # Not before the circular's day (the 1st of the month by default) …
    first = first_of_next_month(listed_on)
    assert sweep(at(first - dt.timedelta(days=1))) == {}
    # … then one draft, once.
    assert sweep(at(first)) == {"escalation.circular": 1}
    assert sweep(at(first, hour=12)) == {}
    circular = Circular.objects.get()
    assert circular.status == CircularStatus.DRAFT and circular.number == ""
    assert circular.region == world.city  # the city office circulates its units
    assert list(circular.entries.values_list("problem", flat=True)) == [problem.pk]
    assert circular.entries.get().days_overdue == (first - problem.deadline).days
    assert Notification.objects.filter(kind="circular_draft", recipient=world.office).exists()


def test_it_lists_a_problem_still_overdue_after_an_acknowledged_notice(world):
    # Wide enough that the acknowledgement window ends before it, even when the working days
    # to acknowledge span the National Day or Spring Festival holidays.
    EscalationPolicy.objects.create(inspection=world.inspection, circular_after_days=30)
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    actions.acknowledge_notice(notice, by=world.liaison)

    assert sweep(at(notice.ack_due + dt.timedelta(days=1))) == {}
    assert sweep(notice.issued_at + dt.timedelta(days=30, seconds=-1)) == {}
    later = notice.issued_at + dt.timedelta(days=30)
    assert sweep(later) == {"escalation.listing": 1}
    assert CircularEntry.objects.get().reason == ListingReason.STILL_OVERDUE


def test_it_lets_the_liaison_acknowledge_once_and_answer(world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    liaison, head = client_for(world.liaison), client_for(world.unit_head)
    url = reverse("escalation:notice_acknowledge", args=[notice.pk])

    assert liaison.get(reverse("escalation:notice_list")).status_code == 200
    response = liaison.post(url)
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.acknowledged_by == world.liaison and notice.status == NoticeStatus.ACKNOWLEDGED

    second = head.post(url)
    assert second.status_code == 409
    assert "already acknowledged by liaison" in second.content.decode()
    assert AuditEvent.objects.filter(action="escalation.acknowledge").count() == 1

    answer = reverse("escalation:notice_answer", args=[notice.pk])
    refused = liaison.post(answer, {"reasons": "", "catch_up_plan": "x"})
    assert refused.status_code == 400
    response = liaison.post(
        answer, {"reasons": "资金未到位", "catch_up_plan": "12月底前完成锅炉拆除"}
    )
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.ANSWERED and notice.reasons == "资金未到位"
    assert Notification.objects.filter(kind="notice_answered", recipient=world.office).exists()
    page = liaison.get(reverse("escalation:notice_detail", args=[notice.pk])).content.decode()
    assert "12月底前完成锅炉拆除" in page


def test_it_keeps_notices_in_scope(world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    detail = reverse("escalation:notice_detail", args=[notice.pk])
    acknowledge = reverse("escalation:notice_acknowledge", args=[notice.pk])

    for username in ("other_liaison", "auditor", "outsider", "county_acceptor"):
        client = client_for(world.users[username])
        assert client.get(detail).status_code == 404, username
        assert client.post(acknowledge).status_code == 404, username
    for username in ("office", "viewer", "discipline"):
        client = client_for(world.users[username])
        assert client.get(detail).status_code == 200, username
        assert client.post(acknowledge).status_code == 403, username
    assert client_for(world.other_liaison).get(reverse("escalation:notice_list")).status_code == 200
    assert SupervisionNotice.objects.get().acknowledged_at is None


def test_it_issues_an_approved_circular_once_and_notifies_the_units(world):
    problem = late_problem(world)
    _notice, circular = listed_and_drawn_up(world, problem)
    approve = reverse("escalation:circular_approve", args=[circular.pk])

    assert client_for(world.viewer).post(approve).status_code == 403
    assert client_for(world.liaison).get(approve).status_code == 404  # a draft is the office's
    office = client_for(world.office)
    assert office.get(reverse("escalation:circular_list")).status_code == 200
    assert office.post(approve).status_code == 302
    circular.refresh_from_db()
    assert circular.status == CircularStatus.APPROVED and circular.number.startswith("督查通报")
    again = office.post(approve)
    assert again.status_code == 409
    assert Circular.objects.get().number == circular.number
    assert AuditEvent.objects.filter(action="circular.approve").count() == 1

    named = Notification.objects.filter(kind="circular")
    assert set(named.values_list("recipient__username", flat=True)) == {"liaison", "unit_head"}
    assert "circulated" in AuditEvent.objects.filter(problem_id=problem.pk).last().action

    # The liaison of a named unit reads it and downloads the Word file; others do not.
    liaison = client_for(world.liaison)
    assert liaison.get(reverse("escalation:circular_detail", args=[circular.pk])).status_code == 200
    response = liaison.get(reverse("escalation:circular_document_docx", args=[circular.pk]))
    assert response.status_code == 200
    doc = Document(io.BytesIO(response.content))
    text = "\n".join(
        [p.text for p in doc.paragraphs]
        + [c.text for t in doc.tables for row in t.rows for c in row.cells]
    )
    assert circular.number in text and world.eco.name in text and problem.title in text
    pdf = liaison.get(reverse("escalation:circular_document_pdf", args=[circular.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    other = client_for(world.other_liaison)
    assert other.get(reverse("escalation:circular_detail", args=[circular.pk])).status_code == 404


def test_it_downloads_the_notice_as_the_supervision_notice_document(world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    response = client_for(world.liaison).get(
        reverse("escalation:notice_document_docx", args=[notice.pk])
    )
    assert response.status_code == 200
    doc = Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    assert notice.number in text and world.eco.name in text
    assert problem.title in cells


def test_it_puts_a_discarded_circulars_problems_back_for_the_next_one(world):
    problem = late_problem(world)
    _notice, circular = listed_and_drawn_up(world, problem)
    actions.discard_circular(circular, by=world.office, note="数据待核实")
    assert CircularEntry.objects.get().circular is None
    next_first = first_of_next_month(circular.generated_at.date() + dt.timedelta(days=1))
    assert sweep(at(next_first)) == {"escalation.circular": 1}
    assert Circular.objects.filter(status=CircularStatus.DRAFT).count() == 1


def test_it_refers_a_unit_still_late_after_the_circular_to_the_discipline_inspectors(world):
    problem = late_problem(world)
    notice, circular = listed_and_drawn_up(world, problem)
    actions.approve_circular(circular, by=world.office)
    circular.refresh_from_db()

    assert sweep(circular.decided_at + dt.timedelta(days=14)) == {}
    counts = sweep(circular.decided_at + dt.timedelta(days=15))
    assert counts == {"escalation.referral": 1}
    assert sweep(circular.decided_at + dt.timedelta(days=16)) == {}

    interview = Interview.objects.get()
    assert interview.unit == world.eco and list(interview.problems.all()) == [problem]
    record = AccountabilityRecord.objects.get()
    assert record.status == RecordStatus.DRAFT and record.created_by is None
    assert record.interview == interview and list(record.notices.all()) == [notice]
    actions_seen = set(
        AuditEvent.objects.filter(problem_id=problem.pk).values_list("action", flat=True)
    )
    assert {"escalation.interview", "escalation.referral"} <= actions_seen
    assert Notification.objects.filter(kind="referral", recipient=world.discipline).exists()

    # The office arranges the interview; the unit reads it; another unit does not.
    page = reverse("escalation:interview_detail", args=[interview.pk])
    planned = {"planned_on": "2027-01-15", "interviewers": "市整改办主任", "notes": "当面约谈"}
    assert client_for(world.other_liaison).get(page).status_code == 404
    assert client_for(world.viewer).post(page, planned).status_code == 403
    assert client_for(world.office).post(page, planned).status_code == 302
    interview.refresh_from_db()
    assert interview.planned_on == dt.date(2027, 1, 15) and interview.interviewers == "市整改办主任"
    assert "市整改办主任" in client_for(world.liaison).get(page).content.decode()

    # The discipline inspector sees it and records the measure; the office does not.
    discipline = client_for(world.discipline)
    page = discipline.get(reverse("escalation:record_list"))
    assert page.status_code == 200 and world.eco.name in page.content.decode()
    assert client_for(world.office).get(reverse("escalation:record_list")).status_code == 403
    edit = reverse("escalation:record_edit", args=[record.pk])
    assert client_for(world.office).get(edit).status_code == 404
    response = discipline.post(
        edit,
        {
            "measure": "admonition",
            "unit": world.eco.pk,
            "person_name": "张某",
            "person_post": "分局局长",
            "facts": "整改严重滞后",
            "decided_on": timezone.localdate().isoformat(),
            "problems": [problem.pk],
            "notices": [notice.pk],
            "finish": "1",
        },
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.status == RecordStatus.RECORDED and record.measure == "admonition"
    assert AuditEvent.objects.filter(action="escalation.accountability").count() == 1
    again = discipline.post(edit, {"measure": "other", "unit": world.eco.pk})
    assert again.status_code == 400


def test_it_lets_the_discipline_inspector_record_a_measure_by_hand(world):
    discipline = client_for(world.discipline)
    response = discipline.post(
        reverse("escalation:record_create"),
        {"measure": "reminder_talk", "person_name": "李某", "person_post": "科长"},
    )
    assert response.status_code == 302
    record = AccountabilityRecord.objects.get()
    assert record.region == world.city and record.created_by == world.discipline
    assert client_for(world.liaison).get(reverse("escalation:record_create")).status_code == 403
    refused = discipline.post(reverse("escalation:record_create"), {"measure": "other"})
    assert refused.status_code == 400  # neither a person nor a unit


def test_it_rearms_the_ladder_when_an_extension_is_approved(world):
    problem = late_problem(world)
    ledger.assign(problem, by=world.office)
    ledger.claim(problem, by=world.liaison)
    old = problem.deadline
    sweep(at(old + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    new_deadline = timezone.localdate() + dt.timedelta(days=30)
    extension = ledger.request_extension(
        problem,
        by=world.liaison,
        reasons="受汛期影响",
        efforts="已完成排查",
        new_deadline=new_deadline,
        roadmap="分三批拆除",
    )
    ledger.decide_extension(extension, by=world.office, approve=True)

    # The old deadline's ladder stops: no listing for a deadline that moved.
    assert sweep(at(notice.ack_due + dt.timedelta(days=1))) == {}
    assert sweep(at(new_deadline)) == {}
    assert sweep(at(new_deadline + dt.timedelta(days=1))) == {"escalation.notice": 1}
    keys = sorted(Rung.objects.filter(kind="escalation.notice").values_list("key", flat=True))
    assert keys == sorted(
        [f"escalation:notice:{problem.pk}:{old}", f"escalation:notice:{problem.pk}:{new_deadline}"]
    )


def test_it_follows_the_inspections_policy(world):
    problem = late_problem(world)
    EscalationPolicy.objects.create(inspection=world.inspection, enabled=False)
    assert sweep(at(problem.deadline + dt.timedelta(days=1))) == {}
    policy = EscalationPolicy.objects.get()
    policy.enabled, policy.ack_working_days = True, 5
    policy.circular_schedule, policy.circular_day = "weekly", 1
    policy.save()
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    issued_on = timezone.localdate(notice.issued_at)
    assert notice.ack_due == add_working_days(issued_on + dt.timedelta(days=1), 5)


def test_it_lets_only_the_office_over_the_target_region_edit_the_ladder(world):
    from duban.inspections.models import Inspection

    city_round = Inspection.objects.create(
        code="huzhou-self", name="湖州市自查", kind="self", target_region=world.city
    )
    url = reverse("escalation:policy_edit", args=[city_round.pk])
    office = client_for(world.office)
    assert office.get(url).status_code == 200
    response = office.post(
        url,
        {
            "enabled": "on",
            "ack_working_days": 3,
            "answer_working_days": 7,
            "circular_after_days": 10,
            "repeat_notices": 3,
            "repeat_period_days": 90,
            "interview_after_days": 20,
            "circular_schedule": "weekly",
            "circular_day": 9,
            "notice_recipients": ["liaison", "office"],
            "referral_recipients": ["discipline"],
        },
    )
    assert response.status_code == 400  # no ninth day of the week
    assert "A weekly circular needs a day from 1 (Monday) to 7." in response.content.decode()
    assert not EscalationPolicy.objects.exists()
    assert client_for(world.viewer).get(url).status_code == 403
    assert client_for(world.outsider).get(url).status_code == 404
    # A province-wide round is read-only for a city office.
    assert (
        office.get(reverse("escalation:policy_edit", args=[world.inspection.pk])).status_code == 403
    )


def test_it_tells_whom_the_office_chose_and_stops_at_the_rung_it_chose(world):
    """The ladder's recipients and rungs are set on the inspection's page."""
    problem = late_problem(world)
    office = client_for(world.office)
    url = reverse("escalation:policy_edit", args=[world.inspection.pk])
    fields = {
        "enabled": "on",
        "ack_working_days": 2,
        "answer_working_days": 5,
        "notice_recipients": ["unit_head", "lead_official"],
        "use_circulars": "on",
        "circular_after_days": 10,
        "repeat_notices": 3,
        "repeat_period_days": 90,
        "circular_schedule": "monthly",
        "circular_day": 1,
        "interview_after_days": 15,
        "referral_recipients": ["discipline"],
    }  # use_referrals unticked: the ladder stops at the circular
    province = Unit.objects.create(
        name="浙江省整改办", kind=UnitKind.OFFICE, region=world.city.parent
    )
    province_office = member("zj_office", province, Role.OFFICE)
    assert client_for(province_office).post(url, fields).status_code == 302
    policy = EscalationPolicy.objects.get()
    assert policy.notice_recipients == ["unit_head", "lead_official"]
    assert (policy.use_circulars, policy.use_referrals) == (True, False)

    notice, circular = listed_and_drawn_up(world, problem)
    told = set(
        Notification.objects.filter(kind="supervision_notice").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"unit_head", "lead_official"}
    actions.approve_circular(circular, by=province_office)
    circular.refresh_from_db()
    assert sweep(circular.decided_at + dt.timedelta(days=30)) == {}
    assert not Interview.objects.exists() and not AccountabilityRecord.objects.exists()
    assert office.get(url).status_code == 403  # a city office does not set a province round


def test_it_names_no_unit_in_a_circular_when_the_office_turned_circulars_off(world):
    problem = late_problem(world)
    EscalationPolicy.objects.create(inspection=world.inspection, use_circulars=False)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    assert sweep(at(notice.ack_due + dt.timedelta(days=20))) == {}
    assert not CircularEntry.objects.exists()


def test_it_lists_a_unit_noticed_repeatedly(world):
    EscalationPolicy.objects.create(
        inspection=world.inspection, repeat_notices=2, repeat_period_days=90
    )
    first = late_problem(world, days_late=80)
    second = late_problem(world, days_late=60, ledger_number="第2号", title="河道清淤不到位")
    sweep(at(first.deadline + dt.timedelta(days=1)))
    for notice in SupervisionNotice.objects.all():
        actions.acknowledge_notice(notice, by=world.liaison)
    assert sweep(at(first.deadline + dt.timedelta(days=5))) == {}

    # The second notice within 90 days: the unit is repeatedly late, at once; by now the
    # first notice is older than 10 days, its problem still overdue.
    counts = sweep(at(second.deadline + dt.timedelta(days=1)))
    assert counts == {"escalation.notice": 1, "escalation.listing": 2}
    reasons = dict(CircularEntry.objects.values_list("problem_id", "reason"))
    assert reasons == {first.pk: ListingReason.STILL_OVERDUE, second.pk: ListingReason.REPEATED}
