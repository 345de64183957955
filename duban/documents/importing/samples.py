"""Rectification lists as offices send them, written with openpyxl: for tests and the benchmark.

The messy one has what real files have: two merged title rows, header names that
vary, group headings, a problem merged over three rows (one per unit), measures
numbered inside one cell, units as free text, every way of writing a deadline,
full-width digits, empty rows and notes under the table.
"""

import csv
import io

from openpyxl import Workbook
from openpyxl.styles import Alignment

MESSY_HEADER = [
    "序号",
    "督察反馈问题",
    "整改 目标",
    "整改责任单位",
    "责任领导",
    "整改措施",
    "完成\n时限",
    "整改进展",
]
FEEDBACK_BOILERS = "督察发现，吴兴区、南浔区燃煤小锅炉淘汰工作推进不力，部分企业仍在违规使用。"


def messy_rows(lead_official: str = "lead_official") -> list[list]:
    """The messy list's table from its header (row 3) on, before the notes; None = empty."""
    return [
        MESSY_HEADER,
        ["一、大气污染防治方面", None, None, None, None, None, None, None],
        [
            1,
            FEEDBACK_BOILERS,
            "全面淘汰燃煤小锅炉",
            "吴兴分局（牵头），南浔区住建局",
            f"{lead_official}（副区长）",
            "1.全面排查燃煤锅炉。2.建立淘汰台账，削减2.5万吨。3.开展执法检查",
            "2018年12月底前",
            "已完成排查",
        ],
        [
            None,
            None,
            "南浔区完成淘汰",
            "南浔区住建局",
            None,
            "（1）排查；（2）整治",
            "２０１９年６月３０日前",
            None,
        ],
        [
            None,
            None,
            "建立长效机制",
            "牵头单位：湖州市生态环境局吴兴分局；配合单位：南浔区住房和城乡建设局",
            None,
            "排查\n整治\n验收",
            "立行立改，长期坚持",
            None,
        ],
        [],
        ["二", "水污染防治方面"],
        [
            2,
            "城镇污水管网建设滞后，雨污混接问题突出。",
            None,
            "吴兴分局、南浔区住建局，各县（市、区）政府",
            None,
            "①排查雨污混接②实施改造",
            "2020年底前完成",
            None,
        ],
        [
            3,
            "饮用水水源保护区内仍有违规建筑。",
            None,
            "吴兴分局",
            None,
            "拆除违规建筑",
            "2019年10月",
            None,
        ],
        [
            "４",
            "部分河道黑臭现象反弹。",
            None,
            "南浔区住建局",
            None,
            "1、清淤\n2、截污",
            "2021年",
            None,
        ],
        [
            5,
            "农村生活污水处理设施运维不到位。",
            None,
            "吴兴分局",
            None,
            None,
            "2020年6月底前完成并长期坚持",
            None,
        ],
        [6, "工业园区污水处理厂超标排放。", None, "吴兴分局", None, None, "立行立改", None],
        [7, "河长制落实不到位。", None, "吴兴分局", None, None, "长期坚持", None],
        [8, "入河排污口排查整治滞后。", None, "吴兴分局", None, None, "持续推进", None],
        [9, "湖泊退养还湖工作推进缓慢。", None, "吴兴分局", None, None, "2019年6月30日前", None],
    ]


NOTES = [[], ["注：1.本清单由市整改办汇总。"], ["2.责任单位排名第一的为牵头单位。"]]


def messy_workbook(lead_official: str = "lead_official", extra_rows=()) -> Workbook:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "整改清单"
    width = len(MESSY_HEADER)
    sheet.append(["湖州市贯彻落实第二轮中央生态环境保护督察反馈意见整改清单"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.append(["（2026年6月）"])
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    for row in [*messy_rows(lead_official), *extra_rows, *NOTES]:
        sheet.append(row)
    # The heading across the row; the first problem's number and text over its three unit rows.
    sheet.merge_cells(start_row=4, start_column=1, end_row=4, end_column=width)
    sheet.merge_cells("A5:A7")
    sheet.merge_cells("B5:B7")
    note_row = sheet.max_row - 1
    sheet.merge_cells(start_row=note_row, start_column=1, end_row=note_row, end_column=width)
    for row in sheet.iter_rows():
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    return workbook


# The merged ranges of the messy list, 1-based and inclusive like Excel shows them:
# (first row, first column, last row, last column); None = the table's last column / the note row.
MESSY_MERGES = [(1, 1, 1, None), (2, 1, 2, None), (4, 1, 4, None), (5, 1, 7, 1), (5, 2, 7, 2)]


def messy_xls(lead_official: str = "lead_official") -> bytes:
    """The messy list as an old binary .xls (BIFF8), with the same cells and merges.

    Needs xlwt, a development dependency: only tests write .xls files.
    """
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("整改清单")
    width = len(MESSY_HEADER)
    rows = [
        ["湖州市贯彻落实第二轮中央生态环境保护督察反馈意见整改清单"],
        ["（2026年6月）"],
        *messy_rows(lead_official),
        *NOTES,
    ]
    note_row = len(rows) - 1
    merges = [(r0 - 1, c0 - 1, r1 - 1, (c1 or width) - 1) for r0, c0, r1, c1 in MESSY_MERGES] + [
        (note_row - 1, 0, note_row - 1, width - 1)
    ]
    # xlwt refuses to write a cell twice: merged ranges are written once, by write_merge.
    merged = {
        (r, c) for r0, c0, r1, c1 in merges for r in range(r0, r1 + 1) for c in range(c0, c1 + 1)
    }
    wrap = xlwt.easyxf("align: wrap on, vert centre")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None and (r, c) not in merged:
                sheet.write(r, c, value, wrap)
    for r0, c0, r1, c1 in merges:
        value = rows[r0][c0] if c0 < len(rows[r0]) else None
        sheet.write_merge(r0, r1, c0, c1, "" if value is None else value, wrap)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def simple_workbook(rows: list[list], header=None) -> bytes:
    """A plain list: one header row, then `rows`."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header or ["序号", "反馈问题", "责任单位", "整改措施", "整改时限"])
    for row in rows:
        sheet.append(row)
    return workbook_bytes(workbook)


def csv_bytes(rows: list[list], encoding: str = "gb18030") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return text.getvalue().encode(encoding)


def large_workbook(count: int, units: list[str]) -> bytes:
    """`count` problems, ten per group heading, units and deadlines in the usual free forms."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("整改清单")
    sheet.append(["大规模整改清单"])
    sheet.append(["序号", "反馈问题", "责任单位", "责任领导", "整改措施", "整改时限"])
    deadlines = ["2027年12月底前", "立行立改，长期坚持", "2028年6月30日前", "2027年底前完成"]
    for i in range(count):
        if i % 10 == 0:
            sheet.append([f"第{i // 10 + 1}组、大气污染防治方面"])
        lead, co = units[i % len(units)], units[(i + 1) % len(units)]
        sheet.append(
            [
                i + 1,
                f"第{i + 1}号问题：督察发现某企业废气治理设施运行不正常，超标排放。",
                f"{lead}（牵头），{co}",
                None,
                "1.全面排查。2.限期整改。3.开展执法检查。",
                deadlines[i % len(deadlines)],
            ]
        )
    sheet.append(["注：本清单为基准测试生成。"])
    return workbook_bytes(workbook)
