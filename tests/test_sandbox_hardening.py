"""What a sandboxed run must not get, and what its record must say (docs/sandbox.md):

- the credentials of the environment (by name: the catalog's ``secret_variables``; by value: the
  secrets detector), unless ``[security.sandbox] pass_env`` names them (adapters/sandbox_env.py);
- the credential files below the top of the workspace (sandbox/walk.py: ``sub/.env``,
  ``deep/a/b/key.pem``), found by a bounded walk that fails closed;
- a backend that never started the command is recorded as not run, exit 126 (sandbox/build.py's
  ``started``).

The real runs go through ``policylang.run`` with every backend this machine can run (skipped with
the reason otherwise), in a scratch directory outside /tmp with HOME in it; the command is a Python
probe in the workspace that writes what it saw to a file.  The tokens are made up.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_sandbox_backends import BACKENDS, SCRATCH, why_not

import policylang
from policylang.adapters.sandbox_env import is_credential, scrubbed
from policylang.analysis.secretscan import scan
from policylang.sandbox import walk
from policylang.sandbox.build import started
from policylang.sandbox.walk import WalkError, hidden_below
from policylang.settings import SandboxSettings
from policylang.verdict import Decision

GITHUB = "ghp_R8kq2ZtW9xVb4LmN7pQs3YdF6hJc1GaE5uTo"  # made up, in the format the detector knows
AWS_ID = "AKIAQ3EGRL7XK2PZB5NM"  # made up
KEY_TEXT = "made-up-key-material-for-the-walk-test"

PROBE = """\
import json, os, sys
fds = os.listdir("/proc/self/fd")  # 0, 1, 2 and the one listdir itself opens
files = {}
for p in ["sub/.env", "deep/a/b/key.pem", "sub/app.py", ".env"]:
    try:
        files[p] = open(p).read()
    except OSError as e:
        files[p] = "unreadable: " + e.strerror
