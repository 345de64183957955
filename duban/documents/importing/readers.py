"""Read an uploaded list into sheets of cell text, refusing files that could do harm.

A file is judged by its content, not its name: the name only decides that a
.xlsm is refused and that text is read as CSV. Every check that bounds memory
(upload size, archive entry count, uncompressed sizes, XML entity declarations)
runs before a reader touches the file, and a workbook is read in a capped child
process (duban.documents.workbook) that refuses grids no list reaches. Nothing is
ever extracted to disk, so paths inside an archive ("../../etc/passwd") are never used.
"""

import csv
import io
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from .. import workbook, zipguard
from ..workbook import MAX_CELLS, MAX_ROWS, without_neutralising

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Limits for the zip container of an .xlsx: a real ledger is far below each.
LIMITS = zipguard.Limits(max_entries=2000, max_uncompressed=200 * 1024 * 1024)
EXTENSIONS = {"xlsx", "xls", "csv"}


class ImportRejected(ValueError):
    """A file that is not read at all, with a message for the person who chose it."""


@dataclass
class Sheet:
    name: str
    rows: list[list[str]]
    # (first_row, first_col, last_row, last_col), 0-based and inclusive.
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)


def max_import_bytes() -> int:
    return settings.DUBAN_MAX_IMPORT_MB * 1024 * 1024


def read_bytes(source, limit: int | None = None) -> bytes:
    """The file's content, refusing it as soon as it passes the size limit."""
    limit = limit or max_import_bytes()
    too_large = _("The file is larger than %(limit)d MB; split the list into smaller files.") % {
        "limit": limit // (1024 * 1024)
    }
    # An upload Django spooled to disk knows its size: refuse it before reading any of it.
    if getattr(source, "size", None) and source.size > limit:
        raise ImportRejected(too_large)
    if isinstance(source, bytes):
        content = source
    elif hasattr(source, "read"):
        content = source.read(limit + 1)
    else:
        with open(source, "rb") as handle:
            content = handle.read(limit + 1)
    if len(content) > limit:
        raise ImportRejected(too_large)
    return content


def read_sheets(content: bytes, filename: str) -> list[Sheet]:
    """Every visible sheet of the file as rows of cell text."""
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix in {"xlsm", "xltm", "xlam"}:
        raise ImportRejected(
            _("Macro-enabled workbooks (.xlsm) are not accepted; save the list as .xlsx.")
        )
    if suffix not in EXTENSIONS:
        raise ImportRejected(_("Only .xlsx, .xls and .csv files can be imported."))
    if not content:
        raise ImportRejected(_("The file is empty."))
    if content.startswith(OLE_MAGIC):
        _check_ole(content)
        return _read_calamine(content)
    if content.startswith(ZIP_MAGIC):
        _check_zip(content)
        return _read_calamine(content)
    if suffix == "csv":
        return [_read_csv(content)]
    raise ImportRejected(
        _("This file is not an Excel workbook even though its name ends in .%(suffix)s.")
        % {"suffix": suffix}
    )


def _damaged() -> ImportRejected:
    return ImportRejected(
        _("The file is damaged or incomplete (perhaps the upload was cut off); save it again.")
    )


def _check_ole(content: bytes) -> None:
    """An OLE compound file: an old .xls, or an encrypted .xlsx (which Office wraps in OLE)."""
    # Directory entry names are UTF-16LE; an encrypted OOXML package has these streams.
    if "EncryptedPackage".encode("utf-16-le") in content:
        raise ImportRejected(
            _("The workbook is password-protected; remove the password and import it again.")
        )
    if "_VBA_PROJECT_CUR".encode("utf-16-le") in content:
        raise ImportRejected(
            _("The workbook contains macros; save the list without macros (.xlsx) and try again.")
        )


def _check_zip(content: bytes) -> None:
    try:
        zipguard.check_package(content, "xl/workbook.xml", LIMITS)
    except zipguard.PackageRefused as refused:
        if refused.reason == zipguard.DAMAGED:
            raise _damaged() from None
        raise ImportRejected(
            {
                zipguard.TOO_MANY_PARTS: _(
                    "The workbook has too many parts to be a list; it was not read."
                ),
                zipguard.TOO_LARGE: _(
                    "The workbook unpacks to far more data than a list holds; it was not read."
                ),
                zipguard.MACROS: _(
                    "The workbook contains macros; save the list without macros (.xlsx) and try again."
                ),
                zipguard.NOT_THIS_KIND: _("This file is not an Excel workbook (.xlsx)."),
                zipguard.ENTITIES: _(
                    "The workbook contains XML entity declarations, which Office never writes; "
                    "it was not read."
                ),
            }[refused.reason]
        ) from None


def plain_text(text: str) -> str:
    """A text cell without the apostrophe that kept it from being read as a formula."""
    return without_neutralising(text.strip())


def _column_name(number: int) -> str:
    """1 → A, 28 → AB, as Excel names columns (and past XFD, where a crafted file may reach)."""
    name = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        name = chr(ord("A") + rest) + name
    return name


def _read_calamine(content: bytes) -> list[Sheet]:
    outcome = workbook.read(content)
    refused = outcome.get("refused")
    if refused == workbook.PASSWORD:
        raise ImportRejected(
            _("The workbook is password-protected; remove the password and import it again.")
        )
    if refused == workbook.GRID:
        raise ImportRejected(
            _(
                "Sheet %(sheet)s reaches down to row %(row)s and across to column %(column)s, "
                "far beyond a list; delete what lies outside the table and import it again."
            )
            % {
                "sheet": outcome["sheet"],
                "row": outcome["row"],
                "column": _column_name(outcome["column"]),
            }
        )
    if refused == workbook.MEMORY:
        raise ImportRejected(
            _("The workbook unpacks to far more data than a list holds; it was not read.")
        )
    if refused is not None:
        raise _damaged()
    return [
        Sheet(sheet["name"], sheet["rows"], [tuple(m) for m in sheet["merges"]])
        for sheet in outcome["sheets"]
    ]


def decode_text(content: bytes) -> str:
    """Offices save CSV as UTF-8 (often with a BOM) or, from Chinese Excel, as GB18030."""
    if b"\x00" in content[:4096]:
        raise ImportRejected(_("This file is not a CSV text file."))
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportRejected(_("The CSV file's encoding is not recognised; save it as UTF-8."))


def _read_csv(content: bytes) -> Sheet:
    text = decode_text(content)
    # Excel writes commas; "Unicode text" exports use tabs.
    first_line = text[:4096].split("\n", 1)[0]
    dialect = csv.excel_tab if "\t" in first_line and "," not in first_line else csv.excel
    rows, cells = [], 0
    try:
        for row in csv.reader(io.StringIO(text), dialect):
            cells += len(row) or 1  # an empty line costs a row too
            if len(rows) == MAX_ROWS or cells > MAX_CELLS:
                raise ImportRejected(
                    _("The CSV file has far more cells than a list holds (at row %(row)d).")
                    % {"row": len(rows) + 1}
                )
            rows.append([plain_text(cell) for cell in row])
    except csv.Error:
        raise _damaged() from None
    return Sheet("CSV", rows, [])
