"""Find the table in a sheet: the header row by its names, then the problem rows.

Above the header: title rows (often merged across). Below it: problem rows, group
heading rows ("一、大气污染防治方面") that give the rows under them a category,
empty rows, and notes ("注：…") that end the table. A value merged over several
rows (one problem text, one row per responsible unit) belongs to every row.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from .parsing import category_of, is_heading_text
from .readers import Sheet

# Field → the names offices give its column, as found in real lists. An exact match
# wins; otherwise the longest name contained in the header ("整改时限（完成时间）").
HEADER_NAMES = {
    "number": ("序号", "编号", "问题编号", "序"),
    "feedback": (
        "反馈问题",
        "督察反馈问题",
        "问题",
        "存在问题",
        "主要问题",
        "问题描述",
        "交办问题",
        "反馈意见",
        "问题内容",
    ),
    "units": ("责任单位", "整改责任单位", "整改实施主体", "责任主体", "责任部门", "整改单位"),
    "lead_unit": ("牵头单位", "牵头部门", "主责单位"),
    "co_units": ("配合单位", "配合部门", "协同单位", "协办单位"),
    "lead_official": ("责任领导", "牵头领导", "责任人", "分管领导", "责任领导/责任人"),
    "target": ("整改目标", "目标任务", "目标"),
    "measures": ("整改措施", "重点措施", "主要措施", "措施"),
    "deadline": ("整改时限", "完成时限", "完成时间", "整改期限", "时限"),
    "progress": ("整改进展", "完成情况", "整改情况", "进展情况", "整改进展情况"),
}
HEADER_SCAN_ROWS = 30
HEADING_MAX_CHARS = 30
_NUMERAL = re.compile(r"^[一二三四五六七八九十]+[、.．]?$")
_NOTE = re.compile(
    r"^(?:注|备注|说明|附注)\s*[:：\d１-９]|^(?:填表人|填报人|制表|审核人|联系人|填报单位)"
)


def _clean(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))


def match_header(text: str) -> str | None:
    """The field a header cell names, or None."""
    name = _clean(text)
    if not name:
        return None
    plain = {f: {_clean(v) for v in variants} for f, variants in HEADER_NAMES.items()}
    for fieldname, variants in plain.items():
        if name in variants:
            return fieldname
    best, best_len = None, 0
    for fieldname, variants in plain.items():
        for variant in variants:
            if len(variant) >= 2 and variant in name and len(variant) > best_len:
                best, best_len = fieldname, len(variant)
    return best


@dataclass
class RawRow:
    sheet: str
    row: int  # as Excel shows it, from 1
    cells: dict[str, str]
    category: str | None


@dataclass
class Table:
    sheet: str
    header_row: int
    # field → (column indexes, the header as written in the file)
    columns: dict[str, tuple[list[int], str]]
    rows: list[RawRow] = field(default_factory=list)

    def header(self, fieldname: str) -> str:
        if fieldname in self.columns:
            return self.columns[fieldname][1]
        if fieldname in ("lead_unit", "co_units") and "units" in self.columns:
            return self.columns["units"][1]
        return HEADER_NAMES.get(fieldname, (fieldname,))[0]


def expand_merges(sheet: Sheet) -> list[list[str]]:
    """Rows where every cell of a merged range holds the range's value."""
    rows = sheet.rows
    for r0, c0, r1, c1 in sheet.merges:
        if r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0, r1 + 1):
            while len(rows) <= r:
                rows.append([])
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                row[c] = value
    return rows


def _header_columns(row: list[str]) -> dict[str, tuple[list[int], str]]:
    columns: dict[str, tuple[list[int], str]] = {}
    for index, text in enumerate(row):
        fieldname = match_header(text)
        if fieldname is None:
            continue
        if fieldname in columns:
            if row[columns[fieldname][0][-1]] != text:  # not the same header merged across
                columns[fieldname][0].append(index)
        else:
            # "完成\n时限" is shown to the clerk as 完成时限.
            columns[fieldname] = ([index], "".join(text.split()))
    return columns


def find_table(sheet: Sheet) -> Table | None:
    """The table of a sheet, or None when no row names both the problem and its units."""
    rows = expand_merges(sheet)
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns = _header_columns(row)
        has_units = "units" in columns or "lead_unit" in columns
        if "feedback" in columns and has_units and len(columns) >= 3:
            table = Table(sheet.name, index + 1, columns)
            table.rows = list(_data_rows(table, rows, index))
            return table
    return None


def _data_rows(table: Table, rows: list[list[str]], header_index: int):
    header = rows[header_index]
    # Most fields have one column: read it directly (this loop runs once per row of the list).
    single = [(f, cols[0]) for f, (cols, _name) in table.columns.items() if len(cols) == 1]
    several = [(f, cols) for f, (cols, _name) in table.columns.items() if len(cols) > 1]
    category = None
    for index in range(header_index + 1, len(rows)):
        row = rows[index]
        values = [v for v in row if v]
        if not values:
            continue
        if _NOTE.match(values[0]):
            return  # notes end the table
        # A header merged down over two rows repeats in the row below it.
        if all(c < len(header) and header[c] == v for c, v in enumerate(row) if v):
            continue
        width = len(row)
        cells = {f: row[c] if c < width else "" for f, c in single}
        for f, cols in several:
            cells[f] = "\n".join(row[c] for c in cols if c < width and row[c])
        heading = _heading(cells, values)
        if heading is not None:
            category = category_of(heading)
            continue
        yield RawRow(table.sheet, index + 1, cells, category)


def _heading(cells: dict[str, str], values: list[str]) -> str | None:
    """The text of a group heading row, or None for a problem row."""
    distinct = list(dict.fromkeys(values))
    working = [cells.get(f, "") for f in ("units", "lead_unit", "measures", "deadline")]
    number = cells.get("number", "")
    if len(distinct) == 1:
        # Merged across the row, or only one cell filled: a heading when it reads like one
        # or the cells that every problem has are empty.
        text = distinct[0]
        # (A long text alone is a problem whose other cells were forgotten: an error, not a heading.)
        if is_heading_text(text) or (
            len(text) <= HEADING_MAX_CHARS and all(not w or w == text for w in working)
        ):
            return text
        return None
    if _NUMERAL.match(number) and not any(working):
        return "".join(distinct)
    return None
