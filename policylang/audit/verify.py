"""Verify an audit log: walk the chain over its files and name the first problem (docs/audit.md,
"Verify").

Each record's hash is recomputed (with the key whose id it carries, when it is signed), and each
record must follow the one before it: ``seq`` one higher, ``prev`` its hash.  The first break is
classified by looking at the records around it:

  field_modified     a record's hash does not match its content (or a rewritten record's hash is
                     not the one the next record chains to)
  record_deleted     records are missing (``seq`` jumps ahead and the missing ones are nowhere later)
  records_reordered  a record is out of place (the one expected comes later in the file)
  record_inserted    a record that is not part of the chain (the next record continues without it,
                     or it repeats one already seen)
  tail_truncated     the file ends in the middle of a line
  bad_json           a line is not JSON, or not an audit record
  chain_gap          a file does not continue from the last record of the file before it
  files_reordered    a file is out of order (its records come before the previous file's, or its
                     name's index is not the one its open record gives)
  wrong_key          a record is signed with a key none of those given matches, or is not signed
                     while a key is given (how a rewrite of the whole log without the key looks)

A partial line followed by the ``recovery`` record that acknowledges it (a crash, handled by the
next append) is a note, not a problem; so are ``outcome`` and ``confirmation`` records whose
decision is not in the files checked (rotated out, or in a file not given).  What no chain can show: records cut from the end at a line
boundary, or the oldest files deleted (which is what ``keep`` does); the report gives the first and
last record so that an operator can compare them with an earlier report.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from .chain import ALG_HMAC, ALG_PLAIN, GENESIS, Key, record_hash
from .record import sha256

PROBLEM_KINDS = ("field_modified", "record_deleted", "records_reordered", "record_inserted", "tail_truncated",
                 "bad_json", "chain_gap", "files_reordered", "wrong_key")
CHAIN_FIELDS = ("hash", "seq", "prev", "alg")
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_ROTATED = re.compile(r"(.+)\.(\d+)\Z")


class UsageError(ValueError):
    """A path that is not an audit log (missing, unreadable, or a directory of several logs)."""


@dataclass(frozen=True)
class Problem:
    """The first problem found: what, where (file and 1-based line), and in words."""

    kind: str
    file: str
    line: int
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "line": self.line, "message": self.message}


@dataclass(frozen=True)
class Position:
    """A record's place: file, line, ``seq``, and its time and decision id when it has them."""

    file: str
    line: int
    seq: int
    timestamp: str | None
    decision_id: str | None
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "seq": self.seq, "timestamp": self.timestamp,
                "decision_id": self.decision_id, "hash": self.hash}


@dataclass
class Report:
    """What ``verify`` found.  ``valid`` is true when no problem was found."""

    files: list[str]
    records: int = 0  # records checked (up to the first problem)
    first: Position | None = None
    last: Position | None = None
    problem: Problem | None = None
    keyed: bool = False  # every record checked was signed with a given key
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.problem is None

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "records": self.records, "files": self.files, "keyed": self.keyed,
                "first": self.first.to_json() if self.first else None,
                "last": self.last.to_json() if self.last else None,
                "problem": self.problem.to_json() if self.problem else None, "notes": list(self.notes)}


@dataclass
class _Line:
    number: int
    offset: int
    raw: bytes
    newline: bool
    record: dict[str, Any] | None
    error: str | None


# ---- which files --------------------------------------------------------------------------------

def log_files(paths: Sequence[str]) -> list[str]:
    """The files to verify, in chain order: a file as given; a directory as the files of the one
    log in it (rotated files by index, then the active file).  Raises UsageError."""
    out: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            out.extend(_directory_files(path))
        elif os.path.isfile(path):
            out.append(path)
        else:
            raise UsageError(f"no such audit file or directory: {path}")
    if not out:
        raise UsageError("no audit files to read")
    return out


def _directory_files(directory: str) -> list[str]:
    bases: dict[str, list[tuple[int, str]]] = {}
    for name in sorted(os.listdir(directory)):
        if name.startswith("."):
            continue
        m = _ROTATED.match(name)
        if m and m.group(1).endswith(".jsonl"):
            bases.setdefault(m.group(1), []).append((int(m.group(2)), name))
        elif name.endswith(".jsonl"):
            bases.setdefault(name, []).append((1 << 62, name))
    if not bases:
        raise UsageError(f"no audit log in {directory}")
    if len(bases) > 1:
        raise UsageError(f"{directory} holds several logs ({', '.join(sorted(bases))}): name the files")
    return [os.path.join(directory, name) for _, name in sorted(next(iter(bases.values())))]


