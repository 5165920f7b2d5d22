"""The transformer: grammar rules -> AST nodes (nodes.py), built while the parser reduces.

There is no parse tree: lalr.py calls ``_Builder``'s methods, named after the rules of
grammar.lark, as Lark would call an inline transformer.  Every node's span comes from its first
and last token.  What a rule can only see once it is built (a second ``risk`` clause, an unknown
escape in a string, a lower-case list name, ...) is reported to the parse in progress, ``_CTX``.
"""
from __future__ import annotations

import re
from typing import Any

from lark import Transformer

from .lexer import _CTX, _Tok
from .nodes import (Alternatives, AnyArgs, AnyOne, ArgItem, Cel, CodeTarget, ConcernTarget, Example, Except,
                    ExecTarget, Let, ListLiteral, ListRef, MessageTarget, NetworkTarget, OpaqueTarget, PathIn, PathSet,
                    PathTarget, PipeTarget, Regex, Rule, StringItem, Target, ToolTarget, Word, Disable)
from ..source import Span

_UPPER_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_ESCAPE_RE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}


class _Clause:
    """A rule clause on its way into the Rule node."""

    __slots__ = ("kind", "value", "keyword", "last")

    def __init__(self, kind: str, value: Any, keyword: _Tok, last: Any) -> None:
        self.kind = kind  # risk | message | alt | unless | when
        self.value = value
        self.keyword = keyword
        self.last = last  # its last token or node, where the clause (and maybe the rule) ends


def _span_maker() -> Any:
    """A constructor for Span that sets its slots directly: a frozen dataclass's __init__ costs
    about twice as much, and a 1,000-rule file needs some 15,000 spans.  Falls back to Span itself
    if Span ever stops being a plain frozen, slotted record of these seven fields (frozen.py)."""
    names = ("source", "line", "column", "start", "end", "end_line", "end_column")
    if tuple(getattr(Span, "__record_fields__", ())) != names or hasattr(Span, "__post_init__"):
        return Span
    setters = [Span.__dict__[n].__set__ for n in names]
    s0, s1, s2, s3, s4, s5, s6 = setters
    new = object.__new__

    def make(source: str, line: int, column: int, start: int, end: int, end_line: int, end_column: int) -> Span:
        span = new(Span)
        s0(span, source)
        s1(span, line)
        s2(span, column)
        s3(span, start)
        s4(span, end)
        s5(span, end_line)
        s6(span, end_column)
        return span

    return make


_make_span = _span_maker()


def _span(first: Any, last: Any) -> Span:
    """The span from the start of ``first`` to the end of ``last`` (tokens or nodes)."""
    if type(first) is _Tok:
        line, col, start = first.line, first.column, first.start_pos
    else:
        s = first.span
        line, col, start = s.line, s.column, s.start
    if type(last) is _Tok:
        end_line, end, end_col = last.line, last.end_pos, last.column + (last.end_pos - last.start_pos)
    else:
        s = last.span
        end_line, end_col, end = s.end_line, s.end_column, s.end
    return _make_span(_CTX.get().name, line, col, start, end, end_line, end_col)  # type: ignore[no-any-return]


def _tspan(tok: _Tok) -> Span:
    col = tok.column
    return _make_span(_CTX.get().name, tok.line, col, tok.start_pos, tok.end_pos,  # type: ignore[no-any-return]
                      tok.line, col + (tok.end_pos - tok.start_pos))


def _string(tok: _Tok) -> str:
    """The value of a STRING (escapes decoded) or RAW token."""
    v = tok.value
    if tok.type == "RAW" or "\\" not in v:
        return v[1:-1]
    body = v[1:-1]

    def esc(m: re.Match[str]) -> str:
        c = m.group(1)
        if c in _ESCAPES:
            return _ESCAPES[c]
        ctx = _CTX.get()
        at = tok.start_pos + 1 + m.start()
        ctx.diag("syntax", f"unknown escape `\\{c}` in a string", ctx.span(at, at + 2),
                 hint='a "..." string knows \\" \\\\ \\n \\t; for text with backslashes use a '
                      "single-quoted raw string '...', for a pattern re\"...\"")
        return "\\" + c

    return _ESCAPE_RE.sub(esc, body)


def _regex(tok: _Tok) -> Regex:
    return Regex(tok.value[3:-1], _tspan(tok))


def _word(tok: _Tok) -> Word | ListRef:
    if _UPPER_RE.fullmatch(tok.value):
        return ListRef(tok.value, _tspan(tok))
    return Word(tok.value, _tspan(tok))


