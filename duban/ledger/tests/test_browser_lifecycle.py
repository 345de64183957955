"""The whole life of a problem in a real browser, as the demo's people would live it.

Debian's Chromium, driven by Playwright, against a live server holding the demo
world (`duban seed_demo`). Each person logs in with the demo account `make run`
prints, in a browser context of their own.
"""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from duban.accounts.models import User
from duban.demo.content import DEMO_PASSWORD
from duban.inspections.models import Inspection
from duban.ledger.models import Problem, PublicNotice, State
from duban.ledger.tests.flow import jpeg_bytes, pdf_bytes
from duban.org.models import Region, Unit
from duban.testing import browser_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(live_server):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - quiet seeding
    return live_server.url


class Person:
    """One logged-in person with their own browser context."""

    def __init__(self, browser, base_url, username, viewport=None):
        self.context, self.page = browser_log_in(
            browser, base_url, username, DEMO_PASSWORD, viewport=viewport
        )
        self.base = base_url

    def open(self, problem):
        self.page.goto(f"{self.base}/ledger/problems/{problem.pk}/")

    def act(self, problem, action, fields=None, files=None):
        """Press the action's button on the problem page, fill its form and send it."""
        self.open(problem)
        self.page.locator(f'[data-action="{action}"]').first.click()
        for selector, value in (fields or {}).items():
            self.page.fill(selector, value)
        for selector, paths in (files or {}).items():
            self.page.set_input_files(selector, paths)
        self.page.locator("main form[method=post] button[type=submit]").last.click()
        self.page.wait_for_load_state()

    def close(self):
        self.context.close()


def _state(problem) -> str:
    problem.refresh_from_db()
    return problem.state


