"""Audit records and the chain's primitives: canonical JSON, HMAC-SHA256, the line head, the policy
revision, what a decision record holds, and the Python API's opt-in (policylang/audit/record.py,
chain.py, audited.py)."""
from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

import policylang
from policylang.actions import Command, Context
from policylang.audit.audited import AuditedPolicy, audited
from policylang.audit.chain import GENESIS, Key, line_head, record_hash, seal
from policylang.audit.record import EVENTS, canonical, confirmation_body, decision_body, new_decision_id, \
    parse_timestamp, policy_revision, timestamp
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog
from policylang.settings import AuditSettings
from policylang.verdict import Decision

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_canonical_json_is_json_dumps_sorted_compact_ascii(value: Any) -> None:
    assert canonical(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": float("nan")}, {"a": object()}, b"bytes",
                                   [{"a": {1, 2}}]])
def test_canonical_json_refuses_what_json_cannot_hold_canonically(value: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        canonical(value)


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=16, max_size=200), st.binary(max_size=300))
def test_hmac_is_rfc_2104_hmac_sha256(key: bytes, message: bytes) -> None:
    assert Key(key).mac(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10 ** 15), st.text(max_size=40), st.booleans())
def test_a_sealed_line_is_json_and_its_head_gives_hash_and_seq(seq: int, action: str, keyed: bool) -> None:
    key = Key(b"k" * 32) if keyed else None
    line, h = seal({"event": "decision", "input": {"action": action}}, seq, GENESIS, key)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    rec = json.loads(line)
    assert rec["seq"] == seq and rec["hash"] == h and rec["prev"] == GENESIS
    assert record_hash(rec, key) == h
    assert line_head(line.rstrip(b"\n")) == (h, seq)
    assert rec["alg"] == ("hmac-sha256" if keyed else "sha256") and ("key_id" in rec) is keyed


@pytest.mark.parametrize("line", [b"", b"{}", b'{"hash":"abc","seq":1}', b'{"seq":1,"hash":"' + b"a" * 64 + b'"}',
                                  b'{"hash":"' + b"g" * 64 + b'","seq":1,"x":1}',
                                  b'{"hash":"' + b"a" * 64 + b'","seq":x,"x":1}'])
def test_line_head_refuses_other_lines(line: bytes) -> None:
    assert line_head(line) is None


def test_timestamps_and_ids() -> None:
    ts = timestamp(1_700_000_000_123_456_789)
    assert ts == "2023-11-14T22:13:20.123456Z"
    assert parse_timestamp(ts) == pytest.approx(1_700_000_000.123456)
    ids = {new_decision_id() for _ in range(1000)}
    assert len(ids) == 1000
    for i in ids:
        assert len(i) == 36 and i[14] == "4" and i[19] in "89ab"


def test_a_confirmation_record_names_its_decision_and_how_it_ended() -> None:
    rec = confirmation_body("d-1", status="rejected", how="timeout", by="analyzer", waited_ms=300_000,
                            reason="analyzer:confirmation-timeout: no confirmation within 300 seconds", action_id=7,
                            entry="analyzer", ts="t")
    assert {k: v for k, v in rec.items() if k != "labels"} == {
        "event": "confirmation", "decision_id": "d-1", "timestamp": "t",
        "confirmation": {"status": "rejected", "how": "timeout", "by": "analyzer", "waited_ms": 300_000,
                         "reason": "analyzer:confirmation-timeout: no confirmation within 300 seconds",
                         "action_id": 7}}
    assert rec["labels"]["entry"] == "analyzer" and "confirmation" in EVENTS
    for status, how in (("maybe", "person"), ("confirmed", "by-magic"), ("", "")):
        with pytest.raises(ValueError):
            confirmation_body("d", status=status, how=how, by="x", waited_ms=0, reason=None, action_id=None,
                              entry="e", ts="t")


# ---- the revision ---------------------------------------------------------------------------------

def test_the_revision_follows_the_sources_and_settings() -> None:
    a = policylang.from_text("rule r1: deny exec make\n")
    b = policylang.from_text("rule r1: deny exec make\n")
    assert policy_revision(a) == policy_revision(b)
    assert policy_revision(a).startswith("sha256:") and len(policy_revision(a)) == 7 + 64
    assert policy_revision(policylang.from_text("rule r1: ask exec make\n")) != policy_revision(a)
    assert policy_revision(a.with_settings(mode="execute")) != policy_revision(a)


# ---- what a record holds --------------------------------------------------------------------------

def test_a_decision_record_holds_the_verdict_and_only_the_actions_text() -> None:
    policy = policylang.from_text(
        'rule no.force: deny exec git push ... --force ...  risk high  message "rewrites history"\n')
    action = Command("git push --force origin main", cwd="/home/someone/project", env={"TOKEN": "s3cr3t-value"})
    v = policy.decide(action, Context(principal="alice", role="admin", session="s-1"))
    rec = decision_body(v, Context(principal="alice", role="admin", session="s-1"), revision="sha256:x",
                        entry="test", locations={"no.force": "<policy>:1:1"}, ts="t", decision_id="d")
    assert rec["input"] == {"kind": "command", "action": "git push --force origin main", "principal": "alice",
                            "role": "admin", "session": "s-1", "interactive": True}
    assert rec["result"]["decision"] == "deny" and rec["result"]["risk"] == "high"
    assert {"id": "no.force", "location": "<policy>:1:1"} in rec["result"]["rules"]
    assert rec["result"]["reasons"][0]["rule"] == "no.force"
    assert rec["result"]["reasons"][0]["location"] == "<policy>:1:1"
    assert rec["result"]["programs"] == ["git"] and rec["result"]["effects"]["exec"] >= 1
    text = canonical(rec)
    assert "s3cr3t" not in text and "/home/someone" not in text  # the env and cwd are not the action's text


