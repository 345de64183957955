"""The ledger (整改情况台账) as .xlsx, in the standard layout offices print and exchange.

Columns: 序号, 反馈问题, 责任单位, 责任领导, 整改目标, 整改措施, 整改时限, 整改进展,
状态/序时进度, 销号情况 — each cell written the way a clerk writes it ("1.…" measures,
"牵头单位（牵头），配合单位、配合单位", "2027年6月30日前"), so an exported ledger reads
back through the importer as the same problems.

Safe and bounded:
- no cell starts a formula: text beginning with = + - @ tab or CR gets a leading
  apostrophe (the usual defence against CSV/formula injection), and characters
  that XML cannot carry are dropped;
- constant memory: a write-only workbook streams rows to a temporary file, and
  the problems are read in chunks with their measures, co-operating units,
  latest report and open notice prefetched per chunk (a fixed number of queries
  per chunk, none per row).

The caller scopes the queryset (Problem.objects.visible_to(user) and the list's
filters); this module never widens or narrows it.
"""

import functools
import re
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, Subquery
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from duban.audit.log import chain_head
from duban.ledger.models import (
    PACE_FIELDS,
    Measure,
    NoticeStatus,
    ProblemUnit,
    ProgressReport,
    PublicNotice,
    State,
    UnitRole,
)
from duban.ledger.pace import Pace

from .rendering.context import DOCUMENT_LANGUAGE

CHUNK_SIZE = 2000
# Excel refuses longer cells; a ledger cell never needs more.
MAX_CELL_CHARS = 32_000
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    key: str
    label: object  # lazy: translated when the workbook is written
    width: float


COLUMNS = (
    Column("number", pgettext_lazy("ledger column", "No."), 8),
    Column("feedback", pgettext_lazy("ledger column", "Problem found"), 46),
    Column("units", pgettext_lazy("ledger column", "Responsible units"), 24),
    Column("lead_official", pgettext_lazy("ledger column", "Responsible leader"), 11),
    Column("target", pgettext_lazy("ledger column", "Rectification target"), 28),
    Column("measures", pgettext_lazy("ledger column", "Rectification measures"), 44),
    Column("deadline", pgettext_lazy("ledger column", "Time limit"), 15),
    Column("progress", pgettext_lazy("ledger column", "Progress"), 34),
    Column("status", pgettext_lazy("ledger column", "State / pace"), 13),
    Column("closing", pgettext_lazy("ledger column", "Closing"), 17),
)
TITLE_ROW, NOTE_ROW, HEADER_ROW = 1, 2, 3

# What a row shows, and what state, pace and overdue are computed from.
ROW_FIELDS = (
    *PACE_FIELDS,
    "ledger_number",
    "feedback_text",
    "target",
    "closed_at",
    "lead_unit__name",
    "lead_official__display_name",
    "lead_official__username",
)


# --- cell text ---------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text: never a formula, never an illegal character."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    # "'=…" gets one too: the import takes one apostrophe off a run of them before = + - @ …
    if text.lstrip("'").startswith(FORMULA_STARTS):
        return "'" + text
    return text


def _date(value) -> str:
    """A date as the active language writes it: 2027年6月30日 in Chinese."""
    return _date_in(value, translation.get_language())


@functools.lru_cache(maxsize=4096)
def _date_in(value, language) -> str:
    # Deadlines repeat across a ledger; formatting a date is slow enough to show at 100,000 rows.
    return formats.date_format(value, "DATE_FORMAT")


def _sep() -> str:
    return pgettext("list separator", ", ")


def units_text(lead_name: str | None, co_names: list[str]) -> str:
    """责任单位 the usual way: "市生态环境局（牵头），市住建局、市城管局"."""
    if not co_names:
        return lead_name or ""
    co = _sep().join(co_names)
    if not lead_name:
        return co
    return _("%(lead)s (lead), %(co)s") % {"lead": lead_name, "co": co}


# "1." and "1、" and "（1）" at the start of a measure someone numbered by hand.
_NUMBERED = re.compile(r"^\s*(?:\d+\s*[.．、]|[（(]\d+[）)])\s*")


def measures_text(texts: list[str]) -> str:
    """整改措施 as numbered lines: "1.…\\n2.…" (a number typed into the text is not doubled)."""
    lines = [" ".join(t.split()) for t in texts]
    return "\n".join(f"{i}.{_NUMBERED.sub('', t)}" for i, t in enumerate(lines, 1) if t)


