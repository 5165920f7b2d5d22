"""The runtime matcher: compiled rule targets and the rule index.

Built by compile.py from the AST; used by engine.py on every decision.  It never imports the
parser.  Exec rules are indexed by program name and then by first operand (the subcommand); path
rules of each effect kind share one PathIndex (one RE2 set per root); the few rules that cannot be
indexed (a wildcard program) are kept in a short list that is always scanned.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..effects import Effect, Segment
from ..frozen import frozen
from .pathsets import PathIndex, PathSet, Roots
from ..regex import Regex, RegexSet
from ..resolve import resolve_path
from ..verdict import Decision, Risk

RECURSIVE_FLAGS = frozenset({"-r", "-R", "--recursive"})


class MatchContext:
    """What a match may need besides the effect: the analysis and where the action runs.

    A plain slotted class rather than a frozen dataclass: one is built per decision, and a frozen
    dataclass's __init__ costs a microsecond in per-field object.__setattr__ calls.
    """

    __slots__ = ("roots", "cwd", "env", "home", "segments", "action", "context")

    def __init__(self, roots: Roots, cwd: str, env: Mapping[str, str], home: str,
                 segments: Sequence[Segment] = (), action: Any = None, context: Any = None):
        self.roots = roots
        self.cwd = cwd
        self.env = env
        self.home = home
        self.segments = segments
        self.action = action
        self.context = context


# ---- argv items --------------------------------------------------------------------------------

class Token:
    """One positional item of an argv pattern."""

    __slots__ = ("kind", "words", "globs", "regexes", "paths")

    def __init__(self, kind: str, words: frozenset[str] = frozenset(), globs: tuple[Regex, ...] = (),
                 regexes: tuple[Regex, ...] = (), paths: PathSet | None = None):
        self.kind = kind  # "lit" | "one" | "many" | "path"
        self.words = words  # casefolded literal words
        self.globs = globs  # word globs (fnmatch-like: * and ? match anything), casefolded
        self.regexes = regexes  # user regexes, full match on the original operand
        self.paths = paths

    def matches(self, operand: str, folded: str, ctx: MatchContext, recursive: bool) -> bool:
        if self.kind == "one":
            return True
        if self.kind == "path":
            assert self.paths is not None
            p = resolve_path(operand, cwd=ctx.cwd, env=ctx.env, home=ctx.home)
            return p is not None and self.paths.contains(p, ctx.roots, recursive)
        if folded in self.words:
            return True
        for g in self.globs:
            if g.full(folded):
                return True
        for r in self.regexes:
            if r.full(operand):
                return True
        return False


def match_positional(tokens: Sequence[Token], operands: Sequence[str], folded: Sequence[str],
                     ctx: MatchContext, recursive: bool) -> bool:
    """Do the operands match the token sequence?  ``many`` matches zero or more operands."""
    n = len(operands)
    states = {0}  # operand positions reachable after the tokens seen so far
    for tok in tokens:
        if tok.kind == "many":
            lo = min(states)
            states = set(range(lo, n + 1))
            continue
        nxt = set()
        for i in states:
            if i < n and tok.matches(operands[i], folded[i], ctx, recursive):
                nxt.add(i + 1)
        if not nxt:
            return False
        states = nxt
    return n in states


@frozen  # not a dataclass: see diagnostics.Diagnostic
class ArgvPattern:
    """A compiled ``exec`` pattern."""

    programs: frozenset[str] | None  # None: any program
    program_regexes: tuple[Regex, ...]
    tokens: tuple[Token, ...]  # positional items after the program
    flags: tuple[tuple[frozenset[str], ...], ...]  # each item: one of these flag sets is fully present
    text: Regex | None = None  # ``exec matching re"..."`` over the normalised argv text
    first_words: frozenset[str] | None = None  # literal first operand(s), for the index

    def program_matches(self, program: str | None) -> bool:
        if program is None:
            return False
        if self.programs is None and not self.program_regexes:
            return True
        if self.programs is not None and (program in self.programs or program_family(program) in self.programs):
            return True
        return any(r.full(program) for r in self.program_regexes)

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if not self.program_matches(effect.program):
            return False
        flags = effect.flags
        for need in self.flags:
            for option in need:
                if option <= flags:
                    break
            else:
                return False
        if self.text is not None and not self.text.search(" ".join(effect.argv)):
            return False
        if self.tokens or not (self.text is not None and not self.flags):
            ops = effect.operands
            folded = [o.casefold() for o in ops]
            if not match_positional(self.tokens, ops, folded, ctx, bool(flags & RECURSIVE_FLAGS)):
                return False
        return True


def program_family(program: str) -> str:
    """The catalog's name for a program's family: python3.11 -> python, mkfs.ext4 -> mkfs, pip3 -> pip."""
    family = _FAMILY.get(program)
    if family is None:
        from ..analysis.catalog import lookup

        model = lookup(program)
        family = model.name if model is not None else program
        if len(_FAMILY) < 65536:
            _FAMILY[program] = family
    return family


_FAMILY: dict[str, str] = {}


# ---- targets -----------------------------------------------------------------------------------

class Target:
    """A compiled rule target; ``kind`` is the effect kind it applies to."""

    kind: str = ""

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        raise NotImplementedError


class ExecTarget(Target):
    kind = "exec"

    def __init__(self, pattern: ArgvPattern):
        self.pattern = pattern

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        return effect.kind == "exec" and not effect.opaque and self.pattern.matches(effect, ctx)


class PipeTarget(Target):
    """Stages of one pipeline in order; it matches the exec effect of the segment of the last stage."""

    kind = "exec"

    def __init__(self, stages: Sequence[ArgvPattern]):
        self.stages = tuple(stages)

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != "exec" or effect.opaque or not self.stages[-1].matches(effect, ctx):
            return False
        segs = ctx.segments
        if not (0 <= effect.segment < len(segs)):
            return False
        pipe = segs[effect.segment].pipeline
        if pipe < 0:
            return False
        # earlier segments of the same pipeline must match the earlier stages, in order
        need = len(self.stages) - 2
        for i in range(effect.segment - 1, -1, -1):
            if need < 0:
                break
            seg = segs[i]
            if seg.pipeline != pipe:
                continue
            for e in seg.effects:
                if e.kind == "exec" and not e.opaque and self.stages[need].matches(e, ctx):
                    need -= 1
                    break
        return need < 0


class PathTarget(Target):
    def __init__(self, kind: str, paths: PathSet, recursive: bool):
        self.kind = kind
        self.paths = paths
        self.recursive = recursive

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != self.kind or effect.path is None:
            return False
        if self.recursive and not effect.recursive:
            return False
        path, rec = effect_path(effect)
        return self.paths.contains(path, ctx.roots, rec)


def effect_path(effect: Effect) -> tuple[str, bool]:
    """The path to test and whether to test it as a tree: a glob stands for its literal directory."""
    assert effect.path is not None
    if effect.glob:
        head = effect.path
        for i, c in enumerate(head):
            if c in "*?[":
                head = head[: head.rfind("/", 0, i)] or "/"
                break
        return head, True
    return effect.path, effect.recursive


class NetworkTarget(Target):
    kind = "network"

    def __init__(self, hosts: Sequence[str] | None):
        self.hosts = RegexSet([word_glob(h.casefold()) for h in hosts], anchored=True) if hosts else None

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != "network":
            return False
        if self.hosts is None:
            return True
        return effect.host is not None and bool(self.hosts.match(effect.host.casefold()))


class CodeTarget(Target):
    kind = "code"

    def __init__(self, languages: frozenset[str] | None, pattern: Regex | None):
        self.languages = languages
        self.pattern = pattern

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != "code":
            return False
        if self.languages is not None and (effect.program or "") not in self.languages:
            return False
        return self.pattern is None or self.pattern.search(effect.text or "")


class ToolTarget(Target):
    kind = "tool"

    def __init__(self, names: frozenset[str], regexes: Sequence[Regex], pattern: Regex | None):
        self.names = names
        self.regexes = tuple(regexes)
        self.pattern = pattern

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != "tool":
            return False
        name = effect.program or ""
        if self.names or self.regexes:
            if name not in self.names and not any(r.full(name) for r in self.regexes):
                return False
        return self.pattern is None or self.pattern.search(effect.text or "")


class MessageTarget(Target):
    kind = "message"

    def __init__(self, pattern: Regex):
        self.pattern = pattern

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        return effect.kind == "message" and self.pattern.search(effect.text or "")


class ConcernTarget(Target):
    """``leak``, ``upload in PATHS to HOSTS``, ``persist``, ``discard``, ``secret``, ``finding``
    (``matching`` on the effect's text -- a finding's is its rule id, ``bandit:B301``; a secret's
    ``place`` is where it goes: message, tool, network)."""

    def __init__(self, kind: str, paths: PathSet | None, hosts: Sequence[str] | None, pattern: Regex | None,
                 place: str | None = None):
        self.kind = kind
        self.place = place
        self.paths = paths
        self.hosts = RegexSet([word_glob(h.casefold()) for h in hosts], anchored=True) if hosts else None
        self.pattern = pattern

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != self.kind:
            return False
        if self.place is not None and effect.program != self.place:
            return False
        if self.paths is not None:
            if effect.path is None:
                return False
            path, rec = effect_path(effect)
            if not self.paths.contains(path, ctx.roots, rec):
                return False
        if self.hosts is not None and (effect.host is None or not self.hosts.match(effect.host.casefold())):
            return False
        return self.pattern is None or self.pattern.search(effect.text or "")


class InstallTarget(Target):
    """``install in PACKAGES to HOSTS matching re"..."``: a package installed (analysis/supplychain).

    A package pattern is a name glob, optionally ``ECOSYSTEM:``-qualified (``pypi:requests``,
    ``npm:@acme/*``), ``!`` excluding; it is compared with the name as the ecosystem compares names
    (PyPI: PEP 503, so ``Python_Dateutil`` is ``python-dateutil``).  ``to`` matches the registry or the
    host the package comes from; ``matching`` searches the name."""

    kind = "install"

    def __init__(self, names: Sequence[str] | None, hosts: Sequence[str] | None, pattern: Regex | None):
        self.names: list[tuple[bool, str | None, str]] | None = None
        if names is not None:
            self.names = []
            for item in names:
                neg = item.startswith("!")
                body = item[1:] if neg else item
                head, colon, rest = body.partition(":")
                eco = head if colon and "/" not in head and not head.startswith("@") else None
                self.names.append((neg, eco, rest if eco is not None else body))
        self._compiled: dict[str, tuple[list[Regex], list[Regex]]] = {}
        self.hosts = RegexSet([word_glob(h.casefold()) for h in hosts], anchored=True) if hosts else None
        self.pattern = pattern

    def _for(self, ecosystem: str) -> tuple[list[Regex], list[Regex]]:
        """The name patterns that apply to an ecosystem, normalised as it compares names."""
        got = self._compiled.get(ecosystem)
        if got is None:
            from ..analysis.supplychain.names import ecosystems, normalise

            eco = ecosystems().get(ecosystem)
            pos: list[Regex] = []
            neg: list[Regex] = []
            for negated, only, glob in self.names or ():
                if only is None or only == ecosystem:
                    (neg if negated else pos).append(Regex("^" + word_glob(normalise(eco, glob)) + "$"))
            got = self._compiled[ecosystem] = (pos, neg)
        return got

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        if effect.kind != "install":
            return False
        if self.names is not None:
            pos, neg = self._for(effect.program or "")
            name = effect.text or ""
            if not any(r.search(name) for r in pos) or any(r.search(name) for r in neg):
                return False
        if self.hosts is not None and (effect.host is None or not self.hosts.match(effect.host.casefold())):
            return False
        return self.pattern is None or self.pattern.search(effect.text or "")


class OpaqueTarget(Target):
    kind = "opaque"

    def matches(self, effect: Effect, ctx: MatchContext) -> bool:
        return effect.opaque


def word_glob(word: str) -> str:
    """A token glob (``*`` and ``?`` match any character, ``/`` included) as an RE2 pattern."""
    out = []
    for c in word:
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c.isalnum() or c == "_" or ord(c) > 127:
            out.append(c)
        else:
            out.append("\\" + c)
    return "".join(out)


# ---- rules and the index -----------------------------------------------------------------------

class CompiledRule:
    """One compiled rule: what it decides, its target, its ``unless`` exceptions and ``when``.

    A plain slotted class (compared by identity, as the ``eq=False`` dataclass it was)."""

    __slots__ = ("index", "id", "decision", "risk", "message", "alternative", "location", "layer", "target",
                 "unless", "when")

    def __init__(self, index: int, id: str, decision: Decision, risk: Risk | None, message: str,
                 alternative: str | None, location: str, layer: str, target: Target,
                 unless: list[Target] | None = None, when: Callable[[Effect, MatchContext], bool] | None = None):
        self.index = index
        self.id = id
        self.decision = decision
        self.risk = risk
        self.message = message
        self.alternative = alternative
        self.location = location
        self.layer = layer
        self.target = target
        self.unless: list[Target] = [] if unless is None else unless
        self.when = when

    def __repr__(self) -> str:
        return "CompiledRule(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__) + ")"

    def applies(self, effect: Effect, ctx: MatchContext) -> bool:
        """The full test, without any index: target, then exceptions, then the CEL condition."""
        if not self.target.matches(effect, ctx):
            return False
        return self.confirms(effect, ctx)

    def confirms(self, effect: Effect, ctx: MatchContext) -> bool:
        """The part of the test an index cannot do: ``unless`` exceptions and ``when``."""
        for u in self.unless:
            if u.matches(effect, ctx):
                return False
        if self.when is not None:
            try:
                return bool(self.when(effect, ctx))
            except Exception:
                # a condition that cannot be evaluated must not loosen anything
                return self.decision >= Decision.ASK
        return True


class RuleIndex:
    """Finds the rules that apply to an effect without looking at rules that cannot match."""

    def __init__(self, rules: Sequence[CompiledRule]):
        self.rules = tuple(rules)
        self._by_program: dict[str, tuple[dict[str, list[CompiledRule]], list[CompiledRule]]] = {}
        self._any_program: list[CompiledRule] = []
        self._by_kind: dict[str, list[CompiledRule]] = {}
        path_rules: dict[str, list[tuple[int, Any]]] = {}
        self._path_rule: dict[int, CompiledRule] = {}
        for rule in rules:
            t = rule.target
            if isinstance(t, (ExecTarget, PipeTarget)):
                pat = t.pattern if isinstance(t, ExecTarget) else t.stages[-1]
                if pat.programs is None or pat.program_regexes:
                    self._any_program.append(rule)
                    continue
                for prog in pat.programs:
                    by_first, rest = self._by_program.setdefault(prog, ({}, []))
                    if pat.first_words:
                        for w in pat.first_words:
                            by_first.setdefault(w, []).append(rule)
                    else:
                        rest.append(rule)
            elif isinstance(t, PathTarget):
                self._path_rule[rule.index] = rule
                for p in t.paths.patterns:
                    path_rules.setdefault(t.kind, []).append((rule.index, p))
            else:
                self._by_kind.setdefault(t.kind, []).append(rule)
        self._path_index = {k: PathIndex(v) for k, v in path_rules.items()}

    def candidates(self, effect: Effect, ctx: MatchContext) -> list[CompiledRule]:
        """Rules that may apply (exact for paths and programs); callers still call ``applies``."""
        kind = effect.kind
        out: list[CompiledRule] = []
        if kind == "exec":
            if effect.opaque:
                return list(self._by_kind.get("opaque", ()))
            program = effect.program or ""
            family = program_family(program)
            for name in (program, family) if family != program else (program,):
                entry = self._by_program.get(name)
                if entry is not None:
                    by_first, rest = entry
                    if effect.operands and by_first:
                        out.extend(by_first.get(effect.operands[0].casefold(), ()))
                    out.extend(rest)
            out.extend(self._any_program)
            return list(dict.fromkeys(out)) if family != program else out
        if kind in ("read", "write", "delete"):
            index = self._path_index.get(kind)
            if index is None or effect.path is None:
                return out
            path, rec = effect_path(effect)
            owners = index.owners(path, ctx.roots, rec)
            return [self._path_rule[i] for i in sorted(owners)]
        return list(self._by_kind.get(kind, ()))

    def matching(self, effect: Effect, ctx: MatchContext) -> list[CompiledRule]:
        out = []
        for rule in self.candidates(effect, ctx):
            if isinstance(rule.target, PathTarget):
                ok = (not rule.target.recursive or effect.recursive) and rule.confirms(effect, ctx)
            else:
                ok = rule.applies(effect, ctx)
            if ok:
                out.append(rule)
        return out
