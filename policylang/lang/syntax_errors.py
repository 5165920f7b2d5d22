"""Syntax errors -> diagnostics: what the parser expected, in words, and a hint or a "did you mean".

``_syntax_error`` turns the failure the LALR(1) machine raised for one statement into one
diagnostic: an unterminated string, a statement that starts with a decision, a misspelt keyword,
a keyword that ended an argv, an unclosed bracket, and so on each get their own message and hint.
"""
from __future__ import annotations

import difflib
from typing import Any, Sequence

from ..diagnostics import Diagnostic
from .lalr import _ParseFailure
from .lexer import _LEXEME_RE, _NAME_TERMINALS, _WORD_RE, _Ctx, _Tok
from .nodes import DECISIONS, EXAMPLE_KINDS, RISK_LEVELS, ExecTarget, PipeTarget

STATEMENT_KEYWORDS = ("rule", "let", "example", "disable", "except")
TARGET_KEYWORDS = ("exec", "read", "write", "delete", "network", "code", "tool", "message", "leak", "upload",
                   "persist", "discard", "secret", "install", "finding", "opaque")
CLAUSE_KEYWORDS = ("risk", "message", "alt", "unless", "when")

_EXPECTED_GROUPS: list[tuple[frozenset[str], frozenset[str], str]] = [
    # (terminals that must all be present, terminals the phrase covers, phrase)
    (frozenset({"RULE", "LET"}), frozenset({"RULE", "LET", "EXAMPLE", "DISABLE", "EXCEPT"}),
     "a statement (rule, let, example, disable, except)"),
    (frozenset({"EXEC", "PATH_KIND"}),
     frozenset({"EXEC", "PATH_KIND", "NETWORK", "CODE", "TOOL", "MESSAGE", "CONCERN", "OPAQUE"}),
     "a target (exec, read, write, delete, network, code, tool, message, leak, upload, persist, discard, secret, "
     "install, finding, opaque)"),
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
    "CONCERN": "`leak`, `upload`, `persist`, `discard`, `secret`, `install` or `finding`",
    "$END": "the end of the statement",
}
# Words each keyword terminal spells (for "did you mean").
_TERMINAL_SPELLINGS: dict[str, tuple[str, ...]] = {
    "RULE": ("rule",), "LET": ("let",), "EXAMPLE": ("example",), "DISABLE": ("disable",),
    "EXCEPT": ("except",), "DECISION": DECISIONS, "EXAMPLE_DECISION": DECISIONS,
    "EXAMPLE_KIND": EXAMPLE_KINDS, "LEVEL": RISK_LEVELS,
    "EXEC": ("exec",), "PATH_KIND": ("read", "write", "delete"), "NETWORK": ("network",),
    "CODE": ("code",), "TOOL": ("tool",), "MESSAGE": ("message",), "OPAQUE": ("opaque",),
    "CONCERN": ("leak", "upload", "persist", "discard", "secret", "install", "finding"),
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
