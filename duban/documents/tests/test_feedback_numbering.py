"""Feedback reports numbered the ways Word and inspection teams number them: Word's automatic list
numbering (the number is not in the text) and enumerations written as "第一，…；第二，…"."""

import io
import threading

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from duban.documents.feedback import (
    FeedbackError,
    _format_number,
    split_feedback,
    split_paragraphs,
)

from .test_feedback import EXPECTED, REPORT

# The levels offices set up for a report: 一、 / （一） / 1.
REPORT_LIST = f"""
<w:abstractNum {nsdecls("w")} w:abstractNumId="90">
  <w:multiLevelType w:val="multilevel"/>
  <w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
    <w:lvlText w:val="%1、"/><w:lvlJc w:val="left"/></w:lvl>
  <w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>
    <w:lvlText w:val="（%2）"/><w:lvlJc w:val="left"/></w:lvl>
  <w:lvl w:ilvl="2"><w:start w:val="1"/><w:numFmt w:val="decimal"/>
    <w:lvlText w:val="%3."/><w:lvlJc w:val="left"/></w:lvl>
</w:abstractNum>
"""
REPORT_NUM = f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'


def add_list(document):
    numbering = document.part.numbering_part.element
    first_num = numbering.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}num")
    # The schema wants every abstractNum before the first num.
    numbering.insert(numbering.index(first_num), parse_xml(REPORT_LIST))
    numbering.append(parse_xml(REPORT_NUM))


def numbered(document, text, level):
    paragraph = document.add_paragraph(text)
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = level
    num_pr.get_or_add_numId().val = 90
    return paragraph


def saved(document):
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# The report of test_feedback, its numbers typed by hand → (Word list level, text without number).
HAND_NUMBERS = [
    ("一、", 0),
    ("二、", 0),
    ("三、", 0),
    ("四、", 0),
    ("（一）", 1),
    ("（二）", 1),
    ("1. ", 2),
    ("2. ", 2),
    ("1、", 2),
    ("2、", 2),
]


def auto_numbered(paragraphs):
    for text in paragraphs:
        for typed, level in HAND_NUMBERS:
            if text.startswith(typed):
                yield level, text[len(typed) :]
                break
        else:
            yield None, text


def test_it_reads_the_numbers_word_shows_for_auto_numbered_paragraphs():
    document = docx.Document()
    add_list(document)
    for level, text in auto_numbered(REPORT):
        if level is None:
            document.add_paragraph(text)
        else:
            numbered(document, text, level)
    assert not any(p.text.startswith(("二、", "（一）", "1.")) for p in document.paragraphs)

    candidates = [c.as_dict() for c in split_feedback(saved(document), "反馈意见.docx")]

    # The same problems as the report with typed numbers: the items restart at 1 under (二), and
    # the number Word shows is written without the space a typist adds after "2.".
    expected = [
        c | {"heading_path": [p.replace("2. ", "2.") for p in c["heading_path"]]} for c in EXPECTED
    ]
    assert candidates == expected


def test_it_numbers_paragraphs_whose_style_carries_the_numbering():
    document = docx.Document()
    document.add_paragraph("一、存在的主要问题")
    for text in ("部分企业废气超标排放。", "饮用水水源保护区内仍有违法建筑。", "河道黑臭反弹。"):
        document.add_paragraph(text, style="List Number")  # numbered by the style's w:numPr
    document.add_paragraph("二、整改要求")
    document.add_paragraph("抓紧制定整改方案。")

    candidates = [c.as_dict() for c in split_feedback(saved(document), "反馈意见.docx")]

    path = ["一、存在的主要问题"]
    assert candidates == [
        {"number": "1", "heading_path": path, "text": "部分企业废气超标排放。"},
        {"number": "2", "heading_path": path, "text": "饮用水水源保护区内仍有违法建筑。"},
        {"number": "3", "heading_path": path, "text": "河道黑臭反弹。"},
    ]


def test_it_splits_an_enumeration_written_as_first_second():
    paragraphs = [
        "一、存在的主要问题",
        "1.农业面源污染治理滞后。第一，畜禽养殖废弃物资源化利用率偏低；"
        "第二，化肥农药减量工作推进缓慢；第三，农村生活污水处理设施运维不到位。",
        "2.第一批整改任务中仍有3项未完成。",
    ]

    candidates = [c.as_dict() for c in split_paragraphs(paragraphs)]

    lead = [paragraphs[0], "1.农业面源污染治理滞后。"]
    assert candidates == [
        {"number": "第一", "heading_path": lead, "text": "畜禽养殖废弃物资源化利用率偏低"},
        {"number": "第二", "heading_path": lead, "text": "化肥农药减量工作推进缓慢"},
        {"number": "第三", "heading_path": lead, "text": "农村生活污水处理设施运维不到位。"},
        # "第一批" is not an enumeration.
        {"number": "2", "heading_path": [paragraphs[0]], "text": "第一批整改任务中仍有3项未完成。"},
    ]


