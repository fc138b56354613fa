"""docs/configuration.md cannot go stale: each of its checked tables lists exactly the keys the
config loader accepts (or the environment variables the code reads)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.domain import apps, audit, clusters, metrics, rules, writeback

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "configuration.md").read_text()
LOADER = {"top": apps.TOP_KEYS, "app": apps.APP_KEYS, "gates": apps.GATE_KEYS, "metric": metrics.METRIC_KEYS,
          "webhook": rules.WEBHOOK_KEYS, "policy": rules.POLICY_KEYS, "cluster": clusters.CLUSTER_KEYS,
          "override": clusters.OVERRIDE_KEYS, "audit": audit.AUDIT_KEYS,
          "writeback": writeback.KEYS}


def documented(table: str) -> set[str]:
    """The names in the first column of the table after `<!-- checked: TABLE -->`."""
    body = DOC.split(f"<!-- checked: {table} -->", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in body.splitlines()[2:] if line.startswith("|")]
    return {name for row in rows for name in re.findall(r"`([A-Za-z_][\w-]*)`", row.split("|")[1])}


def read_by_code() -> set[str]:
    """Environment variables the code reads: Settings.from_env and every os.environ lookup."""
    names: set[str] = set()
    for path in list((ROOT / "bot").rglob("*.py")) + list((ROOT / "handlers").rglob("*.py")):
        text = path.read_text()
        names |= set(re.findall(r'env\.get\("([A-Z][A-Z0-9_]+)"', text))
        names |= set(re.findall(r'_float\(env, "([A-Z][A-Z0-9_]+)"', text))
        names |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]+)"', text))
    return names


@pytest.mark.parametrize("table", sorted(LOADER))
def test_each_table_lists_exactly_the_keys_the_loader_accepts(table):
    assert documented(table) == set(LOADER[table])


def test_the_environment_table_lists_exactly_the_variables_the_code_reads():
    assert documented("environment") == read_by_code() and "SLACK_SIGNING_SECRET" in read_by_code()


def test_nothing_in_the_repository_names_a_path_outside_it():
    outside = re.compile(r"\.\./shared|(?<![\w/])(DESIGN|REFERENCE|SANDBOX)\.md")
    tracked = [p for p in ROOT.rglob("*") if p.is_file() and p.suffix in (".py", ".md", ".yaml", ".yml", ".toml", ".cfg", "")
               and not any(part in (".git", ".venv", "__pycache__", "graybot.egg-info", "node_modules") for part in p.parts)]
    found = [str(p.relative_to(ROOT)) for p in tracked if p.name != "test_configuration_doc.py"
             and outside.search(p.read_text(errors="replace"))]
    assert found == []
