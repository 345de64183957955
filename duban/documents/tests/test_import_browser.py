"""The office imports a list in a real browser: preview, map a unit, commit, then a notice.

Debian's Chromium, driven by Playwright, against a live server holding the demo
world (`duban seed_demo`); the task runs inline (ImmediateBackend).
"""

import re

import pytest
from django.core.management import call_command

from duban.documents.importing import samples
from duban.documents.tests.render_support import docx_table_rows, docx_text
from duban.inspections.models import Inspection
from duban.ledger.models import Problem
from duban.ledger.tests.test_browser_lifecycle import Person
from duban.org.models import Unit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FEEDBACK = "城区餐饮油烟扰民问题突出，导入测试。"


@pytest.fixture
def demo(live_server, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - quiet seeding
    return live_server.url


def test_it_imports_a_list_with_an_unknown_unit_and_downloads_a_notice(browser, demo, tmp_path):
    inspection = Inspection.objects.get(code="central-2-zj")
    housing = Unit.objects.get(name="南浔区住房和城乡建设局")
    listing = tmp_path / "整改清单.xlsx"
    listing.write_bytes(
        samples.simple_workbook(
            [
                [
                    "导入1",
                    FEEDBACK,
                    "市治水办（牵头），吴兴分局",
                    "1.排查。2.整治",
                    "2019年6月30日前",
                ],
                [
                    "导入2",
                    "部分河道黑臭现象反弹，导入测试。",
                    "南浔区住建局",
                    "清淤",
                    "2030年底前完成",
                ],
            ]
        )
    )
    office = Person(browser, demo, "office")
    page = office.page

    page.goto(f"{demo}/documents/import/")
    page.select_option("#id_inspection", str(inspection.pk))
    page.set_input_files("#id_file", str(listing))
    page.locator("main form button[type=submit]").click()

    # The preview: both rows, the unknown unit as an error, and Commit held back.
    page.wait_for_url(re.compile(r".*/documents/import/\d+/$"))
    rows = page.locator("#import-rows tbody tr")
    assert rows.count() == 2
    assert FEEDBACK in rows.first.inner_text() and "2019-06-30" in rows.first.inner_text()
    assert "市治水办" in page.locator("#import-errors").inner_text()
    assert page.locator("#commit").is_disabled()
    assert not Problem.objects.filter(feedback_text=FEEDBACK).exists()

    page.select_option('select[data-unit-name="市治水办"]', str(housing.pk))
    page.locator("#unit-map button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#import-errors").count() == 0
    page.locator("#commit").click()

    page.locator("#import-done").wait_for()
    assert "2" in page.locator("#import-done").inner_text()
    problem = Problem.objects.get(feedback_text=FEEDBACK)
    assert problem.lead_unit == housing and problem.inspection == inspection

    page.locator("#ledger-link").click()
    page.wait_for_url(re.compile(rf".*/ledger/\?inspection={inspection.code}$"))
    assert "导入1" in page.locator("main").inner_text()

    page.go_back()
    notice = page.locator(f'a.notice-docx[href$="/unit/{housing.pk}/supervision-notice.docx"]')
    with page.expect_download() as download_info:
        notice.click()
    path = tmp_path / "notice.docx"
    download_info.value.save_as(path)
    content = path.read_bytes()
    assert housing.name in docx_text(content)
    # The imported problem is late (2019), so the notice lists it.
    assert any("导入1" in row for row in docx_table_rows(content))
    office.close()
