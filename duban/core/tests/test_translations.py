"""The Chinese catalogue: complete, faithful to its placeholders, compiled, and used.

Chinese is the default language of the UI, so a string without a translation
shows English to office staff: these tests fail on it instead.
"""

import ast
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

SOURCE = Path(settings.BASE_DIR)
LC_MESSAGES = SOURCE / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

# %(name)s, %(n)d, %(s).1f, %s, %d, %% and {name}: what gettext and str.format fill in.
PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[sdifr]|%[sdif%]|\{\w*\}")


def entries(path: Path) -> list[dict]:
    """The entries of a .po file as dicts: msgctxt, msgid, msgid_plural, msgstr[N], flags."""
    result, entry, key = [], None, None
    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        if not line:
            if entry and "msgid" in entry:
                result.append(entry)
            entry, key = None, None
            continue
        entry = entry if entry is not None else {"flags": set()}
        if line.startswith("#,"):
            entry["flags"].update(f.strip() for f in line[2:].split(","))
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, value = line.partition(" ")
            entry[key] = ast.literal_eval(value)
    return [e for e in result if e["msgid"]]  # the header has an empty msgid


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def test_it_translates_every_entry_with_none_left_fuzzy():
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PO)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    for entry in entries(PO):
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert all(translations(entry)), f"untranslated: {entry['msgid']!r}"


def test_it_keeps_every_placeholder_of_the_english_text():
    for entry in entries(PO):
        expected = sorted(PLACEHOLDER.findall(entry["msgid"]))
        for text in translations(entry):
            assert sorted(PLACEHOLDER.findall(text)) == expected, (entry["msgid"], text)


def test_it_has_a_catalogue_entry_for_every_string_in_the_code(tmp_path, settings, monkeypatch):
    # makemessages writes into the locale folder it finds, so it runs on a copy.
    copy = tmp_path / "duban"
    shutil.copytree(
        SOURCE, copy, ignore=shutil.ignore_patterns("locale", "__pycache__", "static", "*.mo")
    )
    settings.LOCALE_PATHS = [tmp_path / "fresh"]
    monkeypatch.chdir(tmp_path)
    call_command("makemessages", locale=["zh_Hans"], no_location=True, verbosity=0)
    fresh = tmp_path / "fresh" / "zh_Hans" / "LC_MESSAGES" / "django.po"

    def keys(path):
        return {(e.get("msgctxt"), e["msgid"]) for e in entries(path)}

    missing = keys(fresh) - keys(PO)
    assert not missing, (
        "strings in the code are not in duban/locale: run `duban makemessages -l zh_Hans "
        f"--ignore=.venv --ignore=var --no-location` and translate them: {sorted(missing)}"
    )


def test_it_serves_the_catalogue_as_compiled_from_the_po_file(tmp_path):
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(PO)], check=True)
    assert MO.exists() and MO.read_bytes() == compiled.read_bytes(), (
        "duban/locale is not compiled or stale: run `make install` (duban compilemessages)"
    )


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"),
    [
        ("zh-hans", ["问题台账", "序时进度", "筛选"], ["Ledger", "Pace"]),
        ("en", ["Ledger", "Pace"], ["问题台账"]),
    ],
)
def test_it_shows_the_ledger_in_the_language_of_the_user(world, client, language, shown, not_shown):
    world.office.language = language
    world.office.save(update_fields=["language"])
    world.problem(title="城区餐饮油烟扰民")
    client.force_login(world.office)

    response = client.get(reverse("ledger:problem_list"))

    page = response.content.decode()
    assert response.status_code == 200
    assert f'<html lang="{language}">' in page
    for text in shown:
        assert text in page
    for text in not_shown:
        assert text not in page
