"""E-mail and group robots, through a real SMTP server and a real HTTP receiver."""

import base64
import datetime as dt
import hashlib
import hmac
import urllib.parse

import pytest
from django.core.management import call_command
from django.utils import timezone

from duban.audit.models import AuditEvent
from duban.notify import actions
from duban.notify.actions import notify
from duban.notify.delivery import deliver
from duban.notify.models import Delivery, Notification, Preference, Robot
from duban.supervision.sweep import run_sweep

pytestmark = pytest.mark.django_db

SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
MONDAY_9 = timezone.make_aware(dt.datetime(2026, 11, 23, 9, 0))


@pytest.fixture
def told(django_capture_on_commit_callbacks):
    """notify() in a transaction whose after-commit sending really runs."""

    def tell(recipients, key, title="整改期限还有3天", body="请按期完成整改。", now=MONDAY_9, **kw):
        with django_capture_on_commit_callbacks(execute=True):
            return notify(
                recipients,
                kind="deadline_reminder",
                key=key,
                title=title,
                body=body,
                url="/ledger/1/",
                now=now,
                **kw,
            )

    return tell


def with_email(user, address):
    user.email = address
    user.save(update_fields=["email"])
    return user


def robot_for(world, receiver, kind, **fields):
    return actions.save_robot(
        Robot(unit=world.eco, kind=kind, webhook=receiver.url(), **fields),
        by=world.office,
        secret=fields.pop("secret", None),
    )


def prefer(user, **choice):
    Preference.objects.update_or_create(user=user, defaults=choice)


def test_it_sends_an_email_once_with_subject_and_body(world, channels, told):
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")

    told([world.liaison], "deadline:1:3")

    mailbox = channels["smtp"].messages
    assert len(mailbox) == 1
    rcpt, message = mailbox[0]
    assert rcpt == ["liaison@wuxing.example.gov.cn"]
    assert message["Subject"] == "整改期限还有3天"
    assert message["From"] == "duban@example.gov.cn"
    text = message.get_content()
    assert "请按期完成整改。" in text
    assert "https://duban.example.gov.cn/ledger/1/" in text
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 1

    # The sweep finds nothing left to send, and the same event again sends nothing.
    assert deliver(MONDAY_9 + dt.timedelta(hours=1)) == {}
    told([world.liaison], "deadline:1:3")
    assert len(mailbox) == 1


def test_it_sends_no_email_to_who_turned_it_off_or_has_no_address(world, channels, told):
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")
    prefer(world.liaison, email=False)

    told([world.liaison, world.unit_head], "deadline:1:3")

    assert channels["smtp"].messages == []
    assert Notification.objects.filter(key="deadline:1:3").count() == 2


def test_it_posts_a_signed_markdown_message_to_a_dingtalk_robot(world, channels, told):
    receiver = channels["http"]
    robot_for(world, receiver, Robot.Kind.DINGTALK, secret=SECRET)
    prefer(world.liaison, email=False, robot=True)

    told([world.liaison], "deadline:1:3")

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/robot/send"
    query = request["query"]
    assert query["access_token"] == "tok123456789"
    timestamp = query["timestamp"]
    assert abs(int(timestamp) / 1000 - timezone.now().timestamp()) < 60  # milliseconds, now
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"{timestamp}\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == expected
    # The signature travels url-encoded (base64's + / = escaped).
    assert "sign=" + urllib.parse.quote_plus(expected) in request["raw_query"]
    assert request["headers"]["Content-Type"].startswith("application/json")
    payload = request["json"]
    assert payload["msgtype"] == "markdown"
    assert payload["markdown"]["title"] == "整改期限还有3天"
    assert "#### 整改期限还有3天" in payload["markdown"]["text"]
    assert "(https://duban.example.gov.cn/ledger/1/)" in payload["markdown"]["text"]


def test_it_posts_text_to_an_unsigned_dingtalk_robot(world, channels, told):
    receiver = channels["http"]
    robot_for(world, receiver, Robot.Kind.DINGTALK, msgtype=Robot.Format.TEXT)
    prefer(world.liaison, email=False, robot=True)

    told([world.liaison], "deadline:1:3")

    request = receiver.requests[0]
    assert "sign" not in request["query"] and "timestamp" not in request["query"]
    assert request["json"]["msgtype"] == "text"
    assert request["json"]["text"]["content"].startswith("整改期限还有3天\n请按期完成整改。")


