"""An operator finds every setting in one place: the README's table of environment variables."""

import re
from pathlib import Path

import duban

PROJECT = Path(duban.__file__).parent.parent
READS = [
    re.compile(r"""\benv_(?:str|bool|int|list)\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""os\.environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""os\.environ\[\s*["']([A-Z][A-Z0-9_]*)["']\s*\]"""),
    re.compile(r"""os\.getenv\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
]


def variables_read() -> dict[str, str]:
    """Each environment variable the code reads, with a file that reads it."""
    found = {}
    sources = [
        path
        for path in PROJECT.joinpath("duban").rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]
    sources += [path for path in PROJECT.joinpath("scripts").iterdir() if path.is_file()]
    for path in sources:
        text = path.read_text(errors="replace")
        for pattern in READS:
            for name in pattern.findall(text):
                found.setdefault(name, str(path.relative_to(PROJECT)))
    return found


def settings_table() -> str:
    readme = PROJECT.joinpath("README.md").read_text()
    start = readme.index("| variable | meaning | default |")
    return readme[start : readme.index("\n\n", start)]


def test_it_documents_every_environment_variable_the_code_reads():
    table = settings_table()
    read = variables_read()

    missing = {name: where for name, where in read.items() if f"`{name}`" not in table}

    assert missing == {}
    assert {"DATABASE_URL", "DUBAN_PRODUCTION", "DUBAN_BIND"} <= set(read)  # the scan works