open("seen.json", "w").write(json.dumps({"env": dict(os.environ), "files": files, "fds": fds}))
sys.exit(3)
"""


# ---- the environment -----------------------------------------------------------------------------

@pytest.mark.parametrize("name, value, credential", [
    ("GITHUB_TOKEN", "anything", True),  # by name
    ("AWS_SECRET_ACCESS_KEY", "x", True),
    ("DB_PASSWORD", "hunter2", True),
    ("OPENAI_API_KEY", "sk-x", True),
    ("NPM_TOKEN", "x", True),
    ("POLICYLANG_AUDIT_KEY", "x", True),
    ("UPLOAD_THING", GITHUB, True),  # by value, under a name of its own
    ("AWS_ACCESS_KEY_ID", AWS_ID, True),
    ("DATABASE_URL", "postgres://app:Zk3pQ9wLx7Rt@db.internal:5432/app", True),  # a password in a URL
    ("PATH", "/usr/local/bin:/usr/bin:/bin", False),
    ("HOME", "/home/dev", False),
    ("LANG", "C.UTF-8", False),
    ("TERM", "xterm-256color", False),
    ("LS_COLORS", "rs=0:di=01;34:ln=01;36", False),
    ("SSH_AUTH_SOCK", "/run/user/1000/ssh-agent", False),  # not a credential; /run is empty inside
    ("KEYBOARD", "us", False),
    ("EDITOR", "vim", False),
])
def test_a_credential_is_told_by_its_name_or_its_value(name: str, value: str, credential: bool) -> None:
    assert is_credential(name, value) is credential


def test_the_made_up_tokens_are_ones_the_detector_knows() -> None:
    assert [f.format for f in scan(GITHUB)] == ["github-pat"]


def test_scrubbing_keeps_the_names_let_through() -> None:
    env = {"PATH": "/usr/bin", "GITHUB_TOKEN": GITHUB, "NPM_TOKEN": "npm-x", "UPLOAD": GITHUB, "LANG": "C"}
    assert scrubbed(env) == ({"PATH": "/usr/bin", "LANG": "C"}, ("GITHUB_TOKEN", "NPM_TOKEN", "UPLOAD"))
    kept, removed = scrubbed(env, ["NPM_TOKEN", "NOT_SET"])
    assert kept == {"PATH": "/usr/bin", "NPM_TOKEN": "npm-x", "LANG": "C"} and removed == ("GITHUB_TOKEN", "UPLOAD")


# ---- the walk ------------------------------------------------------------------------------------

def _tree(root: Path, files: list[str]) -> None:
    for rel in files:
        path = root / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(KEY_TEXT + "\n")


@pytest.fixture
def scratch() -> Iterator[Path]:
    SCRATCH.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="sandbox-hardening-", dir=SCRATCH))
    (root / "home").mkdir()
    (root / "home" / "project").mkdir()
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _config(root: Path, sandbox: str = "", security: str = 'mode = "approve"') -> policylang.Policy:
    config = root / "config.toml"
    config.write_text(f"[security]\n{security}\n[security.audit]\nenabled = false\n[security.sandbox]\n{sandbox}\n")
    return policylang.load(str(config))


# (a file or directory in the workspace, hidden by the sandbox)
WALK_CASES = [
    (".env", True),  # the top, as before
    ("sub/.env", True),
    ("sub/.env.production", True),
    ("deep/a/b/key.pem", True),
    ("conf/credentials", True),
    ("conf/service-account-prod.json", True),
    ("keys/id_rsa", True),
    ("keys/id_rsa.pub", False),
    ("sub/app.py", False),
    ("src/env.py", False),
    ("docs/pem.md", False),
    ("node_modules/pkg/.env", False),  # skipped: installed dependencies
    (".venv/lib/cert.pem", False),  # skipped: a virtualenv (it holds pyvenv.cfg)
    (".git/secrets.json", False),  # skipped: version control's own
]


def test_the_walk_finds_the_credential_files_deeper_in_the_workspace(scratch: Path) -> None:
    ws = scratch / "home" / "project"
    _tree(ws, [rel for rel, _ in WALK_CASES] + [".venv/pyvenv.cfg", "stores/.secrets/inner/token.txt"])
    from policylang.adapters.executor import plan_for

    plan = plan_for(_config(scratch), str(ws), {"HOME": str(scratch / "home"), "PATH": "/usr/bin:/bin"})
    for rel, hidden in WALK_CASES:
        assert (str(ws / rel) in plan.hidden) is hidden, rel
    assert str(ws / "stores" / ".secrets") in plan.hidden  # a directory: hidden whole, its files not listed
    assert not any(p.startswith(str(ws / "stores" / ".secrets") + "/") for p in plan.hidden)


def test_a_user_rule_and_its_negation_are_followed(scratch: Path) -> None:
    ws = scratch / "home" / "project"
    _tree(ws, ["a/.env", "b/deploy.secret", "c/deploy.secret", "c/.env"])
    policy_file = scratch / "extra.policy"
    policy_file.write_text('rule user.secret-files: deny read in ["**/*.secret", "!$WORKSPACE/c/**"] risk high\n')
    policy = _config(scratch, security=f'mode = "approve"\npolicy_files = ["{policy_file}"]')
    from policylang.adapters.executor import plan_for

    plan = plan_for(policy, str(ws), {"HOME": str(scratch / "home")})
    assert [p for p in plan.hidden if p.startswith(str(ws) + "/")] == [
        str(ws / "a" / ".env"), str(ws / "b" / "deploy.secret"),
        str(ws / "c" / ".env"),  # the user rule's negation does not reach the built-in class
    ]  # c/deploy.secret: only the user rule names it, and it excepts c/


def test_a_dangling_link_by_a_credential_name_is_not_hidden(scratch: Path) -> None:
    ws = scratch / "home" / "project"
    (ws / "sub").mkdir()
    (ws / "sub" / ".env").symlink_to(scratch / "nowhere")
    assert hidden_below(str(ws), lambda path, is_dir: path.endswith("/.env")) == ()


@pytest.mark.parametrize("entries, depth, limit, error", [
    (20, 1, {"max_entries": 10}, "more than 10 entries"),
    (5, 1, {"max_entries": 10}, None),
    (1, 12, {"max_depth": 10}, "nested deeper than 10 directories"),
    (1, 8, {"max_depth": 10}, None),
])
def test_the_walk_fails_closed_past_its_bounds(scratch: Path, entries: int, depth: int, limit: dict[str, int],
                                               error: str | None) -> None:
    ws = scratch / "home" / "project"
    deep = ws.joinpath(*["d"] * depth)
    deep.mkdir(parents=True)
    for i in range(entries):
        (deep / f"f{i}").write_text("x")
    if error is None:
        assert hidden_below(str(ws), lambda path, is_dir: False, **limit) == ()  # type: ignore[arg-type]
    else:
        with pytest.raises(WalkError, match=error):
            hidden_below(str(ws), lambda path, is_dir: False, **limit)  # type: ignore[arg-type]


@pytest.mark.parametrize("owner, error", [("self", True), ("other", False)])
def test_a_directory_the_walk_cannot_read_fails_closed_when_its_owner_could_open_it(
        scratch: Path, monkeypatch: pytest.MonkeyPatch, owner: str, error: bool) -> None:
    """Its owner can chmod it inside the writable workspace and read what is in it; another user's
    directory stays as unreadable inside as outside.  (The tests may run as root, who reads any
    directory: the failure to read is simulated, the ownership is real.)"""
    ws = scratch / "home" / "project"
    locked = ws / "locked"
    locked.mkdir()
    if owner == "other":
        if os.getuid() != 0:
            pytest.skip("giving a directory to another user needs root")
        os.chown(locked, 54321, 54321)
    real = os.scandir

    def scandir(path: str) -> object:
        if path == str(locked):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(walk.os, "scandir", scandir)
    if error:
        with pytest.raises(WalkError, match="cannot look into .*locked: Permission denied"):
            hidden_below(str(ws), lambda path, is_dir: False)
    else:
        assert hidden_below(str(ws), lambda path, is_dir: False) == ()


def test_a_workspace_too_large_to_walk_does_not_run(scratch: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = scratch / "home" / "project"
    _tree(ws, [f"f{i}.txt" for i in range(30)])
    (scratch / "bin").mkdir()
    fake = scratch / "bin" / "bwrap"
    fake.write_text("#!/bin/sh\nexit 0\n")  # would "succeed" if it were ever started
    fake.chmod(0o755)
    monkeypatch.setattr(walk, "MAX_ENTRIES", 10)
    policy = _config(scratch).with_settings(sandbox_mode=True, sandbox_available=True,
                                            sandbox=SandboxSettings(backend="bwrap"))
    outcome = policylang.run(["touch", "marker"], policy, cwd=str(ws),
                             env={"HOME": str(scratch / "home"), "PATH": str(scratch / "bin")})
    assert outcome.verdict.decision is Decision.SANDBOX
    assert not outcome.ran and outcome.status == 126
    assert "the sandbox cannot be set up" in (outcome.reason or "") and "more than 10 entries" in (outcome.reason or "")


# ---- the real backends ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sandboxed_command_sees_neither_credentials_nor_nested_secrets(scratch: Path, backend: str) -> None:
    reason = why_not(backend)
    if reason is not None:
        pytest.skip(reason)
    home = scratch / "home"
    ws = home / "project"
    _tree(ws, ["sub/.env", "deep/a/b/key.pem", ".env"])
    (ws / "sub" / "app.py").write_text("print('app')\n")
    (ws / "probe.py").write_text(PROBE)
    policy = _config(scratch, f'enabled = true\nbackend = "{backend}"\npass_env = ["NPM_TOKEN"]')
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "GITHUB_TOKEN": GITHUB,
           "UPLOAD_THING": GITHUB, "AWS_ACCESS_KEY_ID": AWS_ID, "NPM_TOKEN": "npm-made-up-for-the-test",
           "PLAIN": "hello"}
    outcome = policylang.run(["python3", "probe.py"], policy, cwd=str(ws), env=env)
    assert outcome.verdict.decision is Decision.SANDBOX, outcome.verdict
    assert outcome.ran and outcome.status == 3 and outcome.backend == backend, outcome
    seen = json.loads((ws / "seen.json").read_text())
    for name in ("GITHUB_TOKEN", "UPLOAD_THING", "AWS_ACCESS_KEY_ID"):
        assert name not in seen["env"], name
    assert GITHUB not in json.dumps(seen["env"]) and AWS_ID not in json.dumps(seen["env"])
    assert seen["env"]["PATH"] == "/usr/bin:/bin" and seen["env"]["HOME"] == str(home)
    assert seen["env"]["NPM_TOKEN"] == "npm-made-up-for-the-test" and seen["env"]["PLAIN"] == "hello"
    for rel in ("sub/.env", "deep/a/b/key.pem", ".env"):
        assert KEY_TEXT not in seen["files"][rel], rel
    assert seen["files"]["sub/app.py"] == "print('app')\n"
    assert set(seen["fds"]) <= {"0", "1", "2", "3"}  # the backend's status descriptor is not passed on
    # the control: allowed outright (execute mode) the same probe runs as given and sees all of it
    outcome = policylang.run(["python3", "probe.py"], _config(scratch, security='mode = "execute"'), cwd=str(ws),
                             env=env)
    assert outcome.verdict.decision is Decision.ALLOW and outcome.backend is None and outcome.status == 3
    seen = json.loads((ws / "seen.json").read_text())
    assert seen["env"]["GITHUB_TOKEN"] == GITHUB and KEY_TEXT in seen["files"]["deep/a/b/key.pem"]


# ---- did the command start? ----------------------------------------------------------------------

@pytest.mark.parametrize("backend, message", [("bwrap", "bwrap: Can't chdir"),
                                              ("unshare", "policylang-sandbox (unshare):")])
def test_a_real_set_up_failure_is_recorded_as_not_run(scratch: Path, backend: str, message: str,
                                                       capfd: pytest.CaptureFixture[str]) -> None:
    """A working directory under /tmp, outside the configured workspace, is on the host but not in
    the sandbox (its /tmp is a fresh tmpfs): the backend's own set-up fails before the command."""
    reason = why_not(backend)
    if reason is not None:
        pytest.skip(reason)
    ws = scratch / "home" / "project"
    (ws / "probe.py").write_text(PROBE)
    policy = _config(scratch, f'enabled = true\nbackend = "{backend}"',
                     security=f'mode = "approve"\nworkspace = "{ws}"')
    elsewhere = Path(tempfile.mkdtemp(prefix="policylang-sbx-cwd-", dir="/tmp"))
    try:
        outcome = policylang.run(["python3", str(ws / "probe.py")], policy, cwd=str(elsewhere),
                                 env={"HOME": str(scratch / "home"), "PATH": "/usr/bin:/bin"})
        assert list(elsewhere.iterdir()) == []  # the probe never ran
    finally:
        shutil.rmtree(elsewhere, ignore_errors=True)
    assert outcome.verdict.decision is Decision.SANDBOX
    assert not outcome.ran and outcome.status == 126 and outcome.exit_code is None
    assert (outcome.reason or "").startswith(f"the sandbox did not start: {backend} exited ")
    assert message in capfd.readouterr().err

