"""Splitting a feedback report (督察反馈意见) into candidate problems, from real files."""

import io
import json
import subprocess
import sys
import zipfile

import docx
import pypdf
import pytest
import weasyprint
from django.core.management import CommandError, call_command
from django.utils import translation
from PIL import Image

from duban.documents.feedback import FeedbackError, split_feedback, split_paragraphs

# A report written the way central and provincial inspection teams write them.
REPORT = [
    "中央第三生态环境保护督察组向湖州市反馈督察情况",
    "湖州市委、市政府：",
    "根据统一安排，督察组于2024年5月对湖州市开展了生态环境保护督察。现将督察情况反馈如下。",
    "一、总体情况",
    "湖州市委、市政府深入贯彻习近平生态文明思想，生态环境质量总体保持稳定，取得积极成效。",
    "（一）推动绿色发展",
    "全市累计关停淘汰落后产能企业126家。",
    "二、存在的主要问题",
    "（一）大气污染防治推进不力",
    "1. 吴兴区部分建筑工地扬尘管控措施落实不到位，督察组现场抽查发现，多个工地裸土未覆盖、"
    "运输车辆未冲洗即上路，道路积尘明显，周边群众反映强烈，相关部门监管流于形式，"
    "执法检查多以口头提醒代替立案查处。",
    "2. 工业废气治理存在明显短板。一是部分重点排污企业未按要求安装在线监测设备；"
    "二是重污染天气应急减排清单更新不及时，涉及企业120家；三是挥发性有机物治理设施运行不正常。",
    "（二）水污染防治存在差距",
    "1、南浔区城镇污水管网建设滞后，雨污混接问题突出，部分污水处理厂进水浓度长期偏低。",
    "管网破损渗漏严重，2023年以来排查发现的问题点位整改率不足三成。",
    "2、一、二级饮用水水源保护区内仍有违法建设项目未清理到位。",
    "关于“散乱污”企业整治不力",
    "一些地方对“散乱污”企业整治走过场，已取缔的企业死灰复燃，问题反弹明显。",
    "三、整改要求",
    "湖州市委、市政府应根据督察报告，抓紧研究制定整改方案，在30个工作日内报送。",
    "四、关于生态环境损害责任追究问题",
    "对督察发现的问题线索，督察组已按有关规定移交湖州市处理。",
]

PROBLEMS = "二、存在的主要问题"
AIR = [PROBLEMS, "（一）大气污染防治推进不力"]
WATER = [PROBLEMS, "（二）水污染防治存在差距"]

EXPECTED = [
    {"number": "1", "heading_path": AIR, "text": REPORT[9][3:]},
    *[
        {
            "number": number,
            "heading_path": [*AIR, "2. 工业废气治理存在明显短板。"],
            "text": text,
        }
        for number, text in [
            ("一是", "部分重点排污企业未按要求安装在线监测设备"),
            ("二是", "重污染天气应急减排清单更新不及时，涉及企业120家"),
            ("三是", "挥发性有机物治理设施运行不正常。"),
        ]
    ],
    {"number": "1", "heading_path": WATER, "text": REPORT[12][2:] + "\n" + REPORT[13]},
    {
        "number": "2",
        "heading_path": WATER,
        "text": "一、二级饮用水水源保护区内仍有违法建设项目未清理到位。",
    },
    {
        "number": "",
        "heading_path": [*WATER, "关于“散乱污”企业整治不力"],
        "text": REPORT[16],
    },
]


