"""Separation of duties (职责分离) is a rule of the actions, whatever roles a person holds.

The people here hold conflicting roles through memberships written straight into the
database, as old data or a careless grant would have them: the sysadmin's grant page now
refuses such pairs (duban/accounts/tests/test_conflicting_grants.py), and the actions must
hold anyway.
"""

import datetime as dt
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from duban.accounts.models import ApiToken, User
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.ledger.models import AcceptanceReview, Signature, State
from duban.org.models import Membership, Role, Unit, UnitKind
from duban.testing import PASSWORD

from .flow import Cast, advance, apply, draft_plan, problem_in, sign_all, upload_checklist


def holding(username, *grants):
    """A new user holding every (unit, role) of `grants`, written directly."""
    user = User.objects.create_user(username, password=PASSWORD, display_name=username)
    for unit, role in grants:
        Membership.objects.create(user=user, unit=unit, role=role)
    user.language = "en"
    user.save(update_fields=["language"])
    return user


def also(user, unit, role):
    """Give an existing user one more role, directly; drops his cached memberships."""
    Membership.objects.create(user=user, unit=unit, role=role)
    user.__dict__.pop("_duban_memberships", None)
    return user


def snapshot(problem):
    problem.refresh_from_db()
    return (
        problem.state,
        problem.version,
        problem.acceptance_level,
        AuditEvent.objects.count(),
        Signature.objects.count(),
        AcceptanceReview.objects.count(),
    )


def refused(problem, by, name, step, says):
    """`step` by `by` is refused for a duty (`says` in the message), changes nothing and writes
    no audit event, and `name` is not among the buttons `by` sees."""
    before = snapshot(problem)
    with translation.override("en"), pytest.raises(actions.NotAllowed) as refusal:
        step()
    assert says in str(refusal.value), str(refusal.value)
    assert snapshot(problem) == before
    assert name not in [t.name for t in actions.allowed_actions(problem, by)]
    return str(refusal.value)


def statement():
    return "情况属实，同意申请销号。"


def accept(problem, by):
    return actions.accept(problem, by=by, site_check="现场核查，锅炉已拆除。")


# --- the tester's scenario ------------------------------------------------------------------


def test_one_person_holding_every_role_cannot_take_a_problem_to_public_notice_alone(world):
    solo = holding(
        "solo",
        (world.eco, Role.LIAISON),
        (world.eco, Role.UNIT_HEAD),
        (world.eco, Role.LEAD_OFFICIAL),
        (world.office_unit, Role.OFFICE),
        (world.wuxing_acceptance, Role.ACCEPTOR),
        (world.city_acceptance, Role.ACCEPTOR),
    )
    me = Cast(world, liaison=solo, unit_head=solo)
    me.office = me.lead_official = me.county_acceptor = me.city_acceptor = solo
    problem = world.problem(lead_official=solo)

    advance(problem, me, State.PLAN_SUBMITTED)  # register, assign, claim, draft, submit: his
    refused(
        problem,
        solo,
        "approve_plan",
        lambda: actions.approve_plan(problem, by=solo),
        "You drafted or submitted this problem's plan; another person must decide it.",
    )
    refused(
        problem,
        solo,
        "reject_plan",
        lambda: actions.reject_plan(problem, by=solo, reasons="退回"),
        "another person must decide it",
    )
    actions.approve_plan(problem, by=world.office)

    upload_checklist(problem, me)
    application = apply(problem, me)
    refused(
        problem,
        solo,
        "sign",
        lambda: actions.sign(problem, by=solo, statement=statement()),
        "You applied for closing this problem; another person must sign it.",
    )
    refused(
        problem,
        solo,
        "endorse",
        lambda: actions.endorse(problem, by=solo, statement=statement()),
        "You applied for closing this problem; another person must endorse it.",
    )
    # The lead official may not endorse what he applied for: the office names another one.
    actions.withdraw_application(problem, by=solo)
    actions.update_problem(problem, by=world.office, fields={"lead_official": world.lead_official})
    application = apply(problem, me)
    actions.sign(problem, by=world.unit_head, statement=statement())
    actions.endorse(problem, by=world.lead_official, statement="同意。")
    assert problem.state == State.UNDER_ACCEPTANCE

    refused(
        problem,
        solo,
        "accept",
        lambda: accept(problem, solo),
        "You applied for closing this problem; its acceptance must be decided by someone else.",
    )
    refused(
        problem,
        solo,
        "return",
        lambda: actions.return_application(problem, by=solo, site_check="-", reasons="退回"),
        "its acceptance must be decided by someone else",
    )
    accept(problem, world.county_acceptor)
    refused(problem, solo, "accept", lambda: accept(problem, solo), "You applied for closing")
    accept(problem, world.city_acceptor)
    assert problem.state == State.PUBLIC_NOTICE

    notice = actions.open_notice(problem)
    after_notice = notice.ends_on + dt.timedelta(days=1)
    refused(
        problem,
        solo,
        "end_notice",
        lambda: actions.end_notice(problem, by=solo, today=after_notice),
        "You applied for closing this problem; another person must end its public notice",
    )
    actions.end_notice(problem, by=world.office, today=after_notice)
    assert problem.state == State.CLOSED

    # Every decision on his own problem was someone else's.
    decisions = {"plan.approve", "closing.sign", "closing.endorse", "acceptance.accept", "close"}
    assert not AuditEvent.objects.filter(
        problem_id=problem.pk, actor_id=solo.pk, action__in=decisions
    ).exists()
    assert {r.reviewer for r in application.reviews.all()} == {
        world.county_acceptor,
        world.city_acceptor,
    }


