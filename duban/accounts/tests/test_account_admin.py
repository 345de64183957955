"""The system administrator (系统管理员) manages the accounts of his region, and nothing else."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from duban.accounts import actions as account_actions
from duban.accounts import admin_actions
from duban.accounts.models import User
from duban.audit.models import AuditEvent
from duban.ledger import actions
from duban.org.models import Membership, Region, Role, Unit, UnitKind
from duban.testing import PASSWORD

LOGIN = "/accounts/login/"
GOOD_PASSWORD = "Qiao-Xi-2026!"
LIST = reverse("account_admin:user_list")
CREATE = reverse("account_admin:user_create")


def detail(user):
    return reverse("account_admin:user_detail", args=[user.pk])


@pytest.fixture
def admin(world, client):
    """A client logged in as the city's system administrator, who reads English."""
    world.sysadmin.language = "en"
    world.sysadmin.save(update_fields=["language"])
    client.force_login(world.sysadmin)
    return client


@pytest.fixture
def other_city_sysadmin(world):
    """The system administrator of 杭州市, a neighbouring city."""
    hangzhou = Region.objects.create(
        code="330100", name="杭州市", level="city", parent=world.city.parent
    )
    office = Unit.objects.create(name="杭州市整改办", kind=UnitKind.OFFICE, region=hangzhou)
    user = User.objects.create_user("hz_sysadmin", password=PASSWORD, language="en")
    Membership.objects.create(user=user, unit=office, role=Role.SYSADMIN)
    return user


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def new_account(admin, username="zhangwei"):
    """Create an account on the sysadmin's page; the user, with the one-time password shown."""
    response = admin.post(
        CREATE,
        {
            "username": username,
            "display_name": "张伟",
            "phone": "13800000000",
            "language": "zh-hans",
        },
    )
    assert response.status_code == 201, response.content.decode()
    user = User.objects.get(username=username)
    match = re.search(r'<code class="token-raw">([^<]+)</code>', response.content.decode())
    user.one_time_password = match.group(1)
    return user


def grant(admin, user, unit, role):
    return admin.post(
        reverse("account_admin:membership_add", args=[user.pk]), {"unit": unit.pk, "role": role}
    )


def test_the_sysadmin_does_not_choose_a_new_accounts_password(admin, world):
    response = admin.post(
        CREATE,
        {"username": "zhangwei", "language": "en", "password": "123456", "password2": "123456"},
    )
    assert response.status_code == 201
    user = User.objects.get(username="zhangwei")
    assert not user.check_password("123456")
    assert user.must_change_password and user.one_time_password_set_by == world.sysadmin


