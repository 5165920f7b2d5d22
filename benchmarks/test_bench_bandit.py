"""bandit's checks on Python code: the detector alone on a 200-line notebook cell (data/analysis_cell.py),
the whole code analysis of that cell with and without it, a decide of the cell as a Code action (the
verdict cache off), and loading bandit's test set (once per process, on first use).

Run: .venv/bin/python -m pytest benchmarks/test_bench_bandit.py --benchmark-columns=min,median,mean,ops
"""
import ast
from pathlib import Path

import pytest

from policylang import Code, Settings, from_text
from policylang.analysis.sourcecode import analyse_code, analyser, bandit_checks

CELL = (Path(__file__).parent / "data" / "analysis_cell.py").read_text(encoding="utf-8")
RISKY = CELL.replace("yaml.safe_load(fh)", "yaml.load(fh)")  # one finding (B506)


def test_bandit_on_200_line_cell(benchmark):
    eng = bandit_checks.engine()
    issues, failed = benchmark(lambda: eng.run(CELL, ast.parse(CELL)))
    assert failed == [] and issues == []


def test_bandit_findings_on_200_line_cell_with_a_finding(benchmark):
    found = benchmark(bandit_checks.add_bandit, analyse_code("python", RISKY), RISKY)
    assert [f.rule for f in found.findings] == ["bandit:B506"]


@pytest.mark.parametrize("bandit", ["on", "off"])
def test_code_analysis_of_200_line_cell(benchmark, monkeypatch, bandit):
    if bandit == "off":
        monkeypatch.setattr(analyser, "add_bandit", lambda found, source: found)
    found = benchmark(analyse_code, "python", CELL)
    assert found.findings == ()


def test_decide_200_line_cell(benchmark):
    policy = from_text("", Settings(mode="execute", cache_size=0, workspace="/home/u/proj"))
    action = Code("python", CELL, cwd="/home/u/proj")
    v = benchmark(policy.decide, action)
    # not allowed today: the code analysis gives up following the cell's own functions (its callee
    # budget), which makes the cell opaque; bandit finds nothing in it
    assert v.decision.label != "deny" and not any(e.startswith("finding(") for s in v.segments for e in s.effects)


def test_load_test_set(benchmark):
    tables = bandit_checks.load_tables()
    benchmark.pedantic(bandit_checks._Engine, args=(tables,), rounds=5, iterations=1)
