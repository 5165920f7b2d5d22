"""The audit log from the command line, in real processes with a scratch HOME: decide and explain
write a record before the verdict is printed; ``audit verify`` and ``audit export`` with their exit
codes (policylang/adapters/cli_audit.py)."""
from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def run(home: Path, *args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env.update(HOME=str(home), POLICYLANG_CACHE_DIR=str(home / ".cache-policylang"), NO_COLOR="1", **extra)
    (home / "project").mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "policylang", *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=home / "project", timeout=120)


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def log_dir(home: Path) -> Path:
    return home / ".policylang" / "audit"


def records(home: Path, event: str = "decision") -> list[dict[str, Any]]:
    path = log_dir(home) / "audit.jsonl"
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["event"] == event]


DECISIONS = [("git status", 0, "allow"), ("rm -rf /", 1, "deny"), ("pip install requests", 3, "ask")]


def test_decide_writes_a_record_per_verdict_in_a_private_directory(home: Path) -> None:
    for command, code, _ in DECISIONS:
        p = run(home, "decide", command)
        assert p.returncode == code, p.stderr
        assert p.stderr == ""
    got = records(home)
    assert [(r["input"]["action"], r["result"]["decision"]) for r in got] == [(c, d) for c, _, d in DECISIONS]
    assert {r["labels"]["entry"] for r in got} == {"cli.decide"}
    assert len({r["revision"] for r in got}) == 1  # compiled once, then from the cache: the same revision
    assert stat.S_IMODE(log_dir(home).stat().st_mode) == 0o700
    assert stat.S_IMODE((log_dir(home) / "audit.jsonl").stat().st_mode) == 0o600
    v = run(home, "audit", "verify")
    assert v.returncode == 0, v.stdout + v.stderr
    assert v.stdout.startswith("valid: 4 record(s) checked in 1 file(s)")


def test_explain_and_a_batch_write_records_too(home: Path) -> None:
    assert run(home, "explain", "rm -rf build").returncode == 3  # approve asks for medium risk
    lines = ['"git status"', '{"kind":"file","op":"read","path":"~/.ssh/id_rsa"}', "not json"]
    p = run(home, "decide", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    got = records(home)
    assert [r["labels"]["entry"] for r in got] == ["cli.explain"] + ["cli.decide"] * 3
    assert [r["result"]["decision"] for r in got[1:]] == [json.loads(x)["decision"] for x in p.stdout.splitlines()]
    assert got[2]["input"] == {"kind": "file", "action": "read ~/.ssh/id_rsa", "principal": "user", "role": "user",
                               "session": None, "interactive": True}
    assert got[3]["input"]["kind"] == "invalid" and got[3]["result"]["decision"] == "deny"


def test_a_disabled_log_writes_nothing(home: Path) -> None:
    config = home / "config.toml"
    config.write_text("[security.audit]\nenabled = false\n")
    assert run(home, "decide", "--config", str(config), "git status").returncode == 0
    assert not log_dir(home).exists()


@pytest.mark.parametrize(("on_failure", "code", "decision"), [("warn", 0, "allow"), ("deny", 1, "deny")])
def test_a_log_that_cannot_be_written(home: Path, on_failure: str, code: int, decision: str) -> None:
    (home / "file").write_text("")
    config = home / "config.toml"
    config.write_text(f'[security.audit]\npath = "{home / "file" / "audit.jsonl"}"\non_failure = "{on_failure}"\n')
    p = run(home, "decide", "--config", str(config), "--json", "git status")
    assert p.returncode == code
    assert json.loads(p.stdout)["decision"] == decision
    assert "policylang: audit: cannot create the audit directory" in p.stderr
    p = run(home, "decide", "--config", str(config), "rm -rf /")
    assert p.returncode == 1  # a deny stays a deny


def test_an_hmac_keyed_log_from_the_cli(home: Path) -> None:
    config = home / "config.toml"
    config.write_text('[security.audit]\nhmac_key_env = "AUDIT_KEY"\n')
    key = "k" * 32
    for command, code, _ in DECISIONS:
        assert run(home, "decide", "--config", str(config), command, AUDIT_KEY=key).returncode == code
    assert {r["alg"] for r in records(home)} == {"hmac-sha256"}
    ok = run(home, "audit", "verify", "--config", str(config), AUDIT_KEY=key)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "HMAC-SHA256" in ok.stdout
    wrong = run(home, "audit", "verify", "--config", str(config), "--format", "json", AUDIT_KEY="w" * 32)
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout)["problem"]["kind"] == "wrong_key"
    by_option = run(home, "audit", "verify", "--key-env", "OTHER", str(log_dir(home)), OTHER=key)
    assert by_option.returncode == 0, by_option.stdout + by_option.stderr
    missing = run(home, "audit", "verify", "--config", str(config))
    assert missing.returncode == 2 and "AUDIT_KEY" in missing.stderr
    # without a key the CLI refuses to write unsigned records: the decision stands, the failure is said
    p = run(home, "decide", "--config", str(config), "git status")
    assert p.returncode == 0 and "AUDIT_KEY is not set" in p.stderr


