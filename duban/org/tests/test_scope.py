"""Regions, units and memberships: the trees scope is computed from, and the acting role."""

import pytest

from duban.accounts.models import User
from duban.inspections.models import Inspection
from duban.ledger.models import Problem, ProblemUnit
from duban.org.models import Membership, Region, Role, Unit, UnitKind, region_path
from duban.org.scope import (
    acting_membership,
    has_business_role,
    inspection_scope_q,
    memberships,
    problem_scope_q,
    roles_of,
)


@pytest.mark.parametrize(
    ("code", "path"),
    [
        ("330000", "33"),
        ("330500", "3305"),
        ("330502", "330502"),
        ("330502100", "330502100"),
        ("330502100201", "330502100201"),
        (" 330500 ", "3305"),
    ],
)
def test_it_keeps_the_significant_prefix_of_a_division_code(code, path):
    assert region_path(code) == path


def test_it_nests_region_paths_so_a_subtree_is_a_prefix(world):
    assert world.wuxing.path.startswith(world.city.path)
    assert not world.nanxun.path.startswith(world.wuxing.path)
    assert set(Region.objects.filter(path__startswith=world.city.path)) >= {
        world.wuxing,
        world.nanxun,
    }


def test_it_gives_units_a_path_from_the_root(world):
    station = Unit.objects.create(
        name="织里所", kind=UnitKind.DEPARTMENT, region=world.wuxing, parent=world.eco
    )
    team = Unit.objects.create(
        name="执法队", kind=UnitKind.DEPARTMENT, region=world.wuxing, parent=station
    )

    assert world.eco.path == f"/{world.eco.pk}/"
    assert Unit.objects.get(pk=team.pk).path == f"/{world.eco.pk}/{station.pk}/{team.pk}/"
    assert set(world.eco.subtree()) == {world.eco, station, team}
    assert set(station.subtree()) == {station, team}


def test_it_reads_roles_of_active_users_only(world):
    assert roles_of(world.liaison) == {Role.LIAISON}
    assert has_business_role(world.viewer)
    assert not has_business_role(world.auditor) and not has_business_role(world.sysadmin)
    assert memberships(world.outsider) == []
    assert problem_scope_q(world.outsider, ProblemUnit.objects) is None

    User.objects.filter(pk=world.office.pk).update(is_active=False)
    assert memberships(User.objects.get(pk=world.office.pk)) == []


def test_it_combines_the_scopes_of_several_memberships(world):
    both = User.objects.create_user("both", password="x-Long-enough-1")
    Membership.objects.create(user=both, unit=world.eco, role=Role.LIAISON)
    Membership.objects.create(user=both, unit=world.housing, role=Role.LIAISON)
    eco = world.problem(ledger_number="1")
    housing = world.problem(ledger_number="2", lead_unit=world.housing)

    assert set(Problem.objects.visible_to(both)) == {eco, housing}
    assert acting_membership(both, eco, (Role.LIAISON,)).unit == world.eco
    assert acting_membership(both, housing, (Role.LIAISON,)).unit == world.housing


def test_it_acts_as_office_or_acceptor_by_region_and_as_a_unit_by_the_lead_unit(world):
    problem = world.problem()
    assert acting_membership(world.office, problem, (Role.OFFICE,)).unit == world.office_unit
    assert acting_membership(world.county_acceptor, problem, (Role.ACCEPTOR,)) is not None
    assert acting_membership(world.liaison, problem, (Role.LIAISON,)).unit == world.eco
    assert acting_membership(world.lead_official, problem, (Role.LEAD_OFFICIAL,)) is not None

    # The right role in the wrong place, or the wrong role in the right place: no.
    assert acting_membership(world.other_liaison, problem, (Role.LIAISON,)) is None
    assert acting_membership(world.liaison, problem, (Role.OFFICE,)) is None
    assert acting_membership(world.viewer, problem, (Role.VIEWER, Role.OFFICE)) is None
    nanxun = world.problem(ledger_number="2", lead_unit=world.housing, lead_official=None)
    assert acting_membership(world.county_acceptor, nanxun, (Role.ACCEPTOR,)) is None
    assert acting_membership(world.lead_official, nanxun, (Role.LEAD_OFFICIAL,)) is None


def test_it_shows_inspections_over_or_inside_the_users_region(world):
    county_round = Inspection.objects.create(
        code="nanxun-self", name="南浔区自查", kind="self", target_region=world.nanxun
    )

    def sees(user):
        q = inspection_scope_q(user)
        return set() if q is None else set(Inspection.objects.filter(q))

    # The provincial round is seen from a county; a county round from the city, not from another county.
    assert sees(world.liaison) == {world.inspection}
    assert sees(world.office) == {world.inspection, county_round}
    assert sees(world.other_liaison) == {world.inspection, county_round}
    assert sees(world.auditor) == set() and sees(world.outsider) == set()
