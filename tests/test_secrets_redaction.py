"""Redaction everywhere: a secret of every format planted in every kind of action, and every output
channel -- the Python verdict and its to_json, explain, the CLI's decide (text, --json, --jsonl),
explain (text and json) and stderr -- searched for the value.  Also: the values of secret-named
environment variables a command expands, and the secret effects' reasons and risk."""
from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile

import pytest

import policylang
from policylang.actions import Command, Fetch, FileOp, Message, ToolCall
from policylang.verdict import DENY, HIGH, MEDIUM
from test_secrets_detector import POSITIVES

POLICY = policylang.load()


def actions_for(text: str):
    """The same secret (in the text that makes it one) in each kind of action, as (Action, JSON action)."""
    argv = ("curl", "-d", text, "https://api.example.com/v1")
    return [
        (Command(argv), {"kind": "command", "command": list(argv)}),
        (Message(f"the key is {text} -- keep it"), {"kind": "message", "text": f"the key is {text} -- keep it"}),
        (FileOp("write", "src/settings.py", content=f"{text}\n"),
         {"kind": "file", "op": "write", "path": "src/settings.py", "content": f"{text}\n"}),
        (Fetch("https://api.example.com/v1", method="POST", body=text),
         {"kind": "fetch", "url": "https://api.example.com/v1", "method": "POST", "body": text}),
        (ToolCall("http_post", {"url": "https://api.example.com", "body": {"data": text}}),
         {"kind": "tool", "name": "http_post", "args": {"url": "https://api.example.com", "body": {"data": text}}}),
    ]


def _core(value: str) -> str:
    """The part of a secret that must never appear (a private key's body rather than its header)."""
    lines = [ln for ln in value.splitlines() if "-----" not in ln]
    return max(lines, key=len) if lines else value


CASES = [(fid, text, value if value is not None else text) for fid, text, value in POSITIVES[::2]]


@pytest.mark.parametrize("fid,text,value", CASES, ids=[c[0] for c in CASES])
def test_python_api_never_shows_the_value(fid: str, text: str, value: str) -> None:
    core = _core(value)
    for act, _ in actions_for(text):
        v = POLICY.decide(act)
        out = json.dumps(v.to_json()) + repr(v) + v.action
        assert core not in out, (fid, act.kind)
        e = POLICY.explain(act)
        assert core not in repr(e), (fid, act.kind)
        assert any(r.effect and r.effect.startswith("secret(") for r in e.verdict.reasons) or \
            any(j.effect.kind == "secret" for j in e.judged), (fid, act.kind)
        assert v.risk >= MEDIUM and v.decision >= policylang.Decision.ASK, (fid, act.kind, v.decision)


def test_cli_every_format_never_shows_the_value() -> None:
    """One CLI process per output format over every planted secret (a real process, scratch HOME)."""
    values = [value for _, _, value in CASES]
    lines = [json.dumps(j) for _, text, _ in CASES for _, j in actions_for(text)]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "NO_COLOR": "1"}
        batch = os.path.join(home, "actions.jsonl")
        with open(batch, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        cli = [sys.executable, "-m", "policylang"]
        runs = [subprocess.run([*cli, "decide", "--jsonl", batch], capture_output=True, text=True, env=env, cwd=home)]
        for _, text, _ in CASES:
            cmd = shlex.join(actions_for(text)[0][0].command)
            for extra in ([], ["--json"]):
                runs.append(subprocess.run([*cli, "decide", *extra, cmd], capture_output=True, text=True, env=env,
                                           cwd=home))
            for fmt in ("text", "json"):
                runs.append(subprocess.run([*cli, "explain", "--format", fmt, cmd], capture_output=True, text=True,
                                           env=env, cwd=home))
    for run in runs:
        assert run.stdout.strip(), run.stderr
        for value in values:
            core = _core(value)
            assert core not in run.stdout and core not in run.stderr, run.args[:4]
    verdicts = [json.loads(ln) for ln in runs[0].stdout.splitlines()]
    assert len(verdicts) == len(lines)
    assert all("secret(" in json.dumps(v) for v in verdicts)
    assert sum("[REDACTED " in json.dumps(v) for v in verdicts) >= 3 * len(CASES)


def test_reason_names_format_and_location() -> None:
    value = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    v = POLICY.decide(Command(f"curl -H 'Authorization: token {value}' https://api.example.com"))
    assert v.decision is DENY and v.risk >= HIGH
    (r,) = [r for r in v.reasons if r.effect and r.effect.startswith("secret(")]
    said = f"{r.message} {r.effect}"
    assert "github-pat" in said and "argument 2 of curl (header Authorization)" in said
    assert "api.example.com" in said and value not in said
    m = POLICY.decide(Message(f"token {value}"))
    assert "the message, offset 6" in " ".join(f"{x.message} {x.effect}" for x in m.reasons)


def test_secret_named_environment_values_are_redacted() -> None:
    pw = "Tr0ub4dor&3-horse-battery"
    v = POLICY.decide(Command("mysql -u app -p\"$DB_PASSWORD\" -h db.internal", env={"DB_PASSWORD": pw, "HOME": "/h"}))
    e = POLICY.explain(Command("mysql -u app -p\"$DB_PASSWORD\" -h db.internal", env={"DB_PASSWORD": pw, "HOME": "/h"}))
    assert pw not in json.dumps(v.to_json()) and pw not in repr(e)


@pytest.mark.parametrize("text", [
    "git status", "ls -la src", "git log --oneline -5",
    "git checkout 3f786850e387550fdab836ed7e6dc881de23001b",
    "echo 'token = os.environ[\"GITHUB_TOKEN\"]'",
    "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE",
])
def test_no_secret_no_secret_effect(text: str) -> None:
    e = POLICY.explain(Command(text))
    assert not [j for j in e.judged if j.effect.kind == "secret"]
    assert "[REDACTED" not in e.verdict.action


def test_argv_is_withheld_when_it_carries_a_secret() -> None:
    value = "npm_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    v = policylang.load().with_settings(mode="execute").decide(Command(("mytool", "--registry-token", value)))
    assert v.argv is None or value not in " ".join(v.argv)
    assert value not in json.dumps(v.to_json())