# --- signing and endorsing -----------------------------------------------------------------


def test_the_applicant_may_not_sign_as_unit_head(world):
    both = holding("liaison_head", (world.eco, Role.LIAISON), (world.eco, Role.UNIT_HEAD))
    problem = problem_in(world, State.CLOSING_APPLIED, cast=Cast(world, liaison=both))

    refused(
        problem,
        both,
        "sign",
        lambda: actions.sign(problem, by=both, statement=statement()),
        "You applied for closing this problem; another person must sign it.",
    )
    actions.sign(problem, by=world.unit_head, statement=statement())  # another head may


def test_a_liaison_who_edited_the_application_counts_as_its_applicant(world):
    both = holding("liaison_head", (world.eco, Role.LIAISON), (world.eco, Role.UNIT_HEAD))
    problem = problem_in(world, State.CLOSING_APPLIED)  # applied by the world's liaison
    actions.edit_application(problem, by=both, summary="已全部拆除并复查。", self_check="已自查。")

    refused(
        problem,
        both,
        "sign",
        lambda: actions.sign(problem, by=both, statement=statement()),
        "You applied for closing this problem",
    )


def test_the_signer_may_not_endorse_and_the_endorser_may_not_sign(world):
    head_official = holding(
        "head_official", (world.eco, Role.UNIT_HEAD), (world.eco, Role.LEAD_OFFICIAL)
    )
    signed_first = problem_in(world, State.CLOSING_APPLIED, lead_official=head_official)
    actions.sign(signed_first, by=head_official, statement=statement())
    refused(
        signed_first,
        head_official,
        "endorse",
        lambda: actions.endorse(signed_first, by=head_official, statement="同意。"),
        "You signed this closing application as unit head; another person must endorse it.",
    )

    endorsed_first = problem_in(
        world, State.CLOSING_APPLIED, lead_official=head_official, ledger_number="第2号"
    )
    actions.endorse(endorsed_first, by=head_official, statement="同意。")
    refused(
        endorsed_first,
        head_official,
        "sign",
        lambda: actions.sign(endorsed_first, by=head_official, statement=statement()),
        "You endorsed this closing application; another person must sign it.",
    )
    actions.sign(endorsed_first, by=world.unit_head, statement=statement())
    assert endorsed_first.state == State.UNDER_ACCEPTANCE


