"""Decisions, risk levels and the Verdict returned for every action (DESIGN §2)."""
from __future__ import annotations

import enum
from dataclasses import field
from typing import Any

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


@frozen
class Verdict:
    """The answer for one action."""

    decision: Decision
    risk: Risk
    reasons: tuple[Reason, ...]
    segments: tuple[SegmentVerdict, ...] = ()
    warnings: tuple[str, ...] = ()
    argv: tuple[str, ...] | None = None  # set when the command can run without a shell
    action: str = ""  # the action's text, secrets redacted
    kind: str = "command"
    matched: tuple[str, ...] = field(default=())  # ids of every rule that matched

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