def docx_bytes(paragraphs):
    document = docx.Document()
    for text in paragraphs:
        # Official documents indent paragraphs with full-width spaces; the reader trims them.
        document.add_paragraph("\u3000\u3000" + text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def pdf_bytes(paragraphs):
    body = "".join(f"<p>{text}</p>" for text in paragraphs)
    html = (
        "<html lang='zh-CN'><head><style>@page { size: A4; margin: 2.5cm }"
        "body { font-family: 'Noto Sans CJK SC'; font-size: 14pt }"
        "p { text-indent: 2em; margin: 0 0 .3em }</style></head>"
        f"<body>{body}</body></html>"
    )
    return weasyprint.HTML(string=html).write_pdf()


def split(data, name):
    return [c.as_dict() for c in split_feedback(data, name)]


def message(data, name):
    with translation.override("en"), pytest.raises(FeedbackError) as caught:
        split_feedback(data, name)
    return str(caught.value)


def test_it_splits_a_word_report_into_the_problems_of_its_problem_chapter():
    assert split(docx_bytes(REPORT), "反馈意见.docx") == EXPECTED


def test_it_reads_the_same_report_as_utf8_text_with_or_without_bom_and_as_gb18030():
    text = "\n".join(REPORT)
    assert split(text.encode("utf-8"), "反馈意见.txt") == EXPECTED
    assert split(b"\xef\xbb\xbf" + text.encode("utf-8"), "反馈意见.txt") == EXPECTED
    assert split(("\r\n".join(REPORT)).encode("gb18030"), "反馈意见.txt") == EXPECTED


def test_it_reads_a_pdf_text_layer_and_joins_lines_that_wrap_mid_sentence():
    pdf = pdf_bytes(REPORT)
    layer = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    # The long item really wraps in the PDF, so the reader has lines to join.
    assert REPORT[9] not in layer
    assert "吴兴区部分建筑工地" in layer
    assert split(pdf, "反馈意见.pdf") == EXPECTED


def test_it_reads_text_in_word_tables_in_reading_order():
    document = docx.Document()
    for text in ["二、主要问题", "（一）固体废物监管不到位"]:
        document.add_paragraph(text)
    table = document.add_table(rows=4, cols=2)
    table.cell(0, 0).text = "1. 德清县一般工业固废台账缺失。"
    table.cell(0, 1).text = "涉及企业15家。"
    across = table.cell(1, 0).merge(table.cell(1, 1))
    across.text = "2. 长兴县危险废物贮存不规范。"
    down = table.cell(2, 0).merge(table.cell(3, 0))
    down.text = "3. 安吉县医疗废物处置能力不足。"
    table.cell(2, 1).text = "涉及医院12家。"
    table.cell(3, 1).text = "年缺口800吨。"
    document.add_paragraph("三、整改要求")
    buffer = io.BytesIO()
    document.save(buffer)

    assert split(buffer.getvalue(), "r.docx") == [
        {
            "number": "1",
            "heading_path": ["二、主要问题", "（一）固体废物监管不到位"],
            "text": "德清县一般工业固废台账缺失。\n涉及企业15家。",
        },
        {
            "number": "2",
            "heading_path": ["二、主要问题", "（一）固体废物监管不到位"],
            "text": "长兴县危险废物贮存不规范。",
        },
        {
            "number": "3",
            "heading_path": ["二、主要问题", "（一）固体废物监管不到位"],
            "text": "安吉县医疗废物处置能力不足。\n涉及医院12家。\n年缺口800吨。",
        },
    ]


def test_it_takes_every_leaf_outside_overview_and_requirements_when_no_chapter_names_problems():
    candidates = split_paragraphs(
        [
            "一、总体情况",
            "总体较好。",
            "二、大气污染防治方面",
            "（1）安吉县餐饮油烟扰民。",
            "（2）统一是关键，但监管缺位。",
            "三、整改要求",
            "1. 按期整改。",
        ]
    )
    assert [(c.number, c.heading_path, c.text) for c in candidates] == [
        ("（1）", ["二、大气污染防治方面"], "安吉县餐饮油烟扰民。"),
        # "统一是" is a word, not the start of an enumeration.
        ("（2）", ["二、大气污染防治方面"], "统一是关键，但监管缺位。"),
    ]


def test_it_gives_one_candidate_per_paragraph_of_a_problem_chapter_without_numbers():
    candidates = split_paragraphs(
        ["二、存在的主要问题", "德清县矿山修复滞后。", "一是绿化不达标；二是边坡不稳。"]
    )
    assert [(c.number, c.heading_path, c.text) for c in candidates] == [
        ("", ["二、存在的主要问题"], "德清县矿山修复滞后。"),
        ("一是", ["二、存在的主要问题"], "绿化不达标"),
        ("二是", ["二、存在的主要问题"], "边坡不稳。"),
    ]


def test_it_keeps_decimals_and_sentences_beginning_with_about_as_text():
    candidates = split_paragraphs(
        [
            "二、存在的主要问题",
            "1. 长兴县蓄电池企业超标排放。",
            "2.5万吨污泥去向不明。",
            "关于“三线一单”的落实，部分地区仍未执行。",
        ]
    )
    assert [c.text for c in candidates] == [
        "长兴县蓄电池企业超标排放。\n2.5万吨污泥去向不明。\n关于“三线一单”的落实，部分地区仍未执行。"
    ]


def test_it_explains_that_a_scanned_pdf_needs_ocr():
    buffer = io.BytesIO()
    Image.new("RGB", (200, 280), "white").save(buffer, "PDF")
    assert "no text layer" in message(buffer.getvalue(), "扫描件.pdf")
    assert "OCR" in message(buffer.getvalue(), "扫描件.pdf")


def test_it_refuses_a_docx_that_is_really_a_text_file():
    assert message("\n".join(REPORT).encode(), "反馈意见.docx") == (
        "The file is named 反馈意见.docx but its content is plain text, not a Word document."
    )


def test_it_refuses_a_zip_bomb_before_unpacking_it():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as part:
            zeros = b"\0" * (1024 * 1024)
            for _ in range(8):
                part.write(zeros)
    assert len(buffer.getvalue()) < 100_000
    assert "far more data than a report holds" in message(buffer.getvalue(), "bomb.docx")


def test_it_refuses_macros_entity_declarations_and_truncated_documents():
    def package(parts):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in parts.items():
                archive.writestr(name, content)
        return buffer.getvalue()

    macro = package({"word/document.xml": "<w:document/>", "word/vbaProject.bin": "x"})
    assert "contains macros" in message(macro, "r.docx")
    assert "Macro-enabled" in message(docx_bytes(REPORT), "r.docm")

    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><w:document>&lol2;</w:document>'
    )
    assert "entity declarations" in message(package({"word/document.xml": laughs}), "r.docx")

    whole = docx_bytes(REPORT)
    assert "damaged or truncated" in message(whole[: len(whole) // 2], "r.docx")
    assert message(b"", "r.txt") == "The file is empty."


def test_it_prints_the_split_as_json_and_as_a_listing(tmp_path):
    report = tmp_path / "反馈意见.docx"
    report.write_bytes(docx_bytes(REPORT))
    out = io.StringIO()
    call_command("split_feedback", str(report), "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"items": EXPECTED}

    out = io.StringIO()
    with translation.override("en"):
        call_command("split_feedback", str(report), stdout=out)
    listing = out.getvalue()
    assert "二、存在的主要问题 › （一）大气污染防治推进不力" in listing
    assert "  [二是] 重污染天气应急减排清单更新不及时，涉及企业120家" in listing
    assert "7 candidate problems." in listing


def test_it_stops_with_a_clear_message_on_a_bad_file(tmp_path):
    scan = tmp_path / "scan.pdf"
    Image.new("RGB", (100, 100), "white").save(scan, "PDF")
    with translation.override("en"), pytest.raises(CommandError, match="needs OCR"):
        call_command("split_feedback", str(scan))
    with translation.override("en"), pytest.raises(CommandError, match="Cannot read"):
        call_command("split_feedback", str(tmp_path / "missing.docx"))

    run = subprocess.run(
        [sys.executable, "-m", "duban.manage", "split_feedback", str(scan), "--json"],
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "OCR" in run.stderr
    assert run.stdout == ""