def deadline_text(problem) -> str:
    """整改时限 as offices write it: "立行立改、长期坚持", "2027年6月30日前"."""
    return _deadline_text(
        problem.deadline_immediate,
        problem.deadline if problem.deadline_by_date else None,
        problem.deadline_by_date,
        problem.deadline_ongoing,
        translation.get_language(),
    )


@functools.lru_cache(maxsize=4096)
def _deadline_text(immediate, deadline, by_date, ongoing, language) -> str:
    # A ledger holds few distinct deadlines: each is written out once per language.
    parts = []
    if immediate:
        parts.append(pgettext("deadline kind", "Immediately"))
    if by_date:
        if deadline:
            parts.append(_("by %(date)s") % {"date": _date(deadline)})
        else:
            parts.append(pgettext("deadline kind", "By a date"))
    if ongoing:
        parts.append(pgettext("deadline kind", "Ongoing"))
    return pgettext("deadline kinds separator", ", ").join(parts)


def progress_text(report) -> str:
    if report is None:
        return ""
    return _("%(text)s (%(period)s, %(percent)s%% done)") % {
        "text": report.text.strip(),
        "period": report.period,
        "percent": report.percent,
    }


def status_text(problem, today, state_labels, pace_labels) -> str:
    state = state_labels[problem.state]
    if problem.state == State.CLOSED:
        return state  # "closed / closed" would say nothing more
    text = f"{state} / {pace_labels[problem.pace(today)]}"
    if problem.is_overdue(today):
        text += _sep() + _("overdue")
    return text


def closing_text(problem, notice) -> str:
    """销号情况: when it closed, or the public notice period running now, or nothing."""
    if problem.state == State.CLOSED and problem.closed_at:
        return _("Closed on %(date)s") % {"date": _date(timezone.localdate(problem.closed_at))}
    if notice is not None:
        return _("In public notice %(start)s to %(end)s") % {
            "start": _date(notice.starts_on),
            "end": _date(notice.ends_on),
        }
    return ""


# --- reading in chunks -------------------------------------------------------------------


def ledger_queryset(queryset):
    """The scoped, filtered, ordered queryset with what a row needs; prefetched per chunk."""
    newest_report = (
        ProgressReport.objects.filter(problem_id=OuterRef("problem_id"))
        .order_by("-submitted_at", "-id")
        .values("id")[:1]
    )
    return (
        queryset.select_related("lead_unit", "lead_official")
        .only(*ROW_FIELDS)
        .prefetch_related(
            Prefetch(
                "measures",
                queryset=Measure.objects.only("problem_id", "order", "text"),
                to_attr="measure_list",
            ),
            Prefetch(
                "unit_links",
                queryset=ProblemUnit.objects.filter(role=UnitRole.CO)
                .select_related("unit")
                .only("problem_id", "unit__name")
                .order_by("id"),
                to_attr="co_links",
            ),
            Prefetch(
                "reports",
                queryset=ProgressReport.objects.filter(id=Subquery(newest_report)).only(
                    "problem_id", "period", "text", "percent"
                ),
                to_attr="latest_reports",
            ),
            Prefetch(
                "notices",
                queryset=PublicNotice.objects.filter(status=NoticeStatus.OPEN).only(
                    "problem_id", "starts_on", "ends_on"
                ),
                to_attr="open_notices",
            ),
        )
    )


def ledger_rows(queryset, *, today=None, chunk_size: int = CHUNK_SIZE):
    """One list of cell texts per problem, in the order of COLUMNS."""
    today = today or timezone.localdate()
    state_labels = {s.value: str(s.label) for s in State}
    pace_labels = {p: str(p.label) for p in Pace}
    for index, problem in enumerate(ledger_queryset(queryset).iterator(chunk_size), 1):
        official = problem.lead_official
        report = problem.latest_reports[0] if problem.latest_reports else None
        notice = problem.open_notices[0] if problem.open_notices else None
        yield [
            problem.ledger_number or str(index),
            problem.feedback_text,
            units_text(
                problem.lead_unit.name if problem.lead_unit else None,
                [link.unit.name for link in problem.co_links],
            ),
            (official.display_name or official.username) if official else "",
            problem.target,
            measures_text([m.text for m in problem.measure_list]),
            deadline_text(problem),
            progress_text(report),
            status_text(problem, today, state_labels, pace_labels),
            closing_text(problem, notice),
        ]


