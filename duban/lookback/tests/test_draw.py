"""The draw: reproducible from its seed, by the command, the page and by hand."""

import datetime
import hashlib
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from duban.audit.models import AuditEvent
from duban.ledger.models import Problem, State
from duban.lookback import actions, method
from duban.lookback.models import LookbackCheck, LookbackDraw

from .support import closed, many_closed


def run(*args) -> dict:
    out = StringIO()
    call_command("lookback_draw", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_draws_the_same_problems_from_the_same_seed(world):
    many_closed(world, 20)
    args = ["--inspection", world.inspection.code, "--size", "5", "--seed", "20260701"]
    first, second = run(*args), run(*args)
    assert first == second
    assert first["seed"] == "20260701"
    assert first["inspection"] == world.inspection.code
    assert first["candidates"] == 20
    assert len(first["drawn"]) == 5


def test_it_draws_other_problems_from_another_seed(world):
    many_closed(world, 30)
    a = run("--inspection", world.inspection.code, "--size", "5", "--seed", "1")
    b = run("--inspection", world.inspection.code, "--size", "5", "--seed", "2")
    assert a["drawn"] != b["drawn"]


def test_it_draws_the_lowest_sha256_scores_as_anyone_can_compute_them(world):
    problems = many_closed(world, 12)
    result = run("--inspection", world.inspection.code, "--size", "4", "--seed", "abc")
    by_hand = sorted(
        (p.ledger_number for p in problems),
        key=lambda n: hashlib.sha256(f"abc:{n}".encode()).hexdigest(),
    )[:4]
    assert sorted(result["drawn"]) == sorted(by_hand)


def test_it_writes_nothing_without_save(world):
    many_closed(world, 5)
    events = AuditEvent.objects.count()
    run("--inspection", world.inspection.code, "--size", "2", "--seed", "s")
    assert LookbackDraw.objects.count() == 0
    assert AuditEvent.objects.count() == events


def test_it_saves_a_draw_from_the_command_that_the_same_command_redoes(world):
    many_closed(world, 8)
    args = ["--inspection", world.inspection.code, "--size", "3", "--seed", "s1"]
    saved = run(*args, "--save")
    draw = LookbackDraw.objects.get(pk=saved["draw"])
    assert draw.created_by is None and draw.seed == "s1" and draw.candidate_count == 8
    recorded = sorted(draw.checks.values_list("problem__ledger_number", flat=True))
    assert recorded == sorted(saved["drawn"]) == sorted(run(*args)["drawn"])


def test_it_counts_only_problems_closed_long_enough_ago(world):
    for n in range(1, 4):
        closed(world, f"旧{n}", days_ago=400)
    for n in range(1, 4):
        closed(world, f"新{n}", days_ago=10)
    world.problem(ledger_number="未销号")  # still open: never a candidate
    result = run(
        "--inspection", world.inspection.code, "--size", "3", "--seed", "x", "--min-age-days", "180"
    )
    assert result["candidates"] == 3
    assert sorted(result["drawn"]) == ["旧1", "旧2", "旧3"]
    assert (
        run("--inspection", world.inspection.code, "--size", "1", "--seed", "x")["candidates"] == 6
    )


def test_it_allocates_strata_proportionally_by_largest_remainder():
    assert method.allocate({"a": 5, "b": 3, "c": 2}, 5) == {"a": 3, "b": 1, "c": 1}
    assert method.allocate({"a": 6, "b": 3}, 3) == {"a": 2, "b": 1}
    assert method.allocate({"x": 1, "y": 1, "z": 1}, 2) == {"x": 1, "y": 1, "z": 0}
    assert sum(method.allocate({"a": 7, "b": 5, "c": 1}, 6).values()) == 6


def test_it_draws_each_unit_its_share(world):
    many_closed(world, 6, prefix="吴")
    many_closed(world, 3, prefix="浔", unit=world.housing)
    result = run(
        "--inspection", world.inspection.code, "--size", "3", "--seed", "q", "--strata", "unit"
    )
    assert len([n for n in result["drawn"] if n.startswith("吴")]) == 2
    assert len([n for n in result["drawn"] if n.startswith("浔")]) == 1


def test_it_draws_by_unit_and_category_together(world):
    many_closed(world, 4, prefix="水", category="water")
    many_closed(world, 4, prefix="气", category="air")
    result = run(
        "--inspection",
        world.inspection.code,
        "--share",
        "0.5",
        "--seed",
        "q",
        "--strata",
        "category,unit",
    )
    assert len(result["drawn"]) == 4
    assert len([n for n in result["drawn"] if n.startswith("水")]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--size", "0"], "at least 1"),
        (["--share", "1.5"], "at most 1"),
        (["--share", "abc"], "at most 1"),
        (["--size", "11"], "larger than"),
        ([], "size or a share"),
        (["--size", "1", "--strata", "colour"], "unit"),
        (["--size", "1", "--min-age-days", "1000000000"], "at most 36500 days"),
    ],
)
def test_it_refuses_bad_input_with_a_clear_message(world, args, message):
    many_closed(world, 10)
    with translation.override("en"), pytest.raises(CommandError, match=message):
        call_command("lookback_draw", "--inspection", world.inspection.code, "--seed", "s", *args)
    assert LookbackDraw.objects.count() == 0


