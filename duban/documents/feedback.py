"""Split an inspection's feedback report (督察反馈意见) into candidate problems.

A report is read as a list of paragraphs (.docx, .txt or a PDF with a text layer), the paragraphs are
arranged into a tree by the numbering real reports use, and the leaves of the problem chapter become
candidates. Levels, from the top:

    1    "一、"  chapter              number "一"
    2    "（一）" / "(一)" section     number "（一）" (kept as written, brackets included)
    2.5  "关于“…”" heading           number "" (no number is written)
    3    "1." "1、" "1．" "１．" item  number "1" (as written, trailing punctuation dropped)
    4    "（1）" "(1)" "①" sub-item  number "（1）" / "①"
    5    "一是…二是…" inside a text  number "一是"
         "第一，…；第二，…"           number "第一"

Candidates come from the chapters whose heading mentions 问题 (存在的主要问题, 主要问题…), except the
closing chapters about accountability (责任追究, 线索); if no chapter does, from every chapter that is not
obviously an overview or a list of requirements. An item's text runs until the next item or heading at
the same or a higher level. In a candidate:
- ``number``: its number as written, without trailing punctuation ("" when none is written);
- ``heading_path``: the full text of each heading above it, numbers included
  (["二、存在的主要问题", "（一）大气污染防治不力"]);
- ``text``: its verbatim text without its own number; paragraphs joined by "\\n", each line trimmed.
A leaf that enumerates "一是…二是…" (or "第一，…第二，…") becomes one candidate per enumerated part;
the text before "一是"
(with the item's number) is then the last entry of their heading path, and the separator ending each
part ("；", "，") is dropped. A leaf chapter (a problem chapter without numbered items) gives one
candidate per paragraph. A heading's own intro paragraphs (between it and its first numbered child) are
context, not candidates.

Word documents often number their headings and items with Word's own list formatting (w:numPr), so
the paragraph's text has no "一、" or "1." in it: the number Word shows is computed from the
document's numbering part (each level's format and text, "%1、", "（%2）", "%3.") and put in front of
the text, after which the paragraph is read like any other.
"""

import io
import marshal
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import docx
import pypdf
from django.utils.translation import gettext as _
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.table import Table, _Cell

from . import capped, zipguard

# Limits: a feedback report is a few dozen pages; anything far beyond is refused unread.
MAX_FILE_BYTES = 20 * 1024 * 1024
LIMITS = zipguard.Limits(max_entries=1000, max_uncompressed=64 * 1024 * 1024)
# The .docx and PDF parsers run in a capped child process (capped.py, _child() below): a PDF whose
# pages all draw one content stream of many operators is a few kilobytes and costs pypdf minutes.
# A real report of fifty pages takes pypdf about half a second.
READER_SECONDS = 5
READER_MEMORY = 1024 * 1024 * 1024
# The child's refusals, besides zipguard's reasons.
PASSWORD, DAMAGED, LIMIT = "password", "damaged", "limit"


class FeedbackError(ValueError):
    """A file that cannot be split; str(error) is a message for the user."""


@dataclass
class Candidate:
    number: str
    heading_path: list[str]
    text: str

    def as_dict(self):
        return asdict(self)


# --- numbering -------------------------------------------------------------------------------------

CN = "一二三四五六七八九十"
CN_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"] + [
    "十" + d for d in CN[:9]
]
DIGITS = "0-9０-９"

# (level, kind, pattern); the pattern's group "number" is the number as written, the match's end is
# where the text starts. Guards keep "一、二级保护区" and "2.5万吨" from being read as numbers.
MARKERS = [
    (1, "chapter", re.compile(rf"^(?P<number>[{CN}]{{1,3}})[、．.](?![{CN}])\s*")),
    (2, "section", re.compile(rf"^(?P<number>[（(][{CN}]{{1,3}}[）)])\s*")),
    (2.5, "about", re.compile(r"^关于[“\"「『].{1,60}$")),
    (3, "item", re.compile(rf"^(?P<number>[{DIGITS}]{{1,3}})[.、．](?![{DIGITS}])\s*")),
    (4, "subitem", re.compile(rf"^(?P<number>[（(][{DIGITS}]{{1,3}}[）)]|[①-⑳])\s*")),
]
# A 关于 line is a heading only when it reads as a title, not as the start of a sentence.
SENTENCE_INSIDE = re.compile(r"[。；;，,：:！？!?](?!$)")

