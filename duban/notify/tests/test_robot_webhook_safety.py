"""A robot's webhook is someone else's input: shown escaped, and only ever an https address on 443."""

import pytest
from django.test import Client
from django.urls import reverse

from duban.notify import actions, delivery
from duban.notify.models import Robot
from duban.org.models import Membership, Role, Unit, UnitKind

pytestmark = pytest.mark.django_db

PAYLOAD = "<script>alert(document.cookie)</script>"
PLANTED = f"https://oapi.dingtalk.com/robot/{PAYLOAD}/send?access_token=abcdef0123456789"
WEBHOOK = "https://oapi.dingtalk.com/robot/send?access_token=abcdef0123456789abcdef0123456789"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def county_office(world):
    """吴兴区整改办: an office below the city's, with robots of its own units to set up."""
    unit = Unit.objects.create(name="吴兴区整改办", kind=UnitKind.OFFICE, region=world.wuxing)
    user = type(world.office).objects.create_user("wuxing_office", password="x" * 12)
    Membership.objects.create(user=user, unit=unit, role=Role.OFFICE)
    return user


def test_it_shows_the_city_office_a_webhook_planted_by_a_county_office_escaped(
    world, county_office
):
    response = client_for(county_office).post(
        reverse("notify:robot_list"),
        {"unit": world.eco.pk, "kind": "dingtalk", "webhook": PLANTED, "msgtype": "markdown"},
    )
    assert response.status_code == 302
    robot = Robot.objects.get()
    assert PAYLOAD in robot.webhook  # planted, through the county office's own form

    city = client_for(world.office)
    for url in (reverse("notify:robot_edit", args=[robot.pk]), reverse("notify:robot_list")):
        html = city.get(url).content.decode()
        assert "<script>alert" not in html, url
    edit = city.get(reverse("notify:robot_edit", args=[robot.pk])).content.decode()
    assert "&lt;script&gt;alert(document.cookie)&lt;/script&gt;" in edit


@pytest.mark.parametrize(
    "webhook",
    [
        "http://oapi.dingtalk.com/robot/send?access_token=abc",
        "https://oapi.dingtalk.com:8443/robot/send?access_token=abc",
        "https://oapi.dingtalk.com:80/robot/send?access_token=abc",
        "ftp://oapi.dingtalk.com/robot/send?access_token=abc",
    ],
)
def test_it_refuses_a_webhook_that_is_not_https_on_port_443(world, webhook):
    response = client_for(world.office).post(
        reverse("notify:robot_list"),
        {"unit": world.eco.pk, "kind": "dingtalk", "webhook": webhook, "msgtype": "markdown"},
    )

    assert response.status_code == 400
    assert "https" in response.content.decode()
    assert "443" in response.content.decode()
    assert not Robot.objects.exists()


def test_it_accepts_https_with_the_port_443_written_out(world):
    response = client_for(world.office).post(
        reverse("notify:robot_list"),
        {
            "unit": world.eco.pk,
            "kind": "dingtalk",
            "webhook": WEBHOOK.replace(".com/", ".com:443/"),
            "msgtype": "markdown",
        },
    )

    assert response.status_code == 302
    assert Robot.objects.count() == 1


@pytest.mark.parametrize(
    "stored",
    [
        "http://oapi.dingtalk.com/robot/send?access_token=abc",
        "https://oapi.dingtalk.com:8443/robot/send?access_token=abc",
    ],
)
def test_it_refuses_to_post_to_a_stored_robot_that_is_not_https_on_443(world, stored):
    # A robot saved before the rule (or written to the database by hand) is checked when sending.
    robot = actions.save_robot(
        Robot(unit=world.eco, kind="dingtalk", webhook=WEBHOOK), by=world.office
    )
    Robot.objects.filter(pk=robot.pk).update(webhook=stored)
    robot.refresh_from_db()

    with pytest.raises(delivery.SendError, match="https on port 443"):
        delivery.send_robot(robot, delivery.Message("t", "x", "x"))
