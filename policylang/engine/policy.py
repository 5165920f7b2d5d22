"""Decide: analyse an action into effects, judge each effect, combine (DESIGN §3).

The decide path, in order (DESIGN §6):
  1. the verdict cache (vcache.py: bounded, two generations; keyed by the normalised action and its context);
  2. analysis (policylang.analysis: the shell analyser for commands, the code analyser for code,
     stated effects for files, fetches, tools and messages);
  3. for every effect, the indexed rules that apply, else the default from its risk and the mode (judge.py);
  4. combine: deny > ask > sandbox > allow over effects and segments; exec_strict; headless.
Any exception on this path yields a fail-closed verdict, never an allow.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from ..actions import Action, Code, Command, Context, Fetch, FileOp, Message, ToolCall
from ..analysis.dispatch import analyse, expand_home
from ..analysis.secretscan.findings import secret_pairs
from ..diagnostics import shown, Diagnostic
from ..effects import Analysis, Effect
from ..frozen import record, replace
from ..resolve import normalise_path
from ..settings import Settings
from ..source import Source
from ..verdict import ALLOW, ASK, DENY, LOW, UNKNOWN, Reason, Risk, SegmentVerdict, Verdict, combine_risk
from .judge import Judge, Judged, cover_own_effects
from .matcher import CompiledRule, MatchContext, RuleIndex
from .pathsets import Roots
from .redact import redact_analysis, redact_judged, redact_text, redact_verdict
from .vcache import ACTION_TYPES, VerdictCache, environ_of

if TYPE_CHECKING:
    from ..lang.nodes import Example

DEFAULT_CONTEXT = Context()
_CWD_CACHE: dict[tuple[str, str], str] = {}
MAX_ACTION_TEXT = 4096


@record
class Explanation:
    """Everything ``explain`` shows: the analysis, every effect's judgement, and the verdict."""

    analysis: Analysis
    judged: tuple[Judged, ...]
    verdict: Verdict