@pytest.mark.parametrize("report, text, code, expected", [
    ("bwrap-json", b'{ "child-pid": 12, "mnt-namespace": 4026532175 }\n{ "exit-code": 1 }\n', 1, True),
    ("bwrap-json", b'{ "child-pid": 12, "mnt-namespace": 4026532175 }\n', 1, False),  # set-up failed
    ("bwrap-json", b"", 1, False),  # never got that far
    ("bwrap-json", b'{ "child-pid": 12 }\n{ "exit-co', 1, False),  # cut short: not a report
    ("ready", b"ready\n", 0, True),
    ("ready", b"ready\nexec-failed\n", 127, False),
    ("ready", b"", 125, False),
    ("engine", b"", 125, False),
    ("engine", b"", 3, True),
    (None, b"", 1, True),  # firejail: nothing tells it apart
])
def test_the_report_of_a_start(report: str | None, text: bytes, code: int, expected: bool) -> None:
    assert started(report, text, code) is expected


# (backend, the fake backend's exit code, ran, status): each fake exits before running anything
FAKE_CASES = [
    ("bwrap", 1, False, 126),  # no exit-code report on its status descriptor
    ("bwrap", 0, False, 126),  # not even when it says 0
    ("unshare", 1, False, 126),  # no "ready" from the set-up
    ("container", 125, False, 126),
    ("container", 3, True, 3),  # the engine ran the container: its code is the command's
    ("firejail", 1, True, 1),  # documented: firejail's own failure cannot be told from the command's
]


