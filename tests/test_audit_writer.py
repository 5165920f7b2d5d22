"""Writing the audit log: permissions, rotation by size and by time with ``keep``, crash recovery,
the fsync policy, real processes appending at once, background appends
(policylang/audit/writer.py)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from policylang.audit import writer as writer_module
from policylang.audit.chain import Key
from policylang.audit.record import AuditError
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog
from policylang.settings import AuditSettings

KEY = Key(b"an audit key of thirty-two bytes")


def body(i: int, who: str = "t") -> dict[str, Any]:
    return {"event": "decision", "decision_id": f"{who}-{i}", "timestamp": "2026-01-01T00:00:00.000000Z",
            "input": {"kind": "command", "action": f"echo {i}"}, "result": {"decision": "allow", "risk": "low"}}


def records(directory: Path) -> list[dict[str, Any]]:
    out = []
    files = sorted(p for p in directory.iterdir() if p.name.startswith("audit.jsonl."))
    for path in files + [directory / "audit.jsonl"]:
        for line in path.read_text().splitlines():
            out.append(json.loads(line))
    return out


def test_the_directory_is_0700_and_the_files_0600(tmp_path: Path) -> None:
    d = tmp_path / "deep" / "audit"
    log = AuditLog(str(d / "audit.jsonl"))
    log.append(body(1))
    log.close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for p in d.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_an_existing_directory_of_ours_is_made_0700_and_a_loose_file_0600(tmp_path: Path) -> None:
    d = tmp_path / "audit"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    (d / "audit.jsonl").touch()
    (d / "audit.jsonl").chmod(0o644)
    log = AuditLog(str(d / "audit.jsonl"))
    log.append(body(1))
    log.close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "audit.jsonl").stat().st_mode) == 0o600


def test_a_symbolic_link_in_place_of_the_log_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / "audit.jsonl").symlink_to(tmp_path / "elsewhere")
    log = AuditLog(str(tmp_path / "audit.jsonl"))
    with pytest.raises(AuditError, match="symbolic link"):
        log.append(body(1))
    assert log.error is not None and log.failed == 1
    assert (tmp_path / "elsewhere").read_text() == ""


def test_a_log_that_cannot_be_created_raises_audit_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    log = AuditLog(str(tmp_path / "file" / "audit.jsonl"))
    with pytest.raises(AuditError):
        log.append(body(1))


def test_the_chain_continues_across_writers_and_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    a, b = AuditLog(path, key=KEY), AuditLog(path, key=KEY)
    for i in range(5):
        a.append(body(i, "a"))
        b.append(body(i, "b"))
    a.close()
    b.close()
    r = verify([path], [KEY])
    assert r.valid and r.records == 11
    assert [x["seq"] for x in records(tmp_path)] == list(range(1, 12))


# ---- rotation -----------------------------------------------------------------------------------

def test_rotation_by_size_keeps_keep_files_and_the_chain(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), rotate_bytes=1500, keep=3)
    for i in range(40):
        log.append(body(i))
    log.close()
    rotated = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("audit.jsonl."))
    assert len(rotated) == 3
    indexes = [int(n.rsplit(".", 1)[1]) for n in rotated]
    assert indexes == list(range(indexes[0], indexes[0] + 3))  # the newest three, consecutive
    for p in tmp_path.glob("audit.jsonl*"):
        assert p.stat().st_size <= 1500
    r = verify([str(tmp_path)])
    assert r.valid and r.last is not None and r.last.decision_id == "t-39"
    recs = records(tmp_path)
    seqs = [x["seq"] for x in recs]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    opens = [x for x in recs if x["event"] == "open"]
    assert [o["file_index"] for o in opens] == indexes + [indexes[-1] + 1]


def test_a_record_larger_than_rotate_bytes_is_written_whole(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), rotate_bytes=100, keep=10)
    for i in range(3):
        log.append(body(i))
    log.close()
    r = verify([str(tmp_path)])
    assert r.valid and r.records == 3 + 3  # each file: its open record and one decision
    assert len(list(tmp_path.glob("audit.jsonl.*"))) == 2


def test_keep_zero_keeps_only_the_active_file(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), rotate_bytes=600, keep=0)
    for i in range(10):
        log.append(body(i))
    log.close()
    assert [p.name for p in tmp_path.glob("audit.jsonl*")] == ["audit.jsonl"]
    r = verify([str(tmp_path)])
    assert r.valid and any("starts at seq" in n for n in r.notes)


def test_rotation_by_time(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    log = AuditLog(path, rotate_seconds=1, keep=5)
    log.append(body(1))
    log.append(body(2))
    assert not list(tmp_path.glob("audit.jsonl.*"))
    time.sleep(1.1)
    later = AuditLog(path, rotate_seconds=1, keep=5)  # a new process learns the file's age from its open record
    later.append(body(3))
    later.close()
    log.close()
    assert [p.name for p in tmp_path.glob("audit.jsonl.*")] == ["audit.jsonl.000001"]
    r = verify([str(tmp_path)])
    assert r.valid and r.records == 3 + 2


# ---- crashes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, KEY], ids=["plain", "hmac"])
def test_a_partial_last_line_is_reported_then_acknowledged_by_the_next_append(tmp_path: Path,
                                                                              key: Key | None) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), key=key)
    for i in range(3):
        log.append(body(i))
    log.close()
    whole = path.read_bytes()
    last = whole.rstrip(b"\n").rsplit(b"\n", 1)[1]
    path.write_bytes(whole + last[: len(last) // 2])  # a crash in the middle of a write
    r = verify([str(path)], [key] if key else [])
    assert r.problem is not None and (r.problem.kind, r.problem.line) == ("tail_truncated", 5)
    nxt = AuditLog(str(path), key=key)
    nxt.append(body(3))
    nxt.close()
    r = verify([str(path)], [key] if key else [])
    assert r.valid, r.problem
    assert r.records == 6  # open, three decisions, the recovery record, the new decision
    assert any("cut short by a crash" in n for n in r.notes)
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.startswith("{\"hash\"") and x.endswith("}")]
    recovery = [x for x in recs if x["event"] == "recovery"]
    assert len(recovery) == 1 and recovery[0]["partial_offset"] == len(whole)
    assert recovery[0]["partial_bytes"] == len(last) // 2


def test_a_partial_line_with_no_record_before_it_is_handled(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"hash":"12')  # the first write of a log cut short
    log = AuditLog(str(path))
    log.append(body(1))
    log.close()
    r = verify([str(path)])
    assert r.valid and r.records == 3 and r.first is not None and r.first.line == 2


def test_an_append_after_a_forged_partial_line_keeps_the_damage_visible(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path))
    log.append(body(1))
    log.close()
    with open(path, "ab") as fh:
        fh.write(b"garbage\n")  # a whole line that is not a record: not a crash, not acknowledged
    log = AuditLog(str(path))
    log.append(body(2))
    log.close()
    r = verify([str(path)])
    assert r.problem is not None and (r.problem.kind, r.problem.line) == ("bad_json", 3)


def test_a_deleted_active_file_is_started_again_and_noted(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(str(path), rotate_bytes=600, keep=5)
    for i in range(4):
        log.append(body(i))
    log.close()
    path.unlink()
    log = AuditLog(str(path), rotate_bytes=600, keep=5)
    log.append(body(9))
    log.close()
    r = verify([str(tmp_path)])
    assert r.valid and any("started again" in n for n in r.notes)


# ---- fsync --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("policy", "expected"), [("always", 5), ("never", 0), ("rotate", 1)])
def test_the_fsync_policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str, expected: int) -> None:
    calls: list[int] = []
    real = os.fsync
    monkeypatch.setattr(writer_module.os, "fsync", lambda fd: (calls.append(fd), real(fd))[1])
    log = AuditLog(str(tmp_path / "audit.jsonl"), fsync=policy)
    for i in range(5):
        log.append(body(i))
    log.close()  # "rotate" syncs here
    assert len(calls) == expected


def test_an_unknown_fsync_policy_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        AuditLog(str(tmp_path / "a.jsonl"), fsync="sometimes")


# ---- keys ---------------------------------------------------------------------------------------

def test_a_named_key_that_cannot_be_had_is_an_error(tmp_path: Path) -> None:
    audit = AuditSettings(path=str(tmp_path / "a" / "audit.jsonl"), hmac_key_env="AUDIT_KEY_X")
    with pytest.raises(AuditError, match="AUDIT_KEY_X"):
        AuditLog.from_settings(audit, env={})
    with pytest.raises(AuditError, match="at least"):
        AuditLog.from_settings(audit, env={"AUDIT_KEY_X": "short"})
    log = AuditLog.from_settings(audit, env={"AUDIT_KEY_X": "k" * 32})
    assert log.key is not None and log.key.key_id == Key(b"k" * 32).key_id


def test_a_key_file_must_be_private_and_outside_the_audit_directory(tmp_path: Path) -> None:
    d = tmp_path / "audit"
    d.mkdir()
    inside = d / "key"
    inside.write_bytes(b"k" * 32 + b"\n")
    inside.chmod(0o600)
    with pytest.raises(AuditError, match="inside the audit directory"):
        AuditLog.from_settings(AuditSettings(path=str(d / "audit.jsonl"), hmac_key_file=str(inside)), env={})
    outside = tmp_path / "key"
    outside.write_bytes(b"k" * 32 + b"\n")
    outside.chmod(0o644)
    with pytest.raises(AuditError, match="readable by others"):
        AuditLog.from_settings(AuditSettings(path=str(d / "audit.jsonl"), hmac_key_file=str(outside)), env={})
    outside.chmod(0o600)
    log = AuditLog.from_settings(AuditSettings(path=str(d / "audit.jsonl"), hmac_key_file=str(outside)), env={})
    assert log.key is not None and log.key.key_id == Key(b"k" * 32).key_id  # the newline is not part of it


# ---- concurrency --------------------------------------------------------------------------------

APPENDER = """
import sys
from policylang.audit.writer import AuditLog
from policylang.audit.chain import Key
path, who, n, rotate, keyed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
log = AuditLog(path, fsync="never", rotate_bytes=rotate, keep=1000, key=Key(b"k" * 32) if keyed else None)
for i in range(n):
    log.append({"event": "decision", "decision_id": f"{who}-{i}", "input": {"action": "x" * (i % 50)}})
