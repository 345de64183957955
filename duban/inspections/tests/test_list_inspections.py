"""duban list_inspections [--json]: the inspections and their problem counts."""

import json
from io import StringIO

from django.core.management import call_command


def list_inspections() -> list:
    out = StringIO()
    call_command("list_inspections", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_it_lists_no_inspections_on_an_empty_database(db):
    assert list_inspections() == []


def test_it_lists_inspections_with_their_problem_counts(world):
    world.problem()
    world.problem(ledger_number="第2号")
    assert list_inspections() == [
        {
            "code": world.inspection.code,
            "name": world.inspection.name,
            "kind": "central",
            "problems": 2,
        }
    ]
    out = StringIO()
    call_command("list_inspections", stdout=out)
    assert world.inspection.code in out.getvalue()