class Policy:
    """A compiled, immutable policy.  Safe to share between threads; ``decide`` is the hot path."""

    def __init__(self, settings: Settings, rules: Sequence[CompiledRule], examples: Sequence[Example] = (),
                 diagnostics: Sequence[Diagnostic] = (), texts: Mapping[str, Source] | None = None):
        self.settings = settings
        self.rules = tuple(rules)
        self.examples = tuple(examples)
        self.diagnostics = tuple(diagnostics)
        self.texts = dict(texts or {})
        self.index = RuleIndex(self.rules)
        self.judge = Judge(settings)
        self._roots: dict[tuple[str, str, str], Roots] = {}
        self._cache = VerdictCache(settings.cache_size, settings.workspace, DEFAULT_CONTEXT) \
            if settings.cache_size > 0 else None

    def with_settings(self, **changes: Any) -> "Policy":
        """The same rules under changed settings (a new Policy; this one is unchanged)."""
        return Policy(replace(self.settings, **changes), self.rules, self.examples, self.diagnostics, self.texts)

    # ---- public API ------------------------------------------------------------------------

    def decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        """The verdict for one action.  Never raises; an internal error yields a fail-closed verdict."""
        ctx = DEFAULT_CONTEXT if context is None else context
        cache = self._cache
        key = None
        if cache is not None:
            try:
                key = cache.key(action, ctx)
                hit = None if key is None else cache.recent.get(key)
                if hit is not None:
                    return hit
                hit = None if key is None else cache.older.get(key)
                if hit is not None:
                    cache.remember(key, hit)
                    return hit
            except Exception:  # an unhashable or odd action: decide it without the cache
                key = None
        try:
            act: Action = action if type(action) in ACTION_TYPES else _coerce(action)  # type: ignore[assignment]
        except TypeError as exc:  # decide(123): not an action, so nothing that could be allowed
            return Verdict(DENY, UNKNOWN, (Reason("error:input", str(exc), DENY, UNKNOWN),), action="",
                           kind="invalid")
        # the decision sees the environment its cache key holds: HOME changed by another thread
        # half-way cannot file a verdict made under one HOME under the other
        environ = environ_of(key) if key is not None and getattr(act, "env", None) is None else None
        try:
            explanation = self._explain(act, ctx, environ=environ)
        except Exception as exc:  # fail closed, and say why
            return self._failure(act, ctx, f"internal error: {type(exc).__name__}: {exc}")
        verdict = explanation.verdict
        if key is not None and cache is not None and not _reads_the_filesystem(explanation.judged):
            cache.remember(key, verdict)
        return verdict

    def explain(self, action: Action | str | Sequence[str], context: Context | None = None) -> Explanation:
        """Segments, effects, every rule that matched and why the winner won."""
        return self._explain(_coerce(action), context or DEFAULT_CONTEXT)

    def reference_decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        """The same decision with the plain reference evaluator: no index, no cache."""
        from .reference import reference_matching

        return self._explain(_coerce(action), context or DEFAULT_CONTEXT, matching=reference_matching).verdict

    def check_examples(self, layers: Iterable[str] | None = None) -> list[Diagnostic]:
        """Run the ``example`` lines (of the given layers, or all); a verdict that differs is an error."""
        from .examples import check_examples

        return check_examples(self, layers)

    # ---- the decision ----------------------------------------------------------------------

    def _explain(self, act: Action, ctx: Context, matching: Any = None,
                 environ: Mapping[str, str] | None = None) -> Explanation:
        s = self.settings
        cwd, env, home = self._where(act, environ)
        tmpdir = env.get("TMPDIR") or "/tmp"
        roots = self._roots.get((home, cwd, tmpdir))
        if roots is None:
            roots = Roots(home=home, workspace=self._workspace(cwd, home), cwd=cwd, tmpdir=tmpdir,
                          fold=s.case_insensitive_paths)
            if len(self._roots) < 1024:
                self._roots[(home, cwd, tmpdir)] = roots
        given = getattr(act, "cwd", None)
        if given is not None and (not isinstance(given, str) or not given.startswith(("/", "~")) or "\x00" in given):
            # a relative or empty working directory names no place: nothing can be resolved against it
            analysis = Analysis((), (), error=f"the action's working directory {shown(str(given))} is not an absolute path")
        else:
            analysis = analyse(act, cwd=cwd, env=env, home=home)
        mctx = MatchContext(roots, cwd, env, home, analysis.segments, act, ctx)
        find: Callable[[Effect, MatchContext], Sequence[CompiledRule]] = self.index.matching
        if matching is not None:
            rules = self.rules
            find = lambda effect, c: matching(rules, effect, c)  # noqa: E731
        judge = self.judge.judge
        judged = cover_own_effects([judge(effect, mctx, find) for effect in _effects_to_judge(analysis)])
        if any(seg.speculative for seg in analysis.segments):
            judged = _speculative(analysis, judged)
        decision = ALLOW
        risks: list[Risk] = []
        for j in judged:
            risks.append(j.risk)
            if j.decision > decision:
                decision = j.decision
        reasons: list[Reason] = []
        if analysis.error is not None:
            d = max(ASK, s.opaque_decision)
            reasons.append(Reason("error:analysis", f"cannot analyse the action: {analysis.error}", d, UNKNOWN))
            if d > decision:
                decision = d
            risks.append(UNKNOWN)
        if s.exec_strict and isinstance(act, Command) and not analysis.structured:
            why = "; ".join(analysis.reasons) or "not a single simple command"
            reasons.append(Reason("exec-strict", f"exec_strict admits only one simple command without shell "
                                  f"syntax: {why}", DENY, UNKNOWN))
            decision = DENY
        for j in judged:
            if j.decision is decision:
                reasons.extend(j.reasons)
        final = decision
        if final is ASK and (s.headless or not ctx.interactive):
            final = DENY
            reasons.append(Reason("default:headless", "no person can answer here (headless): ask becomes deny",
                                  DENY, UNKNOWN))
        warnings = analysis.warnings
        unknown = [j.effect.program for j in judged if j.decision is ALLOW and not j.effect.known
                   and j.effect.kind == "exec" and not j.effect.opaque]
        if unknown:
            warnings = warnings + tuple(f"unknown command {shown(p or '?')} allowed by the {s.posture} posture" for p in unknown)
        if len(reasons) > 1:
            reasons = sorted(_dedupe(reasons), key=_severity)
        verdict = Verdict(
            final,
            combine_risk(risks) if risks else LOW,
            tuple(reasons) or (Reason("default:empty", "the action does nothing", final, LOW),),
            lambda: _segment_verdicts(analysis, judged),
            tuple(dict.fromkeys(warnings)) if len(warnings) > 1 else warnings,
            analysis.argv if analysis.structured and analysis.argv is not None else None,
            _action_text(act),
            act.kind,
            _matched_ids(judged),
        )
        pairs = analysis.redact
        if pairs:
            return Explanation(redact_analysis(analysis, pairs), tuple(redact_judged(j, pairs) for j in judged),
                               redact_verdict(verdict, pairs))
        return Explanation(analysis, tuple(judged), verdict)

    # ---- helpers ---------------------------------------------------------------------------

    def _where(self, act: Action, environ: Mapping[str, str] | None = None) -> tuple[str, Mapping[str, str], str]:
        env_in = getattr(act, "env", None)
        env: Mapping[str, str] = (os.environ if environ is None else environ) if env_in is None else env_in
        home = env.get("HOME")
        if not home:
            home = os.path.expanduser("~")
            env = {**env, "HOME": home}
        cwd = getattr(act, "cwd", None) or self.settings.workspace or os.getcwd()
        key = (cwd, home)
        norm = _CWD_CACHE.get(key)
        if norm is None:
            norm = normalise_path(expand_home(cwd, home))
            if len(_CWD_CACHE) < 4096:
                _CWD_CACHE[key] = norm
        return norm, env, home

    def _workspace(self, cwd: str, home: str) -> str:
        ws = self.settings.workspace
        if not ws:
            return cwd
        return normalise_path(expand_home(ws, home))

    def _failure(self, act: Any, ctx: Context, why: str) -> Verdict:
        d = max(ASK, self.settings.opaque_decision)
        if d is ASK and (self.settings.headless or not ctx.interactive):
            d = DENY
        text = _action_text(act) if act is not None else ""
        pairs = secret_pairs(act) if act is not None else ()
        return Verdict(d, UNKNOWN, (Reason("error:internal", redact_text(why, pairs), d, UNKNOWN),),
                       action=redact_text(text, pairs), kind=getattr(act, "kind", "command"))


