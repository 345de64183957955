"""The generated documents, opened again: .docx with python-docx, PDF with pypdf and poppler."""

import datetime as dt
import io

import pytest
from docx import Document
from jinja2.exceptions import SecurityError

from duban.audit.log import chain_head
from duban.documents import rendering
from duban.documents.rendering.make_templates import new_document
from duban.ledger import actions
from duban.ledger.models import Problem
from duban.ledger.tests.flow import Cast, advance, apply, problem_in

from .render_support import dark_pixels, docx_table_rows, docx_text, first_page_png, pdf_text

TODAY = dt.date.today()


@pytest.fixture
def noticed(world):
    """A problem in public notice whose first unit-head signature was voided by an edit."""
    cast = Cast(world)
    problem = problem_in(world, "in_progress", ledger_number="省编号第41号", title="燃煤锅炉整治")
    from duban.ledger.tests.flow import upload_checklist

    upload_checklist(problem, cast)
    apply(problem, cast)
    actions.sign(problem, by=world.unit_head, statement="情况属实。")
    actions.edit_application(
        problem, by=world.liaison, summary="已全部拆除，并复查。", self_check="经自查，已完成整改。"
    )
    return advance(problem, cast, "public_notice")


def test_it_writes_the_closing_record_with_signatures_levels_and_the_chain_head(world, noticed):
    data = rendering.closing_record(noticed)
    content = rendering.render(data, "docx")

    text = docx_text(content)
    assert data.stem == "销号审批表-省编号第41号"
    assert "省编号第41号" in text and "燃煤锅炉整治" in text
    assert "湖州市生态环境保护督察整改工作领导小组办公室" in text  # the header
    assert "吴兴区燃煤小锅炉淘汰工作推进不力" in text  # the feedback text
    assert "已全部拆除，并复查。" in text
    signer_rows = [
        row for row in docx_table_rows(content) if row[0] in ("unit_head", "lead_official")
    ]
    assert [(row[0], row[-1][:3]) for row in signer_rows] == [
        ("unit_head", "已作废"),
        ("unit_head", "有效"),
        ("lead_official", "有效"),
    ]
    levels = [row[0] for row in docx_table_rows(content) if row[1] == "通过"]
    assert levels == ["县级初验", "市级验收"]
    assert "公示中" in text
    seq, head = chain_head()
    assert f"第 {seq} 号事件" in text and head in text


def test_it_prints_the_closing_record_as_a_pdf_with_chinese_text(world, noticed):
    content = rendering.render(rendering.closing_record(noticed), "pdf")

    assert content.startswith(b"%PDF")
    text = pdf_text(content)
    for expected in ("销号审批表", "省编号第41号", "燃煤锅炉整治", "县级初验", "市级验收"):
        assert expected in text
    page = first_page_png(content)
    assert page.width > 0 and dark_pixels(page) > 1000


def test_it_lists_only_the_units_late_problems_in_the_supervision_notice(world):
    late = world.problem(
        ledger_number="第7号", title="餐饮油烟直排", deadline=TODAY - dt.timedelta(days=9)
    )
    world.problem(ledger_number="第8号", title="尚未到期的问题")
    world.problem(
        ledger_number="第9号",
        title="南浔的逾期问题",
        lead_unit=world.housing,
        deadline=TODAY - dt.timedelta(days=3),
    )
    problems = Problem.objects.visible_to(world.office)

    data = rendering.supervision_notice(world.eco, problems, today=TODAY, number="督办〔2026〕3号")
    content = rendering.render(data, "docx")

    text = docx_text(content)
    assert "督办通知单" in text and "督办〔2026〕3号" in text
    assert "湖州市生态环境局吴兴分局：" in text
    rows = docx_table_rows(content)
    assert [
        "1",
        "第7号",
        "餐饮油烟直排",
        f"{late.deadline.year}年{late.deadline.month}月{late.deadline.day}日",
        "9",
        "滞后",
        "0%",
    ] in rows
    assert "尚未到期的问题" not in text and "南浔的逾期问题" not in text
    assert "前将整改进展情况" in text


def test_it_prints_the_supervision_notice_as_a_pdf(world):
    world.problem(
        ledger_number="第7号", title="餐饮油烟直排", deadline=TODAY - dt.timedelta(days=9)
    )
    data = rendering.supervision_notice(world.eco, Problem.objects.all(), today=TODAY)

    text = pdf_text(rendering.render(data, "pdf"))

    assert "督办通知单" in text and "餐饮油烟直排" in text and "湖州市生态环境局吴兴分局" in text


