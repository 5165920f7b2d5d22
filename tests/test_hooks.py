"""Agent hooks as real processes (policylang/adapters/hooks, docs/hooks.md): every mapped tool of
Claude Code, Gemini CLI and Cursor with real JSON on stdin -> the agent's decision word and the
deciding rule id; malformed payloads of every kind blocked with the agent's blocking exit code;
``hook install`` with its diff, idempotence and refusals.  Each run has a scratch HOME and a
project directory in a temporary directory; payloads are bytes fed to stdin, never a shell."""
from __future__ import annotations

import json
import os
import secrets
import shlex
import string
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from policylang.adapters.hooks.render import render_verdict
from policylang.adapters.hooks.spec import SpecError, _agent, agent_names, load_agent
from policylang.verdict import Decision, Reason, Risk, Verdict


class Env:
    def __init__(self, root: Path, cache: Path) -> None:
        self.cache = cache
        self.home = root / "home"
        self.ws = root / "project"
        self.home.mkdir()
        self.ws.mkdir()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
        env.update(HOME=str(self.home), POLICYLANG_CACHE_DIR=str(self.cache), NO_COLOR="1")
        return env

    def run(self, *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        return subprocess.run([sys.executable, "-m", "policylang", *args], input=stdin, capture_output=True, check=False,
                              env=self.env(), cwd=self.ws, timeout=120)

    def hook(self, agent: str, payload: Any, *extra: str) -> tuple[int, Any, str]:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        r = self.run("hook", agent, *extra, stdin=data)
        err = r.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err, err
        out = r.stdout.decode()
        return r.returncode, json.loads(out) if out.strip() else None, err


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One compiled-policy cache for the module, as an agent's session has: each hook call is a new
    process that finds the policy compiled."""
    return tmp_path_factory.mktemp("policylang-cache")


@pytest.fixture()
def env(tmp_path: Path, cache: Path) -> Env:
    return Env(tmp_path, cache)


TOKEN = "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


# ---- Claude Code -------------------------------------------------------------------------------

# (tool, tool_input with {ws} and {home}, the permissionDecision, a rule id among the reason's)
CLAUDE = [
    ("Bash", {"command": "ls -la"}, "allow", "default:low"),
    ("Bash", {"command": "rm -rf /"}, "deny", "default:critical"),
    ("Bash", {"command": "cat ~/.ssh/id_rsa"}, "deny", "builtin.secrets.read"),
    ("Read", {"file_path": "{ws}/notes.txt"}, "allow", "default:low"),
    ("Read", {"file_path": "{home}/.ssh/id_rsa"}, "deny", "builtin.secrets.read"),
    ("Read", {"file_path": "~/.aws/credentials"}, "deny", "builtin.secrets.read"),
    ("Write", {"file_path": "{ws}/x.py", "content": "print(1)\n"}, "ask", "default:medium"),
    ("Write", {"file_path": "{ws}/c.py", "content": f"TOKEN = '{TOKEN}'\n"}, "ask", "builtin.secret.file"),
    ("Write", {"file_path": "{ws}/.claude/settings.json", "content": "{}"}, "deny", "builtin.agent-settings.write"),
    ("Edit", {"file_path": "/etc/hosts", "old_string": "a", "new_string": "b"}, "deny", "default:high"),
    ("Edit", {"file_path": "{ws}/x.py", "old_string": "1", "new_string": "2"}, "ask", "default:medium"),
    ("MultiEdit", {"file_path": "{ws}/x.py", "edits": [{"old_string": "1", "new_string": "2"},
                                                       {"old_string": "3", "new_string": f"k = '{TOKEN}'"}]},
     "ask", "builtin.secret.file"),
    ("MultiEdit", {"file_path": "{home}/.bashrc", "edits": [{"old_string": "", "new_string": "x"}]},
     "deny", "builtin.persistence.write"),
    ("NotebookEdit", {"notebook_path": "{ws}/n.ipynb", "new_source": "print(1)"}, "ask", "default:medium"),
    ("NotebookEdit", {"notebook_path": "{ws}/n.ipynb", "cell_id": "c1", "edit_mode": "delete"}, "ask",
     "default:medium"),
    ("Glob", {"pattern": "**/*.py"}, "allow", "default:low"),
    ("Glob", {"pattern": "*", "path": "{home}/.ssh"}, "allow", "default:low"),  # names only
    ("Grep", {"pattern": "TODO"}, "allow", "default:low"),
    ("Grep", {"pattern": "BEGIN", "path": "{home}/.ssh"}, "deny", "builtin.secrets.read"),
    ("Grep", {"pattern": "-e", "path": "{home}"}, "deny", "builtin.secrets.read"),
    ("WebFetch", {"url": "https://example.com/docs", "prompt": "summarise"}, "ask", "default:medium"),
    ("WebFetch", {"url": "file:///etc/shadow", "prompt": "x"}, "deny", "builtin.secrets.read"),
    ("WebSearch", {"query": "python tomllib"}, "ask", "default:unknown"),
    ("mcp__github__create_issue", {"title": "x", "body": "y"}, "ask", "default:unknown"),
    ("SomeFutureTool", {"anything": 1}, "ask", "default:unknown"),
    ("TodoWrite", {"todos": [{"content": "write tests", "status": "pending"}]}, "allow", "default:low"),
    ("Task", {"description": "d", "prompt": "look for TODOs"}, "allow", "default:low"),
]


def _fill(value: Any, env: Env) -> Any:
    if isinstance(value, str):
        return value.replace("{ws}", str(env.ws)).replace("{home}", str(env.home))
    if isinstance(value, dict):
        return {k: _fill(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, env) for v in value]
    return value


def claude(tool: str, tool_input: Any, env: Env, **extra: Any) -> dict[str, Any]:
    return {"session_id": "s-1", "transcript_path": str(env.home / "t.jsonl"), "cwd": str(env.ws),
            "permission_mode": "default", "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": _fill(tool_input, env), "tool_use_id": "toolu_1", **extra}


@pytest.mark.parametrize("tool,tool_input,word,rule", CLAUDE, ids=[f"{c[0]}-{i}" for i, c in enumerate(CLAUDE)])
def test_claude_tools(env: Env, tool: str, tool_input: dict[str, Any], word: str, rule: str) -> None:
    code, out, _ = env.hook("claude", claude(tool, tool_input, env))
    assert code == 0
    spec = out["hookSpecificOutput"]
    assert spec["hookEventName"] == "PreToolUse"
    assert spec["permissionDecision"] == word, spec
    assert f"[rule {rule}]" in spec["permissionDecisionReason"], spec
    assert spec["permissionDecisionReason"].startswith("policylang: ")
    assert TOKEN not in json.dumps(out)  # secrets are redacted in the reason


def test_claude_policy_rules_decide_tool_calls(env: Env) -> None:
    """A user's policy names the tools: the rule id comes back in the reason."""
    policy = env.ws / "tools.policy"
    policy.write_text('rule tools.search: allow tool WebSearch\n'
                      'rule tools.gh: deny tool re"mcp__github__.*" message "no GitHub writes from the agent"\n',
                      encoding="utf-8")
    code, out, _ = env.hook("claude", claude("WebSearch", {"query": "x"}, env), "--policy", str(policy))
    assert (code, out["hookSpecificOutput"]["permissionDecision"]) == (0, "allow")
    assert "[rule tools.search]" in out["hookSpecificOutput"]["permissionDecisionReason"]
    code, out, _ = env.hook("claude", claude("mcp__github__create_issue", {"title": "x"}, env), "--policy",
                            str(policy))
    reason = out["hookSpecificOutput"]["permissionDecisionReason"]
    assert (code, out["hookSpecificOutput"]["permissionDecision"]) == (0, "deny")
    assert "no GitHub writes from the agent on tool(mcp__github__create_issue) [rule tools.gh]" in reason


def test_claude_verdict_is_recorded_in_the_audit_log(env: Env) -> None:
    env.hook("claude", claude("Bash", {"command": "rm -rf /"}, env))
    env.hook("claude", b"not json")
    log = env.home / ".policylang" / "audit" / "audit.jsonl"
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    decisions = [r for r in records if r["event"] == "decision"]
    assert [r["result"]["decision"] for r in decisions] == ["deny", "deny"]
    assert decisions[0]["input"]["principal"] == "agent:claude"
    assert decisions[0]["input"]["session"] == "s-1"
    assert decisions[0]["labels"]["entry"] == "hook.claude"
    assert decisions[1]["result"]["reasons"][0]["rule"] == "error:input"


# ---- Gemini CLI --------------------------------------------------------------------------------

GEMINI = [
    ("run_shell_command", {"command": "git status", "description": "status"}, "allow", "default:low"),
    ("run_shell_command", {"command": "rm -rf /"}, "deny", "default:critical"),
    ("run_shell_command", {"command": "cat .ssh/id_rsa", "dir_path": "{home}"}, "deny", "builtin.secrets.read"),
    ("read_file", {"file_path": "{home}/.ssh/id_rsa"}, "deny", "builtin.secrets.read"),
    ("read_file", {"absolute_path": "{home}/.ssh/id_rsa"}, "deny", "builtin.secrets.read"),  # older name
    ("read_file", {"path": "{ws}/notes.txt"}, "allow", "default:low"),
    ("write_file", {"file_path": "{ws}/x.py", "content": "print(1)"}, "deny", "default:medium"),  # ask -> deny
    ("write_file", {"file_path": "{ws}/.gemini/settings.json", "content": "{}"}, "deny",
     "builtin.agent-settings.write"),
    ("replace", {"file_path": "/etc/hosts", "old_string": "a", "new_string": "b"}, "deny", "default:high"),
    ("list_directory", {"dir_path": "{ws}"}, "allow", "default:low"),
    ("glob", {"pattern": "*.py"}, "allow", "default:low"),
    ("search_file_content", {"pattern": "BEGIN", "dir_path": "{home}/.ssh"}, "deny", "builtin.secrets.read"),
    ("grep_search", {"pattern": "TODO"}, "allow", "default:low"),
    ("web_fetch", {"prompt": "summarise https://example.com/a please"}, "deny", "default:medium"),
    ("web_fetch", {"prompt": "summarise the page we talked about"}, "deny", "default:unknown"),
    ("google_web_search", {"query": "x"}, "deny", "default:unknown"),
    ("save_memory", {"fact": "the user likes tabs"}, "deny", "builtin.agent-settings.write"),
    ("write_todos", {"todos": [{"description": "x", "status": "pending"}]}, "allow", "default:low"),
    ("mcp__db__query", {"sql": "select 1"}, "deny", "default:unknown"),
]


def gemini(tool: str, tool_input: Any, env: Env) -> dict[str, Any]:
    return {"session_id": "g-1", "transcript_path": str(env.home / "t.json"), "cwd": str(env.ws),
            "hook_event_name": "BeforeTool", "timestamp": "2026-12-05T08:00:00Z", "tool_name": tool,
            "tool_input": _fill(tool_input, env)}


@pytest.mark.parametrize("tool,tool_input,word,rule", GEMINI, ids=[f"{c[0]}-{i}" for i, c in enumerate(GEMINI)])
def test_gemini_tools(env: Env, tool: str, tool_input: dict[str, Any], word: str, rule: str) -> None:
    code, out, _ = env.hook("gemini", gemini(tool, tool_input, env))
    assert code == 0
    assert set(out) == {"decision", "reason"}
    assert out["decision"] == word, out
    assert f"[rule {rule}]" in out["reason"], out


def test_gemini_cannot_ask_so_it_denies_and_says_so(env: Env) -> None:
    _, out, _ = env.hook("gemini", gemini("write_file", {"file_path": "{ws}/x.py", "content": "x"}, env))
    assert out["decision"] == "deny"
    assert out["reason"].startswith("policylang: ask (risk medium)")
    assert "cannot ask for approval" in out["reason"]


# ---- Cursor ------------------------------------------------------------------------------------

def cursor(event: str, env: Env, **fields: Any) -> dict[str, Any]:
    return {"hook_event_name": event, "conversation_id": "c-1", "generation_id": "g-1",
            "workspace_roots": [str(env.ws)], **_fill(fields, env)}


CURSOR = [
    ("beforeShellExecution", {"command": "ls", "cwd": "{ws}"}, "allow", "default:low"),
    ("beforeShellExecution", {"command": "rm -rf /", "cwd": "{ws}"}, "deny", "default:critical"),
    ("beforeShellExecution", {"command": "git push --force"}, "deny", "default:high"),  # no cwd: the workspace
    ("beforeMCPExecution", {"tool_name": "query", "tool_input": {"sql": "select 1"}, "url": "http://x"}, "ask",
     "default:unknown"),
    ("beforeMCPExecution", {"tool_name": "query", "tool_input": "{\"sql\": \"select 1\"}", "command": "npx s"},
     "ask", "default:unknown"),
]


@pytest.mark.parametrize("event,fields,word,rule", CURSOR, ids=[f"{c[0]}-{i}" for i, c in enumerate(CURSOR)])
def test_cursor_events(env: Env, event: str, fields: dict[str, Any], word: str, rule: str) -> None:
    code, out, _ = env.hook("cursor", cursor(event, env, **fields))
    assert code == 0
    assert out["permission"] == word, out
    assert f"[rule {rule}]" in out["agent_message"] and out["user_message"] == out["agent_message"]


@pytest.mark.parametrize("path,word,rule", [
    ("{ws}/src/main.ts", "allow", "default:low"),
    ("{ws}/.env", "deny", "builtin.secrets.read"),
    ("{home}/.ssh/id_ed25519", "deny", "builtin.secrets.read"),
])
def test_cursor_read_file(env: Env, path: str, word: str, rule: str) -> None:
    """beforeReadFile answers with permission only: the reason goes to stderr."""
    code, out, err = env.hook("cursor", cursor("beforeReadFile", env, file_path=path, content="x"))
    assert (code, out) == (0, {"permission": word})
    assert f"[rule {rule}]" in err


# ---- what each verdict becomes ------------------------------------------------------------------

@pytest.mark.parametrize("agent,event,words", [
    ("claude", "PreToolUse", {"allow": "allow", "sandbox": "ask", "ask": "ask", "deny": "deny"}),
    ("gemini", "BeforeTool", {"allow": "allow", "sandbox": "deny", "ask": "deny", "deny": "deny"}),
    ("cursor", "beforeShellExecution", {"allow": "allow", "sandbox": "ask", "ask": "ask", "deny": "deny"}),
    ("cursor", "beforeReadFile", {"allow": "allow", "sandbox": "deny", "ask": "deny", "deny": "deny"}),
])
def test_every_decision_is_rendered_and_only_allow_allows(agent: str, event: str, words: dict[str, str]) -> None:
    spec = load_agent(agent)
    for decision in Decision:
        v = Verdict(decision, Risk.MEDIUM, (Reason("r.1", "why", decision, Risk.MEDIUM),))
        r = render_verdict(spec, spec.events[event], v)
        text = json.dumps(json.loads(r.stdout))
        assert r.exit == 0
        assert f'"{words[decision.label]}"' in text, (decision, text)
        if decision is Decision.SANDBOX:
            assert "cannot run it in a sandbox" in (text + r.stderr)


# ---- payloads that cannot be used ---------------------------------------------------------------

DEEP = b'{"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": ' + b"[" * 200 + b"]" * 200 + b"}"
MALFORMED = [
    ("empty", b"", "empty"),
    ("blank", b"  \n", "empty"),
    ("not json", b"rm -rf /", "not JSON"),
    ("truncated", b'{"hook_event_name": "PreToolUse", "tool_name": "Bash"', "not JSON"),
    ("array", b'[{"hook_event_name": "PreToolUse"}]', "must be a JSON object"),
    ("string", b'"PreToolUse"', "must be a JSON object"),
    ("binary", b"\xff\xfe\x00\x01{}", "not valid UTF-8"),
    ("huge", b'{"x": "' + b"a" * (5 * 1024 * 1024) + b'"}', "larger than the limit"),
    ("too deep", DEEP, "nested deeper"),
    ("lone surrogate", (b'{"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": '
                        b'{"file_path": "\\ud800"}}'), "lone surrogate"),
]


@pytest.mark.parametrize("agent", ["claude", "gemini", "cursor"])
@pytest.mark.parametrize("name,data,why", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_unreadable_payloads_are_blocked(env: Env, agent: str, name: str, data: bytes, why: str) -> None:
    code, out, err = env.hook(agent, data)
    assert code == 2  # the blocking exit code of every shipped agent
    assert err.startswith("policylang: blocked: ") and why in err, err
    assert out is None or "allow" not in json.dumps(out)


BAD_CLAUDE = [
    ("no event", {"tool_name": "Bash", "tool_input": {"command": "ls"}}, "has no event name"),
    ("unknown event", {"hook_event_name": "PostToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"}},
     "does not handle"),
    ("event not a string", {"hook_event_name": 3, "tool_name": "Bash", "tool_input": {}}, "must be a non-empty"),
    ("no tool", {"hook_event_name": "PreToolUse", "tool_input": {"command": "ls"}}, "has no tool name"),
    ("tool not a string", {"hook_event_name": "PreToolUse", "tool_name": ["Bash"], "tool_input": {}},
     "must be a non-empty string"),
    ("no input", {"hook_event_name": "PreToolUse", "tool_name": "Bash"}, "must be a JSON object, not null"),
    ("input a list", {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": ["ls"]},
     "must be a JSON object, not a list"),
    ("no command", {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {}}, "missing the argument"),
    ("command a number", {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": 3}},
     "must be a string"),
    ("path a list", {"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": ["/x"]}},
     "must be a string"),
    ("edits not objects", {"hook_event_name": "PreToolUse", "tool_name": "MultiEdit",
                           "tool_input": {"file_path": "/x", "edits": ["a"]}}, "list of objects"),
    ("edit without text", {"hook_event_name": "PreToolUse", "tool_name": "MultiEdit",
                           "tool_input": {"file_path": "/x", "edits": [{"old_string": "a"}]}}, "string new_string"),
    ("cwd a number", {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "ls"},
                      "cwd": 7}, "working directory"),
    ("empty path", {"hook_event_name": "PreToolUse", "tool_name": "Read", "tool_input": {"file_path": ""}},
     "must not be empty"),
    ("empty command", {"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": ""}},
     "must not be empty"),
]


