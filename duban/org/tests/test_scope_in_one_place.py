"""Scope is decided in duban/org/scope.py only (the rule is in that module's docstring).

The source of every app is read, tests and migrations aside, and any line that compares
region or unit paths, lists a path's prefixes or walks a user's memberships by itself
fails the test with its file and line: such a line belongs in org/scope.py, and the
module asks there.
"""

import re
from pathlib import Path

import pytest

import duban

ROOT = Path(duban.__file__).resolve().parent
# The one place; querysets build their filters with its helpers, so none is exempt.
ALLOWED = {Path("org/scope.py")}

# (what the line does, the pattern that finds it)
SCOPE_LOGIC = [
    ("a subtree lookup in SQL (use scope.under / under_any)", re.compile(r"path__startswith")),
    ("an ancestors lookup in SQL (use scope.at_or_above)", re.compile(r"path__in\b")),
    (
        "a path compared in Python (use scope.lies_in / nested)",
        re.compile(r"(?<!request)(?<!request\.)\b\w*path\w*(?:\[\w+\])?\)?\.startswith\("),
    ),
    ("a path's prefixes (use scope.paths_above)", re.compile(r"\bpath\w*\[:")),
    (
        "a walk over the user's memberships (ask scope which one acts)",
        re.compile(r"\bin\s+memberships\("),
    ),
    ("the office's region read off a membership", re.compile(r"\bm\.unit\.region\.path\b")),
]


def scope_logic_in(text: str) -> list[tuple[int, str, str]]:
    """(line number, line, what it does) for each line of `text` that decides scope itself."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        code = line.split("#", 1)[0]
        for what, pattern in SCOPE_LOGIC:
            if pattern.search(code):
                found.append((number, line.strip(), what))
    return found


def _sources():
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        parts = set(relative.parts)
        if "tests" in parts or "migrations" in parts or relative in ALLOWED:
            continue
        if relative.name in {"conftest.py", "testing.py"}:
            continue
        yield relative, path.read_text(encoding="utf-8")


def test_it_finds_no_scope_logic_outside_org_scope():
    offences = [
        f"duban/{relative}:{number}: {what}: {line}"
        for relative, text in _sources()
        for number, line, what in scope_logic_in(text)
    ]
    assert offences == [], "scope decided outside duban/org/scope.py:\n" + "\n".join(offences)


def test_it_reads_every_app():
    apps = {relative.parts[0] for relative, _ in _sources() if len(relative.parts) > 1}
    assert {"ledger", "documents", "escalation", "lookback", "notify", "inspections"} <= apps


@pytest.mark.parametrize(
    "line",
    [
        "Problem.objects.filter(region_path__startswith=region.path)",
        'Q(**{f"{prefix}region__path__startswith": path})',
        "User.objects.filter(memberships__unit__region__path__in=prefixes)",
        "if unit.region.path.startswith(membership.unit.region.path):",
        "if problem.region_path.startswith(own):",
        "inside = [u for u in found if u.region.path.startswith(self.scope_paths)]",
        "prefixes = [path[:n] for n in range(2, len(path) + 1)]",
        "for m in memberships(user):",
        "paths = {m.unit.region.path for m in mine}",
    ],
)
def test_it_catches_scope_logic_written_elsewhere(line):
    assert scope_logic_in(line), line


@pytest.mark.parametrize(
    "line",
    [
        "if request.path.startswith(settings.STATIC_URL):",
        'queryset.filter(under("region_path", region.path))',
        "if lies_in(unit.region.path, parent.region_path):",
        "if content.startswith(OLE_MAGIC):",
        "# a comment about path__startswith is no code",
    ],
)
def test_it_lets_other_lines_be(line):
    assert scope_logic_in(line) == []
