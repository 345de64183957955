"""duban seed_demo: the Chinese demo world, built through the actions, on an empty database."""

import json
from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import CommandError, call_command

from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.demo import content
from duban.inspections.models import Inspection
from duban.ledger.models import (
    AcceptanceReview,
    Evidence,
    Extension,
    Problem,
    State,
)
from duban.ledger.pace import Pace
from duban.org.models import Membership, Role


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_it_builds_every_state_of_the_life_cycle(seeded):
    central = Inspection.objects.get(code="central-2-zj")
    problems = Problem.objects.filter(inspection=central)
    assert 20 <= problems.count() <= 40
    assert set(problems.values_list("state", flat=True)) == set(State.values)
    # Acceptance at both levels, closing applications signed and unsigned.
    levels = problems.filter(state=State.UNDER_ACCEPTANCE).values_list(
        "acceptance_level", flat=True
    )
    assert set(levels) == {0, 1}
    applied = problems.filter(state=State.CLOSING_APPLIED)
    signatures = {
        p.closing_applications.get(status="submitted").signatures.count() for p in applied
    }
    assert {0, 1} <= signatures
    # One application was returned and the problem applied again.
    returned = AcceptanceReview.objects.filter(decision="returned").select_related("application")
    assert returned.count() == 1
    assert returned[0].application.problem.closing_applications.count() == 2
    # Overdue, behind, ahead, an approved extension, a split problem.
    in_progress = list(problems.filter(state=State.IN_PROGRESS))
    assert any(p.is_overdue() for p in in_progress)
    assert any(p.pace() == Pace.BEHIND and not p.is_overdue() for p in in_progress)
    assert any(p.pace() == Pace.AHEAD for p in in_progress)
    assert Extension.objects.filter(status="approved").exists()
    parent = problems.get(ledger_number="省编号第35号")
    assert parent.children.count() == 3
    assert {c.region.parent.code for c in parent.children.all()} == {"330500"}
    # Real files went through the upload checks.
    assert Evidence.objects.filter(content_type="image/jpeg").exclude(thumbnail="").exists()
    assert Evidence.objects.filter(content_type="application/pdf").exists()
    # The smaller provincial inspection.
    assert Problem.objects.filter(inspection__kind="provincial").count() >= 3
    # Every change is in the audit log, by the person who made it.
    assert (
        AuditEvent.objects.filter(action="close").count()
        == problems.filter(state=State.CLOSED).count()
        + Problem.objects.filter(inspection__kind="provincial", state=State.CLOSED).count()
    )


def test_it_prints_one_account_per_role_and_refuses_a_second_run(seeded):
    for username, _name, role, _unit, _note in content.ROLE_ACCOUNTS:
        assert username in seeded
        user = User.objects.get(username=username)
        assert user.check_password(content.DEMO_PASSWORD)
        validate_password(content.DEMO_PASSWORD, user)
        if role:
            assert Membership.objects.filter(user=user, role=role).exists()
    assert content.DEMO_PASSWORD in seeded
    assert set(Role.values) <= set(Membership.objects.values_list("role", flat=True))
    assert not Membership.objects.filter(user__username="outsider").exists()

    # A second run refuses: the database already has inspections.
    problems = Problem.objects.count()
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_demo", stdout=StringIO(), stderr=StringIO())
    assert Problem.objects.count() == problems

    # After seeding, verify_audit passes (exit status 0) over every event.
    out = StringIO()
    call_command("verify_audit", "--json", "--no-progress", stdout=out, stderr=StringIO())
    verdict = json.loads(out.getvalue())
    assert verdict["ok"] is True
    assert verdict["checked"] == AuditEvent.objects.count() > 300


def test_it_makes_a_look_back_draw_that_redoes_itself_from_its_seed(seeded):
    from duban.lookback.models import LookbackDraw

    draw = LookbackDraw.objects.get()
    assert draw.checks.count() == 2 and draw.seed == "2026-demo"
    out = StringIO()
    call_command(
        "lookback_draw",
        "--inspection",
        draw.inspection.code,
        "--size",
        "2",
        "--seed",
        draw.seed,
        "--min-age-days",
        "0",
        "--json",
        stdout=out,
    )
    drawn = sorted(draw.checks.values_list("problem__ledger_number", flat=True))
    assert sorted(json.loads(out.getvalue())["drawn"]) == drawn
