"""duban seed_scale --problems N: the synthetic world for benchmarks."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F

from duban.audit.log import verify
from duban.audit.models import AuditEvent
from duban.demo import scale
from duban.ledger.models import (
    ClosingApplication,
    Problem,
    ProblemUnit,
    PublicNotice,
    State,
)
from duban.ledger.pace import pace_bounds


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_it_seeds_a_synthetic_world_with_consistent_links(world):
    call_command("seed_scale", problems=500, seed=7, stdout=StringIO(), stderr=StringIO())
    problems = Problem.objects.filter(inspection__code=scale.DEFAULT_INSPECTION)
    assert problems.count() == 500
    assert len(set(problems.values_list("state", flat=True))) == len(State.values)
    # Every problem has exactly one lead link, to its lead unit.
    leads = ProblemUnit.objects.filter(problem__in=problems, role="lead")
    assert leads.count() == 500
    assert not leads.exclude(unit_id=F("problem__lead_unit_id")).exists()
    assert not problems.annotate(n=Count("unit_links")).filter(n=0).exists()
    # Pace bounds as the ledger derives them; regions in the office's city.
    for problem in problems:
        assert (problem.pace_behind_from, problem.pace_ahead_until) == pace_bounds(
            start=problem.start_date,
            deadline=problem.deadline if problem.deadline_by_date else None,
            percent=problem.progress_percent,
            milestones=[],
        )
        assert problem.region_path == problem.region.path
    # Late states carry their closing application and notice.
    late = problems.filter(state__in=[State.UNDER_ACCEPTANCE, State.PUBLIC_NOTICE, State.CLOSED])
    assert ClosingApplication.objects.filter(problem__in=late).count() == late.count()
    assert PublicNotice.objects.filter(
        problem__state=State.PUBLIC_NOTICE, status="open"
    ).count() == (problems.filter(state=State.PUBLIC_NOTICE).count())
    # Visible to the whole-city office, recorded once in an intact audit chain.
    assert Problem.objects.visible_to(world.office).filter(pk__in=problems).count() == 500
    assert AuditEvent.objects.filter(action="seed.scale").count() == 1
    assert verify().ok


def test_it_adds_to_an_existing_world_and_ids_keep_counting(world):
    call_command("seed_scale", problems=300, stdout=StringIO(), stderr=StringIO())
    call_command("seed_scale", problems=200, stdout=StringIO(), stderr=StringIO())
    problems = Problem.objects.filter(inspection__code=scale.DEFAULT_INSPECTION)
    assert problems.count() == 500
    assert len(set(problems.values_list("ledger_number", flat=True))) == 500
    # New problems through the actions get fresh ids (PostgreSQL's sequence was moved on).
    problem = world.problem(ledger_number="新登记")
    assert problem.pk > problems.order_by("-id").first().pk