def test_the_applicant_may_not_endorse(world):
    liaison_official = holding(
        "liaison_official", (world.eco, Role.LIAISON), (world.housing, Role.LEAD_OFFICIAL)
    )
    cast = Cast(world, liaison=liaison_official)
    problem = problem_in(world, State.CLOSING_APPLIED, cast=cast, lead_official=liaison_official)

    refused(
        problem,
        liaison_official,
        "endorse",
        lambda: actions.endorse(problem, by=liaison_official, statement="同意。"),
        "You applied for closing this problem; another person must endorse it.",
    )


# --- acceptance ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who, says",
    [
        ("applicant", "You applied for closing this problem"),
        ("signer", "You signed this closing application as unit head"),
        ("endorser", "You endorsed this closing application"),
    ],
)
def test_nobody_who_applied_signed_or_endorsed_decides_an_acceptance_level(world, who, says):
    person = holding(who, (world.wuxing_acceptance, Role.ACCEPTOR))
    cast = Cast(world)
    if who == "applicant":
        also(person, world.eco, Role.LIAISON)
        cast.liaison = person
    elif who == "signer":
        also(person, world.eco, Role.UNIT_HEAD)
        cast.unit_head = person
    else:
        also(person, world.housing, Role.LEAD_OFFICIAL)
        cast.lead_official = person
    problem = problem_in(world, State.UNDER_ACCEPTANCE, cast=cast, lead_official=cast.lead_official)

    for name, step in (
        ("accept", lambda: accept(problem, person)),
        (
            "return",
            lambda: actions.return_application(problem, by=person, site_check="-", reasons="退回"),
        ),
    ):
        message = refused(problem, person, name, step, says)
        assert message.endswith("its acceptance must be decided by someone else.")
    accept(problem, world.county_acceptor)


def test_a_signature_voided_by_an_edit_still_bars_its_signer_from_accepting(world):
    head = holding(
        "head_acceptor", (world.eco, Role.UNIT_HEAD), (world.wuxing_acceptance, Role.ACCEPTOR)
    )
    problem = problem_in(world, State.CLOSING_APPLIED)
    actions.sign(problem, by=head, statement=statement())
    actions.edit_application(problem, by=world.liaison, summary="补充说明。", self_check="已自查。")
    # Leave the eco unit: only the voided signature ties him to the application now.
    Membership.objects.filter(user=head, unit=world.eco).delete()
    head.__dict__.pop("_duban_memberships", None)
    sign_all(problem, Cast(world))

    refused(
        problem,
        head,
        "accept",
        lambda: accept(problem, head),
        "You signed this closing application as unit head",
    )


def test_nobody_from_the_applying_unit_or_a_unit_above_or_below_it_accepts(world):
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    in_unit = holding(
        "eco_viewer", (world.eco, Role.VIEWER), (world.wuxing_acceptance, Role.ACCEPTOR)
    )
    refused(
        problem,
        in_unit,
        "accept",
        lambda: accept(problem, in_unit),
        f"You belong to {world.eco.name}, the unit that applied for closing this problem; "
        "its acceptance must be decided by someone else.",
    )

    station = Unit.objects.create(
        name="吴兴分局监测站", kind=UnitKind.OTHER, region=world.wuxing, parent=world.eco
    )
    below = holding(
        "station_staff", (station, Role.LIAISON), (world.wuxing_acceptance, Role.ACCEPTOR)
    )
    refused(
        problem,
        below,
        "accept",
        lambda: accept(problem, below),
        f"You belong to {station.name}, a unit above or below {world.eco.name}",
    )

    bureau = Unit.objects.create(
        name="湖州市生态环境局", kind=UnitKind.DEPARTMENT, region=world.city
    )
    world.eco.parent = bureau
    world.eco.save()
    problem.lead_unit.refresh_from_db()
    above = holding("bureau_staff", (bureau, Role.VIEWER), (world.wuxing_acceptance, Role.ACCEPTOR))
    refused(
        problem,
        above,
        "accept",
        lambda: accept(problem, above),
        f"You belong to {bureau.name}, a unit above or below {world.eco.name}",
    )

    accept(problem, world.county_acceptor)  # the county's own acceptor is independent