def test_it_reports_progress_by_state_pace_and_unit(world, noticed):
    world.problem(
        ledger_number="第7号", title="餐饮油烟直排", deadline=TODAY - dt.timedelta(days=9)
    )
    closed = problem_in(world, "closed", ledger_number="第2号", title="已整改完成的问题")
    world.problem(ledger_number="第9号", title="南浔问题", lead_unit=world.housing)

    data = rendering.progress_report(world.inspection, Problem.objects.all(), today=TODAY)
    content = rendering.render(data, "docx")

    text = docx_text(content)
    assert "第二轮中央生态环境保护督察整改进展情况报告" in text
    assert "共交办整改问题4个，已销号1个，正在整改3个，其中逾期1个" in text
    assert "按时完成率50.0%" in text  # 1 closed on time ÷ (1 closed + 1 open overdue)
    rows = docx_table_rows(content)
    assert ["湖州市生态环境局吴兴分局", "3", "1", "2", "1", "1"] in rows
    assert ["南浔区住房和城乡建设局", "1", "0", "1", "0", "0"] in rows
    assert ["1", "第7号", "餐饮油烟直排", "湖州市生态环境局吴兴分局"] == [
        row for row in rows if "第7号" in row
    ][0][:4]
    assert [row for row in rows if "第2号" in row][0][2] == closed.title


def test_it_writes_the_public_notice_for_the_batch_in_notice(world, noticed):
    world.problem(ledger_number="第9号", title="尚未公示的问题")

    data = rendering.public_notice(world.inspection, Problem.objects.all(), today=TODAY)
    content = rendering.render(data, "docx")

    text = docx_text(content)
    notice = actions.open_notice(noticed)
    assert "以下1个问题已完成整改并通过验收，现予以公示" in text
    start = f"{notice.starts_on.year}年{notice.starts_on.month}月{notice.starts_on.day}日"
    assert f"公示期为{start}至" in text
    assert "燃煤锅炉整治" in text and "尚未公示的问题" not in text


def test_an_office_template_replaces_the_bundled_one_by_file_name(
    world, noticed, settings, tmp_path
):
    doc = new_document()
    doc.add_paragraph("湖州市整改销号审批表（本市格式）")
    doc.add_paragraph("编号：{{ problem.ledger_number }}；名称：{{ problem.title }}")
    doc.save(tmp_path / "closing_record.docx")
    settings.DUBAN_DOCUMENT_TEMPLATES_DIR = str(tmp_path)

    content = rendering.render(rendering.closing_record(noticed), "docx")

    assert rendering.docx_template_path("closing_record") == tmp_path / "closing_record.docx"
    assert "湖州市整改销号审批表（本市格式）" in docx_text(content)
    assert "编号：省编号第41号；名称：燃煤锅炉整治" in docx_text(content)
    assert rendering.docx_template_path("public_notice").parent.name == "templates_docx"


def test_a_replaced_template_cannot_reach_python_internals(world, noticed, settings, tmp_path):
    doc = new_document()
    doc.add_paragraph("{{ problem.__class__.__mro__ }}")
    doc.save(tmp_path / "closing_record.docx")
    settings.DUBAN_DOCUMENT_TEMPLATES_DIR = str(tmp_path)

    with pytest.raises(SecurityError):
        rendering.render(rendering.closing_record(noticed), "docx")


def test_text_with_markup_characters_stays_text(world):
    problem = problem_in(world, "closing_applied", title="A&B <河道> 整治")

    content = rendering.render(rendering.closing_record(problem), "docx")

    assert "A&B <河道> 整治" in docx_text(content)
    Document(io.BytesIO(content))  # still a valid document


def test_it_names_each_unit_of_a_circular_even_when_two_regions_name_theirs_alike(world):
    from django.utils import timezone

    from duban.escalation.documents import circular_document
    from duban.escalation.models import Circular, CircularEntry, ListingReason
    from duban.org.models import Unit, UnitKind

    now = timezone.now()
    circular = Circular.objects.create(
        inspection=world.inspection, region=world.city, period="2026-10", generated_at=now
    )
    for region, days in ((world.wuxing, 30), (world.nanxun, 12)):
        unit = Unit.objects.create(name="住房和城乡建设局", kind=UnitKind.DEPARTMENT, region=region)
        problem = world.problem(lead_unit=unit, deadline=TODAY - dt.timedelta(days=days))
        CircularEntry.objects.create(
            inspection=world.inspection,
            circular=circular,
            region=region,
            unit=unit,
            problem=problem,
            deadline=problem.deadline,
            reason=ListingReason.STILL_OVERDUE,
            listed_at=now,
            days_overdue=days,
        )

    data = circular_document(circular)

    assert [(u["name"], u["count"], u["max_days"]) for u in data.context["units"]] == [
        ("住房和城乡建设局", 1, 30),
        ("住房和城乡建设局", 1, 12),
    ]
    assert "以下2个单位牵头的2个问题" in data.context["text"]
    rows = docx_table_rows(rendering.render(data, "docx"))
    assert [row[1] for row in rows if row[0] in ("1", "2") and len(row) == 4] == [
        "住房和城乡建设局",
        "住房和城乡建设局",
    ]
