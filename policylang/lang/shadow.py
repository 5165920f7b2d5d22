"""Shadowed rules: a rule that can never decide anything because a stronger rule always matches too.

Found statically on the compiled rules (a warning from ``policylang check``).  The test is
conservative: it reports only coverage it can prove, so a silent result is not a guarantee.
"""
from __future__ import annotations

from typing import Any

from ..diagnostics import Diagnostic
from ..engine.matcher import ArgvPattern, CompiledRule, ExecTarget, PathTarget
from ..source import Span


def shadowed_rules(policy: Any) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    rules: tuple[CompiledRule, ...] = policy.rules
    for b in rules:
        for a in rules:
            if a is b or a.decision <= b.decision or a.unless or a.when is not None:
                continue
            if covers(a, b):
                parts = b.location.rsplit(":", 2)
                src = policy.texts.get(parts[0])
                line = int(parts[1]) if len(parts) == 3 else 0
                span = Span(parts[0], line, int(parts[2]), 0, 0) if len(parts) == 3 else None
                out.append(Diagnostic(
                    "warning", "shadowed-rule",
                    f"rule {b.id!r} ({b.decision.label}) can never decide: rule {a.id!r} "
                    f"({a.decision.label}, {a.location}) matches everything it matches and is stronger",
                    span, src.line_text(line) if src else ""))
                break
    return out


def covers(a: CompiledRule, b: CompiledRule) -> bool:
    ta, tb = a.target, b.target
    if isinstance(ta, ExecTarget) and isinstance(tb, ExecTarget):
        return _argv_covers(ta.pattern, tb.pattern)
    if isinstance(ta, PathTarget) and isinstance(tb, PathTarget):
        if ta.kind != tb.kind or (ta.recursive and not tb.recursive):
            return False
        if any(p.negated for p in ta.paths.patterns):
            return False
        for pb in tb.paths.patterns:
            if pb.negated:
                continue
            if not any(_glob_covers(pa.root, pa.rest, pb.root, pb.rest) for pa in ta.paths.patterns):
                return False
        return True
    return False


def _glob_covers(ra: str, a: str, rb: str, b: str) -> bool:
    if ra != rb:
        return ra == "abs" and a == "/**"  # everything
    if a == b:
        return True
    if a.endswith("/**"):
        base = a[:-3]
        return not any(c in base for c in "*?[") and (b == base or b.startswith(base + "/"))
    return False


def _argv_covers(a: ArgvPattern, b: ArgvPattern) -> bool:
    if a.text is not None or a.program_regexes:
        return False
    if a.programs is not None:
        if b.programs is None or b.program_regexes or not b.programs <= a.programs:
            return False
    if not all(req in b.flags for req in a.flags):
        return False
    ta, tb = a.tokens, b.tokens
    if ta and ta[-1].kind == "many":
        head = ta[:-1]
        if len(tb) < len(head):
            return False
        pairs = zip(head, tb)
    elif len(ta) == len(tb):
        pairs = zip(ta, tb)
    else:
        return False
    for x, y in pairs:
        if x.kind == "one" and y.kind in ("one", "lit", "path"):
            continue
        if x.kind != y.kind:
            return False
        if x.kind == "lit" and (x.globs or x.regexes or y.globs or y.regexes or not y.words <= x.words):
            return False
        if x.kind == "path":
            return False
    return True
