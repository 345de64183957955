"""The sysadmin cannot give one person two roles whose duties meet on the same problems.

Separation of duties (DESIGN.md §5) is a rule of the ledger's actions; the grant page refuses
the pairs of roles that would put one person on both sides of a step, and says which.
"""

import pytest
from django.urls import reverse
from django.utils import translation

from duban.accounts import admin_actions
from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.org.models import Membership, Role, Unit, UnitKind
from duban.testing import PASSWORD


@pytest.fixture
def admin(world, client):
    """A client logged in as the city's system administrator, who reads English."""
    world.sysadmin.language = "en"
    world.sysadmin.save(update_fields=["language"])
    client.force_login(world.sysadmin)
    return client


def grant(admin, user, unit, role):
    return admin.post(
        reverse("account_admin:membership_add", args=[user.pk]), {"unit": unit.pk, "role": role}
    )


def new_person(username="zhangwei"):
    return User.objects.create_user(username, password=PASSWORD, display_name="张伟")


def grants():
    return AuditEvent.objects.filter(action="account.grant").count()


# (held unit, held role, granted unit, granted role, what one person could do alone)
CONFLICTS = [
    ("eco", Role.LIAISON, "eco", Role.UNIT_HEAD, "apply for closing a problem and sign"),
    ("eco", Role.UNIT_HEAD, "eco", Role.LIAISON, "apply for closing a problem and sign"),
    ("eco", Role.LIAISON, "eco", Role.LEAD_OFFICIAL, "apply for closing a problem and endorse"),
    ("eco", Role.UNIT_HEAD, "eco", Role.LEAD_OFFICIAL, "sign a closing application and endorse"),
    ("wuxing_acceptance", Role.ACCEPTOR, "eco", Role.LIAISON, "apply for closing a problem and"),
    ("eco", Role.LIAISON, "city_acceptance", Role.ACCEPTOR, "apply for closing a problem and"),
    ("wuxing_acceptance", Role.ACCEPTOR, "eco", Role.UNIT_HEAD, "sign a closing application and"),
    ("city_acceptance", Role.ACCEPTOR, "eco", Role.LEAD_OFFICIAL, "endorse a closing application"),
    (
        "wuxing_acceptance",
        Role.ACCEPTOR,
        "city_acceptance",
        Role.ACCEPTOR,
        "accept the same problem at two",
    ),
    ("office_unit", Role.OFFICE, "eco", Role.LIAISON, "submit a plan or an extension request"),
    ("housing", Role.LIAISON, "office_unit", Role.OFFICE, "submit a plan or an extension request"),
]


@pytest.mark.parametrize("held_unit, held_role, unit, role, duty", CONFLICTS)
def test_it_refuses_a_grant_whose_duties_conflict_and_says_which(
    admin, world, held_unit, held_role, unit, role, duty
):
    person = new_person()
    held_unit, unit = getattr(world, held_unit), getattr(world, unit)
    assert grant(admin, person, held_unit, held_role).status_code == 302
    before = grants()

    response = grant(admin, person, unit, role)

    assert response.status_code == 400
    page = response.content.decode()
    with translation.override("en"):
        message = (
            f"{person} already holds the role {Role(held_role).label} in {held_unit}; also "
            f"holding {Role(role).label} in {unit} would let one person {duty}"
        )
    assert message in page
    # On the grant form, next to the role it refuses.
    form = page.split(f'action="{reverse("account_admin:membership_add", args=[person.pk])}"')[1]
    assert message in form.split("</form>")[0]
    assert list(Membership.objects.filter(user=person).values_list("unit", "role")) == [
        (held_unit.pk, held_role)
    ]
    assert grants() == before


def test_it_grants_roles_whose_duties_never_meet(admin, world):
    person = new_person()
    nanxun_acceptance = Unit.objects.create(
        name="南浔区整改验收组", kind=UnitKind.ACCEPTANCE, region=world.nanxun
    )
    assert grant(admin, person, world.eco, Role.LIAISON).status_code == 302
    # Another district's acceptance: he never accepts what his unit applies for.
    assert grant(admin, person, nanxun_acceptance, Role.ACCEPTOR).status_code == 302
    # A viewer anywhere: reading is no duty.
    assert grant(admin, person, world.housing, Role.VIEWER).status_code == 302

    official = new_person("lishi")
    # The office may accept too: the ledger keeps him from being the only acceptor of a plan
    # he approved.
    assert grant(admin, official, world.office_unit, Role.OFFICE).status_code == 302
    assert grant(admin, official, world.city_acceptance, Role.ACCEPTOR).status_code == 302
    # A unit head may be the lead official of another unit...
    head = new_person("wangwu")
    assert grant(admin, head, world.eco, Role.UNIT_HEAD).status_code == 302
    assert grant(admin, head, world.housing, Role.LEAD_OFFICIAL).status_code == 302
    # ...but not in his own unit.
    assert grant(admin, head, world.eco, Role.LEAD_OFFICIAL).status_code == 400


def test_the_action_refuses_the_testers_grants_one_by_one(world):
    """The tester's account: liaison, unit head, lead official, office and both acceptors."""
    person = new_person()
    steps = [
        (world.eco, Role.LIAISON, None),
        (world.eco, Role.UNIT_HEAD, "Unit liaison"),
        (world.eco, Role.LEAD_OFFICIAL, "Unit liaison"),
        (world.office_unit, Role.OFFICE, "Unit liaison"),
        (world.wuxing_acceptance, Role.ACCEPTOR, "Unit liaison"),
        (world.city_acceptance, Role.ACCEPTOR, "Unit liaison"),
    ]
    for unit, role, conflicting_with in steps:
        if conflicting_with is None:
            admin_actions.add_membership(person, by=world.sysadmin, unit=unit, role=role)
            continue
        with translation.override("en"):
            with pytest.raises(admin_actions.InvalidInput) as refused:
                admin_actions.add_membership(person, by=world.sysadmin, unit=unit, role=role)
            message = str(refused.value)
            assert f"the role {conflicting_with} in {world.eco}" in message
            assert f"also holding {Role(role).label} in {unit}" in message
        assert refused.value.field == "role"
    assert list(Membership.objects.filter(user=person).values_list("role", flat=True)) == [
        Role.LIAISON
    ]


def test_the_account_page_warns_of_conflicting_roles_held_from_before(admin, world):
    # Made before the grant page refused such pairs, straight in the database.
    Membership.objects.create(user=world.liaison, unit=world.eco, role=Role.UNIT_HEAD)

    page = admin.get(reverse("account_admin:user_detail", args=[world.liaison.pk]))

    assert page.status_code == 200
    assert (
        f"Unit liaison in {world.eco} and Unit head in {world.eco} conflict: one person could "
        "apply for closing a problem and sign the application. The ledger refuses him the "
        "conflicting steps; remove one of these roles."
    ) in page.content.decode()
    ordinary = admin.get(reverse("account_admin:user_detail", args=[world.unit_head.pk]))
    assert "conflict:" not in ordinary.content.decode()
