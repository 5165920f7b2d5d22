"""Appending to the audit log: locking, the chain's state, rotation, crash recovery, fsync
(docs/audit.md, "Writing").

Every write takes an exclusive ``flock`` on a lock file beside the log (``.<name>.lock``), learns
where the chain stands (from memory when the active file is the one this process last wrote and
has not grown since, else from the file's first and last lines), appends whole lines with one
``write`` and releases the lock.  Several processes and threads may append at once: none of their
lines interleave or go missing.

A crash in the middle of a write leaves a partial last line.  ``verify`` reports it as a truncated
tail; the next append ends it with a newline and writes a ``recovery`` record (its offset, length
and SHA-256) chained to the last whole record, so the chain goes on and the damage stays on record.

Rotation: when the next record would take the active file over ``rotate_bytes``, or its first
record is older than ``rotate_seconds``, the file is renamed ``<path>.<NNNNNN>`` (its index, from
1) and a new active file begins with an ``open`` record chained to the last record of the old one;
rotated files beyond ``keep`` are deleted, oldest first.

The log's directory is made 0700 and its files 0600.  With ``background=True`` (the Python API)
an append only queues the verdict: a writer thread builds the record and writes it (all it finds
queued in one write), so a decision never waits for the disk -- unless the writer falls
MAX_PENDING records behind, when decisions wait for it rather than records being dropped.  The
CLI writes synchronously, before it prints the verdict.
"""
from __future__ import annotations

import errno
import os
import stat
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from .chain import GENESIS, Key, line_head, load_key, seal
from .record import AuditError, confirmation_body, decision_body, new_decision_id, outcome_body, parse_timestamp, \
    policy_revision, rule_locations, sha256, timestamp

if TYPE_CHECKING:
    from ..actions import Context
    from ..settings import AuditSettings
    from ..verdict import Verdict

FSYNC_POLICIES = ("always", "rotate", "never")
MAX_PENDING = 10_000  # queued background records; past this a decision waits for the writer (none is dropped)
INDEX_DIGITS = 6
_CHUNK = 65536


class _State:
    """Where the chain stands in the active file."""

    __slots__ = ("seq", "hash", "file_index", "opened", "header_seq", "partial", "ino", "size")

    def __init__(self, seq: int, hash_: str, file_index: int, opened: float, header_seq: int,
                 partial: tuple[int, int, str] | None, ino: int, size: int):
        self.seq, self.hash, self.file_index, self.opened = seq, hash_, file_index, opened
        self.header_seq, self.partial, self.ino, self.size = header_seq, partial, ino, size