def test_it_takes_a_problem_from_assignment_to_closed_in_the_browser(browser, demo, tmp_path):
    inspection = Inspection.objects.get(code="central-2-zj")
    wuxing = Region.objects.get(code="330502")
    lead_unit = Unit.objects.get(name="湖州市生态环境局吴兴分局")
    lead_official = User.objects.get(username="lead_official")
    photo = tmp_path / "现场照片.jpg"
    photo.write_bytes(jpeg_bytes("site"))
    report = tmp_path / "整改报告.pdf"
    report.write_bytes(pdf_bytes("report"))
    deadline = (dt.date.today() + dt.timedelta(days=90)).isoformat()

    # The office registers the feedback item with its plan fields and assigns it.
    office = Person(browser, demo, "office")
    page = office.page
    page.goto(f"{demo}/ledger/problems/new/")
    page.select_option("#id_inspection", str(inspection.pk))
    page.fill("#id_ledger_number", "浙督反馈第99号")
    page.fill("#id_title", "吴兴区织里镇童装企业废气收集处理不到位")
    page.fill(
        "#id_feedback_text", "督察发现，织里镇部分童装印花企业废气未经收集直排，周边群众反映强烈。"
    )
    page.select_option("#id_category", "air")
    page.check("input[name=nature][value=individual]")
    page.select_option("#id_region", str(wuxing.pk))
    page.select_option("#id_lead_unit", str(lead_unit.pk))
    page.select_option("#id_lead_official", str(lead_official.pk))
    page.check("input[name=deadline_kinds][value=by_date]")
    page.fill("#id_deadline", deadline)
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/ledger/problems/\d+/$"))
    problem = Problem.objects.get(ledger_number="浙督反馈第99号")
    assert problem.state == State.REGISTERED
    office.act(problem, "assign")
    assert _state(problem) == State.ASSIGNED

    # The unit's liaison claims it, drafts the plan and submits it; the office approves.
    liaison = Person(browser, demo, "liaison")
    liaison.act(problem, "claim")
    liaison.act(
        problem,
        "save_plan",
        {
            "#id_target": "2027年6月底前完成全部印花企业废气收集治理。",
            "#id_measures": f"开展印花企业废气排查 | 吴兴分局 | {deadline}\n督促企业安装废气收集设施 | 织里镇 | {deadline}",
            "#id_milestones": "",
        },
    )
    liaison.act(problem, "submit_plan")
    assert _state(problem) == State.PLAN_SUBMITTED
    office.act(problem, "approve_plan")
    assert _state(problem) == State.IN_PROGRESS

    # Progress with a site photo, then the report the checklist asks for, then the closing application.
    liaison.act(
        problem,
        "report_progress",
        {
            "#id_period": "2026年11月",
            "#id_text": "已完成32家企业排查，18家完成整改。",
            "#id_percent": "60",
        },
        files={"#id_files": [str(photo)]},
    )
    problem.refresh_from_db()
    assert problem.progress_percent == 60
    page = liaison.page
    page.goto(f"{demo}/ledger/problems/{problem.pk}/do/upload_evidence/")
    page.select_option("#id_category", "整改报告")
    page.set_input_files("#id_files", [str(report)])
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()
    page.goto(f"{demo}/ledger/problems/{problem.pk}/do/upload_evidence/")
    page.select_option("#id_category", "监测报告")
    page.set_input_files("#id_files", [str(report)])
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_load_state()

    def apply_sign_endorse():
        liaison.act(
            problem,
            "apply_for_closing",
            {
                "#id_summary": "全部印花企业已安装废气收集处理设施并通过监测。",
                "#id_self_check": "经自查，整改任务已完成，资料齐全。",
            },
        )
        assert _state(problem) == State.CLOSING_APPLIED
        head.act(problem, "sign", {"#id_statement": "情况属实，同意申请销号。"})
        official.act(problem, "endorse", {"#id_statement": "同意。"})
        assert _state(problem) == State.UNDER_ACCEPTANCE

    head = Person(browser, demo, "unit_head")
    official = Person(browser, demo, "lead_official")
    apply_sign_endorse()

    # The county returns it once; the unit applies again; both levels accept.
    county = Person(browser, demo, "county_acceptor")
    county.act(
        problem,
        "return",
        {
            "#id_site_check": "现场仍有2家企业未完成。",
            "#id_reasons": "请完成剩余企业整改后再申请。",
        },
    )
    assert _state(problem) == State.IN_PROGRESS
    apply_sign_endorse()
    county.act(problem, "accept", {"#id_site_check": "现场核查，全部完成。"})
    city = Person(browser, demo, "city_acceptor")
    city.act(problem, "accept", {"#id_site_check": "同意验收。"})
    assert _state(problem) == State.PUBLIC_NOTICE

    # Ending the notice early is refused on the page; after its last day it closes the problem.
    office.act(problem, "end_notice")
    assert _state(problem) == State.PUBLIC_NOTICE
    assert office.page.locator(".alert-error").count() == 1
    # The notice ran its days (moved into the past: it cannot end before it starts).
    PublicNotice.objects.filter(problem=problem).update(
        starts_on=dt.date.today() - dt.timedelta(days=8),
        ends_on=dt.date.today() - dt.timedelta(days=1),
    )
    office.act(problem, "end_notice")
    assert _state(problem) == State.CLOSED

    # The timeline tells the whole story, including the return, to anyone in scope.
    office.open(problem)
    timeline = office.page.locator(".timeline").inner_text()
    for who in ("张明华", "李晓燕", "陈国强", "周卫东", "赵丽萍", "孙志刚"):
        assert who in timeline
    assert len(office.page.locator(".timeline li").all()) >= 20
    for person in (office, liaison, head, official, county, city):
        person.close()


def test_it_shows_the_ledger_on_a_phone(browser, demo):
    liaison = Person(browser, demo, "liaison", viewport={"width": 390, "height": 844})
    page = liaison.page
    page.goto(f"{demo}/ledger/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    problem = Problem.objects.visible_to(User.objects.get(username="liaison")).first()
    liaison.open(problem)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    assert problem.title in page.content()
    liaison.close()


def test_it_filters_the_ledger_in_the_browser(browser, demo):
    office = Person(browser, demo, "office")
    page = office.page
    page.goto(f"{demo}/ledger/")
    # The counts by pace arrive just after the table.
    page.wait_for_selector("#pace-summary .count")
    # Opening the closed filter panel fetches its fields.
    page.locator("form.filters summary").click()
    page.wait_for_selector("#id_state_0")
    page.check("input[name=state][value=in_progress]")
    page.locator("form.filters .form-actions button[type=submit]").click()
    page.wait_for_url(re.compile(r".*state=in_progress.*"))
    page.wait_for_selector("#pace-summary .count")
    shown = page.locator(".ledger-table tbody tr").count()
    expected = Problem.objects.visible_to(User.objects.get(username="office")).filter(
        state=State.IN_PROGRESS
    )
    assert shown == min(expected.count(), 50) > 0
    for title in expected.values_list("title", flat=True)[:5]:
        assert title in page.locator(".ledger-table").inner_text()
    office.close()
