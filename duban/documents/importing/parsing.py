"""The free text inside a list's cells: deadlines, numbered measures, responsible units.

Pure functions, no database: each takes the cell as written and returns what it
means, or raises CellError with a message for the clerk.
"""

import calendar
import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

IMMEDIATE, BY_DATE, ONGOING = "immediate", "by_date", "ongoing"


class CellError(ValueError):
    """A cell that cannot be read; the message says what is expected."""


def normalize(text: str) -> str:
    """Full-width digits, letters and brackets to their plain forms (NFKC), trimmed."""
    return unicodedata.normalize("NFKC", text or "").strip()


# --- deadlines ---------------------------------------------------------------------------

IMMEDIATE_WORDS = ("立行立改", "立即整改", "即知即改", "立知立改", "马上就改")
ONGOING_WORDS = ("长期坚持", "持续推进", "长期推进", "持续开展", "常态化", "长期")
_ISO = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})")
_CHINESE = re.compile(
    r"(\d{4})\s*年\s*(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*[日号])?|(上半年|下半年|年中|年底|年末"
    r"|[一二三四1-4]季度|第[一二三四1-4]季度))?"
)
_QUARTER = {"一": 3, "二": 6, "三": 9, "四": 12, "1": 3, "2": 6, "3": 9, "4": 12}


@dataclass
class Deadline:
    kinds: list[str]
    date: dt.date | None


def _month_end(year: int, month: int, text: str) -> dt.date:
    return _make_date(year, month, calendar.monthrange(year, month)[1], text)


def _dates(text: str) -> list[dt.date]:
    found = []
    for match in _ISO.finditer(text):
        found.append(_make_date(int(match[1]), int(match[2]), int(match[3]), text))
    text = _ISO.sub(" ", text)
    for match in _CHINESE.finditer(text):
        year, month, day, part = int(match[1]), match[2], match[3], match[4]
        if day:
            found.append(_make_date(year, int(month), int(day), text))
        elif month:
            found.append(_month_end(year, _check_month(int(month), text), text))
        elif part == "上半年" or part == "年中":
            found.append(_make_date(year, 6, 30, text))
        elif part and "季度" in part:
            found.append(_month_end(year, _QUARTER[part.strip("第季度")], text))
        else:  # "2021年", "2020年底", "下半年": the end of the year
            found.append(_make_date(year, 12, 31, text))
    return found


def _check_month(month: int, text: str) -> int:
    if not 1 <= month <= 12:
        raise CellError(_("“%(text)s” has no such month.") % {"text": text})
    return month


def _make_date(year: int, month: int, day: int, text: str) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise CellError(_("“%(text)s” is not a real date.") % {"text": text}) from None


def parse_deadline(raw: str) -> Deadline:
    """'立行立改，长期坚持', '2019年6月30日前', '2020年6月底前完成并长期坚持' → kinds and a date.

    Where only a month or a year is given, the deadline is its last day. Of several
    dates ("2019年底前取得阶段成效，2020年底前全面完成") the latest is the deadline.
    """
    kinds, date = _deadline(raw)
    return Deadline(list(kinds), date)


# A list writes the same few deadlines on most rows ("立行立改，长期坚持", "2019年底前"):
# each distinct text is read once. Only readings are cached; a CellError is raised anew.
@functools.lru_cache(maxsize=4096)
def _deadline(raw: str) -> tuple[tuple[str, ...], dt.date | None]:
    text = normalize(raw)
    if not text:
        raise CellError(_("The deadline is empty; write e.g. 2019年6月30日前 or 立行立改."))
    kinds = []
    if any(word in text for word in IMMEDIATE_WORDS):
        kinds.append(IMMEDIATE)
    dates = _dates(text)
    if dates:
        kinds.append(BY_DATE)
    if any(word in text for word in ONGOING_WORDS):
        kinds.append(ONGOING)
    if not kinds:
        raise CellError(
            _("“%(text)s” is not a deadline; write e.g. 2019年6月30日前, 立行立改 or 长期坚持.")
            % {"text": raw.strip()}
        )
    return tuple(kinds), max(dates) if dates else None


# --- measures ----------------------------------------------------------------------------

# "1." "1、" "1．" "(1)" "（１）" "①": a number that starts a measure; "2.5万吨" is not a
# marker (a digit follows). \d matches full-width digits too, and int() reads them.
_MARKER = re.compile(r"(?:(\d{1,2})\s*[.、．](?!\d)|[(（](\d{1,2})[)）]|([\u2460-\u2473]))")
_BEFORE_MARKER = set("\n。；;，,：: \t")


def split_measures(raw: str) -> list[str]:
    """The measures in one cell, without their numbers: '1.排查。2.整治。' → ['排查。', '整治。']."""
    text = (raw or "").strip()
    if not text:
        return []
    cuts = []  # (start of marker, end of marker)
    expected, style = 1, None
    for match in _MARKER.finditer(text):
        dotted, bracketed, circled = match.groups()
        if dotted:
            value, marker_style = int(dotted), 1
        elif bracketed:
            value, marker_style = int(bracketed), 2
        else:
            value, marker_style = ord(circled) - 0x2460 + 1, 3
        # The first item sets the style: "(1)" inside "1." is a sub-item, not the next measure.
        if value != expected or (style is not None and marker_style != style):
            continue
        # "①" always starts an item; "2." only after a break or punctuation ("第2.5条" no).
        start = match.start()
        if circled or start == 0 or text[start - 1] in _BEFORE_MARKER:
            cuts.append((start, match.end()))
            expected, style = expected + 1, marker_style
    if len(cuts) >= 2 or (cuts and cuts[0][0] == 0):
        items = []
        if cuts[0][0] > 0 and text[: cuts[0][0]].strip():
            items.append(text[: cuts[0][0]])  # a lead-in sentence before "1."
        stops = [start for start, _end in cuts[1:]] + [len(text)]
        items.extend(text[end:stop] for (_start, end), stop in zip(cuts, stops, strict=True))
    else:
        items = text.splitlines()
    return [stripped for item in items if (stripped := item.strip(_ITEM_EDGES))]


