"""Policy source text -> typed AST (nodes.py), with a diagnostic for every error found: the entry point.

    source --split--> statements --lex + LALR(1) + build--> AST nodes    (errors: diagnostics)

A file is first split into statements (here) — a statement starts at column 1, an indented line
continues it, so does a line inside an unclosed ``[`` or ``{`` — and each statement is parsed on
its own, so one syntax error costs one statement and parsing goes on with the next.  The stages:
lexer.py (the contextual lexer and the state of the parse in progress), lalr.py (grammar.lark and
the LALR(1) machine), builder.py (grammar rules -> AST nodes) and syntax_errors.py (a syntax
error -> a diagnostic with a hint).
"""
from __future__ import annotations

import re
from typing import Iterator

from .lalr import _ParseFailure, _get_machine
from .lexer import _CTX, _WORD_CHARS, _WORD_RE, _Ctx
from .nodes import PolicyFile, Statement
from .syntax_errors import _syntax_error
from ..diagnostics import Diagnostic
from ..source import Source, Span

# tests/test_parse.py reaches these through this module (its reference parser, its lexer checks).
from .builder import _Builder as _Builder, _make_span as _make_span
from .lalr import _grammar_text as _grammar_text
from .lexer import _LexError as _LexError, _Tok as _Tok

__all__ = ["parse_policy", "MAX_SOURCE_CHARS", "MAX_DIAGNOSTICS", "INVISIBLE_CHARACTERS"]

#: A larger source is refused outright (a policy of 50,000 rules is far smaller).
MAX_SOURCE_CHARS = 4_000_000
#: Parsing stops after this many diagnostics; the rest would be noise.
MAX_DIAGNOSTICS = 500

# Characters that show nothing or reorder what is shown: a rule whose word holds one matches nothing a
# reader can see (a dead rule), and bidirectional controls make the text read other than it parses.
# NUL is refused with them.  They are refused anywhere in the text (a quoted word is a word too, and
# a comment or message that reorders itself misleads a reviewer).  A byte order mark at the very
# start of a file is allowed (and skipped).
INVISIBLE_CHARACTERS = ("\x00\u00ad\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                        "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
_INVISIBLE_RE = re.compile("[" + INVISIBLE_CHARACTERS + "]")
_INVISIBLE_NAMES = {"\x00": "NUL", "\u200b": "zero-width space", "\u200c": "zero-width non-joiner",
                    "\u200d": "zero-width joiner", "\ufeff": "byte order mark", "\u2060": "word joiner",
                    "\u00ad": "soft hyphen"}
_STATEMENT_START_RE = re.compile(r"(?:rule|let|example|disable|except)(?!" + _WORD_CHARS + ")")
# What the splitter must see to track brackets: strings (possibly unterminated), comments, brackets.
_BRACKET_SCAN_RE = re.compile(r""""(?:[^"\\\n]|\\.)*"?|'[^'\n]*'?|#[^\n]*|[\[\]{}]""")


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


def _invisible_characters(ctx: _Ctx) -> None:
    """An error for each invisible or control character in the text (see _INVISIBLE_RE)."""
    text = ctx.text
    for m in _INVISIBLE_RE.finditer(text, 1 if text.startswith("\ufeff") else 0):
        if len(ctx.diagnostics) >= MAX_DIAGNOSTICS:
            return
        c = m.group()
        name = _INVISIBLE_NAMES.get(c) or ("a bidirectional control" if "\u200e" <= c <= "\u2069" or c == "\u061c"
                                           else "an invisible character")
        ctx.diag("invisible-character", f"U+{ord(c):04X} ({name}) in the policy text",
                 ctx.span(m.start(), m.end()),
                 hint="delete it: a word that holds it matches nothing a reader can see, and the rule would "
                      "never apply")


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
    _invisible_characters(ctx)
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
