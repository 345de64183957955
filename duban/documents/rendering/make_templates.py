"""Build the bundled .docx templates (docxtpl placeholders) with python-docx.

Run `python -m duban.documents.rendering.make_templates` after changing a layout;
the .docx files it writes to duban/documents/templates_docx/ are committed too.
An office replaces one by putting a file of the same name into
DUBAN_DOCUMENT_TEMPLATES_DIR: these are only the defaults.

Placeholders follow docxtpl: `{{ x }}` in a run, `{%p ... %}` in a paragraph of
its own and `{%tr ... %}` in a table row of its own (the row is removed).
Each tag is written as one run so Word never splits it.
"""

import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates_docx"

BODY_FONT = "宋体"  # SimSun: present wherever Word is; Noto Serif CJK SC on LibreOffice
TITLE_FONT = "黑体"


def _east_asian(run_or_style, font: str) -> None:
    """Set the font for Chinese text too (python-docx sets only the Latin one)."""
    rpr = run_or_style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), font)


def new_document(*, landscape: bool = False) -> Document:
    doc = Document()
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    _east_asian(normal, BODY_FONT)
    # zh-CN, or Word and LibreOffice may pick Japanese glyph shapes for shared characters.
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "zh-CN")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal.element.get_or_add_rPr().append(lang)
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = Mm(297), Mm(210)
    section.left_margin = section.right_margin = Mm(25)
    section.top_margin = section.bottom_margin = Mm(25)
    header = section.header.paragraphs[0]
    header.text = "{{ office_name }}　{{ doc_title }}"
    header.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    footer.add_run("第 ")
    _page_field(footer, "PAGE")
    footer.add_run(" 页 / 共 ")
    _page_field(footer, "NUMPAGES")
    footer.add_run(" 页")
    return doc


def _page_field(paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def title(doc, text: str, size: int = 18) -> None:
    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(size)
    _east_asian(run, TITLE_FONT)


def para(doc, *parts, align=None, bold_first: bool = False):
    """A paragraph of runs; with bold_first the first run is a label."""
    p = doc.add_paragraph()
    for i, part in enumerate(parts):
        run = p.add_run(part)
        run.bold = bold_first and i == 0
    if align:
        p.alignment = align
    return p


def heading(doc, text: str) -> None:
    p = doc.add_paragraph()
    run = p.add_run(text)
    run.bold = True
    run.font.size = Pt(14)
    _east_asian(run, TITLE_FONT)


def facts_table(doc, rows: list[tuple[str, str]]):
    """A two-column form (label | value), the layout of approval forms (审批表)."""
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].width, cells[1].width = Mm(40), Mm(120)
        cells[0].paragraphs[0].add_run(label).bold = True
        cells[1].paragraphs[0].add_run(value)
    return table


def list_table(doc, headers: list[str], loop: str, cells: list[str]):
    """A table with a header row and one row per item: `{%tr for ... %}` rows around it."""
    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, headers, strict=True):
        cell.paragraphs[0].add_run(text).bold = True
    table.add_row().cells[0].paragraphs[0].add_run("{%tr for " + loop + " %}")
    for cell, text in zip(table.add_row().cells, cells, strict=True):
        cell.paragraphs[0].add_run(text)
    table.add_row().cells[0].paragraphs[0].add_run("{%tr endfor %}")
    return table


