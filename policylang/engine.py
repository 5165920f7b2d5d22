"""Decide: analyse an action into effects, match rules, combine, apply the mode defaults (DESIGN §3).

The decide path, in order (DESIGN §6):
  1. the cache (a bounded LRU keyed by the normalised action and the context it depends on);
  2. analysis (shell.py for commands, code.py for code, direct effects for files, fetches, tools);
  3. for every effect, the indexed rules that apply, else the default from its risk and the mode;
  4. combine: deny > ask > sandbox > allow over effects and segments; exec_strict; headless.
Any exception on this path yields a fail-closed verdict, never an allow.
"""
from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping, NamedTuple, Sequence
from urllib.parse import urlsplit

from . import ast
from .actions import Action, Code, Command, Context, Fetch, FileOp, Message, ToolCall
from .diagnostics import Diagnostic
from .effects import Analysis, Effect, Segment
from .matcher import CompiledRule, MatchContext, RuleIndex, effect_path, json_text
from .resolve import normalise_path
from .shell import analyse_argv, analyse_command
from .paths import GlobError, PathSet, Roots, split_root, tree
from .settings import Settings
from .source import Source
from .verdict import Decision, Reason, Risk, SegmentVerdict, Verdict, combine_risk

DEFAULT_CONTEXT = Context()
_CWD_CACHE: dict[tuple[str, str], str] = {}
MAX_ACTION_TEXT = 4096
# Devices that are safe to write: everything else under /dev is a disk, a terminal of another
# user, or kernel memory.
SAFE_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
                          "/dev/random", "/dev/urandom", "/dev/full"})
SAFE_DEVICE_DIRS = ("/dev/fd/", "/dev/shm/", "/dev/pts/")


