"""The cost of finding the credential files deeper in the workspace before a sandboxed run
(sandbox/walk.py): a workspace of 5,100 files in 300 directories, three levels deep, with a
``node_modules`` of 1,000 more that the walk skips; the walk alone, the walk asking the built-in
policy about every entry, and the whole plan of a run (adapters/executor.plan_for).

Run: .venv/bin/python -m pytest benchmarks/test_bench_sandbox_walk.py --benchmark-columns=min,median,mean,ops
"""
import os
import shutil
import tempfile

import pytest

import policylang
from policylang.adapters.executor import _denied_reading, plan_for
from policylang.sandbox.walk import hidden_below

FILES_PER_DIRECTORY = 17  # in 300 directories: 5,100 files
SECRETS = ("a3/b4/.env", "a7/b0/deploy.pem", "a9/b9/c1/credentials")


@pytest.fixture(scope="module")
def workspace():
    root = tempfile.mkdtemp(prefix="bench-walk-")
    home = os.path.join(root, "home")
    ws = os.path.join(home, "project")
    n = 0
    for a in range(10):
        for b in range(10):
            for c in range(-1, 2):  # files in a{a}/b{b} itself and in two directories below it
                d = os.path.join(ws, f"a{a}", f"b{b}", *([f"c{c}"] if c >= 0 else []))
                os.makedirs(d, exist_ok=True)
                for i in range(FILES_PER_DIRECTORY):
                    with open(os.path.join(d, f"m{i}.py"), "w") as f:
                        f.write("x = 1\n")
                    n += 1
    for rel in SECRETS:
        os.makedirs(os.path.dirname(os.path.join(ws, rel)), exist_ok=True)
        with open(os.path.join(ws, rel), "w") as f:
            f.write("made-up\n")
    for i in range(1_000):
        d = os.path.join(ws, "node_modules", f"p{i // 50}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"i{i}.js"), "w") as f:
            f.write("\n")
    assert n == 5_100
    yield home, ws
    shutil.rmtree(root, ignore_errors=True)


def test_walk_alone(benchmark, workspace):
    _, ws = workspace
    assert benchmark(hidden_below, ws, lambda path, is_dir: False) == ()


def test_walk_asking_the_builtin_policy(benchmark, workspace):
    home, ws = workspace
    policy = policylang.load()
    hide = _denied_reading(policy, home, ws, ws, {"HOME": home})
    found = benchmark(hidden_below, ws, hide)
    assert found == tuple(sorted(os.path.join(ws, rel) for rel in SECRETS))


def test_the_plan_of_a_sandboxed_run(benchmark, workspace):
    home, ws = workspace
    policy = policylang.load()
    plan = benchmark(plan_for, policy, ws, {"HOME": home, "PATH": "/usr/bin:/bin"})
    assert set(os.path.join(ws, rel) for rel in SECRETS) <= set(plan.hidden)