def _reads_the_filesystem(judged: Sequence[Judged]) -> bool:
    """Did the verdict look at the filesystem?  A file effect on a concrete path is judged where its
    symbolic links lead too (``Judge.judge``), and a link can appear between two identical actions:
    ``write conf/x``, then ``ln -s /etc conf``, then ``write conf/x`` again.  Such a verdict is not
    cached."""
    for j in judged:
        e = j.effect
        if (e.kind == "write" or e.kind == "delete" or e.kind == "read") and e.path is not None and not e.glob:
            return True
    return False


def _effects_to_judge(analysis: Analysis) -> Sequence[Effect]:
    """Every effect, plus a stand-in exec effect for an opaque segment that has none."""
    if not analysis.opaque and not any(seg.opaque for seg in analysis.segments):
        return analysis.effects
    out = list(analysis.effects)
    has_exec = {e.segment for e in out if e.kind == "exec"}
    for i, seg in enumerate(analysis.segments):
        if seg.opaque and i not in has_exec:
            out.append(Effect("exec", program=None, argv=seg.argv, opaque=True, segment=i,
                              why=seg.opaque_reason or "opaque", known=False))
    return out


def _speculative(analysis: Analysis, judged: list[Judged]) -> list[Judged]:
    """Effects read from an unknown program's arguments (what it might run): a deny becomes an ask,
    anything else is set aside -- the program is judged by the posture for unknown programs."""
    out = []
    for j in judged:
        if not analysis.segments[j.effect.segment].speculative:
            out.append(j)
        elif j.decision is DENY:
            out.append(j._replace(decision=ASK, reasons=tuple(
                replace(r, decision=ASK, message=f"an argument of an unknown program, if it runs it: {r.message}")
                for r in j.reasons)))
        else:
            out.append(j._replace(decision=ALLOW, risk=LOW, reasons=()))
    return out


def _segment_verdicts(analysis: Analysis, judged: Sequence[Judged]) -> tuple[SegmentVerdict, ...]:
    segments = analysis.segments
    if len(segments) == 1:  # the common case: every judgement belongs to the one segment
        by_seg: dict[int, list[Judged]] = {0: [j for j in judged if j.effect.segment == 0]}
    else:
        by_seg = {}
        for j in judged:
            by_seg.setdefault(j.effect.segment, []).append(j)
    out = []
    for i, seg in enumerate(segments):
        js = by_seg.get(i, ())
        decision = ALLOW
        for j in js:
            if j.decision > decision:
                decision = j.decision
        reasons = [r for j in js if j.decision is decision for r in j.reasons]
        text = seg.text
        out.append(SegmentVerdict(
            text if len(text) <= MAX_ACTION_TEXT else text[:MAX_ACTION_TEXT], seg.program, decision,
            combine_risk([j.risk for j in js]) if js else seg.risk,
            tuple([j.effect.describe() for j in js]), tuple(_dedupe(reasons)) if len(reasons) > 1 else tuple(reasons),
            seg.opaque))
    return tuple(out)


def _matched_ids(judged: Sequence[Judged]) -> tuple[str, ...]:
    """Ids of every rule that matched any effect, in order, once each."""
    ids = [r.id for j in judged for r in j.matched]
    return tuple(dict.fromkeys(ids)) if len(ids) > 1 else tuple(ids)


# ---- small helpers ---------------------------------------------------------------------------

def _coerce(action: Action | str | Sequence[str]) -> Action:
    if isinstance(action, str):
        return Command(action)
    if isinstance(action, (Command, FileOp, Fetch, Code, ToolCall, Message)):
        return action
    if isinstance(action, (list, tuple)) and all(isinstance(a, str) for a in action):
        return Command(tuple(action))
    raise TypeError(f"not an action: {type(action).__name__} (expected a Command, FileOp, Fetch, Code, ToolCall "
                    "or Message, a command string, or an argv list of strings)")


def _severity(reason: Reason) -> int:
    """Sort key: the most severe reason first (stable among equals)."""
    return -int(reason.risk)


def _dedupe(reasons: Iterable[Reason]) -> list[Reason]:
    seen: set[tuple[str, str, str | None]] = set()
    out = []
    for r in reasons:
        k = (r.rule, r.message, r.effect)
        if k not in seen:
            seen.add(k)
            out.append(r)
    return out


def _action_text(act: Any) -> str:
    text = act.text if hasattr(act, "text") else str(act)
    return text if len(text) <= MAX_ACTION_TEXT else text[:MAX_ACTION_TEXT] + f"... ({len(text)} characters)"
