"""The transition table is the law: every row walked from every source state, every way its
action can end, with the database watching each change of a problem's state.

A row allows a move from each of its sources to its target (or, when the action has several
outcomes, to one of `also`). The walk fails when an action ends somewhere its row does not
allow, when the database saw a move no row allows, or when a row promises an outcome no way of
taking it reaches (a table wider than the code). A scan of the source fails when anything but
`_state_change` (or `_state_change_many`, its form for a locked batch) writes a problem's state.
"""

import ast
import dataclasses
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from duban.ledger import actions, transitions
from duban.ledger.actions.base import _bump
from duban.ledger.models import Problem, State
from duban.ledger.transitions import SYSTEM, TABLE, TRANSITIONS, IllegalMove
from duban.org.models import Membership

from .flow import Cast, pdf, problem_in, upload_checklist

# --- the database watches every change of a problem's state --------------------------------

_WATCH_SQLITE = [
    "CREATE TEMP TABLE seen_moves (problem_id integer, source text, target text)",
    """CREATE TEMP TRIGGER seen_moves_trigger AFTER UPDATE OF state ON ledger_problem
       WHEN OLD.state IS NOT NEW.state
       BEGIN INSERT INTO seen_moves VALUES (OLD.id, OLD.state, NEW.state); END""",
]
_WATCH_POSTGRES = [
    "CREATE TEMP TABLE seen_moves (problem_id bigint, source text, target text)",
    """CREATE FUNCTION pg_temp.seen_moves_log() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO seen_moves VALUES (OLD.id, OLD.state, NEW.state); RETURN NEW; END $$""",
    """CREATE TRIGGER seen_moves_trigger AFTER UPDATE OF state ON ledger_problem FOR EACH ROW
       WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION pg_temp.seen_moves_log()""",
]


@pytest.fixture
def seen_moves(db):
    """Read (and forget) the moves the database saw: [(problem_id, source, target)]. The
    trigger lives in the test's transaction and goes with its rollback."""
    with connection.cursor() as cursor:
        for sql in _WATCH_POSTGRES if connection.vendor == "postgresql" else _WATCH_SQLITE:
            cursor.execute(sql)

    def read():
        with connection.cursor() as cursor:
            cursor.execute("SELECT problem_id, source, target FROM seen_moves")
            rows = cursor.fetchall()
            cursor.execute("DELETE FROM seen_moves")
        return rows

    return read


# --- how each row is taken ------------------------------------------------------------------


@dataclasses.dataclass
class Way:
    """One way of taking a row's action: get the problem ready, then take it."""

    take: Callable  # (problem, world, ready) → anything
    ready: Callable | None = None  # (problem, world) → what `take` needs
    note: str = ""


def _membership(user):
    return Membership.objects.filter(user=user).first()


def _after_notice(problem):
    return actions.open_notice(problem).ends_on + dt.timedelta(days=1)


def _extension(problem, world):
    return actions.request_extension(
        problem,
        by=world.liaison,
        reasons="受汛期影响",
        efforts="已完成排查",
        new_deadline=problem.deadline + dt.timedelta(days=30),
        roadmap="2027年3月底前完成",
    )


def _pending_objection(problem, world):
    return actions.record_objection(problem, by=world.office, text="群众来电", pending=True)


