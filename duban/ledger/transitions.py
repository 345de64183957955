"""The life of a problem in one table: which action moves it from where to where, and who may take it.

Every change of a problem's state goes through `duban.ledger.actions.base._state_change`,
which looks the move up here by the row's name and refuses one the row does not allow
(IllegalMove). The page draws its buttons and the API its action routes from the rows marked
`button`; the life-cycle diagram in the README is generated from the whole table
(`duban transitions --mermaid`). Tests walk every row from every source state
(duban/ledger/tests/test_transition_table.py).
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from duban.org.models import Role

from .models import State

PERSON = "person"
SYSTEM = "system"  # taken by the supervision sweep: actor None, audit role "system"

# A problem is born registered (create, an imported list, a split); the table moves it on.
INITIAL = State.REGISTERED


class IllegalMove(Exception):
    """The code tried a state change its row of the table does not allow: a programming
    error, never the user's (the action's check refuses a wrong state before)."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple[str, ...]
    target: str | None  # the state the action moves to; None: the state stays
    roles: tuple[str, ...]  # who may take it; none for a system move
    style: str = "primary"
    # Further states the action may end in when it has several outcomes (the source itself:
    # the state stays), e.g. accepting below the last level stays under acceptance.
    also: tuple[str, ...] = ()
    actor: str = PERSON
    # A button on the problem page and an API action route; other rows are taken inside
    # another action (deciding an objection), by another app (rebound) or by the system.
    button: bool = True

    def outcomes(self, source: str) -> frozenset:
        """The states this action may leave a problem in that was in `source`."""
        return frozenset({self.target or source, *self.also})

    def allows(self, source: str, to: str) -> bool:
        return source in self.sources and to in self.outcomes(source)


# Before the closing application: afterwards an edit would change what was signed and accepted.
_EDITABLE = (
    State.REGISTERED,
    State.ASSIGNED,
    State.CLAIMED,
    State.PLAN_SUBMITTED,
    State.IN_PROGRESS,
)

TABLE = {
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
        # The signature that completes the application (the unit head's, and the lead
        # official's when the problem has one) starts acceptance at the first level.
        Transition(
            "sign",
            _("Sign"),
            (State.CLOSING_APPLIED,),
            None,
            (Role.UNIT_HEAD,),
            also=(State.UNDER_ACCEPTANCE,),
        ),
        Transition(
            "endorse",
            _("Endorse"),
            (State.CLOSING_APPLIED,),
            None,
            (Role.LEAD_OFFICIAL,),
            also=(State.UNDER_ACCEPTANCE,),
        ),
        # The last level opens the public notice; a level below it hands on to the next.
        Transition(
            "accept",
            _("Accept"),
            (State.UNDER_ACCEPTANCE,),
            State.PUBLIC_NOTICE,
            (Role.ACCEPTOR,),
            also=(State.UNDER_ACCEPTANCE,),
        ),
        Transition(
            "return",
            _("Return"),
            (State.UNDER_ACCEPTANCE,),
            State.IN_PROGRESS,
            (Role.ACCEPTOR,),
            "danger",
        ),
        # Upheld at once the problem returns; received for a later decision it stays, and
        # the notice does not end meanwhile.
        Transition(
            "record_objection",
            _("Record objection"),
            (State.PUBLIC_NOTICE,),
            State.IN_PROGRESS,
            (Role.OFFICE,),
            "danger",
            also=(State.PUBLIC_NOTICE,),
        ),
        # Taken in the objection form of record_objection, not a button of its own: upheld
        # the problem returns, dismissed it stays and the notice may end.
        Transition(
            "decide_objection",
            _("Decide objection"),
            (State.PUBLIC_NOTICE,),
            State.IN_PROGRESS,
            (Role.OFFICE,),
            "danger",
            also=(State.PUBLIC_NOTICE,),
            button=False,
        ),
        Transition(
            "end_notice",
            _("End notice and close"),
            (State.PUBLIC_NOTICE,),
            State.CLOSED,
            (Role.OFFICE,),
        ),
        # The supervision sweep, the day after the notice's last day, unless an objection
        # waits for a decision or a child problem is open (duban.supervision.notices).
        Transition(
            "close_after_notice",
            _("Close after the notice"),
            (State.PUBLIC_NOTICE,),
            State.CLOSED,
            (),
            actor=SYSTEM,
            button=False,
        ),
        # 反弹 found by a look-back check (duban.lookback) reopens a closed problem. The caller
        # decides who may take it (the drawn checker of that problem); the ledger checks the
        # state.
        Transition(
            "reopen_after_rebound",
            _("Reopen after rebound"),
            (State.CLOSED,),
            State.IN_PROGRESS,
            (Role.ACCEPTOR, Role.OFFICE),
            "danger",
            button=False,
        ),
    ]
}


# The page's buttons and the API's action routes.
TRANSITIONS = {name: t for name, t in TABLE.items() if t.button}

# Rows that another app's action takes, not a button on the problem page nor an API route.
FOLLOW_UP_TRANSITIONS = {"reopen_after_rebound": TABLE["reopen_after_rebound"]}


def move(name: str, source: str, to: str) -> Transition:
    """Row `name`, if it allows moving a problem from `source` to `to`; else IllegalMove."""
    transition = TABLE.get(name)
    if transition is None:
        raise IllegalMove(f"No row {name!r} in the transition table.")
    if not transition.allows(source, to):
        raise IllegalMove(f"Row {name!r} of the transition table does not allow {source} → {to}.")
    return transition


# --- the life-cycle diagram ------------------------------------------------------------------

MERMAID_BEGIN = "<!-- transitions:mermaid begin (generated by `duban transitions --mermaid`) -->"
MERMAID_END = "<!-- transitions:mermaid end -->"


def mermaid() -> str:
    """The life cycle as a Mermaid state diagram, drawn from the table (every move between two
    states; rows that leave the state as it is are not drawn). Labels in English."""
    with translation.override("en"):
        edges: dict[tuple[str, str], list[str]] = {}
        for t in TABLE.values():
            label = str(t.label) + (" (system)" if t.actor == SYSTEM else "")
            for source in t.sources:
                for to in sorted(t.outcomes(source) - {source}, key=_ORDER.index):
                    edges.setdefault((source, to), []).append(label)
        lines = ["stateDiagram-v2"]
        lines += [f'    state "{state.label}" as {state.value}' for state in State]
        lines.append(f"    [*] --> {INITIAL.value}")
        for (source, to), labels in sorted(
            edges.items(), key=lambda e: (_ORDER.index(e[0][0]), _ORDER.index(e[0][1]))
        ):
            lines.append(f"    {source} --> {to}: {' / '.join(labels)}")
    return "\n".join(lines) + "\n"


def mermaid_block() -> str:
    """The diagram as the README holds it: fenced, between its markers."""
    return f"{MERMAID_BEGIN}\n```mermaid\n{mermaid()}```\n{MERMAID_END}"


def replace_mermaid_block(text: str) -> str:
    """`text` (the README) with its generated block replaced by the current one."""
    begin, end = text.find(MERMAID_BEGIN), text.find(MERMAID_END)
    if begin < 0 or end < begin:
        raise ValueError("The README has no transitions:mermaid block between its markers.")
    return text[:begin] + mermaid_block() + text[end + len(MERMAID_END) :]


_ORDER = [state.value for state in State]
