"""Who may take which action: every transition, from every source state, tried by every user.

The table of transitions names the roles; in the test world each role is held,
for a 吴兴分局 problem at the county acceptance level, by exactly one user.
Everyone else, including users of the right role elsewhere and users who cannot
see the problem at all, is refused with NotAllowed, and the buttons agree.
"""

import datetime as dt

import pytest

from duban.ledger import actions
from duban.ledger.models import Problem
from duban.ledger.transitions import TRANSITIONS
from duban.org.models import Role

from .flow import Cast, pdf, problem_in, upload_checklist

# The one user of the world who holds each role for a 吴兴分局 problem at the county level.
ACTOR_OF_ROLE = {
    Role.OFFICE: "office",
    Role.LIAISON: "liaison",
    Role.UNIT_HEAD: "unit_head",
    Role.LEAD_OFFICIAL: "lead_official",
    Role.ACCEPTOR: "county_acceptor",
}


def _request_extension(problem, by):
    return actions.request_extension(
        problem,
        by=by,
        reasons="原因",
        efforts="已做",
        new_deadline=problem.deadline + dt.timedelta(days=30),
        roadmap="路线图",
    )


def _prepare_closing(problem, world):
    upload_checklist(problem, Cast(world))


# name → (prepare(problem, world) → context, perform(problem, user, context, world))
HOW = {
    "edit": (None, lambda p, u, c, w: actions.update_problem(p, by=u, fields={"title": "更正"})),
    "split": (
        None,
        lambda p, u, c, w: actions.split_problem(p, by=u, children=[{"lead_unit": w.eco}]),
    ),
    "assign": (None, lambda p, u, c, w: actions.assign(p, by=u)),
    "claim": (None, lambda p, u, c, w: actions.claim(p, by=u)),
    "save_plan": (
        None,
        lambda p, u, c, w: actions.save_plan(
            p, by=u, target="目标", measures=[actions.MeasureInput("措施")], milestones=[]
        ),
    ),
    "submit_plan": (None, lambda p, u, c, w: actions.submit_plan(p, by=u)),
    "approve_plan": (None, lambda p, u, c, w: actions.approve_plan(p, by=u)),
    "reject_plan": (None, lambda p, u, c, w: actions.reject_plan(p, by=u, reasons="不具体")),
    "report_progress": (
        None,
        lambda p, u, c, w: actions.report_progress(p, by=u, period="7月", text="进展", percent=20),
    ),
    "upload_evidence": (
        None,
        lambda p, u, c, w: actions.upload_evidence(p, by=u, files=[pdf()], category="监测报告"),
    ),
    "request_extension": (None, lambda p, u, c, w: _request_extension(p, u)),
    "decide_extension": (
        lambda p, w: _request_extension(p, w.liaison),
        lambda p, u, c, w: actions.decide_extension(c, by=u, approve=True),
    ),
    "apply_for_closing": (
        _prepare_closing,
        lambda p, u, c, w: actions.apply_for_closing(p, by=u, summary="已完成", self_check="属实"),
    ),
    "edit_application": (
        None,
        lambda p, u, c, w: actions.edit_application(p, by=u, summary="补充", self_check="属实"),
    ),
    "withdraw_application": (None, lambda p, u, c, w: actions.withdraw_application(p, by=u)),
    "sign": (None, lambda p, u, c, w: actions.sign(p, by=u, statement="属实")),
    "endorse": (None, lambda p, u, c, w: actions.endorse(p, by=u, statement="同意")),
    "accept": (None, lambda p, u, c, w: actions.accept(p, by=u, site_check="合格")),
    "return": (
        None,
        lambda p, u, c, w: actions.return_application(
            p, by=u, site_check="不合格", reasons="未完成"
        ),
    ),
    "record_objection": (None, lambda p, u, c, w: actions.record_objection(p, by=u, text="异议")),
    "end_notice": (
        None,
        lambda p, u, c, w: actions.end_notice(
            p, by=u, today=actions.open_notice(p).ends_on + dt.timedelta(days=1)
        ),
    ),
}


def test_it_knows_how_to_try_every_transition():
    assert set(HOW) == set(TRANSITIONS)


@pytest.mark.parametrize("name", list(TRANSITIONS))
def test_it_lets_only_the_roles_of_the_transition_take_it(world, name):
    transition = TRANSITIONS[name]
    prepare, perform = HOW[name]
    allowed = {ACTOR_OF_ROLE[role] for role in transition.roles}
    assert allowed, name

    for number, source in enumerate(transition.sources, start=1):
        problem = problem_in(world, source, ledger_number=f"{name}-{number}")
        context = prepare(problem, world) if prepare else None
        version = Problem.objects.get(pk=problem.pk).version

        for username, user in world.users.items():
            buttons = {t.name for t in actions.allowed_actions(problem, user)}
            assert (name in buttons) == (username in allowed), (name, source, username)
            if username in allowed:
                continue
            with pytest.raises(actions.NotAllowed):
                perform(problem, user, context, world)
            assert Problem.objects.get(pk=problem.pk).version == version, (name, username)

        for username in sorted(allowed):
            perform(problem, world.users[username], context, world)
        assert Problem.objects.get(pk=problem.pk).version > version, (name, source)
