"""What each stage costs: shell analysis (fast path, tree-sitter path, cache), analysis and decision
over the whole corpus, the compile pipeline for 1,000 rules stage by stage, the issue's targets under
the strict preset with 1,000 extra rules, and cold CLI start.

Run: .venv/bin/python -m pytest benchmarks --benchmark-columns=min,median,mean,ops
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import policylang
from policylang import Command, FileOp, Settings, Source, compile_policy
from policylang.analysis.shell import analyse as shell
from policylang.config.builtin import builtin_source
from policylang.lang.compile import build_rules
from policylang.engine.policy import Policy
from policylang.lang.parse import parse_policy
from policylang.lang.validate import validate
from policies import corpus_rows, generated_policy

HOME, CWD = "/home/user", "/home/user/project"
ENV = {"HOME": HOME, "PATH": "/usr/bin:/bin"}
PLAIN = "git status"




def _exec_programs(analysis: Any) -> list[str]:
    return [e.program for e in analysis.effects if e.kind == "exec"]


# ---- shell analysis: fast path vs tree-sitter ---------------------------------------------------


def test_analyse_fast_path_uncached(benchmark: Any) -> None:
    """A plain string, split on blanks (tokenize.py), analysed afresh every call."""
    benchmark.group = "stage-shell"
    a = benchmark(shell._analyse, PLAIN, CWD, ENV, HOME, True)
    assert _exec_programs(a) == ["git"] and not a.opaque and a.argv == ("git", "status")


def test_analyse_fast_path_cached(benchmark: Any) -> None:
    """The public entry point: a plain string's analysis comes from the memo after the first call."""
    benchmark.group = "stage-shell"
    shell.analyse_command(PLAIN, cwd=CWD, env=ENV, home=HOME)
    a = benchmark(shell.analyse_command, PLAIN, cwd=CWD, env=ENV, home=HOME)
    assert _exec_programs(a) == ["git"] and not a.opaque


def test_analyse_tree_sitter_path(benchmark: Any) -> None:
    """The same plain string forced through tree-sitter: what the fast path saves."""
    benchmark.group = "stage-shell"
    a = benchmark(shell._analyse, PLAIN, CWD, ENV, HOME, False)
    assert a == shell._analyse(PLAIN, CWD, ENV, HOME, True)


def test_analyse_harmless_metacharacter(benchmark: Any) -> None:
    """``git status;``: one metacharacter sends it to tree-sitter; analysed afresh every call."""
    benchmark.group = "stage-shell"
    a = benchmark(shell._analyse, PLAIN + ";", CWD, ENV, HOME)
    assert _exec_programs(a) == ["git"] and not a.opaque


COMPOUND = "git status && ls -la | grep x; echo $(pwd)"


def test_analyse_compound(benchmark: Any) -> None:
    """A compound command analysed afresh every call (tree-sitter and the walk)."""
    benchmark.group = "stage-shell"
    a = benchmark(shell._analyse, COMPOUND, CWD, ENV, HOME)
    assert _exec_programs(a) == ["git", "ls", "grep", "pwd", "echo"]  # $(pwd) runs before echo


def test_analyse_compound_memoised(benchmark: Any) -> None:
    """The public entry point on the same command: its exact memo answers after the first call."""
    benchmark.group = "stage-shell"
    shell.analyse_command(COMPOUND, cwd=CWD, env=ENV, home=HOME)
    a = benchmark(shell.analyse_command, COMPOUND, cwd=CWD, env=ENV, home=HOME)
    assert _exec_programs(a) == ["git", "ls", "grep", "pwd", "echo"]


# ---- over the whole corpus ----------------------------------------------------------------------


def test_analyse_corpus(benchmark: Any) -> None:
    """Analysis of every corpus command per round, uncached (the fast path where it applies)."""
    commands = [c for c, _, _ in corpus_rows()]
    benchmark.group = "stage-corpus"
    benchmark.extra_info["commands"] = len(commands)
    out = benchmark(lambda: [shell._analyse(c, CWD, ENV, HOME) for c in commands])
    assert len(out) == len(commands)
    assert sum(1 for a in out if a.error is None and a.effects) >= 0.95 * len(commands)


