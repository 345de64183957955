"""A workbook's sheets as cell text, read by python-calamine in a child process with capped memory.

python-calamine is native code: it builds each sheet as one dense grid from A1 to the farthest
cell and copies a shared string into every cell that shows it. A crafted file of a few kilobytes
(one cell at A1 and one at XFD1048576; one long text shown in 50,000 cells) asks it for more memory
than any machine has, and a failed native allocation ends the whole process, not just the request.
So the reading happens in a child process whose memory and time are capped (capped.py); the child
refuses a grid larger than a list (MAX_ROWS, MAX_CELLS) before turning it into text, and the server
only ever receives the cells' text, at most MAX_REPLY bytes of it.

No Django here: the child runs this file as a script, with the file's bytes on its standard input
and the sheets on its standard output, in marshal's format (plain lists and strings, built by the
child itself, and twice as fast to pass as JSON). duban.documents.importing.readers words the
refusals.
"""

import datetime as dt
import io
import marshal
import sys

import python_calamine

from duban.documents import capped

MAX_ROWS = 200_000  # of one sheet, merged ranges included
MAX_CELLS = 2_000_000  # all sheets' grids together, rows × columns, merged ranges included
MAX_REPLY = 128 * 1024 * 1024  # the cells' text sent back
READER_MEMORY = 2 * 1024 * 1024 * 1024  # address space of the child
READER_SECONDS = 60

# Refusals, as {"refused": reason, ...}; "grid" also names the sheet, its last row and column.
DAMAGED, PASSWORD, GRID, MEMORY = "damaged", "password", "grid", "memory"

# Duban's export (and the usual defence against formula injection) writes "'=…" for a text that
# starts like a formula, and "''=…" for one that starts "'=…": one apostrophe is not the text's.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def without_neutralising(text: str) -> str:
    """The text without the apostrophe that kept it from being read as a formula."""
    return text[1:] if text[:1] == "'" and text.lstrip("'").startswith(FORMULA_STARTS) else text


def cell_text(value) -> str:
    """A cell as the clerk sees it: 1 not 1.0, dates as YYYY-MM-DD, "'-5%" as -5%."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value.strip()  # readers.plain_text(), inlined: this runs for every cell of the file
        return text[1:] if text[:1] == "'" and text.lstrip("'").startswith(FORMULA_STARTS) else text
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def read(content: bytes) -> dict:
    """{"sheets": [{"name", "rows", "merges"}, …]} for every visible worksheet, or {"refused": …}."""
    # This file runs as a script of its own (-P: its folder is not put on the import path): the
    # child imports python-calamine, capped.py and the standard library, nothing else.
    reply = capped.run([sys.executable, "-P", __file__], content, cpu_seconds=READER_SECONDS)
    # A child stopped by a limit (out of memory or time) says nothing, or not all of it.
    if reply is None or len(reply) > MAX_REPLY:
        return {"refused": MEMORY}
    try:
        return marshal.loads(reply)
    except (EOFError, ValueError, TypeError):
        return {"refused": MEMORY}


def _child() -> None:
    capped.cap(READER_MEMORY, READER_SECONDS)
    content = sys.stdin.buffer.read()
    try:
        data = marshal.dumps(_sheets(content))
    except python_calamine.PasswordError:
        data = marshal.dumps({"refused": PASSWORD})
    except MemoryError:
        data = marshal.dumps({"refused": MEMORY})
    except BaseException:
        # Plain errors for some malformed files, or a Rust panic (pyo3's PanicException is no
        # Exception): the file is damaged.
        data = marshal.dumps({"refused": DAMAGED})
    if len(data) > MAX_REPLY:
        data = marshal.dumps({"refused": MEMORY})
    sys.stdout.buffer.write(data)


def _sheets(content: bytes) -> dict:
    workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(content))
    sheets, cells, merged = [], 0, 0
    for meta in workbook.sheets_metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
            continue
        if meta.visible != python_calamine.SheetVisibleEnum.Visible:
            continue
        sheet = workbook.get_sheet_by_name(meta.name)
        last_row, last_col = sheet.end or (-1, -1)
        # The rows come from A1 on, and a merged range that starts inside them is filled in cell
        # by cell (layout.expand_merges); one that starts outside is ignored.
        merges = [
            (r0, c0, r1, c1)
            for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []
            if r0 <= last_row and c0 <= last_col
        ]
        rows = max([last_row, *(r1 for _r0, _c0, r1, _c1 in merges)]) + 1
        columns = max([last_col, *(c1 for _r0, _c0, _r1, c1 in merges)]) + 1
        cells += rows * columns
        if rows > MAX_ROWS or cells > MAX_CELLS:
            return {"refused": GRID, "sheet": meta.name, "row": rows, "column": columns}
        # Ranges that overlap (Excel never writes them) could fill the same grid many times over.
        merged += sum((r1 - r0 + 1) * (c1 - c0 + 1) for r0, c0, r1, c1 in merges)
        if merged > MAX_CELLS:
            return {"refused": MEMORY}
        values = sheet.to_python(skip_empty_area=False)
        sheets.append(
            {
                "name": meta.name,
                "rows": [[cell_text(v) for v in row] for row in values],
                "merges": merges,
            }
        )
    return {"sheets": sheets}


if __name__ == "__main__":
    _child()
