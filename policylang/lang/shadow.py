"""Shadowed rules: a rule that can never decide anything because a stronger rule always matches too.

Found statically on the compiled rules (a warning from ``policylang check``).  The test is
conservative: it reports only coverage it can prove, so a silent result is not a guarantee.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Any

from ..diagnostics import Diagnostic
from ..engine.matcher import ArgvPattern, CompiledRule, ExecTarget, PathTarget
from ..source import Span


def shadowed_rules(policy: Any) -> list[Diagnostic]:
    """A warning for every rule that a stronger rule without ``unless`` or ``when`` always covers.

    Near-linear in the number of rules: the possible coverers are indexed (exec rules by program and
    first literal operand, path rules by effect kind and path prefix), so each rule is compared only
    with the few rules that could cover it; :func:`covers` is the exact test.  The coverer named is
    the first one in policy order, as a pairwise scan would find.
    """
    out: list[Diagnostic] = []
    rules: tuple[CompiledRule, ...] = policy.rules
    index = _CovererIndex(rules)
    for b in rules:
        a = index.first_coverer(b)
        if a is None:
            continue
        parts = b.location.rsplit(":", 2)
        src = policy.texts.get(parts[0])
        line = int(parts[1]) if len(parts) == 3 else 0
        span = Span(parts[0], line, int(parts[2]), 0, 0) if len(parts) == 3 else None
        out.append(Diagnostic(
            "warning", "shadowed-rule",
            f"rule {b.id!r} ({b.decision.label}) can never decide: rule {a.id!r} "
            f"({a.decision.label}, {a.location}) matches everything it matches and is stronger",
            span, src.line_text(line) if src else ""))
    return out


_ANY = "\0any"  # the bucket of exec coverers of any program, or of any first operand


class _CovererIndex:
    """The rules that may cover others, bucketed so a rule looks only at those that could cover it.

    A bucket holds positions in policy order; a candidate list is the sorted union of a few buckets.
    """

    def __init__(self, rules: Sequence[CompiledRule]):
        self.rules = rules
        self.exec: dict[tuple[str, str], list[int]] = {}  # (program or _ANY, first word or _ANY)
        self.path_exact: dict[tuple[str, str, str], list[int]] = {}  # (kind, root, rest)
        self.path_below: dict[tuple[str, str, str], list[int]] = {}  # (kind, root, base of "base/**")
        self.path_all: dict[str, list[int]] = {}  # kind -> rules with ["/**"]
        for i, a in enumerate(rules):
            if a.unless or a.when is not None:
                continue
            t = a.target
            if isinstance(t, ExecTarget):
                self._add_exec(i, t.pattern)
            elif isinstance(t, PathTarget):
                self._add_path(i, t)

    def _add_exec(self, i: int, p: ArgvPattern) -> None:
        if p.text is not None or p.program_regexes:
            return  # covers nothing (see _argv_covers)
        first = p.tokens[0] if p.tokens else None
        if first is not None and first.kind == "lit":
            if first.globs or first.regexes:
                return
            words: Iterable[str] = first.words
        elif first is not None and first.kind == "path":
            return
        else:
            words = (_ANY,)
        for prog in (p.programs if p.programs is not None else (_ANY,)):
            for w in words:
                self.exec.setdefault((prog, w), []).append(i)

    def _add_path(self, i: int, t: PathTarget) -> None:
        pats = t.paths.patterns
        if any(p.negated for p in pats):
            return
        for p in pats:
            if p.root == "abs" and p.rest == "/**":
                self.path_all.setdefault(t.kind, []).append(i)
            elif p.rest.endswith("/**") and not any(c in p.rest[:-3] for c in "*?["):
                self.path_below.setdefault((t.kind, p.root, p.rest[:-3]), []).append(i)
            else:
                self.path_exact.setdefault((t.kind, p.root, p.rest), []).append(i)

    def candidates(self, b: CompiledRule) -> list[list[int]] | None:
        """Buckets that hold every rule that may cover ``b`` (None: no rule can)."""
        t = b.target
        if isinstance(t, ExecTarget):
            p = t.pattern
            first = p.tokens[0] if p.tokens else None
            words = [_ANY]
            if first is not None and first.kind == "lit" and not first.globs and not first.regexes:
                words += sorted(first.words)
            progs = [_ANY]
            if p.programs is not None and not p.program_regexes:
                progs += sorted(p.programs)  # a coverer names them all: one of them would do
            return [self.exec.get((g, w), []) for g in progs[:2] for w in words[:2]]
        if isinstance(t, PathTarget):
            pos = [pb for pb in t.paths.patterns if not pb.negated]
            if not pos:
                return None  # covers nothing to be shadowed in a useful sense: left alone
            pb = pos[0]  # a coverer covers this one too
            out = [self.path_all.get(t.kind, []), self.path_exact.get((t.kind, pb.root, pb.rest), [])]
            rest = pb.rest
            for j, c in enumerate(rest):
                if c == "/":
                    out.append(self.path_below.get((t.kind, pb.root, rest[:j]), []))
            out.append(self.path_below.get((t.kind, pb.root, rest), []))
            return out
        return None

    def first_coverer(self, b: CompiledRule) -> CompiledRule | None:
        buckets = self.candidates(b)
        if not buckets:
            return None
        for i in heapq.merge(*(x for x in buckets if x)):
            a = self.rules[i]
            if a is not b and a.decision > b.decision and covers(a, b):
                return a
        return None


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
