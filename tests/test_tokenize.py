"""The fast path (tokenize.py): plain strings are split on blanks, and give the same Analysis as tree-sitter."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policylang.analysis.shell import analyse as shell
from policylang.analysis.shell.fastpath import METACHARACTERS, RESERVED_WORDS, is_plain, split_plain

CWD = "/home/user/project"
HOME = "/home/user"
ENV = {"HOME": HOME}


@pytest.mark.parametrize("text, plain", [
    ("git status", True),
    ("ls -la /tmp", True),
    ("FOO=1 git status", True),
    ("rm -rf build", True),
    ("git\tstatus", True),
    ("", True),
    ("echo %^,.:@+=", True),
    ("ls | grep x", False),
    ("echo $HOME", False),
    ("rm -rf *", False),
    ("cat ~/.ssh/id_rsa", False),
    ("echo 'x'", False),
    ('echo "x"', False),
    ("a\\b", False),
    ("a;b", False),
    ("a&b", False),
    ("(ls)", False),
    ("{ ls; }", False),
    ("echo [x]", False),
    ("echo a # comment", False),
    ("echo !x", False),
    ("echo `ls`", False),
    ("a\nb", False),
    ("git\u3000status", False),  # non-ASCII
    ("caf\u00e9", False),
    ("a\x00b", False),  # not printable
    ("a\rb", False),
    ("a\x1bb", False),
])
def test_is_plain(text: str, plain: bool) -> None:
    assert is_plain(text) is plain


@pytest.mark.parametrize("text, words", [
    ("git status", ["git", "status"]),
    ("  git   status  ", ["git", "status"]),
    ("git\t\tstatus", ["git", "status"]),
    ("", []),
    ("   ", []),
    ("if true", None),  # a reserved word first: the full parser decides
    ("for x in a", None),
    ("echo if then fi", ["echo", "if", "then", "fi"]),  # reserved words only count first
])
def test_split_plain(text: str, words: list[str] | None) -> None:
    assert split_plain(text) == words


def test_metacharacters_cover_the_shell_syntax() -> None:
    for c in ";&|<>()$`\\\"'*?[]{}~#!\n":
        assert c in METACHARACTERS
    assert "if" in RESERVED_WORDS and "time" in RESERVED_WORDS


def _both(text: str) -> tuple[object, object]:
    fast = shell._analyse(text, CWD, ENV, HOME, fast=True)
    slow = shell._analyse(text, CWD, ENV, HOME, fast=False)
    return fast, slow


# Words that exercise the catalog: programs, wrappers, subcommands, flags, assignments.
_WORDS = st.sampled_from([
    "git", "status", "push", "--force", "-f", "reset", "--hard", "rm", "-rf", "-r", "ls", "-la", "sudo", "env",
    "FOO=1", "PATH=/x", "A_1=", "a=b=c", "1a=b", "bash", "sh", "-c", "python3", "-u", "timeout", "10s", "nice",
    "-n", "19", "xargs", "find", ".", "-name", "-delete", "cd", "/tmp", "..", "-", "--", "x", "/etc", "echo",
    "tar", "xzf", "-C", "dd", "of=/dev/sda", "if=/x", "curl", "-o", "out", "https://example.com/f", "chmod",
    "-R", "777", "command", "-v", "kill", "-9", "-1", "in", "do", "then", "watch", "busybox", "eval", "source",
    "docker", "system", "prune", "kubectl", "delete", "terraform", "destroy", "-auto-approve", "GIT", "RESET",
    "=", "a=", "%", "@", ",", "+x", "-S", "stash", "drop", "clean", "-fdx", "-n", "branch", "-D", "nc", "-e",
    "GIT_EDITOR=true", "LD_PRELOAD=/x.so", "PAGER=less", "EDITOR=", "env", "-u",
])
_PLAIN_CHARS = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E,
                                              blacklist_characters="".join(METACHARACTERS)), max_size=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_WORDS, _PLAIN_CHARS), max_size=8), st.sampled_from([" ", "  ", "\t", " \t "]))
def test_fast_path_equals_tree_sitter(words: list[str], sep: str) -> None:
    text = sep.join(words)
    if not is_plain(text):
        return
    fast, slow = _both(text)
    assert fast == slow


@settings(max_examples=300, deadline=None)
@given(_PLAIN_CHARS.filter(lambda t: True))
def test_fast_path_equals_tree_sitter_on_any_plain_text(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow


@pytest.mark.parametrize("text", [
    "git status", "FOO=1 git status", "a=b", "a= b", "1a=b x", "sudo -u root rm -rf /tmp/x", "env -i git reset --hard",
    "timeout 10s rm -rf /", "bash -c ls", "cd", "cd /tmp", "x=1 y=2", "git -C /tmp clean -fd", "tar xzf a.tgz -C /opt",
    "dd if=/dev/zero of=/dev/sda bs=1M", "nice -19 make", "command -v git", "watch -n 1 ls", "xargs rm",
    "find . -name x -delete", "curl -o out https://example.com/x", "python3 script.py", "kill -9 -1",
])
def test_fast_path_equals_tree_sitter_table(text: str) -> None:
    fast, slow = _both(text)
    assert fast == slow


def test_public_function_uses_the_fast_path_result() -> None:
    # The cached fast path gives the same Analysis as a fresh tree-sitter analysis.
    got = shell.analyse_command("git push --force origin main", cwd=CWD, env=ENV, home=HOME)
    assert got == shell._analyse("git push --force origin main", CWD, ENV, HOME, fast=False)