class AuditLog:
    """An append-only, hash-chained JSONL audit log.

    ``path`` is the active file.  ``key`` signs every record with HMAC-SHA256.  ``fsync`` is
    ``always`` (after every write), ``rotate`` (when a file is rotated and when the log is closed)
    or ``never`` (the operating system decides).  ``background`` queues appends for a writer
    thread; ``flush`` waits for them.  ``on_error`` is called with the exception when a write fails
    (in the writer thread, for background appends); ``error`` holds the last one until a write
    succeeds again.
    """

    def __init__(self, path: str, *, key: Key | None = None, rotate_bytes: int = 0, rotate_seconds: int = 0,
                 keep: int = 5, fsync: str = "always", background: bool = False, entry: str = "python",
                 on_error: Callable[[BaseException], None] | None = None):
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}, not {fsync!r}")
        self.path = os.path.abspath(os.path.expanduser(path))
        self.directory = os.path.dirname(self.path)
        self.base = os.path.basename(self.path)
        self.key = key
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.keep = keep
        self.fsync = fsync
        self.background = background
        self.entry = entry
        self.on_error = on_error
        self.error: BaseException | None = None
        self.failed = 0  # records that could not be written
        self.written = 0
        self._mutex = threading.Lock()  # flock does not exclude threads that share the lock's descriptor
        self._pid = -1
        self._lock_fd = -1
        self._fd = -1
        self._state: _State | None = None
        self._revision: tuple[Any, str, dict[str, str]] | None = None
        # background writing
        self._cond = threading.Condition()
        self._queue: list[Callable[[], dict[str, Any]]] = []
        self._submitted = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self._thread_pid = -1  # the process the writer thread runs in (a forked child has none)
        self._closing = False

    @classmethod
    def from_settings(cls, audit: AuditSettings, *, env: Mapping[str, str] | None = None, background: bool = False,
                      entry: str = "python", on_error: Callable[[BaseException], None] | None = None) -> "AuditLog":
        """The log ``[security.audit]`` describes.  Raises AuditError when its key cannot be had."""
        env = os.environ if env is None else env
        path = expand_path(audit.path, env)
        key = load_key(audit.hmac_key_env, expand_path(audit.hmac_key_file, env) if audit.hmac_key_file else None,
                       os.path.dirname(path), env)
        return cls(path, key=key, rotate_bytes=audit.rotate_bytes, rotate_seconds=audit.rotate_seconds,
                   keep=audit.keep, fsync=audit.fsync, background=background, entry=entry, on_error=on_error)

    # ---- what callers append ------------------------------------------------------------------

    def decision(self, policy: Any, verdict: Verdict, context: Context | None = None, *,
                 entry: str | None = None) -> str:
        """Append the record of one decision; its decision id.  In the background mode the record
        is built and written by the writer thread; the verdict's time is taken now."""
        ns = time.time_ns()
        decision_id = new_decision_id()
        where = entry or self.entry

        def build() -> dict[str, Any]:
            revision, locations = self._revision_of(policy)
            return decision_body(verdict, context, revision=revision, entry=where, locations=locations,
                                 ts=timestamp(ns), decision_id=decision_id)

        self._submit(build)
        return decision_id

    def outcome(self, decision_id: str, *, executed: bool, exit_code: int | None = None,
                duration_ms: int | None = None, entry: str | None = None, sandbox: str | None = None,
                timed_out: bool = False, reason: str | None = None) -> None:
        """Append what became of a decision (an executor reports back)."""
        body = outcome_body(decision_id, executed=executed, exit_code=exit_code, duration_ms=duration_ms,
                            entry=entry or self.entry, ts=timestamp(), sandbox=sandbox, timed_out=timed_out,
                            reason=reason)
        self._submit(lambda: body)

    def confirmation(self, decision_id: str, *, status: str, how: str, by: str, waited_ms: int = 0,
                     reason: str | None = None, action_id: int | None = None, entry: str | None = None) -> None:
        """Append what became of a decision an adapter confirmed or rejected (record.confirmation_body).
        Raises ValueError for a status or how that is not one of the known ones."""
        body = confirmation_body(decision_id, status=status, how=how, by=by, waited_ms=waited_ms, reason=reason,
                                 action_id=action_id, entry=entry or self.entry, ts=timestamp())
        self._submit(lambda: body)

    def append(self, body: Mapping[str, Any]) -> None:
        """Append a record with these fields (the chain's fields are added)."""
        fields = dict(body)
        self._submit(lambda: fields)

    def _revision_of(self, policy: Any) -> tuple[str, dict[str, str]]:
        cached = self._revision
        if cached is not None and cached[0] is policy:
            return cached[1], cached[2]
        revision, locations = policy_revision(policy), rule_locations(policy)
        self._revision = (policy, revision, locations)
        return revision, locations

    def _submit(self, build: Callable[[], dict[str, Any]]) -> None:
        if not self.background:
            self.write([build()])
            return
        with self._cond:
            if self._closing:
                raise AuditError("the audit log is closed")
            while len(self._queue) >= MAX_PENDING and self._thread is not None and self._thread.is_alive() \
                    and self._thread_pid == os.getpid():
                self._cond.wait(1.0)
            self._queue.append(build)
            self._submitted += 1
            if self._thread is None or self._thread_pid != os.getpid() or not self._thread.is_alive():
                self._start_thread()
            self._cond.notify_all()

    # ---- the background writer --------------------------------------------------------------

    def _start_thread(self) -> None:
        import atexit

        self._thread = threading.Thread(target=self._run, name="policylang-audit", daemon=True)
        self._thread_pid = os.getpid()
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closing:
                    return
            try:
                bodies = [build() for build in batch]
                self.write(bodies)
            except Exception as exc:  # reported through on_error; the thread goes on
                self._failed(exc, len(batch))
            with self._cond:
                self._done += len(batch)
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued record is written (or failed); False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            while self._done < target:
                if self._thread is None or not self._thread.is_alive():
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        """Write what is queued, fsync (unless ``never``) and close the files."""
        self.flush()
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        with self._mutex:
            if self._fd >= 0 and self._pid == os.getpid():
                if self.fsync == "rotate":  # "always" synced every write already
                    try:
                        os.fsync(self._fd)
                    except OSError:
                        pass
            self._close_fds()

    def _close_fds(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd >= 0 and self._pid == os.getpid():
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._lock_fd = -1
        self._state = None

    def _failed(self, exc: BaseException, count: int) -> None:
        self.error = exc
        self.failed += count
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception:
                pass

    # ---- one locked write -----------------------------------------------------------------

    def write(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        """Chain and append these records now, under the lock.  Raises AuditError."""
        with self._mutex:
            try:
                self._write_locked(bodies)
            except (AuditError, OSError) as exc:
                self._state = None  # learn the state from the file again next time
                err = exc if isinstance(exc, AuditError) else \
                    AuditError(f"cannot write the audit log {self.path}: {exc.strerror or exc}")
                if not self.background:
                    self._failed(err, len(bodies))
                if err is exc:
                    raise
                raise err from exc
        self.error = None
        self.written += len(bodies)

    def _write_locked(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        import fcntl

        if self._pid != os.getpid():  # a forked child must not share the parent's lock
            self._fd = self._lock_fd = -1
            self._state = None
            self._pid = os.getpid()
        if self._lock_fd < 0:
            ensure_directory(self.directory)
            self._lock_fd = _open_private(os.path.join(self.directory, f".{self.base}.lock"), os.O_RDWR)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            self._append(bodies)
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def _append(self, bodies: Sequence[Mapping[str, Any]]) -> None:
        st = self._current()
        out = bytearray()
        if st.partial is not None:  # a crash left a partial line: end it, and say so
            out += b"\n"
            self._recovery(st, out)
        for body in bodies:
            line, h = seal(body, st.seq + 1, st.hash, self.key)
            if self._rotate_due(st, len(out), len(line)):
                self._emit(out, st)
                out = bytearray()
                st = self._rotate(st)
                line, h = seal(body, st.seq + 1, st.hash, self.key)
            out += line
            st.seq += 1
            st.hash = h
        self._emit(out, st)
        if self.fsync == "always":
            os.fsync(self._fd)

    def _emit(self, data: bytearray, st: _State) -> None:
        if not data:
            return
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        st.size += len(data)

    def _recovery(self, st: _State, out: bytearray) -> None:
        """Add to ``out`` the record that acknowledges the partial line a crash left."""
        assert st.partial is not None
        offset, length, digest = st.partial
        line, st.hash = seal({"event": "recovery", "timestamp": timestamp(), "partial_offset": offset,
                              "partial_bytes": length, "partial_sha256": digest, "labels": _labels(self.entry)},
                             st.seq + 1, st.hash, self.key)
        st.seq += 1
        st.partial = None
        out += line

    def _rotate_due(self, st: _State, pending: int, size: int) -> bool:
        if st.seq <= st.header_seq:  # a file holds at least one record past its open record
            return False
        if self.rotate_bytes and st.size + pending + size > self.rotate_bytes:
            return True
        return bool(self.rotate_seconds) and time.time() - st.opened >= self.rotate_seconds

    # ---- the chain's state --------------------------------------------------------------------

    def _current(self) -> _State:
        """The state of the active file, opening (or re-opening after another process rotated it)
        and starting it as needed."""
        fd = self._fd
        if fd >= 0:
            try:
                on_disk = os.stat(self.path, follow_symlinks=False)
                mine = os.fstat(fd)
                if (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino):
                    fd = -1
            except FileNotFoundError:
                fd = -1
            if fd < 0:
                os.close(self._fd)
                self._fd = -1
                self._state = None
        if self._fd < 0:
            self._fd = _open_private(self.path, os.O_RDWR | os.O_APPEND)
        info = os.fstat(self._fd)
        st = self._state
        if st is not None and st.ino == info.st_ino and st.size == info.st_size:
            return st
        st = self._read_state(info)
        self._state = st
        return st

    def _read_state(self, info: os.stat_result) -> _State:
        if info.st_size == 0:
            return self._start_file(info, resumed=True)
        fd = self._fd
        last = _last_record(fd, info.st_size)
        if last is None:  # no whole record at all: a crash while the first one was written
            partial = _partial_tail(fd, info.st_size)
            if partial is None or partial[0] != 0:
                raise AuditError(f"the audit log {self.path} holds no record this writer can continue from")
            return self._start_file(info, resumed=True, partial=partial)
        hash_, seq, partial = last
        head = os.pread(fd, 4096, 0)
        first = head.split(b"\n", 1)[0]
        header = line_head(first)
        file_index = _int_after(first, b'"file_index":') or 0
        opened = _opened(first, info) if self.rotate_seconds else 0.0
        return _State(seq, hash_, file_index, opened, header[1] if header else 0, partial, info.st_ino, info.st_size)

    def _start_file(self, info: os.stat_result, *, resumed: bool,
                    partial: tuple[int, int, str] | None = None) -> _State:
        """Write the ``open`` record of an empty (or only partly written) active file, chained to
        the newest rotated file's last record, or to GENESIS when there is none."""
        rotated = rotated_files(self.directory, self.base)
        prev, seq, index = GENESIS, 0, 1
        if rotated:
            newest_index, newest = rotated[-1]
            index = newest_index + 1
            last = _last_record_of(newest)
            if last is None:
                raise AuditError(f"the rotated audit file {newest} ends with no whole record")
            prev, seq = last[0], last[1]
        body: dict[str, Any] = {"event": "open", "timestamp": timestamp(), "file_index": index,
                                "labels": _labels(self.entry)}
        if resumed and rotated:
            body["resumed"] = True  # the active file was missing or empty while rotated files exist
        out = bytearray(b"\n" if partial is not None else b"")
        line, h = seal(body, seq + 1, prev, self.key)
        out += line
        st = _State(seq + 1, h, index, time.time(), seq + 1, partial, info.st_ino, info.st_size)
        if partial is not None:  # a crash cut the file's first line: acknowledge it after the open record
            self._recovery(st, out)
        self._emit(out, st)
        return st

    def _rotate(self, st: _State) -> _State:
        """Rename the active file to its index, prune beyond ``keep``, start a new active file."""
        if self.fsync != "never":
            os.fsync(self._fd)
        index = st.file_index or (max((i for i, _ in rotated_files(self.directory, self.base)), default=0) + 1)
        target = f"{self.path}.{index:0{INDEX_DIGITS}d}"
        if os.path.lexists(target):
            raise AuditError(f"cannot rotate the audit log: {target} exists")
        os.rename(self.path, target)
        os.close(self._fd)
        self._fd = -1
        rotated = rotated_files(self.directory, self.base)
        for _, old in rotated[:max(0, len(rotated) - self.keep)]:
            try:
                os.unlink(old)
            except FileNotFoundError:
                pass
        self._fd = _open_private(self.path, os.O_RDWR | os.O_APPEND | os.O_EXCL)
        info = os.fstat(self._fd)
        body = {"event": "open", "timestamp": timestamp(), "file_index": index + 1, "labels": _labels(self.entry)}
        line, h = seal(body, st.seq + 1, st.hash, self.key)
        new = _State(st.seq + 1, h, index + 1, time.time(), st.seq + 1, None, info.st_ino, 0)
        self._emit(bytearray(line), new)
        if self.fsync != "never":
            os.fsync(self._fd)
            _fsync_directory(self.directory)
        self._state = new
        return new


# ---- files ----------------------------------------------------------------------------------------

def expand_path(path: str, env: Mapping[str, str]) -> str:
    """``~`` and ``$VAR`` (from ``env``) expanded, made absolute."""
    if path.startswith("~"):
        home = env.get("HOME") or os.path.expanduser("~")
        path = home + path[1:] if path == "~" or path.startswith("~/") else os.path.expanduser(path)
    if "$" in path:
        import re

        path = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), path)
    return os.path.abspath(path)


def ensure_directory(directory: str) -> None:
    """Create the log's directory 0700; make an existing one of ours 0700; refuse one that others
    may write to."""
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        st = os.stat(directory)
    except OSError as exc:
        raise AuditError(f"cannot create the audit directory {directory}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise AuditError(f"the audit directory {directory} is not a directory")
    if stat.S_IMODE(st.st_mode) != 0o700:
        if st.st_uid == os.getuid():
            os.chmod(directory, 0o700)
        elif st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise AuditError(f"the audit directory {directory} is writable by others")


def _open_private(path: str, flags: int) -> int:
    """Open (creating it 0600) a file that must not be a symbolic link; make it 0600 if it is ours."""
    try:
        fd = os.open(path, flags | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AuditError(f"the audit file {path} is a symbolic link") from None
        raise AuditError(f"cannot open the audit file {path}: {exc.strerror or exc}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise AuditError(f"the audit file {path} is not a regular file")
    if stat.S_IMODE(st.st_mode) != 0o600 and st.st_uid == os.getuid():
        os.fchmod(fd, 0o600)
    return fd


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def rotated_files(directory: str, base: str) -> list[tuple[int, str]]:
    """The rotated files of the log whose active file is ``base``: (index, path), oldest first."""
    prefix = base + "."
    out = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        if name.startswith(prefix) and name[len(prefix):].isdigit() and name[len(prefix):].isascii():
            out.append((int(name[len(prefix):]), os.path.join(directory, name)))
    return sorted(out)


def _last_record_of(path: str) -> tuple[str, int, tuple[int, int, str] | None] | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise AuditError(f"cannot read the audit file {path}: {exc.strerror or exc}") from None
    try:
        return _last_record(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def _last_record(fd: int, size: int) -> tuple[str, int, tuple[int, int, str] | None] | None:
    """(hash, seq, partial tail) of the last whole line of a file that begins as a record; the
    partial tail is (offset, length, sha256) of bytes after the last newline, if any."""
    partial = _partial_tail(fd, size)
    end = partial[0] if partial is not None else size  # the text before ``end`` ends with a newline
    data = b""
    pos = end
    while pos > 0:
        start = max(0, pos - _CHUNK)
        data = os.pread(fd, pos - start, start) + data
        pos = start
        lines = data.split(b"\n")
        # lines[-1] is b"" (the text ends with a newline); lines[0] may be cut unless pos == 0
        for line in reversed(lines[:-1] if pos == 0 else lines[1:-1]):
            head = line_head(line)
            if head is not None:
                return head[0], head[1], partial
    return None


def _partial_tail(fd: int, size: int) -> tuple[int, int, str] | None:
    """(offset, length, sha256) of the bytes after the file's last newline; None when it ends with one."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return None
    pos = size
    tail = b""
    while pos > 0:
        start = max(0, pos - _CHUNK)
        tail = os.pread(fd, pos - start, start) + tail
        pos = start
        cut = tail.rfind(b"\n")
        if cut >= 0:
            tail = tail[cut + 1:]
            break
    offset = size - len(tail)
    return offset, len(tail), str(sha256(tail).hexdigest())


def _int_after(line: bytes, marker: bytes) -> int | None:
    at = line.find(marker)
    if at < 0:
        return None
    at += len(marker)
    end = at
    while end < len(line) and 48 <= line[end] <= 57:
        end += 1
    return int(line[at:end]) if end > at else None


def _opened(first: bytes, info: os.stat_result) -> float:
    """When the file was started: its open record's timestamp, else its modification time."""
    at = first.find(b'"timestamp":"')
    if at >= 0:
        text = first[at + 13:at + 13 + 40].split(b'"', 1)[0]
        try:
            return parse_timestamp(text.decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            pass
    return info.st_mtime


def _labels(entry: str) -> dict[str, Any]:
    from .record import labels

    return labels(entry)