WAYS: dict[str, list[Way]] = {
    "edit": [Way(lambda p, w, r: actions.update_problem(p, by=w.office, fields={"title": "更正"}))],
    "split": [
        Way(lambda p, w, r: actions.split_problem(p, by=w.office, children=[{"lead_unit": w.eco}]))
    ],
    "assign": [Way(lambda p, w, r: actions.assign(p, by=w.office))],
    "claim": [Way(lambda p, w, r: actions.claim(p, by=w.liaison))],
    "save_plan": [
        Way(
            lambda p, w, r: actions.save_plan(
                p,
                by=w.liaison,
                target="目标",
                measures=[actions.MeasureInput("措施")],
                milestones=[],
            )
        )
    ],
    "submit_plan": [Way(lambda p, w, r: actions.submit_plan(p, by=w.liaison))],
    "approve_plan": [Way(lambda p, w, r: actions.approve_plan(p, by=w.office))],
    "reject_plan": [Way(lambda p, w, r: actions.reject_plan(p, by=w.office, reasons="不具体"))],
    "report_progress": [
        Way(
            lambda p, w, r: actions.report_progress(
                p, by=w.liaison, period="7月", text="进展", percent=20
            )
        )
    ],
    "upload_evidence": [
        Way(
            lambda p, w, r: actions.upload_evidence(
                p, by=w.liaison, files=[pdf()], category="监测报告"
            )
        )
    ],
    "request_extension": [Way(lambda p, w, r: _extension(p, w))],
    "decide_extension": [
        Way(lambda p, w, r: actions.decide_extension(r, by=w.office, approve=True), _extension)
    ],
    "apply_for_closing": [
        Way(
            lambda p, w, r: actions.apply_for_closing(
                p, by=w.liaison, summary="已完成", self_check="属实"
            ),
            lambda p, w: upload_checklist(p, Cast(w)),
        )
    ],
    "edit_application": [
        Way(
            lambda p, w, r: actions.edit_application(
                p, by=w.liaison, summary="补充", self_check="属实"
            )
        )
    ],
    "withdraw_application": [Way(lambda p, w, r: actions.withdraw_application(p, by=w.liaison))],
    "sign": [
        Way(lambda p, w, r: actions.sign(p, by=w.unit_head, statement="属实"), note="first"),
        Way(
            lambda p, w, r: actions.sign(p, by=w.unit_head, statement="属实"),
            lambda p, w: actions.endorse(p, by=w.lead_official, statement="同意"),
            note="after the endorsement",
        ),
    ],
    "endorse": [
        Way(lambda p, w, r: actions.endorse(p, by=w.lead_official, statement="同意"), note="first"),
        Way(
            lambda p, w, r: actions.endorse(p, by=w.lead_official, statement="同意"),
            lambda p, w: actions.sign(p, by=w.unit_head, statement="属实"),
            note="after the signature",
        ),
    ],
    "accept": [
        Way(
            lambda p, w, r: actions.accept(p, by=w.county_acceptor, site_check="合格"),
            note="first level",
        ),
        Way(
            lambda p, w, r: actions.accept(p, by=w.city_acceptor, site_check="合格"),
            lambda p, w: actions.accept(p, by=w.county_acceptor, site_check="合格"),
            note="last level",
        ),
    ],
    "return": [
        Way(
            lambda p, w, r: actions.return_application(
                p, by=w.county_acceptor, site_check="不合格", reasons="未完成"
            )
        )
    ],
    "record_objection": [
        Way(lambda p, w, r: actions.record_objection(p, by=w.office, text="异议"), note="upheld"),
        Way(lambda p, w, r: _pending_objection(p, w), note="received"),
    ],
    "decide_objection": [
        Way(
            lambda p, w, r: actions.decide_objection(r, by=w.office, uphold=True),
            _pending_objection,
            note="upheld",
        ),
        Way(
            lambda p, w, r: actions.decide_objection(r, by=w.office, uphold=False, note="不属实"),
            _pending_objection,
            note="dismissed",
        ),
    ],
    "end_notice": [Way(lambda p, w, r: actions.end_notice(p, by=w.office, today=_after_notice(p)))],
    "close_after_notice": [
        Way(lambda p, w, r: actions.close_after_notice(p, today=_after_notice(p)))
    ],
    "reopen_after_rebound": [
        Way(
            lambda p, w, r: actions.reopen_after_rebound(
                p,
                by=w.county_acceptor,
                membership=_membership(w.county_acceptor),
                reason="回头看发现反弹",
            )
        )
    ],
}


def walk(world, seen_moves, name: str) -> tuple[list[str], set]:
    """Take row `name` from each of its sources in each of its ways: (what went wrong, the
    (source, end) pairs reached)."""
    transition = TABLE[name]
    wrong, reached = [], set()
    for number, source in enumerate(transition.sources):
        for way_number, way in enumerate(WAYS[name]):
            where = f"{name} from {source}" + (f" ({way.note})" if way.note else "")
            problem = problem_in(world, source, ledger_number=f"{name}-{number}-{way_number}")
            ready = way.ready(problem, world) if way.ready else None
            problem = Problem.objects.get(pk=problem.pk)
            seen_moves()  # forget the moves that got it here
            try:
                way.take(problem, world, ready)
            except (IllegalMove, actions.ActionError) as error:
                wrong.append(f"{where}: refused: {error}")
                continue
            end = Problem.objects.get(pk=problem.pk).state
            reached.add((source, end))
            if end not in transition.outcomes(source):
                wrong.append(
                    f"{where}: ended {end}, the row allows {set(transition.outcomes(source))}"
                )
            for problem_id, old, new in seen_moves():
                if problem_id == problem.pk and not transition.allows(old, new):
                    wrong.append(f"{where}: the database saw {old} → {new}")
                elif not any(t.allows(old, new) for t in TABLE.values()):
                    wrong.append(f"{where}: problem {problem_id} moved {old} → {new}, in no row")
    for source in transition.sources:
        for outcome in transition.outcomes(source):
            if (source, outcome) not in reached:
                wrong.append(f"{name} from {source}: no way of taking it ends {outcome}")
    return wrong, reached