@pytest.mark.parametrize("name,payload,why", BAD_CLAUDE, ids=[b[0] for b in BAD_CLAUDE])
def test_claude_malformed_fields_are_blocked(env: Env, name: str, payload: dict[str, Any], why: str) -> None:
    code, out, err = env.hook("claude", payload)
    assert code == 2, (out, err)
    assert why in err, err
    if payload.get("hook_event_name") == "PreToolUse":  # the event is known: its deny JSON too
        assert out["hookSpecificOutput"]["permissionDecision"] == "deny"
        assert why in out["hookSpecificOutput"]["permissionDecisionReason"]


def test_cursor_mcp_arguments_that_are_not_json_are_blocked(env: Env) -> None:
    code, out, err = env.hook("cursor", cursor("beforeMCPExecution", env, tool_name="q", tool_input="{not json"))
    assert code == 2 and out["permission"] == "deny" and "not JSON" in err


def test_too_many_urls_are_blocked_not_partly_checked(env: Env) -> None:
    prompt = " ".join(f"https://h{i}.example.com/" for i in range(40))
    code, out, err = env.hook("gemini", gemini("web_fetch", {"prompt": prompt}, env))
    assert code == 2 and out["decision"] == "deny" and "at most 32" in err


def test_a_policy_that_does_not_load_blocks(env: Env) -> None:
    bad = env.ws / "bad.policy"
    bad.write_text("rule a: dney exec ls\n", encoding="utf-8")
    code, out, err = env.hook("claude", claude("Bash", {"command": "ls"}, env), "--policy", str(bad))
    assert code == 2 and out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "policy" in err


