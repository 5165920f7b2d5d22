"""Policy source text -> typed AST (policylang/ast.py), with a diagnostic for every error found.

    source --split--> statements --lex + LALR(1) + build--> AST nodes    (errors: diagnostics)

The grammar is ``grammar.lark``; Lark reads it and computes its LALR(1) tables once per process.
A file is first split into statements — a statement starts at column 1, an indented line
continues it, so does a line inside an unclosed ``[`` or ``{`` — and each statement is parsed on
its own, so one syntax error costs one statement and parsing goes on with the next.

Lexing is contextual, with the semantics of Lark's ``lexer="contextual"``: a word is typed by what
the parser can accept at that point (``risk`` is a clause keyword after an argv, ``-r`` a bare
word, ``read`` a target after a decision and an example kind after ``example deny``).  The lexer
and the loop that runs Lark's tables are our own, for speed only: Lark's contextual lexer and
``ParserState`` take about twice as long on a 1,000-rule file, which the compile budget cannot
afford.  ``tests/test_parse.py`` checks on generated and random input that Lark's own lexer and
parser produce the same tokens, the same errors and the same AST.  Nodes are built by ``_Builder``
during the parse (no parse tree); every node's span comes from its first and last token.
"""
from __future__ import annotations

import bisect
import dataclasses
import difflib
import re
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Iterator, Sequence

from lark import __version__ as lark_version
from lark import Lark, Transformer

from .nodes import (Alternatives, AnyArgs, AnyOne, ArgItem, Cel, CodeTarget, Example, Except, ExecTarget,
                  Let, ListLiteral, ListRef, MessageTarget, NetworkTarget, OpaqueTarget, PathIn, PathSet,
                  PathTarget, PipeTarget, PolicyFile, Regex, Rule, Statement, StringItem, Target,
                  ToolTarget, Word, Disable)
from ..diagnostics import Diagnostic
from ..source import Source, Span

__all__ = ["parse_policy", "MAX_SOURCE_CHARS", "MAX_DIAGNOSTICS"]

#: A larger source is refused outright (a policy of 50,000 rules is far smaller).
MAX_SOURCE_CHARS = 4_000_000
#: Parsing stops after this many diagnostics; the rest would be noise.
MAX_DIAGNOSTICS = 500

STATEMENT_KEYWORDS = ("rule", "let", "example", "disable", "except")
DECISIONS = ("allow", "sandbox", "ask", "deny")
RISK_LEVELS = ("unknown", "low", "medium", "high", "critical")
EXAMPLE_KINDS = ("command", "read", "write", "edit", "delete", "list", "fetch")
TARGET_KEYWORDS = ("exec", "read", "write", "delete", "network", "code", "tool", "message", "opaque")
CLAUSE_KEYWORDS = ("risk", "message", "alt", "unless", "when")

_WORD_CHARS = r"""[^\s{}\[\],|#"']"""
_WORD_RE = re.compile(_WORD_CHARS + "+")
_UPPER_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_STATEMENT_START_RE = re.compile(r"(?:rule|let|example|disable|except)(?!" + _WORD_CHARS + ")")
# What the splitter must see to track brackets: strings (possibly unterminated), comments, brackets.
_BRACKET_SCAN_RE = re.compile(r""""(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|#[^\n]*|[\[\]{}]""")
# Whitespace, then one lexeme; the contextual lexer decides which terminal the lexeme is.
_WS = "[ \t\f\r\n]*"
_LEXEME_RE = re.compile(
    _WS + r"(?:(?P<comment>#[^\n]*)"
    r"""|(?P<regex>re"(?:[^"\\\n]|\\.)*")"""
    r"""|(?P<string>"(?:[^"\\\n]|\\.)*")"""
    r"|(?P<raw>'[^'\n]*')"
    r"|(?P<punct>[{}\[\],|])"
    r"|(?P<word>" + _WORD_CHARS + "+))"
)
_WS_RE = re.compile(_WS)
_ESCAPE_RE = re.compile(r"\\(.)")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_KEYWORD_SUFFIX = "(?!" + _WORD_CHARS + ")"
_NAME_TERMINALS = ("RULE_ID", "LET_NAME", "LIST_NAME", "LEVEL", "EXAMPLE_DECISION")


# ---- per-parse state --------------------------------------------------------------------------

