"""``policylang check`` as the number of rules grows: the shadow analysis and the whole check.

The shadow analysis indexes the rules that may cover others (exec rules by program and first literal
operand, path rules by effect kind and path prefix), so its cost grows with the number of rules, not
with its square.  The sizes here are small so that CI's ``--benchmark-disable`` run stays short;
docs/performance.md has the figures for 10,000, 20,000 and 100,000 rules from the CLI.

Run: .venv/bin/python -m pytest benchmarks/test_bench_check.py --benchmark-columns=min,median,ops
"""
from __future__ import annotations

import pytest
from policies import generated_policy

from policylang import Settings, Source, compile_policy
from policylang.lang.shadow import shadowed_rules

SIZES = [100, 1000, 3000]


def _same_program(n: int) -> str:
    """n rules of one program and n path rules under one directory: the worst case for a scan by
    program alone, and one rule (``top``) that shadows one other (``e1``)."""
    lines = []
    for i in range(n):
        decision = ("allow", "ask")[i % 2]
        lines.append(f"rule e{i}: {decision} exec git sub{i} ... --f{i % 5} ...")
        lines.append(f'rule p{i}: {decision} write in ["/srv/data/d{i}/**"]')
    lines.append("rule top: deny exec git sub1 ...")
    return "\n".join(lines)


def _compiled(text: str):  # type: ignore[no-untyped-def]
    return compile_policy([Source("gen.policy", text, layer="user")], Settings())


@pytest.mark.parametrize("n", SIZES)
def test_shadow_analysis_generated(benchmark, n):
    policy = _compiled(generated_policy(n))
    found = benchmark(shadowed_rules, policy)
    assert found == []  # distinct programs and paths: nothing is shadowed


@pytest.mark.parametrize("n", SIZES)
def test_shadow_analysis_one_program(benchmark, n):
    policy = _compiled(_same_program(n))
    found = benchmark(shadowed_rules, policy)
    assert [d.message.split("'")[1] for d in found] == ["e1"]


@pytest.mark.parametrize("n", SIZES)
def test_check_whole(benchmark, n):
    """Parse, validate, compile and lint n generated rules, as ``policylang check`` does."""
    text = generated_policy(n)

    def check() -> int:
        policy = _compiled(text)
        return len(policy.rules) + len(shadowed_rules(policy))

    assert benchmark.pedantic(check, rounds=3, iterations=1) >= n