def test_decide_corpus_uncached(benchmark: Any) -> None:
    """The decision for every corpus command per round: execute preset, verdict cache off."""
    rows = [(c, e) for c, e, _ in corpus_rows() if e in ("allow", "deny")]
    policy = policylang.load(preset="execute").with_settings(cache_size=0)
    actions = [Command(c, cwd=CWD, env=ENV) for c, _ in rows]
    benchmark.group = "stage-corpus"
    benchmark.extra_info["commands"] = len(actions)
    got = benchmark(lambda: [policy.decide(a).decision.label for a in actions])
    missed = [c for (c, e), d in zip(rows, got) if e == "deny" and d in ("allow", "sandbox")]
    blocked = [c for (c, e), d in zip(rows, got) if e == "allow" and d == "deny"]
    assert not missed
    assert len(blocked) <= 0.02 * sum(1 for _, e in rows if e == "allow")


# ---- compile: 1,000 rules, stage by stage -------------------------------------------------------

RULES = 1000


@pytest.fixture(scope="module")
def sources() -> list[Source]:
    return [builtin_source(), Source("<generated>", generated_policy(RULES), layer="user")]


def test_compile_stage_parse(benchmark: Any, sources: list[Source]) -> None:
    benchmark.group = "stage-compile-1000"
    tree, diags = benchmark(parse_policy, sources[1])
    assert len(tree.statements) == RULES and not diags


def test_compile_stage_validate(benchmark: Any, sources: list[Source]) -> None:
    benchmark.group = "stage-compile-1000"
    files = [parse_policy(s)[0] for s in sources]
    texts = {s.name: s for s in sources}
    diags = benchmark(validate, files, texts)
    assert not any(d.is_error for d in diags)


def test_compile_stage_build_rules(benchmark: Any, sources: list[Source]) -> None:
    benchmark.group = "stage-compile-1000"
    files = [parse_policy(s)[0] for s in sources]
    texts = {s.name: s for s in sources}
    rules, _examples, _diags = benchmark(build_rules, files, texts)
    assert sum(1 for r in rules if r.id.startswith("gen.")) == RULES


def test_compile_stage_index(benchmark: Any, sources: list[Source]) -> None:
    """Policy construction: the rule index and the path sets."""
    benchmark.group = "stage-compile-1000"
    files = [parse_policy(s)[0] for s in sources]
    rules, examples, _ = build_rules(files, {s.name: s for s in sources})
    policy = benchmark(Policy, Settings(), rules, examples)
    assert len(policy.rules) == len(rules)


def test_compile_1000_rules_whole(benchmark: Any, sources: list[Source]) -> None:
    """The whole pipeline, source to matcher (target: at most 150 ms)."""
    benchmark.group = "stage-compile-1000"
    policy = benchmark.pedantic(compile_policy, args=(sources,), rounds=5, iterations=1)
    assert policy.decide(FileOp("write", "/srv/data4/x.txt", cwd=CWD, env=ENV)).decision.label == "deny"