def _name(tok: _Tok) -> Word | ListRef | Regex:
    t = tok.type
    if t == "WORD":
        return _word(tok)
    if t == "REGEX":
        return _regex(tok)
    return Word(_string(tok), _tspan(tok))


_ARG_SIMPLE: dict[str, type[AnyArgs] | type[AnyOne]] = {"ELLIPSIS": AnyArgs, "QMARK": AnyOne}


class _Builder(Transformer[Any, Any]):
    """Builds AST nodes as the parser reduces; methods are named after grammar rules."""

    # -- rules --

    def rule(self, c: list[Any]) -> Rule:
        ctx = _CTX.get()
        id_tok, decision, target = c[1], c[3].value, c[4]
        seen: dict[str, _Clause] = {}
        unless: list[Target] = []
        for cl in c[5:]:
            if cl.kind == "unless":
                unless.append(cl.value)
            elif cl.kind in seen:
                first = seen[cl.kind]
                ctx.diag("syntax", f"a second `{cl.kind}` clause in rule {id_tok.value}", _tspan(cl.keyword),
                         hint=f"a rule takes at most one `{cl.kind}` (the first is on line {first.keyword.line}); "
                              "only `unless` may repeat")
            else:
                seen[cl.kind] = cl
        return Rule(
            id=id_tok.value,
            decision=decision,
            target=target,
            risk=seen["risk"].value if "risk" in seen else None,
            message=seen["message"].value if "message" in seen else None,
            alternative=seen["alt"].value if "alt" in seen else None,
            unless=tuple(unless),
            when=seen["when"].value if "when" in seen else None,
            span=_span(c[0], c[-1].last if type(c[-1]) is _Clause else c[-1]),
            id_span=_tspan(id_tok),
        )

    def risk_clause(self, c: list[Any]) -> _Clause:
        return _Clause("risk", c[1].value, c[0], c[1])

    def message_clause(self, c: list[Any]) -> _Clause:
        return _Clause("message", _string(c[1]), c[0], c[1])

    def alt_clause(self, c: list[Any]) -> _Clause:
        return _Clause("alt", _string(c[1]), c[0], c[1])

    def unless_clause(self, c: list[Any]) -> _Clause:
        return _Clause("unless", c[1], c[0], c[1])

    def when_clause(self, c: list[Any]) -> _Clause:
        return _Clause("when", Cel(_string(c[2]), _tspan(c[2])), c[0], c[2])

    # -- targets --

    def exec_target(self, c: list[Any]) -> ExecTarget:
        ctx = _CTX.get()
        items: list[ArgItem] = []
        text: Regex | None = None
        prev = c[0]
        i, n = 1, len(c)
        while i < n:
            x = c[i]
            if type(x) is _Tok:
                if x.type == "MATCHING":
                    text = _regex(c[i + 1])
                    break
                t = x.type
                simple = _ARG_SIMPLE.get(t)
                if simple is not None:
                    item: ArgItem = simple(_tspan(x))
                elif t == "WORD":
                    item = _word(x)
                elif t == "REGEX":
                    item = _regex(x)
                else:
                    item = Word(_string(x), _tspan(x))
            else:
                item = x
            if ctx.comments:
                prev_end = prev.end_pos if type(prev) is _Tok else prev.span.end
                at = ctx.comment_between(prev_end, item.span.start)
                if at is not None:
                    ctx.diag("syntax", "an argument after a comment: the comment ended the argument list",
                             item.span,
                             hint=f"a comment ends the argv of `exec` (the comment is on line {ctx.span(at, at).line}); "
                                  "move the comment after the last argument, or continue with a clause "
                                  "(risk, message, alt, unless, when)")
            items.append(item)
            prev = x
            i += 1
        return ExecTarget(tuple(items), _span(c[0], c[-1]), text)

    def pipe_target(self, c: list[Any]) -> PipeTarget:
        return PipeTarget(tuple(x for x in c if type(x) is ExecTarget), _span(c[0], c[-1]))

    def path_target(self, c: list[Any]) -> PathTarget:
        return PathTarget(c[0].value, c[-1], c[1].type == "RECURSIVE", _span(c[0], c[-1]))

    def network_target(self, c: list[Any]) -> NetworkTarget:
        return NetworkTarget(c[2] if len(c) == 3 else None, _span(c[0], c[-1]))

    def code_target(self, c: list[Any]) -> CodeTarget:
        languages: tuple[Word | ListRef, ...] = ()
        pattern: Regex | None = None
        for i, x in enumerate(c[1:], 1):
            if type(x) is Alternatives:
                langs: list[Word | ListRef] = []
                for alt in x.items:
                    if isinstance(alt, Regex):
                        ctx = _CTX.get()
                        ctx.diag("syntax", "a language is a name, not a regex", alt.span,
                                 hint="write the languages as words: code {python, node}")
                    else:
                        langs.append(alt)
                languages = tuple(langs)
            elif x.type == "WORD":
                languages = (_word(x),)
            elif x.type == "MATCHING":
                pattern = _regex(c[i + 1])
                break
        return CodeTarget(languages, pattern, _span(c[0], c[-1]))

    def tool_target(self, c: list[Any]) -> ToolTarget:
        x = c[1]
        names = x.items if type(x) is Alternatives else (_name(x),)
        pattern = _regex(c[3]) if len(c) == 4 else None
        return ToolTarget(tuple(names), pattern, _span(c[0], c[-1]))

    def message_target(self, c: list[Any]) -> MessageTarget:
        return MessageTarget(_regex(c[2]), _span(c[0], c[-1]))

    def concern_target(self, c: list[Any]) -> ConcernTarget:
        paths = hosts = pattern = place = None
        for i, x in enumerate(c):
            if isinstance(x, _Tok) and x.type in ("IN", "TO"):
                y = c[i + 1]
                if isinstance(y, _Tok) and y.type in ("MESSAGE", "TOOL", "NETWORK"):
                    place = y.value
                elif x.type == "IN":
                    paths = y
                else:
                    hosts = y
            elif isinstance(x, _Tok) and x.type == "MATCHING":
                pattern = _regex(c[i + 1])
        return ConcernTarget(c[0].value, paths, hosts, pattern, _span(c[0], c[-1]), place)

    def opaque_target(self, c: list[Any]) -> OpaqueTarget:
        return OpaqueTarget(_tspan(c[0]))

    def path_in(self, c: list[Any]) -> PathIn:
        return PathIn(c[1], _span(c[0], c[1]))

    def alternatives(self, c: list[Any]) -> Alternatives:
        items: list[Word | ListRef | Regex] = []
        for x in c[1:-1]:
            if x.type == "COMMA":
                continue
            if x.type == "WORD" and x.value in ("...", "?"):
                _CTX.get().diag("syntax", f"`{x.value}` cannot be an alternative", _tspan(x),
                                hint="`{a, b}` matches exactly one argument, one of a or b; to match the "
                                     f'literal text, quote it: "{x.value}"')
                continue
            items.append(_name(x))
        return Alternatives(tuple(items), _span(c[0], c[-1]))

    def pathset(self, c: list[Any]) -> PathSet:
        parts: list[ListLiteral | ListRef] = []
        for x in c:
            if type(x) is ListLiteral:
                parts.append(x)
            elif x.type == "LIST_NAME":
                parts.append(ListRef(x.value, _tspan(x)))
        return PathSet(tuple(parts), _span(c[0], c[-1]))

    def list_literal(self, c: list[Any]) -> ListLiteral:
        items: list[StringItem | ListRef] = []
        for x in c[1:-1]:
            t = x.type
            if t == "COMMA":
                continue
            if t == "WORD":
                if _UPPER_RE.fullmatch(x.value):
                    items.append(ListRef(x.value, _tspan(x)))
                else:
                    items.append(StringItem(x.value, _tspan(x)))
            else:
                items.append(StringItem(_string(x), _tspan(x)))
        return ListLiteral(tuple(items), _span(c[0], c[-1]))

    # -- other statements --

    def let(self, c: list[Any]) -> Let:
        name = c[1]
        if not _UPPER_RE.fullmatch(name.value):
            _CTX.get().diag("syntax", f"list name `{name.value}` is not ALL-CAPS", _tspan(name),
                            hint=f"list names are upper-case letters, digits and _ (write `let "
                                 f"{_upper_name(name.value)} = [...]`), so that a bare lower-case word "
                                 "in an argv stays a literal word")
        return Let(name.value, c[3], _span(c[0], c[-1]))

    def example(self, c: list[Any]) -> Example:
        decision = c[1].value
        kind = "command"
        text = ""
        rule: str | None = None
        for x in c[2:]:
            t = x.type
            if t == "EXAMPLE_KIND":
                kind = x.value
            elif t in ("STRING", "RAW"):
                text = _string(x)
            elif t == "RULE_ID":
                rule = x.value
        return Example(decision, kind, text, rule, _span(c[0], c[-1]))

    def disable(self, c: list[Any]) -> Disable:
        return Disable(c[1].value, _span(c[0], c[1]))

    def except_stmt(self, c: list[Any]) -> Except:
        return Except(c[1].value, tuple(cl.value for cl in c[2:]), _span(c[0], c[-1].last))


def _upper_name(name: str) -> str:
    return re.sub(r"[^A-Z0-9_]", "_", name.upper()) or "NAME"
