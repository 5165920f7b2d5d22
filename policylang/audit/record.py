"""Audit records: what one decision writes, as canonical JSON (docs/audit.md, "Records").

A record's fields follow OPA's decision-log event where one fits (``decision_id``, ``timestamp``,
``input``, ``result``, ``revision``, ``labels``), so that log pipelines built for OPA read them.  What
comes from the action is only what ``Verdict.action`` already holds (the action's text, truncated,
and redacted once the detectors land); the effects are summarised by kind, never written out.

Canonical JSON is ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)``,
written here without the ``json`` package: a plain ``policylang decide`` does not import it.
"""
from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Mapping

from .._version import __version__

if TYPE_CHECKING:
    from ..actions import Context
    from ..verdict import Verdict

try:
    from _json import encode_basestring_ascii as _quote  # what json.dumps itself calls
except ImportError:  # pragma: no cover - another implementation
    from json.encoder import encode_basestring_ascii as _quote

try:
    from _sha256 import sha256 as sha256  # type: ignore[import-not-found,unused-ignore]  # CPython 3.11
except ImportError:  # pragma: no cover - another version or implementation
    try:
        from _sha2 import sha256 as sha256  # type: ignore[import-not-found,no-redef,unused-ignore]  # CPython 3.12+
    except ImportError:
        from hashlib import sha256 as sha256  # type: ignore[assignment,unused-ignore]

# What a record says about itself: "decision" (one verdict), "outcome" (what an executor reported
# back about a decision), "confirmation" (what became of a decision that an adapter confirmed or
# rejected: a person's answer, a timeout, ...), "open" (the first record of every file), "recovery"
# (written after a partial line left by a crash).
EVENTS = ("decision", "outcome", "confirmation", "open", "recovery")

# How a confirmation came about (a confirmation record's ``confirmation.how``): confirmed without a
# person (below the threshold), by a person's (or a confirmer's) answer, or rejected because nobody
# answered in time, the verdict was a deny, the adapter was closed first, or something failed.
CONFIRMATION_HOW = ("automatic", "person", "timeout", "denied", "closed", "error")
CONFIRMATION_STATUS = ("confirmed", "rejected")


class AuditError(Exception):
    """The audit log cannot be written, or a setting of it is unusable."""


def canonical(value: Any) -> str:
    """Canonical JSON of ``value`` (dicts with string keys, lists and tuples, strings, ints, bools,
    None, finite floats)."""
    if _C_ENCODER is not None and isinstance(value, dict):
        return "".join(_C_ENCODER(value, 0))
    out: list[str] = []
    _encode(value, out)
    return "".join(out)


def _refuse(value: Any) -> Any:
    raise TypeError(f"not a JSON value: {type(value).__name__}")


try:  # the C encoder json.dumps itself uses, set up as json.dumps(sort_keys=True, separators=(",", ":")) would
    from _json import make_encoder as _make_encoder

    _C_ENCODER: Any = _make_encoder(None, _refuse, _quote, None, ":", ",", True, False, False)
