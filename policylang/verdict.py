"""Decisions, risk levels and the Verdict returned for every action (DESIGN §2)."""
from __future__ import annotations

import enum
from typing import Any, Callable, ClassVar

from .frozen import record, value_methods


class Decision(enum.IntEnum):
    """Ordered by restrictiveness: the most restrictive wins when combining."""

    label: str  # "allow", "sandbox", "ask", "deny" (set below: a plain attribute, not a property)

    ALLOW = 0
    SANDBOX = 1
    ASK = 2
    DENY = 3

    @classmethod
    def parse(cls, text: str) -> "Decision":
        return cls[text.strip().upper()]


class Risk(enum.IntEnum):
    """``unknown < low < medium < high < critical``; UNKNOWN is never treated as LOW."""

    label: str  # "unknown", "low", ... (set below)

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Risk":
        return cls[text.strip().upper()]


def _label_eq(self: Any, other: object) -> bool:
    """A member equals itself and its label (``Decision.DENY == "deny"``); a naive executor that
    compares ``verdict.decision == "deny"`` must not read a deny as "not deny" and run the action.
    It equals no other member and no plain int: the hash is the label's, and an object cannot hash
    like both ``3`` and ``"deny"``."""
    if type(other) is str:
        return bool(self.label == other)
    return self is other


def _label_ne(self: Any, other: object) -> bool:
    return not _label_eq(self, other)


def _label_hash(self: Any) -> int:
    return hash(self.label)


def _label_str(self: Any) -> str:
    return str(self.label)


def _label_format(self: Any, spec: str) -> str:
    return format(self.label, spec)


for _cls in (Decision, Risk):
    # set on the finished classes: IntEnum's int.__eq__, __ne__ and __hash__ are replaced (the
    # ordering, int() and indexing stay int's), and str() and format() give the label
    _cls.__eq__ = _label_eq  # type: ignore[method-assign]
    _cls.__ne__ = _label_ne  # type: ignore[method-assign]
    _cls.__hash__ = _label_hash  # type: ignore[method-assign]
    _cls.__str__ = _label_str  # type: ignore[method-assign]
    _cls.__format__ = _label_format  # type: ignore[method-assign]
del _cls

# Labels as plain member attributes, and the members as module constants: on Python 3.11 reading
# ``Decision.ALLOW`` or a property costs about 0.2 µs, a module global about 0.02 µs, and the
# decide path reads them dozens of times per decision.
for _member in (*Decision, *Risk):
    _member.label = _member.name.lower()
del _member

ALLOW, SANDBOX, ASK, DENY = Decision.ALLOW, Decision.SANDBOX, Decision.ASK, Decision.DENY
UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL = Risk.UNKNOWN, Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL


def combine_risk(risks: "list[Risk] | tuple[Risk, ...]") -> Risk:
    """Overall risk of several parts: the highest known risk; UNKNOWN when nothing above LOW is
    known but some part is unknown (so an unknown part is never hidden behind a LOW one)."""
    top = UNKNOWN
    unknown = False
    for r in risks:
        if r is UNKNOWN:
            unknown = True
        elif r > top:
            top = r
    if unknown and top <= LOW:
        return UNKNOWN
    return top


@record
class Reason:
    """Why a decision was taken: a rule (with its source location) or a built-in default."""

    rule: str  # rule id, or "default:<what>" / "error:<what>" for built-in reasons
    message: str
    decision: Decision
    risk: Risk = UNKNOWN
    location: str | None = None  # file:line:col of the rule
    alternative: str | None = None
    effect: str | None = None  # the effect it was about, e.g. "delete(/etc/**)"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "message": self.message,
            "decision": self.decision.label,
            "risk": self.risk.label,
            "location": self.location,
        }
        if self.alternative:
            out["alternative"] = self.alternative
        if self.effect:
            out["effect"] = self.effect
        return out


@record
class SegmentVerdict:
    """The verdict on one simple command of a shell string."""

    text: str
    program: str | None
    decision: Decision
    risk: Risk
    effects: tuple[str, ...]
    reasons: tuple[Reason, ...]
    opaque: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "program": self.program,
            "decision": self.decision.label,
            "risk": self.risk.label,
            "effects": list(self.effects),
            "reasons": [r.to_json() for r in self.reasons],
            "opaque": self.opaque,
        }


@value_methods
class Verdict:
    """The answer for one action.  Immutable (its fields are read-only properties).

    ``segments`` (the verdict on each simple command) is built on first read: most callers look
    only at the decision and the reasons, and building a verdict per segment costs more than the
    rest of a plain decision.  Equality, hashing, ``repr``, ``to_json`` and pickling see it as an
    ordinary field.
    """

    __slots__ = ("_decision", "_risk", "_reasons", "_segments", "_warnings", "_argv", "_action", "_kind",
                 "_matched")
    # the field names, as frozen.record names them: frozen.replace and value_methods use them
    __record_fields__: ClassVar[tuple[str, ...]] = (
        "decision", "risk", "reasons", "segments", "warnings", "argv", "action", "kind", "matched")

    def __init__(self, decision: Decision, risk: Risk, reasons: tuple[Reason, ...],
                 segments: tuple[SegmentVerdict, ...] | Callable[[], tuple[SegmentVerdict, ...]] = (),
                 warnings: tuple[str, ...] = (), argv: tuple[str, ...] | None = None, action: str = "",
                 kind: str = "command", matched: tuple[str, ...] = ()):
        self._decision = decision
        self._risk = risk
        self._reasons = reasons
        self._segments: tuple[SegmentVerdict, ...] | Callable[[], tuple[SegmentVerdict, ...]] = segments
        self._warnings = warnings
        self._argv = argv
        self._action = action
        self._kind = kind
        self._matched = matched

    @property
    def decision(self) -> Decision:
        return self._decision

    @property
    def risk(self) -> Risk:
        return self._risk

    @property
    def reasons(self) -> tuple[Reason, ...]:
        return self._reasons

    @property
    def warnings(self) -> tuple[str, ...]:
        return self._warnings

    @property
    def argv(self) -> tuple[str, ...] | None:
        """Set when the command can run without a shell."""
        return self._argv

    @property
    def action(self) -> str:
        """The action's text, secrets redacted."""
        return self._action

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def matched(self) -> tuple[str, ...]:
        """Ids of every rule that matched."""
        return self._matched

    @property
    def segments(self) -> tuple[SegmentVerdict, ...]:
        """The verdict on each simple command of the action, in order."""
        segments = self._segments
        if callable(segments):
            # Two threads may both build it: the same value, so the race is harmless.
            segments = segments()
            self._segments = segments
        return segments

    @property
    def allowed(self) -> bool:
        return self.decision is ALLOW

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision.label,
            "risk": self.risk.label,
            "kind": self.kind,
            "action": self.action,
            "reasons": [r.to_json() for r in self.reasons],
            "segments": [s.to_json() for s in self.segments],
            "warnings": list(self.warnings),
            "argv": list(self.argv) if self.argv is not None else None,
            "matched": list(self.matched),
        }