def test_a_config_that_cannot_be_read_blocks(env: Env) -> None:
    code, out, err = env.hook("claude", claude("Bash", {"command": "ls"}, env), "--config", str(env.ws / "none.toml"))
    assert code == 2 and out["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "the policy cannot be loaded" in err and "none.toml" in err


def test_unknown_agent_and_misused_options(env: Env) -> None:
    r = env.run("hook", "vim", stdin=b"{}")
    assert r.returncode == 2 and b"no agent 'vim'" in r.stderr
    r = env.run("hook", "claude", "--dry-run", stdin=b"{}")
    assert r.returncode == 2 and b"go with 'hook install AGENT'" in r.stderr


# ---- the tables --------------------------------------------------------------------------------

def test_every_shipped_table_loads() -> None:
    assert agent_names() == ["claude", "cursor", "gemini"]
    for name in agent_names():
        agent = load_agent(name)
        assert agent.events and agent.reference


@pytest.mark.parametrize("change,why", [
    (lambda d: d["decisions"].update(sandbox="allow"), "sandbox cannot be allowed"),
    (lambda d: d["events"]["PreToolUse"].update(decisions={"ask": "allow"}), "only allow may be rendered"),
    (lambda d: d["tools"]["Bash"].update(kind="shell"), "kind must be one of"),
    (lambda d: d["tools"]["Read"].update(paths="x"), "unknown key"),
    (lambda d: d["events"]["PreToolUse"].update(output={"x": "{decision} now"}), "a placeholder is a whole string"),
    (lambda d: d["error"].update(exit=0), "non-zero blocking exit"),
    (lambda d: d["tools"]["Read"].pop("path"), "missing key path"),
])
def test_a_malformed_table_is_refused(change: Any, why: str) -> None:
    import tomllib
    from importlib.resources import files

    data = tomllib.loads((files("policylang.adapters.hooks") / "data" / "claude.toml").read_text(encoding="utf-8"))
    change(data)
    with pytest.raises(SpecError, match=why):
        _agent("claude", data)


# ---- hook install ------------------------------------------------------------------------------

def test_install_claude_project_diff_then_idempotent(env: Env) -> None:
    settings = env.ws / ".claude" / "settings.json"
    r = env.run("hook", "install", "claude")
    assert r.returncode == 0, r.stderr
    out = r.stdout.decode()
    assert out.startswith("--- /dev/null\n+++ " + str(settings))
    assert '+    "PreToolUse": [' in out
    data = json.loads(settings.read_text(encoding="utf-8"))
    entry = data["hooks"]["PreToolUse"][0]
    assert entry["matcher"] == "*" and entry["hooks"][0]["type"] == "command"
    assert entry["hooks"][0]["command"].endswith(" hook claude")
    before = settings.read_bytes()
    r = env.run("hook", "install", "claude")
    assert r.returncode == 0 and b"already installed (no change)" in r.stdout
    assert b"---" not in r.stdout and settings.read_bytes() == before


def test_install_keeps_the_rest_of_the_users_file(env: Env) -> None:
    settings = env.ws / ".claude" / "settings.json"
    settings.parent.mkdir()
    mine = {"permissions": {"allow": ["Bash(npm test)"]}, "model": "x",
            "hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "fmt.sh"}]}],
                      "Stop": [{"hooks": [{"type": "command", "command": "done.sh"}]}]}}
    settings.write_text(json.dumps(mine, indent=4), encoding="utf-8")
    os.chmod(settings, 0o600)
    r = env.run("hook", "install", "claude", "--project")
    assert r.returncode == 0, r.stderr
    data = json.loads(settings.read_text(encoding="utf-8"))
    assert data["permissions"] == mine["permissions"] and data["model"] == "x"
    assert data["hooks"]["Stop"] == mine["hooks"]["Stop"]
    assert data["hooks"]["PreToolUse"][0] == mine["hooks"]["PreToolUse"][0]
    assert len(data["hooks"]["PreToolUse"]) == 2
    assert settings.stat().st_mode & 0o777 == 0o600  # its permissions are kept
    assert not [p for p in settings.parent.iterdir() if p.name.startswith(".policylang-")]  # no temporary left


