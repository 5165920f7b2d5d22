"""A private on-disk cache for what is costly to rebuild at every process start.

The CLI and the hook start once per action, so the command catalog (a TOML parse) and the
policy grammar's parse tables (Lark's LALR construction) are kept between runs.  Entries are
pickles, and a pickle runs code when loaded, so the cache lives only in a directory that belongs
to the current user and that nobody else can write: ``$POLICYLANG_CACHE_DIR``, else
``$XDG_CACHE_HOME/policylang``, else ``~/.cache/policylang``.  If no such directory can be had,
nothing is cached and everything is rebuilt.  Every entry is keyed by a hash of its inputs and the
package version, and is written atomically.
"""
from __future__ import annotations

import os
import stat
from typing import Any

from ._version import __version__ as VERSION

# The pickle functions, from CPython's C accelerator: the ``pickle`` module around it (its pure-Python
# pickler, struct, re-exports) costs about 2 ms of every process start and is not needed to load.
try:
    from _pickle import dump as dump, dumps as dumps, load as _load, loads as loads  # type: ignore[import-not-found,unused-ignore]

    PROTOCOL = 5  # pickle.HIGHEST_PROTOCOL on every CPython this package supports
except ImportError:  # pragma: no cover - another implementation
    from pickle import HIGHEST_PROTOCOL as PROTOCOL, dump as dump, dumps as dumps, load as _load, loads as loads

# CPython's own SHA-256 module: ``hashlib`` loads OpenSSL first, about 4 ms of every process start.
try:
    from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]  # CPython 3.11
except ImportError:  # pragma: no cover - another version or implementation
    try:
        from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # CPython 3.12+
    except ImportError:
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]



def cache_dir() -> str | None:
    """The private cache directory, created if needed; None when no safe one is available."""
    if os.environ.get("POLICYLANG_NO_CACHE"):
        return None
    base = os.environ.get("POLICYLANG_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "policylang")
    try:
        os.makedirs(base, mode=0o700, exist_ok=True)
        st = os.lstat(base)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None  # a link, someone else's, or writable by others: never load pickles from it
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


def path_for(name: str, key: str) -> str | None:
    d = cache_dir()
    return None if d is None else os.path.join(d, f"{name}-{key}.pickle")


def load(name: str, key: str) -> Any | None:
    """The value stored for ``key``, or None when there is none, the cache is off, or the entry
    is torn, unreadable or not a regular file of ours (the caller then rebuilds it)."""
    path = path_for(name, key)
    if path is None:
        return None
    try:
        st = os.lstat(path)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid():
            with open(path, "rb") as fh:
                return _load(fh)
    except FileNotFoundError:
        pass
    except Exception:  # a torn or stale entry: the caller rebuilds and overwrites it
        pass
    return None


def store(name: str, key: str, value: Any) -> None:
    """Keep ``value`` for ``key`` (atomically; nothing happens when the cache is off)."""
    path = path_for(name, key)
    if path is not None:
        _store(path, value)


def _store(path: str, value: Any) -> None:
    import tempfile  # only a build writes; a process that finds its entries never needs it

    try:
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            dump(value, fh, protocol=PROTOCOL)
        os.replace(tmp, path)
    except Exception:
        try:
            os.unlink(tmp)
        except Exception:
            pass
