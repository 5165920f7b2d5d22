"""One discovery order for the config file (config/discover.py, issue 12 item 2), in real processes:
--config, then POLICYLANG_CONFIG, then the project's .policylang/config.toml (the working directory
up to its git root), then $XDG_CONFIG_HOME/policylang/config.toml; every command uses it, and its
human output names the files it loaded."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policylang.config import discover, loader
from policylang.adapters import cli_config

STRICT = '[security]\npreset = "strict"\n'  # an unknown command is denied: exit 1
RELAXED = '[security]\npreset = "relaxed"\n'  # an unknown command is allowed: exit 0
UNKNOWN = "frobnicate --all"


class Scratch:
    """A scratch HOME, XDG_CONFIG_HOME and a git repository with a subdirectory to run in."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.xdg = root / "xdg"
        self.repo = root / "repo"
        self.sub = self.repo / "src" / "deep"
        for d in (self.home, self.xdg, self.sub):
            d.mkdir(parents=True)
        (self.repo / ".git").mkdir()  # what makes a git root, as far as discovery is concerned
        self.cache = root / "cache"

    @property
    def user_file(self) -> Path:
        return self.xdg / "policylang" / "config.toml"

    @property
    def project_file(self) -> Path:
        return self.repo / ".policylang" / "config.toml"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("POLICYLANG_", "XDG_"))}
        env.update(HOME=str(self.home), XDG_CONFIG_HOME=str(self.xdg), POLICYLANG_CACHE_DIR=str(self.cache),
                   NO_COLOR="1")
        env.update(extra)
        return env

    def run(self, *args: str, cwd: Path | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "policylang", *args], capture_output=True, text=True,
                              env=self.env(**extra), cwd=cwd or self.sub, timeout=120)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


@pytest.fixture()
def s(tmp_path: Path) -> Scratch:
    return Scratch(tmp_path)


def test_one_name_for_the_environment_variable() -> None:
    assert discover.ENV_CONFIG == loader.ENV_CONFIG == cli_config.ENV_CONFIG == "POLICYLANG_CONFIG"


def test_the_order_each_step_over_the_next(s: Scratch) -> None:
    explicit = write(s.home / "explicit.toml", RELAXED)
    named = write(s.home / "named.toml", STRICT)
    write(s.project_file, RELAXED)
    write(s.user_file, STRICT)
    # every file present: --config wins, then the environment, then the project, then the user
    steps = [
        (["--config", str(explicit)], {"POLICYLANG_CONFIG": str(named)}, 0, f"config: {explicit} (given by --config)"),
        ([], {"POLICYLANG_CONFIG": str(named)}, 1, f"config: {named} (named by POLICYLANG_CONFIG)"),
        ([], {}, 0, f"config: {s.project_file} (the project's file)"),
    ]
    for args, extra, code, line in steps:
        p = s.run("decide", *args, UNKNOWN, **extra)
        assert p.returncode == code, p.stdout + p.stderr
        assert p.stdout.splitlines()[-1] == f"  {line}"
    s.project_file.unlink()
    p = s.run("decide", UNKNOWN)
    assert p.returncode == 1 and p.stdout.splitlines()[-1] == f"  config: {s.user_file} (the user's file)"
    s.user_file.unlink()
    p = s.run("decide", UNKNOWN)
    assert p.returncode == 3 and p.stdout.splitlines()[-1] == "  config: none (built-in defaults)"


def test_the_project_file_is_found_up_to_the_git_root_and_no_further(s: Scratch, tmp_path: Path) -> None:
    write(tmp_path / ".policylang" / "config.toml", STRICT)  # above the repository: never read
    assert s.run("decide", UNKNOWN).returncode == 3
    write(s.repo / "src" / ".policylang" / "config.toml", RELAXED)  # between the cwd and the root
    write(s.project_file, STRICT)
    p = s.run("decide", UNKNOWN)
    assert p.returncode == 0 and str(s.repo / "src" / ".policylang" / "config.toml") in p.stdout
    outside = tmp_path / "outside" / "sub"
    outside.mkdir(parents=True)
    write(tmp_path / "outside" / ".policylang" / "config.toml", STRICT)  # no git root: only the cwd counts
    assert s.run("decide", UNKNOWN, cwd=outside).returncode == 3
    assert s.run("decide", UNKNOWN, cwd=outside.parent).returncode == 1