def closing_record():
    doc = new_document()
    title(doc, "{{ doc_title }}")
    para(doc, "{{ problem.inspection }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    facts_table(
        doc,
        [
            ("问题编号", "{{ problem.ledger_number }}"),
            ("问题名称", "{{ problem.title }}"),
            ("督察反馈问题", "{{ problem.feedback_text }}"),
            ("所属区域", "{{ problem.region }}"),
            ("牵头单位", "{{ problem.lead_unit }}"),
            ("配合单位", "{{ problem.co_units }}"),
            ("责任领导", "{{ problem.lead_official }}"),
            ("整改目标", "{{ problem.target }}"),
            ("整改时限", "{{ problem.deadline }}"),
            ("当前状态", "{{ problem.state }}"),
        ],
    )
    heading(doc, "一、整改措施")
    list_table(
        doc,
        ["序号", "整改措施", "责任主体", "完成时限", "完成情况"],
        "m in measures",
        ["{{ m.number }}", "{{ m.text }}", "{{ m.owner }}", "{{ m.due }}", "{{ m.done }}"],
    )
    heading(doc, "二、销号申请")
    facts_table(
        doc,
        [
            ("整改完成情况", "{{ application.summary }}"),
            ("自查意见", "{{ application.self_check }}"),
            ("申请人", "{{ application.submitted_by }}"),
            ("申请时间", "{{ application.submitted_at }}"),
            ("申请状态", "{{ application.status }}"),
            ("佐证材料", "{{ application.evidence_count }} 份"),
        ],
    )
    heading(doc, "三、签字背书")
    list_table(
        doc,
        ["签字人", "身份", "意见", "时间", "内容指纹（SHA-256）", "效力"],
        "s in signatures",
        [
            "{{ s.signer }}",
            "{{ s.role }}",
            "{{ s.statement }}",
            "{{ s.signed_at }}",
            "{{ s.content_hash }}",
            "{{ s.validity }}",
        ],
    )
    heading(doc, "四、验收意见")
    list_table(
        doc,
        ["验收层级", "结论", "验收人", "时间", "现场核查意见", "退回理由"],
        "r in reviews",
        [
            "{{ r.level }}",
            "{{ r.decision }}",
            "{{ r.reviewer }}",
            "{{ r.reviewed_at }}",
            "{{ r.site_check }}",
            "{{ r.reasons }}",
        ],
    )
    heading(doc, "五、公示情况")
    facts_table(
        doc,
        [
            ("公示期", "{{ notice.period }}"),
            ("公示状态", "{{ notice.status }}"),
            ("异议", "{{ notice.objection_summary }}"),
        ],
    )
    doc.add_paragraph("{%p for o in notice.objections %}")
    para(doc, "{{ o.recorded_at }} {{ o.recorded_by }}：{{ o.text }}（{{ o.upheld }}）")
    doc.add_paragraph("{%p endfor %}")
    heading(doc, "六、审计链")
    para(doc, "审计日志链头：第 {{ audit.seq }} 号事件，哈希 {{ audit.hash }}")
    para(doc, "本表由督办系统于 {{ generated_at }} 生成，可据链头核验记录未被篡改。")
    return doc


