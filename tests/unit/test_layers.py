"""The layer contracts bite: a forbidden import in a copy of the tree breaks `lint-imports`;
and bot/domain and bot/language import nothing but the standard library and each other."""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(tree: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("tree")
    for part in ("bot", "handlers", "strategies", "sandbox"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", copy / ".importlinter")
    return copy


def test_the_copy_is_clean(tree):
    result = lint(tree)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize("module,line,broken", [
    ("bot/domain/model.py", "from bot.core import engine", "bot.domain.model -> bot.core.engine"),
    ("bot/language/text.py", "import redis", "bot.language.text -> redis"),
    ("bot/core/service.py", "from strategies import canary", "bot.core.service -> strategies.canary"),
    ("bot/core/engine.py", "import handlers.blocks", "bot.core.engine -> handlers.blocks"),
    ("bot/adapters/kube.py", "from bot.app import build", "bot.adapters.kube -> bot.app"),
])
def test_a_forbidden_import_breaks_the_contracts(tree, module, line, broken):
    path = tree / module
    original = path.read_text()
    path.write_text(original + f"\n{line}  # noqa\n")
    try:
        result = lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert broken in result.stdout and "BROKEN" in result.stdout, result.stdout[-3000:]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", ["bot/domain", "bot/language"])
def test_pure_packages_import_only_the_standard_library(package):
    for path in sorted((ROOT / package).glob("*.py")):
        foreign = imported_roots(path) - set(sys.stdlib_module_names) - {"__future__", "bot"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {foreign}"