class Judged(NamedTuple):
    """One effect with its risk, the rules that matched it and the decision it got."""

    effect: Effect
    risk: Risk
    why: str
    decision: Decision
    reasons: tuple[Reason, ...]
    matched: tuple[CompiledRule, ...]
    deciding: tuple[CompiledRule, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``explain`` shows: the analysis, every effect's judgement, and the verdict."""

    analysis: Analysis
    judged: tuple[Judged, ...]
    verdict: Verdict


class Policy:
    """A compiled, immutable policy.  Safe to share between threads; ``decide`` is the hot path."""

    def __init__(self, settings: Settings, rules: Sequence[CompiledRule], examples: Sequence[ast.Example] = (),
                 diagnostics: Sequence[Diagnostic] = (), texts: Mapping[str, Source] | None = None):
        self.settings = settings
        self.rules = tuple(rules)
        self.examples = tuple(examples)
        self.diagnostics = tuple(diagnostics)
        self.texts = dict(texts or {})
        self.index = RuleIndex(self.rules)
        self._restricted = PathSet(tree(settings.restricted_paths))
        self._safe = PathSet(tree(settings.safe_paths))
        self._cache: OrderedDict[Any, Verdict] = OrderedDict()
        self._roots: dict[tuple[str, str, str], Roots] = {}
        self._cache_size = settings.cache_size
        self._cache_lock = threading.Lock()

    def with_settings(self, **changes: Any) -> "Policy":
        """The same rules under changed settings (a new Policy; this one is unchanged)."""
        return Policy(replace(self.settings, **changes), self.rules, self.examples, self.diagnostics, self.texts)

    # ---- public API ------------------------------------------------------------------------

    def decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        """The verdict for one action.  Never raises; an internal error yields a fail-closed verdict."""
        act: Action = action if type(action) in _ACTION_TYPES else _coerce(action)  # type: ignore[assignment]
        ctx = context or DEFAULT_CONTEXT
        key = None
        if self._cache_size > 0:
            key = _cache_key(act, ctx)
            hit = self._cache.get(key)  # a dict read is atomic; only writes take the lock
            if hit is not None:
                try:
                    self._cache.move_to_end(key)
                except KeyError:  # evicted by another thread in between
                    pass
                return hit
        try:
            verdict = self._explain(act, ctx).verdict
        except Exception as exc:  # fail closed, and say why
            return self._failure(act, ctx, f"internal error: {type(exc).__name__}: {exc}")
        if key is not None:
            with self._cache_lock:
                self._cache[key] = verdict
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return verdict

    def explain(self, action: Action | str | Sequence[str], context: Context | None = None) -> Explanation:
        """Segments, effects, every rule that matched and why the winner won."""
        return self._explain(_coerce(action), context or DEFAULT_CONTEXT)

    def reference_decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        """The same decision with the plain reference evaluator: no index, no cache."""
        from .reference import reference_matching

        return self._explain(_coerce(action), context or DEFAULT_CONTEXT, matching=reference_matching).verdict

    # ---- the decision ----------------------------------------------------------------------

    def _explain(self, act: Action, ctx: Context, matching: Any = None) -> Explanation:
        s = self.settings
        cwd, env, home = self._where(act)
        rkey = (home, cwd, env.get("TMPDIR") or "/tmp")
        roots = self._roots.get(rkey)
        if roots is None:
            roots = Roots(home=home, workspace=self._workspace(cwd, home), cwd=cwd, tmpdir=rkey[2])
            if len(self._roots) < 1024:
                self._roots[rkey] = roots
        analysis = analyse(act, cwd=cwd, env=env, home=home)
        mctx = MatchContext(roots=roots, cwd=cwd, env=env, home=home, segments=analysis.segments,
                            action=act, context=ctx)
        find = matching or (lambda rules, effect, c: self.index.matching(effect, c))
        judged: list[Judged] = []
        for effect in _effects_to_judge(analysis):
            judged.append(self._judge(effect, mctx, find))
        reasons: list[Reason] = []
        warnings = list(analysis.warnings)
        decision = Decision.ALLOW
        risks: list[Risk] = []
        for j in judged:
            risks.append(j.risk)
            decision = max(decision, j.decision)
        if analysis.error is not None:
            d = max(Decision.ASK, s.opaque_decision)
            reasons.append(Reason("error:analysis", f"cannot analyse the action: {analysis.error}", d, Risk.UNKNOWN))
            decision = max(decision, d)
            risks.append(Risk.UNKNOWN)
        argv = analysis.argv if analysis.structured else None
        if s.exec_strict and isinstance(act, Command) and not analysis.structured:
            why = "; ".join(analysis.reasons) or "not a single simple command"
            reasons.append(Reason("exec-strict", f"exec_strict admits only one simple command without shell "
                                  f"syntax: {why}", Decision.DENY, Risk.UNKNOWN))
            decision = Decision.DENY
        for j in judged:
            if j.decision == decision:
                reasons.extend(j.reasons)
        final = decision
        if final is Decision.ASK and (s.headless or not ctx.interactive):
            final = Decision.DENY
            reasons.append(Reason("default:headless", "no person can answer here (headless): ask becomes deny",
                                  Decision.DENY, Risk.UNKNOWN))
        for j in judged:
            if j.effect.kind == "exec" and not j.effect.known and not j.effect.opaque and j.decision is Decision.ALLOW:
                warnings.append(f"unknown command {j.effect.program!r} allowed by the {s.posture} posture")
        seg_verdicts = _segment_verdicts(analysis, judged)
        verdict = Verdict(
            decision=final,
            risk=combine_risk(risks) if risks else Risk.LOW,
            reasons=tuple(sorted(_dedupe(reasons), key=_severity))
            or (Reason("default:empty", "the action does nothing", final, Risk.LOW),),
            segments=seg_verdicts,
            warnings=tuple(dict.fromkeys(warnings)),
            argv=tuple(argv) if argv is not None else None,
            action=_action_text(act),
            kind=act.kind,
            matched=tuple(dict.fromkeys(r.id for j in judged for r in j.matched)),
        )
        return Explanation(analysis, tuple(judged), verdict)

    def _judge(self, effect: Effect, mctx: MatchContext, find: Any) -> Judged:
        s = self.settings
        risk, why = self.effect_risk(effect, mctx.roots)
        matched = tuple(find(self.rules, effect, mctx))
        deciding: list[CompiledRule] = []
        reasons: list[Reason] = []
        for rule in matched:
            if rule.decision <= Decision.SANDBOX:
                ceiling = rule.risk if rule.risk is not None else Risk.MEDIUM
                if risk > ceiling:
                    continue  # an allow rule never allows more risk than it declares
            deciding.append(rule)
        if deciding:
            decision = max(r.decision for r in deciding)
            for rule in deciding:
                if rule.decision == decision:
                    r_risk = rule.risk if rule.risk is not None else risk
                    reasons.append(Reason(rule.id, rule.message, decision, r_risk, rule.location,
                                          rule.alternative, effect.describe()))
            if why and risk > max(r.risk for r in reasons):
                # the effect is worse than the rule that decided it says: keep that finding too
                reasons.append(Reason(f"default:{risk.label}", why, decision, risk, None, None, effect.describe()))
            if decision is Decision.DENY and s.allow_admin_override and _is_admin(mctx.context):
                if all(r.layer != "admin" and (r.risk or risk) <= Risk.HIGH for r in deciding
                       if r.decision is Decision.DENY) and risk <= Risk.HIGH:
                    decision = Decision.ASK
                    reasons = [replace(r, decision=decision, message=r.message + " (admin override: ask)")
                               for r in reasons]
            risk = max(risk, max((r.risk for r in deciding if r.risk is not None and r.decision >= Decision.ASK),
                                 default=Risk.UNKNOWN))
        else:
            decision, rule_id, message = self.default_decision(effect, risk, why, mctx.context)
            reasons.append(Reason(rule_id, message, decision, risk, None, None, effect.describe()))
        if decision is Decision.ASK and s.sandbox_mode and s.sandbox_available and risk <= Risk.MEDIUM \
                and risk is not Risk.UNKNOWN:
            decision = Decision.SANDBOX
            reasons = [replace(r, decision=decision, message=r.message + " (sandbox mode: run isolated)")
                       for r in reasons]
        return Judged(effect, risk, why, decision, tuple(reasons), matched, tuple(deciding))

    def default_decision(self, effect: Effect, risk: Risk, why: str, context: Any) -> tuple[Decision, str, str]:
        """The mode × risk table of DESIGN §3 for an effect no rule decides."""
        s = self.settings
        explain = s.mode == "explain_only"
        if effect.opaque:
            d = s.opaque_decision
            if explain:
                d = max(d, Decision.ASK)
            return d, "default:opaque", f"cannot be known statically ({why or 'opaque'}): {s.posture} posture"
        if risk >= Risk.HIGH:
            if s.block_high_risk:
                if s.allow_admin_override and risk is Risk.HIGH and _is_admin(context):
                    return Decision.ASK, f"default:{risk.label}", f"{why or risk.label + ' risk'} (admin override: ask)"
                return Decision.DENY, f"default:{risk.label}", why or f"{risk.label} risk"
            return Decision.ASK, f"default:{risk.label}", why or f"{risk.label} risk"
        if effect.kind == "exec" and not effect.known or risk is Risk.UNKNOWN:
            d = s.unknown_decision
            if explain:
                d = max(d, Decision.ASK)
            what = f"unknown command {effect.program!r}" if effect.kind == "exec" else f"unclassified {effect.kind}"
            return d, "default:unknown", f"{what}: {s.posture} posture"
        if explain:
            return Decision.ASK, "default:explain-only", f"{risk.label} risk; explain_only mode asks for everything"
        if risk is Risk.MEDIUM:
            if s.mode == "approve" and s.require_approval_for_medium:
                return Decision.ASK, "default:medium", f"{why or 'medium risk'}: approval required for medium risk"
            return Decision.ALLOW, "default:medium", why or "medium risk"
        return Decision.ALLOW, "default:low", why or "low risk"

    # ---- risk of effects -------------------------------------------------------------------

    def effect_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        kind = effect.kind
        if kind in ("write", "delete"):
            risk, why = self.path_risk(effect, roots)
            if effect.risk > risk:
                return effect.risk, effect.why or why
            return risk, why
        if kind == "read":
            return max(effect.risk, Risk.LOW), effect.why or "read"
        if kind == "network":
            return max(effect.risk, Risk.MEDIUM), effect.why or f"network access to {effect.host}"
        if kind in ("tool",):
            return effect.risk, effect.why
        if kind == "message":
            return max(effect.risk, Risk.LOW), effect.why
        return effect.risk, effect.why

    def path_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        """Risk of a write or delete by where it lands (DESIGN §2, issue 4 §5)."""
        verb = "deletes" if effect.kind == "delete" else "writes"
        if effect.path is None:
            if effect.kind == "delete" and effect.recursive:
                return Risk.HIGH, "recursive delete of a target that cannot be known statically"
            return Risk.MEDIUM, f"{verb} a path that cannot be known statically"
        path, recursive = effect_path(effect)
        risk, why = self._classify(path, recursive, effect, roots, verb)
        if not effect.glob and risk < Risk.CRITICAL:
            real = _realpath(path)
            if real is not None and real != path:
                r2, w2 = self._classify(real, recursive, effect, roots, verb)
                if r2 > risk:
                    return r2, f"{w2} (through the symlink {path})"
        return risk, why

    def _classify(self, path: str, recursive: bool, effect: Effect, roots: Roots, verb: str) -> tuple[Risk, str]:
        if path.startswith("/dev/"):
            if path in SAFE_DEVICES or path.startswith(SAFE_DEVICE_DIRS):
                return Risk.LOW, f"{verb} {path}"
            return Risk.CRITICAL, f"{verb} the device {path}"
        home = roots.home.rstrip("/") or "/"
        if recursive and (path == "/" or home == path or home.startswith(path.rstrip("/") + "/")):
            return Risk.CRITICAL, f"{verb} {path} recursively: the whole {'filesystem' if path == '/' else 'home directory'}"
        if self._restricted.contains(path, roots, False):
            if recursive and _is_root_of_restricted(path, self.settings.restricted_paths, roots):
                return Risk.CRITICAL, f"{verb} the restricted directory {path} recursively"
            return Risk.HIGH, f"{verb} {path}, a restricted path"
        if recursive and self._restricted.contains(path, roots, True):
            return Risk.CRITICAL, f"{verb} {path} recursively, which holds restricted paths"
        ws = roots.workspace.rstrip("/") or "/"
        if path == ws or path.startswith(ws + "/"):
            if effect.kind == "delete" and effect.recursive and (
                    path == ws or effect.glob and _matches_everything_in(effect.path or "", ws)):
                return Risk.HIGH, f"{verb} the whole workspace {ws}"
            return Risk.MEDIUM, f"{verb} {path} in the workspace"
        if self._safe.contains(path, roots, False):
            return Risk.LOW, f"{verb} {path} in a safe path"
        return Risk.HIGH, f"{verb} {path}, outside the workspace and the safe paths"

    # ---- helpers ---------------------------------------------------------------------------

    def _where(self, act: Action) -> tuple[str, Mapping[str, str], str]:
        env_in = getattr(act, "env", None)
        env: Mapping[str, str] = os.environ if env_in is None else env_in
        home = env.get("HOME")
        if not home:
            home = os.path.expanduser("~")
            env = {**env, "HOME": home}
        cwd = getattr(act, "cwd", None) or self.settings.workspace or os.getcwd()
        key = (cwd, home)
        norm = _CWD_CACHE.get(key)
        if norm is None:
            norm = normalise_path(_expand_home(cwd, home))
            if len(_CWD_CACHE) < 4096:
                _CWD_CACHE[key] = norm
        return norm, env, home

    def _workspace(self, cwd: str, home: str) -> str:
        ws = self.settings.workspace
        if not ws:
            return cwd
        return normalise_path(_expand_home(ws, home))

    def _failure(self, act: Any, ctx: Context, why: str) -> Verdict:
        d = max(Decision.ASK, self.settings.opaque_decision)
        if d is Decision.ASK and (self.settings.headless or not ctx.interactive):
            d = Decision.DENY
        text = _action_text(act) if act is not None else ""
        return Verdict(d, Risk.UNKNOWN, (Reason("error:internal", why, d, Risk.UNKNOWN),), action=text,
                       kind=getattr(act, "kind", "command"))

    def check_examples(self, layers: Iterable[str] | None = None) -> list[Diagnostic]:
        """Run the ``example`` lines (of the given layers, or all); a verdict that differs is an error.

        Examples of the built-in and preset layers are run under the settings they were written for
        (the defaults, or the preset's own) by ``policylang check`` of those files, so callers
        checking a user's config pass ``layers=("user", "project", "admin")``.
        """
        out: list[Diagnostic] = []
        wanted = set(layers) if layers is not None else None
        for ex in self.examples:
            if wanted is not None:
                src = self.texts.get(ex.span.source)
                if src is None or src.layer not in wanted:
                    continue
            act = example_action(ex)
            v = self.decide(act)
            src = self.texts.get(ex.span.source)
            line = src.line_text(ex.span.line) if src else ""
            if v.decision.label != ex.decision:
                why = "; ".join(f"{r.rule}: {r.message}" for r in v.reasons[:3])
                out.append(Diagnostic("error", "example-failed",
                                      f"example expected {ex.decision} but the policy decides {v.decision.label} ({why})",
                                      ex.span, line))
            elif ex.rule is not None and ex.rule not in v.matched:
                out.append(Diagnostic("error", "example-failed",
                                      f"example expected rule {ex.rule!r} to decide, but it did not match "
                                      f"(matched: {', '.join(v.matched) or 'none'})", ex.span, line))
        return out


def example_action(ex: ast.Example) -> Action:
    if ex.kind == "command":
        return Command(ex.text)
    if ex.kind == "fetch":
        return Fetch(ex.text)
    return FileOp(ex.kind, ex.text)


# ---- analysis of each action kind ------------------------------------------------------------

def analyse(act: Action, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    """Turn any action into segments and effects."""
    if isinstance(act, Command):
        if isinstance(act.command, str):
            return analyse_command(act.command, cwd=cwd, env=env, home=home)
        return analyse_argv(act.command, cwd=cwd, env=env, home=home)
    if isinstance(act, FileOp):
        return _file_analysis(act, cwd=cwd, env=env, home=home)
    if isinstance(act, Fetch):
        return _fetch_analysis(act, cwd=cwd, env=env, home=home)
    if isinstance(act, Code):
        return _code_analysis(act, cwd=cwd, env=env, home=home)
    if isinstance(act, ToolCall):
        e = Effect("tool", program=act.name, text=json_text(dict(act.args)))
        return Analysis((Segment(act.text, None, (), (e,)),), (e,), structured=False)
    if isinstance(act, Message):
        e = Effect("message", text=act.text, risk=Risk.LOW)
        return Analysis((Segment("message", None, (), (e,)),), (e,))
    return Analysis((), (), error=f"unsupported action {type(act).__name__}")


def literal_path(path: str, *, cwd: str, home: str) -> str | None:
    """A path given as data (a file tool's argument, a string in code): no shell expansion, only a
    leading ``~``; made absolute against cwd and normalised.  None for an empty path or a NUL byte."""
    if not path or "\x00" in path:
        return None
    path = _expand_home(path, home)
    if not path.startswith("/"):
        path = cwd + "/" + path
    return normalise_path(path)


def _file_analysis(act: FileOp, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    path = literal_path(act.path, cwd=cwd, home=home)
    if path is None:
        return Analysis((), (), error=f"cannot use the path {act.path!r}: empty or with a NUL byte")
    if act.op == "exec":
        return analyse_argv([path], cwd=cwd, env=env, home=home)
    kind = {"read": "read", "list": "read", "write": "write", "edit": "write", "delete": "delete"}[act.op]
    e = Effect(kind, path=path, why=f"{act.op} {path}")
    return Analysis((Segment(act.text, None, (), (e,)),), (e,))


def _fetch_analysis(act: Fetch, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    try:
        parts = urlsplit(act.url)
    except ValueError as exc:
        return Analysis((), (), error=f"bad URL {act.url!r}: {exc}")
    if parts.scheme == "file":
        e = Effect("read", path=parts.path or "/", why=f"fetch of a local file {parts.path}")
    elif parts.scheme in ("http", "https") and parts.hostname:
        method = act.method.upper()
        e = Effect("network", host=parts.hostname, risk=Risk.MEDIUM, why=f"{method} {parts.scheme}://{parts.hostname}")
    else:
        return Analysis((), (), error=f"unsupported URL {act.url!r} (expected http, https or file)")
    return Analysis((Segment(act.text, None, (), (e,)),), (e,))


def _code_analysis(act: Code, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    from .code import analyse_code

    found = analyse_code(act.language, act.source)
    lang = act.language.casefold()
    code_effect = Effect("code", program=lang, text=act.source, risk=found.risk,
                         why="; ".join(found.why), opaque=found.opaque)
    segments: list[Segment] = [Segment(f"<{lang} code>", None, (), (code_effect,), risk=found.risk,
                                       why=tuple(found.why), opaque=found.opaque,
                                       opaque_reason=found.opaque_reason)]
    effects: list[Effect] = [code_effect]
    for kind, target, recursive in found.effects:
        if kind == "network":
            e = Effect("network", host=target, segment=0)
        else:
            p = literal_path(target, cwd=cwd, home=home) if target else None
            e = Effect(kind, path=p, recursive=recursive, segment=0, risk=found.risk if recursive else Risk.UNKNOWN,
                       why="; ".join(found.why))
        effects.append(e)
    segments[0] = replace(segments[0], effects=tuple(effects))
    errors: list[str] = []
    for cmd in found.commands:
        sub = analyse_command(cmd, cwd=cwd, env=env, home=home) if isinstance(cmd, str) else \
            analyse_argv(cmd, cwd=cwd, env=env, home=home)
        if sub.error:
            errors.append(sub.error)
        base = len(segments)
        for seg in sub.segments:
            segments.append(replace(seg, via=f"{lang} code", effects=tuple(
                replace(e, segment=e.segment + base) for e in seg.effects)))
        effects.extend(replace(e, segment=e.segment + base) for e in sub.effects)
    return Analysis(tuple(segments), tuple(effects), opaque=found.opaque,
                    reasons=(found.opaque_reason,) if found.opaque_reason else (),
                    error="; ".join(errors) or None)


def _effects_to_judge(analysis: Analysis) -> list[Effect]:
    """Every effect, plus a stand-in exec effect for an opaque segment that has none."""
    out = list(analysis.effects)
    has_exec = {e.segment for e in out if e.kind == "exec"}
    for i, seg in enumerate(analysis.segments):
        if seg.opaque and i not in has_exec:
            out.append(Effect("exec", program=None, argv=seg.argv, opaque=True, segment=i,
                              why=seg.opaque_reason or "opaque", known=False))
    return out


def _segment_verdicts(analysis: Analysis, judged: Sequence[Judged]) -> tuple[SegmentVerdict, ...]:
    by_seg: dict[int, list[Judged]] = {}
    for j in judged:
        by_seg.setdefault(j.effect.segment, []).append(j)
    out = []
    for i, seg in enumerate(analysis.segments):
        js = by_seg.get(i, [])
        decision = max((j.decision for j in js), default=Decision.ALLOW)
        reasons = [r for j in js if j.decision == decision for r in j.reasons]
        out.append(SegmentVerdict(
            text=seg.text[:MAX_ACTION_TEXT], program=seg.program, decision=decision,
            risk=combine_risk([j.risk for j in js]) if js else seg.risk,
            effects=tuple(j.effect.describe() for j in js), reasons=tuple(_dedupe(reasons)), opaque=seg.opaque))
    return tuple(out)


# ---- small helpers ---------------------------------------------------------------------------

def _coerce(action: Action | str | Sequence[str]) -> Action:
    if isinstance(action, str):
        return Command(action)
    if isinstance(action, (Command, FileOp, Fetch, Code, ToolCall, Message)):
        return action
    if isinstance(action, (list, tuple)) and all(isinstance(a, str) for a in action):
        return Command(tuple(action))
    raise TypeError(f"not an action: {type(action).__name__}")


_ACTION_TYPES = frozenset({Command, FileOp, Fetch, Code, ToolCall, Message})
_EXPANDS = frozenset("$~`")


def _cache_key(act: Action, ctx: Context) -> Any:
    """The normalised action and every piece of context its verdict depends on.

    A verdict depends on the text, the cwd, HOME and TMPDIR (roots of path classes), the context,
    and — when the text can expand variables — on the whole environment.
    """
    env = getattr(act, "env", None)
    e = os.environ if env is None else env
    text = act.command if isinstance(act, Command) else act.text
    if type(act) in (Command, Code) and not isinstance(text, tuple) and not _EXPANDS.isdisjoint(text):
        env_key: Any = frozenset(e.items())
    else:
        env_key = (e.get("HOME"), e.get("TMPDIR"))
    cwd = getattr(act, "cwd", None) or os.getcwd()
    return (type(act), text, getattr(act, "direction", None), cwd, env_key, ctx)


def _is_admin(context: Any) -> bool:
    return getattr(context, "role", None) == "admin"


def _is_root_of_restricted(path: str, restricted: Iterable[str], roots: Roots) -> bool:
    """Is ``path`` a restricted directory itself, or an ancestor of one?"""
    for r in restricted:
        try:
            root, rest = split_root(r)
        except GlobError:
            continue
        value = roots.value(root)
        if value is None:
            continue  # "**/x": anywhere, no single directory to be the root of
        base = (value + rest).rstrip("/") or "/"
        if path == base or base.startswith(path.rstrip("/") + "/"):
            return True
    return False


def _matches_everything_in(glob: str, directory: str) -> bool:
    """``D/*``, ``D/.*``, ``D/**``: a glob that stands for all of D's contents (not ``D/**/*.txt``)."""
    rest = glob[len(directory):] if glob.startswith(directory + "/") else ""
    return bool(rest) and set(rest) <= {"/", "*", "."}


def _expand_home(path: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return path


def _realpath(path: str) -> str | None:
    try:
        if os.path.lexists(path) or os.path.lexists(os.path.dirname(path)):
            return os.path.realpath(path)
    except (OSError, ValueError):
        return None
    return None


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
