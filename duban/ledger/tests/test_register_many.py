"""Registering a whole list at once: what create_problem() does for one, for each, all or none."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from duban.audit import log
from duban.audit.models import AuditEvent
from duban.inspections.models import Inspection
from duban.ledger import actions
from duban.ledger.models import Measure, Milestone, Problem, ProblemUnit
from duban.org.models import Membership, Role, Unit, UnitKind

DEADLINE = dt.date.today() + dt.timedelta(days=90)


def fields_for(world, **changes) -> dict:
    fields = {
        "feedback_text": "督察发现，吴兴区部分建筑工地扬尘管控不到位。",
        "title": "建筑工地扬尘管控不到位",
        "ledger_number": "第7号",
        "category": "air",
        "region": world.wuxing,
        "lead_unit": world.eco,
        "lead_official": world.lead_official,
        "deadline": DEADLINE,
    }
    return fields | changes


def item_for(world, **changes) -> actions.ProblemInput:
    return actions.ProblemInput(
        fields_for(world, **changes),
        co_units=[world.wuxing_acceptance],
        measures=[
            actions.MeasureInput("全面排查在建工地", "吴兴分局"),
            actions.MeasureInput("落实六个百分百", "吴兴分局", DEADLINE),
        ],
        milestones=[actions.MilestoneInput(DEADLINE - dt.timedelta(days=30), 50, "过半")],
    )


def create_one(world, item, by=None):
    return actions.create_problem(
        by=by or world.office,
        inspection=world.inspection,
        fields=item.fields,
        co_units=item.co_units,
        measures=item.measures,
        milestones=item.milestones,
    )


def described(problem: Problem) -> dict:
    """Everything a registered problem holds, without its id and clock times."""
    row = {
        f.attname: getattr(problem, f.attname)
        for f in Problem._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at")
    }
    event = AuditEvent.objects.get(problem_id=problem.pk)
    return row | {
        "units": sorted(problem.unit_links.values_list("unit_id", "role")),
        "measures": list(problem.measures.values_list("order", "text", "owner", "due_date")),
        "milestones": list(problem.milestones.values_list("due_date", "percent", "description")),
        "event": (event.action, event.role, event.actor_id, event.before, event.after),
    }


def county_office(world):
    """An office of 吴兴区 only: a narrower scope than the city office of the world."""
    from duban.accounts.models import User

    user = User.objects.create_user("wuxing_office", display_name="吴兴区整改办")
    unit = Unit.objects.create(name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing)
    Membership.objects.create(user=user, unit=unit, role=Role.OFFICE)
    return user


def test_it_registers_each_problem_exactly_as_create_problem_does(world):
    single = described(create_one(world, item_for(world)))

    registered = actions.register_problems(
        by=world.office, inspection=world.inspection, items=[item_for(world)] * 3
    )

    assert len(registered) == 3 and all(p.pk for p in registered)
    for problem in registered:
        problem = Problem.objects.get(pk=problem.pk)
        assert described(problem) == single
    assert single["pace_behind_from"] is not None
    assert single["region_path"] == world.wuxing.path
    assert single["original_deadline"] == DEADLINE


def test_it_leaves_an_audit_chain_that_verifies(world):
    world.problem()
    actions.register_problems(
        by=world.office,
        inspection=world.inspection,
        items=[item_for(world, ledger_number=f"第{n}号") for n in range(25)],
        batch_size=10,
    )
    world.problem()

    verdict = log.verify()

    assert verdict.ok, verdict.reason
    assert verdict.checked == 27
    numbers = AuditEvent.objects.filter(action="problem.create").order_by("seq")
    assert [e.after["ledger_number"] for e in numbers][1:26] == [f"第{n}号" for n in range(25)]


def test_it_writes_in_batches_without_a_query_per_problem(world):
    items = [item_for(world, ledger_number=f"第{n}号") for n in range(300)]
    done = []

    with CaptureQueriesContext(connection) as queries:
        actions.register_problems(
            by=world.office,
            inspection=world.inspection,
            items=items,
            batch_size=100,
            progress=lambda count, total: done.append((count, total)),
        )

    assert done == [(100, 300), (200, 300), (300, 300)]
    assert len(queries) < 80
    assert Problem.objects.count() == 300
    assert ProblemUnit.objects.count() == 600
    assert Measure.objects.count() == 600
    assert Milestone.objects.count() == 300


def refusals(world):
    """(name, office user, item) for each check create_problem makes."""
    wuxing_office = county_office(world)
    from duban.accounts.models import User

    nanxun_official = User.objects.create_user("nanxun_official", display_name="南浔区领导")
    Membership.objects.create(user=nanxun_official, unit=world.housing, role=Role.LEAD_OFFICIAL)
    nanxun_round = Inspection.objects.create(
        code="nanxun-round", name="南浔区专项督察", kind="provincial", target_region=world.nanxun
    )
    return [
        ("region outside the office", wuxing_office, item_for(world, region=world.nanxun), None),
        (
            "unit outside the office",
            wuxing_office,
            actions.ProblemInput(fields_for(world), co_units=[world.housing]),
            None,
        ),
        (
            "lead official outside the office",
            wuxing_office,
            item_for(world, lead_official=nanxun_official),
            None,
        ),
        (
            "inspection elsewhere",
            world.office,
            item_for(world, region=world.wuxing),
            nanxun_round,
        ),
        ("implausible date", world.office, item_for(world, deadline=dt.date(1900, 1, 1)), None),
        ("title too long", world.office, item_for(world, title="长" * 201), None),
        ("no deadline", world.office, item_for(world, deadline=None), None),
        ("no deadline kind", world.office, item_for(world, deadline_by_date=False), None),
        (
            "measure owner too long",
            world.office,
            actions.ProblemInput(
                fields_for(world), measures=[actions.MeasureInput("措施", "长" * 101)]
            ),
            None,
        ),
        (
            "milestone over 100%",
            world.office,
            actions.ProblemInput(
                fields_for(world), milestones=[actions.MilestoneInput(DEADLINE, 150, "超额")]
            ),
            None,
        ),
    ]


@pytest.mark.parametrize("case", range(10))
def test_it_refuses_what_create_problem_refuses_and_writes_nothing(world, case):
    name, by, bad, inspection = refusals(world)[case]
    inspection = inspection or world.inspection
    with pytest.raises(actions.ActionError) as single:
        actions.create_problem(
            by=by,
            inspection=inspection,
            fields=bad.fields,
            co_units=bad.co_units,
            measures=bad.measures,
            milestones=bad.milestones,
        )
    head = log.chain_head()
    # A problem every case's office and inspection accept.
    where = {}
    if inspection.target_region == world.nanxun:
        where = {"region": world.nanxun, "lead_unit": world.housing}
    good = actions.ProblemInput(fields_for(world, lead_official=None, **where))

    with pytest.raises(actions.InvalidItems) as many:
        actions.register_problems(by=by, inspection=inspection, items=[good, bad, good])

    [(index, refused)] = many.value.errors
    assert index == 1, name
    assert type(refused) is type(single.value), name
    assert str(refused) == str(single.value), name
    assert getattr(refused, "field", None) == getattr(single.value, "field", None), name
    assert Problem.objects.count() == 0
    assert log.chain_head() == head


def test_it_names_every_refused_item_and_registers_none(world):
    items = [
        item_for(world),
        item_for(world, title="长" * 201),
        item_for(world),
        item_for(world, deadline=None),
    ]

    with pytest.raises(actions.InvalidItems) as refused:
        actions.register_problems(by=world.office, inspection=world.inspection, items=items)

    assert [index for index, _error in refused.value.errors] == [1, 3]
    assert refused.value.field == "title"
    assert Problem.objects.count() == 0
    assert AuditEvent.objects.filter(action="problem.create").count() == 0


def test_only_an_office_may_register(world):
    with pytest.raises(actions.InvalidItems) as refused:
        actions.register_problems(
            by=world.liaison, inspection=world.inspection, items=[item_for(world)]
        )

    assert isinstance(refused.value.errors[0][1], actions.NotAllowed)
    assert Problem.objects.count() == 0
