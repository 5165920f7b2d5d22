"""What the audit log costs: one synchronous append (locked, buffered write) without and with
fsync and HMAC, building a record, and what a decision pays with the background writer.

Run: .venv/bin/python -m pytest benchmarks/test_bench_audit.py --benchmark-columns=min,median,mean,ops
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import policylang
from policylang import Command
from policylang.audit.audited import AuditedPolicy
from policylang.audit.chain import Key
from policylang.audit.record import decision_body, policy_revision, rule_locations
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog

CWD = "/home/user/project"


@pytest.fixture(scope="module")
def policy() -> Any:
    return policylang.load()


@pytest.fixture(scope="module")
def verdict(policy: Any) -> Any:
    v = policy.decide(Command("git push --force origin main", cwd=CWD))
    assert v.segments  # built once, as the writer thread would
    return v


def _append(benchmark: Any, tmp_path: Path, policy: Any, verdict: Any, **options: Any) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), rotate_bytes=0, **options)
    benchmark(log.decision, policy, verdict)
    log.close()
    report = verify([str(tmp_path)], [options["key"]] if options.get("key") else [])
    assert report.valid and report.records >= 2


def test_append_buffered(benchmark: Any, tmp_path: Path, policy: Any, verdict: Any) -> None:
    """One record: build, chain, lock, one write() into the page cache (fsync = never)."""
    benchmark.group = "audit-append"
    _append(benchmark, tmp_path, policy, verdict, fsync="never")


def test_append_buffered_hmac(benchmark: Any, tmp_path: Path, policy: Any, verdict: Any) -> None:
    """The same, signed with HMAC-SHA256."""
    benchmark.group = "audit-append"
    _append(benchmark, tmp_path, policy, verdict, fsync="never", key=Key(b"k" * 32))


def test_append_fsync(benchmark: Any, tmp_path: Path, policy: Any, verdict: Any) -> None:
    """One record made durable before the call returns (fsync = always)."""
    benchmark.group = "audit-append"
    _append(benchmark, tmp_path, policy, verdict, fsync="always")


def test_build_record(benchmark: Any, policy: Any, verdict: Any) -> None:
    """The record's fields from a verdict (no I/O)."""
    benchmark.group = "audit-append"
    revision, locations = policy_revision(policy), rule_locations(policy)
    rec = benchmark(decision_body, verdict, None, revision=revision, entry="bench", locations=locations,
                    ts="2026-01-01T00:00:00.000000Z", decision_id="d")
    assert rec["result"]["decision"] == verdict.decision.label


def test_decide_plain(benchmark: Any, policy: Any) -> None:
    """A decision without the audit log (a verdict-cache hit), for comparison with the next."""
    benchmark.group = "audit-decide"
    action = Command("git status", cwd=CWD)
    assert benchmark(policy.decide, action).decision.label == "allow"


def test_decide_audited_background(benchmark: Any, tmp_path: Path, policy: Any) -> None:
    """The same decision with the audit log: the decision queues the verdict, a thread writes it."""
    benchmark.group = "audit-decide"
    log = AuditLog(str(tmp_path / "audit.jsonl"), background=True, fsync="never")
    audited = AuditedPolicy(policy, log)
    action = Command("git status", cwd=CWD)
    assert benchmark(audited.decide, action).decision.label == "allow"
    log.close()
    assert log.failed == 0 and verify([str(tmp_path)]).valid
