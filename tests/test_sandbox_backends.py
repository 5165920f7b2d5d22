"""The sandbox backends for real: each one that can run on this machine runs harmless commands
(touch, cat, a Python one-liner) and must keep writes in the workspace, hide the credential files,
cut the network, make /tmp private, keep the guard's files read-only and apply the limits.

A backend the machine cannot run (not installed, no user namespaces, a setuid helper that
refuses) is skipped with the reason.  Everything lives in a scratch directory outside /tmp, so that
the private /tmp of a sandbox does not make a check pass by itself; HOME is a directory in it.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from policylang.sandbox.backends import detect
from policylang.sandbox.build import wrap
from policylang.sandbox.plan import Plan, hidden_paths, readonly_paths
from policylang.settings import SandboxLimits, SandboxSettings

SCRATCH = Path(__file__).resolve().parent.parent / "build"
BACKENDS = ["bwrap", "firejail", "unshare"]
SECRET = "made-up-private-key-for-the-sandbox-test"
# The probes need only the standard library: the base interpreter, not a virtualenv's link to it,
# which may sit under /tmp (a checkout there), where a sandbox's private /tmp does not show it.
PY = os.path.realpath(sys.executable)


@cache
def why_not(name: str) -> str | None:
    """None when the backend runs ``true`` here; else why not."""
    backend = detect(SandboxSettings(backend=name))
    if backend is None:
        return f"{name} is not installed"
    with tempfile.TemporaryDirectory() as d:
        plan = Plan(d, d, d, limits=SandboxLimits())
        try:
            p = subprocess.run(list(wrap(backend, ["true"], plan).argv), capture_output=True, text=True, timeout=60,
                               env={"HOME": d, "PATH": "/usr/bin:/bin"}, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{name} cannot start: {exc}"
    return None if p.returncode == 0 else f"{name} cannot start here: {p.stderr.strip()[-300:]}"


class Box:
    """A home with credentials, a workspace, a directory outside it, and a way to run in the sandbox."""

    def __init__(self, root: Path, backend: str, workspace_is_home: bool):
        self.root = root
        self.home = root / "home"
        self.ws = self.home if workspace_is_home else self.home / "project"
        self.outside = root / "outside"
        for d in (self.home / ".ssh", self.ws / ".policylang", self.ws / ".git" / "hooks", self.outside):
            d.mkdir(parents=True, exist_ok=True)
        (self.home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
        (self.home / ".netrc").write_text(f"machine example.com password {SECRET}\n")
        (self.ws / ".env").write_text(f"API_TOKEN={SECRET}\n")
        (self.ws / ".policylang" / "project.policy").write_text("# the project's policy\n")
        self.backend = detect(SandboxSettings(backend=backend))

    def run(self, argv: list[str], **limits: object) -> subprocess.CompletedProcess[str]:
        assert self.backend is not None
        hidden = hidden_paths(["~/.ssh/id_*", "**/.netrc", "~/.aws/credentials", "**/.env"], str(self.home),
                              str(self.ws))
        readonly = readonly_paths(["$WORKSPACE/.policylang/**", "**/.git/hooks/**", "~/.ssh/authorized_keys"],
                                  str(self.home), str(self.ws), hidden)
        plan = Plan(str(self.ws), str(self.ws), str(self.home), hidden, readonly,
                    SandboxLimits(**limits))  # type: ignore[arg-type]
        env = {"HOME": str(self.home), "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
        return subprocess.run(list(wrap(self.backend, argv, plan).argv), capture_output=True, text=True, timeout=120,
                              env=env, cwd=str(self.ws), check=False)


@pytest.fixture(params=BACKENDS)
def box(request: pytest.FixtureRequest) -> Iterator[Box]:
    reason = why_not(request.param)
    if reason is not None:
        print(f"skipped: {reason}", file=sys.stderr)
        pytest.skip(reason)
    SCRATCH.mkdir(exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="sandbox-test-", dir=SCRATCH))
    try:
        yield Box(root, request.param, workspace_is_home=False)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_write_inside_the_workspace_succeeds_and_one_outside_fails(box: Box) -> None:
    inside, outside = box.ws / "made-inside", box.outside / "made-outside"
    assert box.run(["touch", str(inside)]).returncode == 0
    assert inside.exists()
    assert box.run(["touch", str(outside)]).returncode != 0
    assert not outside.exists()


def test_the_credential_files_are_not_there(box: Box) -> None:
    for path in (box.home / ".ssh" / "id_rsa", box.home / ".netrc", box.ws / ".env"):
        p = box.run(["cat", str(path)])
        assert SECRET not in p.stdout, path
    assert box.run(["cat", str(box.home / ".ssh" / "id_rsa")]).returncode != 0


def test_the_credential_files_are_hidden_when_the_workspace_is_the_home(box: Box) -> None:
    whole = Box(box.root / "second", box.backend.name if box.backend else "", workspace_is_home=True)
    p = whole.run(["cat", str(whole.home / ".ssh" / "id_rsa"), str(whole.home / ".netrc")])
    assert SECRET not in p.stdout
    assert whole.run(["touch", str(whole.home / ".ssh" / "authorized_keys")]).returncode != 0
    assert not (whole.home / ".ssh" / "authorized_keys").exists()
    assert (whole.home / ".ssh" / "id_rsa").read_text() == SECRET + "\n"  # the host's copy is untouched


def test_the_network_is_unreachable_unless_allowed(box: Box) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        port = str(listener.getsockname()[1])
        connect = [PY, "-c", "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 5)", port]
        assert box.run(connect).returncode != 0
        assert box.run(connect, network=True).returncode == 0, "the control: the same probe with the network on"


def test_tmp_is_private(box: Box) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write("host tmp file\n")
        f.flush()
        assert Path(f.name).read_text() == "host tmp file\n"
        p = box.run(["cat", f.name])
        assert p.returncode != 0 and "host tmp file" not in p.stdout


def test_shared_memory_works_and_is_private(box: Box) -> None:
    name = f"/dev/shm/policylang-test-{os.getpid()}-{box.root.name}"
    assert box.run(["touch", name]).returncode == 0  # what multiprocessing and many test runners need
    assert not os.path.exists(name)


def test_the_kernel_trees_are_read_only(box: Box) -> None:
    assert box.run(["touch", "/sys/fs/cgroup/policylang-test"]).returncode != 0
    assert not os.path.exists("/sys/fs/cgroup/policylang-test")


@pytest.mark.parametrize("target", [".policylang/loosened.policy", ".git/hooks/pre-commit"])
def test_the_guard_files_and_git_hooks_in_the_workspace_stay_read_only(box: Box, target: str) -> None:
    path = box.ws / target
    assert box.run(["touch", str(path)]).returncode != 0
    assert not path.exists()
    assert box.run(["touch", str(box.ws / "beside")]).returncode == 0  # the control: the workspace is writable
    assert box.run(["cat", str(box.ws / ".policylang" / "project.policy")]).returncode == 0


def test_the_file_size_limit_bites(box: Box) -> None:
    big = box.ws / "big"
    write = [PY, "-c", "open('big', 'wb').write(b'0' * (3 << 20))"]
    assert box.run(write, max_file_size_mb=1).returncode != 0
    assert big.stat().st_size <= 1 << 20
    big.unlink()
    assert box.run(write, max_file_size_mb=8).returncode == 0, "the control: under the limit"
    assert big.stat().st_size == 3 << 20


def test_the_open_files_limit_bites(box: Box) -> None:
    opens = [PY, "-c", "fs = [open('/dev/null') for _ in range(200)]"]
    assert box.run(opens, max_open_files=64).returncode != 0
    assert box.run(opens, max_open_files=512).returncode == 0


def test_the_memory_limit_bites(box: Box) -> None:
    grab = [PY, "-c", "b = bytearray(400 << 20)"]  # 400 MB of address space
    assert box.run(grab, memory_mb=200).returncode != 0
    assert box.run(grab, memory_mb=2048).returncode == 0, "the control: under the limit"


def test_no_capability_and_no_new_privileges(box: Box) -> None:
    status = dict(line.split(":\t", 1) for line in box.run(["cat", "/proc/self/status"]).stdout.splitlines()
                  if ":\t" in line)
    assert status["NoNewPrivs"].strip() == "1"
    for field in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert int(status[field], 16) == 0, field
