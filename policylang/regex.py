"""Linear-time regular expressions (RE2), called through its raw objects.

google-re2's Python wrapper costs several microseconds per call in bookkeeping; the raw
``_re2.RE2.Match`` and ``_re2.Set.Match`` cost under one.  Everything that matches text at runtime
— user regexes, compiled globs, allow/deny pattern lists — goes through this module.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

import re2  # type: ignore[import-untyped]
from re2 import _re2

_ANCHOR = _re2.RE2.Anchor
_NULL = (-1, -1)


class RegexError(ValueError):
    """RE2 rejected a pattern; the message is RE2's own."""


def _options() -> re2.Options:
    opts = re2.Options()
    opts.log_errors = False
    return opts


_OPTS = _options()


def _error(rx: Any) -> str:
    err = rx.error()
    return err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)


def check(pattern: str) -> str | None:
    """RE2's error message for ``pattern``, or None when it compiles."""
    rx = _re2.RE2(pattern.encode("utf-8"), _OPTS)
    return None if rx.ok() else _error(rx)


class Regex:
    """One compiled RE2 pattern: ``full`` for a whole-string match, ``search`` for anywhere."""

    __slots__ = ("pattern", "_rx")

    def __init__(self, pattern: str):
        rx = _re2.RE2(pattern.encode("utf-8"), _OPTS)
        if not rx.ok():
            raise RegexError(_error(rx))
        self.pattern = pattern
        self._rx = rx

    def full(self, text: str) -> bool:
        b = text.encode("utf-8", "surrogatepass")
        return bool(self._rx.Match(_ANCHOR.ANCHOR_BOTH, b, 0, len(b))[0] != _NULL)

    def search(self, text: str) -> bool:
        b = text.encode("utf-8", "surrogatepass")
        return bool(self._rx.Match(_ANCHOR.UNANCHORED, b, 0, len(b))[0] != _NULL)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


class RegexSet:
    """Many patterns matched in one pass; ``match`` returns the indices of those that match.

    Every pattern is checked when the set is made; the set is compiled on its first match (a
    process that decides one command compiles only the sets that command needs).  Two threads
    that both see it uncompiled each compile a set of their own and one of them is kept.  A set
    too large for RE2's memory budget is split in halves until each part compiles: the answer is
    the same, at one match per part.
    """

    __slots__ = ("patterns", "_set", "_anchor")

    def __init__(self, patterns: Iterable[str], *, anchored: bool, checked: bool = False):
        """``checked``: the patterns are known to be valid RE2 (the translations of globs), so
        they are not checked one by one here; a set that still fails raises on its first match."""
        self.patterns: tuple[str, ...] = tuple(patterns)
        self._anchor = _ANCHOR.ANCHOR_BOTH if anchored else _ANCHOR.UNANCHORED
        self._set: Any = None
        if checked:
            return
        check_set = _re2.Set(self._anchor, _OPTS)
        for i, p in enumerate(self.patterns):
            if check_set.Add(p.encode("utf-8")) != i:
                raise RegexError(check(p) or f"pattern {p!r} rejected")

    def _part(self, start: int, end: int) -> list[tuple[int, Any]]:
        """Compiled sets for patterns[start:end], each with the index of its first pattern."""
        compiled = _re2.Set(self._anchor, _OPTS)
        for i in range(start, end):
            p = self.patterns[i]
            if compiled.Add(p.encode("utf-8")) != i - start:
                raise RegexError(check(p) or f"pattern {p!r} rejected")
        if compiled.Compile():
            return [(start, compiled)]
        if end - start == 1:
            raise RegexError(f"RE2 could not compile the pattern {self.patterns[start]!r} (too large)")
        middle = (start + end) // 2
        return self._part(start, middle) + self._part(middle, end)

    def _compiled(self) -> Any:
        parts = self._part(0, len(self.patterns))
        self._set = parts[0][1] if len(parts) == 1 else tuple(parts)
        return self._set

    def match(self, text: str) -> Sequence[int]:
        if not self.patterns:
            return ()
        rset = self._set or self._compiled()
        b = text.encode("utf-8", "surrogatepass")
        if type(rset) is not tuple:
            return rset.Match(b)  # type: ignore[no-any-return]
        out: list[int] = []
        for first, part in rset:
            out.extend(first + i for i in part.Match(b))
        return out