@pytest.mark.parametrize("backend, code, ran, status", FAKE_CASES)
def test_a_backend_that_fails_before_the_command_is_recorded_as_not_run(scratch: Path, backend: str, code: int,
                                                                        ran: bool, status: int) -> None:
    ws = scratch / "home" / "project"
    (scratch / "bin").mkdir()
    program = "docker" if backend == "container" else backend
    (scratch / "bin" / program).write_text(f"#!/bin/sh\nexit {code}\n")
    (scratch / "bin" / program).chmod(0o755)
    policy = _config(scratch).with_settings(
        sandbox_mode=True, sandbox_available=True,
        sandbox=SandboxSettings(backend=backend, container_image="img:1" if backend == "container" else None))
    path = scratch / "audit.jsonl"
    from policylang.audit.writer import AuditLog

    log = AuditLog(str(path))
    try:
        outcome = policylang.run(["touch", "marker"], policy, cwd=str(ws),
                                 env={"HOME": str(scratch / "home"), "PATH": str(scratch / "bin")}, audit=log)
    finally:
        log.close()
    assert outcome.verdict.decision is Decision.SANDBOX
    assert (outcome.ran, outcome.status) == (ran, status)
    record = [json.loads(line) for line in path.read_text().splitlines()][-1]
    assert record["event"] == "outcome" and record["outcome"]["executed"] is ran
    if not ran:
        assert record["outcome"]["exit_code"] is None
        assert record["outcome"]["reason"] == f"the sandbox did not start: {backend} exited {code} before the command ran"
