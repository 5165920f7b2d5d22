"""``policylang fmt``: the canonical layout of a ``.policy`` file, comments kept where they are.

Only a file that parses without an error is formatted (a broken one raises PolicyError with the
parser's diagnostics).  Each statement is lexed by the parser's own contextual lexer, driven by
the LALR(1) tables as in a parse (parse.py, lexer.py, lalr.py), so the formatter sees exactly the
tokens the parser sees, with their types and places; each stays on the line its author put it
on, so a comment stays where it is and keeps ending an argv where it did.  Only whitespace
changes:

- a statement's first line at column 1; a continuation line indented by four spaces, or at the
  margin when it starts by closing a bracket (``]`` or ``}``); a comment line at the margin when
  it was there, else indented by four;
- one space between two tokens, none after ``{`` and ``[`` or before ``}``, ``]``, ``,`` and the
  ``:`` of ``rule ID:``; two spaces before a comment that ends a line;
- trailing blanks removed, runs of blank lines cut to one, none at the start or the end, ``\n``
  line ends, one final newline, no byte-order mark.

A token is never split or joined, and a space is removed only next to punctuation that is a token
of its own, so the formatted file holds the same tokens in the same order.  tests/test_fmt.py
checks that its AST and its decisions are those of the original, and that formatting twice
changes nothing.
"""
from __future__ import annotations

import bisect
import re
from typing import Any

from ..diagnostics import PolicyError
from ..source import Source
from .lalr import _get_machine
from .lexer import _CTX, _Ctx
from .parse import _statements, parse_policy

INDENT = "    "
_NO_SPACE_AFTER = frozenset({"LBRACE", "LBRACKET"})
_NO_SPACE_BEFORE = frozenset({"RBRACE", "RBRACKET", "COMMA", "COLON"})
_CLOSERS = frozenset({"RBRACE", "RBRACKET"})


def format_policy(text: str, name: str = "<policy>") -> str:
    """``text`` in the canonical layout.  Raises PolicyError when it does not parse."""
    if text.startswith("\ufeff"):
        text = text[1:]
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _, diagnostics = parse_policy(Source(name, text, layer="user"))
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise PolicyError(errors)
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    ctx = _Ctx(name, text, line_starts)
    by_line: dict[int, list[tuple[str, str]]] = {}
    first_lines: set[int] = set()
    token = _CTX.set(ctx)
    try:
        machine = _get_machine()
        for start, end, first, line_start in _statements(text):
            ctx.base, ctx.base_line, ctx.line_start = start, first, line_start
            first_lines.add(first)
            for tok in _statement_tokens(machine, ctx, end):
                by_line.setdefault(tok.line, []).append((tok.type, text[tok.start_pos:tok.end_pos]))
    finally:
        _CTX.reset(token)
    trailing = {bisect.bisect_right(line_starts, at): at for at in ctx.comments}
    out: list[str] = []
    for number, line in enumerate(text.split("\n"), 1):
        tokens = by_line.get(number)
        stripped = line.strip(" \t\f")
        if tokens:
            at = trailing.get(number)
            comment = text[at:line_starts[number - 1] + len(line)].rstrip(" \t\f") if at is not None else ""
            indent = "" if number in first_lines or tokens[0][0] in _CLOSERS else INDENT
            out.append(indent + _join(tokens) + ("  " + comment if comment else ""))
        elif stripped:  # a line without a token is a comment (the file parsed)
            out.append(("" if line.startswith("#") else INDENT) + stripped)
        else:
            out.append("")
    return _squeeze_blank_lines(out)


def _statement_tokens(machine: Any, ctx: _Ctx, end: int) -> list[Any]:
    """The tokens of the statement ``ctx.text[ctx.base:end]``, typed as the parser types them: the
    lexer is driven by the parser's state, as ``_Machine.parse`` drives it."""
    states = machine.states
    stack = [machine.start_state]
    values: list[Any] = []
    out = []
    for tok in machine.lexer.tokens(ctx, end, states, stack):
        out.append(tok)
        act = states[stack[-1]].get(tok.type)
        if type(act) is int:
            stack.append(act)
            values.append(tok)
        else:
            machine._feed(tok, stack, values)
    return out


def _join(tokens: list[tuple[str, str]]) -> str:
    parts: list[str] = []
    prev = ""
    for kind, text in tokens:
        if parts and prev not in _NO_SPACE_AFTER and kind not in _NO_SPACE_BEFORE:
            parts.append(" ")
        parts.append(text)
        prev = kind
    return "".join(parts)


def _squeeze_blank_lines(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line == "" and (not out or out[-1] == ""):
            continue
        out.append(line)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""
