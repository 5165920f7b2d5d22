"""Golden diagnostics: the exact text `check` prints for each broken policy.

Each ``tests/golden/diagnostics/NAME.policy`` is parsed and validated (after ``NAME.lower.policy``,
loaded as a preset layer, when it exists) and every diagnostic, in source order, is rendered; the
result must equal ``NAME.txt``.  Run with ``UPDATE_GOLDEN=1`` to rewrite the ``.txt`` files after a deliberate change,
then review the diff.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from policylang.diagnostics import render_all
from policylang.lang.parse import parse_policy
from policylang.source import Source
from policylang.lang.validate import validate

GOLDEN = Path(__file__).parent / "golden" / "diagnostics"
CASES = sorted(p.stem for p in GOLDEN.glob("*.policy") if not p.name.endswith(".lower.policy"))


def render_case(name: str) -> str:
    sources = []
    lower = GOLDEN / f"{name}.lower.policy"
    if lower.exists():
        sources.append(Source(lower.name, lower.read_text(encoding="utf-8"), layer="preset"))
    main = GOLDEN / f"{name}.policy"
    sources.append(Source(main.name, main.read_text(encoding="utf-8"), layer="user"))
    files, diagnostics = [], []
    for src in sources:
        tree, diags = parse_policy(src)
        files.append(tree)
        diagnostics.extend(diags)
    diagnostics.extend(validate(files, {s.name: s for s in sources}))
    order = {s.name: i for i, s in enumerate(sources)}
    diagnostics.sort(key=lambda d: (order[d.span.source], d.span.start) if d.span else (len(order), 0))
    return render_all(diagnostics) + "\n"


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    got = render_case(name)
    expected_file = GOLDEN / f"{name}.txt"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(got, encoding="utf-8")
    assert expected_file.exists(), f"no golden file {expected_file.name}: run with UPDATE_GOLDEN=1"
    assert got == expected_file.read_text(encoding="utf-8")
    assert got.strip(), "a golden case must produce at least one diagnostic"