def test_it_refuses_an_unknown_inspection(world):
    with (
        translation.override("en"),
        pytest.raises(CommandError, match="No inspection with code “nope”"),
    ):
        call_command("lookback_draw", "--inspection", "nope", "--size", "1", "--seed", "s")


def test_it_exits_non_zero_from_the_command_line(world, capsys):
    from duban.manage import main

    with pytest.raises(SystemExit) as exit_:
        import sys

        argv = sys.argv
        sys.argv = ["duban", "lookback_draw", "--inspection", "nope", "--size", "1", "--seed", "s"]
        try:
            main()
        finally:
            sys.argv = argv
    assert exit_.value.code != 0
    assert "没有代码为“nope”的督察。" in capsys.readouterr().err  # the office's language


def test_it_never_draws_a_checker_of_the_problems_own_units(world):
    from duban.ledger.tests.flow import member
    from duban.org.models import Role, Unit

    below = Unit.objects.create(name="吴兴分局执法大队", region=world.wuxing, parent=world.eco)
    insiders = [
        member("eco_acceptor", world.eco, Role.ACCEPTOR),
        member("below_acceptor", below, Role.ACCEPTOR),
    ]
    problems = many_closed(world, 6)
    # A 南浔 problem on which 吴兴分局 co-operates: its people may not check it either.
    co = actions.ledger.create_problem(
        by=world.office,
        inspection=world.inspection,
        fields={
            "feedback_text": "配合问题",
            "title": "配合问题",
            "ledger_number": "配合",
            "region": world.nanxun,
            "lead_unit": world.housing,
            "deadline": datetime.date(2027, 1, 1),
        },
        co_units=[world.eco],
    )
    Problem.objects.filter(pk=co.pk).update(state=State.CLOSED, closed_at=timezone.now())
    outsiders = {world.county_acceptor.pk, world.city_acceptor.pk}
    for seed in ("1", "2", "3", "4", "5"):
        plan = actions.plan_draw(inspection=world.inspection, region=world.city, seed=seed, size=7)
        for item in plan.result.drawn:
            assert item.checker.id in outsiders, (seed, item.candidate.key)
    assert len(problems) == 6 and {u.username for u in insiders}


def test_it_refuses_a_draw_when_nobody_in_the_pool_is_independent(world):
    from duban.ledger.tests.flow import member
    from duban.org.models import Role

    insider = member("eco_acceptor", world.eco, Role.ACCEPTOR)
    many_closed(world, 2)
    with translation.override("en"), pytest.raises(actions.InvalidInput, match="independent"):
        actions.create_draw(
            by=world.office, inspection=world.inspection, seed="s", size=1, pool=[insider]
        )
    assert LookbackCheck.objects.count() == 0
