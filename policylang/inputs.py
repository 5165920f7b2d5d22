"""Reading input safely: every file, stream and line that comes from outside goes through here.

A reader here
  - refuses anything but a regular file before reading from it (a FIFO, a device, a directory or a
    socket): the file is opened with ``O_NONBLOCK``, so opening a FIFO cannot block, and ``fstat``
    on the open descriptor decides (no race between a check and the open);
  - bounds what it reads *while* reading: at most ``limit`` bytes are ever held, so an endless
    stream ends with an error instead of filling memory;
  - decodes any bytes without raising anything but ``InputError``, whose message says where
    (``file:line:column``) the first invalid UTF-8 byte is.  A UTF-8 byte order mark at the start
    is dropped.

``BatchLines`` splits a stream into lines on LF only (a bare CR is data), holding at most one
line's limit in memory; an overlong line is reported in its place and skipped.

The limits are documented in docs/cli.md ("Input limits and the JSONL contract").
"""
from __future__ import annotations

import errno
import os
import stat
from typing import IO, Iterator

__all__ = ["InputError", "MAX_POLICY_BYTES", "MAX_TOML_BYTES", "MAX_TABLE_BYTES", "MAX_LINE_BYTES", "MAX_HOOK_BYTES",
           "MAX_SKIP_BYTES", "MAX_NESTING", "open_regular", "read_bytes", "read_text", "decode_utf8",
           "BatchLines", "Line", "working_directory", "read_stream"]

