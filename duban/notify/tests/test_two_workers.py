"""Two workers sweeping at the same moment send each message once.

PostgreSQL only: SQLite serialises whole transactions, so only real concurrent
connections show that the claim (a conditional UPDATE) keeps a second worker away.
"""

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from duban.notify import actions
from duban.notify.actions import notify
from duban.notify.delivery import deliver
from duban.notify.models import Delivery, Preference, Robot

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

NOW = timezone.make_aware(dt.datetime(2026, 11, 23, 9, 0))


def race(function, *args, workers=2):
    barrier = threading.Barrier(workers)
    results = [None] * workers

    def run(index):
        try:
            barrier.wait(timeout=10)
            results[index] = function(*args)
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_it_sends_each_delivery_once_when_two_workers_sweep_together(world, channels, settings):
    # No after-commit sending here: the deliveries wait for the sweepers.
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    world.liaison.email = "liaison@wuxing.example.gov.cn"
    world.liaison.save()
    actions.save_robot(
        Robot(unit=world.eco, kind="dingtalk", webhook=channels["http"].url()),
        by=world.office,
        secret="SEC" + "a" * 64,
    )
    Preference.objects.create(user=world.liaison, email=True, robot=True)
    for i in range(10):
        notify([world.liaison], kind="k", key=f"e{i}", title=f"提醒{i}", now=NOW)
    assert Delivery.objects.filter(status=Delivery.Status.PENDING).count() == 20

    results = race(deliver, NOW)

    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(sum(r.values()) for r in results) == 20
    assert len(channels["smtp"].messages) == 10
    assert len(channels["http"].requests) == 10
    assert set(Delivery.objects.values_list("status", "attempts")) == {(Delivery.Status.SENT, 1)}


def test_it_makes_one_digest_when_two_workers_sweep_together(world, channels, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    world.liaison.email = "liaison@wuxing.example.gov.cn"
    world.liaison.save()
    Preference.objects.create(user=world.liaison, email=True, digest=True)
    for i in range(3):
        notify(
            [world.liaison],
            kind="k",
            key=f"e{i}",
            title=f"提醒{i}",
            now=NOW - dt.timedelta(hours=3),
        )

    results = race(deliver, NOW)

    assert not any(isinstance(r, Exception) for r in results), results
    assert len(channels["smtp"].messages) == 1
    assert Delivery.objects.filter(key__startswith="digest:").count() == 1
