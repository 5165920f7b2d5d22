"""The executor's Python API, ``policylang.run`` (adapters/executor.py): what runs for each
decision, what runs for each form of command, failing closed when the sandbox cannot be had, the
timeout, and the decision and outcome records it leaves in an audit log.

Only harmless commands run (true, exit, echo, touch, sleep) in a temporary directory, with HOME
there too.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import policylang
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog
from policylang.settings import SandboxSettings
from policylang.verdict import Decision


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "home").mkdir()
    (tmp_path / "ws").mkdir()
    return {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}


def _policy(tmp_path: Path, security: str = "") -> policylang.Policy:
    config = tmp_path / "config.toml"
    config.write_text(f"[security]\n{security}\n")
    return policylang.load(str(config))


@pytest.mark.parametrize("security, command, decision, ran, status", [
    ("", "exit 4", Decision.ALLOW, True, 4),
    ("", ["echo", "a; touch marker"], Decision.ALLOW, True, 0),  # an argv: no shell, no marker
    ('denylist_patterns = ["^touch "]', "touch marker", Decision.DENY, False, 126),
    ('mode = "approve"', "touch marker", Decision.ASK, False, 126),  # nobody to approve it
    ("exec_strict = true", "echo hi; touch marker", Decision.DENY, False, 126),
    ("exec_strict = true", "echo hi", Decision.ALLOW, True, 0),  # runs as the verdict's argv
])
def test_what_runs_for_each_decision(tmp_path: Path, env: dict[str, str], security: str, command: str | list[str],
                                     decision: Decision, ran: bool, status: int) -> None:
    out = tmp_path / "out.txt"
    with out.open("wb") as f:
        outcome = policylang.run(command, _policy(tmp_path, security), cwd=str(tmp_path / "ws"), env=env, stdout=f)
    assert outcome.verdict.decision is decision
    assert (outcome.ran, outcome.status) == (ran, status)
    assert not (tmp_path / "ws" / "marker").exists()
    if command == ["echo", "a; touch marker"]:
        assert out.read_text() == "a; touch marker\n"


@pytest.mark.parametrize("answer, created", [(True, True), (False, False)])
def test_an_ask_runs_only_when_the_approver_says_yes(tmp_path: Path, env: dict[str, str], answer: bool,
                                                     created: bool) -> None:
    asked = []

    def approve(verdict: policylang.Verdict) -> bool:
        asked.append(verdict.action)
        return answer

    outcome = policylang.run(["touch", "marker"], _policy(tmp_path, 'mode = "approve"'), cwd=str(tmp_path / "ws"),
                             env=env, approve=approve)
    assert asked == ["touch marker"]
    assert (tmp_path / "ws" / "marker").exists() is created and outcome.ran is created
    assert outcome.backend is None  # an approved ask is not sandboxed


def test_an_approver_that_fails_has_not_approved(tmp_path: Path, env: dict[str, str]) -> None:
    def broken(verdict: policylang.Verdict) -> bool:
        raise RuntimeError("no terminal")

    outcome = policylang.run(["touch", "marker"], _policy(tmp_path, 'mode = "approve"'), cwd=str(tmp_path / "ws"),
                             env=env, approve=broken)
    assert not outcome.ran and "no terminal" in (outcome.reason or "")
    assert not (tmp_path / "ws" / "marker").exists()


def _sandboxing(tmp_path: Path, backend: str, image: str | None = None) -> policylang.Policy:
    return _policy(tmp_path, 'mode = "approve"').with_settings(
        sandbox_mode=True, sandbox_available=True, sandbox=SandboxSettings(backend=backend, container_image=image))


def test_a_sandbox_verdict_without_a_backend_does_not_run(tmp_path: Path, env: dict[str, str]) -> None:
    (tmp_path / "empty").mkdir()
    outcome = policylang.run(["touch", "marker"], _sandboxing(tmp_path, "firejail"), cwd=str(tmp_path / "ws"),
                             env={**env, "PATH": str(tmp_path / "empty")})
    assert outcome.verdict.decision is Decision.SANDBOX
    assert not outcome.ran and outcome.status == 126 and outcome.reason == "no sandbox backend here (firejail)"
    assert not (tmp_path / "ws" / "marker").exists()


def test_a_sandbox_that_cannot_be_set_up_does_not_run(tmp_path: Path, env: dict[str, str]) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nexit 0\n")  # would "succeed" without running anything
    (bin_dir / "docker").chmod(0o755)
    ws = tmp_path / "a:b"
    ws.mkdir()
    outcome = policylang.run(["touch", "marker"], _sandboxing(tmp_path, "container", "img:1"), cwd=str(ws),
                             env={**env, "PATH": str(bin_dir)})
    assert outcome.verdict.decision is Decision.SANDBOX
    assert not outcome.ran and outcome.backend == "container"
    assert (outcome.reason or "").startswith("the sandbox cannot be set up")
    assert not (ws / "marker").exists()


def test_a_run_is_stopped_at_its_timeout(tmp_path: Path, env: dict[str, str]) -> None:
    with open(os.devnull) as nothing:  # no terminal: the run gets a process group, stopped as one
        outcome = policylang.run(["sleep", "30"], _policy(tmp_path), cwd=str(tmp_path / "ws"), env=env, timeout=0.5,
                                 stdin=nothing)
    assert outcome.ran and outcome.timed_out and outcome.status == 124
    assert outcome.duration_ms is not None and outcome.duration_ms < 10_000


def test_the_audit_log_gets_the_decision_and_its_outcome(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(str(path))
    policy = _policy(tmp_path, 'denylist_patterns = ["^touch "]')
    ran = policylang.run("exit 3", policy, cwd=str(tmp_path / "ws"), env=env, audit=log)
    denied = policylang.run("touch marker", policy, cwd=str(tmp_path / "ws"), env=env, audit=log)
    log.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    events = [(r["event"], r.get("decision_id")) for r in records if r["event"] != "open"]
    assert events == [("decision", ran.decision_id), ("outcome", ran.decision_id),
                      ("decision", denied.decision_id), ("outcome", denied.decision_id)]
    outcomes = [r["outcome"] for r in records if r["event"] == "outcome"]
    assert outcomes[0]["executed"] is True and outcomes[0]["exit_code"] == 3
    assert outcomes[1] == {"executed": False, "exit_code": None, "duration_ms": None, "sandbox": None,
                           "timed_out": False, "reason": "denied"}
    assert verify([str(path.parent)]).valid


def test_an_audited_policy_records_each_decision_once(tmp_path: Path, env: dict[str, str]) -> None:
    path = tmp_path / "audit" / "audit.jsonl"
    log = AuditLog(str(path))
    from policylang.audit.audited import audited

    policy = audited(_policy(tmp_path), log)
    outcome = policylang.run("true", policy, cwd=str(tmp_path / "ws"), env=env)
    log.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["event"] for r in records if r["event"] != "open"] == ["decision", "outcome"]
    assert outcome.decision_id == records[-1]["decision_id"]
