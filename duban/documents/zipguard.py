"""The guard in front of every Office package (.xlsx, .docx) a user uploads.

An Office file is a zip archive of XML parts. Before any reader touches one, check_package()
refuses what could exhaust memory or run code: too many parts, more unpacked data than the kind
of document ever holds (in total, or one part that shrinks far more than text does: a zip bomb),
macros, and XML entity declarations (Office never writes them; they are the billion-laughs
attack). zipfile stops each entry at its declared size, so the declared sizes bound what is read.
Nothing is extracted to disk, so paths inside the archive ("../../etc/passwd") are never used.

It raises PackageRefused with a reason; each caller words the message for its own kind of file.
"""

import io
import re
import zipfile
from dataclasses import dataclass

MAX_RATIO = 200  # a part that shrinks more than 200:1 is a compression bomb, not a table or prose
RATIO_FLOOR = 1024 * 1024  # small parts (styles, settings) may compress extremely well
PROLOG_BYTES = 4096

DAMAGED = "damaged"
TOO_MANY_PARTS = "too_many_parts"
TOO_LARGE = "too_large"
MACROS = "macros"
NOT_THIS_KIND = "not_this_kind"
ENTITIES = "entities"


class PackageRefused(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Limits:
    max_entries: int
    max_uncompressed: int


def check_package(content: bytes, required_part: str, limits: Limits) -> None:
    """Refuse the archive unless it is a plausible Office package holding `required_part`."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            _check(archive, required_part, limits)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, ValueError):
        raise PackageRefused(DAMAGED) from None


def _check(archive: zipfile.ZipFile, required_part: str, limits: Limits) -> None:
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise PackageRefused(TOO_MANY_PARTS)
    total = 0
    for entry in entries:
        total += entry.file_size
        bomb = entry.file_size > RATIO_FLOOR and entry.file_size > MAX_RATIO * max(
            entry.compress_size, 1
        )
        if bomb or total > limits.max_uncompressed:
            raise PackageRefused(TOO_LARGE)
    names = {entry.filename.lower() for entry in entries}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise PackageRefused(MACROS)
    if required_part not in names:
        raise PackageRefused(NOT_THIS_KIND)
    for entry in entries:
        if not entry.filename.lower().endswith((".xml", ".rels")):
            continue
        with archive.open(entry) as part:
            if _declares_doctype(part):
                raise PackageRefused(ENTITIES)


# What may stand before the root element besides a DOCTYPE: the XML declaration, processing
# instructions, comments and white space.
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.S)
_UTF16_DOCTYPE = (b"<\x00!\x00D\x00O\x00C\x00", b"\x00<\x00!\x00D\x00O\x00C")


def _declares_doctype(part) -> bool:
    """Whether the part has a DOCTYPE (where entities are declared) before its root element.

    A DOCTYPE may only stand in the prolog, but the prolog may be long (comments), so the
    part is read until its root element starts, not just its first bytes.
    """
    buffer = b""
    while True:
        chunk = part.read(PROLOG_BYTES)
        if not buffer and any(mark in chunk for mark in _UTF16_DOCTYPE):
            return True  # Office writes UTF-8; a UTF-16 part with a DOCTYPE is refused outright
        buffer = (buffer + chunk).removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark
        position = 0
        while (item := _PROLOG_ITEM.match(buffer, position)) and item.end() > position:
            position = item.end()
        rest = buffer[position:].lstrip()
        if rest.startswith((b"<!DOCTYPE", b"<!ENTITY")):
            return True
        if rest[:1] == b"<" and rest[1:2] not in (b"", b"?", b"!"):
            return False  # the root element: the prolog is over
        if not chunk:
            return False  # the part ended (or is not XML): nothing was declared
        buffer = buffer[position:]  # an item not yet complete: read on
