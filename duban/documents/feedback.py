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

Candidates come from the chapters whose heading mentions 问题 (存在的主要问题, 主要问题…), except the
closing chapters about accountability (责任追究, 线索); if no chapter does, from every chapter that is not
obviously an overview or a list of requirements. An item's text runs until the next item or heading at
the same or a higher level. In a candidate:
- ``number``: its number as written, without trailing punctuation ("" when none is written);
- ``heading_path``: the full text of each heading above it, numbers included
  (["二、存在的主要问题", "（一）大气污染防治不力"]);
- ``text``: its verbatim text without its own number; paragraphs joined by "\\n", each line trimmed.
A leaf that enumerates "一是…二是…" becomes one candidate per enumerated part; the text before "一是"
(with the item's number) is then the last entry of their heading path, and the separator ending each
part ("；", "，") is dropped. A leaf chapter (a problem chapter without numbered items) gives one
candidate per paragraph. A heading's own intro paragraphs (between it and its first numbered child) are
context, not candidates.
"""

import io
import re
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import docx
import pypdf
from django.utils.translation import gettext as _
from docx.table import Table
from pypdf.errors import PdfReadError

# Limits: a feedback report is a few dozen pages; anything far beyond is refused unread.
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ZIP_ENTRIES = 1000
MAX_ZIP_UNCOMPRESSED = 64 * 1024 * 1024
ZIP_MAX_RATIO = 200  # a part that shrinks more than 200:1 is a compression bomb, not prose
ZIP_RATIO_FLOOR = 1024 * 1024  # small parts (styles, settings) may compress extremely well


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


def _enumeration(text):
    """Start offsets of "一是", "二是", … in order; [] unless at least 一是 and 二是 are there."""
    starts, position = [], 0
    for numeral in CN_NUMERALS:
        marker = numeral + "是"
        found = -1
        index = text.find(marker, position)
        while index != -1:
            if index == 0 or text[index - 1] in CLAUSE_START:
                found = index
                break
            index = text.find(marker, index + 1)
        if found == -1:
            break
        starts.append(found)
        position = found + len(marker)
    return starts if len(starts) >= 2 else []


def _split_enumeration(number, path, text, full):
    """One candidate, or one per "一是…二是…" part; ``full`` is ``text`` with its number in front."""
    starts = _enumeration(text)
    if not starts:
        return [Candidate(number, path, text)]
    lead = full[: len(full) - len(text) + starts[0]].strip()
    sub_path = [*path, lead] if lead else path
    parts = []
    for i, start in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        marker_end = start + len(CN_NUMERALS[i]) + 1
        part = text[marker_end:end].strip().rstrip("；;，,、").strip()
        parts.append(Candidate(CN_NUMERALS[i] + "是", sub_path, part))
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


def _check_zip(archive):
    """Refuse a package before python-docx reads it: too many parts, too much unpacked data (zipfile
    stops each entry at its declared size, so declared sizes bound what is read), macros, or XML
    entity declarations (Office never writes them; they are the billion-laughs attack)."""
    entries = archive.infolist()
    if len(entries) > MAX_ZIP_ENTRIES:
        raise FeedbackError(
            _("The file holds too many parts to be a Word document; it was not read.")
        )
    total = sum(e.file_size for e in entries)
    bomb = any(
        e.file_size > ZIP_RATIO_FLOOR and e.file_size > ZIP_MAX_RATIO * max(e.compress_size, 1)
        for e in entries
    )
    if bomb or total > MAX_ZIP_UNCOMPRESSED:
        raise FeedbackError(
            _("The file unpacks to far more data than a report holds; it was not read.")
        )
    names = {e.filename.lower() for e in entries}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise FeedbackError(
            _("The Word document contains macros; save it as a plain .docx and upload it again.")
        )
    if "word/document.xml" not in names:
        raise FeedbackError(_("The file is an archive but not a Word .docx document."))
    for entry in entries:
        if entry.filename.lower().endswith((".xml", ".rels")):
            with archive.open(entry) as part:
                prolog = part.read(4096)
            if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
                raise FeedbackError(
                    _(
                        "The Word document contains XML entity declarations, "
                        "which Word never writes; it was not read."
                    )
                )


def _read_docx(data):
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise FeedbackError(_("The Word document is damaged or truncated.")) from error
    try:
        with archive:
            _check_zip(archive)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as error:
        raise FeedbackError(_("The Word document is damaged or truncated.")) from error
    # python-docx parses with resolve_entities=False; the prolog check above refuses DTDs anyway.
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as error:  # python-docx raises many kinds on a damaged package
        raise FeedbackError(_("The Word document is damaged or truncated.")) from error
    return list(_clean(_docx_lines(document)))


def _docx_lines(container):
    """Paragraph texts in order, tables included (a merged cell once); soft line breaks split."""
    for block in container.iter_inner_content():
        if isinstance(block, Table):
            # A merged cell shows up in every row and column it spans; read it once. The set keeps
            # the elements alive, so lxml hands back the same objects for the same cells.
            seen = set()
            for row in block.rows:
                for cell in row.cells:
                    if cell._tc in seen:
                        continue
                    seen.add(cell._tc)
                    yield from _docx_lines(cell)
        else:
            yield from block.text.split("\n")


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
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise FeedbackError(_("The PDF is password-protected; upload an unprotected copy."))
        lines = []
        for page in reader.pages:
            lines.extend(_clean((page.extract_text() or "").splitlines()))
    except FeedbackError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as error:
        raise FeedbackError(_("The PDF is damaged or truncated.")) from error
    if not lines:
        raise FeedbackError(
            _(
                "The PDF has no text layer (it is a scan or images only); "
                "it needs OCR before it can be split."
            )
        )
    return _join_pdf_lines(lines)


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
