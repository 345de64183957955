"""The life of a problem in one table: which action moves it from where to where, and who may take it.

The UI draws its buttons from this table and the actions check against it, so
the two cannot disagree.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from duban.org.models import Role

from .models import State


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # None: the state stays (or is decided by the action)
    roles: tuple[str, ...]
    style: str = "primary"


# Before the closing application: afterwards an edit would change what was signed and accepted.
_EDITABLE = (
    State.REGISTERED,
    State.ASSIGNED,
    State.CLAIMED,
    State.PLAN_SUBMITTED,
    State.IN_PROGRESS,
)

TRANSITIONS = {
    t.name: t
    for t in [
        Transition("edit", _("Edit"), _EDITABLE, None, (Role.OFFICE,), "secondary"),
        Transition(
            "split",
            _("Split into child problems"),
            (
                State.REGISTERED,
                State.ASSIGNED,
                State.CLAIMED,
                State.PLAN_SUBMITTED,
                State.IN_PROGRESS,
            ),
            None,
            (Role.OFFICE,),
            "secondary",
        ),
        Transition("assign", _("Assign"), (State.REGISTERED,), State.ASSIGNED, (Role.OFFICE,)),
        Transition("claim", _("Claim"), (State.ASSIGNED,), State.CLAIMED, (Role.LIAISON,)),
        Transition(
            "save_plan", _("Draft plan"), (State.CLAIMED,), None, (Role.LIAISON,), "secondary"
        ),
        Transition(
            "submit_plan", _("Submit plan"), (State.CLAIMED,), State.PLAN_SUBMITTED, (Role.LIAISON,)
        ),
        Transition(
            "approve_plan",
            _("Approve plan"),
            (State.PLAN_SUBMITTED,),
            State.IN_PROGRESS,
            (Role.OFFICE,),
        ),
        Transition(
            "reject_plan",
            _("Return plan"),
            (State.PLAN_SUBMITTED,),
            State.CLAIMED,
            (Role.OFFICE,),
            "danger",
        ),
        Transition(
            "report_progress", _("Report progress"), (State.IN_PROGRESS,), None, (Role.LIAISON,)
        ),
        Transition(
            "upload_evidence",
            _("Upload evidence"),
            (State.CLAIMED, State.PLAN_SUBMITTED, State.IN_PROGRESS, State.CLOSING_APPLIED),
            None,
            (Role.LIAISON,),
            "secondary",
        ),
        Transition(
            "request_extension",
            _("Request extension"),
            (State.CLAIMED, State.PLAN_SUBMITTED, State.IN_PROGRESS),
            None,
            (Role.LIAISON,),
            "secondary",
        ),
        Transition(
            "decide_extension",
            _("Decide extension"),
            (State.CLAIMED, State.PLAN_SUBMITTED, State.IN_PROGRESS),
            None,
            (Role.OFFICE,),
        ),
        Transition(
            "apply_for_closing",
            _("Apply for closing"),
            (State.IN_PROGRESS,),
            State.CLOSING_APPLIED,
            (Role.LIAISON,),
        ),
        Transition(
            "edit_application",
            _("Edit closing application"),
            (State.CLOSING_APPLIED,),
            None,
            (Role.LIAISON,),
            "secondary",
        ),
        Transition(
            "withdraw_application",
            _("Withdraw closing application"),
            (State.CLOSING_APPLIED,),
            State.IN_PROGRESS,
            (Role.LIAISON,),
            "danger",
        ),
        Transition("sign", _("Sign"), (State.CLOSING_APPLIED,), None, (Role.UNIT_HEAD,)),
        Transition("endorse", _("Endorse"), (State.CLOSING_APPLIED,), None, (Role.LEAD_OFFICIAL,)),
        Transition("accept", _("Accept"), (State.UNDER_ACCEPTANCE,), None, (Role.ACCEPTOR,)),
        Transition(
            "return",
            _("Return"),
            (State.UNDER_ACCEPTANCE,),
            State.IN_PROGRESS,
            (Role.ACCEPTOR,),
            "danger",
        ),
        Transition(
            "record_objection",
            _("Record objection"),
            (State.PUBLIC_NOTICE,),
            State.IN_PROGRESS,
            (Role.OFFICE,),
            "danger",
        ),
        Transition(
            "end_notice",
            _("End notice and close"),
            (State.PUBLIC_NOTICE,),
            State.CLOSED,
            (Role.OFFICE,),
        ),
    ]
}


# Transitions that another app's action takes, not a button on the problem page nor an API action
# route: 反弹 found by a look-back check (duban.lookback) reopens a closed problem. The caller
# decides who may take it (the drawn checker of that problem); the ledger checks the state.
FOLLOW_UP_TRANSITIONS = {
    t.name: t
    for t in [
        Transition(
            "reopen_after_rebound",
            _("Reopen after rebound"),
            (State.CLOSED,),
            State.IN_PROGRESS,
            (Role.ACCEPTOR, Role.OFFICE),
            "danger",
        ),
    ]
}
