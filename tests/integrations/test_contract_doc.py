"""docs/contract.md and the tests agree: every row is proven by a test that names it,
and every test that names a row has one (Commanders Act and Octy sections). Tests are
read from the provider tests and from the features built on them (the events outbox)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDERS = ("Commanders Act", "Octy")
# Where a row's proof may live: the provider code, and the feature that shows it to staff.
TEST_FOLDERS = ("tests/integrations", "tests/events")


def contract_rows(provider: str) -> dict[str, set[str]]:
    """``{element: {test ids listed}}`` from the provider's table in docs/contract.md."""
    text = (ROOT / "docs" / "contract.md").read_text()
    section = text.split(f"\n## {provider}\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit():
            rows[cells[1]] = set(re.findall(r"`([^`]+::[^`]+)`", cells[4]))
    return rows


def docstring_claims(provider: str) -> dict[str, set[str]]:
    """``{element: {test ids}}`` from the ``contract: <provider> / <element>`` docstrings."""
    named: dict[str, set[str]] = {}
    paths = sorted(p for folder in TEST_FOLDERS for p in (ROOT / folder).rglob("test_*.py"))
    for path in paths:
        for node in ast.parse(path.read_text()).body:
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            for line in (ast.get_docstring(node) or "").splitlines():
                prefix = f"contract: {provider} / "
                if line.strip().startswith(prefix):
                    test_id = f"{path.relative_to(ROOT)}::{node.name}"
                    named.setdefault(line.strip()[len(prefix) :], set()).add(test_id)
    return named


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_row_is_proven_by_the_tests_that_name_it(provider):
    rows = contract_rows(provider)
    named = docstring_claims(provider)
    assert rows, f"docs/contract.md has no {provider} table"
    for element, listed in rows.items():
        assert listed, f"{provider} / {element}: no test listed"
        assert listed == named.get(element, set()), f"{provider} / {element}"
    assert set(named) <= set(rows), f"tests name rows the table lacks: {set(named) - set(rows)}"