except ImportError:  # pragma: no cover - another implementation
    _C_ENCODER = None


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("canonical JSON has no NaN or infinity")
        out.append(float.__repr__(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key in sorted(value):
            if not isinstance(key, str):
                raise TypeError(f"canonical JSON keys are strings, not {type(key).__name__}")
            if not first:
                out.append(",")
            first = False
            out.append(_quote(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"not a JSON value: {type(value).__name__}")


def timestamp(ns: int | None = None) -> str:
    """RFC 3339 in UTC with microseconds: ``2026-12-05T05:19:53.123456Z``."""
    ns = time.time_ns() if ns is None else ns
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 1000:06d}Z"


def parse_timestamp(text: str) -> float:
    """Seconds since the epoch of a record's timestamp.  Raises ValueError.

    The form ``timestamp`` writes is read without the ``datetime`` module (a millisecond or two of
    a cold start); any other RFC 3339 form goes through it."""
    if len(text) == 27 and text[4] == "-" and text[7] == "-" and text[10] == "T" and text[13] == ":" \
            and text[16] == ":" and text[19] == "." and text[26] == "Z" and text[:4].isdigit():
        try:
            y, mo, d = int(text[:4]), int(text[5:7]), int(text[8:10])
            h, mi, sec, us = int(text[11:13]), int(text[14:16]), int(text[17:19]), int(text[20:26])
        except ValueError:
            pass
        else:
            if 1 <= mo <= 12 and 1 <= d <= 31 and h < 24 and mi < 60 and sec < 61:
                return (_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec) + us / 1_000_000
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def new_decision_id() -> str:
    """A random (version 4) UUID, as OPA's decision ids are."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def policy_revision(policy: Any) -> str:
    """``sha256:`` and the hash of a compiled policy's sources (name, layer, text) and its settings.

    Two processes that compiled the same texts under the same settings get the same revision,
    whether the policy came from the compiled-policy cache or from a full compile."""
    h = sha256(b"policylang-policy-revision\0")
    texts = getattr(policy, "texts", {}) or {}
    for name in sorted(texts):
        src = texts[name]
        h.update(canonical([name, getattr(src, "layer", ""), getattr(src, "text", "")]).encode("utf-8"))
        h.update(b"\0")
    settings = getattr(policy, "settings", None)
    compared = getattr(settings, "_compared", None)
    h.update(repr(compared() if callable(compared) else settings).encode("utf-8"))
    return "sha256:" + str(h.hexdigest())


def rule_locations(policy: Any) -> dict[str, str]:
    """Rule id -> its source location (``file:line:col``), for every rule of a compiled policy."""
    return {r.id: r.location for r in getattr(policy, "rules", ()) if getattr(r, "location", None)}


def decision_body(verdict: Verdict, context: Context | None, *, revision: str, entry: str,
                  locations: Mapping[str, str], ts: str, decision_id: str) -> dict[str, Any]:
    """The fields of a decision record, before the chain's (``seq``, ``prev``, ``alg``, ``hash``)."""
    effects: dict[str, int] = {}
    programs: list[str] = []
    for seg in verdict.segments:
        if seg.program and seg.program not in programs:
            programs.append(seg.program)
        for described in seg.effects:
            kind = described.partition("(")[0]
            effects[kind] = effects.get(kind, 0) + 1
    reasons = [{"rule": r.rule, "message": r.message, "decision": r.decision.label, "risk": r.risk.label,
                "location": r.location} for r in verdict.reasons]
    result: dict[str, Any] = {
        "decision": verdict.decision.label,
        "risk": verdict.risk.label,
        "reasons": reasons,
        "rules": [{"id": rid, "location": locations.get(rid)} for rid in verdict.matched],
        "effects": effects,
        "programs": programs,
        "warnings": list(verdict.warnings),
    }
    if context is None:
        from ..actions import Context

        context = Context()
    inp: dict[str, Any] = {"kind": verdict.kind, "action": verdict.action, "principal": context.principal,
                           "role": context.role, "session": context.session, "interactive": context.interactive}
    return {
        "event": "decision",
        "decision_id": decision_id,
        "timestamp": ts,
        "input": inp,
        "result": result,
        "revision": revision,
        "labels": labels(entry),
    }


def outcome_body(decision_id: str, *, executed: bool, exit_code: int | None, duration_ms: int | None,
                 entry: str, ts: str, sandbox: str | None = None, timed_out: bool = False,
                 reason: str | None = None) -> dict[str, Any]:
    """The fields of an outcome record: what became of a decision, as an executor reports it (the
    sandbox backend it ran in, if any; whether it was stopped at its time limit; why it did not run)."""
    return {
        "event": "outcome",
        "decision_id": decision_id,
        "timestamp": ts,
        "outcome": {"executed": executed, "exit_code": exit_code, "duration_ms": duration_ms, "sandbox": sandbox,
                    "timed_out": timed_out, "reason": reason},
        "labels": labels(entry),
    }


def confirmation_body(decision_id: str, *, status: str, how: str, by: str, waited_ms: int, reason: str | None,
                      action_id: int | None, entry: str, ts: str) -> dict[str, Any]:
    """The fields of a confirmation record: what became of a decision an adapter had confirmed or
    rejected (``status``), how (CONFIRMATION_HOW), who answered (``by``: the answer's source,
    ``confirmer``, or the adapter itself), how long it waited for the answer, why it was rejected,
    and the adapter's own id of the action (an event id)."""
    if status not in CONFIRMATION_STATUS:
        raise ValueError(f"a confirmation's status is one of {', '.join(CONFIRMATION_STATUS)}, not {status!r}")
    if how not in CONFIRMATION_HOW:
        raise ValueError(f"a confirmation's how is one of {', '.join(CONFIRMATION_HOW)}, not {how!r}")
    return {
        "event": "confirmation",
        "decision_id": decision_id,
        "timestamp": ts,
        "confirmation": {"status": status, "how": how, "by": by, "waited_ms": waited_ms, "reason": reason,
                         "action_id": action_id},
        "labels": labels(entry),
    }


_HOST: list[str] = []


def labels(entry: str) -> dict[str, Any]:
    """OPA's ``labels``: who wrote the record (the entry point, host, process)."""
    if not _HOST:
        _HOST.append(os.uname().nodename if hasattr(os, "uname") else "")
    return {"app": "policylang", "version": __version__, "entry": entry, "host": _HOST[0], "pid": os.getpid()}
