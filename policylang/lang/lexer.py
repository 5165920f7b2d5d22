"""Policy text -> tokens: the contextual lexer, its token type, and the state of the parse in progress.

Lexing is contextual, with the semantics of Lark's ``lexer="contextual"``: a word is typed by what
the parser can accept at that point (``risk`` is a clause keyword after an argv, ``-r`` a bare
word, ``read`` a target after a decision and an example kind after ``example deny``).  The lexer
is our own for speed only (see lalr.py); it reads its terminals from the grammar Lark loaded and
does not import lark itself.
"""
from __future__ import annotations

import bisect
import re
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from ..diagnostics import Diagnostic
from ..source import Span

_WORD_CHARS = r"""[^\s{}\[\],|#"']"""
_WORD_RE = re.compile(_WORD_CHARS + "+")
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
