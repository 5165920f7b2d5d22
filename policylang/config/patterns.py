"""What an allow or deny pattern of config.toml means: the RE2 regex its rule matches with (issue 12).

A pattern is matched against each shell segment's normalised command: its argv joined by single
spaces, the program as the catalog names it (``/usr/bin/npm`` -> ``npm``, ``GIT`` -> ``git``;
``./malware`` stays ``./malware``).  Wrappers are segments of their own (``sudo npm test`` is the
segments ``npm test`` and ``sudo npm test``).

allow  anchored: the pattern must match from the first word and end where a word ends.
       ``npm test`` is the regex ``^(?:npm test)(?:\\s|$)``: it allows ``npm test`` and
       ``npm test --watch``, not ``./malware npm test``, ``python3 exfil.py npm test``, ``xnpm test``
       or ``npm testing``.  A leading ``*`` writes the unanchored form: ``*npm test`` is the
       regex ``npm test`` matched anywhere in the segment (``check`` warns about it).
deny   matched anywhere in the segment, as written: a deny pattern that matches more than its
       author meant denies too much, which fails closed.  ``^`` anchors one; a leading ``*`` is
       accepted and changes nothing.

The body (the pattern without its ``*``) must compile on its own, so the group that anchors it
cannot be closed from inside (``x)|(.*`` is an error, never an allow-everything).
"""
from __future__ import annotations

from typing import Any

UNANCHORED = "*"

# The programs the lint puts before, or in place of, a pattern's first word: an allow pattern that
# matches with one of them allows a program its author did not name.
PROBE_PROGRAMS = ("./malware", "zzmalware")


def split(raw: str) -> tuple[str, bool]:
    """(the regex as written, whether it is anchored): ``*npm test`` -> (``npm test``, False)."""
    if raw.startswith(UNANCHORED):
        return raw[len(UNANCHORED):], False
    return raw, True


def pattern_regex(raw: str, decision: str) -> str:
    """The RE2 regex the rule of pattern ``raw`` searches each segment's command with."""
    body, anchored = split(raw)
    if decision == "allow" and anchored:
        return rf"^(?:{body})(?:\s|$)"
    return body


# ---- the lint: an allow pattern that can match after the program name ------------------------

def loose_allow(raw: str) -> tuple[str, str] | None:
    """(why, a command it allows) when the allow pattern ``raw`` can match after the program name or
    does not fix the program; None when it cannot (as far as the probes find)."""
    from ..regex import Regex, check

    body, anchored = split(raw)
    if not body or check(body) is not None:
        return None  # an error the loader reports
    rx = Regex(pattern_regex(raw, "allow"))
    found = samples(body)
    if not anchored:
        witness = f"{PROBE_PROGRAMS[0]} {found[0]}" if found else PROBE_PROGRAMS[0]
        return "is unanchored (a leading *): it matches anywhere in a command", witness.rstrip()
    for sample in found or [""]:
        rest = sample.partition(" ")[2]
        for program in PROBE_PROGRAMS:
            probe = f"{program} {rest}".rstrip()
            if rx.search(probe):
                return "does not name the program (its first word matches any program)", probe
    for sample in found:
        for program in PROBE_PROGRAMS:
            probe = f"{program} {sample}".rstrip()
            if rx.search(probe):
                return "can match after the program name", probe
    return None


_LIMIT = 12  # samples of one pattern, at most


def samples(body: str) -> list[str]:
    """A few strings the regex ``body`` matches (each alternative, each optional part taken or
    not), from Python's parse of it; [] when that parse fails or meets what it cannot sample
    (RE2 syntax Python lacks, back-references, assertions)."""
    try:
        import re._parser as parser  # type: ignore[import-not-found]  # Python 3.11+
    except ImportError:  # pragma: no cover - older or other Pythons
        return []
    try:
        parsed = parser.parse(body)
    except Exception:  # whatever Python's parser makes of RE2 syntax, the lint goes on without samples
        return []
    out = _sequence(list(parsed), parser)
    return [] if out is None else list(dict.fromkeys(out))


def _sequence(items: list[tuple[Any, Any]], parser: Any) -> list[str] | None:
    outs = [""]
    for op, av in items:
        alts = _item(op, av, parser)
        if alts is None:
            return None
        outs = [a + b for a in outs for b in alts][:_LIMIT]
    return outs


def _item(op: Any, av: Any, parser: Any) -> list[str] | None:
    c = parser  # the opcode constants are re-exported by the parser module
    if op is c.LITERAL:
        return [chr(av)]
    if op is c.NOT_LITERAL:
        return ["a" if av != ord("a") else "b"]
    if op is c.ANY:
        return ["a"]
    if op is c.AT:
        return [""]
    if op is c.IN:
        ch = next((ch for ch in "a0A-_./z " if _in_class(av, ch, c)), None)
        return None if ch is None else [ch]
    if op is c.CATEGORY:
        ch = next((ch for ch in "a0 -" if _in_category(av, ch, c)), None)
        return None if ch is None else [ch]
    if op is c.BRANCH:
        out: list[str] = []
        for branch in av[1]:
            got = _sequence(list(branch), parser)
            if got is None:
                return None
            out.extend(got)
        return out[:_LIMIT]
    if op is c.SUBPATTERN:
        return _sequence(list(av[-1]), parser)
    if op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", c.MAX_REPEAT)):
        lo, hi, inner = av
        got = _sequence(list(inner), parser)
        if got is None:
            return None
        counts = sorted({min(lo, 8), min(max(lo, 1), hi, 8)})
        return [s * n for n in counts for s in got[:2]]
    return None  # back-references, assertions, atomic groups: not sampled


def _in_class(items: Any, ch: str, c: Any) -> bool:
    negate, hit = False, False
    for op, av in items:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            hit = hit or ord(ch) == av
        elif op is c.RANGE:
            hit = hit or av[0] <= ord(ch) <= av[1]
        elif op is c.CATEGORY:
            hit = hit or _in_category(av, ch, c)
    return hit != negate


def _in_category(cat: Any, ch: str, c: Any) -> bool:
    tests = {c.CATEGORY_DIGIT: ch.isdigit(), c.CATEGORY_NOT_DIGIT: not ch.isdigit(),
             c.CATEGORY_SPACE: ch.isspace(), c.CATEGORY_NOT_SPACE: not ch.isspace(),
             c.CATEGORY_WORD: ch.isalnum() or ch == "_", c.CATEGORY_NOT_WORD: not (ch.isalnum() or ch == "_")}
    return tests.get(cat, False)