def test_install_edits_a_linked_settings_file_in_place(env: Env) -> None:
    """Settings kept in a dotfiles repository and linked into place stay linked; a hard link sees the edit."""
    dotfiles = env.home / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "claude-settings.json"
    real.write_text('{"model": "x"}\n', encoding="utf-8")
    twin = dotfiles / "twin.json"
    os.link(real, twin)
    settings = env.ws / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.symlink_to(real)
    r = env.run("hook", "install", "claude")
    assert r.returncode == 0, r.stderr
    assert settings.is_symlink() and os.readlink(settings) == str(real)
    data = json.loads(real.read_text(encoding="utf-8"))
    assert data["model"] == "x" and data["hooks"]["PreToolUse"][0]["hooks"][0]["command"].endswith(" hook claude")
    assert twin.read_text(encoding="utf-8") == real.read_text(encoding="utf-8")


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"hooks": {"PreToolUse": {"matcher": "*"}}}'])
def test_install_refuses_a_settings_file_it_cannot_edit(env: Env, text: str) -> None:
    settings = env.ws / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(text, encoding="utf-8")
    r = env.run("hook", "install", "claude")
    assert r.returncode == 2 and b"cannot edit" in r.stderr and b"then run this again" in r.stderr
    assert settings.read_text(encoding="utf-8") == text


