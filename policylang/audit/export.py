"""Export an audit log: a summary (counts by decision, risk and rule, the most denied actions, the
time range, the executors' outcomes and the confirmations) as text or JSON, or the decision records
as JSON (with the outcome and confirmation records linked to them) or CSV (a row per decision, with
its confirmation), filtered by time, decision and rule (docs/audit.md, "Export").

Export reads; it does not verify (``policylang audit verify`` does).  Lines that are not records
are counted and skipped.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from .record import parse_timestamp
from .verify import log_files

CSV_COLUMNS = ("timestamp", "decision_id", "decision", "risk", "kind", "action", "rules", "principal", "role",
               "session", "entry", "revision", "seq", "confirmation", "confirmation_how", "answered_by", "waited_ms",
               "rejection_reason")
FOLLOW_UPS = ("outcome", "confirmation")  # the records about a decision, linked to it by its decision_id
_RELATIVE = re.compile(r"(\d+)\s*([smhdw])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass
class Filters:
    """Which decision records to export: a time range (seconds since the epoch), decisions, rules."""

    since: float | None = None
    until: float | None = None
    decisions: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()

    def accepts(self, rec: dict[str, Any]) -> bool:
        result = rec.get("result") if isinstance(rec.get("result"), dict) else {}
        assert isinstance(result, dict)
        if self.decisions and str(result.get("decision")) not in self.decisions:
            return False
        if self.rules and not (self.rules & set(rule_ids(rec))):
            return False
        if self.since is not None or self.until is not None:
            when = _when(rec)
            if when is None:
                return False
            if self.since is not None and when < self.since:
                return False
            if self.until is not None and when >= self.until:
                return False
        return True


def parse_time(text: str, now: float | None = None) -> float:
    """A time given on the command line: RFC 3339 / ISO 8601 (a date or a date and time; UTC when
    no offset is given), or an age like ``30m``, ``12h``, ``7d`` (that long ago).  Raises ValueError."""
    m = _RELATIVE.match(text.strip())
    if m:
        return (time.time() if now is None else now) - int(m.group(1)) * _UNITS[m.group(2)]
    from datetime import datetime, timezone

    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def rule_ids(rec: dict[str, Any]) -> list[str]:
    """The ids of the rules a decision record names: those that decided it and those that matched."""
    result = rec.get("result")
    if not isinstance(result, dict):
        return []
    out: list[str] = []
    for r in result.get("reasons") or ():
        if isinstance(r, dict) and isinstance(r.get("rule"), str) and r["rule"] not in out:
            out.append(r["rule"])
    for r in result.get("rules") or ():
        if isinstance(r, dict) and isinstance(r.get("id"), str) and r["id"] not in out:
            out.append(r["id"])
    return out


def _when(rec: dict[str, Any]) -> float | None:
    ts = rec.get("timestamp")
    if not isinstance(ts, str):
        return None
    try:
        return parse_timestamp(ts)
    except ValueError:
        return None


@dataclass
class Read:
    """The records read, and how many lines were not records."""

    records: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0


def read_records(paths: Sequence[str]) -> Read:
    """Every record of the log's files, in order."""
    out = Read()
    for path in log_files(paths):
        with open(path, "rb") as fh:
            for raw in fh:
                try:
                    value = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError, RecursionError):
                    out.skipped += 1
                    continue
                if isinstance(value, dict):
                    out.records.append(value)
                else:
                    out.skipped += 1
    return out


def decisions(records: Iterable[dict[str, Any]], filters: Filters) -> Iterator[dict[str, Any]]:
    """The decision records that pass the filters."""
    for rec in records:
        if rec.get("event") == "decision" and filters.accepts(rec):
            yield rec


def follow_ups(records: Iterable[dict[str, Any]], decision_ids: set[str]) -> list[dict[str, Any]]:
    """The outcome and confirmation records of these decisions, in log order."""
    return [rec for rec in records if rec.get("event") in FOLLOW_UPS and isinstance(rec.get("decision_id"), str)
            and rec["decision_id"] in decision_ids]


