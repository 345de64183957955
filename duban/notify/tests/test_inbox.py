"""The inbox: each person sees his own notifications, with an unread count in the navigation."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from duban.notify.actions import notify
from duban.notify.models import Notification, Preference

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def nav_count(response) -> str:
    html = response.content.decode()
    match = re.search(r'id="nav-inbox">[^<]*(?:<span class="badge[^"]*">(\d+))?', html)
    return match.group(1) or "0"


def test_it_lists_a_users_notifications_with_the_unread_count_in_the_nav(world):
    notify(
        [world.liaison],
        kind="deadline_reminder",
        key="d:1",
        title="整改期限还有7天",
        url="/ledger/",
    )
    notify([world.liaison], kind="deadline_reminder", key="d:2", title="整改期限还有3天")
    notify([world.other_liaison], kind="deadline_reminder", key="d:3", title="南浔的提醒")

    response = client_for(world.liaison).get(reverse("notify:inbox"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "整改期限还有7天" in html and "整改期限还有3天" in html
    assert "南浔的提醒" not in html
    assert nav_count(response) == "2"
    # Every page shows the count, not only the inbox.
    assert nav_count(client_for(world.liaison).get(reverse("accounts:profile"))) == "2"
    assert nav_count(client_for(world.office).get(reverse("accounts:profile"))) == "0"


def test_it_marks_one_then_all_notifications_read(world):
    for i in range(3):
        notify([world.liaison], kind="reminder", key=f"r:{i}", title=f"提醒{i}")
    client = client_for(world.liaison)
    first = Notification.objects.get(key="r:0")

    response = client.post(reverse("notify:mark_read", args=[first.pk]))

    assert response.status_code == 302
    first.refresh_from_db()
    assert first.read_at is not None
    assert nav_count(client.get(reverse("notify:inbox"))) == "2"

    client.post(reverse("notify:mark_all_read"))

    assert not Notification.objects.filter(recipient=world.liaison, read_at__isnull=True).exists()
    assert nav_count(client.get(reverse("notify:inbox"))) == "0"


def test_it_lists_unread_notifications_first(world):
    notify([world.liaison], kind="reminder", key="old", title="旧的未读")
    notify([world.liaison], kind="reminder", key="new", title="新的已读")
    Notification.objects.filter(key="new").update(read_at="2026-11-01T08:00+08:00")

    html = client_for(world.liaison).get(reverse("notify:inbox")).content.decode()
    assert html.index("旧的未读") < html.index("新的已读")
    unread_only = client_for(world.liaison).get(reverse("notify:inbox") + "?show=unread")
    assert "新的已读" not in unread_only.content.decode()


def test_it_opens_a_notifications_page_and_marks_it_read(world):
    notify([world.liaison], kind="reminder", key="k", title="去看看", url="/ledger/")
    notification = Notification.objects.get(key="k")

    response = client_for(world.liaison).post(
        reverse("notify:mark_read", args=[notification.pk]), {"open": "1"}
    )

    assert response.status_code == 302 and response["Location"] == "/ledger/"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_it_answers_404_for_another_users_notification(world):
    notify([world.liaison], kind="reminder", key="k", title="吴兴的提醒")
    notification = Notification.objects.get(key="k")

    response = client_for(world.other_liaison).post(
        reverse("notify:mark_read", args=[notification.pk]), {"open": "1"}
    )

    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_writes_one_notification_per_person_and_key(world):
    assert notify([world.liaison, world.unit_head], kind="k", key="same", title="一次") == 2
    assert notify([world.liaison, world.unit_head], kind="k", key="same", title="一次") == 0
    assert Notification.objects.filter(key="same").count() == 2


def test_it_saves_a_persons_choice_of_channels(world):
    client = client_for(world.liaison)
    assert client.get(reverse("notify:preferences")).status_code == 200

    response = client.post(reverse("notify:preferences"), {"robot": "on", "digest": "on"})

    assert response.status_code == 302
    pref = Preference.objects.get(user=world.liaison)
    assert (pref.email, pref.robot, pref.digest) == (False, True, True)
    assert reverse("notify:preferences") in client.get(reverse("notify:inbox")).content.decode()
