"""The sandbox package without running a sandbox: backend detection and its wiring into the
settings, the paths a plan hides, and the argv each backend builds (policylang/sandbox/)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from policylang.config.loader import load_config
from policylang.frozen import replace
from policylang.sandbox.backends import Backend, detect, find_program, with_backend
from policylang.sandbox.build import SandboxError, wrap
from policylang.sandbox.limits import limited, rlimits
from policylang.sandbox.plan import Plan, hidden_paths, readonly_paths
from policylang.settings import SandboxLimits, SandboxSettings, Settings


def _tool(directory: Path, name: str) -> str:
    """An executable named ``name`` (never run: detection only looks)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/false\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


# ---- detection ----------------------------------------------------------------------------------

@pytest.mark.parametrize("installed, backend, image, expected", [
    (["bwrap", "firejail", "unshare"], "auto", None, "bwrap"),
    (["firejail", "unshare"], "auto", None, "firejail"),
    (["unshare"], "auto", None, "unshare"),
    ([], "auto", None, None),
    (["bwrap", "unshare"], "unshare", None, "unshare"),
    (["bwrap"], "firejail", None, None),  # the one configured, or nothing: never another
    (["bwrap", "docker"], "auto", None, "bwrap"),  # auto never picks a container
    (["docker"], "container", "img:1", "container"),
    (["podman", "docker"], "container", "img:1", "container"),
    (["docker"], "container", None, None),  # no image: no container backend
    (["bwrap"], "container", "img:1", None),
])
def test_detection_finds_the_configured_backend_on_path(tmp_path: Path, installed: list[str], backend: str,
                                                        image: str | None, expected: str | None) -> None:
    for name in installed:
        _tool(tmp_path / "bin", name)
    found = detect(SandboxSettings(backend=backend, container_image=image), {"PATH": str(tmp_path / "bin")})
    assert (found.name if found else None) == expected
    if found is not None and found.name == "container":
        assert os.path.basename(found.program) == ("podman" if "podman" in installed else "docker")


def test_detection_ignores_relative_path_entries_and_files_that_are_not_executable(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "bwrap").write_text("")  # not executable
    _tool(tmp_path / "rel", "bwrap")
    monkeypatch.chdir(tmp_path)
    assert detect(SandboxSettings(), {"PATH": f"rel:{tmp_path / 'plain'}"}) is None