def supervision_notice():
    doc = new_document()
    title(doc, "{{ doc_title }}", size=22)
    para(doc, "{{ number }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{{ unit.name }}：")
    para(
        doc,
        "　　截至{{ today }}，你单位牵头的以下{{ count }}个整改问题已超过整改时限仍未完成，"
        "现予督办。请对照整改方案，逐项落实整改措施，加快推进整改。",
    )
    list_table(
        doc,
        ["序号", "问题编号", "问题名称", "整改时限", "逾期天数", "序时进度", "当前进展"],
        "p in problems",
        [
            "{{ p.number }}",
            "{{ p.ledger_number }}",
            "{{ p.title }}",
            "{{ p.deadline }}",
            "{{ p.days_overdue }}",
            "{{ p.pace }}",
            "{{ p.progress }}",
        ],
    )
    para(
        doc,
        "　　请于{{ reply_by }}前将整改进展情况及下一步工作安排书面报送{{ office_name }}。",
    )
    para(doc, "{{ office_name }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    return doc


def progress_report():
    doc = new_document(landscape=True)
    title(doc, "{{ inspection.name }}{{ doc_title }}")
    para(doc, "（截至{{ today }}）", align=WD_ALIGN_PARAGRAPH.CENTER)
    heading(doc, "一、总体情况")
    para(
        doc,
        "　　{{ inspection.name }}共交办整改问题{{ totals.total }}个，已销号{{ totals.closed }}个，"
        "正在整改{{ totals.open }}个，其中逾期{{ totals.overdue }}个；按时完成率{{ totals.on_time_rate }}。",
    )
    list_table(doc, ["状态", "问题数"], "s in by_state", ["{{ s.label }}", "{{ s.count }}"])
    para(doc, "")
    list_table(doc, ["序时进度", "问题数"], "s in by_pace", ["{{ s.label }}", "{{ s.count }}"])
    heading(doc, "二、分单位情况")
    list_table(
        doc,
        ["牵头单位", "问题数", "已销号", "整改中", "逾期", "滞后"],
        "u in by_unit",
        [
            "{{ u.name }}",
            "{{ u.total }}",
            "{{ u.closed }}",
            "{{ u.open }}",
            "{{ u.overdue }}",
            "{{ u.behind }}",
        ],
    )
    heading(doc, "三、逾期问题清单")
    list_table(
        doc,
        ["序号", "问题编号", "问题名称", "牵头单位", "整改时限", "逾期天数", "序时进度"],
        "p in late",
        [
            "{{ p.number }}",
            "{{ p.ledger_number }}",
            "{{ p.title }}",
            "{{ p.lead_unit }}",
            "{{ p.deadline }}",
            "{{ p.days_overdue }}",
            "{{ p.pace }}",
        ],
    )
    heading(doc, "四、已销号问题清单")
    list_table(
        doc,
        ["序号", "问题编号", "问题名称", "牵头单位", "销号时间"],
        "p in closed",
        [
            "{{ p.number }}",
            "{{ p.ledger_number }}",
            "{{ p.title }}",
            "{{ p.lead_unit }}",
            "{{ p.closed_at }}",
        ],
    )
    para(doc, "{{ office_name }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "审计日志链头：第 {{ audit.seq }} 号事件，哈希 {{ audit.hash }}")
    return doc


def public_notice():
    doc = new_document()
    title(doc, "{{ inspection.name }}整改问题销号{{ doc_title }}", size=16)
    para(doc, "{{ text }}")
    list_table(
        doc,
        ["序号", "问题编号", "问题名称", "牵头单位", "整改完成情况", "公示期"],
        "p in problems",
        [
            "{{ p.number }}",
            "{{ p.ledger_number }}",
            "{{ p.title }}",
            "{{ p.lead_unit }}",
            "{{ p.summary }}",
            "{{ p.period }}",
        ],
    )
    para(doc, "{{ contact }}")
    para(doc, "{{ office_name }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    return doc


def circular():
    """督查通报 (duban.escalation): the late units and their problems, once approved."""
    doc = new_document()
    title(doc, "{{ doc_title }}", size=22)
    para(doc, "{{ number }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    para(doc, "{{ text }}")
    heading(doc, "一、被通报单位")
    list_table(
        doc,
        ["序号", "责任单位", "逾期问题数", "最长逾期天数"],
        "u in units",
        ["{{ u.number }}", "{{ u.name }}", "{{ u.count }}", "{{ u.max_days }}"],
    )
    heading(doc, "二、逾期问题清单")
    list_table(
        doc,
        ["序号", "责任单位", "问题编号", "问题名称", "整改时限", "逾期天数", "通报原因"],
        "p in problems",
        [
            "{{ p.number }}",
            "{{ p.unit }}",
            "{{ p.ledger_number }}",
            "{{ p.title }}",
            "{{ p.deadline }}",
            "{{ p.days_overdue }}",
            "{{ p.reason }}",
        ],
    )
    para(doc, "{{ request }}")
    para(doc, "{{ office_name }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(doc, "{{ date }}", align=WD_ALIGN_PARAGRAPH.RIGHT)
    return doc


BUILDERS = {
    "closing_record.docx": closing_record,
    "supervision_notice.docx": supervision_notice,
    "progress_report.docx": progress_report,
    "public_notice.docx": public_notice,
    "circular.docx": circular,
}


def main(target: Path = TEMPLATES_DIR) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for name, build in BUILDERS.items():
        build().save(target / name)
        print(target / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES_DIR)
