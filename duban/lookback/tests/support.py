"""Closed problems for look-back tests.

A draw needs many closed problems; walking each through its whole life would make the tests
slow, so they are registered by the action and then marked closed at a chosen date (an
arrangement, not a state change of the system under test). The rebound tests walk a real
problem to closed through the ledger's actions (duban/ledger/tests/flow.py).
"""

import datetime as dt

from django.test import Client
from django.utils import timezone

from duban.ledger.models import Problem, State


def closed(world, number: str, days_ago: int = 365, unit=None, category="water", **fields):
    problem = world.problem(
        ledger_number=number, lead_unit=unit or world.eco, category=category, **fields
    )
    Problem.objects.filter(pk=problem.pk).update(
        state=State.CLOSED,
        closed_at=timezone.now() - dt.timedelta(days=days_ago),
        progress_percent=100,
    )
    problem.refresh_from_db()
    return problem


def many_closed(world, count: int, prefix="第", unit=None, **fields):
    return [closed(world, f"{prefix}{n}号", unit=unit, **fields) for n in range(1, count + 1)]


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