def test_install_dry_run_writes_nothing(env: Env) -> None:
    r = env.run("hook", "install", "gemini", "--dry-run")
    assert r.returncode == 0 and b'+    "BeforeTool": [' in r.stdout and b"dry run" in r.stdout
    assert not (env.ws / ".gemini").exists()


def test_install_user_cursor_and_gemini(env: Env) -> None:
    r = env.run("hook", "install", "cursor", "--user")
    assert r.returncode == 0, r.stderr
    data = json.loads((env.home / ".cursor" / "hooks.json").read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert sorted(data["hooks"]) == ["beforeMCPExecution", "beforeReadFile", "beforeShellExecution"]
    assert all(e[0]["failClosed"] is True for e in data["hooks"].values())
    r = env.run("hook", "install", "gemini")
    assert r.returncode == 0, r.stderr
    data = json.loads((env.ws / ".gemini" / "settings.json").read_text(encoding="utf-8"))
    assert data["hooks"]["BeforeTool"][0]["matcher"] == ".*"


def test_the_installed_command_answers(env: Env) -> None:
    """The command written into the settings file runs (as an argv) and answers the agent."""
    env.run("hook", "install", "claude")
    data = json.loads((env.ws / ".claude" / "settings.json").read_text(encoding="utf-8"))
    argv = shlex.split(data["hooks"]["PreToolUse"][0]["hooks"][0]["command"])
    r = subprocess.run(argv, check=False, input=json.dumps(claude("Read", {"file_path": "{home}/.ssh/id_rsa"}, env)).encode(),
                       capture_output=True, env=env.env(), cwd=env.ws, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_install_usage_errors(env: Env) -> None:
    assert env.run("hook", "install").returncode == 2
    r = env.run("hook", "install", "vim")
    assert r.returncode == 2 and b"no agent 'vim'" in r.stderr
    r = env.run("hook", "install", "claude", "--project", "--user")
    assert r.returncode == 2


# ---- the hook's start-up -----------------------------------------------------------------------

_IMPORTS = """
import sys
from policylang.adapters.cli import main
code = main(["hook", "claude"])
print(code, sorted(m for m in sys.argv[1:] if m in sys.modules), file=sys.stderr)
"""
# Never on a hook call's path (with the compiled policy cached): the policy parser, TOML, argparse,
# ctypes (and ldconfig), importlib.resources; each costs milliseconds of every tool call.
NEVER = ("argparse", "tomllib", "lark", "jsonschema", "celpy", "tree_sitter", "ctypes", "importlib.resources",
         "policylang.lang.parse", "policylang.config.loader")
# Nor dataclasses (with inspect) nor hashlib (with OpenSSL); nor, for a file tool, the shell analysis.
NEVER += ("dataclasses", "inspect", "hashlib")
# Nor the catalog's TOML loader (its models come from the cache), nor base64 (its decoders import it).
NEVER += ("policylang.analysis.catalog.load", "policylang.analysis.catalog.grammar", "base64")
FILE_TOOL = ("policylang.analysis.shell",)


@pytest.mark.parametrize("tool,tool_input,never", [
    ("Bash", {"command": "git status"}, NEVER),
    ("Read", {"file_path": "{ws}/a.py"}, NEVER + FILE_TOOL),
    ("Write", {"file_path": "{ws}/a.py", "content": f"x = 1\nk = '{TOKEN}'\n"}, NEVER + FILE_TOOL),
    ("Edit", {"file_path": "{ws}/a.py", "old_string": "1", "new_string": "2"}, NEVER + FILE_TOOL),
])
def test_a_hook_call_imports_nothing_it_does_not_need(env: Env, tool: str, tool_input: dict[str, Any],
                                                      never: tuple[str, ...]) -> None:
    data = json.dumps(claude(tool, tool_input, env)).encode()
    env.hook("claude", data)  # the caches, once
    r = subprocess.run([sys.executable, "-c", _IMPORTS, *never], check=False, input=data, capture_output=True, env=env.env(),
                       cwd=env.ws, timeout=120)
    assert r.stderr.decode().strip().splitlines()[-1] == "0 []", r.stderr.decode()
