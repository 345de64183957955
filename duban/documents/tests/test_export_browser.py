"""The office exports a large ledger from the list page in a real browser: the export goes to the
background, the progress page follows it, and the finished file downloads from there."""

import io
import re

import pytest
from openpyxl import load_workbook

from duban.documents import exporting
from duban.testing import browser_log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_exports_a_large_ledger_in_the_background_and_downloads_it(
    browser, live_server, settings, world, tmp_path
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.DUBAN_EXPORT_BACKGROUND_ROWS = 3
    for number in range(1, 6):
        world.problem(ledger_number=f"第{number}号")
    context, page = browser_log_in(browser, live_server.url, "office")
    page.goto(f"{live_server.url}/ledger/?sort=number")

    page.locator("#export-ledger").click()

    page.wait_for_url(re.compile(r".*/documents/exports/\d+/$"))
    page.locator("#export-done").wait_for()
    with page.expect_download() as download_info:
        page.locator("#export-download").click()
    path = tmp_path / "ledger.xlsx"
    download_info.value.save_as(path)
    sheet = load_workbook(io.BytesIO(path.read_bytes()), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))[exporting.HEADER_ROW :]
    assert download_info.value.suggested_filename.endswith(".xlsx")
    assert [row[0] for row in rows] == ["第1号", "第2号", "第3号", "第4号", "第5号"]
    context.close()