# ---- reading ------------------------------------------------------------------------------------

def _read_lines(path: str) -> list[_Line]:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    out = []
    offset = 0
    number = 0
    while offset < len(data):
        end = data.find(b"\n", offset)
        newline = end >= 0
        if not newline:
            end = len(data)
        raw = data[offset:end]
        number += 1
        record: dict[str, Any] | None = None
        error = None
        try:
            value = json.loads(raw.decode("utf-8"))
            if isinstance(value, dict):
                record = value
            else:
                error = f"a JSON {type(value).__name__}, not a record"
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            error = f"not JSON: {exc}"
        out.append(_Line(number, offset, raw, newline, record, error))
        offset = end + 1
    return out


# ---- the walk -----------------------------------------------------------------------------------

class _Walk:
    def __init__(self, files: list[str], keys: Sequence[Key]):
        self.report = Report(files=files, keyed=bool(keys))
        self.keys = {k.key_id: k for k in keys}
        self.exp_seq: int | None = None
        self.exp_prev: str | None = None
        self.prev_line = 0
        self.seen: dict[str, tuple[str, int, int]] = {}  # hash -> (file, line, seq)
        self.seen_seqs: set[int] = set()
        self.file_index: int | None = None  # the open record's index of the file being walked
        self.firsts: list[dict[str, Any] | None] = []  # each file's first record
        self.decided: set[str] = set()  # the decision ids of the decision records checked
        self.unlinked: list[str] = []  # "file:line" of follow-ups whose decision was not among them

    def fail(self, kind: str, file: str, line: int, message: str) -> bool:
        self.report.problem = Problem(kind, file, line, message)
        return False

    def run(self) -> Report:
        contents = [_read_lines(path) for path in self.report.files]
        self.firsts = [_next_record(lines) for lines in contents]
        for i, path in enumerate(self.report.files):
            if not self.file(path, contents[i], i):
                break
        if self.unlinked:
            self.report.notes.append(f"{len(self.unlinked)} outcome or confirmation record(s) (the first at "
                                     f"{self.unlinked[0]}) follow a decision that is not in the files checked "
                                     "(rotated out, or in a file not given)")
        return self.report

    def file(self, path: str, lines: list[_Line], index: int) -> bool:
        first_in_file = True
        j = 0
        while j < len(lines):
            ln = lines[j]
            if not ln.newline:
                return self.fail("tail_truncated", path, ln.number,
                                 f"the file ends in the middle of line {ln.number} ({len(ln.raw)} bytes, no newline)")
            rec = ln.record
            if rec is None:
                ack = _acknowledged(ln, lines[j + 1:j + 4])
                if ack is None:
                    return self.fail("bad_json", path, ln.number, f"line {ln.number} is {ln.error}")
                self.report.notes.append(f"{path}:{ln.number}: a line cut short by a crash, acknowledged by the "
                                         f"recovery record on line {ack}")
                j += 1
                continue
            if not self.record(path, ln, lines[j + 1:], first_in_file, index):
                return False
            first_in_file = False
            j += 1
        return True

    def record(self, path: str, ln: _Line, later: list[_Line], first_in_file: bool, index: int) -> bool:
        rec = ln.record
        assert rec is not None
        n = ln.number
        missing = [f for f in CHAIN_FIELDS if f not in rec]
        if len(missing) == len(CHAIN_FIELDS):
            return self.fail("bad_json", path, n, f"line {n} is not an audit record (no {', '.join(CHAIN_FIELDS)})")
        if missing or not _well_formed(rec):
            what = f"its {', '.join(missing)} field is missing" if missing else "a chain field has the wrong form"
            return self.fail("field_modified", path, n, f"the record on line {n} was modified: {what}")
        key, problem = self._key_for(rec, later)
        if problem is not None:
            return self.fail(problem[0], path, n, problem[1])
        if record_hash(rec, key) != rec["hash"]:
            nxt = _next_record(later)
            if self.exp_seq is not None and nxt is not None and nxt.get("seq") == self.exp_seq \
                    and nxt.get("prev") == self.exp_prev:
                return self.fail("record_inserted", path, n, f"the record on line {n} is not part of the chain: "
                                 "the next record continues from the one before it")
            return self.fail("field_modified", path, n, f"the record on line {n} was modified: its hash does not "
                             "match its content")
        seq, prev = rec["seq"], rec["prev"]
        if self.exp_seq is None:  # the first record checked anchors the chain
            if rec.get("event") != "open":
                return self.fail("record_deleted", path, n, f"the file does not begin with its open record: the "
                                 f"records before line {n} were deleted")
            if seq != 1 or prev != GENESIS:
                self.report.notes.append(f"the chain starts at seq {seq}: earlier records were rotated out or are "
                                         "in files not given")
            self._check_name(path, rec, n)
            if self.report.problem is not None:
                return False
        elif first_in_file:
            if rec.get("event") != "open":
                return self.fail("record_deleted", path, n, f"the file does not begin with its open record: the "
                                 f"records before line {n} were deleted")
            self._check_name(path, rec, n)
            if self.report.problem is not None:
                return False
            if (seq, prev) != (self.exp_seq, self.exp_prev):
                return self._file_break(path, rec, index)
        elif (seq, prev) != (self.exp_seq, self.exp_prev):
            return self._classify(path, ln, later)
        if rec.get("event") == "open" and rec.get("resumed"):
            self.report.notes.append(f"{path}:{n}: the active file was started again while rotated files existed "
                                     "(it had been deleted or emptied)")
        if rec.get("event") == "recovery":
            self.report.notes.append(f"{path}:{n}: recovery after a crash cut a line short")
        if rec.get("event") == "open" and isinstance(rec.get("file_index"), int):
            self.file_index = rec["file_index"]
        self._accept(path, n, rec)
        return True

    def _file_break(self, path: str, rec: dict[str, Any], index: int) -> bool:
        """A file's open record does not continue from the file before it: say how."""
        assert self.exp_seq is not None
        seq, e = rec["seq"], self.exp_seq
        if seq < e or any(f is not None and f.get("seq") == e for f in self.firsts[index + 1:]):
            return self.fail("files_reordered", path, 1, f"this file (from seq {seq}) is out of order: seq {e} "
                             "was expected here")
        previous = self.report.files[index - 1]
        if seq > e and self.file_index is not None and rec.get("file_index") == self.file_index + 1:
            return self.fail("record_deleted", path, 1, f"{seq - e} record(s) (from seq {e}) are missing at the end "
                             f"of {previous}")
        return self.fail("chain_gap", path, 1, f"this file does not continue from the last record of {previous} "
                         f"(seq {e} expected, {seq} found): a file is missing or was replaced")

    def _key_for(self, rec: dict[str, Any], later: list[_Line]) -> tuple[Key | None, tuple[str, str] | None]:
        alg = rec["alg"]
        if alg == ALG_HMAC:
            kid = rec.get("key_id")
            if not isinstance(kid, str):
                return None, ("field_modified", "the record was modified: it says it is signed but has no key id")
            key = self.keys.get(kid)
            if key is not None:
                return key, None
            if not self.keys:
                return None, ("wrong_key", f"the records are signed with HMAC key {kid}, and no key was given")
            nxt = _next_record(later)
            nkey = self.keys.get(nxt.get("key_id")) if nxt is not None else None  # type: ignore[arg-type]
            if nxt is not None and nkey is not None and record_hash(nxt, nkey) == nxt.get("hash"):
                return None, ("field_modified", "the record was modified: its key id is not the one the records "
                              "around it are signed with")
            return None, ("wrong_key", f"the record is signed with key {kid}, which none of the keys given matches")
        if alg == ALG_PLAIN:
            if "key_id" in rec:
                return None, ("field_modified", "the record was modified: it carries a key id but says it is not "
                              "signed")
            if self.keys:
                return None, ("wrong_key", "the record is not signed, and a key was given: a log rewritten without "
                              "the key looks like this")
            return None, None
        return None, ("field_modified", f"the record was modified: unknown algorithm {alg!r}")

    def _check_name(self, path: str, rec: dict[str, Any], n: int) -> None:
        m = _ROTATED.match(os.path.basename(path))
        index = rec.get("file_index")
        if m and isinstance(index, int) and int(m.group(2)) != index:
            self.fail("files_reordered", path, n, f"the file is named with index {int(m.group(2))} but its open "
                      f"record says it is file {index}")

    def _classify(self, path: str, ln: _Line, later: list[_Line]) -> bool:
        rec = ln.record
        assert rec is not None and self.exp_seq is not None
        n, seq, prev, h = ln.number, rec["seq"], rec["prev"], rec["hash"]
        e = self.exp_seq
        later_recs = [x.record for x in later if x.record is not None]
        if h in self.seen:
            where = self.seen[h]
            return self.fail("record_inserted", path, n, f"the record on line {n} repeats the one on line "
                             f"{where[1]} of {where[0]}")
        if any(r.get("hash") == h for r in later_recs):
            return self.fail("record_inserted", path, n, f"the record on line {n} is a copy of one later in the file")
        if any(r.get("hash") == prev for r in later_recs):
            return self.fail("records_reordered", path, n, f"the record on line {n} (seq {seq}) comes before the "
                             "record it follows")
        nxt = later_recs[0] if later_recs else None
        if nxt is not None and nxt.get("seq") == e and nxt.get("prev") == self.exp_prev:
            return self.fail("record_inserted", path, n, f"the record on line {n} is not part of the chain: the next "
                             "record continues from the one before it")
        if seq > e:
            if any(r.get("seq") == e for r in later_recs):
                return self.fail("records_reordered", path, n, f"the record on line {n} (seq {seq}) comes before "
                                 f"seq {e}, which is later in the file")
            count = seq - e
            return self.fail("record_deleted", path, n, f"{count} record(s) (seq {e}" +
                             (f" to {seq - 1}" if count > 1 else "") + f") are missing before line {n}")
        if seq == e:
            return self.fail("field_modified", path, self.prev_line, f"the record on line {self.prev_line} was "
                             f"rewritten: its hash is not the one line {n} chains to")
        anchor = self.seen.get(prev)
        if anchor is not None and anchor[2] == seq - 1 and anchor[0] == path and anchor[1] < n - 1:
            return self.fail("record_inserted", path, anchor[1] + 1, f"the records from line {anchor[1] + 1} to "
                             f"{n - 1} are not part of the chain: line {n} continues from line {anchor[1]}")
        return self.fail("records_reordered", path, n, f"the record on line {n} (seq {seq}) is out of order "
                         f"(seq {e} expected)")

    def _accept(self, path: str, n: int, rec: dict[str, Any]) -> None:
        pos = Position(path, n, rec["seq"], rec.get("timestamp") if isinstance(rec.get("timestamp"), str) else None,
                       rec.get("decision_id") if isinstance(rec.get("decision_id"), str) else None, rec["hash"])
        if self.report.first is None:
            self.report.first = pos
        self.report.last = pos
        self.report.records += 1
        event, decision_id = rec.get("event"), rec.get("decision_id")
        if event == "decision" and isinstance(decision_id, str):
            self.decided.add(decision_id)
        elif event in ("outcome", "confirmation") and not (isinstance(decision_id, str) and decision_id in self.decided):
            self.unlinked.append(f"{path}:{n}")
        self.seen[rec["hash"]] = (path, n, rec["seq"])
        self.seen_seqs.add(rec["seq"])
        self.exp_seq = rec["seq"] + 1
        self.exp_prev = rec["hash"]
        self.prev_line = n


