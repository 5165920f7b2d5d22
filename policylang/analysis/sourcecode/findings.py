"""The result of analysing inline code (:class:`CodeFindings`) and the limits that bound the work.

Work is bounded: sources above 256 KiB, nesting the parser cannot take, nested ``eval``/``exec``
strings beyond a depth and a total size, and constant folding beyond a size budget all end in an
opaque result that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...verdict import Risk

MAX_SOURCE = 256 * 1024  # bytes of source analysed at all
MAX_DEPTH = 4  # nested exec("...") / eval strings followed
MAX_NESTED_CHARS = 1024 * 1024  # total source of nested strings analysed
MAX_FOLD_CHARS = 4 * 1024 * 1024  # total characters built by constant folding
MAX_VALUE = MAX_SOURCE  # longest single string constant folding builds
MAX_STEPS = 4_000_000  # token-scan steps for the tokenizer-based languages
MAX_COMMANDS = 200
MAX_EFFECTS = 500
MAX_WHY = 200
MAX_VALUE_DEPTH = 40  # nesting of literals (lists of lists...) evaluated


@dataclass(frozen=True, slots=True)
class CodeFindings:
    """What a piece of inline code does.

    ``commands``: shell strings and argv tuples the code spawns, to be judged by the command policy.
    ``effects``: ``(kind, target, recursive)``; kind is ``read``/``write``/``delete`` with a path as
    written (``None`` when not a literal), or ``network`` with a host (``None`` when not a literal).
    ``risk``: LOW when nothing notable; else what the calls themselves imply (a recursive delete
    HIGH, a write or delete MEDIUM, a dangerous call HIGH, an opaque spawn UNKNOWN). Spawning a
    literal command adds only LOW: the command is judged on its own.
    ``why``: human-readable reasons. ``opaque``: the code does something that cannot be known
    statically; ``opaque_reason`` says what.
    ``findings``: insecure-code findings of a detector (bandit, for Python), each its own effect with
    its own risk: they do not raise ``risk``, which is the risk of the calls themselves.
    """

    commands: tuple[str | tuple[str, ...], ...]
    effects: tuple[tuple[str, str | None, bool], ...]
    risk: Risk
    why: tuple[str, ...]
    opaque: bool
    opaque_reason: str = ""
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True, slots=True)
class Finding:
    """One insecure-code finding: ``rule`` is ``detector:test id`` (``bandit:B301``), ``name`` the
    detector's name for the test (``blacklist``, ``yaml_load``), ``line``/``col`` where it is in the
    source (1-based), ``message`` what it means (never a value the code holds: a hard-coded
    credential is described, not quoted), ``risk`` from the detector's severity and confidence."""

    rule: str
    name: str
    risk: Risk
    line: int
    col: int
    message: str
    severity: str
    confidence: str

    @property
    def detector(self) -> str:
        return self.rule.partition(":")[0]


def opaque_findings(reason: str) -> CodeFindings:
    """Findings that say only that the code cannot be analysed, and why."""
    return CodeFindings((), (), Risk.UNKNOWN, (reason,), True, reason)
