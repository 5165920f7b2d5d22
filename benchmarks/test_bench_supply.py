"""The supply-chain check's cost: one name check (popular, typosquat, unpopular), building an ecosystem's
index (paid once, on the first install a process analyses), and a decide of ``pip install X`` beside a
decide of ``git status`` (no install: the check is not on its path), the verdict cache off.

Run: .venv/bin/python -m pytest benchmarks/test_bench_supply.py --benchmark-columns=min,median,mean,ops
"""
import pytest

from policylang import Command, Settings, from_text
from policylang.analysis.shell import memo
from policylang.analysis.supplychain import names

CWD, ENV = "/home/u/proj", {"HOME": "/home/u"}


@pytest.mark.parametrize("name,target", [
    ("requests", None), ("reqeusts", "requests"), ("pythondateutil", "python-dateutil"),
    ("acme-internal-billing-client", None),
])
def test_name_check_pypi(benchmark, name, target):
    ix = names.index("pypi")
    got = benchmark(ix.imitates, name)
    assert (got.target if got else None) == target


@pytest.mark.parametrize("name,target", [("lodash", None), ("lodahs", "lodash"), ("@evil/lodash", "lodash")])
def test_name_check_npm(benchmark, name, target):
    ix = names.index("npm")
    got = benchmark(ix.imitates, name)
    assert (got.target if got else None) == target


def test_build_pypi_index(benchmark):
    eco = names.ecosystems()["pypi"]
    listed = names.read_list(eco.names)[1]
    ix = benchmark(names.PopularIndex, eco, listed)
    assert len(ix.targets) == 5000


@pytest.fixture(scope="module")
def policy():
    return from_text("", Settings(mode="execute", cache_size=0))


@pytest.mark.parametrize("command,decision", [
    ("git status", "allow"), ("pip install requests", "allow"), ("pip install reqeusts", "deny"),
    ("npm install lodash", "allow"),
])
def test_decide_install(benchmark, policy, monkeypatch, command, decision):
    """The shell analysis' memo is off too: each round analyses the command (and checks its packages)."""
    monkeypatch.setattr(memo, "_MEMO_TEXT", -1)
    action = Command(command, cwd=CWD, env=ENV)
    v = benchmark(policy.decide, action)
    assert v.decision.label == decision
