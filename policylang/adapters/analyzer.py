"""The security analyzer adapter: policylang as an agent framework's security analyzer
(OpenHands-style; docs/analyzer.md), selected by ``[security] security_analyzer``.

An analyzer subscribes to an event stream.  For every action event it decides the action
(``Policy.decide``), sets the framework's risk (``security_risk``) and acts (``act``): a deny is
rejected with its rule and message whatever the settings; an ask, an UNKNOWN risk, and (in
confirmation mode) a risk above ``risk_threshold`` wait for a person; the rest is confirmed.  Every
event goes into a bounded trace with secrets redacted; ``handle_api_request`` serves the policy,
the settings and the trace (adapters/analyzer_api.py).  With an audit log, every decision is
recorded (entry ``analyzer``), and so is what became of it: a ``confirmation`` record linked to
the decision by its id says whether it was confirmed or rejected, how, by whom, and how long the
answer took (docs/audit.md).

The framework's risk from a verdict (``risk_of``):

  =================  =====================
  verdict            ActionSecurityRisk
  =================  =====================
  decision deny      HIGH (whatever its risk)
  risk unknown       UNKNOWN (never LOW)
  risk low           LOW
  risk medium        MEDIUM
  risk high          HIGH
  risk critical      HIGH
  =================  =====================
"""
from __future__ import annotations

import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..actions import ActionError, Context, Message
from ..analysis.secretscan.findings import secret_pairs
from ..diagnostics import PolicyError
from ..engine.redact import redact_text
from ..verdict import ALLOW, ASK, DENY, SANDBOX, UNKNOWN, Reason, Risk, Verdict
from .events import (
    ActionConfirmationStatus,
    ActionEvent,
    ActionSecurityRisk,
    ConfirmationRequest,
    Event,
    EventSource,
    EventStream,
    MessageEvent,
    ObservationEvent,
    UserConfirmation,
    to_action,
)

if TYPE_CHECKING:
    from ..audit.writer import AuditLog
    from ..config.precompiled import Layers
    from ..engine.policy import Policy
    from ..settings import Settings
    from .analyzer_api import ApiRequest, ApiResponse

CONFIRMED = ActionConfirmationStatus.CONFIRMED
REJECTED = ActionConfirmationStatus.REJECTED
AWAITING = ActionConfirmationStatus.AWAITING_CONFIRMATION

_RISKS = {Risk.UNKNOWN: ActionSecurityRisk.UNKNOWN, Risk.LOW: ActionSecurityRisk.LOW,
          Risk.MEDIUM: ActionSecurityRisk.MEDIUM, Risk.HIGH: ActionSecurityRisk.HIGH,
          Risk.CRITICAL: ActionSecurityRisk.HIGH}

MAX_TRACE_TEXT = 2000  # characters of an action, observation or message kept in a trace entry
TIMEOUT_RULE = "analyzer:confirmation-timeout"
REJECTED_RULE = "analyzer:rejected-by-user"
CONFIRMER_RULE = "analyzer:confirmer-error"
CLOSED_RULE = "analyzer:closed"
AUDIT_RULE = "error:audit"
ENTRY = "analyzer"  # the audit records' labels.entry

# (event) -> True to confirm, False (or None) to reject; runs on the thread that added the action
Confirmer = Callable[[ActionEvent], "bool | None"]


class AnalyzerError(ValueError):
    """An analyzer name that is not registered, or an analyzer used after ``close``."""


def risk_of(verdict: Verdict) -> ActionSecurityRisk:
    """The framework's risk of a verdict: a deny is HIGH; UNKNOWN stays UNKNOWN; CRITICAL is HIGH."""
    if verdict.decision is DENY:
        return ActionSecurityRisk.HIGH
    return _RISKS.get(verdict.risk, ActionSecurityRisk.UNKNOWN)


def threshold_of(risk: Risk) -> ActionSecurityRisk:
    """``risk_threshold`` (low, medium or high) as the framework's risk; anything else is LOW."""
    found = _RISKS.get(risk, ActionSecurityRisk.LOW)
    return ActionSecurityRisk.LOW if found is ActionSecurityRisk.UNKNOWN else found


