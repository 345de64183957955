"""Chain heads noted outside the database: an append-only file and the log.

After every commit that appended audit events, the newest event's number and hash
are appended as one line "TIME SEQ HASH" to DUBAN_AUDIT_HEAD_FILE (opened with
O_APPEND) and logged to "duban.audit". Whoever rewrites the chain inside the
database (recomputing every hash, cutting the tail and moving the head back, or
emptying the log) cannot make the notes already written match again, so
`duban verify_audit` catches it without a person having written the head down.
A head an auditor wrote down is checked the same way (`--expect SEQ:HASH`).
"""

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import AuditEvent

logger = logging.getLogger("duban.audit")

# How many of the newest notes are checked besides one note at each power-of-two
# distance (in bytes) back from the end of the file, down to the first.
RECENT_NOTES = 100
_AVERAGE_LINE = 110
_EXPECTED = re.compile(r"^\s*#?(\d+)\s*[:\s]\s*([0-9a-fA-F]{64})\s*$")


@dataclass(frozen=True)
class NotedHead:
    """A head (event number and hash) that was written down outside the database."""

    seq: int
    hash: str
    noted_at: str = ""
    source: str = ""


def head_file() -> Path:
    return Path(settings.DUBAN_AUDIT_HEAD_FILE)


# --- writing ------------------------------------------------------------------------------------


class _HeadNote:
    """An on-commit callback noting one head."""

    __slots__ = ("seq", "hash")

    def __init__(self, seq: int, hash_: str):
        self.seq, self.hash = seq, hash_

    def __call__(self) -> None:
        note(self.seq, self.hash)


def note_on_commit(seq: int, hash_: str) -> None:
    """Note this head once the transaction that appended it commits (never if it rolls back).

    A transaction's events join the chain in one step at its commit
    (duban.audit.backends.pending), so each committed change notes its last head once.
    """
    connection = transaction.get_connection()
    head_note = _HeadNote(seq, hash_)
    if connection.in_atomic_block:
        # A test's transaction that never commits: Django runs (or captures) the hook.
        transaction.on_commit(head_note)
    else:
        # Inside commit(), where Django's on_commit() refuses: the hook runs with the
        # others once that commit succeeds, and is dropped if it fails.
        connection.run_on_commit.append((set(), head_note, False))


def note(seq: int, hash_: str) -> None:
    # After commit: the change is made, so a full disk is logged, never raised to the user.
    path = head_file()
    line = f"{timezone.now().isoformat()} {seq} {hash_}\n".encode()
    try:
        _append(path, line)
    except FileNotFoundError:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _append(path, line)
        except OSError as error:
            logger.error("audit chain head #%d not noted in %s: %s", seq, path, error)
    except OSError as error:
        logger.error("audit chain head #%d not noted in %s: %s", seq, path, error)
    logger.info("audit chain head #%d %s", seq, hash_)


def _append(path: Path, line: bytes) -> None:
    # One write() with O_APPEND: concurrent writers never interleave within a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


# --- reading ------------------------------------------------------------------------------------


def parse_expected(text: str) -> NotedHead:
    """A head written down by a person: "SEQ:HASH" (also "SEQ HASH" or "#SEQ HASH")."""
    match = _EXPECTED.match(text or "")
    if not match or int(match.group(1)) < 1:
        shown = text if len(text) <= 80 else text[:79] + "…"
        raise ValueError(
            _(
                "“%(text)s” is not a chain head: write the event number, a colon and the 64-character hash, e.g. 1234:9f86d0…"
            )
            % {"text": shown}
        )
    return NotedHead(int(match.group(1)), match.group(2).lower(), source="the expected head")


def _parse_line(raw: bytes, where: str) -> NotedHead | None:
    parts = raw.decode("utf-8", "replace").split()
    if len(parts) != 3 or not parts[1].isdigit() or not re.fullmatch(r"[0-9a-f]{64}", parts[2]):
        return None
    return NotedHead(int(parts[1]), parts[2], noted_at=parts[0], source=where)


def read_noted(path: Path, *, every: bool = False) -> tuple[list[NotedHead], int]:
    """Notes to check from the head file, and how many lines could not be read.

    By default the newest RECENT_NOTES lines and one line at each power-of-two byte
    distance back from the end (so the whole history is sampled in a few dozen
    reads); with `every`, every line.
    """
    if not path.exists():
        return [], 0
    with path.open("rb") as file:
        if every:
            lines = [(f"{path}:{n}", raw) for n, raw in enumerate(file, 1)]
        else:
            lines = _sampled_lines(file, path)
    heads, unreadable = [], 0
    for where, raw in lines:
        if not raw.strip():
            continue
        head = _parse_line(raw, where)
        if head is None:
            unreadable += 1
        else:
            heads.append(head)
    return heads, unreadable


def _sampled_lines(file, path: Path) -> list[tuple[str, bytes]]:
    size = file.seek(0, os.SEEK_END)
    lines: dict[int, bytes] = {}
    tail_start = max(0, size - RECENT_NOTES * _AVERAGE_LINE)
    file.seek(tail_start)
    if tail_start:
        file.readline()  # the rest of a line cut by the seek
    while (offset := file.tell()) < size:
        lines[offset] = file.readline()
    distance = 1
    while distance < size:
        position = size - distance
        file.seek(position)
        if position:
            file.readline()
        offset = file.tell()
        if offset < size and offset not in lines:
            lines[offset] = file.readline()
        distance *= 2
    file.seek(0)
    if 0 not in lines and size:
        lines[0] = file.readline()
    return [(f"{path} @{offset}", lines[offset]) for offset in sorted(lines)]


# --- checking -----------------------------------------------------------------------------------


def first_mismatch(heads: list[NotedHead]) -> tuple[NotedHead, str] | None:
    """The noted head with the smallest number that the chain no longer holds, and why."""
    wanted = sorted(set(heads), key=lambda head: head.seq)
    for start in range(0, len(wanted), 1000):
        batch = wanted[start : start + 1000]
        found = dict(
            AuditEvent.objects.filter(seq__in={head.seq for head in batch}).values_list(
                "seq", "hash"
            )
        )
        for head in batch:
            where = _where(head)
            if head.seq not in found:
                return head, (
                    f"event #{head.seq}, noted {where}, is missing: the log was cut back or emptied"
                )
            if found[head.seq] != head.hash:
                return head, (
                    f"event #{head.seq} has hash {found[head.seq]} but {head.hash} was noted "
                    f"{where}: the chain was rewritten"
                )
    return None


def _where(head: NotedHead) -> str:
    if head.noted_at:
        return f"at {head.noted_at} in {head.source}"
    return f"as {head.source}"
