"""The ledger export (整改情况台账 .xlsx): layout, styles, formula neutralisation, scope, filters, queries."""

import datetime as dt
import io
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from duban.audit.log import chain_head
from duban.documents import exporting
from duban.documents.importing.importer import import_file
from duban.ledger import actions
from duban.ledger.models import Problem, State
from duban.ledger.tests import flow

URL = "/documents/ledger.xlsx"
HEADER = [
    "序号",
    "反馈问题",
    "责任单位",
    "责任领导",
    "整改目标",
    "整改措施",
    "整改时限",
    "整改进展",
    "状态/序时进度",
    "销号情况",
]
TODAY = dt.date.today()


def workbook(content: bytes, read_only=True):
    return load_workbook(io.BytesIO(content), read_only=read_only)


def sheet_rows(content: bytes) -> list[list]:
    ws = workbook(content).active
    return [[c if c is not None else "" for c in row] for row in ws.iter_rows(values_only=True)]


def data_rows(content: bytes) -> list[list]:
    return sheet_rows(content)[exporting.HEADER_ROW :]


def download(client, user, params=None) -> bytes:
    client.force_login(user)
    response = client.get(URL, params or {})
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content)


def export_to_bytes(queryset, **kwargs) -> bytes:
    out = io.BytesIO()
    exporting.write_ledger(queryset, out, title="测试台账", **kwargs)
    return out.getvalue()


@pytest.fixture
def boiler(world):
    """A problem in progress: co-operating unit, two measures, a progress report."""
    problem = actions.create_problem(
        by=world.office,
        inspection=world.inspection,
        fields={
            "feedback_text": "吴兴区燃煤小锅炉淘汰工作推进不力，部分企业仍在使用。",
            "title": "燃煤小锅炉淘汰不到位",
            "ledger_number": "第1号",
            "region": world.wuxing,
            "lead_unit": world.eco,
            "lead_official": world.lead_official,
            "deadline": dt.date(2027, 6, 30),
            "deadline_immediate": True,
        },
        co_units=[world.housing],
        measures=[
            actions.MeasureInput("全面排查燃煤锅炉", "吴兴分局"),
            actions.MeasureInput("2. 逐家拆除并复核", "吴兴分局"),
        ],
    )
    flow.advance(problem, flow.Cast(world), State.IN_PROGRESS)
    actions.report_progress(
        problem, by=world.liaison, period="2026年10月", text="已拆除12台。", percent=40
    )
    return problem


def test_it_writes_the_standard_layout_with_title_note_and_header(client, world, boiler):
    content = download(client, world.office)
    rows = sheet_rows(content)
    assert rows[0][0] == "第二轮中央生态环境保护督察整改情况台账"
    assert "导出时间" in rows[1][0]
    assert rows[2] == HEADER
    [row] = data_rows(content)
    number, feedback, units, official, target, measures, limit, progress, status, closing = row
    assert number == "第1号"
    assert feedback == "吴兴区燃煤小锅炉淘汰工作推进不力，部分企业仍在使用。"
    assert units == "湖州市生态环境局吴兴分局（牵头），南浔区住房和城乡建设局"
    assert official == "lead_official"
    assert target == "全部淘汰燃煤小锅炉"
    assert measures == "1.逐家拆除"  # the plan replaced the measures the office wrote
    assert limit == "立行立改、2027年6月30日前"
    assert progress == "已拆除12台。（2026年10月，完成40%）"
    assert status.startswith("整改中 / ")
    assert closing == ""


def test_it_numbers_the_measures_without_doubling_typed_numbers():
    assert exporting.measures_text(["全面排查", "2. 逐家拆除", "（3）复核 \n 验收"]) == (
        "1.全面排查\n2.逐家拆除\n3.复核 验收"
    )


def test_it_writes_deadlines_as_offices_do(world):
    problem = Problem(deadline_immediate=True, deadline_by_date=False, deadline_ongoing=True)
    assert exporting.deadline_text(problem) == "立行立改、长期坚持"
    problem = Problem(deadline_by_date=True, deadline=dt.date(2027, 6, 30))
    assert exporting.deadline_text(problem) == "2027年6月30日前"


def test_it_styles_the_sheet_for_printing(client, world, boiler):
    content = download(client, world.office)
    ws = workbook(content, read_only=False).active
    assert ws.freeze_panes == "A4"
    assert ws.print_title_rows == "$3:$3"
    assert ws.page_setup.orientation == "landscape"
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4  # 9: A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert "A1:J1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws.column_dimensions["B"].width == 46
    assert ws.column_dimensions["F"].width == 44
    header = ws["B3"]
    assert header.font.bold and header.fill.fgColor.rgb.endswith("D9E1F2")
    assert header.border.bottom.style == "thin"
    cell = ws["F4"]
    assert cell.alignment.wrap_text and cell.border.left.style == "thin"
    assert ws["A1"].font.bold and ws["A1"].font.size == 16


def test_it_writes_the_audit_chain_head_in_the_note_row(client, world, boiler):
    seq, digest = chain_head()
    note = sheet_rows(download(client, world.office))[1][0]
    assert f"第{seq}号" in note and digest[:16] in note
    assert "导出人：office" in note


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://evil.example","点击")', "+1", "@SUM(A1:A2)", "-2", "\t=1+1"]
)
def test_it_never_lets_a_cell_start_a_formula(client, world, text):
    world.problem(title=text[:200], feedback_text=text, ledger_number=text, target=text)
    content = download(client, world.office)
    ws = workbook(content, read_only=False).active
    row = [c for c in ws[exporting.HEADER_ROW + 1]]
    assert row[0].value == "'" + text and row[1].value == "'" + text
    assert all(c.data_type != "f" for line in ws.iter_rows() for c in line)


