"""Clause words written where the parser reads argv: a misspelt clause must not silently kill a rule.

After ``exec``, every word up to the first clause keyword (risk, message, alt, unless, when) is an
argument the command must have.  So a clause spelt wrong, ``mesage "..."`` on a continuation line,
is read as two more arguments: the rule then matches nothing, and nothing said so.  Here, for each
argv word of an exec target:

- a near miss of a clause keyword (``mesage``, ``Risk``, ``message:``) that starts a continuation
  line, or is followed by what that clause takes (a string after message or alt, a risk level after
  risk, a target after unless, ``cel`` after when), is an error with a did-you-mean;
- a bare word that is a clause keyword but for its case or a trailing ``:``/``=`` (``Message``,
  ``risk=``) anywhere else is a warning, and so is a quoted clause keyword (``"message"``) in one of
  the positions above: it is more likely a clause than an argument.

A word quoted on purpose elsewhere (``exec git commit -m "message"``) is left alone: quoting is how
the language spells the literal word.
"""
from __future__ import annotations

import difflib
from typing import NamedTuple

from ..source import Span
from .nodes import RISK_LEVELS, ArgItem, ExecTarget, Word

CLAUSE_KEYWORDS = ("risk", "message", "alt", "unless", "when")
_TARGET_WORDS = frozenset({"exec", "read", "write", "delete", "network", "code", "tool", "message", "leak",
                           "upload", "persist", "discard", "secret", "install", "finding", "opaque"})
_CUTOFF = 0.75  # `mesage`, `rsk`, `wen`, `unles` are near; `all` (for alt) is not


class Finding(NamedTuple):
    severity: str
    code: str
    message: str
    span: Span
    hint: str


def clause_word_findings(target: ExecTarget, text: str) -> list[Finding]:
    """The findings for the argv of ``target`` (``text`` is the whole source it was parsed from)."""
    out: list[Finding] = []
    argv = target.argv
    for i, item in enumerate(argv):
        if type(item) is not Word or i == 0:
            continue  # argv[0] is the program: `exec alt ...` names a program called alt
        quoted = text[item.span.start:item.span.start + 1] in ("\"", "'")
        nxt = argv[i + 1] if i + 1 < len(argv) else None
        at_line_start = _starts_continuation_line(text, item.span)
        finding = _quoted(item, nxt, text, at_line_start) if quoted else _bare(item, nxt, text, at_line_start)
        if finding is not None:
            out.append(finding)
    return out


def _bare(item: Word, nxt: ArgItem | None, text: str, at_line_start: bool) -> Finding | None:
    word = item.value
    if word.startswith("-") or any(c in word for c in "/.*?~$"):
        return None  # a flag, a path or a glob: never a clause
    norm = word.lower().rstrip(":=")
    guess = norm if norm in CLAUSE_KEYWORDS else _near(norm)
    if guess is None:
        return None
    if at_line_start or _takes(guess, nxt, text):
        return Finding(
            "error", "unknown-keyword", f"unknown clause `{word}`", item.span,
            f"did you mean `{guess}`? As written, `{word}` and the words after it are arguments the command "
            f"must have, so the rule never matches; to mean the word itself, quote it: \"{word}\"")
    if norm == guess:
        return Finding(
            "warning", "clause-keyword-in-argv", f"`{word}` in the arguments of `exec` looks like the clause "
            f"`{guess}`", item.span,
            f"a clause keyword is written bare and in lower case (`{guess} ...`); as written, `{word}` is an "
            f"argument the command must have; to say so plainly, quote it: \"{word}\"")
    return None


def _quoted(item: Word, nxt: ArgItem | None, text: str, at_line_start: bool) -> Finding | None:
    word = item.value
    if word not in CLAUSE_KEYWORDS or not (at_line_start or _takes(word, nxt, text)):
        return None
    return Finding(
        "warning", "clause-keyword-in-argv", f"the clause keyword `{word}` is quoted, so it is an argument of "
        f"`exec`, not a clause", item.span,
        f"write `{word}` without quotes to make it a clause; a quoted word is one the command must have")


def _near(word: str) -> str | None:
    if len(word) < 3:
        return None
    close = difflib.get_close_matches(word, CLAUSE_KEYWORDS, n=1, cutoff=_CUTOFF)
    return close[0] if close else None


def _takes(keyword: str, nxt: ArgItem | None, text: str) -> bool:
    """Whether ``nxt`` is what the clause ``keyword`` takes after it."""
    if type(nxt) is not Word:
        return False
    quoted = text[nxt.span.start:nxt.span.start + 1] in ("\"", "'")
    if keyword in ("message", "alt"):
        return quoted
    if quoted:
        return False
    value = nxt.value.lower()
    if keyword == "risk":
        return value in RISK_LEVELS
    if keyword == "unless":
        return value in _TARGET_WORDS
    return value == "cel"


def _starts_continuation_line(text: str, span: Span) -> bool:
    """Whether the word at ``span`` is the first thing on an indented (continuation) line."""
    line_start = text.rfind("\n", 0, span.start) + 1
    before = text[line_start:span.start]
    return line_start > 0 and before != "" and before.strip(" \t\f\r") == ""

