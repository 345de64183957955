"""Feedback reports numbered the ways Word and inspection teams number them: Word's automatic list
numbering (the number is not in the text) and enumerations written as "第一，…；第二，…"."""

import io

import docx
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from duban.documents.feedback import _format_number, split_feedback, split_paragraphs

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