def redacted(text: str, limit: int = MAX_TRACE_TEXT) -> str:
    """``text`` with every secret the detector finds replaced by its marker, then cut to ``limit``
    (only the head that can be kept is scanned, with room for a secret that starts in it)."""
    size = len(text)
    head = text[:limit + 4096]
    head = redact_text(head, secret_pairs(Message(head)))
    return head if size <= limit and len(head) <= limit else head[:limit] + f"... ({size} characters)"


def rejection(verdict: Verdict) -> str:
    """``rule: message`` of the reason that decided a deny (the first reason when none denies)."""
    reasons = verdict.reasons
    why = next((r for r in reasons if r.decision is DENY), reasons[0] if reasons else None)
    return f"{why.rule}: {why.message}" if why is not None else "deny: no reason given"


class SecurityAnalyzer:
    """What every analyzer does with a stream (the framework's interface).  A subclass decides
    (``verdict``) and may override ``act`` and ``handle_api_request``."""

    name: ClassVar[str] = ""

    def __init__(self, stream: EventStream) -> None:
        self.stream = stream
        self.closed = False
        self._token: int | None = stream.subscribe(self.on_event)

    def on_event(self, event: Event) -> None:
        """An action event is judged and acted on; every event is logged."""
        if isinstance(event, ActionEvent):
            try:
                self.judge(event)
                self.act(event)
            except Exception as exc:  # noqa: BLE001 -- fail closed: the action is rejected, and says why
                event.security_risk = ActionSecurityRisk.HIGH
                self.fail(event, f"error:internal: {type(exc).__name__}: {exc}")
        else:
            self.handle_other(event)
        self.log_event(event)

    def judge(self, event: ActionEvent) -> None:
        """Fill in the event's verdict and risk."""
        event.verdict = self.verdict(event.action)
        event.security_risk = risk_of(event.verdict)

    def security_risk(self, action: Any) -> ActionSecurityRisk:
        """The framework's risk of an action event (its verdict, once judged) or of an action."""
        if isinstance(action, ActionEvent):
            return risk_of(action.verdict if action.verdict is not None else self.verdict(action.action))
        return risk_of(self.verdict(action))

    def verdict(self, action: Any) -> Verdict:
        raise NotImplementedError

    def act(self, event: ActionEvent) -> None:
        raise NotImplementedError

    def fail(self, event: ActionEvent, reason: str) -> None:
        """Reject an action event because judging or acting on it failed."""
        event.confirmation_state = ActionConfirmationStatus.REJECTED
        event.rejection_reason = reason

    def handle_other(self, event: Event) -> None:
        """An event that is not an action (a confirmation answer, an observation, a message)."""

    def log_event(self, event: Event) -> None:
        raise NotImplementedError

    def handle_api_request(self, request: ApiRequest | Mapping[str, Any]) -> ApiResponse:
        raise NotImplementedError

    def close(self) -> None:
        """Stop listening to the stream (once; later calls do nothing)."""
        if self._token is not None:
            self.stream.unsubscribe(self._token)
            self._token = None
        self.closed = True


@dataclass(eq=False)
class _Pending:
    event: ActionEvent
    deadline: float
    answered: threading.Event
    started: float  # time.monotonic() when the person was asked
    answer: UserConfirmation | None = None
    logged: bool = False  # the action's own trace entry is written: a later answer adds another