def test_it_writes_word_number_formats_as_word_shows_them():
    assert [_format_number(n, "chineseCounting") for n in (1, 10, 11, 20, 23)] == [
        "一",
        "十",
        "十一",
        "二十",
        "二十三",
    ]
    assert _format_number(3, "decimalEnclosedCircle") == "③"
    assert _format_number(2, "chineseLegalSimplified") == "贰"
    assert _format_number(4, "upperRoman") == "IV"
    assert _format_number(12, "decimalFullWidth") == "１２"


# --- hostile or odd Word files: read, or refused with a message, but never a crash or a hang ------


def within(seconds, function):
    """function()'s value, or a failed test if it is still running after `seconds`."""
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(value=function()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"still running after {seconds} s"
    return outcome["value"]


def one_level_list(ilvl="0", start="1", fmt="decimal"):
    """A report whose problem item is numbered by a list of one level, as written in the file."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    first_num = numbering.find("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}num")
    numbering.insert(
        numbering.index(first_num),
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90"><w:lvl w:ilvl="{ilvl}">'
            f'<w:start w:val="{start}"/><w:numFmt w:val="{fmt}"/><w:lvlText w:val="%1."/>'
            "</w:lvl></w:abstractNum>"
        ),
    )
    numbering.append(parse_xml(REPORT_NUM))
    document.add_paragraph("一、存在的主要问题")
    numbered(document, "部分企业废气超标排放。", 0)
    return saved(document)


def test_it_counts_a_numbering_value_that_is_not_a_number_as_words_default():
    for odd in ({"ilvl": "first"}, {"start": "one"}, {"start": "9" * 5000}):
        candidates = split_feedback(one_level_list(**odd), "反馈意见.docx")

        assert [(c.number, c.text) for c in candidates] == [("1", "部分企业废气超标排放。")]


def test_it_writes_a_counter_beyond_any_report_as_digits():
    assert _format_number(1000, "chineseCounting") == "1000"
    assert _format_number(2**31 - 1, "lowerLetter") == "2147483647"
    assert _format_number(2**31 - 1, "upperRoman") == "2147483647"
    assert _format_number(-5, "ideographDigital") == "-5"
    # Read in a report, such a counter is no item number: the text is a candidate all the same.
    for start, fmt in (("1000", "chineseCounting"), ("2147483647", "lowerLetter")):
        candidates = within(
            5, lambda s=start, f=fmt: split_feedback(one_level_list(start=s, fmt=f))
        )
        assert [c.text for c in candidates] == [f"{int(start)}.部分企业废气超标排放。"]


def test_it_reads_a_paragraph_whose_style_is_based_on_itself():
    document = docx.Document()
    document.styles.element.append(
        parse_xml(
            f'<w:style {nsdecls("w")} w:type="paragraph" w:styleId="Loop">'
            '<w:name w:val="Loop"/><w:basedOn w:val="Loop"/></w:style>'
        )
    )
    document.add_paragraph("一、存在的主要问题")
    document.add_paragraph(
        "部分企业废气超标排放。"
    )._p.get_or_add_pPr().get_or_add_pStyle().val = "Loop"

    candidates = within(5, lambda: split_feedback(saved(document), "反馈意见.docx"))

    assert [c.text for c in candidates] == ["部分企业废气超标排放。"]


def test_it_reads_a_table_cell_once_whatever_span_it_claims():
    document = docx.Document()
    document.add_paragraph("一、存在的主要问题")
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "1.部分企业废气超标排放。"
    table.cell(0, 1).text = "2.河道黑臭反弹。"
    table.cell(0, 0)._tc.get_or_add_tcPr().append(
        parse_xml(f'<w:gridSpan {nsdecls("w")} w:val="2000000000"/>')
    )

    candidates = within(5, lambda: split_feedback(saved(document), "反馈意见.docx"))

    assert [(c.number, c.text) for c in candidates] == [
        ("1", "部分企业废气超标排放。"),
        ("2", "河道黑臭反弹。"),
    ]


def test_it_refuses_a_document_whose_style_has_no_known_type_with_a_message():
    document = docx.Document()
    document.add_paragraph("一、存在的主要问题")
    document.add_paragraph("部分企业废气超标排放。", style="List Number")
    style = document.styles["List Number"].element
    style.set("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}type", "1.5")

    with pytest.raises(FeedbackError, match="该 Word 文档已损坏或不完整。"):
        split_feedback(saved(document), "反馈意见.docx")