@dataclass(slots=True)
class _Ctx:
    """What the lexer and the transformer need to know about the parse in progress."""

    name: str
    text: str
    line_starts: list[int]
    diagnostics: list[Diagnostic] = field(default_factory=list)
    comments: list[int] = field(default_factory=list)  # absolute offsets of every `#` comment
    base: int = 0  # absolute offset of the current statement's first character
    base_line: int = 1
    line_start: int = 0  # absolute offset of the first line's start (== base but for a BOM)

    def line_text(self, line: int) -> str:
        if not 0 < line <= len(self.line_starts):
            return ""
        start = self.line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end].rstrip("\r")

    def span(self, start: int, end: int) -> Span:
        line = bisect.bisect_right(self.line_starts, start)
        end_line = bisect.bisect_right(self.line_starts, end)
        return Span(self.name, line, start - self.line_starts[line - 1] + 1, start, end,
                    end_line, end - self.line_starts[end_line - 1] + 1)

    def diag(self, code: str, message: str, span: Span, *, hint: str | None = None,
             expected: tuple[str, ...] = (), severity: str = "error") -> Diagnostic:
        d = Diagnostic(severity, code, message, span, self.line_text(span.line), expected, hint)
        self.diagnostics.append(d)
        return d

    def comment_between(self, start: int, end: int) -> int | None:
        """Offset of a comment lying in [start, end), if any."""
        i = bisect.bisect_left(self.comments, start)
        if i < len(self.comments) and self.comments[i] < end:
            return self.comments[i]
        return None


_CTX: ContextVar[_Ctx] = ContextVar("policylang_parse_ctx")


class _Tok:
    """A token, positioned in the whole source; a token never spans lines."""

    __slots__ = ("type", "value", "start_pos", "end_pos", "line", "column")

    def __init__(self, type_: str, value: str, start: int, end: int, line: int, column: int) -> None:
        self.type = type_
        self.value = value
        self.start_pos = start
        self.end_pos = end
        self.line = line
        self.column = column

    @property
    def end_line(self) -> int:
        return self.line

    @property
    def end_column(self) -> int:
        return self.column + (self.end_pos - self.start_pos)

    def __repr__(self) -> str:
        return f"_Tok({self.type}, {self.value!r}, {self.start_pos})"


# ---- the contextual lexer -------------------------------------------------------------------

class _LexError(Exception):
    """The lexer found nothing acceptable: ``token`` is what it found (None: no lexeme at all)."""

    def __init__(self, pos: int, token: _Tok | None) -> None:
        super().__init__(pos)
        self.pos = pos
        self.token = token


class _Lexer:
    """Types each lexeme by the terminals the LALR state accepts, like Lark's contextual lexer.

    The rules (checked against Lark's own contextual lexer in tests/test_parse.py):
    ``re"..."`` is REGEX where REGEX is acceptable; a bare word that spells a keyword is that
    keyword where the keyword is acceptable (keywords never match part of a longer word);
    otherwise it is a WORD where WORD is acceptable (``+`` is PLUS where PLUS is); otherwise the
    acceptable name terminal (rule id, list name, ...) or ``:``/``=``/``+`` matching a prefix.
    The terminals come from grammar.lark; only the lexeme classes are fixed here.
    """

    def __init__(self, terminals: Iterable[Any]) -> None:
        self.keywords: dict[str, tuple[str, ...]] = {}
        self.punct: dict[str, str] = {}
        self.embedded: dict[str, str] = {}  # string terminals a bare word can spell: "+" -> PLUS
        prefix: list[tuple[tuple[int, int, str], str, re.Pattern[str]]] = []
        for term in terminals:
            pat = term.pattern
            if term.name in ("WS", "COMMENT", "WORD", "STRING", "RAW", "REGEX"):
                continue
            if pat.type == "str":
                if pat.value in "{}[],|":
                    self.punct[pat.value] = term.name
                else:
                    self.embedded[pat.value] = term.name
                    prefix.append(((-term.priority, -len(pat.value), term.name), term.name,
                                   re.compile(re.escape(pat.value))))
            elif term.priority >= 1:
                for word in _keyword_words(pat.value):
                    self.keywords[word] = self.keywords.get(word, ()) + (term.name,)
            else:
                prefix.append(((-term.priority, -len(pat.value), term.name), term.name, re.compile(pat.value)))
        prefix.sort(key=lambda p: p[0])
        self.prefix = [(name, rx) for _, name, rx in prefix]

    def tokens(self, ctx: _Ctx, end: int, states: Sequence[Any], stack: list[int]) -> Iterator[_Tok]:
        """The tokens of ``ctx.text[ctx.base:end]``; ``states[stack[-1]]`` holds what the parser
        accepts now (the parser consumes each token before asking for the next)."""
        text = ctx.text
        pos = ctx.base
        line = ctx.base_line
        line_start = ctx.line_start
        keywords, punct, embedded, prefix = self.keywords, self.punct, self.embedded, self.prefix
        match = _LEXEME_RE.match
        comments = ctx.comments
        while pos < end:
            m = match(text, pos, end)
            if m is None:
                pos = _WS_RE.match(text, pos, end).end()  # type: ignore[union-attr]
                if pos < end:
                    raise _LexError(pos, None)
                return
            kind = m.lastgroup
            start = m.start(kind)  # type: ignore[arg-type]
            if start > pos:
                newlines = text.count("\n", pos, start)
                if newlines:
                    line += newlines
                    line_start = text.rindex("\n", pos, start) + 1
                pos = start
            nxt = m.end()
            if kind == "comment":
                comments.append(pos)
                pos = nxt
                continue
            acc = states[stack[-1]]
            col = pos - line_start + 1
            if kind == "word" or (kind == "regex" and "REGEX" not in acc):
                if kind == "regex":
                    nxt = pos + 2  # `re` as a word: the quote starts a string
                word = text[pos:nxt]
                ttype = None
                for kw in keywords.get(word, ()):
                    if kw in acc:
                        ttype = kw
                        break
                if ttype is None:
                    if "WORD" in acc:
                        emb = embedded.get(word)
                        ttype = emb if emb is not None and emb in acc else "WORD"
                    else:
                        for name, rx in prefix:
                            if name in acc:
                                pm = rx.match(text, pos, end)
                                if pm is not None and pm.end() > pos:
                                    ttype, nxt = name, pm.end()
                                    word = text[pos:nxt]
                                    break
                if ttype is None:
                    raise _LexError(pos, _Tok("WORD", word, pos, nxt, line, col))
                tok = _Tok(ttype, word, pos, nxt, line, col)
            else:
                value = text[pos:nxt]
                ttype = punct[value] if kind == "punct" else kind.upper()  # type: ignore[union-attr]
                tok = _Tok(ttype, value, pos, nxt, line, col)
                if ttype not in acc:
                    raise _LexError(pos, tok)
            pos = nxt
            yield tok


