"""The secrets detector's cost: on a typical command (the prefilter finds nothing), on a 10 KB tool
output with and without a secret, and the decide path with the detector and without it, in one run.

Run: .venv/bin/python -m pytest benchmarks/test_bench_secrets.py --benchmark-columns=min,median,mean,ops
"""
import random
import string

import pytest

from policylang import Command, Settings, from_text
from policylang.analysis import dispatch
from policylang.analysis.secretscan.detector import scan

CWD, ENV = "/home/u/proj", {"HOME": "/home/u"}
RNG = random.Random(3)
WORDS = ("the build finished in 3.2s; 14 tests passed, 0 failed; wrote dist/app-1.4.2.tar.gz "
         "commit 3f786850e387550fdab836ed7e6dc881de23001b by dev <dev@example.org> request "
         "550e8400-e29b-41d4-a716-446655440000 GET /api/v1/items?page=2 200 OK\n").split(" ")


def tool_output(n: int = 10_000) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        w = RNG.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


TOKEN = "ghp_" + "".join(RNG.choice(string.ascii_letters + string.digits) for _ in range(36))
CLEAN = tool_output()
DIRTY = CLEAN[:5000] + f" Authorization: token {TOKEN} " + CLEAN[5000:9950]


def test_scan_typical_command(benchmark):
    assert benchmark(scan, "git commit -m 'fix the parser' && git push origin main") == []


def test_scan_10kb_tool_output_clean(benchmark):
    assert benchmark(scan, CLEAN) == []


def test_scan_10kb_tool_output_with_a_secret(benchmark):
    found = benchmark(scan, DIRTY)
    assert [f.format for f in found] == ["github-pat"]


@pytest.fixture(scope="module")
def policy():
    return from_text("rule git.read: allow exec git {status, log, diff} ...", Settings(mode="approve", cache_size=0))


@pytest.mark.parametrize("detector", ["on", "off"])
def test_decide_simple_command_detector(benchmark, policy, monkeypatch, detector):
    if detector == "off":
        monkeypatch.setattr(dispatch, "add_secrets", lambda act, analysis, env: analysis)
    action = Command("git status", cwd=CWD, env=ENV)
    v = benchmark(policy.decide, action)
    assert v.decision.label == "allow"


@pytest.mark.parametrize("detector", ["on", "off"])
def test_decide_compound_command_detector(benchmark, policy, monkeypatch, detector):
    if detector == "off":
        monkeypatch.setattr(dispatch, "add_secrets", lambda act, analysis, env: analysis)
    action = Command("git status && ls -la | grep x; echo $(pwd)", cwd=CWD, env=ENV)
    benchmark(policy.decide, action)
