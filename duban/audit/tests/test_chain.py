"""审计日志: every action leaves exactly its events, in its own transaction, on a chain nobody can edit."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction

from duban.audit import log, triggers
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.tests.flow import Cast, apply, jpeg, pdf, problem_in, upload


class Rollback(Exception):
    pass


def events_after(seq: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", flat=True)
    )


def last_seq() -> int:
    return log.chain_head()[0]


def test_it_writes_exactly_the_expected_events_for_each_action(world):
    cast = Cast(world)
    problem = None

    def step(expected, run):
        seq = last_seq()
        run()
        assert events_after(seq) == expected, expected
        if problem is not None:
            assert set(
                AuditEvent.objects.filter(seq__gt=seq).values_list("problem_id", flat=True)
            ) == {problem.pk}

    seq = last_seq()
    problem = world.problem()
    assert events_after(seq) == ["problem.create"]
    step(
        ["problem.edit"],
        lambda: actions.update_problem(problem, by=world.office, fields={"is_key": True}),
    )
    step(["assign"], lambda: actions.assign(problem, by=world.office))
    step(["claim"], lambda: actions.claim(problem, by=world.liaison))
    step(
        ["plan.save"],
        lambda: actions.save_plan(
            problem,
            by=world.liaison,
            target="目标",
            measures=[actions.MeasureInput("措施")],
            milestones=[],
        ),
    )
    step(["plan.submit"], lambda: actions.submit_plan(problem, by=world.liaison))
    step(
        ["plan.approve", "plan.approve.note"],
        lambda: actions.approve_plan(problem, by=world.office, note="可行"),
    )
    step(
        ["progress.report", "evidence.upload"],
        lambda: actions.report_progress(
            problem, by=world.liaison, period="7月", text="进展", percent=60, files=[jpeg()]
        ),
    )
    step(
        ["evidence.upload", "evidence.upload"],
        lambda: actions.upload_evidence(
            problem, by=world.liaison, files=[pdf(), pdf("附件.pdf")], category="整改报告"
        ),
    )
    evidence = problem.evidence.first()
    step(["evidence.review"], lambda: actions.review_evidence(evidence, by=world.unit_head))
    step(
        ["extension.request"],
        lambda: actions.request_extension(
            problem,
            by=world.liaison,
            reasons="原因",
            efforts="已做",
            new_deadline=problem.deadline + dt.timedelta(days=9),
            roadmap="路线",
        ),
    )
    extension = problem.extensions.get()
    step(
        ["extension.approved"],
        lambda: actions.decide_extension(extension, by=world.office, approve=True),
    )
    step(["closing.apply", "closing.application"], lambda: apply(problem, cast))
    step(
        ["closing.edit"],
        lambda: actions.edit_application(problem, by=world.liaison, summary="改", self_check="实"),
    )
    step(["closing.sign"], lambda: actions.sign(problem, by=world.unit_head, statement="属实"))
    step(
        ["closing.endorse", "acceptance.start"],
        lambda: actions.endorse(problem, by=world.lead_official, statement="同意"),
    )
    step(
        ["acceptance.accept"],
        lambda: actions.accept(problem, by=world.county_acceptor, site_check="合格"),
    )
    step(
        ["acceptance.accept", "notice.open"],
        lambda: actions.accept(problem, by=world.city_acceptor, site_check="合格"),
    )
    step(
        ["notice.objection", "notice.objection.text"],
        lambda: actions.record_objection(problem, by=world.office, text="异议"),
    )
    step(["closing.apply", "closing.application"], lambda: apply(problem, cast))
    step(["closing.withdraw"], lambda: actions.withdraw_application(problem, by=world.liaison))
    problem.refresh_from_db()
    assert problem.state == State.IN_PROGRESS


def test_it_records_the_actor_role_and_change(world):
    problem = problem_in(world, State.ASSIGNED)
    actions.claim(problem, by=world.liaison)
    event = AuditEvent.objects.get(seq=last_seq())
    assert (event.action, event.actor_id, event.role) == ("claim", world.liaison.pk, "liaison")
    assert (event.target_type, event.target_id) == ("ledger.problem", str(problem.pk))
    assert event.before == {"state": "assigned"} and event.after == {"state": "claimed"}


def test_it_writes_no_event_for_a_refused_action(world):
    problem = problem_in(world, State.IN_PROGRESS)
    seq = last_seq()
    for attempt in (
        lambda: actions.claim(problem, by=world.liaison),  # wrong state
        lambda: apply(problem, Cast(world)),  # materials missing
        lambda: actions.approve_plan(problem, by=world.liaison),  # not allowed
    ):
        with pytest.raises(actions.ActionError):
            attempt()
    assert events_after(seq) == []


def test_it_rolls_back_the_events_of_an_action_that_fails_halfway(world):
    """The first file's event was written before the second file failed: both go."""
    problem = problem_in(world, State.IN_PROGRESS)
    seq = last_seq()
    broken = upload("损坏.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 500)
    with pytest.raises(actions.InvalidInput):
        actions.upload_evidence(
            problem, by=world.liaison, files=[pdf(), broken], category="整改报告"
        )
    assert events_after(seq) == []
    assert log.verify().ok


def test_it_writes_the_event_in_the_transaction_of_the_change(world):
    problem = problem_in(world, State.ASSIGNED)
    seq = last_seq()
    with pytest.raises(Rollback), transaction.atomic():
        actions.claim(problem, by=world.liaison)
        # Recorded with the change, it joins the chain only when the change commits.
        assert [event.action for event in connection.audit_pending] == ["claim"]
        assert events_after(seq) == []
        raise Rollback
    assert connection.audit_pending == []
    assert events_after(seq) == []
    assert Problem.objects.get(pk=problem.pk).state == State.ASSIGNED
    assert log.chain_head()[0] == seq and log.verify().ok


def test_it_verifies_the_chain_after_many_actions(world):
    for number in range(3):
        problem_in(world, State.CLOSED, ledger_number=f"第{number}号")
    verdict = log.verify()
    assert verdict.ok, verdict.reason
    assert verdict.checked == AuditEvent.objects.count() == verdict.head_seq > 40
    assert verdict.head_hash == AuditEvent.objects.order_by("-seq").first().hash


def test_it_refuses_to_change_an_event_through_the_model(world):
    world.problem()
    event = AuditEvent.objects.order_by("seq").last()
    event.action = "problem.delete"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "problem.create"


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'forged'",
        "UPDATE audit_auditevent SET after = '{}' WHERE seq = 1",
        "DELETE FROM audit_auditevent",
        "DELETE FROM audit_auditevent WHERE seq = (SELECT MAX(seq) FROM audit_auditevent)",
    ],
)
def test_it_refuses_to_change_events_in_the_database_itself(world, sql):
    world.problem()
    before = list(AuditEvent.objects.values_list("seq", "action", "hash"))
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert list(AuditEvent.objects.values_list("seq", "action", "hash")) == before


