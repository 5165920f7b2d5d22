"""Exit codes, JSON errors, --version and colour of the CLI, as real processes (docs/cli.md).

Every process runs with a scratch HOME and no POLICYLANG_* variable; commands are passed as argv
words and never run (the engine only analyses them).
"""
from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

import policylang

ALLOW, DENY, USAGE, ASK, SANDBOX, POLICY = 0, 1, 2, 3, 4, 5


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / "project").mkdir(parents=True)
    return h


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_") and k != "NO_COLOR"}
    env.update(HOME=str(home), POLICYLANG_NO_CACHE="1", **extra)
    return env


def run(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "policylang", *args], capture_output=True, text=True,
                          env=_env(home, **extra), cwd=home / "project", timeout=120)


@pytest.fixture()
def sandbox_policy(home: Path) -> Path:
    f = home / "sandbox.policy"
    f.write_text("rule py.sandbox: sandbox exec python3 ...\n", encoding="utf-8")
    return f


@pytest.mark.parametrize("command, code", [
    ("git status", ALLOW),
    ("rm -rf /", DENY),
    ("curl https://example.com", ASK),
    ("python3 script.py", SANDBOX),
])
@pytest.mark.parametrize("verb", ["decide", "explain"])
def test_a_verdict_exits_with_its_own_code(home: Path, sandbox_policy: Path, verb: str, command: str,
                                           code: int) -> None:
    p = run(home, verb, "--policy", str(sandbox_policy), command)
    assert p.returncode == code, p.stdout + p.stderr


def test_the_json_verdict_and_the_exit_code_agree(home: Path, sandbox_policy: Path) -> None:
    for command, label in (("git status", "allow"), ("python3 x.py", "sandbox"), ("rm -rf /", "deny"),
                           ("curl https://example.com", "ask")):
        p = run(home, "decide", "--json", "--policy", str(sandbox_policy), command)
        assert json.loads(p.stdout)["decision"] == label
        assert p.returncode == {"allow": ALLOW, "sandbox": SANDBOX, "ask": ASK, "deny": DENY}[label]


def test_a_policy_that_does_not_compile_is_5_not_a_deny(home: Path) -> None:
    bad = home / "bad.policy"
    bad.write_text("rule a: dney exec ls\n", encoding="utf-8")
    for verb in ("decide", "explain"):
        p = run(home, verb, "--policy", str(bad), "ls")
        assert p.returncode == POLICY, p.stderr
        assert p.stdout == ""
        assert f"{bad}:1:9: error" in p.stderr
    p = run(home, "check", str(bad))
    assert p.returncode == POLICY
    p = run(home, "test", str(bad))
    assert p.returncode == POLICY


@pytest.mark.parametrize("verb", [["decide"], ["policy", "show"]])
def test_a_bad_config_is_5(home: Path, verb: list[str]) -> None:
    cfg = home / "config.toml"
    cfg.write_text('[security]\nmode = "aprove"\n', encoding="utf-8")
    p = run(home, *verb, "--config", str(cfg), *(["ls"] if verb == ["decide"] else []))
    assert p.returncode == POLICY, p.stderr
    assert "aprove" in p.stderr


@pytest.mark.parametrize("args", [
    ["decide"], ["decide", "--mode", "yolo", "ls"], ["frobnicate"], ["check", "--format", "yaml"],
    ["decide", "--config", "/nonexistent/config.toml", "ls"], ["test", "/nonexistent/x.policy"],
])
def test_usage_errors_are_2(home: Path, args: list[str]) -> None:
    assert run(home, *args).returncode == USAGE


@pytest.mark.parametrize("args, kind", [
    (["decide", "--json", "--policy", "{bad}", "ls"], "policy"),
    (["explain", "--format", "json", "--policy", "{bad}", "ls"], "policy"),
    (["explain", "--format=json", "--config", "{cfg}", "ls"], "config"),
    (["policy", "show", "--format", "json", "--config", "{cfg}"], "config"),
    (["test", "--format", "json", "{bad}"], "policy"),
    (["decide", "--json", "--mode", "yolo", "ls"], "usage"),
    (["check", "--format", "json", "/nonexistent/config.toml"], "usage"),
    (["decide", "--jsonl", "-", "--config", "/nonexistent/c.toml"], "usage"),
])
def test_json_output_is_json_even_for_errors(home: Path, args: list[str], kind: str) -> None:
    bad = home / "bad.policy"
    bad.write_text('rule a: deny exec ls\n    mesage "x"\n', encoding="utf-8")
    cfg = home / "config.toml"
    cfg.write_text('[security]\nmode = "aprove"\n', encoding="utf-8")
    argv = [a.format(bad=bad, cfg=cfg) for a in args]
    p = run(home, *argv)
    assert p.returncode == (USAGE if kind == "usage" else POLICY), p.stderr
    data = json.loads(p.stdout)
    assert data["ok"] is False
    err = data["error"]
    assert err["kind"] == kind and err["message"]
    if kind == "policy":
        assert (err["file"], err["line"], err["column"]) == (str(bad), 2, 5)
        assert err["diagnostics"][0]["code"] == "unknown-keyword"
    if kind == "config":
        assert err["file"] == str(cfg) and err["line"] == 2