class PolicylangAnalyzer(SecurityAnalyzer):
    """policylang's own analyzer.

    ``config``, ``preset``, ``mode`` and ``policy_files`` are those of ``policylang.load`` (or pass
    ``layers`` already loaded); ``audit=True`` (or an ``AuditLog``) records every decision as
    ``load(..., audit=True)`` does.  ``context`` is the one every action is decided in.

    A confirmation goes to ``confirmer`` when one is given; else a ``ConfirmationRequest`` is added
    to the stream and the answer is the ``UserConfirmation`` a person (source ``user``) adds for
    it.  With ``wait=True`` the analyzer waits up to ``confirm_timeout`` seconds for it (another
    thread adds it) and then rejects; with ``wait=False`` the action stays awaiting, and an answer
    that comes after ``confirm_timeout`` rejects it.
    """

    name: ClassVar[str] = "policylang"

    def __init__(self, stream: EventStream, *, config: str | os.PathLike[str] | None = None,
                 preset: str | Sequence[str] | None = None, mode: str | None = None,
                 policy_files: Sequence[str | os.PathLike[str]] = (), layers: Layers | None = None,
                 audit: bool | AuditLog = False, context: Context | None = None, confirmer: Confirmer | None = None,
                 confirm_timeout: float = 300.0, wait: bool = True, trace_limit: int = 1000,
                 check_examples: bool = True) -> None:
        from ..config.precompiled import link_layers, load_layers

        if trace_limit < 1:
            raise ValueError("trace_limit must be at least 1")
        if confirm_timeout < 0:
            raise ValueError("confirm_timeout must not be negative")
        self.layers = layers if layers is not None else load_layers(config, preset, mode, policy_files)
        self.check_examples = check_examples
        self._audit = audit
        self._own_log: AuditLog | None = None
        self.policy = self._finish(link_layers(self.layers)[0])
        self.base_rules = tuple(self.policy.rules)  # the loaded layers' rules, without the API's text
        self.user_policy = ""  # the user-layer text set through the API, compiled on top of the layers
        self.context = context or Context()
        self.confirmer = confirmer
        self.confirm_timeout = confirm_timeout
        self.wait = wait
        self._lock = threading.RLock()
        self.api_lock = threading.Lock()  # one API change at a time: a policy compiled under settings that stay
        self._pending: dict[int, _Pending] = {}
        self._trace: deque[dict[str, Any]] = deque(maxlen=trace_limit)
        self.trace_dropped = 0
        self._seq = 0
        super().__init__(stream)

    # ---- the policy ---------------------------------------------------------------------------

    def _finish(self, policy: Policy) -> Policy:
        """Examples checked, and the audit log attached, as ``policylang.load`` does."""
        if self.check_examples:
            failed = policy.check_examples(("user", "project", "admin"))
            if failed:
                raise PolicyError(failed)
        if self._audit is False:
            return policy
        from ..audit.audited import AuditedPolicy, audited

        current = getattr(self, "policy", None)
        if isinstance(current, AuditedPolicy):  # a recompiled policy keeps the log it had
            return AuditedPolicy(policy, current.audit_log, on_failure=current.on_failure)
        wrapped = audited(policy, None if self._audit is True else self._audit)
        if self._audit is True and isinstance(wrapped, AuditedPolicy):
            self._own_log = wrapped.audit_log
        return wrapped

    def install(self, policy: Policy, user_policy: str | None = None) -> None:
        """Use ``policy`` from now on (the API's changes; already checked for loosening)."""
        policy = self._finish(policy)
        with self._lock:
            self.policy = policy
            if user_policy is not None:
                self.user_policy = user_policy

    def apply_settings(self, changes: Mapping[str, Any]) -> None:
        """Change settings of the policy in use (the API's changes; already checked for loosening)."""
        with self._lock:
            self.policy = self.policy.with_settings(**changes)

    @property
    def settings(self) -> Settings:
        return self.policy.settings

    # ---- judging and acting -------------------------------------------------------------------

    def judge(self, event: ActionEvent) -> None:
        """Fill in the event's verdict, risk, and the decision id of its audit record."""
        if type(self).verdict is PolicylangAnalyzer.verdict and "verdict" not in vars(self):
            event.verdict, event.decision_id = self.decide(event.action)
        else:  # a subclass (or the caller) decides its own way: its verdict, and no record to link
            event.verdict, event.decision_id = self.verdict(event.action), None
        event.security_risk = risk_of(event.verdict)

    def verdict(self, action: Any) -> Verdict:
        """The verdict on an action or an action event's payload; malformed input is a deny."""
        return self.decide(action)[0]

    def decide(self, action: Any) -> tuple[Verdict, str | None]:
        """The verdict, and the decision id of its audit record (None without an audit log, when
        the record could not be written, and for input refused before the policy saw it)."""
        if self.closed:
            return _refused(CLOSED_RULE, "the analyzer is closed"), None
        try:
            act = to_action(action)
        except ActionError as exc:
            return _refused("error:input", f"malformed action: {exc}"), None
        except Exception as exc:  # noqa: BLE001 -- fail closed on anything else too
            return _refused("error:input", f"malformed action: {type(exc).__name__}: {exc}"), None
        policy = self.policy
        recorded = getattr(policy, "decide_recorded", None)
        if recorded is not None:
            verdict, decision_id = recorded(act, self.context, entry=ENTRY)
            return verdict, decision_id
        return policy.decide(act, self.context), None

    def act(self, event: ActionEvent) -> None:
        """Confirm, reject, or ask a person, as the verdict and the settings say."""
        verdict = event.verdict
        if verdict is None:
            self.judge(event)
            verdict = event.verdict
        assert verdict is not None
        if verdict.decision is DENY:
            self._resolve(event, REJECTED, rejection(verdict), how="denied")
            return
        if not self._needs_person(verdict, event.security_risk):
            self._resolve(event, CONFIRMED, how="automatic")
            return
        event.confirmation_state = AWAITING
        if self.confirmer is not None:
            self._ask_confirmer(event)
            return
        started = time.monotonic()
        pending = _Pending(event, started + self.confirm_timeout, threading.Event(), started)
        with self._lock:
            self._pending[event.id] = pending
        request = ConfirmationRequest(action_id=event.id, security_risk=event.security_risk,
                                      action_text=redacted(verdict.action),
                                      reasons=tuple(f"{r.rule}: {r.message}" for r in verdict.reasons[:5]))
        try:
            self.stream.add_event(request)
        except Exception as exc:  # noqa: BLE001 -- a subscriber failed: nobody may have been asked
            with self._lock:
                self._pending.pop(event.id, None)
            self._resolve(event, REJECTED, f"error:internal: the confirmation request failed: "
                                           f"{type(exc).__name__}: {exc}", how="error", started=started)
            return
        if not self.wait:
            return
        pending.answered.wait(self.confirm_timeout)
        self._settle(pending)

    def _needs_person(self, verdict: Verdict, risk: ActionSecurityRisk) -> bool:
        if verdict.decision is ASK or risk is ActionSecurityRisk.UNKNOWN:
            return True  # ask still asks, and an unknown risk is never confirmed unseen
        if verdict.decision is not ALLOW and verdict.decision is not SANDBOX:
            return True  # a decision this adapter does not know: a person decides
        settings = self.policy.settings
        return bool(settings.confirmation_mode) and risk >= threshold_of(settings.risk_threshold)

    def _ask_confirmer(self, event: ActionEvent) -> None:
        assert self.confirmer is not None
        started = time.monotonic()
        try:
            answer = self.confirmer(event)
        except Exception as exc:  # noqa: BLE001 -- a failing confirmer rejects
            self._resolve(event, REJECTED, f"{CONFIRMER_RULE}: the confirmer failed: {type(exc).__name__}: {exc}",
                          how="error", by="confirmer", started=started)
            return
        if answer is True:
            self._resolve(event, CONFIRMED, how="person", by="confirmer", started=started)
        else:
            self._resolve(event, REJECTED, f"{REJECTED_RULE}: the person did not confirm it", how="person",
                          by="confirmer", started=started)

    def _settle(self, pending: _Pending) -> None:
        """The answer (or the lack of one) to a confirmation request decides the event."""
        with self._lock:
            if self._pending.get(pending.event.id) is not pending:
                return  # settled already
            del self._pending[pending.event.id]
        answer, started = pending.answer, pending.started
        if answer is None:
            why = f"{TIMEOUT_RULE}: no confirmation within {self.confirm_timeout:g} seconds"
            self._resolve(pending.event, REJECTED, why, how="timeout", started=started)
        elif answer.confirmed:
            self._resolve(pending.event, CONFIRMED, how="person", by=answer.source, started=started)
        else:
            self._resolve(pending.event, REJECTED,
                          f"{REJECTED_RULE}: {redacted(answer.reason, 500) or 'the person rejected it'}",
                          how="person", by=answer.source, started=started)

    def fail(self, event: ActionEvent, reason: str) -> None:
        self._resolve(event, REJECTED, reason, how="error")

    def _resolve(self, event: ActionEvent, state: ActionConfirmationStatus, reason: str | None = None, *,
                 how: str, by: str = EventSource.ANALYZER, started: float | None = None) -> None:
        """Settle the event, and record how in the audit log (a confirmation that cannot be recorded
        under ``on_failure = "deny"`` becomes a rejection)."""
        waited_ms = 0 if started is None else max(0, round((time.monotonic() - started) * 1000))
        failure = self._record_confirmation(event, state, reason, how, by, waited_ms)
        if failure is not None and state is CONFIRMED:
            state, reason = REJECTED, f"{AUDIT_RULE}: the confirmation cannot be recorded: {failure}"
        event.confirmation_state = state
        event.rejection_reason = reason if state is REJECTED else None

    def _record_confirmation(self, event: ActionEvent, state: ActionConfirmationStatus, reason: str | None,
                             how: str, by: str, waited_ms: int) -> BaseException | None:
        """Write the confirmation record of an event whose decision was recorded; the failure that
        must make it a rejection, if any."""
        decision_id = event.decision_id
        record = getattr(self.policy, "confirmation", None)
        if decision_id is None or record is None:
            return None
        try:
            failure: BaseException | None = record(decision_id, status=state.value, how=how, by=by,
                                                   waited_ms=waited_ms, reason=reason, action_id=event.id,
                                                   entry=ENTRY)
        except Exception as exc:  # noqa: BLE001 -- an unexpected failure fails closed
            return exc
        return failure

    def handle_other(self, event: Event) -> None:
        self._expire()
        if not isinstance(event, UserConfirmation):
            return
        with self._lock:
            pending = self._pending.get(event.action_id)
        if pending is None or event.source != EventSource.USER:
            return  # nothing waits for it, or not a person's answer: the agent cannot confirm itself
        if time.monotonic() > pending.deadline:
            self._settle(pending)  # too late: rejected
            return
        pending.answer = event
        pending.answered.set()
        if not self.wait:
            self._settle(pending)
            if pending.logged:
                self._log(pending.event, "decided")

    def _expire(self) -> None:
        """Reject the actions whose confirmation is overdue (when nobody waits for them)."""
        if self.wait:
            return
        now = time.monotonic()
        with self._lock:
            overdue = [p for p in self._pending.values() if now > p.deadline]
        for p in overdue:
            self._settle(p)
            if p.logged:
                self._log(p.event, "decided")

    # ---- the trace ----------------------------------------------------------------------------

    def log_event(self, event: Event) -> None:
        """Add the event to the trace: an action with its risk, verdict and state; others in short."""
        self._log(event, "event")

    def _log(self, event: Event, what: str) -> None:
        entry: dict[str, Any] = {"event": event.id, "time": event.timestamp, "source": event.source, "what": what}
        if isinstance(event, ActionEvent):
            v = event.verdict
            entry.update(type="action", security_risk=event.security_risk.name.lower(),
                         state=event.confirmation_state.value if event.confirmation_state else None,
                         rejection_reason=event.rejection_reason)
            if v is not None:  # the verdict's texts: secrets already redacted
                entry.update(kind=v.kind, action=redacted(v.action), decision=v.decision.label, risk=v.risk.label,
                             reasons=[{"rule": r.rule, "message": r.message} for r in v.reasons])
        elif isinstance(event, ObservationEvent):
            entry.update(type="observation", observation=event.observation, cause=event.cause,
                         content=redacted(event.content))
        elif isinstance(event, MessageEvent):
            entry.update(type="message", text=redacted(event.text))
        elif isinstance(event, ConfirmationRequest):
            entry.update(type="confirmation_request", action_id=event.action_id,
                         security_risk=event.security_risk.name.lower())
        elif isinstance(event, UserConfirmation):
            entry.update(type="user_confirmation", action_id=event.action_id, confirmed=event.confirmed,
                         reason=redacted(event.reason, 500))
        else:
            entry.update(type=type(event).__name__)
        with self._lock:
            if isinstance(event, ActionEvent) and what == "event" and event.id in self._pending:
                self._pending[event.id].logged = True
            self._seq += 1
            entry["seq"] = self._seq
            if len(self._trace) == self._trace.maxlen:
                self.trace_dropped += 1
            self._trace.append(entry)

    def export_trace(self) -> dict[str, Any]:
        """The trace as JSON data: the entries kept (oldest first), the cap and how many were dropped."""
        with self._lock:
            return {"analyzer": self.name, "limit": self._trace.maxlen, "dropped": self.trace_dropped,
                    "events": [dict(e) for e in self._trace]}

    def export_trace_json(self) -> str:
        return json.dumps(self.export_trace(), sort_keys=True)

    # ---- the API and the end ------------------------------------------------------------------

    def handle_api_request(self, request: ApiRequest | Mapping[str, Any]) -> ApiResponse:
        from .analyzer_api import handle

        return handle(self, request)

    def close(self) -> None:
        """Unsubscribe, reject every action still waiting, and flush (or close, when it opened it)
        the audit log."""
        super().close()
        with self._lock:
            waiting = list(self._pending.values())
        for p in waiting:
            p.answered.set()  # a waiting thread wakes up to no answer: rejected
            with self._lock:
                still = self._pending.pop(p.event.id, None)
            if still is not None:
                self._resolve(p.event, REJECTED, f"{CLOSED_RULE}: the analyzer was closed before an answer",
                              how="closed", started=p.started)
        log: Any = getattr(self.policy, "audit_log", None)
        if log is None:
            return
        own = self._own_log
        if own is not None and own is log:
            own.close()
        else:
            log.flush(timeout=10)  # a log the caller passed in stays open for the caller


