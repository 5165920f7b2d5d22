"""Exporting the audit log: the summary's counts, filters, outcomes, confirmations, CSV cells and
time arguments (policylang/audit/export.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policylang.audit.export import CSV_COLUMNS, Filters, confirmations, csv_rows, decisions, follow_ups, parse_time, \
    read_records, summarise
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog


def rec(n: int, decision: str, action: str, rules: list[str], risk: str = "high") -> dict[str, Any]:
    return {"event": "decision", "decision_id": f"d{n}", "timestamp": f"2026-01-0{n}T00:00:00.000000Z",
            "input": {"kind": "command", "action": action},
            "result": {"decision": decision, "risk": risk,
                       "reasons": [{"rule": r, "message": "m", "decision": decision, "risk": risk, "location": None}
                                   for r in rules[:1]],
                       "rules": [{"id": r, "location": None} for r in rules]}}


RECORDS = [rec(1, "allow", "ls", [], "low"), rec(2, "deny", "rm -rf /", ["a", "b"]), rec(3, "deny", "rm -rf /", ["a"]),
           rec(4, "ask", "pip install x", ["c"], "medium"), rec(5, "deny", "=HYPERLINK(1)", ["b"])]


def test_the_summary_counts() -> None:
    s = summarise(RECORDS + [{"event": "open"}])
    assert s["decisions"] == 5 and (s["from"], s["to"]) == (RECORDS[0]["timestamp"], RECORDS[-1]["timestamp"])
    assert s["by_decision"] == {"deny": 3, "allow": 1, "ask": 1}
    assert s["by_risk"] == {"high": 3, "low": 1, "medium": 1}
    assert s["by_rule"] == {"a": 2, "b": 2, "c": 1}
    assert s["most_denied"] == [{"action": "rm -rf /", "count": 2}, {"action": "=HYPERLINK(1)", "count": 1}]


@pytest.mark.parametrize(("filters", "ids"), [
    (Filters(decisions=frozenset({"deny"})), ["d2", "d3", "d5"]),
    (Filters(rules=frozenset({"b"})), ["d2", "d5"]),
    (Filters(since=parse_time("2026-01-03"), until=parse_time("2026-01-05")), ["d3", "d4"]),
    (Filters(decisions=frozenset({"deny"}), rules=frozenset({"a"}), since=parse_time("2026-01-03T00:00:00Z")), ["d3"]),
])
def test_filters(filters: Filters, ids: list[str]) -> None:
    assert [r["decision_id"] for r in decisions(RECORDS, filters)] == ids
    assert summarise(RECORDS, filters)["decisions"] == len(ids)


def test_csv_cells_are_not_formulas() -> None:
    rows = list(csv_rows(RECORDS))
    assert rows[5][5] == "'=HYPERLINK(1)" and rows[2][5] == "rm -rf /"
    assert rows[2][6] == "a b"


def test_parse_time() -> None:
    assert parse_time("2026-01-01") == parse_time("2026-01-01T00:00:00Z") == parse_time("2026-01-01T01:00:00+01:00")
    assert parse_time("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_time("7d", now=1e9) == 1e9 - 7 * 86400
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_outcomes_are_counted_for_the_decisions_exported(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"))
    for r in RECORDS:
        log.append(r)
    log.outcome("d1", executed=True, exit_code=0, duration_ms=12)
    log.outcome("d4", executed=False)
    log.close()
    assert verify([str(tmp_path)]).valid
    read = read_records([str(tmp_path)])
    assert read.skipped == 0 and len(read.records) == 1 + 5 + 2
    assert summarise(read.records)["outcomes"] == {"executed": 1, "not_executed": 1}
    assert summarise(read.records, Filters(decisions=frozenset({"allow"})))["outcomes"] == {
        "executed": 1, "not_executed": 0}


def test_confirmations_are_counted_linked_and_in_the_csv(tmp_path: Path) -> None:
    log = AuditLog(str(tmp_path / "audit.jsonl"))
    for r in RECORDS:
        log.append(r)
    log.confirmation("d1", status="confirmed", how="automatic", by="analyzer")
    log.confirmation("d2", status="rejected", how="denied", by="analyzer", reason="a: m")
    log.confirmation("d4", status="rejected", how="timeout", by="analyzer", waited_ms=300_000, reason="=1+1")
    log.outcome("d1", executed=True, exit_code=0)
    log.append({"event": "confirmation", "decision_id": ["not", "an", "id"], "confirmation": "garbage"})
    log.close()
    assert verify([str(tmp_path)]).valid
    read = read_records([str(tmp_path)])
    s = summarise(read.records)
    assert s["confirmations"] == {"confirmed": 1, "rejected": 2,
                                  "by_how": {"confirmed automatic": 1, "rejected denied": 1, "rejected timeout": 1}}
    assert summarise(read.records, Filters(decisions=frozenset({"deny"})))["confirmations"] == {
        "confirmed": 0, "rejected": 1, "by_how": {"rejected denied": 1}}
    assert [(r["event"], r["decision_id"]) for r in follow_ups(read.records, {"d1", "d4"})] == [
        ("confirmation", "d1"), ("confirmation", "d4"), ("outcome", "d1")]
    rows = list(csv_rows(decisions(read.records, Filters()), confirmations(read.records)))
    assert rows[0] == list(CSV_COLUMNS)
    at = {c: CSV_COLUMNS.index(c) for c in ("confirmation", "confirmation_how", "answered_by", "waited_ms",
                                            "rejection_reason")}
    assert [[row[i] for i in at.values()] for row in rows[1:]] == [
        ["confirmed", "automatic", "analyzer", "0", ""], ["rejected", "denied", "analyzer", "0", "a: m"],
        ["", "", "", "", ""], ["rejected", "timeout", "analyzer", "300000", "'=1+1"], ["", "", "", "", ""]]
