"""The layers contract (pyproject.toml [tool.importlinter], README "For a new developer").

`make test` runs `lint-imports` on the real tree. These tests show that the contract bites:
each copies the package's Python files into a temporary folder, adds one module that breaks
a layer, and runs the same `lint-imports` there.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports_with(tmp_path: Path, extra: dict[str, str]) -> subprocess.CompletedProcess:
    """lint-imports over a copy of the tree with `extra` files ({path: source}) added."""
    shutil.copytree(
        ROOT / "duban",
        tmp_path / "duban",
        ignore=lambda folder, names: [
            n for n in names if not (n.endswith(".py") or (Path(folder) / n).is_dir())
        ],
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for path, source in extra.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(source)
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_tree_as_it_is_keeps_the_layers(tmp_path):
    result = lint_imports_with(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("path", "source", "named"),
    [
        # A low app importing a high one: the ledger reaching for the demo world.
        (
            "duban/ledger/upward.py",
            "from duban.demo import scale\n",
            "duban.ledger.upward -> duban.demo.scale",
        ),
        # The same through a function-level import, the usual way round a circular import.
        (
            "duban/core/upward.py",
            "def f():\n    from duban.ledger.models import Problem\n    return Problem\n",
            "duban.core.upward -> duban.ledger.models",
        ),
        # Siblings in one layer stay apart: supervision may not import lookback.
        (
            "duban/supervision/sideways.py",
            "import duban.lookback.models\n",
            "duban.supervision.sideways -> duban.lookback.models",
        ),
    ],
)
def test_an_import_against_the_layers_fails_and_is_named(tmp_path, path, source, named):
    result = lint_imports_with(tmp_path, {path: source})
    assert result.returncode != 0
    assert "1 broken" in result.stdout
    assert named in result.stdout


def test_a_new_app_must_be_given_a_layer(tmp_path):
    result = lint_imports_with(tmp_path, {"duban/complaints/__init__.py": ""})
    assert result.returncode != 0
    assert "duban.complaints" in result.stdout
