"""Verifying the audit log: every kind of tampering is found, with the right kind and line, with
and without HMAC (policylang/audit/verify.py, docs/audit.md)."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from policylang.audit.chain import Key, record_hash, seal
from policylang.audit.verify import PROBLEM_KINDS, UsageError, verify
from policylang.audit.writer import AuditLog

KEY = Key(b"an audit key of thirty-two bytes")
OTHER = Key(b"another key, also long enough!!!")
ACTIONS = ["git status", "rm -rf /", "ls -la", "curl x | sh", "cat ~/.ssh/id_rsa", "make", "pip install x", "pwd"]


def body(i: int) -> dict[str, Any]:
    decision = ["allow", "deny", "ask"][i % 3]
    return {"event": "decision", "decision_id": f"id-{i}", "timestamp": f"2026-01-01T00:00:{i:02d}.000000Z",
            "input": {"kind": "command", "action": ACTIONS[i % len(ACTIONS)], "principal": "user", "role": "user",
                      "session": None, "interactive": True},
            "result": {"decision": decision, "risk": "high", "reasons": [{"rule": f"r{i}", "message": "m",
                                                                         "decision": decision, "risk": "high",
                                                                         "location": "a.policy:1:1"}],
                       "rules": [], "effects": {"exec": 1}, "programs": ["x"], "warnings": []},
            "revision": "sha256:" + "ab" * 32, "labels": {"app": "policylang", "entry": "test", "pid": 1}}


def make_log(directory: Path, key: Key | None, n: int = 8, **options: Any) -> Path:
    log = AuditLog(str(directory / "audit.jsonl"), key=key, fsync="never", **options)
    for i in range(n):
        log.append(body(i))
    log.close()
    return directory / "audit.jsonl"


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


def write_lines(path: Path, content: list[str]) -> None:
    path.write_text("".join(content))


def check(path: Path | list[Path], key: Key | None) -> tuple[str | None, int | None]:
    paths = [str(p) for p in path] if isinstance(path, list) else [str(path)]
    r = verify(paths, [key] if key else [])
    return (r.problem.kind, r.problem.line) if r.problem else (None, None)


KEYS = pytest.mark.parametrize("key", [None, KEY], ids=["plain", "hmac"])


@KEYS
def test_an_untouched_log_is_valid(tmp_path: Path, key: Key | None) -> None:
    path = make_log(tmp_path, key)
    r = verify([str(path)], [key] if key else [])
    assert r.valid and r.problem is None
    assert r.records == 9  # the open record and eight decisions
    assert r.first is not None and r.first.seq == 1 and r.first.line == 1
    assert r.last is not None and r.last.seq == 9 and r.last.line == 9 and r.last.decision_id == "id-7"
    assert r.keyed is (key is not None) and r.notes == []


def _set(rec: dict[str, Any], dotted: str, change: Callable[[Any], Any]) -> None:
    *parents, last = dotted.split(".")
    target: Any = rec
    for p in parents:
        target = target[int(p)] if isinstance(target, list) else target[p]
    if isinstance(target, list):
        target[int(last)] = change(target[int(last)])
    else:
        target[last] = change(target[last])


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value[:-1] + ("0" if value[-1:] != "0" else "1")
    if value is None:
        return "x"
    if isinstance(value, dict):
        return {**value, "extra": 1}
    if isinstance(value, list):
        return value + ["extra"]
    raise AssertionError(value)


FIELDS = ["hash", "seq", "prev", "alg", "decision_id", "timestamp", "event", "revision", "input", "input.action",
          "input.kind", "input.principal", "input.session", "input.interactive", "result", "result.decision",
          "result.risk", "result.reasons.0.rule", "result.reasons.0.location", "result.effects.exec",
          "result.programs.0", "labels.pid", "labels.entry"]


@KEYS
@pytest.mark.parametrize("dotted", FIELDS + ["key_id"])
def test_changing_any_field_of_a_record_is_field_modified_at_its_line(tmp_path: Path, key: Key | None,
                                                                      dotted: str) -> None:
    if dotted == "key_id" and key is None:
        pytest.skip("an unsigned record has no key id")
    path = make_log(tmp_path, key)
    content = lines(path)
    rec = json.loads(content[4])
    _set(rec, dotted, _changed)
    content[4] = json.dumps(rec) + "\n"
    write_lines(path, content)
    assert check(path, key) == ("field_modified", 5)


@KEYS
@pytest.mark.parametrize("dotted", ["file_index", "timestamp", "labels.entry"])
def test_changing_the_open_record_is_field_modified_at_line_1(tmp_path: Path, key: Key | None, dotted: str) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    rec = json.loads(content[0])
    _set(rec, dotted, _changed)
    content[0] = json.dumps(rec) + "\n"
    write_lines(path, content)
    assert check(path, key) == ("field_modified", 1)


def test_a_record_rewritten_and_rehashed_without_a_key_breaks_the_next_link(tmp_path: Path) -> None:
    path = make_log(tmp_path, None)
    content = lines(path)
    rec = json.loads(content[3])
    rec["result"]["decision"] = "allow"
    rec["hash"] = record_hash(rec, None)
    content[3] = json.dumps(rec) + "\n"
    write_lines(path, content)
    assert check(path, None) == ("field_modified", 4)


def test_a_record_rewritten_and_signed_with_another_key_is_field_modified(tmp_path: Path) -> None:
    path = make_log(tmp_path, KEY)
    content = lines(path)
    rec = json.loads(content[3])
    rec["result"]["decision"] = "allow"
    rec["hash"] = record_hash(rec, OTHER)  # keeps KEY's id: the forger does not have KEY
    content[3] = json.dumps(rec) + "\n"
    write_lines(path, content)
    assert check(path, KEY) == ("field_modified", 4)


@KEYS
@pytest.mark.parametrize(("deleted", "line"), [([3], 4), ([3, 4], 4), ([7], 8), ([1], 2)])
def test_deleting_records_is_record_deleted_where_they_were(tmp_path: Path, key: Key | None, deleted: list[int],
                                                             line: int) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    write_lines(path, [x for i, x in enumerate(content) if i not in deleted])
    assert check(path, key) == ("record_deleted", line)


@KEYS
def test_deleting_the_open_record_is_record_deleted_at_line_1(tmp_path: Path, key: Key | None) -> None:
    path = make_log(tmp_path, key)
    write_lines(path, lines(path)[1:])
    assert check(path, key) == ("record_deleted", 1)


@KEYS
@pytest.mark.parametrize(("order", "line"), [
    ([0, 1, 2, 4, 3, 5, 6, 7, 8], 4),   # two neighbours swapped
    ([0, 1, 5, 3, 4, 2, 6, 7, 8], 3),   # two records apart swapped
    ([0, 1, 3, 4, 5, 2, 6, 7, 8], 3),   # one moved later
    ([0, 1, 6, 2, 3, 4, 5, 7, 8], 3),   # one moved earlier
    ([0, 1, 2, 3, 4, 5, 6, 8, 7], 8),   # the last two swapped
])
def test_reordering_records_is_records_reordered(tmp_path: Path, key: Key | None, order: list[int], line: int) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    write_lines(path, [content[i] for i in order])
    assert check(path, key) == ("records_reordered", line)


@KEYS
@pytest.mark.parametrize(("copied", "at"), [(2, 5), (7, 4), (0, 3)])
def test_a_copied_record_is_record_inserted_where_it_was_put(tmp_path: Path, key: Key | None, copied: int,
                                                            at: int) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    content.insert(at, content[copied])
    write_lines(path, content)
    assert check(path, key) == ("record_inserted", at + 1)


@KEYS
def test_a_forged_record_chained_in_is_record_inserted(tmp_path: Path, key: Key | None) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    before = json.loads(content[3])
    forged = body(99)
    forged["result"]["decision"] = "allow"
    # the forger chains it to line 4 and signs it as best he can (without the key: with another one)
    line, _ = seal(forged, before["seq"] + 1, before["hash"], OTHER if key else None)
    if key is not None:
        rec = json.loads(line)
        rec["key_id"] = key.key_id
        line = (json.dumps(rec) + "\n").encode()
    content.insert(4, line.decode())
    write_lines(path, content)
    assert check(path, key) == ("record_inserted", 5)


@KEYS
def test_a_line_cut_short_at_the_end_is_tail_truncated(tmp_path: Path, key: Key | None) -> None:
    path = make_log(tmp_path, key)
    data = path.read_bytes()
    path.write_bytes(data[:-40])
    assert check(path, key) == ("tail_truncated", 9)


@KEYS
@pytest.mark.parametrize("garbage", ["not json at all\n", "[1, 2]\n", "{\"a\": 1}\n", "\n", "{\"seq\": 1\n"])
def test_a_line_that_is_not_a_record_is_bad_json(tmp_path: Path, key: Key | None, garbage: str) -> None:
    path = make_log(tmp_path, key)
    content = lines(path)
    content[5] = garbage
    write_lines(path, content)
    assert check(path, key) == ("bad_json", 6)


def test_a_signed_log_checked_with_another_key_is_wrong_key(tmp_path: Path) -> None:
    path = make_log(tmp_path, KEY)
    assert check(path, OTHER) == ("wrong_key", 1)
    assert check(path, None) == ("wrong_key", 1)
    r = verify([str(path)], [OTHER, KEY])  # a log whose key was changed is checked with each
    assert r.valid and r.records == 9


def test_a_log_rewritten_without_the_key_is_wrong_key(tmp_path: Path) -> None:
    path = make_log(tmp_path, KEY)
    forged = []
    prev, seq = "0" * 64, 0
    for text in lines(path):
        rec = json.loads(text)
        for f in ("hash", "seq", "prev", "alg", "key_id"):
            rec.pop(f)
        seq += 1
        line, prev = seal(rec, seq, prev, None)
        forged.append(line.decode())
    write_lines(path, forged)
    assert check(path, None) == (None, None)  # consistent in itself ...
    assert check(path, KEY) == ("wrong_key", 1)  # ... but not signed with the operator's key


# ---- several files -----------------------------------------------------------------------------

def rotated_log(tmp_path: Path, key: Key | None) -> list[Path]:
    make_log(tmp_path, key, n=24, rotate_bytes=2500, keep=100)
    files = sorted(p for p in tmp_path.iterdir() if p.name.startswith("audit.jsonl."))
    assert len(files) >= 4
    return files + [tmp_path / "audit.jsonl"]


@KEYS
def test_a_rotated_log_verifies_across_its_files(tmp_path: Path, key: Key | None) -> None:
    files = rotated_log(tmp_path, key)
    r = verify([str(tmp_path)], [key] if key else [])
    assert r.valid and r.files == [str(f) for f in files]
    assert r.records == 24 + len(files)  # every decision, and one open record per file
    assert r.first is not None and r.first.seq == 1 and r.last is not None and r.last.file == str(files[-1])


@KEYS
def test_a_missing_file_is_a_chain_gap_at_the_start_of_the_next(tmp_path: Path, key: Key | None) -> None:
    files = rotated_log(tmp_path, key)
    files[1].unlink()
    assert check(tmp_path, key) == ("chain_gap", 1)
    r = verify([str(tmp_path)], [key] if key else [])
    assert r.problem is not None and r.problem.file == str(files[2])


@KEYS
def test_swapped_files_are_files_reordered(tmp_path: Path, key: Key | None) -> None:
    files = rotated_log(tmp_path, key)
    swap = tmp_path / "swap"
    files[1].rename(swap)
    files[2].rename(files[1])
    swap.rename(files[2])
    r = verify([str(tmp_path)], [key] if key else [])
    assert r.problem is not None and (r.problem.kind, r.problem.line, r.problem.file) == (
        "files_reordered", 1, str(files[1]))
    files[1].rename(swap)  # put them back ...
    files[2].rename(files[1])
    swap.rename(files[2])
    assert check(tmp_path, key) == (None, None)
    given = [files[0], files[2], files[1], files[3]]  # ... and name them out of order on the command line
    r = verify([str(f) for f in given], [key] if key else [])
    assert r.problem is not None and (r.problem.kind, r.problem.file) == ("files_reordered", str(files[2]))


@KEYS
def test_a_record_deleted_in_a_rotated_file_is_found_there(tmp_path: Path, key: Key | None) -> None:
    files = rotated_log(tmp_path, key)
    content = lines(files[2])
    del content[1]
    write_lines(files[2], content)
    r = verify([str(tmp_path)], [key] if key else [])
    assert r.problem is not None and (r.problem.kind, r.problem.file, r.problem.line) == (
        "record_deleted", str(files[2]), 2)


@KEYS
def test_records_cut_from_the_end_of_a_rotated_file_are_found_at_the_next(tmp_path: Path, key: Key | None) -> None:
    files = rotated_log(tmp_path, key)
    write_lines(files[1], lines(files[1])[:-1])
    r = verify([str(tmp_path)], [key] if key else [])
    assert r.problem is not None and (r.problem.kind, r.problem.file, r.problem.line) == (
        "record_deleted", str(files[2]), 1)


def test_the_oldest_files_gone_is_what_keep_does_and_is_noted(tmp_path: Path) -> None:
    files = rotated_log(tmp_path, None)
    files[0].unlink()
    r = verify([str(tmp_path)])
    assert r.valid and r.first is not None and r.first.seq > 1
    assert any("starts at seq" in n for n in r.notes)


def test_paths_that_are_not_a_log_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        verify([str(tmp_path / "nothing")])
    with pytest.raises(UsageError):
        verify([str(tmp_path)])  # an empty directory
    make_log(tmp_path, None)
    (tmp_path / "other.jsonl").write_text("")
    with pytest.raises(UsageError):
        verify([str(tmp_path)])  # two logs


def test_every_problem_kind_is_documented() -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text()
    for kind in PROBLEM_KINDS:
        assert f"`{kind}`" in doc


def test_report_json_carries_the_problem(tmp_path: Path) -> None:
    path = make_log(tmp_path, None)
    content = lines(path)
    del content[3]
    write_lines(path, content)
    out = verify([str(path)]).to_json()
    assert out["valid"] is False and out["records"] == 3
    assert out["problem"]["kind"] == "record_deleted" and out["problem"]["line"] == 4
    assert out["problem"]["file"] == str(path) and os.path.isabs(out["problem"]["file"])


# ---- confirmation and outcome records -----------------------------------------------------------

@KEYS
@pytest.mark.parametrize("dotted", ["confirmation.status", "confirmation.how", "confirmation.by",
                                    "confirmation.waited_ms", "decision_id"])
def test_changing_a_confirmation_record_is_field_modified(tmp_path: Path, key: Key | None, dotted: str) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), key=key, fsync="never")
    log.append(body(0))
    log.confirmation("id-0", status="rejected", how="person", by="user", waited_ms=1200, reason="no")
    log.append(body(1))
    log.close()
    path = tmp_path / "audit.jsonl"
    assert check(path, key) == (None, None)
    content = lines(path)
    rec = json.loads(content[2])
    _set(rec, dotted, _changed)
    content[2] = json.dumps(rec) + "\n"
    write_lines(path, content)
    assert check(path, key) == ("field_modified", 3)


def test_a_follow_up_whose_decision_is_not_in_the_files_is_a_note(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"), fsync="never", rotate_bytes=1)  # a file per record
    log.append(body(0))
    log.confirmation("id-0", status="confirmed", how="automatic", by="analyzer")
    log.outcome("id-0", executed=True, exit_code=0)
    log.close()
    whole = verify([str(tmp_path)])
    assert whole.valid and whole.notes == []
    assert len(list(tmp_path.glob("audit.jsonl*"))) == 3
    second = str(tmp_path / "audit.jsonl.000002")  # its open record and the confirmation
    later = verify([second, str(tmp_path / "audit.jsonl")])
    assert later.valid
    assert later.notes[-1].startswith("2 outcome or confirmation record(s) (the first at "
                                      f"{second}:2) follow a decision that is not in the files checked")
    orphan = AuditLog(str(tmp_path / "other" / "audit.jsonl"), fsync="never")
    orphan.confirmation("never-decided", status="confirmed", how="person", by="user")
    orphan.append({"event": "outcome", "decision_id": {"not": "an id"}})
    orphan.close()
    report = verify([str(tmp_path / "other")])
    assert report.valid and len(report.notes) == 1 and report.notes[0].startswith("2 outcome or confirmation")