def test_it_posts_markdown_and_text_to_wecom_robots(world, channels, told):
    receiver = channels["http"]
    robot_for(world, receiver, Robot.Kind.WECOM)
    robot_for(world, receiver, Robot.Kind.WECOM, msgtype=Robot.Format.TEXT)
    prefer(world.liaison, email=False, robot=True)

    told([world.liaison], "deadline:1:3")

    payloads = sorted((r["json"] for r in receiver.requests), key=lambda p: p["msgtype"])
    assert [p["msgtype"] for p in payloads] == ["markdown", "text"]
    assert set(payloads[0]) == {"msgtype", "markdown"}
    assert payloads[0]["markdown"]["content"].startswith("#### 整改期限还有3天\n\n请按期完成整改。")
    assert payloads[1]["text"]["content"].startswith("整改期限还有3天\n")
    assert all("timestamp" not in r["query"] for r in receiver.requests)


def test_it_posts_an_event_once_to_a_group_however_many_members_are_told(world, channels, told):
    receiver = channels["http"]
    robot_for(world, receiver, Robot.Kind.WECOM)
    prefer(world.liaison, email=False, robot=True)
    prefer(world.unit_head, email=False, robot=True)

    told([world.liaison, world.unit_head], "deadline:1:3")

    assert len(receiver.requests) == 1


def test_it_sends_a_daily_digest_once_a_day(world, channels, told, settings):
    settings.DUBAN_NOTIFY_DIGEST_HOUR = 8
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")
    prefer(world.liaison, email=True, digest=True)
    mailbox = channels["smtp"].messages
    sunday_10 = MONDAY_9 - dt.timedelta(hours=23)
    told([world.liaison], "e1", title="提醒一", now=sunday_10)
    told([world.liaison], "e2", title="提醒二", now=sunday_10 + dt.timedelta(hours=5))
    told([world.liaison], "e3", title="提醒三", now=MONDAY_9 - dt.timedelta(hours=3))
    assert mailbox == []  # held for the digest

    assert deliver(MONDAY_9 - dt.timedelta(hours=2)) == {}  # 07:00: not yet
    counts = deliver(MONDAY_9)

    assert counts == {"digest_made": 1, "email_sent": 1}
    assert len(mailbox) == 1
    _, message = mailbox[0]
    assert "3" in message["Subject"]
    text = message.get_content()
    assert all(title in text for title in ("提醒一", "提醒二", "提醒三"))

    # Later the same day: a new event waits for tomorrow; a second run sends nothing.
    told([world.liaison], "e4", title="提醒四", now=MONDAY_9 + dt.timedelta(hours=1))
    assert deliver(MONDAY_9 + dt.timedelta(hours=2)) == {}
    assert deliver(MONDAY_9 + dt.timedelta(hours=2)) == {}
    assert len(mailbox) == 1
    assert deliver(MONDAY_9 + dt.timedelta(hours=23)) == {"digest_made": 1, "email_sent": 1}
    assert "提醒四" in mailbox[1][1].get_content() and "提醒一" not in mailbox[1][1].get_content()
    assert Delivery.objects.filter(key__startswith="digest:").count() == 2


def test_it_sends_a_groups_digest_as_one_robot_message(world, channels, told):
    receiver = channels["http"]
    robot_for(world, receiver, Robot.Kind.DINGTALK, secret=SECRET)
    prefer(world.liaison, email=False, robot=True, digest=True)
    prefer(world.unit_head, email=False, robot=True, digest=True)
    told(
        [world.liaison, world.unit_head], "e1", title="提醒一", now=MONDAY_9 - dt.timedelta(hours=5)
    )
    told([world.liaison], "e2", title="提醒二", now=MONDAY_9 - dt.timedelta(hours=4))

    assert run_sweep(MONDAY_9, only=["deliver"]) == {"digest_made": 1, "robot_sent": 1}
    assert run_sweep(MONDAY_9, only=["deliver"]) == {}

    assert len(receiver.requests) == 1
    text = receiver.requests[0]["json"]["markdown"]["text"]
    assert "提醒一" in text and "提醒二" in text


