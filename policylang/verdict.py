"""Decisions, risk levels and the Verdict returned for every action (DESIGN §2)."""
from __future__ import annotations

import enum
from dataclasses import FrozenInstanceError
from typing import Any, Callable, ClassVar

from .frozen import frozen


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


@frozen
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


@frozen
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


class Verdict:
    """The answer for one action.  Immutable.

    ``segments`` (the verdict on each simple command) is built on first read: most callers look
    only at the decision and the reasons, and building a verdict per segment costs more than the
    rest of a plain decision.  Equality, hashing, ``repr``, ``to_json`` and pickling see it as an
    ordinary field.
    """

    __slots__ = ("decision", "risk", "reasons", "_segments", "warnings", "argv", "action", "kind", "matched",
                 "_pending")
    FIELDS: ClassVar[tuple[str, ...]] = ("decision", "risk", "reasons", "segments", "warnings", "argv", "action",
                                         "kind", "matched")

    decision: Decision
    risk: Risk
    reasons: tuple[Reason, ...]
    warnings: tuple[str, ...]
    argv: tuple[str, ...] | None  # set when the command can run without a shell
    action: str  # the action's text, secrets redacted
    kind: str
    matched: tuple[str, ...]  # ids of every rule that matched
    _segments: tuple[SegmentVerdict, ...] | None
    _pending: Callable[[], tuple[SegmentVerdict, ...]] | None

    def __init__(self, decision: Decision, risk: Risk, reasons: tuple[Reason, ...],
                 segments: tuple[SegmentVerdict, ...] | Callable[[], tuple[SegmentVerdict, ...]] = (),
                 warnings: tuple[str, ...] = (), argv: tuple[str, ...] | None = None, action: str = "",
                 kind: str = "command", matched: tuple[str, ...] = ()):
        _set = object.__setattr__
        _set(self, "decision", decision)
        _set(self, "risk", risk)
        _set(self, "reasons", reasons)
        if callable(segments):
            _set(self, "_segments", None)
            _set(self, "_pending", segments)
        else:
            _set(self, "_segments", segments)
            _set(self, "_pending", None)
        _set(self, "warnings", warnings)
        _set(self, "argv", argv)
        _set(self, "action", action)
        _set(self, "kind", kind)
        _set(self, "matched", matched)

    @property
    def segments(self) -> tuple[SegmentVerdict, ...]:
        """The verdict on each simple command of the action, in order."""
        segments = self._segments
        if segments is None:
            # Two threads may both build it: the same value, so the race is harmless.
            assert self._pending is not None
            segments = self._pending()
            object.__setattr__(self, "_segments", segments)
            object.__setattr__(self, "_pending", None)
        return segments

    @property
    def allowed(self) -> bool:
        return self.decision is ALLOW

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Verdict):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Verdict(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in self.FIELDS) + ")"

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Verdict, self._values())

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
