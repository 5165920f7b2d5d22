"""Compile policy sources into an immutable Policy.

    source text --parse--> AST --validate--> checked AST --compile--> rules --index--> Policy

``compile_policy`` reads like that list.  Layers (DESIGN §4) are applied here: sources come lowest
layer first; a higher layer may ``disable`` a lower rule or add an ``except``ion to it, but nothing
may disable or loosen a rule of the admin layer.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence

from . import nodes as ast
from ..diagnostics import Diagnostic, PolicyError
from ..engine.matcher import (ArgvPattern, CodeTarget, CompiledRule, ExecTarget, MatchContext, MessageTarget,
                      NetworkTarget, OpaqueTarget, ConcernTarget, InstallTarget, PathTarget, PipeTarget, Target, Token, ToolTarget,
                      word_glob)
from ..engine.pathsets import PathSet
from ..regex import Regex
from ..settings import Settings
from ..source import Source, Span
from ..verdict import Decision, Risk

if TYPE_CHECKING:
    from ..engine.policy import Policy

LAYERS = ("builtin", "preset", "user", "project", "admin")


def compile_policy(sources: Sequence[Source | ast.PolicyFile], settings: Settings | None = None) -> "Policy":
    """Parse, validate and compile ``sources`` (lowest layer first) into a Policy.

    Raises PolicyError with every diagnostic found when any of them is an error.
    """
    with gc_paused():
        files, texts, diagnostics = check_sources(sources)
        return link_policy(files, texts, diagnostics, settings)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a policy is built.

    A build allocates millions of long-lived, acyclic objects (tokens, nodes, compiled rules); each
    collection of the oldest generation walks all of them again, which took about half of the time
    of checking 100,000 rules.  Reference counting still frees what the build drops."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def check_sources(sources: Sequence[Source | ast.PolicyFile]
                  ) -> tuple[list[ast.PolicyFile], dict[str, Source], list[Diagnostic]]:
    """The front half of ``compile_policy``: parse and validate.  Returns the checked ASTs, the
    source texts by name and the warnings; raises PolicyError when there is an error.

    Its result is plain data (it pickles), which is what the compiled-policy cache keeps."""
    from .parse import parse_policy
    from .validate import validate

    files: list[ast.PolicyFile] = []
    texts: dict[str, Source] = {}
    diagnostics: list[Diagnostic] = []
    for src in sources:
        if isinstance(src, Source):
            tree, diags = parse_policy(src)
            texts[src.name] = src
            diagnostics.extend(diags)
            files.append(tree)
        else:
            files.append(src)
    diagnostics.extend(validate(files, texts))
    order = {f.name: i for i, f in enumerate(files)}
    diagnostics.sort(key=lambda d: (order.get(d.span.source, len(order)), d.span.start) if d.span else (len(order), 0))
    if any(d.is_error for d in diagnostics):
        raise PolicyError(diagnostics)
    return files, texts, diagnostics


def link_policy(files: Sequence[ast.PolicyFile], texts: dict[str, Source], diagnostics: Sequence[Diagnostic],
                settings: Settings | None = None, *, protect: Sequence[str] = ()) -> "Policy":
    """The back half of ``compile_policy``: layers applied, rules compiled and indexed.  ``files``
    must come from ``check_sources`` (parsed and validated); raises PolicyError on a layer error."""
    found = list(diagnostics)
    try:
        rules, examples, layer_diags = build_rules(files, texts)
    except PolicyError as err:
        raise PolicyError(found + list(err.diagnostics)) from None
    found.extend(layer_diags)
    if any(d.is_error for d in found):
        raise PolicyError(found)
    from ..engine.policy import Policy
    from ..engine.selfprotect import self_protection_rules

    settings = settings or Settings()
    rules = rules + self_protection_rules([*texts, *protect], settings, len(rules))
    return Policy(settings, rules, examples, tuple(found), texts)


# ---- rules -----------------------------------------------------------------------------------

def build_rules(files: Sequence[ast.PolicyFile], texts: dict[str, Source]
                ) -> tuple[list[CompiledRule], list[ast.Example], list[Diagnostic]]:
    lists = _collect_lists(files)
    diags: list[Diagnostic] = []
    staged: list[tuple[ast.Rule, str]] = []
    examples: list[ast.Example] = []
    disabled: dict[str, ast.Disable] = {}
    extra_unless: dict[str, list[ast.Target]] = {}
    rule_layer: dict[str, str] = {}
    for f in files:
        for st in f.statements:
            if isinstance(st, ast.Rule):
                staged.append((st, f.layer))
                rule_layer[st.id] = f.layer
            elif isinstance(st, ast.Example):
                examples.append(st)
    for f in files:
        for st in f.statements:
            if isinstance(st, (ast.Disable, ast.Except)):
                target_layer = rule_layer.get(st.rule)
                if target_layer is None:
                    continue  # validate reports unknown rule ids
                if target_layer == "admin" and f.layer != "admin":
                    what = "disable" if isinstance(st, ast.Disable) else "add an exception to"
                    diags.append(_diag(texts, "error", "admin-rule", st.span,
                                       f"cannot {what} rule {st.rule!r}: it comes from the admin layer, "
                                       "which no lower layer may loosen"))
                    continue
                if LAYERS.index(f.layer) < LAYERS.index(target_layer):
                    diags.append(_diag(texts, "error", "layer-order", st.span,
                                       f"rule {st.rule!r} is defined in a higher layer ({target_layer}) "
                                       f"than this {f.layer} file"))
                    continue
                if isinstance(st, ast.Disable):
                    disabled[st.rule] = st
                else:
                    extra_unless.setdefault(st.rule, []).extend(st.unless)
    rules: list[CompiledRule] = []
    for rule, layer in staged:
        if rule.id in disabled:
            continue
        compiled = compile_rule(len(rules), rule, layer, lists, extra_unless.get(rule.id, ()))
        rules.append(compiled)
    return rules, examples, diags


def _diag(texts: dict[str, Source], severity: str, code: str, span: Span, message: str) -> Diagnostic:
    src = texts.get(span.source)
    return Diagnostic(severity, code, message, span, src.line_text(span.line) if src else "")


def _collect_lists(files: Sequence[ast.PolicyFile]) -> dict[str, ast.ListLiteral]:
    return {st.name: st.value for f in files for st in f.statements if isinstance(st, ast.Let)}


def expand_list(name: str, lists: dict[str, ast.ListLiteral], seen: frozenset[str] = frozenset()) -> list[str]:
    if name in seen:
        return []
    lit = lists.get(name)
    if lit is None:
        return []
    out: list[str] = []
    for item in lit.items:
        if isinstance(item, ast.ListRef):
            out.extend(expand_list(item.name, lists, seen | {name}))
        else:
            out.append(item.value)
    return out


def path_strings(ps: ast.PathSet, lists: dict[str, ast.ListLiteral]) -> list[str]:
    out: list[str] = []
    for part in ps.parts:
        if isinstance(part, ast.ListRef):
            out.extend(expand_list(part.name, lists))
        else:
            for item in part.items:
                if isinstance(item, ast.ListRef):
                    out.extend(expand_list(item.name, lists))
                else:
                    out.append(item.value)
    return out


def compile_rule(index: int, rule: ast.Rule, layer: str, lists: dict[str, ast.ListLiteral],
                 extra_unless: Iterable[ast.Target] = ()) -> CompiledRule:
    decision = Decision.parse(rule.decision)
    risk = Risk.parse(rule.risk) if rule.risk else None
    message = rule.message or _default_message(rule)
    return CompiledRule(
        index=index,
        id=rule.id,
        decision=decision,
        risk=risk,
        message=message,
        alternative=rule.alternative,
        location=str(rule.span),
        layer=layer,
        target=compile_target(rule.target, lists),
        unless=[compile_target(t, lists) for t in (*rule.unless, *extra_unless)],
        when=compile_cel(rule.when.expr) if rule.when else None,
    )


def _default_message(rule: ast.Rule) -> str:
    return f"rule {rule.id}"


def compile_target(t: ast.Target, lists: dict[str, ast.ListLiteral]) -> Target:
    if isinstance(t, ast.ExecTarget):
        return ExecTarget(compile_argv(t, lists))
    if isinstance(t, ast.PipeTarget):
        return PipeTarget([compile_argv(s, lists) for s in t.stages])
    if isinstance(t, ast.PathTarget):
        return PathTarget(t.kind, PathSet(path_strings(t.paths, lists)), t.recursive)
    if isinstance(t, ast.NetworkTarget):
        return NetworkTarget(path_strings(t.hosts, lists) if t.hosts else None)
    if isinstance(t, ast.CodeTarget):
        langs = _words(t.languages, lists)
        return CodeTarget(frozenset(w.casefold() for w in langs) or None,
                          Regex(t.pattern.pattern) if t.pattern else None)
    if isinstance(t, ast.ToolTarget):
        names = _words([n for n in t.names if not isinstance(n, ast.Regex)], lists)
        regexes = [Regex(n.pattern) for n in t.names if isinstance(n, ast.Regex)]
        return ToolTarget(frozenset(names), regexes, Regex(t.pattern.pattern) if t.pattern else None)
    if isinstance(t, ast.MessageTarget):
        return MessageTarget(Regex(t.pattern.pattern))
    if isinstance(t, ast.ConcernTarget) and t.kind == "install":
        return InstallTarget(path_strings(t.paths, lists) if t.paths else None,
                             path_strings(t.hosts, lists) if t.hosts else None,
                             Regex(t.pattern.pattern) if t.pattern else None)
    if isinstance(t, ast.ConcernTarget):
        return ConcernTarget(t.kind, PathSet(path_strings(t.paths, lists)) if t.paths else None,
                             path_strings(t.hosts, lists) if t.hosts else None,
                             Regex(t.pattern.pattern) if t.pattern else None, t.place)
    if isinstance(t, ast.OpaqueTarget):
        return OpaqueTarget()
    raise TypeError(f"unknown target {type(t).__name__}")


def _words(items: Iterable[Any], lists: dict[str, ast.ListLiteral]) -> list[str]:
    out: list[str] = []
    for it in items:
        if isinstance(it, ast.ListRef):
            out.extend(expand_list(it.name, lists))
        elif isinstance(it, ast.Word):
            out.append(it.value)
    return out


def _is_flag(word: str) -> bool:
    return word.startswith("-") and word not in ("-", "--") and len(word) > 1


def compile_argv(t: ast.ExecTarget, lists: dict[str, ast.ListLiteral]) -> ArgvPattern:
    from ..analysis.catalog import canonical_flags

    text = Regex(t.text.pattern) if t.text else None
    if not t.argv:
        return ArgvPattern(None, (), (), (), text, None)
    head, rest = t.argv[0], t.argv[1:]
    programs: set[str] | None = set()
    prog_regexes: list[Regex] = []
    assert programs is not None
    for item in _alternatives(head):
        if isinstance(item, (ast.AnyOne, ast.AnyArgs)):
            programs = None
            break
        if isinstance(item, ast.Regex):
            prog_regexes.append(Regex(item.pattern))
        elif isinstance(item, ast.ListRef):
            programs.update(_program_names(w) for w in expand_list(item.name, lists))
        elif isinstance(item, ast.Word):
            programs.add(_program_names(item.value))
    tokens: list[Token] = []
    flag_items: list[ast.ArgItem] = []
    for item in rest:
        if _flag_item(item):
            flag_items.append(item)
        else:
            tokens.append(_token(item, lists))
    first_words: frozenset[str] | None = None
    if tokens and tokens[0].kind == "lit" and not tokens[0].globs and not tokens[0].regexes:
        first_words = tokens[0].words
    subcommands = sorted(first_words) if first_words else [None]
    progs = sorted(programs) if programs else [None]
    flags: list[tuple[frozenset[str], ...]] = []
    for item in flag_items:
        options: set[frozenset[str]] = set()
        for alt in _alternatives(item):
            assert isinstance(alt, ast.Word)
            for prog in progs:
                for sub in subcommands:
                    options.add(frozenset(canonical_flags(prog, sub, alt.value)))
        flags.append(tuple(sorted(options, key=sorted)))
    return ArgvPattern(
        programs=None if programs is None else frozenset(programs),
        program_regexes=tuple(prog_regexes),
        tokens=tuple(tokens),
        flags=tuple(flags),
        text=text,
        first_words=first_words,
    )


def _program_names(word: str) -> str:
    """A program as a rule names it: normalised, and by family (``python3`` is ``python``)."""
    from ..analysis.catalog import normalise_program
    from ..engine.matcher import program_family

    return program_family(normalise_program(word))


def _alternatives(item: ast.ArgItem) -> tuple[Any, ...]:
    return item.items if isinstance(item, ast.Alternatives) else (item,)


def _flag_item(item: ast.ArgItem) -> bool:
    alts = _alternatives(item)
    return all(isinstance(a, ast.Word) and _is_flag(a.value) for a in alts)


def _token(item: ast.ArgItem, lists: dict[str, ast.ListLiteral]) -> Token:
    if isinstance(item, ast.AnyOne):
        return Token("one")
    if isinstance(item, ast.AnyArgs):
        return Token("many")
    if isinstance(item, ast.PathIn):
        return Token("path", paths=PathSet(path_strings(item.paths, lists)))
    words: set[str] = set()
    globs: list[Regex] = []
    regexes: list[Regex] = []
    for alt in _alternatives(item):
        values: list[str] = []
        if isinstance(alt, ast.Regex):
            regexes.append(Regex(alt.pattern))
            continue
        if isinstance(alt, ast.ListRef):
            values = expand_list(alt.name, lists)
        elif isinstance(alt, ast.Word):
            values = [alt.value]
        for v in values:
            v = v.casefold()
            if any(c in v for c in "*?"):
                globs.append(Regex(word_glob(v)))
            else:
                words.add(v)
    return Token("lit", frozenset(words), tuple(globs), tuple(regexes))


# ---- CEL -------------------------------------------------------------------------------------

def compile_cel(expr: str) -> Any:
    """Compile a CEL condition once; the returned callable evaluates it for one effect.

    The callable raises ``policylang.cel.CELError`` when the condition cannot be evaluated; the
    matcher treats that as "no loosening".
    """
    from .cel import compile_condition  # imported here: cel-python costs more to load than a policy

    condition = compile_condition(expr)

    def evaluate(effect: Any, ctx: MatchContext) -> bool:
        return condition(cel_activation(effect, ctx))

    return evaluate


def cel_activation(effect: Any, ctx: MatchContext) -> dict[str, Any]:
    """What a CEL ``when`` condition sees, as plain data: action, effect, env (with WORKSPACE and
    HOME) and context."""
    act = ctx.action
    context = ctx.context
    return {
        "action": {"kind": getattr(act, "kind", ""), "text": getattr(act, "text", ""), "cwd": ctx.cwd},
        "effect": {"kind": effect.kind, "program": effect.program or "", "argv": list(effect.argv),
                   "path": effect.path or "", "host": effect.host or "", "recursive": effect.recursive},
        "env": {**ctx.env, "WORKSPACE": ctx.roots.workspace, "HOME": ctx.home},
        "context": {"principal": getattr(context, "principal", ""), "role": getattr(context, "role", ""),
                    "interactive": bool(getattr(context, "interactive", True))},
    }
