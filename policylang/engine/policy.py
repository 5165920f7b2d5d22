"""Decide: analyse an action into effects, match rules, combine, apply the mode defaults (DESIGN §3).

The decide path, in order (DESIGN §6):
  1. the verdict cache (bounded, two generations; keyed by the normalised action and its context);
  2. analysis (shell.py for commands, code.py for code, direct effects for files, fetches, tools);
  3. for every effect, the indexed rules that apply, else the default from its risk and the mode;
  4. combine: deny > ask > sandbox > allow over effects and segments; exec_strict; headless.
Any exception on this path yields a fail-closed verdict, never an allow.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

from ..lang import nodes as ast
from ..actions import Action, Code, Command, Context, Fetch, FileOp, Message, ToolCall
from ..diagnostics import Diagnostic
from ..effects import Analysis, Effect, Segment
from ..frozen import record, replace
from .matcher import CompiledRule, MatchContext, RuleIndex, effect_path, json_text
from .pathsets import GlobError, PathSet, Roots, split_root, tree
from ..resolve import normalise_path
from ..settings import Settings
from ..analysis.shell.analyser import analyse_argv, analyse_command
from ..source import Source
from ..verdict import (
    ALLOW,
    ASK,
    CRITICAL,
    DENY,
    HIGH,
    LOW,
    MEDIUM,
    SANDBOX,
    UNKNOWN,
    Decision,
    Reason,
    Risk,
    SegmentVerdict,
    Verdict,
    combine_risk,
)

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


@record
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
        self._recent: dict[Any, Verdict] = {}
        self._older: dict[Any, Verdict] = {}
        self._roots: dict[tuple[str, str, str], Roots] = {}
        self._cache_size = settings.cache_size
        self._generation = max(1, settings.cache_size // 2)
        self._cache_lock = threading.Lock()
        self._default_cwd = settings.workspace

    def with_settings(self, **changes: Any) -> "Policy":
        """The same rules under changed settings (a new Policy; this one is unchanged)."""
        return Policy(replace(self.settings, **changes), self.rules, self.examples, self.diagnostics, self.texts)

    # ---- public API ------------------------------------------------------------------------

    def decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        """The verdict for one action.  Never raises; an internal error yields a fail-closed verdict."""
        ctx = DEFAULT_CONTEXT if context is None else context
        key = None
        if self._cache_size > 0:
            try:
                key = self._cache_key(action, ctx)
                hit = None if key is None else self._recent.get(key)  # reads are atomic; writes lock
                if hit is not None:
                    return hit
                hit = None if key is None else self._older.get(key)
                if hit is not None:
                    self._remember(key, hit)
                    return hit
            except Exception:  # an unhashable or odd action: decide it without the cache
                key = None
        act: Action = action if type(action) in _ACTION_TYPES else _coerce(action)  # type: ignore[assignment]
        try:
            explanation = self._explain(act, ctx)
        except Exception as exc:  # fail closed, and say why
            return self._failure(act, ctx, f"internal error: {type(exc).__name__}: {exc}")
        verdict = explanation.verdict
        if key is not None and not _reads_the_filesystem(explanation.judged):
            self._remember(key, verdict)
        return verdict

    def _remember(self, key: Any, verdict: Verdict) -> None:
        """Store a verdict in the two-generation cache.

        An LRU's bookkeeping on every hit (``move_to_end``) costs as much as the lookup itself, so
        the cache keeps two generations instead: new entries and entries used again go into the
        recent one; when it holds half the capacity it becomes the older one and the previous older
        one is dropped.  At most ``cache_size`` entries are held, and an entry used since the last
        rotation always survives the next one (the guarantee an LRU gives, at generation grain).
        """
        with self._cache_lock:
            recent = self._recent
            recent[key] = verdict
            if len(recent) >= self._generation:
                self._older = recent
                self._recent = {}

    def _cache_key(self, action: Any, ctx: Context) -> Any:
        """The normalised action and every piece of context its verdict depends on; None: do not cache.

        A verdict depends on the policy (fixed for this object), the action's text, its cwd, HOME
        and TMPDIR (the roots of the path classes), the context, and -- when the text can expand
        variables -- on the whole environment.
        """
        t = type(action)
        if t is Command:
            text: Any = action.command
            cwd = action.cwd
            env = action.env
        elif t is str:
            t = Command
            text = action
            cwd = env = None
        elif t in _ACTION_TYPES:
            text = _key_text(action)
            cwd = getattr(action, "cwd", None)
            env = getattr(action, "env", None)
        elif isinstance(action, (list, tuple)):
            t = Command
            text = tuple(action)
            cwd = env = None
        else:
            return None  # not an action: decide reports it
        if not cwd:
            cwd = self._default_cwd or os.getcwd()
        c = None if ctx is DEFAULT_CONTEXT else ctx
        if type(text) is str:  # the common case, inline: a call here is a tenth of a cache hit
            expands = "$" in text or "`" in text or "~" in text
        else:
            if type(text) is list:
                text = tuple(text)
            expands = _expands(text)
        if expands or t is Code:
            # the text can expand variables: every variable is part of the key
            return (t, text, cwd, frozenset((os.environ if env is None else env).items()), None, c)
        if env is None:
            return (t, text, cwd, _environ_get(b"HOME"), _environ_get(b"TMPDIR"), c)
        return (t, text, cwd, env.get("HOME"), env.get("TMPDIR"), c)

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
        tmpdir = env.get("TMPDIR") or "/tmp"
        roots = self._roots.get((home, cwd, tmpdir))
        if roots is None:
            roots = Roots(home=home, workspace=self._workspace(cwd, home), cwd=cwd, tmpdir=tmpdir)
            if len(self._roots) < 1024:
                self._roots[(home, cwd, tmpdir)] = roots
        analysis = analyse(act, cwd=cwd, env=env, home=home)
        mctx = MatchContext(roots, cwd, env, home, analysis.segments, act, ctx)
        find: Callable[[Effect, MatchContext], Sequence[CompiledRule]] = self.index.matching
        if matching is not None:
            rules = self.rules
            find = lambda effect, c: matching(rules, effect, c)  # noqa: E731
        judge = self._judge
        judged = [judge(effect, mctx, find) for effect in _effects_to_judge(analysis)]
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
            if j.decision == decision:
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
            warnings = warnings + tuple(f"unknown command {p!r} allowed by the {s.posture} posture" for p in unknown)
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
        return Explanation(analysis, tuple(judged), verdict)

    def _judge(self, effect: Effect, mctx: MatchContext, find: Any) -> Judged:
        s = self.settings
        risk, why = self.effect_risk(effect, mctx.roots)
        matched = find(effect, mctx)
        deciding: list[CompiledRule] = []
        reasons: list[Reason] = []
        for rule in matched:
            if rule.decision <= SANDBOX:
                ceiling = rule.risk if rule.risk is not None else MEDIUM
                if risk > ceiling:
                    continue  # an allow rule never allows more risk than it declares
            deciding.append(rule)
        if deciding:
            decision = max(r.decision for r in deciding)
            described = effect.describe()
            for rule in deciding:
                if rule.decision == decision:
                    r_risk = rule.risk if rule.risk is not None else risk
                    reasons.append(Reason(rule.id, rule.message, decision, r_risk, rule.location,
                                          rule.alternative, described))
            if why and risk > max(r.risk for r in reasons):
                # the effect is worse than the rule that decided it says: keep that finding too
                reasons.append(Reason(f"default:{risk.label}", why, decision, risk, None, None, described))
            if decision is DENY and s.allow_admin_override and _is_admin(mctx.context):
                if all(r.layer != "admin" and (r.risk or risk) <= HIGH for r in deciding
                       if r.decision is DENY) and risk <= HIGH:
                    decision = ASK
                    reasons = [replace(r, decision=decision, message=r.message + " (admin override: ask)")
                               for r in reasons]
            risk = max(risk, max((r.risk for r in deciding if r.risk is not None and r.decision >= ASK),
                                 default=UNKNOWN))
        else:
            decision, rule_id, message = self.default_decision(effect, risk, why, mctx.context)
            reasons.append(Reason(rule_id, message, decision, risk, None, None, effect.describe()))
        if decision is ASK and s.sandbox_mode and s.sandbox_available and risk <= MEDIUM and risk is not UNKNOWN:
            decision = SANDBOX
            reasons = [replace(r, decision=decision, message=r.message + " (sandbox mode: run isolated)")
                       for r in reasons]
        return Judged(effect, risk, why, decision, tuple(reasons), tuple(matched), tuple(deciding))

    def default_decision(self, effect: Effect, risk: Risk, why: str, context: Any) -> tuple[Decision, str, str]:
        """The mode × risk table of DESIGN §3 for an effect no rule decides."""
        s = self.settings
        explain = s.mode == "explain_only"
        if effect.opaque:
            d = s.opaque_decision
            if explain:
                d = max(d, ASK)
            return d, "default:opaque", f"cannot be known statically ({why or 'opaque'}): {s.posture} posture"
        if risk >= HIGH:
            if s.block_high_risk:
                if s.allow_admin_override and risk is HIGH and _is_admin(context):
                    return ASK, f"default:{risk.label}", f"{why or risk.label + ' risk'} (admin override: ask)"
                return DENY, f"default:{risk.label}", why or f"{risk.label} risk"
            return ASK, f"default:{risk.label}", why or f"{risk.label} risk"
        if effect.kind == "exec" and not effect.known or risk is UNKNOWN:
            d = s.unknown_decision
            if explain:
                d = max(d, ASK)
            what = f"unknown command {effect.program!r}" if effect.kind == "exec" else f"unclassified {effect.kind}"
            return d, "default:unknown", f"{what}: {s.posture} posture"
        if explain:
            return ASK, "default:explain-only", f"{risk.label} risk; explain_only mode asks for everything"
        if risk is MEDIUM:
            if s.mode == "approve" and s.require_approval_for_medium:
                return ASK, "default:medium", f"{why or 'medium risk'}: approval required for medium risk"
            return ALLOW, "default:medium", why or "medium risk"
        return ALLOW, "default:low", why or "low risk"

    # ---- risk of effects -------------------------------------------------------------------

    def effect_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        kind = effect.kind
        if kind in ("write", "delete"):
            risk, why = self.path_risk(effect, roots)
            if effect.risk > risk:
                return effect.risk, effect.why or why
            return risk, why
        if kind == "read":
            return max(effect.risk, LOW), effect.why or "read"
        if kind == "network":
            return max(effect.risk, MEDIUM), effect.why or f"network access to {effect.host}"
        if kind in ("tool",):
            return effect.risk, effect.why
        if kind == "message":
            return max(effect.risk, LOW), effect.why
        return effect.risk, effect.why

    def path_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        """Risk of a write or delete by where it lands (DESIGN §2, issue 4 §5)."""
        verb = "deletes" if effect.kind == "delete" else "writes"
        if effect.path is None:
            if effect.kind == "delete" and effect.recursive:
                return HIGH, "recursive delete of a target that cannot be known statically"
            return MEDIUM, f"{verb} a path that cannot be known statically"
        path, recursive = effect_path(effect)
        risk, why = self._classify(path, recursive, effect, roots, verb)
        if not effect.glob and risk < CRITICAL:
            real = _realpath(path)
            if real is not None and real != path:
                r2, w2 = self._classify(real, recursive, effect, roots, verb)
                if r2 > risk:
                    return r2, f"{w2} (through the symlink {path})"
        return risk, why

    def _classify(self, path: str, recursive: bool, effect: Effect, roots: Roots, verb: str) -> tuple[Risk, str]:
        if path.startswith("/dev/"):
            if path in SAFE_DEVICES or path.startswith(SAFE_DEVICE_DIRS):
                return LOW, f"{verb} {path}"
            return CRITICAL, f"{verb} the device {path}"
        home = roots.home.rstrip("/") or "/"
        if recursive and (path == "/" or home == path or home.startswith(path.rstrip("/") + "/")):
            return CRITICAL, f"{verb} {path} recursively: the whole {'filesystem' if path == '/' else 'home directory'}"
        if self._restricted.contains(path, roots, False):
            if recursive and _is_root_of_restricted(path, self.settings.restricted_paths, roots):
                return CRITICAL, f"{verb} the restricted directory {path} recursively"
            return HIGH, f"{verb} {path}, a restricted path"
        if recursive and self._restricted.contains(path, roots, True):
            return CRITICAL, f"{verb} {path} recursively, which holds restricted paths"
        ws = roots.workspace.rstrip("/") or "/"
        if path == ws or path.startswith(ws + "/"):
            if effect.kind == "delete" and effect.recursive and (
                    path == ws or effect.glob and _matches_everything_in(effect.path or "", ws)):
                return HIGH, f"{verb} the whole workspace {ws}"
            return MEDIUM, f"{verb} {path} in the workspace"
        if self._safe.contains(path, roots, False):
            return LOW, f"{verb} {path} in a safe path"
        return HIGH, f"{verb} {path}, outside the workspace and the safe paths"

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
        d = max(ASK, self.settings.opaque_decision)
        if d is ASK and (self.settings.headless or not ctx.interactive):
            d = DENY
        text = _action_text(act) if act is not None else ""
        return Verdict(d, UNKNOWN, (Reason("error:internal", why, d, UNKNOWN),), action=text,
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
        e = Effect("message", text=act.text, risk=LOW)
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
        from urllib.parse import urlsplit  # only fetches need it: not at import

        parts = urlsplit(act.url)
    except ValueError as exc:
        return Analysis((), (), error=f"bad URL {act.url!r}: {exc}")
    if parts.scheme == "file":
        e = Effect("read", path=parts.path or "/", why=f"fetch of a local file {parts.path}")
    elif parts.scheme in ("http", "https") and parts.hostname:
        method = act.method.upper()
        e = Effect("network", host=parts.hostname, risk=MEDIUM, why=f"{method} {parts.scheme}://{parts.hostname}")
    else:
        return Analysis((), (), error=f"unsupported URL {act.url!r} (expected http, https or file)")
    return Analysis((Segment(act.text, None, (), (e,)),), (e,))


def _code_analysis(act: Code, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    from ..analysis.code import analyse_code

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
            e = Effect(kind, path=p, recursive=recursive, segment=0, risk=found.risk if recursive else UNKNOWN,
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


def _reads_the_filesystem(judged: Sequence[Judged]) -> bool:
    """Did the verdict look at the filesystem?  A write or delete of a concrete path is judged
    where its symlinks lead (``path_risk``), and a link can appear between two identical actions:
    ``write conf/x``, then ``ln -s /etc conf``, then ``write conf/x`` again.  Such a verdict is
    not cached."""
    for j in judged:
        e = j.effect
        if (e.kind == "write" or e.kind == "delete") and e.path is not None and not e.glob:
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
        reasons = [r for j in js if j.decision == decision for r in j.reasons]
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
    raise TypeError(f"not an action: {type(action).__name__}")


_ACTION_TYPES = frozenset({Command, FileOp, Fetch, Code, ToolCall, Message})
def _expands(text: Any) -> bool:
    """Can the text expand variables (so that the whole environment is part of its verdict)?  An
    argv is checked word by word: ``("sh", "-c", "rm -rf $X")`` expands inside its shell string."""
    if isinstance(text, str):
        return "$" in text or "`" in text or "~" in text
    if isinstance(text, tuple):
        return any(isinstance(w, str) and ("$" in w or "`" in w or "~" in w) for w in text)
    return False


def _key_text(act: Action) -> Any:
    """What distinguishes one action from another of its type, for the verdict cache."""
    if isinstance(act, FileOp):
        return (act.op, act.path)
    if isinstance(act, Fetch):
        return (act.method, act.url)
    if isinstance(act, Code):
        return (act.language, act.source)
    if isinstance(act, ToolCall):
        return (act.name, json_text(dict(act.args)))
    if isinstance(act, Message):
        return (act.direction, act.text)
    return act.command  # a Command (or a subclass of one)


def _environ_getter() -> Any:
    """A fast reader of one variable of os.environ for cache keys (its value only needs to compare
    equal): the byte-keyed dict behind os.environ on POSIX, else os.environ itself."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict) and all(type(k) is bytes for k in data):
        return data.get
    return lambda name: os.environ.get(name.decode())


_environ_get = _environ_getter()


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
    """Where a write or delete of ``path`` really lands: symlinks resolved in every component that
    exists (one lstat per component), the rest kept as written.  None if it cannot be resolved."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
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