def test_the_loader_sets_sandbox_available_from_path(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[security.sandbox]\nenabled = true\nbackend = "firejail"\n')
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.MonkeyPatch.context() as m:
        m.setenv("PATH", str(empty))
        assert load_config(str(config), cwd=str(tmp_path)).settings.sandbox_available is False
        _tool(tmp_path / "bin", "firejail")
        m.setenv("PATH", str(tmp_path / "bin"))
        assert load_config(str(config), cwd=str(tmp_path)).settings.sandbox_available is True


def test_a_cached_policy_looks_the_backend_up_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policylang.config.precompiled import load_policy

    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("POLICYLANG_NO_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[security.sandbox]\nenabled = true\nbackend = "bwrap"\n')
    _tool(tmp_path / "bin", "bwrap")
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    assert load_policy(str(config)).settings.sandbox_available is True
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # the same cache key: PATH is not in it
    assert load_policy(str(config)).settings.sandbox_available is False


def test_with_backend_changes_only_sandbox_available(tmp_path: Path) -> None:
    s = Settings(sandbox_mode=True, sandbox_available=True)
    assert with_backend(s, {"PATH": str(tmp_path)}) == s.with_(sandbox_available=False)
    _tool(tmp_path, "bwrap")
    assert with_backend(s, {"PATH": str(tmp_path)}) is s
    off = Settings(sandbox_mode=False, sandbox_available=True)  # not enabled: not looked up, never available
    assert with_backend(off, {"PATH": str(tmp_path)}) == off.with_(sandbox_available=False)


# ---- what a plan hides ----------------------------------------------------------------------------

HOME_FILES = [".ssh/id_rsa", ".ssh/config", ".aws/credentials", ".aws/config", ".config/gcloud/creds.json",
              ".kube/config", ".netrc", ".gnupg/pubring.kbx", ".config/other/settings", "project/.env"]


@pytest.mark.parametrize("pattern, hidden", [
    ("~/.ssh/id_*", ".ssh"),  # a glob in the last part: the directory above it
    ("~/.aws/credentials", ".aws/credentials"),  # fully literal: that file
    ("~/.config/gcloud/**", ".config/gcloud"),
    ("~/.kube/config", ".kube/config"),
    ("**/.netrc", ".netrc"),  # a credential by name: looked for at the top of the home directory ...
    ("**/.env", "project/.env"),  # ... and of the workspace
    ("$HOME/.gnupg/**", ".gnupg"),
    ("**/*.pem", None),  # no literal part to hide
    ("!**/*.pub", None),
    ("$WORKSPACE/.env", "project/.env"),
    ("$TMPDIR/x", None),
    ("~/.missing/**", None),  # only what exists
    ("~/*", None),  # would hide the home directory itself
    ("~/project/**", None),  # the workspace
    ("~/**", None),
])
def test_hidden_paths_from_a_pattern(tmp_path: Path, pattern: str, hidden: str | None) -> None:
    home = tmp_path / "home"
    for f in HOME_FILES:
        (home / f).parent.mkdir(parents=True, exist_ok=True)
        (home / f).write_text("x")
    got = hidden_paths([pattern], str(home), str(home / "project"))
    assert got == ((str(home / hidden),) if hidden else ())


@pytest.mark.parametrize("pattern", ["/proc/*/environ", "/etc/*", "/", "/sys/**", "/dev/shm/**", "/usr"])
def test_the_kernel_trees_the_root_and_top_level_directories_are_never_hidden(tmp_path: Path, pattern: str) -> None:
    assert hidden_paths([pattern], str(tmp_path), str(tmp_path)) == ()


def test_a_path_below_a_hidden_directory_is_not_listed_again(tmp_path: Path) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "id_rsa").write_text("x")
    assert hidden_paths(["~/.ssh/id_rsa", "~/.ssh/**"], str(tmp_path), "/elsewhere") == (str(tmp_path / ".ssh"),)


@pytest.mark.parametrize("pattern, readonly", [
    ("**/.git/hooks/**", "ws/.git/hooks"),  # deny-write classes: git hooks run later, outside the sandbox
    ("**/.git/config", "ws/.git/config"),
    ("**/.vscode/tasks.json", "ws/.vscode/tasks.json"),
    ("$WORKSPACE/.policylang/**", "ws/.policylang"),
    ("~/.bashrc", None),  # outside the workspace: read-only anyway
    ("/etc/profile", None),
    ("**/.missing/**", None),
    ("**/.secret-dir/inner", None),  # inside a hidden path: stays hidden
])
def test_readonly_paths_are_the_existing_ones_inside_the_workspace(tmp_path: Path, pattern: str,
                                                                   readonly: str | None) -> None:
    for d in ("ws/.git/hooks", "ws/.policylang", "ws/.vscode", "ws/.secret-dir", "home"):
        (tmp_path / d).mkdir(parents=True)
    for f in ("ws/.git/config", "ws/.vscode/tasks.json", "ws/.secret-dir/inner", "home/.bashrc"):
        (tmp_path / f).write_text("x")
    got = readonly_paths([pattern], str(tmp_path / "home"), str(tmp_path / "ws"), (str(tmp_path / "ws/.secret-dir"),))
    assert got == ((str(tmp_path / readonly),) if readonly else ())


def test_the_workspace_as_home_keeps_start_up_files_read_only(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text("x")
    assert readonly_paths(["~/.bashrc", "~/.profile"], str(tmp_path), str(tmp_path)) == (str(tmp_path / ".bashrc"),)


# ---- the argv of each backend -----------------------------------------------------------------------

TRICKY = ["printf", "%s\n", "a; touch /x", "$(id)", "--", "`x`", "'q'"]  # never parsed by anything


def _plan(tmp_path: Path, **limits: object) -> Plan:
    (tmp_path / "ws").mkdir(exist_ok=True)
    return Plan(str(tmp_path / "ws"), str(tmp_path / "ws"), str(tmp_path), (str(tmp_path / ".ssh"),), (),
                SandboxLimits(**limits), "img:1")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["bwrap", "firejail", "unshare", "container"])
def test_the_command_is_passed_as_separate_arguments_at_the_end(tmp_path: Path, name: str) -> None:
    w = wrap(Backend(name, f"/usr/bin/{name}"), TRICKY, _plan(tmp_path))
    assert list(w.argv[-len(TRICKY):]) == TRICKY
    assert w.argv[0] == f"/usr/bin/{name}"
    assert (w.kill is not None) == (name == "container")


@pytest.mark.parametrize("name, off, on", [
    ("bwrap", "--unshare-net", None),
    ("firejail", "--net=none", None),
    ("unshare", "--net", None),
    ("container", "--network=none", "--network=bridge"),
])
def test_network_is_off_unless_the_limits_allow_it(tmp_path: Path, name: str, off: str, on: str | None) -> None:
    closed = wrap(Backend(name, name), ["true"], _plan(tmp_path)).argv
    opened = wrap(Backend(name, name), ["true"], _plan(tmp_path, network=True)).argv
    assert off in closed and off not in opened
    if on is not None:
        assert on in opened


def test_rlimits_of_the_limits() -> None:
    assert rlimits(SandboxLimits(cpu_seconds=7, memory_mb=2, max_file_size_mb=3, max_open_files=64,
                                 max_processes=9)) == [("CPU", 7), ("AS", 2 << 20), ("FSIZE", 3 << 20),
                                                       ("NOFILE", 64), ("NPROC", 9)]
    none = SandboxLimits(cpu_seconds=None, memory_mb=None, max_file_size_mb=None, max_open_files=None,
                         max_processes=None)
    assert rlimits(none) == [] and limited(["true"], none) == ["true"]
    cpu = SandboxLimits(cpu_seconds=5, memory_mb=None, max_file_size_mb=None, max_open_files=None,
                        max_processes=None)
    assert limited(["true"], cpu, prlimit="/usr/bin/prlimit") == ["/usr/bin/prlimit", "--cpu=5:5", "--", "true"]
    argv = limited(["true"], cpu, prlimit=False)
    assert argv[1:4] == ["-I", "-S", "-c"] and argv[5:] == ["CPU=5", "--", "true"]


@pytest.mark.parametrize("hard, expected", [(200, 200), (5000, 1000), (-1, 1000)])  # -1: RLIM_INFINITY
def test_a_limit_is_never_set_above_the_hard_limit_this_process_has(monkeypatch: pytest.MonkeyPatch, hard: int,
                                                                    expected: int) -> None:
    import resource

    from policylang.sandbox import limits

    assert resource.RLIM_INFINITY == -1
    monkeypatch.setattr(limits.resource, "getrlimit", lambda which: (100, hard))
    assert limits.rlimits(SandboxLimits(max_open_files=1000))[3] == ("NOFILE", expected)


@pytest.mark.parametrize("prlimit", [True, False], ids=["prlimit", "python"])
def test_both_limit_wrappers_bite(tmp_path: Path, prlimit: bool) -> None:
    """The wrapper alone, without a sandbox: a file over the size limit cannot be written, and the
    command's arguments reach it untouched."""
    import subprocess
    import sys

    if prlimit and find_program("prlimit") is None:
        pytest.skip("prlimit is not installed")
    lim = SandboxLimits(cpu_seconds=None, memory_mb=None, max_file_size_mb=1, max_open_files=None, max_processes=None)
    write = [sys.executable, "-c", "import sys; open(sys.argv[1], 'wb').write(b'0' * (3 << 20))", "big; $(x)"]
    p = subprocess.run(limited(write, lim, prlimit=prlimit), cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert p.returncode != 0 and (tmp_path / "big; $(x)").stat().st_size <= 1 << 20
    small = limited(write, replace(lim, max_file_size_mb=8), prlimit=prlimit)
    assert subprocess.run(small, cwd=tmp_path, timeout=60, check=False).returncode == 0
    assert (tmp_path / "big; $(x)").stat().st_size == 3 << 20


def test_firejail_and_container_carry_the_limits_as_their_own_options(tmp_path: Path) -> None:
    plan = _plan(tmp_path, cpu_seconds=7, memory_mb=64, max_file_size_mb=1, max_open_files=99, max_processes=5)
    fj = wrap(Backend("firejail", "firejail"), ["true"], plan).argv
    assert {"--rlimit-cpu=7", "--rlimit-as=67108864", "--rlimit-fsize=1048576", "--rlimit-nofile=99",
            "--rlimit-nproc=5"} <= set(fj)
    (tmp_path / "ws" / ".env").write_text("x")
    (tmp_path / "ws" / ".aws").mkdir()
    plan = replace(plan, hidden=(*plan.hidden, str(tmp_path / "ws" / ".env"), str(tmp_path / "ws" / ".aws")))
    ct = wrap(Backend("container", "docker"), ["true"], plan).argv
    assert f"--volume=/dev/null:{tmp_path / 'ws' / '.env'}:ro" in ct  # masked in the workspace
    assert f"--tmpfs={tmp_path / 'ws' / '.aws'}:ro,size=4k,mode=000" in ct
    assert not any(str(tmp_path / ".ssh") in a for a in ct)  # outside it: not in the container at all
    assert {"--memory=64m", "--pids-limit=5", "--ulimit=cpu=7:7", "--ulimit=fsize=1048576:1048576",
            "--ulimit=nofile=99:99", "--read-only", "--cap-drop=ALL", "--pull=never"} <= set(ct)
    assert ct[ct.index("--") + 1] == "img:1"


@pytest.mark.parametrize("change, message", [
    ({"workspace": "relative/ws"}, "not an absolute path"),
    ({"workspace": "/nonexistent-policylang-ws"}, "not a directory"),
])
def test_a_plan_that_cannot_be_carried_out_is_refused(tmp_path: Path, change: dict[str, str], message: str) -> None:
    with pytest.raises(SandboxError, match=message):
        wrap(Backend("bwrap", "bwrap"), ["true"], replace(_plan(tmp_path), **change))


def test_a_container_cannot_mount_a_path_with_a_colon(tmp_path: Path) -> None:
    ws = tmp_path / "a:b"
    ws.mkdir()
    plan = Plan(str(ws), str(ws), str(tmp_path), image="img:1")
    with pytest.raises(SandboxError, match="':' or ','"):
        wrap(Backend("container", "docker"), ["true"], plan)
    with pytest.raises(SandboxError, match="container_image"):
        wrap(Backend("container", "docker"), ["true"], Plan(str(tmp_path), str(tmp_path), str(tmp_path)))
