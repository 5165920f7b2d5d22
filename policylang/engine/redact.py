"""Redaction: every text a verdict or an explanation shows, with each secret the action carries
(``Analysis.redact``, made by analysis/secretscan) replaced by its marker ``[REDACTED kind:fingerprint]``.

Policy._explain calls it once, where verdicts are built, so every consumer -- the Python API, the
CLI in every format, an audit log -- inherits it.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..effects import Analysis, Effect
from ..frozen import replace
from ..verdict import Reason, SegmentVerdict, Verdict

Pairs = Sequence[tuple[str, str]]
ARGV_WITHHELD = "argv withheld from the verdict: it carries a secret (run the action's own argv)"


def redact_text(text: str, pairs: Pairs) -> str:
    for value, marker in pairs:
        if value in text:
            text = text.replace(value, marker)
    return text


def _opt(text: str | None, pairs: Pairs) -> str | None:
    return None if text is None else redact_text(text, pairs)


def _words(words: Iterable[str], pairs: Pairs) -> tuple[str, ...]:
    return tuple(redact_text(w, pairs) for w in words)


def redact_reason(r: Reason, pairs: Pairs) -> Reason:
    return replace(r, message=redact_text(r.message, pairs), alternative=_opt(r.alternative, pairs),
                   effect=_opt(r.effect, pairs))


def redact_segment_verdict(s: SegmentVerdict, pairs: Pairs) -> SegmentVerdict:
    return replace(s, text=redact_text(s.text, pairs), program=_opt(s.program, pairs),
                   effects=_words(s.effects, pairs), reasons=tuple(redact_reason(r, pairs) for r in s.reasons))


def redact_verdict(v: Verdict, pairs: Pairs) -> Verdict:
    """The verdict with every secret replaced by its marker (``argv`` withheld when it held one)."""
    if not pairs:
        return v
    argv = v.argv
    warnings = _words(v.warnings, pairs)
    if argv is not None and _words(argv, pairs) != argv:
        argv = None
        warnings = warnings + (ARGV_WITHHELD,)
    segments = v._segments  # built lazily: redact them when they are built
    if callable(segments):
        build = segments
        lazy: Any = lambda: tuple(redact_segment_verdict(s, pairs) for s in build())  # noqa: E731
    else:
        lazy = tuple(redact_segment_verdict(s, pairs) for s in segments)
    return Verdict(v.decision, v.risk, tuple(redact_reason(r, pairs) for r in v.reasons), lazy, warnings, argv,
                   redact_text(v.action, pairs), v.kind, v.matched)


def redact_effect(e: Effect, pairs: Pairs) -> Effect:
    return replace(e, program=_opt(e.program, pairs), argv=_words(e.argv, pairs), operands=_words(e.operands, pairs),
                   flags=frozenset(_words(e.flags, pairs)), path=_opt(e.path, pairs), host=_opt(e.host, pairs),
                   text=_opt(e.text, pairs), why=redact_text(e.why, pairs))


def redact_analysis(a: Analysis, pairs: Pairs) -> Analysis:
    segments = tuple(replace(s, text=redact_text(s.text, pairs), program=_opt(s.program, pairs),
                             argv=_words(s.argv, pairs), effects=tuple(redact_effect(e, pairs) for e in s.effects),
                             why=_words(s.why, pairs), opaque_reason=redact_text(s.opaque_reason, pairs))
                     for s in a.segments)
    argv = None if a.argv is None else _words(a.argv, pairs)
    return replace(a, segments=segments, effects=tuple(redact_effect(e, pairs) for e in a.effects),
                   reasons=_words(a.reasons, pairs), error=_opt(a.error, pairs), argv=argv,
                   warnings=_words(a.warnings, pairs), redact=())


def redact_judged(j: Any, pairs: Pairs) -> Any:
    return j._replace(effect=redact_effect(j.effect, pairs), why=redact_text(j.why, pairs),
                      reasons=tuple(redact_reason(r, pairs) for r in j.reasons))


__all__ = ["redact_analysis", "redact_judged", "redact_text", "redact_verdict"]
