"""The security analyzer's confirmations in the audit log (policylang/adapters/analyzer.py,
audit/audited.py, audit/export.py): an agent loop with confirmation on in which a person confirms
one action and rejects another, one times out, one is confirmed without a person, one is denied and
one is still waiting when the analyzer closes; every outcome is a ``confirmation`` record linked to
its decision, the log verifies, and ``audit export`` (a real process) shows the links.  Nothing
here runs an action: actions are data."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from analyzer_setup import actions, scratch, write_config

from policylang.adapters.analyzer import AUDIT_RULE, CLOSED_RULE, CONFIRMER_RULE, REJECTED_RULE, TIMEOUT_RULE, \
    PolicylangAnalyzer
from policylang.adapters.events import ActionConfirmationStatus as State
from policylang.adapters.events import ActionEvent, ConfirmationRequest, Event, EventSource, EventStream, \
    UserConfirmation
from policylang.audit.record import AuditError
from policylang.audit.verify import verify
from policylang.audit.writer import AuditLog

SECRET = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"  # made up, in the GitHub token format
TIMEOUT = 1.5  # seconds the loop's analyzer waits for a person

C, X = State.CONFIRMED, State.REJECTED

# (action, the person's answer: (source, confirmed, reason) or None for no answer,
#  expected state, status, how, by, prefix of the rejection reason)
LOOP = [
    ("ls",     None,                                       C, "confirmed", "automatic", "analyzer", None),
    ("pip",    ("user", True, ""),                         C, "confirmed", "person", "user", None),
    ("push",   ("user", False, f"not now, token {SECRET}"), X, "rejected", "person", "user", REJECTED_RULE),
    ("make",   ("agent", True, "I confirm myself"),        X, "rejected", "timeout", "analyzer", TIMEOUT_RULE),
    ("rmroot", None,                                       X, "rejected", "denied", "analyzer", "default:critical"),
]


@pytest.fixture(scope="module", autouse=True)
def scratch_home(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A scratch HOME for the whole module: no test reads or writes the real one."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.delenv("POLICYLANG_CONFIG", raising=False)
        yield home


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env.update(HOME=str(home), POLICYLANG_CACHE_DIR=str(home / ".cache-policylang"), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "policylang", *args], capture_output=True, text=True, env=env,
                          cwd=home, timeout=120)


def read_log(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory, scratch_home: Path) -> dict[str, Any]:
    """The agent loop, run once: the events by name, the log, the scratch HOME."""
    root = tmp_path_factory.mktemp("analyzer-audit")
    workspace, env = scratch(root)
    log = root / "audit" / "audit.jsonl"
    config = write_config(root, confirmation_mode=True, risk_threshold="medium",
                          extra=f'[security.audit]\nenabled = true\npath = "{log}"\n')
    named = actions(workspace, env)
    stream = EventStream()
    analyzer = PolicylangAnalyzer(stream, config=config, audit=True, confirm_timeout=TIMEOUT)
    names: dict[int, str] = {}  # id() of an action event -> its name
    answers = {name: answer for name, answer, *_ in LOOP if answer is not None}
    people: list[threading.Thread] = []

    def person(event: Event) -> None:  # the UI: answers from another thread, as a person would
        if not isinstance(event, ConfirmationRequest):
            return
        asked = stream.get_event(event.action_id)
        answer = answers.get(names.get(id(asked), ""))
        if answer is None:
            return
        source, confirmed, reason = answer
        reply = UserConfirmation(action_id=event.action_id, confirmed=confirmed, reason=reason, source=source)
        t = threading.Thread(target=stream.add_event, args=(reply,))
        people.append(t)
        t.start()

    stream.subscribe(person)
    events: dict[str, ActionEvent] = {}
    for name, *_ in LOOP:
        events[name] = ActionEvent(named[name])
        names[id(events[name])] = name
        stream.add_event(events[name])
    for t in people:
        t.join(10)
    # a second analyzer on the same log (another writer): an action still waiting when it closes
    later_stream = EventStream()
    later = PolicylangAnalyzer(later_stream, config=config, audit=True, wait=False)
    events["redirect"] = ActionEvent(named["redirect"])
    later_stream.add_event(events["redirect"])
    assert events["redirect"].confirmation_state is State.AWAITING_CONFIRMATION
    later.close()
    analyzer.close()
    return {"events": events, "log": log, "root": root}


@pytest.mark.parametrize("name,answer,state,status,how,by,why", LOOP)
def test_each_outcome_is_recorded_and_linked(loop: dict[str, Any], name: str, answer: Any, state: State, status: str,
                                             how: str, by: str, why: str | None) -> None:
    event: ActionEvent = loop["events"][name]
    assert event.confirmation_state is state
    assert (event.rejection_reason or "").startswith(why or "") and (event.rejection_reason is None) is (why is None)
    records = read_log(loop["log"])
    decision = [r for r in records if r["event"] == "decision" and r["decision_id"] == event.decision_id]
    assert len(decision) == 1 and decision[0]["labels"]["entry"] == "analyzer"
    followed = [r for r in records if r["event"] == "confirmation" and r["decision_id"] == event.decision_id]
    assert len(followed) == 1
    conf = followed[0]["confirmation"]
    assert (conf["status"], conf["how"], conf["by"], conf["action_id"]) == (status, how, by, event.id)
    assert conf["reason"] == event.rejection_reason
    assert followed[0]["seq"] > decision[0]["seq"] and followed[0]["labels"]["entry"] == "analyzer"
    if how == "timeout":
        assert TIMEOUT * 1000 * 0.9 <= conf["waited_ms"] < TIMEOUT * 1000 * 10
    elif how == "person":
        assert 0 <= conf["waited_ms"] < TIMEOUT * 1000
    else:
        assert conf["waited_ms"] == 0


def test_a_person_s_reason_is_redacted_in_the_record(loop: dict[str, Any]) -> None:
    text = loop["log"].read_text()
    assert SECRET not in text
    assert "not now, token" in text


def test_closing_rejects_and_records_what_still_waits(loop: dict[str, Any]) -> None:
    event: ActionEvent = loop["events"]["redirect"]
    assert event.confirmation_state is X and (event.rejection_reason or "").startswith(CLOSED_RULE)
    followed = [r for r in read_log(loop["log"]) if r.get("decision_id") == event.decision_id]
    assert [r["event"] for r in followed] == ["decision", "confirmation"]
    conf = followed[1]["confirmation"]
    assert (conf["status"], conf["how"], conf["by"]) == ("rejected", "closed", "analyzer")
    assert conf["waited_ms"] >= 0


def test_the_log_verifies_and_every_follow_up_is_linked(loop: dict[str, Any]) -> None:
    report = verify([str(loop["log"])])
    assert report.valid, report.problem
    assert report.notes == []  # no confirmation without its decision
    records = read_log(loop["log"])
    decisions = {r["decision_id"] for r in records if r["event"] == "decision"}
    confirmations = [r["decision_id"] for r in records if r["event"] == "confirmation"]
    assert sorted(confirmations) == sorted(decisions) and len(confirmations) == len(LOOP) + 1


def test_export_shows_the_outcomes_linked_to_their_decisions(loop: dict[str, Any]) -> None:
    home = loop["root"] / "home"
    v = run_cli(home, "audit", "verify", str(loop["log"]))
    assert v.returncode == 0, v.stdout + v.stderr
    p = run_cli(home, "audit", "export", "--format", "json", str(loop["log"]))
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    by_id = {r["decision_id"]: r for r in out["records"]}
    got = {}
    for f in out["follow_ups"]:
        assert f["event"] == "confirmation" and f["decision_id"] in by_id
        got[by_id[f["decision_id"]]["input"]["action"]] = (f["confirmation"]["status"], f["confirmation"]["how"],
                                                           f["confirmation"]["by"])
    assert got == {"ls -la": ("confirmed", "automatic", "analyzer"),
                   "pip install requests": ("confirmed", "person", "user"),
                   "git push --force origin main": ("rejected", "person", "user"),
                   "make all": ("rejected", "timeout", "analyzer"),
                   "rm -rf /": ("rejected", "denied", "analyzer"),
                   "echo hi > out.txt": ("rejected", "closed", "analyzer")}
    assert out["summary"]["confirmations"] == {
        "confirmed": 2, "rejected": 4,
        "by_how": {"confirmed automatic": 1, "confirmed person": 1, "rejected closed": 1, "rejected denied": 1,
                   "rejected person": 1, "rejected timeout": 1}}
    # filtered to the denies: only the deny's confirmation comes along
    deny = json.loads(run_cli(home, "audit", "export", "--format", "json", "--decision", "deny",
                              str(loop["log"])).stdout)
    assert [f["confirmation"]["how"] for f in deny["follow_ups"]] == ["denied"]
    assert deny["summary"]["confirmations"] == {"confirmed": 0, "rejected": 1, "by_how": {"rejected denied": 1}}
    rows = list(csv.DictReader(io.StringIO(run_cli(home, "audit", "export", "--format", "csv",
                                                   str(loop["log"])).stdout)))
    assert {r["action"]: (r["confirmation"], r["confirmation_how"], r["answered_by"]) for r in rows} == got
    timed_out = next(r for r in rows if r["action"] == "make all")
    assert int(timed_out["waited_ms"]) >= TIMEOUT * 1000 * 0.9
    assert timed_out["rejection_reason"].startswith(TIMEOUT_RULE)
    text = run_cli(home, "audit", "export", str(loop["log"])).stdout
    assert "confirmations: 2 confirmed, 4 rejected\n" in text and "        1  rejected timeout" in text


# ---- the other ways a confirmation ends -------------------------------------------------------

def _analyzer(tmp_path: Path, **options: Any) -> tuple[EventStream, PolicylangAnalyzer, Path, dict[str, Any]]:
    workspace, env = scratch(tmp_path)
    log = tmp_path / "audit" / "audit.jsonl"
    config = write_config(tmp_path, confirmation_mode=True, risk_threshold="medium",
                          extra=f'[security.audit]\nenabled = true\npath = "{log}"\n')
    stream = EventStream()
    return stream, PolicylangAnalyzer(stream, config=config, audit=True, **options), log, actions(workspace, env)


def _confirmation(log: Path, event: ActionEvent) -> dict[str, Any]:
    found = [r["confirmation"] for r in read_log(log)
             if r["event"] == "confirmation" and r["decision_id"] == event.decision_id]
    assert len(found) == 1, found
    return found[0]


def _raises(event: ActionEvent) -> bool:
    raise RuntimeError("the dialog crashed")


@pytest.mark.parametrize("confirmer,state,how,why", [
    (lambda e: True, C, "person", None),
    (lambda e: None, X, "person", REJECTED_RULE),
    (_raises, X, "error", CONFIRMER_RULE),
])
def test_a_confirmer_callback_answers_as_confirmer(tmp_path: Path, confirmer: Any, state: State, how: str,
                                                   why: str | None) -> None:
    stream, analyzer, log, named = _analyzer(tmp_path, confirmer=confirmer)
    event = ActionEvent(named["pip"])
    stream.add_event(event)
    analyzer.close()
    assert event.confirmation_state is state
    conf = _confirmation(log, event)
    assert (conf["status"], conf["how"], conf["by"]) == (state.value, how, "confirmer")
    assert (conf["reason"] or "").startswith(why or "") and conf["reason"] == event.rejection_reason
    assert verify([str(log)]).valid


def test_a_late_answer_without_a_waiter_is_a_timeout(tmp_path: Path) -> None:
    stream, analyzer, log, named = _analyzer(tmp_path, wait=False, confirm_timeout=0.05)
    event = ActionEvent(named["pip"])
    stream.add_event(event)
    threading.Event().wait(0.2)
    stream.add_event(UserConfirmation(action_id=event.id, confirmed=True))
    assert event.confirmation_state is X
    analyzer.close()
    conf = _confirmation(log, event)
    assert (conf["status"], conf["how"], conf["by"]) == ("rejected", "timeout", "analyzer")
    assert conf["waited_ms"] >= 50


def test_an_answer_without_a_waiter_is_recorded_with_its_wait(tmp_path: Path) -> None:
    stream, analyzer, log, named = _analyzer(tmp_path, wait=False)
    event = ActionEvent(named["pip"])
    stream.add_event(event)
    threading.Event().wait(0.05)
    stream.add_event(UserConfirmation(action_id=event.id, confirmed=True))
    analyzer.close()
    conf = _confirmation(log, event)
    assert event.confirmation_state is C
    assert (conf["status"], conf["how"], conf["by"]) == ("confirmed", "person", EventSource.USER)
    assert 50 <= conf["waited_ms"] < 60_000


def test_an_internal_error_after_the_decision_is_recorded(tmp_path: Path) -> None:
    stream, analyzer, log, named = _analyzer(tmp_path)

    def broken(*args: Any) -> bool:
        raise RuntimeError("threshold lookup failed")

    analyzer._needs_person = broken  # type: ignore[method-assign]
    event = ActionEvent(named["ls"])
    stream.add_event(event)
    analyzer.close()
    assert event.confirmation_state is X
    conf = _confirmation(log, event)
    assert (conf["status"], conf["how"]) == ("rejected", "error")
    assert conf["reason"] == "error:internal: RuntimeError: threshold lookup failed"


def test_malformed_input_has_neither_decision_nor_confirmation_record(tmp_path: Path) -> None:
    stream, analyzer, log, named = _analyzer(tmp_path)
    event = ActionEvent(named["bogus"])
    stream.add_event(event)
    analyzer.close()
    assert event.confirmation_state is X and event.decision_id is None
    assert not log.exists() or [r["event"] for r in read_log(log)] == ["open"]


def test_a_subclass_that_decides_its_own_way_is_still_asked(tmp_path: Path) -> None:
    from policylang.verdict import DENY, UNKNOWN, Reason, Verdict

    class NoPush(PolicylangAnalyzer):
        def verdict(self, action: Any) -> Verdict:
            return Verdict(DENY, UNKNOWN, (Reason("sub.nopush", "never", DENY, UNKNOWN),), action="x", kind="command")

    workspace, env = scratch(tmp_path)
    log = tmp_path / "audit" / "audit.jsonl"
    config = write_config(tmp_path, extra=f'[security.audit]\nenabled = true\npath = "{log}"\n')
    stream = EventStream()
    analyzer = NoPush(stream, config=config, audit=True)
    event = ActionEvent(actions(workspace, env)["ls"])
    stream.add_event(event)
    analyzer.close()
    assert event.confirmation_state is X and event.rejection_reason == "sub.nopush: never"
    assert event.decision_id is None  # its verdict left no record to link a confirmation to
    assert not log.exists() or [r["event"] for r in read_log(log)] == ["open"]


class _NoConfirmations(AuditLog):
    """A log that writes decisions but cannot write a confirmation record."""

    def confirmation(self, decision_id: str, **fields: Any) -> None:
        raise AuditError("disk full")


@pytest.mark.parametrize("on_failure,state", [("warn", C), ("deny", X)])
def test_a_confirmation_that_cannot_be_recorded(tmp_path: Path, on_failure: str, state: State) -> None:
    workspace, env = scratch(tmp_path)
    config = write_config(tmp_path, extra=f'[security.audit]\non_failure = "{on_failure}"\n')
    log = _NoConfirmations(str(tmp_path / "audit" / "audit.jsonl"))
    stream = EventStream()
    analyzer = PolicylangAnalyzer(stream, config=config, audit=log)
    named = actions(workspace, env)
    allowed, denied = ActionEvent(named["ls"]), ActionEvent(named["rmroot"])
    stream.add_event(allowed)
    stream.add_event(denied)
    analyzer.close()
    log.close()
    assert allowed.decision_id is not None
    assert allowed.confirmation_state is state
    if state is X:
        assert allowed.rejection_reason == f"{AUDIT_RULE}: the confirmation cannot be recorded: disk full"
    assert denied.confirmation_state is X and (denied.rejection_reason or "").startswith("default:critical")


def test_decide_recorded_returns_the_id_of_the_record(tmp_path: Path) -> None:
    import policylang
    from policylang.audit.audited import AuditedPolicy

    log = AuditLog(str(tmp_path / "audit" / "audit.jsonl"))
    policy = policylang.load(audit=log)
    assert isinstance(policy, AuditedPolicy)
    verdict, decision_id = policy.decide_recorded("rm -rf /", entry="test.adapter")
    assert verdict.decision.label == "deny" and policy.decide("rm -rf /").decision is verdict.decision
    assert policy.confirmation(decision_id or "", status="rejected", how="denied", by="test") is None
    log.close()
    records = read_log(tmp_path / "audit" / "audit.jsonl")
    assert [(r["event"], r.get("decision_id") == decision_id) for r in records] == [
        ("open", False), ("decision", True), ("decision", False), ("confirmation", True)]
    assert records[1]["labels"]["entry"] == "test.adapter" and records[2]["labels"]["entry"] == "python.decide"
    with pytest.raises(ValueError, match="how is one of"):
        policy.confirmation("x", status="rejected", how="vibes", by="test")
