"""A private on-disk cache for what is costly to rebuild at every process start.

The CLI and the hook start once per action, so the command catalog (a TOML parse), the policy
grammar's parse tables (Lark's LALR construction) and compiled policies are kept between runs.
Entries are pickles, and a pickle runs code when loaded, so an entry is data only once it is proved
ours: the cache lives in a directory that belongs to the current user and that nobody else can
write (``$POLICYLANG_CACHE_DIR``, else ``$XDG_CACHE_HOME/policylang``, else ``~/.cache/policylang``);
every entry is opened without following links and must be a regular file of the user's, with one
name, writable by nobody else; and every entry is sealed with an HMAC-SHA256 under a per-user key
kept outside the cache directory (``~/.policylang/cache.key``, mode 0600, created atomically), which
is checked before a byte of it is unpickled.  A planted, linked, changed or torn entry reads as
missing and is rebuilt and overwritten.  If no safe directory or key can be had, nothing is cached.
Every entry is keyed by a hash of its inputs and the package version, and is written atomically
(a temporary file in the same directory, then rename).

A large entry of which a process needs a few parts (the command catalog: 1.7 MB, of which ``git
status`` needs git's model) is kept as a sealed index and a parts file (``store_parts``): the
index holds each part's span and SHA-256, the parts file is read one span at a time, and a part
is unpickled only when its bytes hash to what the sealed index recorded.  The parts file is named
by its own digest and never rewritten in place.
"""
from __future__ import annotations

import os
import stat
from typing import Any

from _operator import _compare_digest  # the constant-time compare hmac.compare_digest is

from ._version import __version__ as VERSION

# The pickle functions, from CPython's C accelerator: the ``pickle`` module around it (its pure-Python
# pickler, struct, re-exports) costs about 2 ms of every process start and is not needed to load.
try:
    from _pickle import dump as dump, dumps as dumps, loads as loads  # type: ignore[import-not-found,unused-ignore]

    PROTOCOL = 5  # pickle.HIGHEST_PROTOCOL on every CPython this package supports
except ImportError:  # pragma: no cover - another implementation
    from pickle import HIGHEST_PROTOCOL as PROTOCOL, dump as dump, dumps as dumps, loads as loads

# CPython's own SHA-256 module: ``hashlib`` loads OpenSSL first, about 4 ms of every process start.
try:
    from _sha256 import sha256 as sha256  # type: ignore[import-not-found,unused-ignore]  # CPython 3.11
except ImportError:  # pragma: no cover - another version or implementation
    try:
        from _sha2 import sha256 as sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # CPython 3.12+
    except ImportError:
        from hashlib import sha256 as sha256  # type: ignore[assignment,unused-ignore]



