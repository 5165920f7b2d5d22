"""``policylang run`` as a real process (adapters/cli_run.py, adapters/executor.py): an allowed
command runs and its exit code passes through, a denied one does not run (exit 126, no marker
file), an ask is denied without a terminal and asked on one, a sandbox verdict runs inside
bubblewrap, a timeout stops the run (124), a backend that fails does not lead to an unsandboxed run,
and every run leaves a decision and an outcome in the audit log, whose chain still verifies.

Only harmless commands run: true, false, exit, echo, touch and a Python probe in a scratch
workspace, with HOME in the scratch directory.
"""
from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clirun import run_cli
from test_sandbox_backends import SCRATCH, SECRET, why_not

PROBE = f"""\
import sys, time
try:
    text = open(sys.argv[1]).read()
except OSError as e:
    text = "unreadable: " + e.strerror
open("result.txt", "w").write("secret seen" if {SECRET!r} in text else "secret not seen: " + text)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
sys.exit(5)
"""


class Setup:
    def __init__(self, root: Path):
        self.root = root
        self.home = root / "home"
        self.ws = self.home / "project"
        (self.home / ".ssh").mkdir(parents=True)
        self.ws.mkdir()
        (self.home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
        (self.ws / "probe.py").write_text(PROBE)
        self.audit = root / "audit" / "audit.jsonl"
        self.config = root / "config.toml"

    def configure(self, security: str = "", sandbox: str = "", limits: str = "") -> str:
        self.config.write_text(f'[security]\n{security}\n[security.sandbox]\n{sandbox}\n'
                               f'[security.sandbox.limits]\n{limits}\n[security.audit]\npath = "{self.audit}"\n')
        return str(self.config)

    def run(self, *words: str, env: dict[str, str] | None = None, timeout: float = 60) -> tuple[int, str, str]:
        r = run_cli(["run", "--config", str(self.config), *words], str(self.home), cwd=str(self.ws), env=env,
                    timeout=timeout)
        assert not r.timed_out and "Traceback" not in r.err, r.err
        return r.code, r.out, r.err

    def records(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.audit.read_text().splitlines()]

    def outcome(self) -> dict[str, object]:
        last = self.records()[-1]
        assert last["event"] == "outcome"
        decision = [r for r in self.records() if r["event"] == "decision"][-1]
        assert decision["decision_id"] == last["decision_id"]
        return last["outcome"]  # type: ignore[return-value]

    def verified(self) -> bool:
        r = run_cli(["audit", "verify", "--config", str(self.config)], str(self.home), cwd=str(self.ws))
        return r.code == 0 and r.out.startswith("valid")


@pytest.fixture
def setup() -> Iterator[Setup]:
    SCRATCH.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="cli-run-", dir=SCRATCH))  # outside /tmp, which a sandbox replaces
    try:
        yield Setup(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("words, code, out", [
    (["true"], 0, ""),
    (["false"], 1, ""),
    (["exit 7"], 7, ""),  # one word: shell text
    (["echo", "hello"], 0, "hello\n"),  # several: an argv
    (["echo hello; exit 3"], 3, "hello\n"),
])
def test_an_allowed_command_runs_and_its_exit_code_passes_through(setup: Setup, words: list[str], code: int,
                                                                  out: str) -> None:
    setup.configure()
    assert setup.run("--", *words)[:2] == (code, out)
    outcome = setup.outcome()
    assert outcome["executed"] is True and outcome["exit_code"] == code and outcome["sandbox"] is None
    assert isinstance(outcome["duration_ms"], int)
    assert setup.verified()


def test_a_denied_command_does_not_run_and_exits_126(setup: Setup) -> None:
    setup.configure('denylist_patterns = ["^touch "]')
    code, out, err = setup.run("--", "touch marker")
    assert code == 126 and out == ""
    assert not (setup.ws / "marker").exists()
    assert "config.denylist.1" in err and "denied by denylist pattern" in err
    assert setup.outcome() == {"executed": False, "exit_code": None, "duration_ms": None, "sandbox": None,
                               "timed_out": False, "reason": "denied"}
    assert setup.verified()


@pytest.mark.parametrize("extra", [[], ["--headless"]])
def test_an_ask_without_a_terminal_is_denied(setup: Setup, extra: list[str]) -> None:
    setup.configure('mode = "approve"')  # touch in the workspace: medium risk, asked
    code, _, err = setup.run(*extra, "--", "touch", "marker")
    assert code == 126
    assert not (setup.ws / "marker").exists()
    assert "default:headless" in err
    assert setup.records()[-2]["result"]["decision"] == "deny"  # type: ignore[index]


def _with_terminal(setup: Setup, answer: bytes) -> tuple[int, str]:
    """Run ``policylang run -- touch marker`` with a terminal on stdin and answer its question."""
    main, secondary = pty.openpty()
    env = {"HOME": str(setup.home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "NO_COLOR": "1",
           "XDG_CACHE_HOME": str(setup.home / ".cache"), **({"PYTHONPATH": os.environ["PYTHONPATH"]}
                                                           if "PYTHONPATH" in os.environ else {})}
    proc = subprocess.Popen([sys.executable, "-m", "policylang", "run", "--config", str(setup.config), "--",
                             "touch", "marker"], stdin=secondary, stdout=subprocess.PIPE, stderr=secondary,
                            cwd=str(setup.ws), env=env)
    os.close(secondary)
    seen = b""
    deadline = time.monotonic() + 60
    while b"[y/N]" not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 1)
        if ready:
            try:
                seen += os.read(main, 4096)
            except OSError:
                break
    os.write(main, answer)
    proc.wait(60)
    os.close(main)
    return proc.returncode, seen.decode("utf-8", "replace")


@pytest.mark.parametrize("answer, runs", [(b"y\n", True), (b"yes\n", True), (b"\n", False), (b"n\n", False),
                                          (b"sure\n", False)])
def test_an_ask_on_a_terminal_runs_only_when_approved(setup: Setup, answer: bytes, runs: bool) -> None:
    setup.configure('mode = "approve"')
    code, shown = _with_terminal(setup, answer)
    assert "[y/N]" in shown and "touch marker" in shown
    assert (setup.ws / "marker").exists() is runs
    assert code == (0 if runs else 126)
    assert setup.outcome()["executed"] is runs


def _needs_bwrap() -> None:
    reason = why_not("bwrap")
    if reason is not None:
        pytest.skip(reason)


def test_a_sandbox_verdict_runs_inside_bubblewrap(setup: Setup) -> None:
    _needs_bwrap()
    secret = str(setup.home / ".ssh" / "id_rsa")
    setup.configure('mode = "approve"', 'enabled = true\nbackend = "bwrap"')
    code, _, _ = setup.run("--", "python3", "probe.py", secret)
    assert code == 5  # the probe's own exit code
    assert (setup.ws / "result.txt").read_text().startswith("secret not seen")
    assert setup.records()[-2]["result"]["decision"] == "sandbox"  # type: ignore[index]
    outcome = setup.outcome()
    assert outcome["executed"] is True and outcome["exit_code"] == 5 and outcome["sandbox"] == "bwrap"
    assert setup.verified()
    # the control: allowed outright (execute mode), the same probe runs unsandboxed and sees the key
    setup.configure('mode = "execute"')
    assert setup.run("--", "python3", "probe.py", secret)[0] == 5
    assert (setup.ws / "result.txt").read_text() == "secret seen"
    assert setup.outcome()["sandbox"] is None


def test_a_sandboxed_run_is_stopped_at_its_time_limit(setup: Setup) -> None:
    _needs_bwrap()
    setup.configure('mode = "approve"', 'enabled = true\nbackend = "bwrap"', "timeout_seconds = 1")
    start = time.monotonic()
    code, _, err = setup.run("--", "python3", "probe.py", "/nonexistent", "30")
    assert code == 124 and time.monotonic() - start < 20
    assert "stopped after 1 seconds" in err
    outcome = setup.outcome()
    assert outcome["timed_out"] is True and outcome["executed"] is True and outcome["sandbox"] == "bwrap"


def test_a_backend_that_fails_to_start_does_not_lead_to_an_unsandboxed_run(setup: Setup) -> None:
    fake = setup.root / "bin"
    fake.mkdir()
    (fake / "bwrap").write_text("#!/bin/sh\necho 'bwrap: cannot start here' >&2\nexit 1\n")
    (fake / "bwrap").chmod(0o755)
    setup.configure('mode = "approve"', 'enabled = true\nbackend = "bwrap"')
    code, _, err = setup.run("--", "touch", "marker", env={"PATH": f"{fake}:/usr/bin:/bin"})
    assert code == 126 and "cannot start here" in err  # did not run: not the backend's 1 as the command's
    assert "the sandbox did not start: bwrap exited 1" in err
    assert not (setup.ws / "marker").exists()
    outcome = setup.outcome()
    assert outcome["sandbox"] == "bwrap" and outcome["executed"] is False and outcome["exit_code"] is None
    assert outcome["reason"] == "the sandbox did not start: bwrap exited 1 before the command ran"
    assert setup.verified()


def test_a_real_bwrap_that_fails_in_its_set_up_is_recorded_as_not_run(setup: Setup) -> None:
    """A working directory under /tmp, outside the configured workspace, exists on the host but not
    inside the sandbox (its /tmp is a fresh tmpfs): bwrap's own --chdir fails before the command."""
    _needs_bwrap()
    setup.configure(f'mode = "approve"\nworkspace = "{setup.ws}"', 'enabled = true\nbackend = "bwrap"')
    elsewhere = Path(tempfile.mkdtemp(prefix="policylang-sbx-cwd-", dir="/tmp"))
    try:
        code, _, err = setup.run("--cwd", str(elsewhere), "--", "python3", str(setup.ws / "probe.py"), "/nonexistent")
        assert setup.records()[-2]["result"]["decision"] == "sandbox"  # type: ignore[index]
        assert code == 126, err
        assert "bwrap: Can't chdir" in err
        assert list(elsewhere.iterdir()) == []  # the probe never ran: no result.txt
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
    outcome = setup.outcome()
    assert outcome["executed"] is False and outcome["sandbox"] == "bwrap" and outcome["exit_code"] is None
    assert outcome["reason"] == "the sandbox did not start: bwrap exited 1 before the command ran"


def test_under_exec_strict_the_words_are_the_argv_and_no_shell_runs(setup: Setup) -> None:
    setup.configure("exec_strict = true")
    code, out, _ = setup.run("--", "echo", "a; touch marker")
    assert (code, out) == (0, "a; touch marker\n")
    assert not (setup.ws / "marker").exists()
    code, _, _ = setup.run("--", "echo a; touch marker")  # one word under exec_strict: a program name
    assert code == 126 and not (setup.ws / "marker").exists()


@pytest.mark.parametrize("words", [[], ["--"]])
def test_run_without_a_command_is_a_usage_error(setup: Setup, words: list[str]) -> None:
    setup.configure()
    assert setup.run(*words)[0] == 2


def test_an_interrupted_run_is_stopped_and_recorded(setup: Setup) -> None:
    setup.configure()
    env = {"HOME": str(setup.home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8",
           "XDG_CACHE_HOME": str(setup.home / ".cache"), **({"PYTHONPATH": os.environ["PYTHONPATH"]}
                                                           if "PYTHONPATH" in os.environ else {})}
    proc = subprocess.Popen([sys.executable, "-m", "policylang", "run", "--config", str(setup.config), "--",
                             "sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=str(setup.ws), env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (setup.audit.exists() and "decision" in setup.audit.read_text()):
        time.sleep(0.05)
    time.sleep(0.3)  # the command has started
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - start < 10
    assert proc.returncode == 130 and b"Traceback" not in err
    outcome = setup.outcome()
    assert outcome["reason"] == "interrupted" and outcome["executed"] is True
    assert setup.verified()
