"""Words and paths that hide what they are: invisible characters in a program's name, ``~user``,
symbolic links, ``file:`` URLs, a working directory that names no place, and shell given as code."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang import Code, Command, Fetch, FileOp
from policylang.engine import judge
from policylang.engine.judge import _realpath
from policylang.resolve import normalise_path

HOME = "/home/user"
CWD = HOME + "/project"
EXECUTE = policylang.load(preset="execute")


def decide(action: policylang.Action) -> str:
    return EXECUTE.decide(action).decision.label


def cmd(text: str, cwd: str = CWD, home: str = HOME) -> Command:
    return Command(text, cwd=cwd, env={"HOME": home})


# ---- invisible and bidirectional characters in a program's name -----------------------------------

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066", "\u200f"]


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_a_dangerous_name_with_an_invisible_character_is_still_that_program(ch: str) -> None:
    assert decide(cmd(f"r{ch}m -rf /")) == "deny"
    assert decide(cmd(f"sudo r{ch}m -rf ~")) == "deny"


@pytest.mark.parametrize("ch", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_a_harmless_name_with_an_invisible_character_is_never_allowed(ch: str) -> None:
    assert decide(cmd(f"l{ch}s -la")) in ("ask", "deny")
    assert decide(cmd("ls -la")) == "allow"


# ---- ~user -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["cat ~root/.ssh/id_rsa", "rm -rf ~root", "cp ~/x ~root/.ssh/authorized_keys"])
def test_another_users_home_is_where_the_platform_puts_it(text: str) -> None:
    assert decide(cmd(text)) == "deny"


# ---- symbolic links --------------------------------------------------------------------------------

@pytest.fixture
def home_with_a_key(tmp_path: Path) -> tuple[str, str]:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("not a real key\n")
    project = home / "project"
    project.mkdir()
    os.symlink(home / ".ssh" / "id_rsa", project / "notes.txt")
    os.symlink(home / ".ssh", project / "docs")
    return str(home), str(project)


@pytest.mark.parametrize("text", ["cat notes.txt", "head -5 docs/id_rsa", "base64 notes.txt", "cp notes.txt /tmp/x",
                                  "cat docs/../docs/id_rsa"])
def test_a_read_through_a_link_is_judged_where_the_link_leads(home_with_a_key: tuple[str, str], text: str) -> None:
    home, project = home_with_a_key
    v = EXECUTE.decide(cmd(text, cwd=project, home=home))
    assert v.decision.label == "deny", v.reasons


def test_the_file_tool_follows_links_too(home_with_a_key: tuple[str, str]) -> None:
    home, project = home_with_a_key
    assert decide(FileOp("read", "notes.txt", cwd=project, env={"HOME": home})) == "deny"
    assert decide(FileOp("read", "README.md", cwd=project, env={"HOME": home})) == "allow"


# ---- file: URLs ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "file:///home/user/.ssh/%69d_rsa", "file:///home/user/.ssh/id%5Frsa", "FILE:///home/user/.aws/credentials",
    "file://localhost/home/user/.ssh/id_rsa",
])
def test_a_file_url_is_a_read_of_the_decoded_path(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", HOME)  # a fetch has no environment of its own: it is this process's
    assert decide(Fetch(url)) == "deny"
    assert decide(cmd(f"curl -s {url}")) == "deny"


def test_a_file_url_of_another_host_fails_closed() -> None:
    assert decide(Fetch("file://otherhost/etc/passwd")) in ("ask", "deny")


# ---- the working directory ----------------------------------------------------------------------------

@pytest.mark.parametrize("cwd", ["project", "", "./x", "\x00"])
def test_a_working_directory_that_names_no_place_fails_closed(cwd: str) -> None:
    v = EXECUTE.decide(Command("ls", cwd=cwd, env={"HOME": HOME}))
    assert v.decision.label in ("ask", "deny")
    assert v.reasons[0].rule == "error:analysis"


# ---- shell given as code -------------------------------------------------------------------------------

@pytest.mark.parametrize("language", ["bash", "sh", "zsh", "shell", "/bin/bash"])
def test_code_in_a_shell_language_is_analysed_as_a_command(language: str) -> None:
    assert decide(Code(language, "rm -rf ~", cwd=CWD, env={"HOME": HOME})) == "deny"
    assert decide(Code(language, "ls -la", cwd=CWD, env={"HOME": HOME})) == "allow"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "link", "loop", "..", ".", "missing", "file"]), min_size=1, max_size=6))
def test_the_fast_realpath_agrees_with_os_path_realpath(tmp_path_factory: pytest.TempPathFactory,
                                                        parts: list[str]) -> None:
    root = tmp_path_factory.getbasetemp() / "realpath-tree"
    if not root.exists():
        (root / "a" / "b").mkdir(parents=True)
        (root / "a" / "file").write_text("x")
        os.symlink(root / "a", root / "link")
        os.symlink(root / "a" / "b", root / "a" / "link")
        os.symlink("loop", root / "loop")
    path = normalise_path(str(root) + "/" + "/".join(parts))
    judge._CALLS = judge._WARM  # past a cold process's first paths: the C library's realpath(3)
    assert _realpath(path) == os.path.realpath(path)
    assert judge._RESOLVE, "realpath(3) is loaded and used"