# --- the walk -------------------------------------------------------------------------------


def test_it_knows_how_to_take_every_row():
    assert set(WAYS) == set(TABLE)


@pytest.mark.parametrize("name", list(TABLE))
def test_every_row_ends_only_where_the_table_allows(world, seen_moves, name):
    wrong, _reached = walk(world, seen_moves, name)
    assert wrong == []


def test_the_walk_catches_a_row_that_disagrees_with_its_action(world, seen_moves, monkeypatch):
    # given a row that promises more than its action does, walked
    with monkeypatch.context() as m:
        m.setitem(TABLE, "claim", dataclasses.replace(TABLE["claim"], also=(State.IN_PROGRESS,)))
        wrong_claim, _ = walk(world, seen_moves, "claim")
    # and a row that says assigning leads to claimed, walked
    with monkeypatch.context() as m:
        m.setitem(TABLE, "assign", dataclasses.replace(TABLE["assign"], target=State.CLAIMED))
        wrong_assign, _ = walk(world, seen_moves, "assign")
    # then the promise is found empty, and the action refused by its own row
    assert any("assign from registered: refused" in w for w in wrong_assign), wrong_assign
    assert wrong_claim == ["claim from assigned: no way of taking it ends in_progress"]


def test_the_database_watch_sees_a_move_behind_the_tables_back(world, seen_moves):
    problem = problem_in(world, State.REGISTERED)
    seen_moves()
    Problem.objects.filter(pk=problem.pk).update(state=State.IN_PROGRESS)
    assert seen_moves() == [(problem.pk, State.REGISTERED, State.IN_PROGRESS)]


def test_state_change_refuses_a_move_its_row_does_not_allow(world):
    problem = problem_in(world, State.REGISTERED)
    with pytest.raises(IllegalMove):
        actions.base._state_change(problem, world.office, None, "assign", State.CLOSED)
    with pytest.raises(IllegalMove):
        actions.base._state_change(problem, world.office, None, "claim", State.CLAIMED)
    with pytest.raises(IllegalMove):
        actions.base._state_change(problem, world.office, None, "no_such_row", State.ASSIGNED)
    assert Problem.objects.get(pk=problem.pk).state == State.REGISTERED


def test_only_state_change_may_bump_the_state(world):
    problem = problem_in(world, State.REGISTERED)
    with pytest.raises(IllegalMove):
        _bump(problem, state=State.ASSIGNED)
    assert Problem.objects.get(pk=problem.pk).state == State.REGISTERED


def test_a_problem_is_born_registered(world):
    with pytest.raises(IllegalMove):
        world.problem(state=State.CLOSED)
    assert not Problem.objects.exists()


# --- buttons and API routes stay as they were -----------------------------------------------


def test_rows_that_are_not_buttons_are_neither_buttons_nor_api_routes():
    hidden = {name for name, t in TABLE.items() if not t.button}
    assert hidden == {"decide_objection", "close_after_notice", "reopen_after_rebound"}
    assert not hidden & set(TRANSITIONS)
    assert all(not t.roles and not t.button for t in TABLE.values() if t.actor == SYSTEM)


def test_a_system_row_is_refused_to_every_person(world):
    problem = problem_in(world, State.PUBLIC_NOTICE)
    for user in world.users.values():
        with pytest.raises(actions.NotAllowed):
            actions.check(problem, "close_after_notice", user)
        assert "close_after_notice" not in {t.name for t in actions.allowed_actions(problem, user)}


# --- nothing else writes a problem's state --------------------------------------------------

DUBAN = Path(__file__).resolve().parents[2]
# The one function that writes the state (and its form for a batch the sweep has locked).
THE_ONE_PLACE = {
    ("ledger/actions/base.py", "_state_change"),
    ("ledger/actions/base.py", "_state_change_many"),
}
_WRITES = {"update", "create", "get_or_create", "update_or_create", "bulk_create", "_bump"}