MAX_POLICY_BYTES = 4 * 1024 * 1024  # a .policy file
MAX_TOML_BYTES = 2 * 1024 * 1024  # a config, admin or preset file
MAX_TABLE_BYTES = 16 * 1024 * 1024  # a test table (.toml, .tsv)
MAX_LINE_BYTES = 1 << 20  # one line of a JSONL batch or a .tsv table
MAX_SKIP_BYTES = 64 * 1024 * 1024  # an overlong batch line is skipped up to here, then the batch ends
MAX_HOOK_BYTES = 4 * 1024 * 1024  # one agent hook's JSON on stdin (a Write's whole file content)
MAX_NESTING = 64  # arrays and objects nested in one JSON value or TOML document
_CHUNK = 64 * 1024
_BOM = b"\xef\xbb\xbf"

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class InputError(OSError):
    """An input that cannot be used: not a regular file, too large, or not UTF-8.

    An ``OSError``, so that code which reports an unreadable file reports these too; ``strerror``
    (and ``str()``) is the message without an errno prefix, and names no file (``filename`` does)
    but for a decoding error, which gives ``name:line:column``."""

    def __init__(self, message: str, filename: str | None = None, code: int = errno.EINVAL) -> None:
        super().__init__(code, message)
        self.filename = filename

    def __str__(self) -> str:
        return str(self.strerror)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of the regular file at ``path``; InputError for anything else.

    ``O_NONBLOCK`` makes the open of a FIFO return at once; ``fstat`` on the descriptor then
    refuses it.  Raises OSError (e.g. ENOENT, ELOOP for a symbolic-link loop) as ``os.open`` does."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise InputError(f"{_kind(st.st_mode)}, not a regular file", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_bytes(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit`` bytes of the regular file at ``path``; InputError when it holds more.

    Reads in chunks and stops one byte past the limit: a file that grows while it is read (or a
    file system that reports size 0, as /proc does) cannot make it hold more."""
    fd = open_regular(path)
    try:
        parts: list[bytes] = []
        held = 0
        while held <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - held))
            if not chunk:
                break
            parts.append(chunk)
            held += len(chunk)
    finally:
        os.close(fd)
    if held > limit:
        raise InputError(f"larger than the limit of {limit:,} bytes", os.fspath(path), errno.EFBIG)
    return b"".join(parts)


def read_stream(stream: IO[bytes], limit: int, name: str = "<stdin>") -> bytes:
    """At most ``limit`` bytes of a byte stream (a pipe, a socket, a file) up to its end; InputError
    when it holds more.  Like ``read_bytes``, it stops one byte past the limit, so an endless stream
    costs ``limit`` bytes of memory, never more."""
    read = getattr(stream, "read1", None) or stream.read
    parts: list[bytes] = []
    held = 0
    while held <= limit:
        chunk = read(min(_CHUNK, limit + 1 - held))
        if not chunk:
            break
        parts.append(chunk)
        held += len(chunk)
    if held > limit:
        raise InputError(f"larger than the limit of {limit:,} bytes", name, errno.EFBIG)
    return b"".join(parts)


def decode_utf8(raw: bytes, name: str) -> str:
    """``raw`` as UTF-8 without a leading byte order mark; InputError naming ``name:line:column`` of
    the first byte that is not UTF-8."""
    raw = raw.removeprefix(_BOM)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        start = raw.rfind(b"\n", 0, err.start) + 1
        column = len(raw[start:err.start].decode("utf-8", "replace")) + 1
        raise InputError(f"{name}:{line}:{column}: not valid UTF-8 (byte 0x{raw[err.start]:02x})", name) from None


def read_text(path: str | os.PathLike[str], limit: int, name: str | None = None) -> str:
    """The UTF-8 text of the regular file at ``path`` (at most ``limit`` bytes); InputError or OSError."""
    return decode_utf8(read_bytes(path, limit), os.fspath(path) if name is None else name)


def working_directory() -> str:
    """``os.getcwd()``, or InputError when the working directory has been deleted or cannot be read."""
    try:
        return os.getcwd()
    except OSError as err:
        raise InputError(f"the current working directory cannot be used: {err.strerror or err}; "
                         "change to an existing directory") from None


# ---- lines of a batch -------------------------------------------------------------------------

class Line:
    """One input line: its number, its text (None when it could not be decoded or was too long),
    and why not."""

    __slots__ = ("number", "text", "error")

    def __init__(self, number: int, text: str | None, error: str | None = None) -> None:
        self.number = number
        self.text = text
        self.error = error


class BatchLines:
    """The lines of a byte stream, split on LF only, each at most ``max_line`` bytes.

    A line longer than that yields a ``Line`` with an error in its place; its rest is skipped up to
    the next LF, reading at most ``max_skip`` bytes, past which the stream is not line-delimited
    and ``ended`` says why iteration stopped.  A line that is not UTF-8 yields an error too.  A
    final line without LF counts; a CR before the LF is dropped (CRLF files), any other CR is data.
    Memory held: one line plus one chunk."""

    def __init__(self, stream: IO[bytes] | IO[str], max_line: int = MAX_LINE_BYTES,
                 max_skip: int = MAX_SKIP_BYTES) -> None:
        self._stream = stream
        self.max_line = max_line
        self.max_skip = max_skip
        self.ended: str | None = None

    def _chunks(self) -> Iterator[bytes]:
        read = getattr(self._stream, "read1", None) or self._stream.read
        while True:
            chunk = read(_CHUNK)
            if not chunk:
                return
            # a text stream (tests, embedders): lone surrogates survive, and fail as UTF-8 below
            yield chunk.encode("utf-8", "surrogatepass") if isinstance(chunk, str) else chunk

    def __iter__(self) -> Iterator[Line]:
        buf = bytearray()
        number = 0
        skipping = 0  # bytes of an overlong line skipped so far (0: not skipping)
        for chunk in self._chunks():
            pos = 0
            while pos < len(chunk):
                nl = chunk.find(b"\n", pos)
                end = len(chunk) if nl < 0 else nl
                if skipping:
                    skipping += end - pos
                    if nl < 0:
                        if skipping > self.max_skip:
                            self.ended = (f"line {number} is longer than {self.max_skip:,} bytes without a line "
                                          "feed: the input is not line-delimited JSON")
                            return
                        break
                    skipping = 0
                    pos = nl + 1
                    continue
                room = self.max_line + 1 - len(buf)  # one byte more, to see an overlong line
                buf += chunk[pos:min(end, pos + room)]
                if len(buf) > self.max_line:
                    number += 1
                    yield Line(number, None, f"line is longer than the limit of {self.max_line:,} bytes")
                    buf.clear()
                    skipping = 1 + (end - pos - room)
                    if nl >= 0:
                        skipping = 0
                        pos = nl + 1
                    else:
                        break
                    continue
                if nl < 0:
                    break
                number += 1
                yield self._line(number, bytes(buf))
                buf.clear()
                pos = nl + 1
        if buf:
            number += 1
            yield self._line(number, bytes(buf))

    @staticmethod
    def _line(number: int, raw: bytes) -> Line:
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        try:
            return Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            return Line(number, None, f"not valid UTF-8 at byte {err.start + 1} (0x{raw[err.start]:02x})")