def test_a_git_worktree_file_marks_the_root(s: Scratch) -> None:
    (s.repo / ".git").rmdir()
    (s.repo / ".git").write_text("gitdir: /elsewhere/.git/worktrees/x\n")
    write(s.project_file, STRICT)
    assert s.run("decide", UNKNOWN).returncode == 1


def test_xdg_config_home_unset_or_relative_means_dot_config(s: Scratch) -> None:
    write(s.home / ".config" / "policylang" / "config.toml", STRICT)
    for value in ("", "relative/dir"):
        p = s.run("decide", UNKNOWN, XDG_CONFIG_HOME=value)
        assert p.returncode == 1, p.stdout
        assert f"config: {s.home}/.config/policylang/config.toml (the user's file)" in p.stdout


def test_policy_name_writes_where_decide_reads(s: Scratch) -> None:
    """Issue 12: ``policy strict`` then ``decide`` agree."""
    assert s.run("decide", UNKNOWN).returncode == 3
    p = s.run("policy", "strict")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0] == f"{s.project_file}: preset = \"strict\" (the project's file, a new file)"
    assert s.project_file.read_text() == '[security]\npreset = "strict"\n'
    for args in (["decide", UNKNOWN], ["decide", "--json", UNKNOWN]):
        assert s.run(*args).returncode == 1
    assert s.run("decide", UNKNOWN, cwd=s.repo).returncode == 1
    show = s.run("policy", "show")
    assert show.stdout.splitlines()[:2] == [f"config: {s.project_file} (the project's file)", "presets: strict"]
    assert s.run("policy", "relaxed").returncode == 0
    assert s.run("decide", UNKNOWN).returncode == 0


def test_policy_name_edits_the_user_file_when_that_is_the_one_read(s: Scratch) -> None:
    write(s.user_file, "# mine\n[security]\npreset = \"strict\"  # keep\n")
    p = s.run("policy", "relaxed")
    assert p.stdout.splitlines()[0] == f"{s.user_file}: preset = \"relaxed\" (the user's file)"
    assert s.user_file.read_text() == "# mine\n[security]\npreset = \"relaxed\"  # keep\n"
    assert not s.project_file.exists()
    assert s.run("decide", UNKNOWN).returncode == 0


def test_policy_name_outside_a_repository_creates_the_file_in_the_working_directory(s: Scratch,
                                                                                     tmp_path: Path) -> None:
    here = tmp_path / "plain"
    here.mkdir()
    assert s.run("policy", "strict", cwd=here).returncode == 0
    assert (here / ".policylang" / "config.toml").is_file()
    assert s.run("decide", UNKNOWN, cwd=here).returncode == 1


def test_every_command_uses_the_discovered_config_and_names_it(s: Scratch) -> None:
    write(s.project_file, STRICT + 'policy = """\nrule team.no-curl: deny exec curl ...\n'
                          'example deny "curl https://example.com"\n"""\n')
    named = f"config: {s.project_file} (the project's file)"
    decide = s.run("decide", UNKNOWN)
    assert decide.returncode == 1 and decide.stdout.splitlines()[-1] == "  " + named
    explain = s.run("explain", UNKNOWN)
    assert explain.stdout.splitlines()[:3] == [f"command: {UNKNOWN}", "mode: approve, posture: strict", named]
    check = s.run("check")
    assert check.returncode == 0, check.stdout
    assert check.stdout.splitlines()[-2:] == [named, f"ok: {s.project_file}: 0 error(s), 0 warning(s)"]
    show = s.run("policy", "show")
    assert show.stdout.splitlines()[0] == named and "team.no-curl" not in show.stdout
    tables = write(s.sub / "t.tsv", "curl https://example.com\tdeny\nfrobnicate\tdeny\n")
    test = s.run("test", str(tables))
    assert test.returncode == 0, test.stdout
    assert test.stdout.splitlines()[-2:] == ["3 passed, 0 failed", named]  # the config's example, and the table
    assert json.loads(s.run("test", "--format", "json", str(tables)).stdout)["failed"] == 0
    # the JSON outputs name the config too, as fields
    want = {"path": str(s.project_file), "origin": "project", "also_read": []}
    assert json.loads(s.run("decide", "--json", UNKNOWN).stdout)["config"] == want
    assert json.loads(s.run("explain", "--format", "json", UNKNOWN).stdout)["config"] == want
    extra = write(s.sub / "extra.policy", "rule x.y: deny exec frobnicate ...\n")
    assert json.loads(s.run("decide", "--json", "--policy", str(extra), UNKNOWN).stdout)["config"] == {
        **want, "also_read": [str(extra)]}


