"""A whole agent hook call, end to end: ``python -m policylang hook AGENT`` as a new process per round
with the call's JSON on stdin, the compiled policy in a warm cache (as in an agent's session, where
the first call compiled it).  Goal: at most 80 ms for a hook call (docs/hooks.md, docs/performance.md).

The child runs as an installed package runs (bytecode written, a private cache directory, no
POLICYLANG_* settings, a scratch HOME whose audit log is written with fsync, as by default), from a
working directory outside the source tree.  ``decide`` is measured beside it as the reference.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

ROUNDS = 9


@pytest.fixture(scope="module")
def child(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("hook")
    (tmp / "home").mkdir()
    (tmp / "project").mkdir()
    env = {k: v for k, v in os.environ.items()
           if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("POLICYLANG_")}
    env.update(HOME=str(tmp / "home"), PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
               POLICYLANG_CACHE_DIR=str(tmp / "cache"))
    ws = str(tmp / "project")
    payloads = {
        "bash": {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "git status"}},
        "read": {"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": f"{ws}/a.py"}},
        "write": {"hook_event_name": "PreToolUse", "tool_name": "Write",
                  "tool_input": {"file_path": f"{ws}/a.py", "content": "def f():\n    return 1\n" * 200}},
        "mcp": {"hook_event_name": "PreToolUse", "tool_name": "mcp__github__create_issue",
                "tool_input": {"title": "t", "body": "b"}},
    }
    data = {k: json.dumps({"session_id": "s", "cwd": ws, **v}).encode() for k, v in payloads.items()}
    out = {"env": env, "cwd": ws, "payloads": data}
    for name in data:  # bytecode and the policy cache, once
        _hook(out, name)
    return out


def _hook(child: dict[str, Any], name: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "policylang", "hook", "claude"], input=child["payloads"][name],
                          capture_output=True, timeout=60, check=False, env=child["env"], cwd=child["cwd"])


def _decision(out: subprocess.CompletedProcess[bytes]) -> str:
    assert out.returncode == 0, out.stderr
    decision: str = json.loads(out.stdout)["hookSpecificOutput"]["permissionDecision"]
    return decision


def test_hook_decide_reference(benchmark: Any, child: dict[str, Any]) -> None:
    """``policylang decide "git status"``: the CLI's own cold start, beside the hook's."""
    benchmark.group = "hook-cold-call"
    out = benchmark.pedantic(subprocess.run, args=([sys.executable, "-m", "policylang", "decide", "git status"],),
                             kwargs={"capture_output": True, "timeout": 60, "env": child["env"], "cwd": child["cwd"]},
                             rounds=ROUNDS, iterations=1)
    assert out.returncode == 0 and out.stdout.startswith(b"allow")


@pytest.mark.parametrize("name,decision", [("bash", "allow"), ("read", "allow"), ("write", "ask"), ("mcp", "ask")])
def test_hook_claude_call(benchmark: Any, child: dict[str, Any], name: str, decision: str) -> None:
    """One Claude Code PreToolUse call, end to end (goal: at most 80 ms)."""
    benchmark.group = "hook-cold-call"
    out = benchmark.pedantic(_hook, args=(child, name), rounds=ROUNDS, iterations=1)
    assert _decision(out) == decision