# ---- the targets: a preset + 1,000 extra rules -------------------------------------


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "generated.policy"
    path.write_text(generated_policy(RULES), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def strict_1000(rules_file: Path) -> Policy:
    return policylang.load(preset="strict", policy_files=[rules_file])


@pytest.fixture(scope="module")
def execute_1000(rules_file: Path) -> Policy:
    """Compound commands need a preset that runs them: strict's exec_strict denies any shell syntax."""
    return policylang.load(preset="execute", policy_files=[rules_file])


def test_target_simple_uncached(benchmark: Any, strict_1000: Policy) -> None:
    """Target: at most 3 µs."""
    benchmark.group = "target-1000-rules"
    policy = strict_1000.with_settings(cache_size=0)
    v = benchmark(policy.decide, Command(PLAIN, cwd=CWD, env=ENV))
    assert v.decision.label == "allow"


def test_target_simple_cache_hit(benchmark: Any, strict_1000: Policy) -> None:
    """Target: at most 0.5 µs."""
    benchmark.group = "target-1000-rules"
    policy = strict_1000.with_settings(cache_size=1024)
    action = Command(PLAIN, cwd=CWD, env=ENV)
    policy.decide(action)
    v = benchmark(policy.decide, action)
    assert v.decision.label == "allow"


def test_target_compound_uncached(benchmark: Any, execute_1000: Policy) -> None:
    """Target: at most 40 µs (execute preset + 1,000 rules)."""
    benchmark.group = "target-1000-rules"
    policy = execute_1000.with_settings(cache_size=0)
    v = benchmark(policy.decide, Command("git status && ls -la | grep x; echo $(pwd)", cwd=CWD, env=ENV))
    assert v.decision.label == "allow"


def test_target_adversarial_uncached(benchmark: Any, execute_1000: Policy) -> None:
    """Target: at most 40 µs (execute preset + 1,000 rules)."""
    benchmark.group = "target-1000-rules"
    policy = execute_1000.with_settings(cache_size=0)
    v = benchmark(policy.decide, Command("env FOO=1 bash -c \"sudo /usr/bin/../bin/rm -rf '/'\"", cwd=CWD, env=ENV))
    assert v.decision.label == "deny"


@pytest.mark.parametrize("op,path,want", [
    ("write", "/srv/data4/x.txt", "deny"),
    ("read", "/home/user/project/src/main.py", "allow"),
])
def test_target_file_op_uncached(benchmark: Any, strict_1000: Policy, op: str, path: str, want: str) -> None:
    """Target: at most 2 µs."""
    benchmark.group = "target-1000-rules"
    policy = strict_1000.with_settings(cache_size=0)
    v = benchmark(policy.decide, FileOp(op, path, cwd=CWD, env=ENV))
    assert v.decision.label == want


# ---- the same targets at first sight: every call a command the process has never seen ----------
#
# The figures above decide one action over and over with the verdict cache off; the shell analysis
# still memoises the text.  Here each call takes the next of 50,000 distinct commands of the same
# shape, so neither memo can answer: what an agent's first use of a command costs.

FRESH = 50_000


def _fresh(policy: Policy, make: Any) -> Any:
    actions = itertools.cycle([make(i) for i in range(FRESH)])
    return lambda: policy.decide(next(actions))


def test_target_simple_first_sight(benchmark: Any, strict_1000: Policy) -> None:
    benchmark.group = "target-1000-rules-first-sight"
    run = _fresh(strict_1000.with_settings(cache_size=0),
                 lambda i: Command(f"git log --oneline -n {i}", cwd=CWD, env=ENV))
    v = benchmark(run)
    assert v.decision.label == "allow"


def test_target_compound_first_sight(benchmark: Any, execute_1000: Policy) -> None:
    benchmark.group = "target-1000-rules-first-sight"
    run = _fresh(execute_1000.with_settings(cache_size=0),
                 lambda i: Command(f"git status && ls -la | grep x{i}; echo $(pwd)", cwd=CWD, env=ENV))
    v = benchmark(run)
    assert v.decision.label == "allow"


def test_target_adversarial_first_sight(benchmark: Any, execute_1000: Policy) -> None:
    benchmark.group = "target-1000-rules-first-sight"
    run = _fresh(execute_1000.with_settings(cache_size=0),
                 lambda i: Command(f"env FOO={i} bash -c \"sudo /usr/bin/../bin/rm -rf '/'\"", cwd=CWD, env=ENV))
    v = benchmark(run)
    assert v.decision.label == "deny"


def test_target_file_op_first_sight(benchmark: Any, strict_1000: Policy) -> None:
    benchmark.group = "target-1000-rules-first-sight"
    run = _fresh(strict_1000.with_settings(cache_size=0),
                 lambda i: FileOp("read", f"/home/user/project/src/m{i}.py", cwd=CWD, env=ENV))
    v = benchmark(run)
    assert v.decision.label == "allow"


# ---- cold start ---------------------------------------------------------------------------------


# Every child runs as an installed package runs: with bytecode (pip compiles it at install; an
# environment that sets PYTHONDONTWRITEBYTECODE would otherwise recompile every module at every
# start), a private cache directory warmed by one run first, no POLICYLANG_* settings, and a
# working directory outside the source tree.

ROUNDS = 9


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("cold")
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("POLICYLANG_")}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env["POLICYLANG_CACHE_DIR"] = str(tmp / "cache")
    for args in (("-c", "import policylang"), ("-m", "policylang", "decide", PLAIN)):
        _run(sys.executable, args, env)  # bytecode and the policy cache, once
    return env