def cache_dir(create: bool = True) -> str | None:
    """The private cache directory, created if needed (unless not ``create``: then None when it does
    not exist yet); None when no safe one is available."""
    if os.environ.get("POLICYLANG_NO_CACHE"):
        return None
    base = os.environ.get("POLICYLANG_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "policylang")
    return _private_dir(base, create)


def _private_dir(base: str, create: bool) -> str | None:
    """``base`` (created 0700 when ``create``) when it is a directory of the user's that nobody else
    can write; None when it is a link, someone else's, or writable by others: never load pickles from it."""
    try:
        if create:
            os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return base


def key_of(*parts: str | bytes) -> str:
    """A short hex digest of the package version and ``parts`` (kept apart, so ("a", "b") != ("ab",))."""
    h = sha256(VERSION.encode())
    for p in parts:
        h.update(b"\0")
        h.update(p.encode("utf-8") if isinstance(p, str) else p)
    return str(h.hexdigest())[:32]


def digest(data: bytes) -> str:
    """The SHA-256 of ``data``, in hex."""
    return str(sha256(data).hexdigest())


def path_for(name: str, key: str, create: bool = True) -> str | None:
    d = cache_dir(create)
    return None if d is None else os.path.join(d, f"{name}-{key}.pickle")


# ---- the per-user key and the entries' seal ---------------------------------------------------

MAGIC = b"policylang-cache/1\n"
"""The first bytes of every entry; then the HMAC-SHA256 (32 bytes) of name, key and payload; then the payload."""

MAX_ENTRY = 256 << 20
"""The largest entry read (bytes); a bigger file is not ours."""

_key_memo: dict[str, bytes] = {}


def state_dir(create: bool = True) -> str | None:
    """The user's private state directory (``$POLICYLANG_STATE_DIR``, else ``~/.policylang``),
    created 0700; None when it is a link, someone else's or writable by others.

    It holds the cache key and the self-protection state: files a process with the cache directory
    in reach must not be able to write through the cache."""
    base = os.environ.get("POLICYLANG_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".policylang")
    return _private_dir(base, create)


def key_path(create: bool = True) -> str | None:
    """Where the cache key is kept (outside the cache directory), or None when there is no safe place."""
    d = state_dir(create)
    return None if d is None else os.path.join(d, "cache.key")


def private_file_ok(st: os.stat_result, *, secret: bool = False) -> bool:
    """Is this the status of a file only the current user can have written: a regular file (not a
    link: callers stat it with lstat or open it with O_NOFOLLOW), owned by the user, with one name,
    writable by nobody else (and, for a secret, readable by nobody else)?"""
    bad_bits = (stat.S_IRWXG | stat.S_IRWXO) if secret else (stat.S_IWGRP | stat.S_IWOTH)
    return (stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid() and st.st_nlink == 1
            and not st.st_mode & bad_bits)


def read_private(path: str, *, secret: bool = False, limit: int = MAX_ENTRY) -> bytes | None:
    """The bytes of ``path`` when :func:`private_file_ok` holds for the file actually opened (never
    through a symbolic link, never a FIFO or device), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                     | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not private_file_ok(st, secret=secret) or st.st_size > limit:
            return None
        chunks = []
        left = st.st_size + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        return data if len(data) <= st.st_size else None
    except OSError:
        return None
    finally:
        os.close(fd)


def write_private(path: str, data: bytes, *, exclusive: bool = False) -> bool:
    """Write ``data`` to ``path`` atomically (a 0600 temporary file in the same directory, then
    rename; or, when ``exclusive``, a hard link that fails if ``path`` exists).  False on failure."""
    import tempfile  # only a build writes; a process that finds its entries never needs it

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if exclusive:
                fh.flush()
                os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
        tmp = None
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def cache_key_bytes(create: bool = True) -> bytes | None:
    """The user's secret cache key (32 random bytes in ``~/.policylang/cache.key``, mode 0600,
    created atomically on first use unless not ``create``); None when it cannot be had safely (then
    nothing is cached)."""
    path = key_path(create)
    if path is None:
        return None
    memo = _key_memo.get(path)
    if memo is not None:
        return memo
    key = read_private(path, secret=True, limit=64)
    if key is None and create and not os.path.lexists(path):
        write_private(path, os.urandom(32), exclusive=True)  # another process may win: read theirs
        key = read_private(path, secret=True, limit=64)
    if key is None or len(key) != 32:
        return None
    _key_memo[path] = key
    return key


def _mac(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 of ``parts`` (each length-prefixed) under ``key`` (RFC 2104, on the SHA-256 this
    module already loaded: ``hmac`` would load OpenSSL)."""
    block = key.ljust(64, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in block))
    for p in parts:
        inner.update(len(p).to_bytes(8, "big"))
        inner.update(p)
    outer = sha256(bytes(b ^ 0x5C for b in block))
    outer.update(inner.digest())
    return bytes(outer.digest())


def load_bytes(name: str, key: str, create: bool = True) -> bytes | None:
    """The payload stored for ``key`` when its seal verifies, else None (no entry, the cache off, or
    an entry that is not a private regular file of ours, or was changed or planted).  Without
    ``create``, neither the cache directory nor the key is made when missing (a read that must
    leave no trace, as when a module is imported)."""
    path = path_for(name, key, create)
    secret = cache_key_bytes(create) if path is not None else None
    if path is None or secret is None:
        return None
    data = read_private(path)
    if data is None or not data.startswith(MAGIC) or len(data) < len(MAGIC) + 32:
        return None
    seal = data[len(MAGIC):len(MAGIC) + 32]
    payload = data[len(MAGIC) + 32:]
    if not _compare_digest(seal, _mac(secret, name.encode(), key.encode(), payload)):
        return None
    return payload


