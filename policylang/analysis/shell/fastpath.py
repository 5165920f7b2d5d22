"""The fast path: a command string with no shell metacharacters is split on blanks, without tree-sitter.

Such a string is one simple command whose words are all literal: no quoting, expansion,
redirection, globbing or control flow can occur in it, so splitting on spaces and tabs is exactly
what the shell does.  ``tests/test_tokenize.py`` checks with hypothesis that the analyser gives the same
Analysis through this path and through the tree-sitter path.
"""
from __future__ import annotations

__all__ = ["METACHARACTERS", "RESERVED_WORDS", "is_plain", "split_plain"]

# Any of these (or a non-printable or non-ASCII character) sends the string to tree-sitter.
METACHARACTERS = frozenset(";&|<>()$`\\\"'*?[]{}~#!\n")
# A reserved word in command position starts a compound command; tree-sitter parses those.
RESERVED_WORDS = frozenset({
    "if", "then", "elif", "else", "fi", "case", "esac", "for", "select", "while", "until", "do",
    "done", "in", "function", "time", "coproc", "[[", "]]", "{", "}", "!",
})
_BLANKS = " \t"


def is_plain(text: str) -> bool:
    """True when ``text`` has no shell metacharacter and is printable ASCII (spaces and tabs allowed)."""
    if not text.isascii():
        return False
    if not text.isprintable() and not text.replace("\t", " ").isprintable():
        return False
    return METACHARACTERS.isdisjoint(text)


def split_plain(text: str) -> list[str] | None:
    """The words of a plain string, or None when it needs the full parser (a reserved word first)."""
    words = text.replace("\t", " ").split(" ")
    words = [w for w in words if w]
    if words and words[0] in RESERVED_WORDS:
        return None
    return words