@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory: pytest.TempPathFactory, child_env: dict[str, str]) -> str:
    """A fresh venv with the built wheel installed: no editable-install finder in its start-up."""
    tmp = tmp_path_factory.mktemp("wheel")
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"), str(root)],
                   check=True, timeout=600)
    subprocess.run([sys.executable, "-m", "venv", str(tmp / "venv")], check=True, timeout=300)
    python = str(tmp / "venv" / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "--quiet", *map(str, (tmp / "dist").glob("*.whl"))],
                   check=True, timeout=900)
    _run(python, ("-m", "policylang", "decide", PLAIN), child_env)
    return python


def _run(python: str, args: tuple[str, ...], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # cwd: the cache directory's parent, never the source tree (``-m policylang`` would import it from there)
    return subprocess.run([python, *args], capture_output=True, text=True, timeout=60, check=False, env=env,
                          cwd=os.path.dirname(env["POLICYLANG_CACHE_DIR"]))


def test_cold_start_python(benchmark: Any, child_env: dict[str, str]) -> None:
    """The interpreter alone (this venv, with its editable-install finder): the floor under every cold start."""
    benchmark.group = "stage-cold-start"
    out = benchmark.pedantic(_run, args=(sys.executable, ("-c", "pass"), child_env), rounds=ROUNDS, iterations=1)
    assert out.returncode == 0


def test_cold_start_import(benchmark: Any, child_env: dict[str, str]) -> None:
    benchmark.group = "stage-cold-start"
    out = benchmark.pedantic(_run, args=(sys.executable, ("-c", "import policylang"), child_env), rounds=ROUNDS,
                             iterations=1)
    assert out.returncode == 0, out.stderr


def test_cold_start_cli_decide(benchmark: Any, child_env: dict[str, str]) -> None:
    """``python -m policylang decide "git status"``, compiled policy from the cache (target: at most 80 ms)."""
    benchmark.group = "stage-cold-start"
    out = benchmark.pedantic(_run, args=(sys.executable, ("-m", "policylang", "decide", PLAIN), child_env),
                             rounds=ROUNDS, iterations=1)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("allow")


def test_cold_start_cli_decide_without_caches(benchmark: Any, child_env: dict[str, str]) -> None:
    """The same with POLICYLANG_NO_CACHE=1: grammar, catalog and policy all rebuilt."""
    benchmark.group = "stage-cold-start"
    env = {**child_env, "POLICYLANG_NO_CACHE": "1"}
    out = benchmark.pedantic(_run, args=(sys.executable, ("-m", "policylang", "decide", PLAIN), env),
                             rounds=ROUNDS, iterations=1)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("allow")


def test_cold_start_wheel_python(benchmark: Any, wheel_python: str, child_env: dict[str, str]) -> None:
    """The interpreter of the wheel's venv alone."""
    benchmark.group = "stage-cold-start"
    out = benchmark.pedantic(_run, args=(wheel_python, ("-c", "pass"), child_env), rounds=ROUNDS, iterations=1)
    assert out.returncode == 0


def test_cold_start_wheel_decide(benchmark: Any, wheel_python: str, child_env: dict[str, str]) -> None:
    """``python -m policylang decide "git status"`` from the installed wheel, policy from the cache."""
    benchmark.group = "stage-cold-start"
    out = benchmark.pedantic(_run, args=(wheel_python, ("-m", "policylang", "decide", PLAIN), child_env),
                             rounds=ROUNDS, iterations=1)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("allow")