log.close()
"""


@pytest.mark.parametrize(("rotate", "keyed"), [(0, False), (300_000, True)], ids=["one-file", "rotating-hmac"])
def test_eight_processes_append_a_thousand_records_each(tmp_path: Path, rotate: int, keyed: bool) -> None:
    path = tmp_path / "audit.jsonl"
    env = dict(os.environ, HOME=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", APPENDER, str(path), f"p{k}", "1000", str(rotate),
                               "1" if keyed else "0"], env=env) for k in range(8)]
    for p in procs:
        assert p.wait(timeout=300) == 0
    recs = records(tmp_path)
    ids = [x["decision_id"] for x in recs if x["event"] == "decision"]
    assert len(ids) == 8000 and set(ids) == {f"p{k}-{i}" for k in range(8) for i in range(1000)}
    for k in range(8):  # each process's records in its own order
        mine = [int(i.split("-")[1]) for i in ids if i.startswith(f"p{k}-")]
        assert mine == sorted(mine)
    r = verify([str(tmp_path)], [Key(b"k" * 32)] if keyed else [])
    assert r.valid, r.problem
    assert r.records == len(recs)
    if rotate:
        assert len(list(tmp_path.glob("audit.jsonl.*"))) >= 2


def test_threads_of_one_process_append_at_once(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), fsync="never", rotate_bytes=20_000, keep=1000)

    def work(k: int) -> None:
        for i in range(200):
            log.append(body(i, f"t{k}"))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.close()
    r = verify([str(tmp_path)])
    assert r.valid
    assert len([x for x in records(tmp_path) if x["event"] == "decision"]) == 800


def test_background_appends_are_written_by_flush(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), background=True, fsync="never")
    for i in range(100):
        log.append(body(i))
    assert log.flush(timeout=60)
    assert len([x for x in records(tmp_path) if x["event"] == "decision"]) == 100
    log.close()
    assert verify([str(tmp_path)]).valid


def test_a_background_failure_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    seen: list[BaseException] = []
    log = AuditLog(str(tmp_path / "file" / "audit.jsonl"), background=True, on_error=seen.append)
    log.append(body(1))
    log.flush(timeout=60)
    assert log.failed == 1 and isinstance(log.error, AuditError) and len(seen) == 1
    log.close()


def _child_appends(log: AuditLog, who: str) -> None:
    for i in range(200):
        log.append(body(i, who))
    log.close()


def test_a_forked_child_takes_its_own_lock(tmp_path: Path) -> None:
    import multiprocessing

    log = AuditLog(str(tmp_path / "audit.jsonl"), fsync="never")
    log.append(body(0, "parent"))  # the parent holds open descriptors when it forks
    ctx = multiprocessing.get_context("fork")
    children = [ctx.Process(target=_child_appends, args=(log, f"c{k}")) for k in range(3)]
    for c in children:
        c.start()
    for i in range(1, 200):
        log.append(body(i, "parent"))
    for c in children:
        c.join(timeout=120)
        assert c.exitcode == 0
    log.close()
    r = verify([str(tmp_path)])
    assert r.valid, r.problem
    assert len([x for x in records(tmp_path) if x["event"] == "decision"]) == 800


def test_a_full_queue_makes_appends_wait_and_drops_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "MAX_PENDING", 3)
    log = AuditLog(str(tmp_path / "audit.jsonl"), background=True, fsync="never")
    for i in range(300):
        log.append(body(i))
        assert len(log._queue) <= 3
    log.close()
    assert [x["decision_id"] for x in records(tmp_path) if x["event"] == "decision"] == [f"t-{i}" for i in range(300)]
    assert verify([str(tmp_path)]).valid


CRASHER = """
import os, sys
from policylang.audit import writer
from policylang.audit.writer import AuditLog
log = AuditLog(sys.argv[1], fsync="never")
log.append({"event": "decision", "decision_id": "before"})
real = os.write
def write_half_and_die(fd, data):
    real(fd, bytes(data[: len(data) // 2]))
    os._exit(3)  # the process dies in the middle of its write, holding the lock
writer.os.write = write_half_and_die
log.append({"event": "decision", "decision_id": "lost"})
"""


def test_a_process_that_dies_mid_append_leaves_a_line_the_next_one_handles(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    p = subprocess.run([sys.executable, "-c", CRASHER, str(path)], env=dict(os.environ, HOME=str(tmp_path)),
                       timeout=120)
    assert p.returncode == 3
    r = verify([str(path)])
    assert r.problem is not None and (r.problem.kind, r.problem.line) == ("tail_truncated", 3)
    log = AuditLog(str(path))  # the dead process's lock went with it
    log.append(body(1))
    log.close()
    r = verify([str(path)])
    assert r.valid and r.records == 4  # open, "before", the recovery record, the new one
    lines = path.read_text().splitlines()
    assert lines[2].startswith('{"hash":') and not lines[2].endswith("}")  # the half line, kept as evidence
    whole = [json.loads(x) for i, x in enumerate(lines) if i != 2]
    assert [x.get("decision_id") for x in whole if x["event"] == "decision"] == ["before", "t-1"]
    assert [x["event"] for x in whole] == ["open", "decision", "recovery", "decision"]