def _well_formed(rec: dict[str, Any]) -> bool:
    h, seq, prev = rec["hash"], rec["seq"], rec["prev"]
    return (isinstance(h, str) and bool(_HEX64.match(h)) and isinstance(prev, str) and bool(_HEX64.match(prev))
            and isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 and isinstance(rec["alg"], str))


def _next_record(later: list[_Line]) -> dict[str, Any] | None:
    for x in later:
        if x.record is not None:
            return x.record
    return None


def _acknowledged(ln: _Line, following: Iterable[_Line]) -> int | None:
    """The line number of the recovery record that acknowledges this cut line, if one does."""
    digest = str(sha256(ln.raw).hexdigest())
    for x in following:
        r = x.record
        if r is not None and r.get("event") == "recovery" and r.get("partial_offset") == ln.offset \
                and r.get("partial_bytes") == len(ln.raw) and r.get("partial_sha256") == digest:
            return x.number
    return None


def verify(paths: Sequence[str | os.PathLike[str]], keys: Sequence[Key] = ()) -> Report:
    """Verify the audit log in ``paths`` (files in chain order, or a directory holding one log)
    with the given HMAC keys (any number: a log whose key was changed needs each).  Raises
    UsageError for a path that cannot be read."""
    files = log_files([os.fspath(p) for p in paths])
    return _Walk(files, keys).run()