def test_it_creates_an_account_whose_first_login_only_sets_a_password(admin, world):
    user = new_account(admin)
    assert user.display_name == "张伟" and user.phone == "13800000000" and user.is_active
    [event] = events("account.create")
    assert event.actor_id == world.sysadmin.pk and event.role == "sysadmin"
    assert event.target_id == str(user.pk) and event.after["username"] == "zhangwei"
    assert user.one_time_password not in str(event.after)

    first = Client()
    response = first.post(LOGIN, {"username": "zhangwei", "password": user.one_time_password})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password_change")
    [used] = events("account.one_time_login")
    assert used.actor_id == user.pk and used.after["reset_by"] == "sysadmin"
    response = first.post(
        reverse("accounts:password_change"),
        {
            "old_password": user.one_time_password,
            "new_password1": GOOD_PASSWORD,
            "new_password2": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert (
        Client().post(LOGIN, {"username": "zhangwei", "password": GOOD_PASSWORD}).status_code == 302
    )


def test_it_refuses_a_username_that_is_taken(admin, world):
    response = admin.post(
        CREATE,
        {"username": "Liaison", "language": "en"},
    )
    assert response.status_code == 400
    assert "This username is already taken." in response.content.decode()


def test_it_grants_a_liaison_role_that_opens_the_units_ledger(admin, world):
    user = new_account(admin)
    response = grant(admin, user, world.eco, Role.LIAISON)
    assert response.status_code == 302
    assert Membership.objects.filter(user=user, unit=world.eco, role=Role.LIAISON).exists()
    [event] = events("account.grant")
    assert event.after == {"unit_id": world.eco.pk, "unit": world.eco.name, "role": "liaison"}

    problem = world.problem()
    actions.assign(problem, by=world.office)
    account_actions.change_password(user, new_password=GOOD_PASSWORD)  # his own, first
    user.refresh_from_db()
    liaison = Client()
    liaison.force_login(user)
    assert problem.title in liaison.get("/ledger/").content.decode()


def test_it_offers_only_the_units_of_the_sysadmins_region(admin, world, other_city_sysadmin):
    user = new_account(admin)
    hangzhou_office = Unit.objects.get(name="杭州市整改办")
    page = admin.get(detail(user)).content.decode()
    assert world.eco.name in page and hangzhou_office.name not in page
    response = grant(admin, user, hangzhou_office, Role.LIAISON)
    assert response.status_code == 400
    assert not Membership.objects.filter(user=user).exists()


def test_it_removes_a_role_and_records_it(admin, world):
    membership = Membership.objects.get(user=world.liaison)
    url = reverse("account_admin:membership_remove", args=[world.liaison.pk, membership.pk])
    assert admin.post(url).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    [event] = events("account.revoke")
    assert event.before["role"] == "liaison" and event.target_id == str(world.liaison.pk)


def test_a_deactivated_account_can_no_longer_log_in(admin, world):
    response = admin.post(
        detail(world.liaison),
        {"display_name": "联络员", "phone": "", "language": "zh-hans", "is_active": ""},
    )
    assert response.status_code == 302
    world.liaison.refresh_from_db()
    assert not world.liaison.is_active and world.liaison.display_name == "联络员"
    [event] = events("account.update")
    assert event.before == {"display_name": "liaison", "is_active": True}
    assert event.after == {"display_name": "联络员", "is_active": False}

    response = Client().post(LOGIN, {"username": "liaison", "password": PASSWORD})
    assert response.status_code == 200
    assert User.objects.filter(username="liaison").exists()  # never deleted


def test_a_sysadmin_cannot_deactivate_himself(admin, world):
    response = admin.post(detail(world.sysadmin), {"language": "en", "is_active": ""})
    assert response.status_code == 404
    with pytest.raises(admin_actions.NotAllowed):
        admin_actions.update_user(
            world.sysadmin,
            by=world.sysadmin,
            display_name="",
            phone="",
            language="en",
            is_active=False,
        )
    world.sysadmin.refresh_from_db()
    assert world.sysadmin.is_active


def test_it_keeps_business_roles_away_from_system_and_audit_administrators(admin, world):
    response = grant(admin, world.auditor, world.office_unit, Role.OFFICE)
    assert response.status_code == 404  # an administrator's account is not managed here

    response = grant(admin, world.liaison, world.office_unit, Role.SYSADMIN)
    assert response.status_code == 400
    assert "cannot also be a system or audit administrator" in response.content.decode()

    response = grant(admin, world.liaison, world.office_unit, Role.AUDITOR)
    assert response.status_code == 400

    response = grant(admin, world.auditor, world.office_unit, Role.SYSADMIN)
    assert response.status_code == 404

    assert not Membership.objects.filter(user=world.auditor, role=Role.OFFICE).exists()
    assert not Membership.objects.filter(
        user=world.liaison, role__in=["sysadmin", "auditor"]
    ).exists()
    assert events("account.grant") == []


def test_a_sysadmin_cannot_grant_himself_a_role(admin, world):
    for role in (Role.SYSADMIN, Role.AUDITOR, Role.OFFICE):
        response = grant(admin, world.sysadmin, world.eco, role)
        assert response.status_code == 404
        with pytest.raises(admin_actions.NotAllowed):
            admin_actions.add_membership(
                world.sysadmin, by=world.sysadmin, unit=world.eco, role=role
            )
    assert Membership.objects.filter(user=world.sysadmin).count() == 1


def test_a_new_account_can_become_a_sysadmin_and_then_leaves_the_sysadmins_hands(admin, world):
    user = new_account(admin)
    response = grant(admin, user, world.office_unit, Role.SYSADMIN)
    assert response.status_code == 302 and response["Location"] == LIST
    assert "is now an administrator" in admin.get(LIST).content.decode()
    assert grant(admin, user, world.eco, Role.LIAISON).status_code == 404
    assert not Membership.objects.filter(user=user, role=Role.LIAISON).exists()


# --- whose accounts: all of the user's roles inside the region, never an administrator ----------


@pytest.mark.parametrize("username", ["auditor", "sysadmin", "second_sysadmin"])
def test_it_leaves_administrators_accounts_to_nobody_here(admin, world, username):
    if username == "second_sysadmin":
        user = User.objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, unit=world.eco, role=Role.SYSADMIN)
    else:
        user = world.users[username]
    membership = Membership.objects.filter(user=user).first()
    before = AuditEvent.objects.count()

    page = admin.get(LIST).content.decode()
    for path in (
        detail(user),
        reverse("account_admin:membership_add", args=[user.pk]),
        reverse("account_admin:membership_remove", args=[user.pk, membership.pk]),
        reverse("account_admin:password_reset", args=[user.pk]),
        reverse("account_admin:unlock", args=[user.pk]),
    ):
        assert (
            admin.post(path, {"password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}).status_code
            == 404
        ), path
    with translation.override("en"), pytest.raises(admin_actions.NotAllowed) as refused:
        admin_actions.reset_password(user, by=world.sysadmin)

    assert f"/admin/accounts/{user.pk}/" not in page
    assert "is a system or audit administrator" in str(refused.value)
    assert "no administrator may change another administrator's account" in str(refused.value)
    assert AuditEvent.objects.count() == before
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and not user.must_change_password


def test_it_leaves_a_user_with_a_role_outside_the_region_to_nobody_of_this_city(
    admin, world, other_city_sysadmin
):
    hangzhou_unit = Unit.objects.get(name="杭州市整改办")
    Membership.objects.create(user=world.liaison, unit=hangzhou_unit, role=Role.VIEWER)
    hangzhou_admin = Client()
    hangzhou_admin.force_login(other_city_sysadmin)

    page = admin.get(LIST).content.decode()

    assert f"/admin/accounts/{world.liaison.pk}/" not in page
    assert f"/admin/accounts/{world.unit_head.pk}/" in page
    for client in (admin, hangzhou_admin):
        assert client.get(detail(world.liaison)).status_code == 404
        response = client.post(
            reverse("account_admin:password_reset", args=[world.liaison.pk]),
            {"password": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
        )
        assert response.status_code == 404
    for by in (world.sysadmin, other_city_sysadmin):
        with pytest.raises(admin_actions.NotAllowed):
            admin_actions.reset_password(world.liaison, by=by)
    assert events("account.reset_password") == []


def test_another_citys_sysadmin_finds_nothing_of_this_city(world, other_city_sysadmin):
    client = Client()
    client.force_login(other_city_sysadmin)
    liaison_membership = Membership.objects.get(user=world.liaison)
    for path in (
        detail(world.liaison),
        reverse("account_admin:membership_add", args=[world.liaison.pk]),
        reverse("account_admin:membership_remove", args=[world.liaison.pk, liaison_membership.pk]),
        reverse("account_admin:password_reset", args=[world.liaison.pk]),
        reverse("account_admin:unlock", args=[world.liaison.pk]),
    ):
        assert client.get(path).status_code == 404, path
        assert client.post(path, {"password": "x", "is_active": ""}).status_code == 404, path
    page = client.get(LIST).content.decode()
    assert "liaison" not in page
    # A new account with no role yet belongs to no region: every sysadmin may manage it.
    assert client.get(detail(world.outsider)).status_code == 200
    assert "outsider" in page
    world.liaison.refresh_from_db()
    assert world.liaison.is_active
    assert events("account.update") == [] and events("account.revoke") == []


@pytest.mark.parametrize("username", ["office", "liaison", "auditor", "outsider"])
def test_it_keeps_account_pages_to_system_administrators(world, username):
    client = Client()
    client.force_login(world.users[username])
    assert client.get(LIST).status_code == 403
    assert client.get(CREATE).status_code == 403
    response = client.post(
        CREATE,
        {"username": "x1", "language": "en", "password": GOOD_PASSWORD, "password2": GOOD_PASSWORD},
    )
    assert response.status_code == 403
    assert not User.objects.filter(username="x1").exists()
    assert client.get(detail(world.liaison)).status_code == 404
    assert client.post(reverse("account_admin:unlock", args=[world.liaison.pk])).status_code == 404
    assert 'href="/admin/accounts/"' not in client.get("/ledger/").content.decode()


def test_it_shows_the_accounts_link_to_the_sysadmin_only(admin, world):
    assert 'href="/admin/accounts/"' in admin.get("/ledger/").content.decode()


def test_it_sends_anonymous_visitors_to_the_login_page(world):
    response = Client().get(LIST)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_lists_and_searches_accounts_with_their_roles(admin, world):
    page = admin.get(LIST).content.decode()
    assert "lead_official" in page and world.eco.short_name in page and "Unit liaison" in page
    found = admin.get(LIST, {"q": "county"}).content.decode()
    assert "county_acceptor" in found and "unit_head" not in found


def test_it_unlocks_an_account_locked_by_failed_logins(admin, world, settings):
    settings.AXES_FAILURE_LIMIT = 3
    visitor = Client()
    statuses = [
        visitor.post(LOGIN, {"username": "liaison", "password": "wrong"}).status_code
        for _attempt in range(3)
    ]
    assert statuses[-1] == 429
    assert visitor.post(LOGIN, {"username": "liaison", "password": PASSWORD}).status_code == 429

    assert "Locked" in admin.get(LIST, {"q": "liaison"}).content.decode()
    # The attempt with the right password came within the login delay: refused unchecked.
    page = admin.get(detail(world.liaison)).content.decode()
    assert "Locked by 3 failed login attempts during the lockout period." in page
    response = admin.post(reverse("account_admin:unlock", args=[world.liaison.pk]))
    assert response.status_code == 302
    [event] = events("account.unlock")
    assert event.before == {"failed_logins": 3}

    assert visitor.post(LOGIN, {"username": "liaison", "password": PASSWORD}).status_code == 302
