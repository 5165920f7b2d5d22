"""The Python callee resolution keeps what a callee or a parameter resolves to when no cycle above it
was cut (python_callee.py): helper functions chained through reassigned parameters resolve within
the step budget where following them afresh at every use ran out of it, what they hide is still
found, and a chain too long for the budget is opaque (never harmless)."""
from __future__ import annotations

import pytest

from policylang.analysis.sourcecode import analyse_code


def _pipeline(stages: int, sink: str) -> str:
    """``stages`` functions, each reassigning its parameter through method chains and passing it on;
    the last one calls ``sink(frame)``."""
    out = ["import os, subprocess", "import pandas as pd", ""]
    for i in range(stages):
        out += [f"def stage{i}(frame, opts):",
                "    frame = frame.dropna()",
                "    frame = frame[frame['x'] > 0]",
                "    frame = frame.assign(y=frame['x'] * 2).copy()",
                f"    return stage{i + 1}(frame, opts)" if i + 1 < stages else f"    return {sink}(frame)",
                ""]
    out += ["df = pd.read_csv('in.csv')", "df = df.rename(columns=str.lower)", "df = stage0(df, {'k': 1})",
            "print(df.describe())"]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("stages", [1, 3, 5])
def test_chained_stages_resolve(stages: int) -> None:
    # five stages ran out of the budget when every use of a parameter was followed afresh
    found = analyse_code("python", _pipeline(stages, "print"))
    assert not found.opaque, found.opaque_reason


def test_a_chain_beyond_the_budget_is_opaque() -> None:
    found = analyse_code("python", _pipeline(40, "print"))
    assert found.opaque and "too many values to follow" in found.opaque_reason


@pytest.mark.parametrize("sink,opaque", [("os.system", True), ("subprocess.getoutput", True), ("len", False)])
def test_what_the_chain_reaches_is_still_judged(sink: str, opaque: bool) -> None:
    # the frame reaching the shell is a value known only at run time: opaque, never harmless
    found = analyse_code("python", _pipeline(5, sink))
    assert found.opaque is opaque, found.opaque_reason


def test_a_cycle_through_parameters_still_reaches_the_dangerous_callee() -> None:
    source = (
        "import os\n"
        "def ping(f, n):\n"
        "    return pong(f, n - 1) if n else f('id')\n"
        "def pong(g, n):\n"
        "    return ping(g, n)\n"
        "ping(print, 3)\n"
        "pong(os.system, 2)\n"
    )
    found = analyse_code("python", source)
    assert found.opaque or ("id" in found.commands), (found.commands, found.why)
    assert any("os.system" in w for w in found.why), found.why