def _keyword_words(pattern: str) -> list[str]:
    """The words a keyword terminal ``(?:a|b)(?!WORDCHAR)`` spells."""
    if not pattern.endswith(_KEYWORD_SUFFIX):
        raise ValueError(f"keyword terminal without the word-boundary suffix: {pattern}")
    body = pattern[: -len(_KEYWORD_SUFFIX)]
    if body.startswith("(?:") and body.endswith(")"):
        body = body[3:-1]
    words = [re.sub(r"\\(.)", r"\1", w) for w in body.split("|")]
    for w in words:
        if not re.fullmatch(pattern, w):
            raise ValueError(f"cannot read the keywords of {pattern}")
    return words


# ---- the transformer: grammar rules -> AST nodes ---------------------------------------------

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
    if Span ever stops being a plain frozen, slotted record of these seven fields."""
    names = ("source", "line", "column", "start", "end", "end_line", "end_column")
    if tuple(f.name for f in dataclasses.fields(Span)) != names or hasattr(Span, "__post_init__"):
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


# ---- the LALR(1) machine, built once per process ---------------------------------------------

class _ParseFailure(Exception):
    """A syntax error: the token the parser could not take (type ``$END`` at the end, None for a
    character no terminal matches), what it would have taken, and its value stack."""

    def __init__(self, pos: int, token: _Tok | None, expected: set[str], values: list[Any]) -> None:
        super().__init__(pos)
        self.pos = pos
        self.token = token
        self.expected = expected
        self.values = values


# A reduce action: (mode, number of symbols, goto symbol, builder method, which children to splice)
_Reduce = tuple[int, int, str, Any, tuple[bool, ...]]
# How a reduction makes its value:
_PASS = 0  # `?rule` with one child: the child itself
_APPEND = 1  # a repetition helper `__x: __x a b`: append a, b to the helper's list in place
_LIST = 2  # a repetition helper otherwise: the (spliced) list of its children
_BUILD = 3  # a grammar rule: its _Builder method, on the children with helper lists spliced in


class _Machine:
    """Lark's LALR(1) tables for grammar.lark, run by a lean driver.

    Lark computes the tables and defines the grammar's meaning; this loop replaces Lark's own
    ``ParserState.feed_token`` only for speed (it dispatches on plain ints and strings, where
    Lark's hashes grammar objects on every reduction).  Values are built by ``_Builder`` as Lark
    would call it as an inline transformer: repetition helpers (``__x_plus_0``) are spliced into
    their parent's children and ``?rule`` with one child passes that child through.
    """

    def __init__(self) -> None:
        from ..cache import key_of, path_for

        text = _grammar_text()
        # Lark stores its tables at this path (a private directory, see cache.py) and checks the
        # grammar's hash inside the file before using them.
        lark = Lark(text, parser="lalr", lexer="basic", maybe_placeholders=False,
                    cache=path_for("grammar", key_of(text, lark_version)) or False)
        table = lark.parser.parser.parser.parse_table
        builder = _Builder()
        self.start_state: int = table.start_states["start"]
        reduces: dict[Any, _Reduce] = {}
        self.states: list[dict[str, int | _Reduce]] = [{} for _ in range(max(table.states) + 1)]
        for state, actions in table.states.items():
            row = self.states[state]
            for sym, (action, arg) in actions.items():
                if action.name == "Shift":
                    row[str(sym)] = int(arg)
                else:
                    if arg not in reduces:
                        reduces[arg] = self._reduce_action(arg, builder)
                    row[str(sym)] = reduces[arg]
        self.lexer = _Lexer(lark.terminals)
        self._check_lexer_assumptions()

    @staticmethod
    def _reduce_action(rule: Any, builder: _Builder) -> _Reduce:
        name = str(rule.origin.name)
        splice = tuple(not s.is_term and s.name.startswith("_") for s in rule.expansion)
        if any(s.is_term and s.filter_out for s in rule.expansion):
            raise AssertionError(f"grammar.lark: rule {name} has an anonymous token; name every terminal")
        n = len(rule.expansion)
        method = None
        if name.startswith("_"):
            mode = _APPEND if n >= 2 and splice[0] and True not in splice[1:] else _LIST
        elif rule.options.expand1 and n == 1 and not splice[0]:
            mode = _PASS
        else:
            mode = _BUILD
            method = getattr(builder, str(rule.alias or name), None)
            if method is None:
                raise AssertionError(f"grammar.lark: no _Builder method for rule {name}")
        return (mode, n, name, method, splice)

    def _check_lexer_assumptions(self) -> None:
        """The lexer is exact only if no state accepts two of WORD and the name terminals, nor
        a name terminal together with `:`, `=` or `+` (they would compete for a prefix)."""
        names = {"WORD", *_NAME_TERMINALS}
        embedded = set(self.lexer.embedded.values())
        for acc in self.states:
            present = names.intersection(acc)
            if len(present) > 1 or (present - {"WORD"} and embedded.intersection(acc)):
                raise AssertionError(f"grammar.lark breaks the contextual lexer's assumptions: {sorted(acc)}")

    def parse(self, ctx: _Ctx, end: int) -> Statement:
        """Parse the statement ``ctx.text[ctx.base:end]``; raise _ParseFailure on a syntax error."""
        states = self.states
        stack = [self.start_state]
        values: list[Any] = []
        last: _Tok | None = None
        try:
            for tok in self.lexer.tokens(ctx, end, states, stack):
                act = states[stack[-1]].get(tok.type)
                if type(act) is int:  # a plain shift, the common case, without a call
                    stack.append(act)
                    values.append(tok)
                else:
                    self._feed(tok, stack, values)
                last = tok
        except _LexError as err:
            raise _ParseFailure(err.pos, err.token, self.accepts(stack), values) from None
        if last is None:
            end_tok = _Tok("$END", "", ctx.base, ctx.base, ctx.base_line, 1)
        else:
            end_tok = _Tok("$END", "", last.end_pos, last.end_pos, last.line,
                           last.column + (last.end_pos - last.start_pos))
        return self._feed(end_tok, stack, values)  # type: ignore[no-any-return]

    def _feed(self, tok: _Tok, stack: list[int], values: list[Any]) -> Any:
        states = self.states
        tt = tok.type
        while True:
            act = states[stack[-1]].get(tt)
            if act is None:
                raise _ParseFailure(tok.start_pos, tok, self.accepts(stack), values)
            if type(act) is int:
                stack.append(act)
                values.append(tok)
                return None
            mode, n, origin, method, splice = act  # type: ignore[misc]
            if mode == _PASS:  # the value stays where it is; only the state changes
                del stack[-1]
            elif mode == _APPEND:
                if n == 2:
                    item = values.pop()
                    values[-1].append(item)
                else:
                    items = values[1 - n:]
                    del values[1 - n:]
                    values[-1].extend(items)
                del stack[-n:]
            else:
                if n:
                    children = values[-n:]
                    del values[-n:]
                    del stack[-n:]
                else:
                    children = []
                if True in splice:
                    flat: list[Any] = []
                    for child, sp in zip(children, splice):
                        if sp:
                            flat.extend(child)
                        else:
                            flat.append(child)
                    children = flat
                values.append(children if mode == _LIST else method(children))
            if tt == "$END" and origin == "start":
                return values[-1]
            stack.append(states[stack[-1]][origin])  # type: ignore[arg-type]

    def accepts(self, stack: list[int]) -> set[str]:
        """The terminals that the parser in ``stack`` would shift (after any reductions)."""
        out: set[str] = set()
        for term in self.states[stack[-1]]:
            if not (term.isupper() or term == "$END"):
                continue
            sim = list(stack)
            while True:
                act = self.states[sim[-1]].get(term)
                if act is None:
                    break
                if type(act) is int:
                    out.add(term)
                    break
                n, origin = act[1], act[2]  # type: ignore[index]
                if term == "$END" and origin == "start":
                    out.add(term)
                    break
                if n:
                    del sim[-n:]
                goto = self.states[sim[-1]].get(origin)
                if goto is None:
                    break
                sim.append(goto)  # type: ignore[arg-type]
        return out


_lock = threading.Lock()
_machine: _Machine | None = None


def _grammar_text() -> str:
    return resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")


def _get_machine() -> _Machine:
    global _machine
    if _machine is None:
        with _lock:
            if _machine is None:
                _machine = _Machine()
    return _machine


# ---- splitting a file into statements ---------------------------------------------------------

def _statements(text: str) -> Iterator[tuple[int, int, int, int]]:
    """Yield ``(start, end, line, line_start)`` for each statement of ``text``.

    A statement starts at a line whose first character is not blank and not ``#``, unless that
    line lies inside a ``[`` or ``{`` the statement left open and does not start with a statement
    keyword (so a list's closing ``]`` may sit at column 1, and an unclosed ``[`` does not swallow
    the next rule).  An indented block before the first statement is yielded with line_start -1.
    """
    n = len(text)
    pos = 1 if text.startswith("\ufeff") else 0
    line, line_start = 1, 0
    cur: tuple[int, int, int] | None = None  # (start, line, line_start) of the open statement
    depth, scanned = 0, 0  # bracket depth of the open statement, counted up to offset `scanned`
    orphan: tuple[int, int] | None = None
    while True:
        nl = text.find("\n", pos)
        eol = n if nl < 0 else nl
        first = text[pos] if pos < eol else ""
        if first and first not in " \t\f\r#":
            starts = cur is None or _STATEMENT_START_RE.match(text, pos) is not None
            if not starts:
                assert cur is not None
                depth = _bracket_depth(text, scanned, line_start, depth)
                scanned = line_start
                starts = depth == 0
            if starts:
                if orphan is not None:
                    yield orphan[0], line_start, orphan[1], -1
                    orphan = None
                if cur is not None:
                    yield cur[0], line_start, cur[1], cur[2]
                cur = (pos, line, line_start)
                depth, scanned = 0, pos
        elif first and first != "#" and cur is None and orphan is None:
            content = text[pos:eol].strip(" \t\f\r")
            if content and not content.startswith("#"):
                orphan = (pos, line)
        if nl < 0:
            break
        pos = line_start = nl + 1
        line += 1
    if orphan is not None:
        yield orphan[0], n, orphan[1], -1
    if cur is not None:
        yield cur[0], n, cur[1], cur[2]


def _bracket_depth(text: str, start: int, end: int, depth: int) -> int:
    """``depth`` updated by the brackets of ``text[start:end]`` outside strings and comments."""
    for m in _BRACKET_SCAN_RE.finditer(text, start, end):
        c = m.group()
        if c in "[{":
            depth += 1
        elif c in "]}":
            depth = max(0, depth - 1)
    return depth


# ---- syntax errors -> diagnostics -------------------------------------------------------------

_EXPECTED_GROUPS: list[tuple[frozenset[str], frozenset[str], str]] = [
    # (terminals that must all be present, terminals the phrase covers, phrase)
    (frozenset({"RULE", "LET"}), frozenset({"RULE", "LET", "EXAMPLE", "DISABLE", "EXCEPT"}),
     "a statement (rule, let, example, disable, except)"),
    (frozenset({"EXEC", "PATH_KIND"}),
     frozenset({"EXEC", "PATH_KIND", "NETWORK", "CODE", "TOOL", "MESSAGE", "OPAQUE"}),
     "a target (exec, read, write, delete, network, code, tool, message, opaque)"),
    (frozenset({"WORD", "ELLIPSIS", "LBRACE"}),
     frozenset({"WORD", "STRING", "RAW", "REGEX", "ELLIPSIS", "QMARK", "LBRACE", "IN"}),
     'an argument (a word, a "string", {a, b}, ?, ..., in LIST, re"...")'),
    (frozenset({"RISK", "ALT"}), frozenset({"RISK", "MESSAGE", "ALT", "UNLESS", "WHEN"}),
     "a clause (risk, message, alt, unless, when)"),
]
_EXPECTED_WORDS: dict[str, str] = {
    "DECISION": "a decision (allow, sandbox, ask, deny)",
    "EXAMPLE_DECISION": "a decision (allow, sandbox, ask, deny)",
    "EXAMPLE_KIND": "an example kind (command, read, write, edit, delete, list, fetch)",
    "LEVEL": "a risk level (unknown, low, medium, high, critical)",
    "RULE_ID": "a rule id",
    "LET_NAME": "a list name (ALL-CAPS)",
    "LIST_NAME": "a list name",
    "STRING": "a string",
    "RAW": "a string",
    "REGEX": 'a regex re"..."',
    "WORD": "a word",
    "PIPE": "`|`",
    "MATCHING": "`matching`",
    "IN": "`in`",
    "RECURSIVE": "`recursive`",
    "TO": "`to`",
    "CEL": "`cel`",
    "BY": "`by`",
    "UNLESS": "`unless`",
    "ELLIPSIS": "`...`",
    "QMARK": "`?`",
    "COLON": "`:`",
    "EQUALS": "`=`",
    "LBRACKET": "`[`",
    "RBRACKET": "`]`",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "COMMA": "`,`",
    "PLUS": "`+`",
    "EXEC": "`exec`",
    "MESSAGE": "`message`",
    "$END": "the end of the statement",
}
# Words each keyword terminal spells (for "did you mean").
_TERMINAL_SPELLINGS: dict[str, tuple[str, ...]] = {
    "RULE": ("rule",), "LET": ("let",), "EXAMPLE": ("example",), "DISABLE": ("disable",),
    "EXCEPT": ("except",), "DECISION": DECISIONS, "EXAMPLE_DECISION": DECISIONS,
    "EXAMPLE_KIND": EXAMPLE_KINDS, "LEVEL": RISK_LEVELS,
    "EXEC": ("exec",), "PATH_KIND": ("read", "write", "delete"), "NETWORK": ("network",),
    "CODE": ("code",), "TOOL": ("tool",), "MESSAGE": ("message",), "OPAQUE": ("opaque",),
    "RECURSIVE": ("recursive",), "IN": ("in",), "TO": ("to",), "MATCHING": ("matching",),
    "RISK": ("risk",), "ALT": ("alt",), "UNLESS": ("unless",), "WHEN": ("when",), "CEL": ("cel",),
    "BY": ("by",),
}
_PUNCT = set("{}[],|")
_PUNCT_TERMINALS = ("LBRACE", "RBRACE", "LBRACKET", "RBRACKET", "COMMA", "PIPE", "COLON", "EQUALS", "PLUS")
_ARGV_ENDERS = {"RISK", "MESSAGE", "ALT", "UNLESS", "WHEN", "MATCHING", "IN"}


def _readable_expected(expected: set[str]) -> tuple[str, ...]:
    left = set(expected)
    out: list[str] = []
    for needed, covers, phrase in _EXPECTED_GROUPS:
        if needed <= left:
            out.append(phrase)
            left -= covers
    seen = set(out)
    for name in _EXPECTED_WORDS:  # dict order is the display order
        if name in left:
            phrase = _EXPECTED_WORDS[name]
            if phrase not in seen:
                out.append(phrase)
                seen.add(phrase)
            left.discard(name)
    for name in sorted(left):
        words = _TERMINAL_SPELLINGS.get(name)
        phrase = ", ".join(f"`{w}`" for w in words) if words else name
        if phrase not in seen:
            out.append(phrase)
            seen.add(phrase)
    return tuple(out)


def _did_you_mean(word: str, candidates: Sequence[str]) -> str | None:
    if word.lower() in candidates:
        return word.lower()
    close = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.6)
    return close[0] if close else None


def _unterminated(ctx: _Ctx, pos: int) -> Diagnostic | None:
    """A diagnostic for a string or regex literal that starts at ``pos`` and is not closed."""
    text = ctx.text
    start = pos
    if text.startswith('re"', pos):
        quote_at = pos + 2
    elif pos < len(text) and text[pos] in "\"'":
        quote_at = pos
        if text[pos] == '"' and pos >= 2 and text[pos - 2:pos] == "re" and \
                (pos == 2 or not _WORD_RE.match(text[pos - 3])):
            start = pos - 2
    else:
        return None
    quote = text[quote_at]
    lit = _LEXEME_RE.match(text, start)
    if lit is not None and lit.lastgroup in ("regex", "string", "raw"):
        return None
    eol = text.find("\n", quote_at)
    eol = len(text) if eol < 0 else eol
    what = "regex" if start != quote_at else "string"
    if quote == "'":
        hint = "close it with ' on the same line; a single-quoted string cannot contain '"
    else:
        hint = 'close it with " on the same line (strings do not span lines); write \\" for a quote inside'
    return ctx.diag("unterminated-string", f"unterminated {what}", ctx.span(start, max(start + 1, eol)),
                    hint=hint)


def _syntax_error(ctx: _Ctx, err: _ParseFailure) -> None:
    expected = err.expected
    stack = err.values
    tok = err.token
    if tok is None:
        if _unterminated(ctx, err.pos) is not None:
            return
        ch = ctx.text[err.pos]
        ctx.diag("syntax", f"unexpected character {_show_char(ch)}", ctx.span(err.pos, err.pos + 1),
                 expected=_readable_expected(expected),
                 hint="quote it if it is part of a word or path" if ch.isprintable() else None)
        return
    if tok.type == "$END":
        span = ctx.span(tok.start_pos, tok.start_pos)
        message = "unexpected end of the statement"
        word = ""
    else:
        pos = tok.start_pos
        if _unterminated(ctx, pos) is not None:
            return
        word = tok.value
        if tok.type not in ("STRING", "RAW", "REGEX") and word[:1] not in _PUNCT:
            wm = _WORD_RE.match(ctx.text, pos)
            if wm is not None and wm.end() > pos + len(word):
                word = wm.group()
        span = ctx.span(pos, pos + len(word))
        message = f"unexpected {_show_token(tok.type, word)}"

    code = "syntax"
    hint: str | None = None
    last = stack[-1] if stack else None

    if {"RULE", "LET"} <= expected and word:
        if word in DECISIONS or word in TARGET_KEYWORDS:
            message = f"a statement cannot start with `{word}`"
            hint = f"a rule starts with `rule ID:` — write `rule some.id: {word} ...`" if word in DECISIONS \
                else "a rule is `rule ID: DECISION TARGET ...`"
        elif (guess := _did_you_mean(word, STATEMENT_KEYWORDS)) is not None:
            code, message = "unknown-keyword", f"unknown statement `{word}`"
            hint = f"did you mean `{guess}`?"
        else:
            hint = ("statements start at column 1 with rule, let, example, disable or except; "
                    "indent a line to continue the statement above it")
    elif expected == {"COLON"}:
        message = "missing `:` after the rule id"
        hint = "a rule is `rule ID: DECISION TARGET ...` (a rule id has no spaces)"
        if type(last) is _Tok and last.type == "RULE_ID":
            span = ctx.span(last.end_pos, last.end_pos)
    elif type(last) is _Tok and last.type in _ARGV_ENDERS and _after_exec(stack):
        kw = last.value
        hint = (f"`{kw}` ends the argument list of `exec`; to match the word `{kw}` itself, quote it: \"{kw}\"")
        if kw == "matching":
            hint = 'write `matching re"..."`; to match the word `matching` itself, quote it: "matching"'
    elif word and tok.type not in ("STRING", "RAW", "REGEX") and not (expected & {"WORD", *_NAME_TERMINALS}):
        spellings = [w for t in sorted(expected) for w in _TERMINAL_SPELLINGS.get(t, ())]
        guess = _did_you_mean(word, spellings) if spellings else None
        if guess is not None and guess != word:
            code = "unknown-keyword"
            what = _keyword_role(expected, guess)
            message = f"unknown {what} `{word}`" if what else f"unexpected `{word}`"
            hint = f"did you mean `{guess}`?"
    if hint is None:
        hint = _context_hint(ctx, tok, word, expected, stack)
    ctx.diag(code, message, span, expected=_readable_expected(expected), hint=hint)


def _keyword_role(expected: set[str], guess: str) -> str:
    if "DECISION" in expected and guess in DECISIONS:
        return "decision"
    if {"EXEC", "PATH_KIND"} & expected and guess in TARGET_KEYWORDS:
        return "target"
    if "RISK" in expected and guess in CLAUSE_KEYWORDS:
        return "clause"
    if "EXAMPLE_KIND" in expected and guess in EXAMPLE_KINDS:
        return "example kind"
    return "keyword"


def _after_exec(stack: list[Any]) -> bool:
    """Whether the statement on ``stack`` has an exec target before its last token."""
    for v in stack[:-1]:
        if type(v) in (ExecTarget, PipeTarget) or (type(v) is _Tok and v.type == "EXEC"):
            return True
    return False


def _context_hint(ctx: _Ctx, tok: Any, word: str, expected: set[str], stack: list[Any]) -> str | None:
    if tok.type == "$END" and expected & {"RBRACKET", "RBRACE"}:
        for v in reversed(stack):
            if type(v) is _Tok and v.type in ("LBRACKET", "LBRACE"):
                sp = ctx.span(v.start_pos, v.end_pos)
                return f"the `{v.value}` on line {sp.line}, column {sp.column} is not closed"
    if {"EXEC", "PATH_KIND"} <= expected and word in CLAUSE_KEYWORDS:
        return f"a rule names its target (exec ..., read in ..., opaque, ...) before clauses such as `{word}`"
    if expected == {"LEVEL"}:
        return "write the level bare: risk unknown | low | medium | high | critical"
    if expected == {"EXAMPLE_DECISION"}:
        return 'an example is `example DECISION [KIND] "TEXT"`, e.g. example deny "sudo rm -rf /"'
    if expected == {"LIST_NAME", "LBRACKET"}:
        return 'give a list name or a list: SECRETS, ["~/.ssh/**"], or several joined by +'
    if {"WORD", "LBRACE", "REGEX"} <= expected and "ELLIPSIS" not in expected:
        return 'a tool target is `tool NAME`, `tool {a, b}` or `tool re"..."`'
    if expected == {"LET_NAME"}:
        return "a list is declared as `let NAME = [item, ...]`"
    if expected == {"RULE_ID"}:
        return "a rule id is letters, digits, `.`, `-` and `_`, starting with a letter"
    if expected == {"DECISION"} and word in TARGET_KEYWORDS:
        return f"write the decision before the target: `rule ID: deny {word} ...`"
    if "RISK" in expected and word and tok.type not in ("$END", *_PUNCT_TERMINALS):
        return "after the target come clauses: risk, message, alt, unless, when (quote a word to make it literal)"
    if expected == {"UNLESS"}:
        return "an exception is `except RULE-ID unless TARGET`"
    if expected == {"MATCHING"}:
        return 'write `matching re"..."`'
    return None


def _show_char(ch: str) -> str:
    if ch.isprintable() and not ch.isspace():
        return f"`{ch}`"
    return f"U+{ord(ch):04X}"


def _show_token(ttype: str, word: str) -> str:
    if ttype in ("STRING", "RAW"):
        shown = word if len(word) <= 40 else word[:37] + "..."
        return f"string {shown}"
    if ttype == "REGEX":
        shown = word if len(word) <= 40 else word[:37] + "..."
        return f"regex {shown}"
    shown = word if len(word) <= 40 else word[:37] + "..."
    return f"`{shown}`"


# ---- entry point ------------------------------------------------------------------------------

def parse_policy(source: Source) -> tuple[PolicyFile, list[Diagnostic]]:
    """Parse one policy source into a PolicyFile and the diagnostics found.

    Never raises on bad input: a statement with a syntax error is reported and left out, and
    parsing resumes at the next statement.  Callers must not compile a file whose diagnostics
    contain an error.
    """
    text = source.text
    if len(text) > MAX_SOURCE_CHARS:
        return PolicyFile(source.name, source.layer, ()), [Diagnostic(
            "error", "syntax", f"policy source is too large ({len(text):,} characters; the limit is "
                               f"{MAX_SOURCE_CHARS:,})", Span(source.name, 1, 1, 0, 0, 1, 1))]
    line_starts = [0]
    line_starts.extend(m.end() for m in re.finditer("\n", text))
    ctx = _Ctx(source.name, text, line_starts)
    statements: list[Statement] = []
    token = _CTX.set(ctx)
    try:
        machine = _get_machine()
        for start, end, line, line_start in _statements(text):
            if len(ctx.diagnostics) >= MAX_DIAGNOSTICS:
                ctx.diag("syntax", f"too many errors; stopped after {MAX_DIAGNOSTICS}", ctx.span(start, start))
                break
            if line_start < 0:
                first = len(text[start:end]) - len(text[start:end].lstrip(" \t\f\r"))
                word = _WORD_RE.match(text, start + first)
                at = start + first
                ctx.diag("syntax", "an indented line before the first statement",
                         ctx.span(at, word.end() if word else at + 1),
                         hint="statements start at column 1 (an indented line continues the statement above it, "
                              "and there is none)")
                continue
            ctx.base, ctx.base_line, ctx.line_start = start, line, line_start
            try:
                statements.append(machine.parse(ctx, end))
            except _ParseFailure as err:
                _syntax_error(ctx, err)
    except Exception as exc:  # fail closed: an internal error is reported, never raised
        ctx.diag("internal", f"internal parser error: {type(exc).__name__}: {exc}",
                 ctx.span(ctx.base, ctx.base), hint="please report this with the policy that caused it")
    finally:
        _CTX.reset(token)
    return PolicyFile(source.name, source.layer, tuple(statements)), ctx.diagnostics