PROBLEM_WORD = "问题"
NOT_PROBLEMS_IN_PROBLEM_CHAPTER = ("责任追究", "线索")
NOT_PROBLEMS = ("总体", "基本情况", "成效", "要求", "建议", *NOT_PROBLEMS_IN_PROBLEM_CHAPTER)

# "一是" must begin a clause: at the start or after punctuation, so "统一是" is not an enumeration.
CLAUSE_START = "\n。；;：:，,、"


@dataclass
class _Node:
    level: float
    kind: str
    number: str = ""
    line: str = ""  # the whole first paragraph: the heading as written
    text: str = ""  # the first paragraph without its number
    body: list[str] = field(default_factory=list)
    children: list["_Node"] = field(default_factory=list)


def _classify(paragraph):
    for level, kind, pattern in MARKERS:
        match = pattern.match(paragraph)
        if not match:
            continue
        if kind == "about":
            if SENTENCE_INSIDE.search(paragraph):
                continue
            return _Node(level, kind, "", paragraph, paragraph)
        return _Node(level, kind, match["number"], paragraph, paragraph[match.end() :])
    return None


def _tree(paragraphs):
    root = _Node(0, "root")
    stack = [root]
    for paragraph in paragraphs:
        node = _classify(paragraph)
        if node is None:
            stack[-1].body.append(paragraph)
            continue
        while stack[-1].level >= node.level:
            stack.pop()
        stack[-1].children.append(node)
        stack.append(node)
    return root


# The enumerations written inside a text: "一是…二是…" and "第一，…第二，…". Each marker must begin a
# clause (so "统一是" and "第一批" are not markers); a family counts when 一 and 二 are both there.
ENUMERATIONS = [
    [(numeral + "是", re.compile(re.escape(numeral + "是"))) for numeral in CN_NUMERALS],
    [("第" + numeral, re.compile(f"第{numeral}[，,、：:]")) for numeral in CN_NUMERALS],
]


def _enumeration_of(text, markers):
    parts, position = [], 0
    for number, pattern in markers:
        for match in pattern.finditer(text, position):
            if match.start() == 0 or text[match.start() - 1] in CLAUSE_START:
                parts.append((match.start(), match.end(), number))
                position = match.end()
                break
        else:
            break
    return parts


def _enumeration(text):
    """(start, end of marker, number) of each "一是…"/"第一，…" part in order; [] unless at least
    the first two are there. Of two families in one text, the one that starts first counts."""
    found = [parts for m in ENUMERATIONS if len(parts := _enumeration_of(text, m)) >= 2]
    return min(found, key=lambda parts: parts[0][0]) if found else []


def _split_enumeration(number, path, text, full):
    """One candidate, or one per "一是…二是…" part; ``full`` is ``text`` with its number in front."""
    enumeration = _enumeration(text)
    if not enumeration:
        return [Candidate(number, path, text)]
    lead = full[: len(full) - len(text) + enumeration[0][0]].strip()
    sub_path = [*path, lead] if lead else path
    parts = []
    for i, (_start, marker_end, part_number) in enumerate(enumeration):
        end = enumeration[i + 1][0] if i + 1 < len(enumeration) else len(text)
        part = text[marker_end:end].strip().rstrip("；;，,、").strip()
        parts.append(Candidate(part_number, sub_path, part))
    return parts


def _leaf_candidates(node, path):
    if node.kind == "chapter":
        heading = [*path, node.line]
        return [c for p in node.body for c in _split_enumeration("", heading, p, p)]
    if node.kind == "about":
        if not node.body:
            return [Candidate("", path, node.line)]
        text = "\n".join(node.body)
        return _split_enumeration("", [*path, node.line], text, text)
    text = "\n".join([node.text, *node.body]).strip()
    full = "\n".join([node.line, *node.body]).strip()
    return _split_enumeration(node.number, path, text, full)