def test_nobody_decides_two_acceptance_levels(world):
    both_levels = holding(
        "both_levels",
        (world.wuxing_acceptance, Role.ACCEPTOR),
        (world.city_acceptance, Role.ACCEPTOR),
    )
    problem = problem_in(world, State.UNDER_ACCEPTANCE)
    accept(problem, both_levels)
    assert problem.acceptance_level == 1

    for name, step in (
        ("accept", lambda: accept(problem, both_levels)),
        (
            "return",
            lambda: actions.return_application(
                problem, by=both_levels, site_check="-", reasons="退回"
            ),
        ),
    ):
        refused(
            problem,
            both_levels,
            name,
            step,
            "You already accepted this application at the",
        )
    accept(problem, world.city_acceptor)
    assert problem.state == State.PUBLIC_NOTICE


def test_the_plan_approver_is_never_the_only_acceptor(world):
    also(world.office, world.city_acceptance, Role.ACCEPTOR)
    world.inspection.acceptance_levels = ["city"]
    world.inspection.save()
    problem = problem_in(world, State.UNDER_ACCEPTANCE)  # the office approved its plan

    refused(
        problem,
        world.office,
        "accept",
        lambda: accept(problem, world.office),
        "You approved this problem's plan and may not be its only acceptor",
    )
    # Returning is not accepting: he may send it back for rectification.
    assert "return" in [t.name for t in actions.allowed_actions(problem, world.office)]
    accept(problem, world.city_acceptor)
    assert problem.state == State.PUBLIC_NOTICE

    # With two levels, he may accept one when someone independent accepts the other.
    world.inspection.acceptance_levels = ["county", "city"]
    world.inspection.save()
    second = problem_in(world, State.UNDER_ACCEPTANCE, ledger_number="第2号")
    accept(second, world.county_acceptor)
    accept(second, world.office)
    assert second.state == State.PUBLIC_NOTICE


# --- plans, extensions, objections -------------------------------------------------------------


def test_whoever_drafted_or_submitted_the_plan_does_not_decide_it(world):
    liaison_office = holding(
        "liaison_office", (world.eco, Role.LIAISON), (world.office_unit, Role.OFFICE)
    )
    problem = problem_in(world, State.ASSIGNED)
    cast = Cast(world, liaison=liaison_office)
    actions.claim(problem, by=liaison_office)
    draft_plan(problem, cast)
    actions.submit_plan(problem, by=world.liaison)  # drafted by him, submitted by another

    for name, step in (
        ("approve_plan", lambda: actions.approve_plan(problem, by=liaison_office)),
        ("reject_plan", lambda: actions.reject_plan(problem, by=liaison_office, reasons="退回")),
    ):
        refused(
            problem,
            liaison_office,
            name,
            step,
            "You drafted or submitted this problem's plan; another person must decide it.",
        )
    actions.approve_plan(problem, by=world.office)


def test_whoever_requested_an_extension_does_not_decide_it(world):
    liaison_office = holding(
        "liaison_office", (world.eco, Role.LIAISON), (world.office_unit, Role.OFFICE)
    )
    problem = problem_in(world, State.IN_PROGRESS)
    extension = actions.request_extension(
        problem,
        by=liaison_office,
        reasons="汛期无法施工",
        efforts="已完成设备采购",
        new_deadline=problem.deadline + dt.timedelta(days=60),
        roadmap="汛期后一个月内完成",
    )
    refused(
        problem,
        liaison_office,
        "decide_extension",
        lambda: actions.decide_extension(extension, by=liaison_office, approve=True),
        "You requested this extension; another person must decide it.",
    )
    actions.decide_extension(extension, by=world.office, approve=True)


