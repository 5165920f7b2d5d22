"""Colour for the command line's text output: on a terminal only, and never when ``NO_COLOR`` is set.

A stream that is not a terminal (a pipe, a file, a test's StringIO) gets plain text, so what a
script reads never holds escape sequences; ``NO_COLOR`` (https://no-color.org: set and not empty)
turns colour off on a terminal too, and ``TERM=dumb`` does the same.
"""
from __future__ import annotations

import os
from typing import Mapping, TextIO

_CODES = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}
_DECISIONS = {"allow": "green", "sandbox": "cyan", "ask": "yellow", "deny": "red"}
_SEVERITIES = {"error": "red", "warning": "yellow", "note": "cyan"}


class Colour:
    """Wraps text in ANSI colours when ``enabled``; otherwise returns it unchanged."""

    __slots__ = ("enabled",)

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, stream: TextIO, env: Mapping[str, str] | None = None) -> "Colour":
        """Colour for ``stream``: on only when it is a terminal and the environment allows it."""
        env = os.environ if env is None else env
        if env.get("NO_COLOR") or env.get("TERM") == "dumb":
            return cls(False)
        isatty = getattr(stream, "isatty", None)
        try:
            return cls(bool(isatty and isatty()))
        except (OSError, ValueError):  # a closed or odd stream
            return cls(False)

    def paint(self, text: str, colour: str) -> str:
        if not self.enabled or not text:
            return text
        return f"\x1b[{_CODES[colour]}m{text}\x1b[0m"

    def red(self, text: str) -> str:
        return self.paint(text, "red")

    def bold(self, text: str) -> str:
        return self.paint(text, "bold")

    def dim(self, text: str) -> str:
        return self.paint(text, "dim")

    def decision(self, label: str) -> str:
        """A decision label in its colour: allow green, sandbox cyan, ask yellow, deny red."""
        colour = _DECISIONS.get(label)
        return self.paint(label, colour) if colour else label

    def severity(self, label: str) -> str:
        colour = _SEVERITIES.get(label)
        return self.paint(label, colour) if colour else label
