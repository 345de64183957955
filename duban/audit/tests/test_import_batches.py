"""A long import commits batch by batch, and still leaves all or nothing.

Each batch of problems commits in its own transaction with its audit events, so the
chain's head is never held for a whole import. When a late batch fails in the database,
the batches already committed are deleted again, each problem with a
"problem.import_undone" event, and the units the import created go too.
"""

import datetime as dt

import pytest
from django.db import IntegrityError

from duban.audit import log
from duban.audit.models import AuditEvent
from duban.documents.importing import importer, samples
from duban.ledger import actions
from duban.ledger.models import Measure, Problem, ProblemUnit
from duban.org.models import Unit, UnitKind

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = dt.date.today() + dt.timedelta(days=90)


def actions_after(seq: int) -> list[str]:
    return list(
        AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", flat=True)
    )


def item(world, number: int, co_units=()) -> actions.ProblemInput:
    return actions.ProblemInput(
        {
            "feedback_text": f"督察发现第{number}处工地扬尘管控不到位。",
            "title": "建筑工地扬尘管控不到位",
            "ledger_number": f"第{number}号",
            "category": "air",
            "region": world.wuxing,
            "lead_unit": world.eco,
            "lead_official": world.lead_official,
            "deadline": DEADLINE,
        },
        co_units=list(co_units),
        measures=[actions.MeasureInput("全面排查在建工地", "吴兴分局")],
    )


def a_unit_deleted_after_the_list_was_checked(world) -> Unit:
    """A unit an administrator removes while the import runs: its rows fail in the database."""
    unit = Unit.objects.create(name="临时指挥部", kind=UnitKind.DEPARTMENT, region=world.wuxing)
    Unit.objects.filter(pk=unit.pk).delete()
    return unit


def test_a_failed_late_batch_undoes_the_batches_before_it(world):
    gone = a_unit_deleted_after_the_list_was_checked(world)
    items = [item(world, n) for n in range(1, 5)] + [item(world, n, [gone]) for n in (5, 6, 7)]
    seq, problems = log.chain_head()[0], Problem.objects.count()
    batches_done = []

    with pytest.raises(IntegrityError):
        actions.register_problems(
            by=world.office,
            inspection=world.inspection,
            items=items,
            batch_size=2,
            progress=lambda done, total: batches_done.append(done),
        )

    # Two batches committed before the third failed at its commit; both were undone.
    assert batches_done == [2, 4]
    assert Problem.objects.count() == problems
    assert not Measure.objects.filter(text="全面排查在建工地").exists()
    assert not ProblemUnit.objects.filter(problem__ledger_number__startswith="第").exists()
    assert actions_after(seq) == ["problem.create"] * 4 + ["problem.import_undone"] * 4
    created = AuditEvent.objects.filter(seq__gt=seq, action="problem.create")
    undone = AuditEvent.objects.filter(seq__gt=seq, action="problem.import_undone")
    assert sorted(created.values_list("problem_id", flat=True)) == sorted(
        undone.values_list("problem_id", flat=True)
    )
    assert undone.first().actor_id == world.office.pk
    verdict = log.verify()
    assert verdict.ok, verdict.reason


def test_a_failed_late_batch_of_an_imported_list_leaves_nothing(world, monkeypatch):
    gone = a_unit_deleted_after_the_list_was_checked(world)
    content = samples.simple_workbook(
        [
            [1, "垃圾中转站臭气扰民。", "区环卫处", "", "2027年6月"],
            [2, "餐饮油烟直排。", "区环卫处", "", "2027年6月"],
            [3, "渣土车撒漏。", "区城管执法队", "", "立行立改"],
        ]
    )
    monkeypatch.setattr(importer, "BATCH", 1)
    seq, problems = log.chain_head()[0], Problem.objects.count()

    with pytest.raises(IntegrityError):
        importer.import_file(
            content,
            "清单.xlsx",
            inspection=world.inspection,
            by=world.office,
            create_units=True,
            unit_map={"区城管执法队": gone},
        )

    assert Problem.objects.count() == problems
    assert not Unit.objects.filter(name="区环卫处").exists()
    assert actions_after(seq) == [
        "unit.create",
        "problem.create",
        "problem.create",
        "problem.import_undone",
        "problem.import_undone",
        "unit.import_undone",
    ]
    assert log.verify().ok


def test_an_import_whose_last_step_fails_leaves_nothing(world, monkeypatch):
    class Stopped(Exception):
        pass

    def settle(result):
        raise Stopped

    content = samples.simple_workbook(
        [[n, f"第{n}处垃圾中转站臭气扰民。", "区环卫处", "", "2027年6月"] for n in (1, 2, 3)]
    )
    monkeypatch.setattr(importer, "BATCH", 2)
    seq, problems = log.chain_head()[0], Problem.objects.count()

    with pytest.raises(Stopped):
        importer.import_file(
            content,
            "清单.xlsx",
            inspection=world.inspection,
            by=world.office,
            unit_map={"区环卫处": world.eco},
            settle=settle,
        )

    assert Problem.objects.count() == problems
    assert actions_after(seq) == ["problem.create"] * 2 + ["problem.import_undone"] * 2
    assert log.verify().ok
