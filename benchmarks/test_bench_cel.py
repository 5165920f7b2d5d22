"""CEL ``when`` conditions: compiled closures against cel-python's interpreter, side by side.

Each expression is one benchmark group holding both evaluators, so the ratio reads off one table.
The interpreter is given its activation already converted to CEL values (the conversion is not
timed), so the ratio is a lower bound on what the closures save per evaluation.

Run: .venv/bin/python -m pytest benchmarks/test_bench_cel.py --benchmark-columns=min,median,ops
     --benchmark-group-by=group
"""
from __future__ import annotations

from typing import Any, Callable

import celpy
import pytest

from policylang.lang.cel import compile_condition, in_subset

ACTIVATION: dict[str, Any] = {
    "action": {"kind": "command", "text": "git push --force origin main", "cwd": "/home/u/proj/src"},
    "effect": {"kind": "exec", "program": "git", "argv": ["git", "push", "--force", "origin", "main"],
               "path": "/home/u/proj/src/app.py", "host": "", "recursive": False},
    "env": {"HOME": "/home/u", "WORKSPACE": "/home/u/proj", "PATH": "/usr/bin:/bin", "CI": "1"},
    "context": {"principal": "alice", "role": "dev", "interactive": True},
}

EXPRESSIONS = {
    "workspace": "action.cwd.startsWith(env.WORKSPACE)",
    "home-concat": "action.cwd.startsWith(env.HOME + '/proj')",
    "role-in-list": "context.role in ['dev', 'ops'] && context.interactive",
    "argv-exists": "effect.argv.exists(a, a.startsWith('--force') || a == '-f')",
    "regex-and-size": "!effect.recursive && effect.path.matches('^/home/u/proj/.*[.]py$') "
                      "&& size(effect.argv) < 10",
}


def _interpreter(expr: str) -> Callable[[], Any]:
    env = celpy.Environment()
    program = env.program(env.compile(expr))
    activation = {k: celpy.json_to_cel(v) for k, v in ACTIVATION.items()}
    return lambda: program.evaluate(activation)


def _closure(expr: str) -> Callable[[], Any]:
    assert in_subset(expr)
    condition = compile_condition(expr)
    return lambda: condition(ACTIVATION)


@pytest.mark.parametrize("evaluator", ["closure", "interpreter"])
@pytest.mark.parametrize("name", list(EXPRESSIONS))
def test_cel_condition(benchmark: Any, name: str, evaluator: str) -> None:
    expr = EXPRESSIONS[name]
    run = _closure(expr) if evaluator == "closure" else _interpreter(expr)
    benchmark.group = f"cel {name}"
    result = benchmark(run)
    assert bool(result) is True