_ITEM_EDGES = " \t\n；;，,"


# --- responsible units -------------------------------------------------------------------

_LEAD_LABEL = re.compile(r"(?:牵头(?:单位|部门)?|责任单位|主责单位)[:：]")
_CO_LABEL = re.compile(r"(?:配合|协同|协办|参与|协助)(?:单位|部门)?[:：]")
_LEAD_MARK = re.compile(r"[(（]\s*牵头(?:单位)?\s*[)）]|牵头$|为牵头单位$")
# "各县（市、区）政府", "各区县人民政府": every county government, not one named unit.
COLLECTIVE = re.compile(r"^各(?:县|区|市|地|乡镇|街道)")


@dataclass
class Units:
    lead: str | None
    co: list[str] = field(default_factory=list)


def _split_names(text: str) -> list[str]:
    """Split on 、，,；; and line breaks, but not inside brackets: 各县（市、区）政府 is one name."""
    names, current, depth = [], [], 0
    for char in text:
        if char in "(（[【":
            depth += 1
        elif char in ")）]】" and depth:
            depth -= 1
        if depth == 0 and char in "、，,；;\n/ 　":
            names.append("".join(current))
            current = []
        else:
            current.append(char)
    names.append("".join(current))
    return [name.strip().rstrip("。.等") for name in names if name.strip().rstrip("。.等")]


def split_units(raw: str) -> Units:
    """'市生态环境局（牵头），市住建局、市城管局' or '牵头单位：…；配合单位：…' → lead and co units.

    Without a mark the first unit named leads.
    """
    lead, co = _units((raw or "").strip())
    return Units(lead, list(co))


# The same responsible units recur down a list: each distinct text is read once.
@functools.lru_cache(maxsize=4096)
def _units(text: str) -> tuple[str | None, tuple[str, ...]]:
    if not text:
        return None, ()
    lead_label = _LEAD_LABEL.search(text)
    co_label = _CO_LABEL.search(text)
    if lead_label or co_label:
        lead_part = co_part = ""
        if lead_label and co_label and co_label.start() > lead_label.start():
            lead_part = text[lead_label.end() : co_label.start()]
            co_part = text[co_label.end() :]
        elif lead_label and co_label:
            co_part = text[co_label.end() : lead_label.start()]
            lead_part = text[lead_label.end() :]
        elif lead_label:
            lead_part = text[lead_label.end() :]
        else:
            lead_part, co_part = text[: co_label.start()], text[co_label.end() :]
        leads, co = _split_names(lead_part), _split_names(co_part)
        # More than one 牵头单位: the first leads, the others work with it.
        return (leads[0] if leads else None), tuple(leads[1:] + co)
    names = _split_names(text)
    if not names:  # only separators: "/" or "、" written for "none"
        return None, ()
    marked = [i for i, name in enumerate(names) if _LEAD_MARK.search(name)]
    names = [_LEAD_MARK.sub("", name).strip() for name in names]
    lead_index = marked[0] if marked else 0
    lead = names[lead_index]
    return lead, tuple(n for i, n in enumerate(names) if i != lead_index and n)


# --- categories from group headings -------------------------------------------------------

# Checked in this order: "土壤和地下水" is soil, "大气和水" is air.
CATEGORY_WORDS = [
    ("air", ("大气", "空气", "扬尘", "烟尘", "废气", "VOCs", "挥发性有机物", "燃煤", "臭氧")),
    ("solid_waste", ("固废", "固体废物", "危险废物", "危废", "垃圾", "医疗废物")),
    ("soil", ("土壤", "地下水", "重金属")),
    ("noise", ("噪声", "噪音")),
    ("radiation", ("辐射", "核与辐射", "电磁")),
    ("water", ("水污染", "水环境", "水源", "污水", "黑臭", "河", "湖", "流域", "海", "水")),
    ("ecology", ("生态", "自然保护", "矿山", "林", "湿地", "草原", "生物多样性")),
]
_HEADING = re.compile(
    r"^(?:[一二三四五六七八九十]+\s*[、.．]|[(（][一二三四五六七八九十]+[)）]|第[一二三四五六七八九十]+[部分类章节])"
)


def is_heading_text(text: str) -> bool:
    return bool(_HEADING.match(text.strip())) or text.strip().endswith(("方面", "方面问题"))


def category_of(heading: str) -> str:
    """The Category value a group heading names: '一、大气污染防治方面' → 'air'."""
    for value, words in CATEGORY_WORDS:
        if any(word in heading for word in words):
            return value
    return "other"


def title_from(feedback: str, limit: int = 60) -> str:
    """A short title for the ledger: the feedback's first sentence, cut to `limit` characters."""
    text = " ".join(feedback.split())
    for stop in "。；;":
        head = text.split(stop, 1)[0]
        if 8 <= len(head) < len(text):
            text = head
            break
    return text if len(text) <= limit else text[: limit - 1] + "…"
