"""Office staff set up the group robots of the units in their region; nobody else sees them."""

import pytest
from django.test import Client
from django.urls import reverse

from duban.notify import actions
from duban.notify.models import Robot
from duban.org.models import Membership, Role, Unit, UnitKind

pytestmark = pytest.mark.django_db

SECRET = "SECfedcba9876543210fedcba9876543210fedcba9876543210fedcba98765432"
WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789abcdef0123456789"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_it_lets_the_office_add_a_units_robot_without_showing_its_credentials(world):
    client = client_for(world.office)

    response = client.post(
        reverse("notify:robot_list"),
        {
            "unit": world.eco.pk,
            "kind": "dingtalk",
            "webhook": WEBHOOK,
            "secret": SECRET,
            "msgtype": "markdown",
            "active": "on",
        },
    )

    assert response.status_code == 302
    robot = Robot.objects.get()
    assert (robot.unit, robot.webhook, robot.secret) == (world.eco, WEBHOOK, SECRET)
    page = client.get(reverse("notify:robot_list")).content.decode()
    edit = client.get(reverse("notify:robot_edit", args=[robot.pk])).content.decode()
    for html in (page, edit):
        assert world.eco.name in html
        assert SECRET not in html and "abcdef0123456789abcdef0123456789" not in html
        assert SECRET[-4:] in html


def test_it_keeps_the_secret_and_webhook_when_an_edit_leaves_them_empty(world):
    robot = actions.save_robot(
        Robot(unit=world.eco, kind="dingtalk", webhook=WEBHOOK), by=world.office, secret=SECRET
    )

    response = client_for(world.office).post(
        reverse("notify:robot_edit", args=[robot.pk]),
        {"unit": world.eco.pk, "kind": "dingtalk", "name": "吴兴分局工作群", "msgtype": "text"},
    )

    assert response.status_code == 302
    robot.refresh_from_db()
    assert (robot.name, robot.webhook, robot.secret, robot.active) == (
        "吴兴分局工作群",
        WEBHOOK,
        SECRET,
        False,
    )


def test_it_refuses_a_webhook_outside_the_robot_hosts(world):
    response = client_for(world.office).post(
        reverse("notify:robot_list"),
        {
            "unit": world.eco.pk,
            "kind": "wecom",
            "webhook": "http://10.0.0.5/admin",
            "msgtype": "markdown",
        },
    )

    assert response.status_code == 400
    assert not Robot.objects.exists()


def test_it_refuses_the_robot_pages_to_everyone_but_the_office(world):
    robot = actions.save_robot(
        Robot(
            unit=world.eco,
            kind="wecom",
            webhook=WEBHOOK.replace("oapi.dingtalk.com", "qyapi.weixin.qq.com"),
        ),
        by=world.office,
    )
    for name in ("liaison", "unit_head", "viewer", "auditor", "sysadmin", "outsider"):
        client = client_for(world.users[name])
        assert client.get(reverse("notify:robot_list")).status_code == 403, name
        assert client.get(reverse("notify:robot_edit", args=[robot.pk])).status_code == 404, name
        assert client.post(reverse("notify:robot_delete", args=[robot.pk])).status_code == 404
    assert Robot.objects.filter(pk=robot.pk).exists()


def test_it_keeps_another_regions_robots_from_an_office(world):
    nanxun_office_unit = Unit.objects.create(
        name="南浔区整改办", kind=UnitKind.OFFICE, region=world.nanxun
    )
    nanxun_office = type(world.office).objects.create_user("nanxun_office", password="x" * 12)
    Membership.objects.create(user=nanxun_office, unit=nanxun_office_unit, role=Role.OFFICE)
    robot = actions.save_robot(
        Robot(unit=world.eco, kind="dingtalk", webhook=WEBHOOK), by=world.office
    )
    client = client_for(nanxun_office)

    assert client.get(reverse("notify:robot_edit", args=[robot.pk])).status_code == 404
    assert world.eco.name not in client.get(reverse("notify:robot_list")).content.decode()
    # Nor can it add a robot to a unit outside its region.
    response = client.post(
        reverse("notify:robot_list"),
        {"unit": world.eco.pk, "kind": "dingtalk", "webhook": WEBHOOK, "msgtype": "markdown"},
    )
    assert response.status_code == 400
    assert Robot.objects.count() == 1


def test_it_lets_the_office_remove_a_robot(world):
    robot = actions.save_robot(
        Robot(unit=world.eco, kind="dingtalk", webhook=WEBHOOK), by=world.office
    )

    response = client_for(world.office).post(reverse("notify:robot_delete", args=[robot.pk]))

    assert response.status_code == 302
    assert not Robot.objects.exists()


def test_it_posts_a_test_message_to_the_group(world, channels):
    receiver = channels["http"]
    robot = actions.save_robot(
        Robot(unit=world.eco, kind="wecom", webhook=receiver.url("/cgi-bin/webhook/send?key=k1")),
        by=world.office,
    )

    response = client_for(world.office).post(reverse("notify:robot_test", args=[robot.pk]))

    assert response.status_code == 302
    assert receiver.requests[0]["path"] == "/cgi-bin/webhook/send"
    assert receiver.requests[0]["json"]["msgtype"] == "markdown"