def _candidates(node, path):
    for child in node.children:
        if child.children:
            yield from _candidates(child, [*path, child.line])
        else:
            yield from _leaf_candidates(child, path)


def _is_problem_chapter(node):
    return (
        node.kind == "chapter"
        and PROBLEM_WORD in node.text
        and not any(word in node.text for word in NOT_PROBLEMS_IN_PROBLEM_CHAPTER)
    )


def split_paragraphs(paragraphs):
    """Candidates from a report given as trimmed, non-empty paragraphs in reading order."""
    root = _tree(paragraphs)
    chosen = [n for n in root.children if _is_problem_chapter(n)]
    if not chosen:
        chosen = [
            n
            for n in root.children
            if not (n.kind == "chapter" and any(word in n.text for word in NOT_PROBLEMS))
        ]
    return [c for c in _candidates(_Node(0, "root", children=chosen), []) if c.text]


# --- reading ---------------------------------------------------------------------------------------

SPACES = re.compile(r"[ \t\u00a0\u3000]+")


def _clean(lines):
    """Trim every line, collapse runs of spaces, drop empty lines."""
    for line in lines:
        line = SPACES.sub(" ", line).strip()
        if line:
            yield line


def _read_docx(data):
    reply = _read_in_child("docx", data)
    if "lines" in reply:
        return reply["lines"]
    raise FeedbackError(
        {
            zipguard.DAMAGED: _("The Word document is damaged or truncated."),
            zipguard.TOO_MANY_PARTS: _(
                "The file holds too many parts to be a Word document; it was not read."
            ),
            zipguard.TOO_LARGE: _(
                "The file unpacks to far more data than a report holds; it was not read."
            ),
            zipguard.MACROS: _(
                "The Word document contains macros; save it as a plain .docx and upload it again."
            ),
            zipguard.NOT_THIS_KIND: _("The file is an archive but not a Word .docx document."),
            zipguard.ENTITIES: _(
                "The Word document contains XML entity declarations, "
                "which Word never writes; it was not read."
            ),
            DAMAGED: _("The Word document is damaged or truncated."),
            LIMIT: _(
                "This Word document took too long to read or needed too much memory; "
                "save it again as .docx and upload it again."
            ),
        }[reply["refused"]]
    )


def _docx_lines_of(data) -> dict:
    """In the child: {"lines"} of a .docx, or {"refused": reason}."""
    try:
        zipguard.check_package(data, "word/document.xml", LIMITS)
    except zipguard.PackageRefused as refused:
        return {"refused": refused.reason}
    # python-docx parses with resolve_entities=False; the prolog check above refuses DTDs anyway.
    try:
        document = docx.Document(io.BytesIO(data))
        return {"lines": list(_clean(_docx_lines(document, _WordNumbering(document))))}
    except MemoryError:
        return {"refused": LIMIT}
    except Exception:  # python-docx raises many kinds on a damaged package or part
        return {"refused": DAMAGED}


def _docx_lines(container, numbering):
    """Paragraph texts in order, tables included (a merged cell once); soft line breaks split; the
    number Word shows for an auto-numbered paragraph in front of its text."""
    for block in container.iter_inner_content():
        if isinstance(block, Table):
            # Each w:tc once: a merged cell is one w:tc across its columns (and row.cells would
            # repeat it as many times as its w:gridSpan says, two billion in a hostile file), and
            # the w:tc that continue it downwards are empty.
            for row in block.rows:
                for tc in row._tr.tc_lst:
                    yield from _docx_lines(_Cell(tc, block), numbering)
        else:
            # An empty numbered paragraph still takes its number in Word; it just shows no text.
            label = numbering.label(block)
            if block.text.strip():
                yield from (label + block.text).split("\n")