def test_it_refuses_bulk_updates_and_deletes_of_events(world):
    world.problem()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.update(actor_name="someone else")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.filter(actor_name="office").exists()


def _bypass_triggers(cursor):
    triggers.remove(connection)


@pytest.mark.parametrize(
    ("tamper", "broken", "reason"),
    [
        ("UPDATE audit_auditevent SET actor_name = 'forged' WHERE seq = 2", 2, "changed"),
        ("DELETE FROM audit_auditevent WHERE seq = 3", 3, "missing"),
        (
            "DELETE FROM audit_auditevent WHERE seq = (SELECT MAX(seq) FROM audit_auditevent)",
            None,
            "removed",
        ),
    ],
)
def test_it_names_the_first_broken_link_when_the_triggers_are_bypassed(
    world, tamper, broken, reason
):
    """Someone with the database password can drop the triggers; the chain still tells."""
    problem_in(world, State.CLAIMED)
    count = AuditEvent.objects.count()
    with pytest.raises(Rollback), transaction.atomic(), connection.cursor() as cursor:
        _bypass_triggers(cursor)
        cursor.execute(tamper)
        verdict = log.verify()
        assert not verdict.ok and reason in verdict.reason
        assert verdict.broken_seq == (broken or count)
        raise Rollback
    assert log.verify().ok  # the rollback restored the events and the triggers
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(tamper)


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_record_outside_a_transaction(world):
    problem = world.problem()
    seq = last_seq()
    with pytest.raises(RuntimeError):
        log.record(actor=None, role="", action="stray", target=problem, problem_id=problem.pk)
    assert last_seq() == seq and log.verify().ok
