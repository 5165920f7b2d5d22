"""The security analyzer's request/response API (policylang/adapters/analyzer_api.py): every
route, malformed requests, loosening refused (settings by the loader's own order, policies that
disable or except a loaded rule, or allow what the admin layer denies), tightening accepted, and
that what is accepted changes the decisions."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from analyzer_setup import scratch, write_config

from policylang.actions import Command
from policylang.adapters.analyzer import PolicylangAnalyzer
from policylang.adapters.analyzer_api import POLICY_NAME, ApiRequest
from policylang.adapters.events import ActionConfirmationStatus as State
from policylang.adapters.events import ActionEvent, EventStream

ADMIN = ('[security]\npolicy = """\nrule corp.no-push: deny exec git push ... message "pushes go through CI"\n'
         'rule corp.no-etc: deny write in ["/etc/**"]\n"""\n')


@pytest.fixture()
def analyzer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PolicylangAnalyzer]:
    scratch(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = write_config(tmp_path, risk_threshold="medium", admin=ADMIN)
    a = PolicylangAnalyzer(EventStream(), config=config, wait=False)
    yield a
    a.close()


def call(analyzer: PolicylangAnalyzer, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
    if isinstance(body, dict):
        body = json.dumps(body)
    response = analyzer.handle_api_request(ApiRequest(method, path, body))
    json.loads(response.json())  # always JSON
    return response.status, response.body


def state_of(analyzer: PolicylangAnalyzer, tmp_path: Path, command: str) -> tuple[State | None, str | None]:
    workspace, env = scratch(tmp_path)
    event = ActionEvent(Command(command, cwd=workspace, env=env))
    analyzer.stream.add_event(event)
    return event.confirmation_state, event.rejection_reason


# ---- settings ----------------------------------------------------------------------------------

def test_get_settings(analyzer: PolicylangAnalyzer) -> None:
    status, body = call(analyzer, "GET", "/settings")
    expected = {"analyzer": "policylang", "confirmation_mode": True, "risk_threshold": "medium", "mode": "approve"}
    assert (status, body["settings"], body["config"]) == (200, expected, expected)


SETTINGS = [
    # body, status, error kind or the settings after it, a word of the reason
    ({"risk_threshold": "high"}, 403, "forbidden", "risk_threshold: 'high' would loosen the configuration's 'medium'"),
    ({"confirmation_mode": False}, 403, "forbidden", "confirmation_mode: False would loosen"),
    ({"mode": "execute"}, 403, "forbidden", "mode: 'execute' would loosen the configuration's 'approve'"),
    ({"risk_threshold": "low", "mode": "execute"}, 403, "forbidden", "mode: 'execute'"),  # none applied
    ({"analyzer": "invariant"}, 409, "conflict", "the configuration chooses the analyzer"),
    ({"risk_threshold": "critical"}, 400, "usage", "risk_threshold must be one of low, medium, high"),
    ({"risk_threshold": "LOW"}, 400, "usage", "risk_threshold must be one of"),
    ({"confirmation_mode": "yes"}, 400, "usage", "confirmation_mode must be true or false"),
    ({"mode": "yolo"}, 400, "usage", "mode must be one of explain_only, approve, execute"),
    ({"posture": "relaxed"}, 400, "usage", "unknown field 'posture'"),
    ({"risk_threshold": "low"}, 200, {"risk_threshold": "low"}, ""),
    ({"mode": "explain_only"}, 200, {"mode": "explain_only"}, ""),
    ({"confirmation_mode": True, "risk_threshold": "medium"}, 200, {}, ""),  # the config's own values
    ({"analyzer": "policylang"}, 200, {}, ""),
]


@pytest.mark.parametrize("body,status,outcome,reason", SETTINGS)
def test_post_settings(analyzer: PolicylangAnalyzer, body: dict[str, Any], status: int, outcome: Any,
                       reason: str) -> None:
    before = call(analyzer, "GET", "/settings")[1]["settings"]
    got, answer = call(analyzer, "POST", "/settings", body)
    assert got == status
    after = call(analyzer, "GET", "/settings")[1]["settings"]
    if status == 200:
        assert answer["settings"] == after == {**before, **outcome}
    else:
        assert answer["ok"] is False and answer["error"]["kind"] == outcome
        assert reason in answer["error"]["message"] + " ".join(answer["error"].get("reasons", []))
        assert after == before  # a refused change changes nothing


def test_tightened_threshold_asks_again(analyzer: PolicylangAnalyzer, tmp_path: Path) -> None:
    assert state_of(analyzer, tmp_path, "ls -la") == (State.CONFIRMED, None)  # low, below medium
    assert call(analyzer, "POST", "/settings", {"risk_threshold": "low"})[0] == 200
    assert state_of(analyzer, tmp_path, "ls -la") == (State.AWAITING_CONFIRMATION, None)  # at the threshold
    assert call(analyzer, "POST", "/settings", {"risk_threshold": "medium"})[0] == 200  # back to the config's
    assert state_of(analyzer, tmp_path, "ls -la") == (State.CONFIRMED, None)


def test_tightened_mode_reaches_the_policy(analyzer: PolicylangAnalyzer) -> None:
    assert call(analyzer, "POST", "/settings", {"mode": "explain_only"})[0] == 200
    assert analyzer.policy.settings.mode == "explain_only"


def test_config_without_confirmation_may_turn_it_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    a = PolicylangAnalyzer(EventStream(), config=write_config(tmp_path, confirmation_mode=False), wait=False)
    assert state_of(a, tmp_path, "pip install requests")[0] is State.CONFIRMED
    assert call(a, "POST", "/settings", {"confirmation_mode": True})[0] == 200
    assert state_of(a, tmp_path, "pip install requests")[0] is State.AWAITING_CONFIRMATION
    assert call(a, "POST", "/settings", {"confirmation_mode": False})[0] == 200  # the config's own value
    a.close()


# ---- policy ------------------------------------------------------------------------------------

def test_get_policy(analyzer: PolicylangAnalyzer) -> None:
    status, body = call(analyzer, "GET", "/policy")
    assert (status, body["policy"], body["name"]) == (200, "", POLICY_NAME)
    assert [layer["layer"] for layer in body["layers"]][-1] == "admin"
    assert {"builtin", "user", "admin"} <= {layer["layer"] for layer in body["layers"]}


def test_post_policy_tightens_and_resets(analyzer: PolicylangAnalyzer, tmp_path: Path) -> None:
    text = 'rule api.no-ls: deny exec ls ... message "no listings here"\nexample deny "ls -la"\n'
    status, body = call(analyzer, "POST", "/policy", {"policy": text})
    assert (status, body["policy"]) == (200, text)
    assert call(analyzer, "GET", "/policy")[1]["policy"] == text
    assert state_of(analyzer, tmp_path, "ls -la") == (State.REJECTED, "api.no-ls: no listings here")
    assert call(analyzer, "POST", "/policy", {"policy": ""})[0] == 200
    assert state_of(analyzer, tmp_path, "ls -la") == (State.CONFIRMED, None)


def test_post_policy_may_disable_an_allow_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    # threshold high: the medium-risk pip install that proj.pip allows is confirmed without asking
    analyzer = PolicylangAnalyzer(EventStream(), config=write_config(tmp_path, risk_threshold="high", admin=ADMIN),
                                  wait=False)
    assert state_of(analyzer, tmp_path, "pip install requests")[0] is State.CONFIRMED
    assert call(analyzer, "POST", "/policy", {"policy": "disable proj.pip\n"})[0] == 200
    assert state_of(analyzer, tmp_path, "pip install requests")[0] is State.AWAITING_CONFIRMATION  # asked now
    analyzer.close()


def test_settings_survive_a_policy_change(analyzer: PolicylangAnalyzer) -> None:
    assert call(analyzer, "POST", "/settings", {"mode": "explain_only", "risk_threshold": "low"})[0] == 200
    assert call(analyzer, "POST", "/policy", {"policy": "rule api.x: deny exec nc ...\n"})[0] == 200
    assert call(analyzer, "GET", "/settings")[1]["settings"]["mode"] == "explain_only"
    assert analyzer.policy.settings.risk_threshold.label == "low"


REFUSED_POLICIES = [
    # text, status, kind, what the error names
    ("rule api.x allow exec ls\n", 400, "policy", f"{POLICY_NAME}:1:"),
    ("rule api.x: deny read in UNDEFINED_LIST\n", 400, "policy", "UNDEFINED_LIST"),
    ('rule api.x: deny exec ls ...\nexample allow "ls -la"\n', 400, "policy", "example"),
    ("disable builtin.secrets.read\n", 403, "forbidden", "would disable rule 'builtin.secrets.read' (deny, builtin"),
    ('except builtin.secrets.read unless read in ["~/.aws/credentials"]\n', 403, "forbidden",
     "would add an exception to rule 'builtin.secrets.read'"),
    ("disable corp.no-push\n", 403, "forbidden", "rule 'corp.no-push' (deny, admin layer"),
    ("rule api.push: allow exec git push origin main\n", 403, "forbidden",
     "rule 'api.push' (allow) overlaps admin rule 'corp.no-push'"),
    ("rule api.git: sandbox exec git ...\n", 403, "forbidden", "rule 'api.git' (sandbox) overlaps admin rule"),
    ('rule api.hosts: allow write in ["/etc/hosts"] risk high\n', 403, "forbidden", "overlaps admin rule 'corp.no-etc'"),
    ('rule api.all: allow write in ["/**"] risk high\n', 403, "forbidden", "overlaps admin rule 'corp.no-etc'"),
]


@pytest.mark.parametrize("text,status,kind,named", REFUSED_POLICIES)
def test_post_policy_refused(analyzer: PolicylangAnalyzer, text: str, status: int, kind: str, named: str) -> None:
    kept = "rule api.keep: deny exec nc ...\n"
    assert call(analyzer, "POST", "/policy", {"policy": kept})[0] == 200
    rules = len(analyzer.policy.rules)
    got, body = call(analyzer, "POST", "/policy", {"policy": text})
    assert (got, body["ok"], body["error"]["kind"]) == (status, False, kind)
    assert named in json.dumps(body)
    if status == 400:
        assert body["error"]["file"] == POLICY_NAME and body["error"]["line"] >= 1 and body["error"]["column"] >= 1
    assert call(analyzer, "GET", "/policy")[1]["policy"] == kept  # nothing changed
    assert len(analyzer.policy.rules) == rules


def test_admin_rule_wins_and_is_named(analyzer: PolicylangAnalyzer, tmp_path: Path) -> None:
    status, body = call(analyzer, "POST", "/policy", {"policy": "rule api.push: allow exec git push origin main\n"})
    assert status == 403 and "the admin rule wins" in body["error"]["message"]
    # the config's own allow rule (proj.push) does not beat the admin's deny either
    assert state_of(analyzer, tmp_path, "git push origin main") == (State.REJECTED,
                                                                    "corp.no-push: pushes go through CI")


# ---- routes and malformed requests -------------------------------------------------------------

ROUTES = [
    # method, path, body, status, error kind (None: ok)
    ("GET", "/trace", None, 200, None),
    ("GET", "/api/security/settings", None, 200, None),
    ("GET", "/settings/", None, 200, None),
    ("GET", "/settings?x=1", None, 200, None),
    ("GET", "/nowhere", None, 404, "not-found"),
    ("GET", "/api/security/nowhere", None, 404, "not-found"),
    ("DELETE", "/policy", None, 405, "method"),
    ("POST", "/trace", "{}", 405, "method"),
    ("POST", "/settings", "{not json", 400, "usage"),
    ("POST", "/settings", "[1, 2]", 400, "usage"),
    ("POST", "/settings", "", 400, "usage"),
    ("POST", "/settings", None, 400, "usage"),
    ("POST", "/settings", b"\xff\xfe", 400, "usage"),
    ("POST", "/policy", '{"policy": 5}', 400, "usage"),
    ("POST", "/policy", '{"text": "x"}', 400, "usage"),
    ("POST", "/settings", "[" * 100 + "]" * 100, 400, "usage"),
    ("POST", "/settings", '{"a": ' * 80 + "1" + "}" * 80, 400, "usage"),
    ("POST", "/policy", " " * (9 * 1024 * 1024), 413, "usage"),
    ("GET", "settings", None, 400, "usage"),
]


@pytest.mark.parametrize("method,path,body,status,kind", ROUTES)
def test_routes(analyzer: PolicylangAnalyzer, method: str, path: str, body: Any, status: int,
                kind: str | None) -> None:
    got, answer = call(analyzer, method, path, body)
    assert got == status
    if kind is None:
        assert answer["ok"] is True
    else:
        assert answer["ok"] is False and answer["error"]["kind"] == kind


def test_request_as_a_mapping(analyzer: PolicylangAnalyzer) -> None:
    response = analyzer.handle_api_request({"method": "post", "path": "/settings",
                                            "body": {"risk_threshold": "low"}})
    assert response.status == 200 and response.body["settings"]["risk_threshold"] == "low"
    assert analyzer.handle_api_request("GET /settings").status == 400  # type: ignore[arg-type]


def test_trace_route(analyzer: PolicylangAnalyzer, tmp_path: Path) -> None:
    state_of(analyzer, tmp_path, "ls -la")
    status, body = call(analyzer, "GET", "/trace")
    assert status == 200 and body["analyzer"] == "policylang"
    assert [(e["action"], e["state"]) for e in body["events"]] == [("ls -la", "confirmed")]