# --- Word's automatic numbering --------------------------------------------------------------------

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
LETTERS = "abcdefghijklmnopqrstuvwxyz"
ROMAN = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"), (50, "l")]
ROMAN += [(40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
CN_DIGITS = "〇一二三四五六七八九"
CN_LEGAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
STEMS = "甲乙丙丁戊己庚辛壬癸"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _chinese(n, digits=CN_DIGITS, ten="十"):
    """1 → 一, 10 → 十, 21 → 二十一, 105 → 一百零五 (as Word's chineseCounting writes them)."""
    if n < 10:
        return digits[n]
    if n < 100:
        tens, units = divmod(n, 10)
        return (
            ("" if tens == 1 and digits is CN_DIGITS else digits[tens])
            + ten
            + (digits[units] if units else "")
        )
    hundreds, rest = divmod(n, 100)
    if rest == 0:
        return digits[hundreds] + "百"
    return digits[hundreds] + "百" + ("零" if rest < 10 else "") + _chinese(rest, digits, ten)


def _roman(n):
    out = ""
    for value, letters in ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _format_number(n, fmt):
    """A counter in one of Word's number formats (w:numFmt); unknown formats as decimal digits."""
    if (
        not 0 <= n < 1000
    ):  # as digits past what a report counts to, not 2**31 "a"s for a hostile start
        return str(n)
    if fmt in (
        "chineseCounting",
        "chineseCountingThousand",
        "japaneseCounting",
        "taiwaneseCounting",
    ):
        return _chinese(n)
    if fmt in ("ideographDigital", "japaneseDigitalTenThousand", "taiwaneseDigital"):
        return "".join(CN_DIGITS[int(d)] for d in str(n))
    if fmt in ("chineseLegalSimplified", "ideographLegalTraditional", "japaneseLegal"):
        return _chinese(n, CN_LEGAL_DIGITS, "拾")
    if fmt in ("decimalEnclosedCircle", "decimalEnclosedCircleChinese") and 1 <= n <= 20:
        return chr(0x2460 + n - 1)
    if fmt == "ideographTraditional" and 1 <= n <= 10:
        return STEMS[n - 1]
    if fmt in ("decimalFullWidth", "decimalFullWidth2"):
        return str(n).translate(FULL_WIDTH)
    if fmt == "decimalZero":
        return f"{n:02d}"
    if fmt in ("lowerLetter", "upperLetter") and n >= 1:
        letter = LETTERS[(n - 1) % 26] * ((n - 1) // 26 + 1)
        return letter.upper() if fmt == "upperLetter" else letter
    if fmt in ("lowerRoman", "upperRoman") and n >= 1:
        return _roman(n).upper() if fmt == "upperRoman" else _roman(n)
    return str(n)


def _val(element, tag, default=None):
    child = element.find(W + tag) if element is not None else None
    return child.get(W + "val", default) if child is not None else default


def _int(value, default: int) -> int:
    """A number of the numbering part; one that is not a number counts as `default`."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@dataclass
class _Level:
    start: int
    fmt: str
    text: str


class _WordNumbering:
    """The numbers Word shows in front of auto-numbered paragraphs, from the numbering part.

    Counters belong to the abstract list (lists that share one continue each other's numbers, as in
    Word) and a level restarts whenever a higher level moves on; a list instance's w:startOverride
    restarts its level the first time the instance is used.
    """

    def __init__(self, document):
        self.levels = {}  # abstractNumId → {ilvl: _Level}
        self.nums = {}  # numId → (abstractNumId, {ilvl: start override})
        self.counters = {}  # abstractNumId → {ilvl: current value}
        self.used = set()
        try:
            root = document.part.part_related_by(RT.NUMBERING).element
        except (KeyError, AttributeError):  # no numbering part: nothing is auto-numbered
            return
        for abstract in root.iter(W + "abstractNum"):
            levels = {}
            for lvl in abstract.iter(W + "lvl"):
                levels[_int(lvl.get(W + "ilvl"), 0)] = _Level(
                    start=_int(_val(lvl, "start"), 1),
                    fmt=_val(lvl, "numFmt", "decimal"),
                    text=_val(lvl, "lvlText", ""),
                )
            self.levels[abstract.get(W + "abstractNumId")] = levels
        for num in root.iter(W + "num"):
            overrides = {}
            for override in num.iter(W + "lvlOverride"):
                start = _val(override, "startOverride")
                if start is not None:
                    overrides[_int(override.get(W + "ilvl"), 0)] = _int(start, 1)
            self.nums[num.get(W + "numId")] = (_val(num, "abstractNumId"), overrides)

    def _num_pr(self, paragraph):
        """(numId, ilvl) of a paragraph: its own w:numPr, completed by its style's."""
        own = paragraph._p.pPr.numPr if paragraph._p.pPr is not None else None
        num_id = _val(own, "numId")
        level = _val(own, "ilvl")
        style = paragraph.style if num_id is None or level is None else None
        seen = set()  # a style based on itself, directly or not, would loop for ever
        while (
            style is not None and (num_id is None or level is None) and style.style_id not in seen
        ):
            seen.add(style.style_id)
            ppr = style.element.find(W + "pPr")
            style_num = ppr.find(W + "numPr") if ppr is not None else None
            num_id = num_id if num_id is not None else _val(style_num, "numId")
            level = level if level is not None else _val(style_num, "ilvl")
            style = style.base_style
        return num_id, _int(level, 0)

    def label(self, paragraph):
        """The number Word shows before the paragraph ("二、", "（一）", "3."), or ""."""
        if not self.nums:
            return ""
        num_id, ilvl = self._num_pr(paragraph)
        if num_id is None or num_id not in self.nums:
            return ""  # numId 0 switches numbering off
        abstract, overrides = self.nums[num_id]
        levels = self.levels.get(abstract, {})
        if ilvl not in levels:
            return ""
        counters = self.counters.setdefault(abstract, {})
        if num_id not in self.used:
            self.used.add(num_id)
            for level, start in overrides.items():
                counters[level] = start - 1
                for deeper in [k for k in counters if k > level]:
                    del counters[deeper]
        counters[ilvl] = counters.get(ilvl, levels[ilvl].start - 1) + 1
        for deeper in [k for k in counters if k > ilvl]:
            del counters[deeper]
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return ""

        def number(match):
            index = int(match[1]) - 1
            shown = levels.get(index, _Level(1, "decimal", ""))
            return _format_number(counters.get(index, shown.start), shown.fmt)

        return re.sub(r"%([1-9])", number, level.text)


def _read_text(data):
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data:
        raise FeedbackError(_("The file is neither a Word document, a PDF nor plain text."))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as error:
            raise FeedbackError(
                _("The text file is neither UTF-8 nor GB18030 encoded; save it as UTF-8.")
            ) from error
    return list(_clean(text.splitlines()))


PAGE_NUMBER = re.compile(r"^[-—–－\s]*[0-9０-９]+[-—–－\s]*$|^第\s*\d+\s*页(\s*共\s*\d+\s*页)?$")
PARAGRAPH_END = tuple("。！？：；!?:;")


def _starts_paragraph(line):
    return _classify(line) is not None


def _join_pdf_lines(lines):
    """Rebuild paragraphs from a PDF's lines: a line wraps into the next unless it ends a sentence,
    is clearly shorter than a full line (a heading), or the next line starts with a number."""
    lines = [line for line in lines if not PAGE_NUMBER.match(line)]
    full = max((len(line) for line in lines), default=0)
    paragraphs = []
    ends = True
    for line in lines:
        if paragraphs and not ends and not _starts_paragraph(line):
            previous = paragraphs[-1]
            glue = " " if previous[-1].isascii() and line[0].isascii() else ""
            paragraphs[-1] = previous + glue + line
        else:
            paragraphs.append(line)
        ends = line.endswith(PARAGRAPH_END) or len(line) < 0.8 * full
    return paragraphs


def _read_pdf(data):
    reply = _read_in_child("pdf", data)
    if "refused" in reply:
        raise FeedbackError(
            {
                PASSWORD: _("The PDF is password-protected; upload an unprotected copy."),
                DAMAGED: _("The PDF is damaged or truncated."),
                LIMIT: _(
                    "This PDF took too long to read; save it again as PDF/A or upload the Word file."
                ),
            }[reply["refused"]]
        )
    if not reply["lines"]:
        raise FeedbackError(
            _(
                "The PDF has no text layer (it is a scan or images only); "
                "it needs OCR before it can be split."
            )
        )
    return _join_pdf_lines(reply["lines"])


def _pdf_lines_of(data) -> dict:
    """In the child: {"lines"} of a PDF's text layer, or {"refused": reason}."""
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return {"refused": PASSWORD}
        lines = []
        for page in reader.pages:
            lines.extend(_clean((page.extract_text() or "").splitlines()))
    except MemoryError:
        return {"refused": LIMIT}
    except Exception:  # pypdf raises many kinds on a damaged file (limits, filters…)
        return {"refused": DAMAGED}
    return {"lines": lines}


def _read_in_child(kind: str, data: bytes) -> dict:
    """{"lines": [...]} or {"refused": reason}: the file parsed by _child() in a capped process."""
    command = [sys.executable, "-P", "-m", __name__, kind]
    reply = capped.run(command, data, cpu_seconds=READER_SECONDS)
    if reply is None:
        return {"refused": LIMIT}
    try:
        return marshal.loads(reply)
    except (EOFError, ValueError, TypeError):  # cut short by the memory cap while it wrote
        return {"refused": LIMIT}


def _child() -> None:
    """`python -m duban.documents.feedback docx|pdf`: the file's bytes on standard input, its
    lines (or a refusal) on standard output, in marshal's format."""
    capped.cap(READER_MEMORY, READER_SECONDS)
    data = sys.stdin.buffer.read()
    reply = {"docx": _docx_lines_of, "pdf": _pdf_lines_of}[sys.argv[1]](data)
    sys.stdout.buffer.write(marshal.dumps(reply))


def read_paragraphs(data, filename=""):
    """The report's paragraphs, trimmed, in order. The kind is decided by content; the name's
    extension must not contradict it."""
    if len(data) > MAX_FILE_BYTES:
        raise FeedbackError(
            _("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if not data.strip():
        raise FeedbackError(_("The file is empty."))
    extension = Path(filename).suffix.lower()
    if extension in (".docm", ".dotm"):
        raise FeedbackError(
            _("Macro-enabled Word files are refused; save it as a plain .docx and upload it again.")
        )
    if data.startswith(b"PK\x03\x04"):
        kind = "docx"
    elif data.startswith(b"%PDF-"):
        kind = "pdf"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        # An OLE compound file: an old .doc, or a .docx Office wrapped to encrypt it.
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise FeedbackError(
                _("The Word document is password-protected; upload an unprotected copy.")
            )
        raise FeedbackError(_("Old Word .doc files cannot be read; save the report as .docx."))
    else:
        kind = "txt"
    expected = {".docx": "docx", ".pdf": "pdf", ".txt": "txt"}.get(extension)
    if expected and expected != kind:
        names = {"docx": _("a Word document"), "pdf": _("a PDF"), "txt": _("plain text")}
        raise FeedbackError(
            _("The file is named %(name)s but its content is %(kind)s, not %(expected)s.")
            % {"name": Path(filename).name, "kind": names[kind], "expected": names[expected]}
        )
    return {"docx": _read_docx, "pdf": _read_pdf, "txt": _read_text}[kind](data)


def split_feedback(data, filename=""):
    """Candidate problems from a report's bytes; raises FeedbackError on a file it cannot read."""
    return split_paragraphs(read_paragraphs(data, filename))


def split_feedback_file(path):
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise FeedbackError(
                _("The file is larger than %(mb)d MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}
            )
        data = path.read_bytes()
    except OSError as error:
        raise FeedbackError(
            _("Cannot read %(path)s: %(reason)s") % {"path": path, "reason": error.strerror}
        ) from error
    return split_feedback(data, path.name)


if __name__ == "__main__":
    _child()