def test_it_sends_each_delivery_once_over_two_sweeps(world, channels):
    # notify() without a commit here: nothing is sent until the sweep.
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")
    robot_for(world, channels["http"], Robot.Kind.WECOM)
    prefer(world.liaison, email=True, robot=True)
    for i in range(3):
        notify([world.liaison], kind="k", key=f"e{i}", title=f"提醒{i}", now=MONDAY_9)
    assert channels["smtp"].messages == [] and channels["http"].requests == []

    call_command("sweep", now=MONDAY_9.isoformat(), only=["deliver"], json=True)
    assert deliver(MONDAY_9) == {}

    assert len(channels["smtp"].messages) == 3
    assert len(channels["http"].requests) == 3
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}


def test_it_retries_a_failing_robot_then_gives_up_keeping_the_notification(
    world, channels, told, settings
):
    settings.DUBAN_NOTIFY_MAX_ATTEMPTS = 3
    settings.DUBAN_NOTIFY_RETRY_MINUTES = 5
    receiver = channels["http"]
    receiver.status = 500
    robot_for(world, receiver, Robot.Kind.DINGTALK, secret=SECRET)
    prefer(world.liaison, email=False, robot=True)

    told([world.liaison], "deadline:1:3")  # attempt 1, at commit
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert delivery.last_error == "HTTP 500"
    later = timezone.now()
    assert deliver(later) == {}  # not due before the retry time
    assert deliver(later + dt.timedelta(minutes=5)) == {"robot_retry": 1}
    assert deliver(later + dt.timedelta(minutes=16)) == {"robot_failed": 1}
    assert deliver(later + dt.timedelta(days=1)) == {}

    assert len(receiver.requests) == 3
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 3
    assert Notification.objects.filter(recipient=world.liaison, key="deadline:1:3").exists()
    assert SECRET not in delivery.last_error and "tok123456789" not in delivery.last_error


def test_it_retries_email_when_the_mail_server_is_down(world, channels, told, settings):
    from .conftest import free_port

    settings.EMAIL_PORT = free_port()  # nobody listens there
    settings.DUBAN_NOTIFY_MAX_ATTEMPTS = 2
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")

    told([world.liaison], "deadline:1:3", now=MONDAY_9)
    assert deliver(timezone.now() + dt.timedelta(hours=1)) == {"email_failed": 1}

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 2
    assert delivery.last_error
    assert Notification.objects.filter(key="deadline:1:3").count() == 1


def test_it_counts_a_robot_refusal_as_a_failure(world, channels, told):
    receiver = channels["http"]
    receiver.answer = {"errcode": 310000, "errmsg": "sign not match"}
    robot_for(world, receiver, Robot.Kind.DINGTALK, secret=SECRET)
    prefer(world.liaison, email=False, robot=True)

    told([world.liaison], "deadline:1:3")

    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error.startswith("errcode 310000")


def test_it_keeps_robot_credentials_out_of_the_audit_log(world, channels):
    robot = robot_for(world, channels["http"], Robot.Kind.DINGTALK, secret=SECRET)

    event = AuditEvent.objects.filter(action="notify.robot_save").get()

    assert SECRET not in str(event.after) and "tok123456789" not in str(event.after)
    assert event.after["signed"] is True
    assert robot.masked_secret.endswith(SECRET[-4:]) and SECRET not in robot.masked_secret


def test_it_gives_up_a_delivery_cut_off_while_sending_rather_than_send_it_twice(world, channels):
    with_email(world.liaison, "liaison@wuxing.example.gov.cn")
    prefer(world.liaison, email=True)
    notify([world.liaison], kind="k", key="cut", title="提醒", now=MONDAY_9)
    delivery = Delivery.objects.get()
    # A worker claimed it and stopped before it could record the outcome.
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENDING, attempts=1, claimed_at=MONDAY_9
    )

    assert deliver(MONDAY_9 + dt.timedelta(minutes=10)) == {}
    assert deliver(MONDAY_9 + dt.timedelta(minutes=16)) == {"email_interrupted": 1}
    assert deliver(MONDAY_9 + dt.timedelta(hours=2)) == {}

    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.FAILED and "interrupted" in delivery.last_error
    assert channels["smtp"].messages == []
    assert Notification.objects.get(key="cut").read_at is None  # still in the inbox
