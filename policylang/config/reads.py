"""What a config load reads: every file and directory listing, recorded with a digest while a
compiled-policy cache entry is built (config/precompiled.py), and checked again on a hit."""
from __future__ import annotations

import os
from contextvars import ContextVar
from typing import Sequence

from .. import cache

# A dependency: ("file", absolute path, bytes read at most, sha256 of the bytes or "-" when unreadable)
# or ("glob", pattern, 0, sha256 of the sorted matches).
Dependency = tuple[str, str, int, str]

RECORDER: ContextVar[list[Dependency] | None] = ContextVar("policylang_precompiled_reads", default=None)
MISSING = "-"  # the digest of a file that could not be read


# ---- recording what a load reads --------------------------------------------------------------

def note_file(path: str, limit: int, data: bytes | None) -> None:
    """Record that a load read ``data`` (None: could not read) from ``path``, at most ``limit`` bytes.

    Called by the readers in loader.py and tomldoc.py; does nothing unless a cache entry is
    being built."""
    recorded = RECORDER.get()
    if recorded is not None:
        recorded.append(("file", os.path.abspath(path), limit, MISSING if data is None else _sha(data)))


def note_glob(pattern: str, found: Sequence[str]) -> None:
    """Record that a load listed ``pattern`` and found ``found``."""
    recorded = RECORDER.get()
    if recorded is not None:
        recorded.append(("glob", pattern, 0, _listing(found)))


def _sha(data: bytes) -> str:
    return cache.digest(data)


def _listing(found: Sequence[str]) -> str:
    return _sha("\0".join(sorted(found)).encode("utf-8", "surrogateescape"))


def _read_limited(path: str, limit: int) -> bytes | None:
    """The first ``limit`` bytes of a regular file (a FIFO put in a file's place reads as missing)."""
    from ..inputs import open_regular

    try:
        with os.fdopen(open_regular(path), "rb") as fh:
            return fh.read(limit)
    except OSError:
        return None


def unchanged(dep: Dependency) -> bool:
    """Whether a recorded file still holds the same bytes, or a listing still finds the same names."""
    kind, where, limit, digest = dep
    if kind == "file":
        data = _read_limited(where, limit)
        return (MISSING if data is None else _sha(data)) == digest
    if kind == "glob":
        import glob

        return _listing(glob.glob(where)) == digest
    return False