def confirmations(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Decision id -> the ``confirmation`` field of its confirmation record (the last, should there
    be several)."""
    out: dict[str, dict[str, Any]] = {}
    for rec in records:
        body = rec.get("confirmation")
        if rec.get("event") == "confirmation" and isinstance(rec.get("decision_id"), str) and isinstance(body, dict):
            out[rec["decision_id"]] = body
    return out


def summarise(records: Iterable[dict[str, Any]], filters: Filters | None = None, *, top: int = 10,
              skipped: int = 0) -> dict[str, Any]:
    """Counts by decision, risk and rule, the most denied actions, outcomes, confirmations, and the
    time range."""
    filters = filters or Filters()
    by_decision: dict[str, int] = {}
    by_risk: dict[str, int] = {}
    by_rule: dict[str, int] = {}
    denied: dict[str, int] = {}
    first = last = None
    total = 0
    all_records = list(records)
    chosen: set[str] = set()
    for rec in decisions(all_records, filters):
        total += 1
        result = rec.get("result") if isinstance(rec.get("result"), dict) else {}
        assert isinstance(result, dict)
        decision = str(result.get("decision"))
        by_decision[decision] = by_decision.get(decision, 0) + 1
        risk = str(result.get("risk"))
        by_risk[risk] = by_risk.get(risk, 0) + 1
        for rid in rule_ids(rec):
            by_rule[rid] = by_rule.get(rid, 0) + 1
        if decision == "deny":
            inp = rec.get("input") if isinstance(rec.get("input"), dict) else {}
            assert isinstance(inp, dict)
            action = str(inp.get("action"))
            denied[action] = denied.get(action, 0) + 1
        ts = rec.get("timestamp")
        if isinstance(ts, str):
            first = ts if first is None or ts < first else first
            last = ts if last is None or ts > last else last
        if isinstance(rec.get("decision_id"), str):
            chosen.add(rec["decision_id"])
    executed = not_executed = 0
    by_status: dict[str, int] = {"confirmed": 0, "rejected": 0}
    by_how: dict[str, int] = {}
    for rec in follow_ups(all_records, chosen):
        if rec.get("event") == "outcome":
            outcome = rec.get("outcome") if isinstance(rec.get("outcome"), dict) else {}
            assert isinstance(outcome, dict)
            if outcome.get("executed"):
                executed += 1
            else:
                not_executed += 1
            continue
        body = rec.get("confirmation") if isinstance(rec.get("confirmation"), dict) else {}
        assert isinstance(body, dict)
        status = "confirmed" if body.get("status") == "confirmed" else "rejected"  # anything else is no confirmation
        by_status[status] += 1
        how = f"{status} {body.get('how')}"
        by_how[how] = by_how.get(how, 0) + 1
    return {
        "decisions": total,
        "from": first,
        "to": last,
        "by_decision": _sorted(by_decision),
        "by_risk": _sorted(by_risk),
        "by_rule": _sorted(by_rule),
        "most_denied": [{"action": a, "count": c} for a, c in list(_sorted(denied).items())[:top]],
        "outcomes": {"executed": executed, "not_executed": not_executed},
        "confirmations": {**by_status, "by_how": _sorted(by_how)},
        "skipped_lines": skipped,
    }


def _sorted(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def summary_text(summary: dict[str, Any], top: int = 10) -> str:
    """The summary for a person."""
    lines = [f"decisions: {summary['decisions']}",
             f"from: {summary['from'] or '-'}", f"to:   {summary['to'] or '-'}"]
    for title, key in (("by decision", "by_decision"), ("by risk", "by_risk"), ("by rule", "by_rule")):
        lines.append(f"{title}:")
        items = list(summary[key].items())
        for name, count in items[:top] if key == "by_rule" else items:
            lines.append(f"  {count:>7}  {name}")
        if key == "by_rule" and len(items) > top:
            lines.append(f"  ... and {len(items) - top} more rule(s)")
    lines.append("most denied:")
    for item in summary["most_denied"]:
        lines.append(f"  {item['count']:>7}  {item['action']}")
    outcomes = summary["outcomes"]
    if outcomes["executed"] or outcomes["not_executed"]:
        lines.append(f"outcomes: {outcomes['executed']} executed, {outcomes['not_executed']} not executed")
    confirmed = summary["confirmations"]
    if confirmed["confirmed"] or confirmed["rejected"]:
        lines.append(f"confirmations: {confirmed['confirmed']} confirmed, {confirmed['rejected']} rejected")
        for how, count in confirmed["by_how"].items():
            lines.append(f"  {count:>7}  {how}")
    if summary["skipped_lines"]:
        lines.append(f"skipped: {summary['skipped_lines']} line(s) that are not records")
    return "\n".join(lines)


def csv_rows(records: Iterable[dict[str, Any]], confirmed: dict[str, dict[str, Any]] | None = None
             ) -> Iterator[list[str]]:
    """One row per decision record, CSV_COLUMNS first; ``confirmed`` (``confirmations``) fills in
    the confirmation columns."""
    yield list(CSV_COLUMNS)
    for rec in records:
        inp = rec.get("input") if isinstance(rec.get("input"), dict) else {}
        result = rec.get("result") if isinstance(rec.get("result"), dict) else {}
        labels = rec.get("labels") if isinstance(rec.get("labels"), dict) else {}
        assert isinstance(inp, dict) and isinstance(result, dict) and isinstance(labels, dict)
        decision_id = rec.get("decision_id")
        conf = (confirmed or {}).get(decision_id, {}) if isinstance(decision_id, str) else {}
        values = [rec.get("timestamp"), rec.get("decision_id"), result.get("decision"), result.get("risk"),
                  inp.get("kind"), inp.get("action"), " ".join(rule_ids(rec)), inp.get("principal"), inp.get("role"),
                  inp.get("session"), labels.get("entry"), rec.get("revision"), rec.get("seq"), conf.get("status"),
                  conf.get("how"), conf.get("by"), conf.get("waited_ms"), conf.get("reason")]
        yield ["" if v is None else _cell(str(v)) for v in values]


def _cell(text: str) -> str:
    """A cell a spreadsheet will not run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