def store_bytes(name: str, key: str, payload: bytes) -> None:
    """Keep ``payload`` for ``key``, sealed, atomically (nothing happens when the cache is off)."""
    path = path_for(name, key)
    secret = cache_key_bytes() if path is not None else None
    if path is not None and secret is not None:
        write_private(path, MAGIC + _mac(secret, name.encode(), key.encode(), payload) + payload)


def load(name: str, key: str) -> Any | None:
    """The value stored for ``key``, or None when there is none, the cache is off, or the entry
    is torn, unsealed or not a regular file of ours (the caller then rebuilds it).  Nothing is
    unpickled before its seal verifies."""
    payload = load_bytes(name, key)
    if payload is None:
        return None
    try:
        return loads(payload)
    except Exception:  # sealed by us but unreadable now (another Python): the caller rebuilds it
        return None


def store(name: str, key: str, value: Any) -> None:
    """Keep ``value`` for ``key`` (atomically; nothing happens when the cache is off)."""
    if path_for(name, key) is not None:
        try:
            payload = dumps(value, protocol=PROTOCOL)
        except Exception:
            return
        store_bytes(name, key, payload)


# ---- entries whose parts are decoded one at a time ----------------------------------------------

PARTS_SUFFIX = ".parts"


class Parts:
    """The parts of an entry kept by :func:`store_parts`, read one at a time: each part is read from
    its span of the parts file and checked against the SHA-256 the sealed entry recorded for it
    before it is returned, so a process that needs one part of a large entry neither reads nor
    hashes the rest."""

    __slots__ = ("path", "spans")

    def __init__(self, path: str, spans: tuple[tuple[int, int, bytes], ...]) -> None:
        self.path = path
        self.spans = spans

    def __len__(self) -> int:
        return len(self.spans)

    def get(self, i: int) -> bytes | None:
        """Part ``i``, or None when the parts file is gone, not a private regular file of ours, or
        its span does not hash to the recorded digest (changed, torn or planted)."""
        offset, length, want = self.spans[i]
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
                         | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            if not private_file_ok(st) or st.st_size < offset + length:
                return None
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        finally:
            os.close(fd)
        if len(data) != length or not _compare_digest(bytes(sha256(data).digest()), want):
            return None
        return bytes(data)


def store_parts(name: str, key: str, head: Any, parts: list[bytes]) -> None:
    """Keep ``head`` and ``parts`` for ``key``: the parts end to end in a parts file named by its own
    digest (written first, never rewritten), and ``head`` with that name and each part's span and
    SHA-256 in the sealed entry.  Nothing happens when the cache is off."""
    d = cache_dir()
    if d is None or cache_key_bytes() is None:
        return
    blob = b"".join(parts)
    file_name = f"{name}-{key}-{digest(blob)[:32]}{PARTS_SUFFIX}"
    path = os.path.join(d, file_name)
    if read_private(path) != blob and not write_private(path, blob):
        return
    spans = []
    offset = 0
    for p in parts:
        spans.append((offset, len(p), bytes(sha256(p).digest())))
        offset += len(p)
    store(name, key, ("parts/1", head, file_name, tuple(spans)))


def load_parts(name: str, key: str) -> tuple[Any, Parts] | None:
    """The head stored by :func:`store_parts` for ``key`` and its parts, or None when there is no
    sealed entry of that form (its parts are checked one by one as they are read)."""
    entry = load(name, key)
    if not (isinstance(entry, tuple) and len(entry) == 4 and entry[0] == "parts/1"):
        return None
    _, head, file_name, spans = entry
    d = cache_dir()
    if (d is None or not isinstance(file_name, str) or os.sep in file_name or not file_name.startswith(f"{name}-")
            or not isinstance(spans, tuple)):
        return None
    for s in spans:
        if not (isinstance(s, tuple) and len(s) == 3 and isinstance(s[0], int) and isinstance(s[1], int)
                and s[0] >= 0 and s[1] >= 0 and isinstance(s[2], bytes) and len(s[2]) == 32):
            return None
    return head, Parts(os.path.join(d, file_name), spans)