def test_verify_names_the_first_problem_and_exits_1(home: Path) -> None:
    for command, _, _ in DECISIONS:
        run(home, "decide", command)
    path = log_dir(home) / "audit.jsonl"
    content = path.read_text().splitlines(keepends=True)
    rec = json.loads(content[2])
    rec["result"]["decision"] = "allow"  # someone turns the deny into an allow
    content[2] = json.dumps(rec) + "\n"
    path.write_text("".join(content))
    p = run(home, "audit", "verify", "--format", "json", str(path))
    assert p.returncode == 1
    out = json.loads(p.stdout)
    assert out["valid"] is False and out["records"] == 2
    assert out["problem"] == {"kind": "field_modified", "file": str(path), "line": 3,
                              "message": out["problem"]["message"]}
    text = run(home, "audit", "verify", str(path))
    assert text.returncode == 1 and f"problem: field_modified at {path}:3:" in text.stdout


@pytest.mark.parametrize("args", [["audit", "verify", "/nonexistent/audit.jsonl"], ["audit"],
                                  ["audit", "export", "/nonexistent"], ["audit", "verify", "--bogus"],
                                  ["audit", "export", "--since", "yesterday-ish", "."]])
def test_usage_errors_exit_2(home: Path, args: list[str]) -> None:
    assert run(home, *args).returncode == 2


def test_export_summary_json_and_csv_with_filters(home: Path) -> None:
    commands = ["git status", "rm -rf /", "rm -rf /", "sudo rm -rf /", "pip install requests", "ls"]
    for c in commands:
        run(home, "decide", c)
    summary = run(home, "audit", "export")
    assert summary.returncode == 0, summary.stderr
    assert "decisions: 6" in summary.stdout
    assert "most denied:\n        2  rm -rf /\n        1  sudo rm -rf /" in summary.stdout
    js = run(home, "audit", "export", "--format", "json")
    out = json.loads(js.stdout)
    assert out["summary"]["by_decision"] == {"allow": 2, "deny": 3, "ask": 1}
    assert out["summary"]["from"] <= out["summary"]["to"]
    assert [r["input"]["action"] for r in out["records"]] == commands
    deny = json.loads(run(home, "audit", "export", "--format", "json", "--decision", "deny").stdout)
    assert [r["input"]["action"] for r in deny["records"]] == ["rm -rf /", "rm -rf /", "sudo rm -rf /"]
    rule = deny["records"][0]["result"]["reasons"][0]["rule"]
    by_rule = json.loads(run(home, "audit", "export", "--format", "json", "--rule", rule).stdout)
    assert by_rule["summary"]["decisions"] >= 2
    assert all(rule in json.dumps(r) for r in by_rule["records"])
    future = json.loads(run(home, "audit", "export", "--format", "json", "--since", "2999-01-01").stdout)
    assert future["summary"]["decisions"] == 0
    recent = json.loads(run(home, "audit", "export", "--format", "json", "--since", "1h",
                            "--until", "2999-01-01").stdout)
    assert recent["summary"]["decisions"] == 6
    rows = list(csv.reader(io.StringIO(run(home, "audit", "export", "--format", "csv").stdout)))
    assert rows[0][:6] == ["timestamp", "decision_id", "decision", "risk", "kind", "action"]
    assert [r[5] for r in rows[1:]] == commands and [r[2] for r in rows[1:]] == ["allow", "deny", "deny", "deny",
                                                                                  "ask", "allow"]