def test_check_exit_codes(home: Path) -> None:
    good = home / "good.policy"
    good.write_text('rule a: deny exec ls -R ...\nexample deny "ls -R /"\n', encoding="utf-8")
    assert run(home, "check", str(good)).returncode == ALLOW
    failing = home / "failing.policy"
    failing.write_text('rule a: allow exec ls ...\nexample deny "ls"\n', encoding="utf-8")
    p = run(home, "check", "--format", "json", str(failing))
    assert p.returncode == POLICY
    assert json.loads(p.stdout)["errors"] == 1


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(home: Path, flag: str) -> None:
    p = run(home, flag)
    assert p.returncode == 0
    assert p.stdout == f"policylang {policylang.__version__}\n"


def test_help_lists_the_exit_codes(home: Path) -> None:
    p = run(home, "--help")
    assert p.returncode == 0
    assert "5 policy or config error" in p.stdout and "--version" in p.stdout


def _on_a_terminal(home: Path, *args: str, **extra: str) -> str:
    """The stdout of ``policylang ARGS`` written to a pseudo-terminal."""
    main, sub = pty.openpty()
    try:
        p = subprocess.run([sys.executable, "-m", "policylang", *args], stdout=sub, stderr=subprocess.PIPE,
                           env=_env(home, TERM="xterm", **extra), cwd=home / "project", timeout=120)
        os.close(sub)
        sub = -1
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        assert p.returncode in (ALLOW, DENY, POLICY), p.stderr
        return b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(main)
        if sub >= 0:
            os.close(sub)


def test_colour_on_a_terminal_only(home: Path) -> None:
    out = _on_a_terminal(home, "decide", "rm -rf /")
    assert "\x1b[31mdeny\x1b[0m" in out
    assert "\x1b[" not in _on_a_terminal(home, "decide", "rm -rf /", NO_COLOR="1")
    piped = run(home, "decide", "rm -rf /")
    assert "\x1b[" not in piped.stdout and piped.stdout.startswith("deny (risk critical)")


def test_colour_in_check_on_a_terminal_only(home: Path) -> None:
    bad = home / "bad.policy"
    bad.write_text("rule a: dney exec ls\n", encoding="utf-8")
    assert "\x1b[31merror\x1b[0m[unknown-keyword]" in _on_a_terminal(home, "check", str(bad))
    assert "\x1b[" not in run(home, "check", str(bad)).stdout


def test_colour_in_explain_on_a_terminal_only(home: Path) -> None:
    assert "\x1b[32mallow\x1b[0m" in _on_a_terminal(home, "explain", "git status")
    assert "\x1b[" not in run(home, "explain", "git status").stdout


def test_docs_cli_lists_every_command_option_and_exit_code() -> None:
    """docs/cli.md stays true: every subcommand, every option and every exit code is in it."""
    import argparse

    from policylang.adapters import cli_codes
    from policylang.adapters.cli import build_parser

    doc = (Path(__file__).resolve().parent.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, sub in subparsers.choices.items():
        if f"### {name}" not in doc and f", {name}\n" not in doc:
            missing.append(name)
        for action in sub._actions:
            for opt in action.option_strings:
                if opt.startswith("--") and opt != "--help" and f"`{opt}" not in doc and f" {opt}" not in doc:
                    missing.append(f"{name} {opt}")
    assert not missing, missing
    for code in (cli_codes.EXIT_ALLOW, cli_codes.EXIT_DENY, cli_codes.EXIT_USAGE, cli_codes.EXIT_ASK,
                 cli_codes.EXIT_SANDBOX, cli_codes.EXIT_POLICY):
        assert f"\n| {code} | " in doc
