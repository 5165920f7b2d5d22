"""Diagnostics: every error knows where it is.

A Diagnostic keeps its position as fields; ``render`` draws ``file:line:col``, the source line and
a caret under the span; ``to_json`` is the machine form used by ``check --format json``.
"""
from __future__ import annotations

from typing import Any, Iterable

from .frozen import frozen
from .source import Span


@frozen  # not a dataclass: importing dataclasses (with inspect) costs every CLI and hook process ~10 ms
class Diagnostic:
    severity: str  # error | warning
    code: str  # stable short name, e.g. "undefined-list", "syntax"
    message: str
    span: Span | None = None
    line_text: str = ""
    expected: tuple[str, ...] = ()
    hint: str | None = None
    # related places, rendered after the main one: e.g. "first defined here" for a duplicate
    notes: tuple["Diagnostic", ...] = ()

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def location(self) -> str:
        return str(self.span) if self.span else "<unknown>"

    def render(self) -> str:
        label = f"{self.severity}[{self.code}]" if self.code else self.severity
        head = f"{self.location()}: {label}: {self.message}"
        lines = [head]
        if self.span is not None and self.line_text:
            text = self.line_text.expandtabs(1) if "\t" in self.line_text else self.line_text
            lines.append(f"    {text}")
            width = 1
            if self.span.end_line in (0, self.span.line) and self.span.end > self.span.start:
                width = max(1, min(self.span.end - self.span.start, len(text) - self.span.column + 1))
            lines.append("    " + " " * (self.span.column - 1) + "^" * width)
        if self.expected:
            lines.append("    expected: " + ", ".join(self.expected))
        if self.hint:
            lines.append(f"    hint: {self.hint}")
        lines.extend(note.render() for note in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.span.source if self.span else None,
            "line": self.span.line if self.span else None,
            "column": self.span.column if self.span else None,
            "expected": list(self.expected),
            "hint": self.hint,
            "notes": [note.to_json() for note in self.notes],
        }


def shown(text: str, limit: int = 200) -> str:
    r"""``text`` quoted for a message a person reads: in single quotes (double quotes when it holds
    a single quote and no double one), backslashes as they are, and only what a terminal cannot show
    escaped (a control character as ``\n`` or ``\x1b``).  Longer than ``limit``, it is cut with
    ``...``.  ``repr`` doubles every backslash: it shows ``grep '\\bfoo'`` for ``grep '\bfoo'``."""
    if len(text) > limit:
        text = text[:limit] + "..."
    quote = '"' if "'" in text and '"' not in text else "'"
    out = []
    for ch in text:
        if ch == quote or not ch.isprintable():
            out.append(repr(ch)[1:-1] if ch != quote else "\\" + ch)
        else:
            out.append(ch)
    return quote + "".join(out) + quote


class PolicyError(Exception):
    """Raised when a policy cannot be compiled; carries every diagnostic found."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = tuple(diagnostics)
        super().__init__(render_all(self.diagnostics) or "policy error")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


def render_all(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(d.render() for d in diagnostics)
