"""A Policy that writes an audit record of every decision (the Python API's opt-in).

``policylang.load(..., audit=True)`` returns one when ``[security.audit] enabled`` is true: the
embedder opts in *and* the settings allow it.  Appends are queued for the log's writer thread, so
``decide`` pays for a list append, not for the disk.  ``decide_recorded`` also hands back the
decision id of the record, and ``confirmation`` records what became of that decision, for an
adapter that confirms or rejects actions (the security analyzer).

When a record cannot be written the verdict is never loosened.  With ``on_failure = "warn"`` (the
default) the failure is reported as a ``RuntimeWarning`` and the verdict stands; with ``"deny"``
every decision becomes a deny from the moment a write has failed until one succeeds again (with a
background writer the failing decision itself has already been returned; pass a log with
``background=False`` to hold each decision until its record is on disk).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..engine.policy import Explanation, Policy
from ..frozen import replace
from ..verdict import DENY, UNKNOWN, Reason, Verdict
from .record import AuditError
from .writer import AuditLog

if TYPE_CHECKING:
    from ..actions import Action, Context
    from ..settings import AuditSettings


class AuditedPolicy(Policy):
    """The same compiled policy; ``decide`` and ``explain`` also append to ``audit_log``."""

    audit_log: AuditLog
    on_failure: str

    def __init__(self, policy: Policy, log: AuditLog, *, on_failure: str = "warn"):  # noqa: D107
        # a view of the compiled policy: its rules, index and caches are shared, not rebuilt
        self.__dict__.update(policy.__dict__)
        self.audit_log = log
        self.on_failure = on_failure

    def decide(self, action: Action | str | Sequence[str], context: Context | None = None) -> Verdict:
        return self._record(super().decide(action, context), context, "python.decide")[0]

    def decide_recorded(self, action: Action | str | Sequence[str], context: Context | None = None, *,
                        entry: str = "python.decide") -> tuple[Verdict, str | None]:
        """``decide``, and the decision id of the record it wrote (None when the record could not be
        written), for an adapter that records later what became of the decision (``confirmation``,
        ``AuditLog.outcome``).  ``entry`` is the record's ``labels.entry``."""
        return self._record(super().decide(action, context), context, entry)

    def confirmation(self, decision_id: str, *, status: str, how: str, by: str, waited_ms: int = 0,
                     reason: str | None = None, action_id: int | None = None,
                     entry: str | None = None) -> BaseException | None:
        """Record what became of the decision ``decision_id`` (AuditLog.confirmation).  The failure
        that must turn a confirmation into a rejection (``on_failure = "deny"``: this record, or an
        earlier one, could not be written), else None (with ``warn`` the log reports it)."""
        log = self.audit_log
        try:
            log.confirmation(decision_id, status=status, how=how, by=by, waited_ms=waited_ms, reason=reason,
                             action_id=action_id, entry=entry)
        except AuditError as exc:
            return exc if self.on_failure == "deny" else None
        if log.error is not None and self.on_failure == "deny":
            return log.error
        return None

    def explain(self, action: Action | str | Sequence[str], context: Context | None = None) -> Explanation:
        ex = super().explain(action, context)
        verdict = self._record(ex.verdict, context, "python.explain")[0]
        return ex if verdict is ex.verdict else replace(ex, verdict=verdict)

    def with_settings(self, **changes: Any) -> "AuditedPolicy":
        return AuditedPolicy(super().with_settings(**changes), self.audit_log, on_failure=self.on_failure)

    def _record(self, verdict: Verdict, context: Context | None, entry: str) -> tuple[Verdict, str | None]:
        log = self.audit_log
        try:
            decision_id = log.decision(self, verdict, context, entry=entry)
        except AuditError as exc:
            return self._failed_write(verdict, exc), None
        if log.error is not None and self.on_failure == "deny":
            return failed_closed(verdict, log.error), decision_id
        return verdict, decision_id

    def _failed_write(self, verdict: Verdict, exc: BaseException) -> Verdict:
        if self.on_failure == "deny":
            return failed_closed(verdict, exc)
        return verdict


def failed_closed(verdict: Verdict, exc: BaseException) -> Verdict:
    """The verdict made a deny because its audit record cannot be written."""
    if verdict.decision is DENY:
        return verdict
    why = Reason("error:audit", f"the audit record cannot be written: {exc}", DENY, UNKNOWN)
    return replace(verdict, decision=DENY, reasons=(why, *verdict.reasons))


def _warn(exc: BaseException) -> None:
    import warnings

    warnings.warn(f"policylang audit: {exc}", RuntimeWarning, stacklevel=2)


def audited(policy: Policy, log: AuditLog | None = None, *, settings: AuditSettings | None = None) -> Policy:
    """``policy`` with an audit log, as ``[security.audit]`` (or ``settings``) describes it; the
    policy itself when the settings disable the log.  Raises AuditError when the log's key cannot
    be had."""
    audit = settings or policy.settings.audit
    if log is None:
        if not audit.enabled:
            return policy
        log = AuditLog.from_settings(audit, background=True, entry="python", on_error=_warn)
    return AuditedPolicy(policy, log, on_failure=audit.on_failure)