def test_check_of_a_policy_file_compiles_it_on_the_discovered_config(s: Scratch) -> None:
    write(s.project_file, STRICT)
    team = write(s.sub / "team.policy", 'example deny "frobnicate --all"\n')
    p = s.run("check", str(team))
    assert p.returncode == 0, p.stdout  # denied because the project's config is strict
    assert f"config: {s.project_file} (the project's file)" in p.stdout.splitlines()
    s.project_file.unlink()
    p = s.run("check", str(team))
    assert p.returncode == 5 and "expected deny but the policy decides ask" in p.stdout
    assert "config: none (built-in defaults)" in p.stdout.splitlines()


def test_the_output_names_an_admin_file_and_policy_files_too(s: Scratch) -> None:
    admin = write(s.home / "admin.toml", '[security]\nposture = "strict"\n')
    team = write(s.repo / ".policylang" / "team.policy", "rule team.x: deny exec curl ...\n")
    write(s.project_file, '[security]\npolicy_files = ["team.policy"]\n')
    p = s.run("decide", UNKNOWN, POLICYLANG_ADMIN_CONFIG=str(admin))
    assert p.returncode == 1
    assert p.stdout.splitlines()[-1] == f"  config: {s.project_file} (the project's file); also read: {admin}, {team}"
    show = s.run("policy", "show", POLICYLANG_ADMIN_CONFIG=str(admin))
    assert show.stdout.splitlines()[0] == f"config: {s.project_file} (the project's file); also read: {admin}"


def test_policy_show_says_where_it_looked(s: Scratch) -> None:
    p = s.run("policy", "show")
    assert p.stdout.splitlines()[0] == (
        f"config: none found in {s.sub}/.policylang/config.toml, {s.repo}/src/.policylang/config.toml, "
        f"{s.project_file}, {s.user_file} (built-in defaults)")


def test_a_new_project_file_is_seen_after_a_cached_decide(s: Scratch) -> None:
    assert s.run("decide", UNKNOWN).returncode == 3
    assert s.run("decide", UNKNOWN).returncode == 3  # from the cache
    write(s.project_file, STRICT)
    assert s.run("decide", UNKNOWN).returncode == 1
    write(s.project_file, RELAXED)
    assert s.run("decide", UNKNOWN).returncode == 0


def test_a_missing_file_named_by_the_environment_is_an_error(s: Scratch) -> None:
    write(s.project_file, RELAXED)  # not a fallback for a file the environment names
    p = s.run("decide", UNKNOWN, POLICYLANG_CONFIG=str(s.home / "gone.toml"))
    assert p.returncode != 0 and "POLICYLANG_CONFIG" in p.stderr and "gone.toml" in p.stderr


# ---- in this process ----------------------------------------------------------------------------

def test_find_config_without_a_process(tmp_path: Path) -> None:
    s = Scratch(tmp_path)
    env = {"HOME": str(s.home), "XDG_CONFIG_HOME": str(s.xdg)}
    none = discover.find_config(env=env, cwd=str(s.sub))
    assert none.path is None and none.origin == discover.NONE
    assert none.looked == (f"{s.sub}/.policylang/config.toml", f"{s.repo}/src/.policylang/config.toml",
                           str(s.project_file), str(s.user_file))
    assert discover.write_target(env=env, cwd=str(s.sub)).path == str(s.project_file)
    write(s.user_file, "")
    assert discover.find_config(env=env, cwd=str(s.sub)).origin == discover.USER
    write(s.project_file, "")
    assert discover.find_config(env=env, cwd=str(s.sub)) == (str(s.project_file), discover.PROJECT, none.looked)
    assert discover.find_config(env={**env, "POLICYLANG_CONFIG": "x.toml"}, cwd=str(s.sub)).argument is None
    assert discover.find_config("c.toml", env=env).argument == "c.toml"