def test_it_drops_characters_a_workbook_cannot_hold():
    assert exporting.neutralise("锅炉\x00\x07淘汰") == "锅炉淘汰"


def test_it_exports_to_a_liaison_only_the_problems_of_his_unit(client, world):
    world.problem(feedback_text="吴兴区的问题", ledger_number="1")
    world.problem(feedback_text="南浔区的问题", ledger_number="2", lead_unit=world.housing)
    feedback = {row[1] for row in data_rows(download(client, world.liaison))}
    assert feedback == {"吴兴区的问题"}
    feedback = {row[1] for row in data_rows(download(client, world.other_liaison))}
    assert feedback == {"南浔区的问题"}
    feedback = {row[1] for row in data_rows(download(client, world.office))}
    assert feedback == {"吴兴区的问题", "南浔区的问题"}


@pytest.mark.parametrize("role", ["auditor", "sysadmin", "outsider"])
def test_it_exports_no_rows_to_users_without_a_business_role(client, world, role):
    world.problem()
    content = download(client, getattr(world, role))
    assert sheet_rows(content)[2] == HEADER
    assert data_rows(content) == []


def test_it_sends_anonymous_visitors_to_the_login_page(client, world):
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_applies_the_list_filters(client, world, boiler):
    world.problem(feedback_text="刚登记的问题", ledger_number="第2号")
    rows = data_rows(download(client, world.office, {"state": "in_progress"}))
    assert [row[0] for row in rows] == ["第1号"]
    rows = data_rows(download(client, world.office, {"q": "刚登记"}))
    assert [row[0] for row in rows] == ["第2号"]
    rows = data_rows(download(client, world.office, {"sort": "-number"}))
    assert [row[0] for row in rows] == ["第2号", "第1号"]


def test_it_refuses_filters_it_cannot_read(client, world):
    client.force_login(world.office)
    response = client.get(URL, {"state": "no-such-state"})
    assert response.status_code == 400


def test_it_downloads_as_an_attachment_with_a_dated_chinese_name(client, world, boiler):
    client.force_login(world.office)
    response = client.get(URL)
    stamp = timezone.localtime().strftime("%Y%m%d-")
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename*=utf-8''")
    assert quote(f"整改台账-{stamp}") in disposition
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )


def test_it_shows_the_closing_date_and_the_notice_period(world, media_root):
    cast = flow.Cast(world)
    noticed = flow.problem_in(world, State.PUBLIC_NOTICE, cast, ledger_number="公示")
    closed = flow.problem_in(world, State.CLOSED, cast, ledger_number="销号")
    notice = actions.open_notice(noticed)
    rows = {row[0]: row for row in data_rows(export_to_bytes(Problem.objects.order_by("id")))}
    start = f"{notice.starts_on.year}年{notice.starts_on.month}月{notice.starts_on.day}日"
    assert rows["公示"][9].startswith(f"公示中（{start}至")
    closed_on = timezone.localdate(Problem.objects.get(pk=closed.pk).closed_at)
    assert rows["销号"][9] == f"已于{closed_on.year}年{closed_on.month}月{closed_on.day}日销号"
    assert rows["销号"][8] == "已销号"


def test_it_runs_the_same_queries_for_5_and_for_30_problems(client, world, boiler):
    client.force_login(world.office)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(URL)
            b"".join(response.streaming_content)
        return len(captured.captured_queries)

    queries()  # the first request of a session refreshes it; count from the second on
    for i in range(4):
        world.problem(ledger_number=f"A{i}")
    five = queries()
    for i in range(25):
        world.problem(ledger_number=f"B{i}")
    assert Problem.objects.count() == 30
    assert queries() == five


def test_it_exports_an_inspection_from_the_command_line(world, boiler, tmp_path):
    world.problem(feedback_text="南浔区的问题", lead_unit=world.housing, ledger_number="第2号")
    path = tmp_path / "台账.xlsx"
    out = io.StringIO()
    call_command(
        "export_ledger", "--inspection", world.inspection.code, "-o", str(path), stdout=out
    )
    assert [row[0] for row in data_rows(path.read_bytes())] == ["第1号", "第2号"]
    assert "2" in out.getvalue()
    call_command(
        "export_ledger", "--inspection", world.inspection.code, "-o", str(path), "--user", "liaison"
    )
    assert [row[0] for row in data_rows(path.read_bytes())] == ["第1号"]


def test_it_writes_the_chinese_ledger_for_a_user_who_reads_english(client, world, boiler):
    # The ledger is the official layout offices hand on and import again, like the documents.
    world.office.language = "en"
    world.office.save(update_fields=["language"])
    content = download(client, world.office)
    rows = sheet_rows(content)
    assert rows[2][:3] == ["序号", "反馈问题", "责任单位"]
    assert rows[3][6].startswith("立行立改")
    again = import_file(content, "台账.xlsx", dry_run=True)
    assert again.ok and [r.number for r in again.rows] == [rows[3][0]]


def test_it_links_the_list_page_to_the_export_with_the_filters_in_use(client, world, boiler):
    client.force_login(world.office)
    html = client.get("/ledger/", {"state": "in_progress", "page": "2"}).content.decode()
    assert f'href="{URL}?state=in_progress"' in html
    assert "导出Excel" in html