def _refused(rule: str, message: str) -> Verdict:
    return Verdict(DENY, UNKNOWN, (Reason(rule, message, DENY, UNKNOWN),), action="", kind="invalid")


# ---- the registry ------------------------------------------------------------------------------

ANALYZERS: dict[str, type[SecurityAnalyzer]] = {PolicylangAnalyzer.name: PolicylangAnalyzer}


def register_analyzer(name: str, cls: type[SecurityAnalyzer]) -> None:
    """Make ``cls`` the analyzer ``[security] security_analyzer = name`` selects.  ``create_analyzer``
    builds it as ``cls(stream, layers=LAYERS, **options)``: the loaded config and the caller's options."""
    if not name or not isinstance(name, str):
        raise AnalyzerError("an analyzer needs a name")
    ANALYZERS[name] = cls


def get_analyzer(name: str) -> type[SecurityAnalyzer]:
    """The analyzer class registered under ``name``; AnalyzerError naming the known ones."""
    cls = ANALYZERS.get(name)
    if cls is None:
        known = ", ".join(sorted(ANALYZERS))
        raise AnalyzerError(f"unknown security analyzer {name!r} (known: {known})")
    return cls


def create_analyzer(stream: EventStream, config: str | os.PathLike[str] | None = None, *,
                    preset: str | Sequence[str] | None = None, mode: str | None = None,
                    policy_files: Sequence[str | os.PathLike[str]] = (), **options: Any) -> SecurityAnalyzer:
    """The analyzer the config's ``security_analyzer`` names, on ``stream``; its other options
    (``audit``, ``confirmer``, ``confirm_timeout``, ``wait``, ...) are passed on."""
    from ..config.precompiled import load_layers

    layers = load_layers(config, preset, mode, policy_files)
    cls = get_analyzer(layers.settings.security_analyzer)
    return cls(stream, layers=layers, **options)  # type: ignore[call-arg]
