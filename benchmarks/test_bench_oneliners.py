"""What deciding an interpreter one-liner costs (``node -e``, ``ruby -e``, ``perl -e``, ``php -r``):
the shell analysis, the inline code analysis of the language's front-end and the judgement, at
first sight (each call a source the process has never seen, so no memo answers).

Run: .venv/bin/python -m pytest benchmarks/test_bench_oneliners.py --benchmark-columns=min,median,mean
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

import policylang
from policylang import Command
from policylang.analysis.sourcecode import analyse_code
from policylang.engine.policy import Policy

CWD, ENV = "/home/user/project", {"HOME": "/home/user", "PATH": "/usr/bin:/bin"}
FRESH = 20_000

# (language, interpreter argv before the source, a dangerous one-liner, a benign one-liner): {i}
# makes every source distinct.
ONE_LINERS = [
    ("node", ["node", "-e"],
     "const cp = require('child_process'); cp.execSync('rm -rf /srv/data' + '{i}')",
     "const xs = [1, 2, {i}]; console.log(xs.map(x => x * 2).join(','))"),
    ("ruby", ["ruby", "-e"],
     "require 'fileutils'; FileUtils.rm_rf('/srv/data{i}')",
     "xs = [1, 2, {i}]; puts xs.map {{ |x| x * 2 }}.join(',')"),
    ("perl", ["perl", "-e"],
     "my @a = ('rm', '-rf', '/srv/data{i}'); system(@a) == 0 or die",
     "my @xs = (1, 2, {i}); print join(',', map {{ $_ * 2 }} @xs), \"\\n\""),
    ("php", ["php", "-r"],
     "$c = 'rm -rf ' . '/srv/data{i}'; shell_exec($c);",
     "$xs = [1, 2, {i}]; echo implode(',', array_map(fn($x) => $x * 2, $xs));"),
]


@pytest.fixture(scope="module")
def policy() -> Policy:
    return policylang.load(preset="execute").with_settings(cache_size=0)


def _fresh(make: Callable[[int], Any], run: Callable[[Any], Any]) -> Callable[[], Any]:
    items = itertools.cycle([make(i) for i in range(FRESH)])
    return lambda: run(next(items))


@pytest.mark.parametrize("lang, argv, bad, good", ONE_LINERS, ids=[r[0] for r in ONE_LINERS])
def test_decide_dangerous_one_liner(benchmark: Any, policy: Policy, lang: str, argv: list[str], bad: str,
                                    good: str) -> None:
    benchmark.group = "one-liner-decide"
    run = _fresh(lambda i: Command((*argv, bad.format(i=i)), cwd=CWD, env=ENV), policy.decide)
    v = benchmark(run)
    assert v.decision.label == "deny", v


@pytest.mark.parametrize("lang, argv, bad, good", ONE_LINERS, ids=[r[0] for r in ONE_LINERS])
def test_decide_benign_one_liner(benchmark: Any, policy: Policy, lang: str, argv: list[str], bad: str,
                                 good: str) -> None:
    benchmark.group = "one-liner-decide"
    run = _fresh(lambda i: Command((*argv, good.format(i=i)), cwd=CWD, env=ENV), policy.decide)
    v = benchmark(run)
    assert v.decision.label == "allow", v


@pytest.mark.parametrize("lang, argv, bad, good", ONE_LINERS, ids=[r[0] for r in ONE_LINERS])
def test_analyse_one_liner(benchmark: Any, lang: str, argv: list[str], bad: str, good: str) -> None:
    """The inline code analysis alone, on the dangerous one-liner."""
    benchmark.group = "one-liner-analysis"
    run = _fresh(lambda i: bad.format(i=i), lambda src: analyse_code(lang, src))
    f = benchmark(run)
    assert f.commands or f.effects, f
