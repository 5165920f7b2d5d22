"""Decision latency on the hot path, and how it scales with the number of rules.

Run: .venv/bin/python -m pytest benchmarks --benchmark-columns=min,median,mean,ops --benchmark-sort=name
"""
import pytest

from policies import generated_policy

from policylang import Command, FileOp, Settings, from_text

CWD, ENV = "/home/u/proj", {"HOME": "/home/u"}
GIT_READ = "\nrule git.read: allow exec git {status, log, diff} ..."  # the rule the simple command hits


@pytest.fixture(scope="module", params=[10, 100, 1000, 10000], ids=lambda n: f"{n}rules")
def policy(request):
    return from_text(generated_policy(request.param) + GIT_READ, Settings(mode="approve", cache_size=0))


def test_decide_simple_command(benchmark, policy):
    action = Command("git status", cwd=CWD, env=ENV)
    v = benchmark(policy.decide, action)
    assert v.decision.label == "allow" and "git.read" in v.matched


def test_decide_compound_command(benchmark, policy):
    action = Command("git status && ls -la | grep x; echo $(pwd)", cwd=CWD, env=ENV)
    v = benchmark(policy.decide, action)
    assert v.decision.label == "allow"


def test_decide_file_write(benchmark, policy):
    action = FileOp("write", "/srv/data4/x.txt", cwd=CWD, env=ENV)
    v = benchmark(policy.decide, action)
    assert v.decision.label == "deny"


def test_decide_cached(benchmark):
    p = from_text(generated_policy(1000) + GIT_READ, Settings(mode="approve"))
    action = Command("git status", cwd=CWD, env=ENV)
    p.decide(action)
    v = benchmark(p.decide, action)
    assert v.decision.label == "allow"


def test_compile_1000_rules(benchmark):
    text = generated_policy(1000)
    p = benchmark.pedantic(from_text, args=(text,), rounds=3, iterations=1)
    assert len(p.rules) > 1000