def test_the_applicants_side_neither_dismisses_an_objection_nor_ends_the_notice(world):
    head_office = also(world.unit_head, world.office_unit, Role.OFFICE)  # he signed
    problem = problem_in(world, State.PUBLIC_NOTICE)
    objection = actions.record_objection(
        problem, by=world.office, text="锅炉仍在夜间使用", pending=True
    )

    with translation.override("en"), pytest.raises(actions.NotAllowed) as refusal:
        actions.decide_objection(objection, by=head_office, uphold=False, note="经核实不属实")
    assert str(refusal.value) == (
        "You signed this closing application as unit head; another person must decide the "
        "objections to it."
    )
    objection.refresh_from_db()
    assert objection.status == "pending"
    # His page offers no decision on it, and says why.
    client = Client()
    client.force_login(head_office)
    head_office.language = "en"
    head_office.save(update_fields=["language"])
    page = client.get(reverse("ledger:problem_action", args=[problem.pk, "record_objection"]))
    assert f"dismiss:{objection.pk}" not in page.content.decode()
    assert "another person must decide the objections to it" in page.content.decode()

    actions.decide_objection(objection, by=world.office, uphold=False, note="经核实不属实")
    after_notice = actions.open_notice(problem).ends_on + dt.timedelta(days=1)
    refused(
        problem,
        head_office,
        "end_notice",
        lambda: actions.end_notice(problem, by=head_office, today=after_notice),
        "You signed this closing application as unit head; another person must end its public "
        "notice and close it.",
    )
    actions.end_notice(problem, by=world.office, today=after_notice)


# --- the page and the API refuse alike -----------------------------------------------------


def test_the_page_draws_no_sign_button_for_the_applicant_and_refuses_with_the_reason(world):
    both = holding("liaison_head", (world.eco, Role.LIAISON), (world.eco, Role.UNIT_HEAD))
    cast = Cast(world, liaison=both)
    problem = problem_in(world, State.CLOSING_APPLIED, cast=cast)
    client = Client()
    client.force_login(both)

    detail = client.get(reverse("ledger:problem_detail", args=[problem.pk])).content.decode()
    assert 'data-action="sign"' not in detail
    assert 'data-action="withdraw_application"' in detail  # his other buttons stay

    url = reverse("ledger:problem_action", args=[problem.pk, "sign"])
    reason = "You applied for closing this problem; another person must sign it."
    page = client.get(url)
    assert page.status_code == 403 and reason in page.content.decode()
    posted = client.post(url, {"statement": statement()})
    assert posted.status_code == 403 and reason in posted.content.decode()
    assert not Signature.objects.exists()

    head_page = Client()
    head_page.force_login(world.unit_head)
    detail = head_page.get(reverse("ledger:problem_detail", args=[problem.pk])).content.decode()
    assert 'data-action="sign"' in detail


def test_the_api_refuses_the_same_way_and_lists_no_such_action(world):
    both = holding("liaison_head", (world.eco, Role.LIAISON), (world.eco, Role.UNIT_HEAD))
    problem = problem_in(world, State.CLOSING_APPLIED, cast=Cast(world, liaison=both))
    _token, raw = ApiToken.issue(both, "pytest")
    api = Client(headers={"Authorization": f"Bearer {raw}", "Accept-Language": "en"})
    events = AuditEvent.objects.count()

    response = api.post(
        f"/api/v1/problems/{problem.pk}/actions/sign",
        json.dumps({"statement": statement(), "version": problem.version}),
        content_type="application/json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "You applied for closing this problem; another person must sign it."
    )
    assert AuditEvent.objects.count() == events and not Signature.objects.exists()
    listed = api.get(f"/api/v1/problems/{problem.pk}").json()["allowed_actions"]
    assert "sign" not in [a["name"] for a in listed]
    assert "withdraw_application" in [a["name"] for a in listed]
