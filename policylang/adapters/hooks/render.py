"""A verdict -> what the agent reads: its decision word, the JSON of its event, the exit code.

The word comes from the agent's table (spec.py): an agent without a sandbox asks instead, an event
that cannot ask denies, and the reason then says what policylang decided and why the agent is told
otherwise.  The reason names the deciding rule ids, so a user can find (and, if they own it,
change) the rule.  A payload that cannot be used is blocked with the agent's blocking exit code.
"""
from __future__ import annotations

from typing import Any

from ...verdict import Decision, Verdict
from .spec import Agent, Event, fill

__all__ = ["Rendered", "render_error", "render_verdict"]

_MAX_REASONS = 3  # reasons quoted in the message; the audit log and `explain` have them all
_MAX_REASON_CHARS = 2000


class Rendered:
    """The hook's answer: stdout (JSON text or empty), stderr, the exit code."""

    __slots__ = ("exit", "stderr", "stdout")

    def __init__(self, stdout: str, stderr: str, exit: int) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.exit = exit


def reason_text(agent: Agent, event: Event, verdict: Verdict, word: str) -> str:
    """``policylang: deny (risk high): MESSAGE [rule ID] ...``, and a note when the agent's word is
    not policylang's decision (a sandbox the agent cannot run, an approval the event cannot ask)."""
    decision = verdict.decision.label
    parts = []
    for r in verdict.reasons[:_MAX_REASONS]:
        on = f" on {r.effect}" if r.effect else ""
        alt = f" (instead: {r.alternative})" if r.alternative else ""
        parts.append(f"{r.message}{on}{alt} [rule {r.rule}]")
    more = len(verdict.reasons) - _MAX_REASONS
    if more > 0:
        parts.append(f"and {more} more (policylang explain shows them)")
    text = f"policylang: {decision} (risk {verdict.risk.label}): " + "; ".join(parts or ["no reason given"])
    if word != event.decisions["allow"] and word != verdict.decision.label:
        if verdict.decision == Decision.SANDBOX:
            text += f". {agent.title} cannot run it in a sandbox, so it needs approval"
        if word == event.decisions["deny"] and verdict.decision != Decision.DENY:
            text += f". A {agent.title} hook cannot ask for approval here, so it is refused; run it yourself " \
                    "if you approve it, or change the policy"
    if len(text) > _MAX_REASON_CHARS:
        text = text[:_MAX_REASON_CHARS - 1] + "…"
    return text


def render_verdict(agent: Agent, event: Event, verdict: Verdict) -> Rendered:
    """Exit 0 and the event's JSON with the decision word and the reason."""
    import json

    decision = verdict.decision.label if verdict.decision in _KNOWN else "deny"  # fail closed
    word = event.decisions[decision]
    reason = reason_text(agent, event, verdict, word)
    out = fill(event.output, {"decision": word, "reason": reason})
    # The reason goes to stderr too where the event's JSON has no place for it (Cursor's file reads).
    err = "" if _has_reason(event.output) else reason + "\n"
    return Rendered(json.dumps(out, ensure_ascii=True) + "\n", err, 0)


_KNOWN = frozenset((Decision.ALLOW, Decision.ASK, Decision.SANDBOX, Decision.DENY))


def render_error(agent: Agent, event: Event | None, reason: str) -> Rendered:
    """A payload or an internal error: the agent's blocking exit code, the reason on stderr, and
    the deny JSON on stdout (for the agents that read it on that code; the others ignore it)."""
    import json

    text = f"policylang: blocked: {reason}"
    out = ""
    if event is not None:
        out = json.dumps(fill(event.output, {"decision": event.decisions["deny"], "reason": text}),
                         ensure_ascii=True) + "\n"
    return Rendered(out, text + "\n", agent.error_exit)


def _has_reason(template: Any) -> bool:
    if isinstance(template, dict):
        return any(_has_reason(v) for v in template.values())
    if isinstance(template, list):
        return any(_has_reason(v) for v in template)
    return isinstance(template, str) and template == "{reason}"