# --- the workbook ------------------------------------------------------------------------

THIN = Side(style="thin", color="000000")
GRID = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _named_styles() -> tuple:
    # New objects for each workbook: a named style binds itself to the workbook it is added to.
    return (
        NamedStyle(
            "ledger_title",
            font=Font(bold=True, size=16),
            alignment=Alignment(horizontal="center", vertical="center"),
        ),
        NamedStyle(
            "ledger_note",
            font=Font(size=9, color="595959"),
            alignment=Alignment(horizontal="right", vertical="center"),
        ),
        NamedStyle(
            "ledger_header",
            font=Font(bold=True, size=11),
            fill=PatternFill("solid", fgColor="D9E1F2"),
            border=GRID,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle(
            "ledger_cell",
            font=Font(size=10),
            border=GRID,
            alignment=Alignment(vertical="top", wrap_text=True),
        ),
        NamedStyle(
            "ledger_number",
            font=Font(size=10),
            border=GRID,
            alignment=Alignment(horizontal="center", vertical="top", wrap_text=True),
        ),
    )


def _cell(ws, value, style: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(ws, value=neutralise(value) if isinstance(value, str) else value)
    cell.style = style
    return cell


def _style_arrays(ws) -> dict:
    """Each named style resolved once; a million cells then copy it instead of looking it up."""
    return {name: _cell(ws, None, name)._style for name in ws.parent.named_styles}


def default_title(inspection_name: str | None) -> str:
    with translation.override(DOCUMENT_LANGUAGE):
        if inspection_name:
            return _("%(inspection)s rectification ledger") % {"inspection": inspection_name}
        return pgettext("export title", "Rectification ledger")


def write_ledger(
    queryset,
    out,
    *,
    title: str,
    exported_by: str = "",
    progress=None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Write the ledger of `queryset` (already scoped and filtered) to `out`; return the row count.

    `out` is a path or a binary file object; `progress(n)` is called as rows are written.
    The ledger is an official document in the standard Chinese layout, like the Word and PDF
    documents, whatever the user's language: it is what offices hand on, and what the
    importer reads again.
    """
    with translation.override(DOCUMENT_LANGUAGE):
        return _write_ledger(
            queryset,
            out,
            title=title,
            exported_by=exported_by,
            progress=progress,
            chunk_size=chunk_size,
        )


def _write_ledger(queryset, out, *, title, exported_by, progress, chunk_size) -> int:
    wb = Workbook(write_only=True)
    for style in _named_styles():
        wb.add_named_style(style)
    ws = wb.create_sheet(_("Ledger"))
    last = get_column_letter(len(COLUMNS))

    # Everything about the sheet is set before the first row: a write-only sheet streams.
    for number, column in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(number)].width = column.width
    ws.row_dimensions[TITLE_ROW].height = 30
    ws.row_dimensions[HEADER_ROW].height = 30
    ws.merged_cells.add(f"A{TITLE_ROW}:{last}{TITLE_ROW}")
    ws.merged_cells.add(f"A{NOTE_ROW}:{last}{NOTE_ROW}")
    ws.freeze_panes = f"A{HEADER_ROW + 1}"
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = Worksheet.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.oddFooter.center.text = _("Page &P of &N")

    # The chain head ties the printed ledger to the audit log: anyone can later check
    # that the log still holds this event with this hash.
    seq, digest = chain_head()
    note = _("Exported %(time)s%(by)s. Audit chain head: #%(seq)s %(hash)s") % {
        "time": formats.date_format(timezone.localtime(), "DATETIME_FORMAT"),
        "by": (_(" by %(user)s") % {"user": exported_by}) if exported_by else "",
        "seq": seq,
        "hash": digest[:16],
    }
    ws.append([_cell(ws, title, "ledger_title")])
    ws.append([_cell(ws, note, "ledger_note")])
    ws.append([_cell(ws, str(column.label), "ledger_header") for column in COLUMNS])

    styles = _style_arrays(ws)
    number_style, cell_style = styles["ledger_number"], styles["ledger_cell"]
    count = 0
    for row in ledger_rows(queryset, chunk_size=chunk_size):
        ws.append(
            [Cell(ws, 1, 1, neutralise(row[0]), style_array=number_style)]
            + [Cell(ws, 1, 1, neutralise(v), style_array=cell_style) for v in row[1:]]
        )
        count += 1
        if progress is not None:
            progress(1)
    wb.save(out)
    return count
