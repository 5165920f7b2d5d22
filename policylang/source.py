"""Source texts and positions.  Positions stay fields until printed."""
from __future__ import annotations

from .frozen import frozen


@frozen  # not a dataclass: importing dataclasses (with inspect) costs every CLI and hook process ~10 ms
class Span:
    """A half-open character range ``[start, end)`` in one source, with 1-based line/column of start."""

    source: str  # the source's name: a file path, "<config.toml:security.policy>", "<builtin>", ...
    line: int
    column: int
    start: int
    end: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}"


@frozen
class Source:
    """A policy text and the name it is reported under."""

    name: str
    text: str
    layer: str = "user"  # builtin | preset | user | project | admin

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def span(self, start: int, end: int) -> Span:
        """A Span for character offsets (used where a parser gives offsets only)."""
        line = self.text.count("\n", 0, start) + 1
        col = start - (self.text.rfind("\n", 0, start) + 1) + 1
        end_line = self.text.count("\n", 0, end) + 1
        end_col = end - (self.text.rfind("\n", 0, end) + 1) + 1
        return Span(self.name, line, col, start, end, end_line, end_col)
