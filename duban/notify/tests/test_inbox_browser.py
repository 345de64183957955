"""In a real browser: a reminder from the sweep shows in the menu's unread count; opening it
from the inbox leads to the problem and the count goes down."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from duban.supervision.sweep import run_sweep
from duban.testing import browser_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_leads_from_an_unread_reminder_to_its_problem(browser, live_server, world):
    problem = world.problem(deadline=timezone.localdate() + dt.timedelta(days=3))
    run_sweep(timezone.now(), only=["deadline_reminders"])

    context, page = browser_log_in(browser, live_server.url, world.liaison.username)
    badge = page.locator("#nav-inbox .badge")
    assert badge.inner_text().split()[0] == "1"

    page.locator("#nav-inbox").click()
    page.wait_for_url(re.compile(r".*/inbox/$"))
    row = page.locator("tr.unread")
    assert problem.title in row.inner_text()
    row.locator("button.link").click()
    page.wait_for_url(re.compile(rf".*/ledger/problems/{problem.pk}/$"))
    assert page.locator("#nav-inbox .badge").count() == 0
    context.close()
