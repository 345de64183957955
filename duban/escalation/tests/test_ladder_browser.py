"""In a real browser: a liaison acknowledges a notice; the office approves a circular.

Debian's Chromium, driven by Playwright, against a live server holding the test world;
the sweep travels in time to put a notice and a draft circular in place.
"""

import datetime as dt
import re

import pytest

from duban.escalation.models import Circular, CircularStatus, NoticeStatus, SupervisionNotice
from duban.notify.models import Notification
from duban.testing import browser_log_in

from .support import at, first_of_next_month, late_problem, sweep

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(browser, base, user):
    return browser_log_in(browser, base, user.username)


def test_it_lets_a_liaison_acknowledge_a_notice(browser, live_server, world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    context, page = log_in(browser, live_server.url, world.liaison)

    page.goto(f"{live_server.url}/escalation/notices/")
    page.locator(f'#notices tr[data-notice="{notice.pk}"] a').click()
    page.wait_for_url(re.compile(rf".*/escalation/notices/{notice.pk}/$"))
    assert problem.title in page.locator("#notice-problems").inner_text()
    page.locator("#acknowledge button[type=submit]").click()
    page.locator("#acknowledged").wait_for()
    assert "liaison" in page.locator("#acknowledged").inner_text()
    assert page.locator("#acknowledge").count() == 0

    notice.refresh_from_db()
    assert notice.status == NoticeStatus.ACKNOWLEDGED and notice.acknowledged_by == world.liaison
    context.close()


def test_it_lets_the_office_approve_a_circular(browser, live_server, world):
    problem = late_problem(world)
    sweep(at(problem.deadline + dt.timedelta(days=1)))
    notice = SupervisionNotice.objects.get()
    listed = notice.ack_due + dt.timedelta(days=1)
    sweep(at(listed))
    sweep(at(first_of_next_month(listed)))
    circular = Circular.objects.get()
    context, page = log_in(browser, live_server.url, world.office)

    page.goto(f"{live_server.url}/escalation/circulars/")
    page.locator(f'#circulars tr[data-circular="{circular.pk}"] a').click()
    page.wait_for_url(re.compile(rf".*/escalation/circulars/{circular.pk}/$"))
    assert world.eco.name in page.locator("#circular-units").inner_text()
    page.locator("#approve").click()
    page.wait_for_load_state()
    page.locator("#decide").wait_for(state="detached")

    circular.refresh_from_db()
    assert circular.status == CircularStatus.APPROVED
    assert circular.number in page.locator("h1").inner_text()
    with page.expect_download() as download:
        page.locator(f'a[href$="/circulars/{circular.pk}/document.docx"]').click()
    assert download.value.suggested_filename.endswith(".docx")
    assert Notification.objects.filter(kind="circular", recipient=world.liaison).exists()
    context.close()