def state_writes(source: str, path: str) -> list[str]:
    """Where `source` (the text of duban/`path`) writes a problem's state: `x.state = …`,
    `.update(state=…)`, `_bump(…, state=…)`, `Problem(state=…)`, `update_fields=[…"state"…]`,
    bulk_update of "state", or raw SQL that updates ledger_problem's state."""
    found = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (path, node.name) in THE_ONE_PLACE:
            for inner in ast.walk(node):
                inner._in_the_one_place = True
    for node in ast.walk(tree):
        if getattr(node, "_in_the_one_place", False):
            continue
        line = f"{path}:{getattr(node, 'lineno', 0)}"
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr == "state":
                found.append(f"{line}: assigns .state")
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            keywords = {k.arg: k.value for k in node.keywords}
            if "state" in keywords and (name in _WRITES or name == "Problem"):
                found.append(f"{line}: {name}(state=…)")
            fields = keywords.get("update_fields") or keywords.get("fields")
            if name == "bulk_update" and fields is None and len(node.args) > 1:
                fields = node.args[1]
            if (name in ("save", "bulk_update")) and _names_state(fields):
                found.append(f"{line}: {name} with the state field")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = " ".join(node.value.lower().split())
            if "update ledger_problem" in sql.replace('"', "") and "state" in sql:
                found.append(f"{line}: raw SQL updates ledger_problem's state")
    return found


def _names_state(node) -> bool:
    return isinstance(node, ast.List | ast.Tuple | ast.Set) and any(
        isinstance(e, ast.Constant) and e.value == "state" for e in node.elts
    )


def test_nothing_but_state_change_writes_a_problems_state():
    found = []
    for file in sorted(DUBAN.rglob("*.py")):
        path = file.relative_to(DUBAN).as_posix()
        if "/tests/" in f"/{path}" or "/migrations/" in path:
            continue
        found += state_writes(file.read_text(encoding="utf-8"), path)
    assert found == []


def test_the_scan_finds_a_state_written_behind_the_tables_back():
    bad = """
def reopen(problem):
    problem.state = "in_progress"
    problem.save(update_fields=["state"])
    Problem.objects.filter(pk=problem.pk).update(state="closed")
    _bump(problem, state="closed")
    Problem(title="x", state="closed")
    Problem.objects.bulk_update([problem], ["state"])
    cursor.execute("UPDATE ledger_problem SET state = 'closed'")
"""
    assert len(state_writes(bad, "ledger/views/bad.py")) == 7
    # the same call inside the one place is the law, not a breach
    good = "def _state_change(problem, to):\n    _bump(problem, state=to)\n"
    assert state_writes(good, "ledger/actions/base.py") == []
    assert state_writes(good, "ledger/actions/plan.py") != []


# --- the picture in the README --------------------------------------------------------------


def test_the_readme_shows_the_diagram_generated_from_the_table():
    readme = (DUBAN.parent / "README.md").read_text(encoding="utf-8")
    assert transitions.mermaid_block() in readme, (
        "README's life-cycle diagram differs from the table: "
        "run `duban transitions --update-readme`."
    )


def test_the_diagram_draws_every_move_of_the_table():
    diagram = transitions.mermaid()
    for t in TABLE.values():
        for source in t.sources:
            for to in t.outcomes(source) - {source}:
                assert f"    {source} --> {to}: " in diagram, (t.name, source, to)
    assert "public_notice --> closed: End notice and close / Close after the notice (system)" in (
        diagram
    )


def test_the_command_puts_the_current_diagram_into_a_readme(tmp_path):
    readme = tmp_path / "README.md"
    stale = (
        f"# Duban\n\n{transitions.MERMAID_BEGIN}\n```mermaid\nold\n```\n{transitions.MERMAID_END}\n"
    )
    readme.write_text(stale, encoding="utf-8")
    call_command("transitions", "--update-readme", str(readme), stdout=io.StringIO())
    assert readme.read_text(encoding="utf-8") == f"# Duban\n\n{transitions.mermaid_block()}\n"
    out = io.StringIO()
    call_command("transitions", "--mermaid", stdout=out)
    assert out.getvalue() == f"```mermaid\n{transitions.mermaid()}```\n"


def test_the_command_refuses_a_readme_without_the_markers(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Duban\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("transitions", "--update-readme", str(readme), stdout=io.StringIO())
    assert readme.read_text(encoding="utf-8") == "# Duban\n"