def test_the_record_holds_the_truncated_action_as_the_verdict_does() -> None:
    policy = policylang.from_text("")
    v = policy.decide(Command("echo " + "a" * 10_000))
    rec = decision_body(v, None, revision="r", entry="e", locations={}, ts="t", decision_id="d")
    assert rec["input"]["action"] == v.action and len(v.action) < 5000
    assert rec["input"]["principal"] == "user"  # the default context


# ---- the Python API -----------------------------------------------------------------------------

def write_config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "config.toml"
    config.write_text(f'[security.audit]\npath = "{tmp_path / "log" / "audit.jsonl"}"\n{extra}')
    return config


def decisions(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "log" / "audit.jsonl"
    if not path.exists():
        return []
    return [r for r in map(json.loads, path.read_text().splitlines()) if r["event"] == "decision"]


def test_load_records_only_when_the_caller_opts_in(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    plain = policylang.load(config)
    plain.decide("git status")
    assert not isinstance(plain, AuditedPolicy) and decisions(tmp_path) == []
    policy = policylang.load(config, audit=True)
    assert isinstance(policy, AuditedPolicy)
    verdicts = [policy.decide(c) for c in ("git status", "rm -rf /", "ls")]
    policy.audit_log.flush(timeout=60)
    got = decisions(tmp_path)
    assert [r["input"]["action"] for r in got] == ["git status", "rm -rf /", "ls"]
    assert [r["result"]["decision"] for r in got] == [v.decision.label for v in verdicts]
    assert {r["labels"]["entry"] for r in got} == {"python.decide"}
    assert {r["revision"] for r in got} == {policy_revision(policy)}
    assert verify([str(tmp_path / "log")]).valid


def test_load_does_not_record_when_the_settings_disable_the_log(tmp_path: Path) -> None:
    config = write_config(tmp_path, "enabled = false\n")
    policy = policylang.load(config, audit=True)
    assert not isinstance(policy, AuditedPolicy)
    policy.decide("ls")
    assert not (tmp_path / "log").exists()


def test_an_audited_policy_records_cache_hits_and_threads(tmp_path: Path) -> None:
    policy = policylang.load(write_config(tmp_path), audit=True)
    assert isinstance(policy, AuditedPolicy)

    def work() -> None:
        for _ in range(25):
            policy.decide("git status")  # the second and later are verdict-cache hits

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    policy.explain("ls")
    policy.with_settings(headless=True).decide("pip install x")
    policy.audit_log.flush(timeout=60)
    got = decisions(tmp_path)
    assert len(got) == 102
    assert [r["labels"]["entry"] for r in got[-2:]] == ["python.explain", "python.decide"]
    assert got[-1]["result"]["decision"] == "deny"  # headless: ask became deny
    assert verify([str(tmp_path / "log")]).valid


def _unwritable(tmp_path: Path) -> AuditSettings:
    (tmp_path / "file").write_text("")
    return AuditSettings(path=str(tmp_path / "file" / "audit.jsonl"))


@pytest.mark.parametrize(("on_failure", "expected"), [("warn", Decision.ALLOW), ("deny", Decision.DENY)])
def test_a_record_that_cannot_be_written_never_loosens_a_verdict(tmp_path: Path, on_failure: str,
                                                                 expected: Decision) -> None:
    settings_ = _unwritable(tmp_path)
    policy = policylang.load()
    log = AuditLog.from_settings(settings_, background=False)
    wrapped = audited(policy, log, settings=AuditSettings(path=settings_.path, on_failure=on_failure))
    v = wrapped.decide("git status")
    assert v.decision is expected
    if expected is Decision.DENY:
        assert v.reasons[0].rule == "error:audit"
    assert wrapped.decide("rm -rf /").decision is Decision.DENY  # a deny stays a deny either way


def test_with_a_background_log_a_failure_denies_the_decisions_after_it(tmp_path: Path) -> None:
    settings_ = _unwritable(tmp_path)
    log = AuditLog.from_settings(settings_, background=True, on_error=lambda exc: None)
    wrapped = audited(policylang.load(), log, settings=AuditSettings(path=settings_.path, on_failure="deny"))
    wrapped.decide("git status")
    log.flush(timeout=60)
    assert log.error is not None
    assert wrapped.decide("git status").decision is Decision.DENY
    log.close()


def test_audit_true_warns_when_the_background_write_fails(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    config = tmp_path / "config.toml"
    config.write_text(f'[security.audit]\npath = "{tmp_path / "file" / "audit.jsonl"}"\n')
    policy = policylang.load(config, audit=True)
    assert isinstance(policy, AuditedPolicy)
    with pytest.warns(RuntimeWarning, match="policylang audit"):
        assert policy.decide("git status").decision is Decision.ALLOW
        policy.audit_log.flush(timeout=60)


def test_the_documented_example_record_verifies() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text()
    example = json.loads(doc.split("```json\n", 1)[1].split("```", 1)[0])
    assert example["hash"] == record_hash(example, Key(b"an-example-key-of-32-bytes-long!!"))
    assert example["key_id"] == Key(b"an-example-key-of-32-bytes-long!!").key_id


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 ** 62))
def test_a_timestamp_reads_back_as_datetime_reads_it(ns: int) -> None:
    from datetime import datetime

    ts = timestamp(ns % (250_000_000_000 * 10 ** 9))
    expected = datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    assert parse_timestamp(ts) == pytest.approx(expected, abs=1e-6)
