"""The verdict cache: a hit must give exactly the verdict a fresh decision would, whatever the
action, its cwd, its environment (given or ambient) and the context; and it stays bounded."""
from __future__ import annotations

from typing import Any

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import policylang
from policylang import Code, Command, Context, Fetch, FileOp, Message, ToolCall

HOME = "/home/user"
CWDS = ["/home/user/project", "/home/user", "/etc", "/tmp/w"]
ENVS = [
    None,
    {"HOME": HOME},
    {"HOME": HOME, "X": "build", "TMPDIR": "/tmp"},
    {"HOME": HOME, "X": "/", "TMPDIR": "/var/tmp"},
    {"HOME": "/root", "X": "~/.ssh"},
]
TEXTS = [
    "git status", "rm -rf $X", "rm -rf ~", "cat ~/.ssh/id_rsa", "ls -la", "echo `id`", "rm -rf build",
    "curl https://example.com", "cd .. && rm -rf project", "cat $TMPDIR/x", "rm -rf $TMPDIR/x",
]
CONTEXTS = [None, Context(), Context(interactive=False), Context(role="admin"), Context(principal="bot")]

_policy = policylang.load(preset="execute")
CACHED = _policy.with_settings(cache_size=64)
FRESH = _policy.with_settings(cache_size=0)


def _actions() -> st.SearchStrategy[object]:
    cwd = st.sampled_from([None, *CWDS])
    env = st.sampled_from(ENVS)
    return st.one_of(
        st.sampled_from(TEXTS),
        st.builds(Command, st.sampled_from(TEXTS), cwd, env),
        st.builds(lambda t, c, e: Command(tuple(t.split()), cwd=c, env=e), st.sampled_from(TEXTS), cwd, env),
        st.builds(FileOp, st.sampled_from(["read", "write", "delete"]),
                  st.sampled_from(["x.txt", "~/.ssh/id_rsa", "/etc/passwd", "$X"]), cwd, env),
        st.builds(Code, st.just("python"), st.sampled_from(["import os; os.system('rm -rf $X')", "print(1)"]),
                  cwd, env),
        st.builds(Fetch, st.sampled_from(["https://example.com/", "file:///etc/shadow"])),
        st.builds(ToolCall, st.sampled_from(["search", "deploy"]), st.sampled_from([{}, {"q": "x"}])),
        st.builds(Message, st.sampled_from(["hello", "token=abc"])),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_actions(), st.sampled_from(CONTEXTS)), min_size=1, max_size=30))
def test_a_cache_hit_is_the_verdict_a_fresh_decision_gives(calls: list[tuple[object, Context | None]]) -> None:
    for action, ctx in calls + calls:  # the second pass hits the cache
        assert CACHED.decide(action, ctx) == FRESH.decide(action, ctx), (action, ctx)  # type: ignore[arg-type]


def test_the_ambient_environment_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    policy = _policy.with_settings(cache_size=64)
    monkeypatch.setenv("HOME", HOME)
    monkeypatch.setenv("X", "build")
    assert policy.decide(Command("rm -rf $X", cwd=CWDS[0])).decision.label == "allow"
    monkeypatch.setenv("X", "/")
    assert policy.decide(Command("rm -rf $X", cwd=CWDS[0])).decision.label == "deny"
    # HOME decides where a file tool's ~ lands
    monkeypatch.setenv("HOME", CWDS[0])
    assert policy.decide(FileOp("delete", "~/x", cwd=CWDS[0])).decision.label == "allow"
    monkeypatch.setenv("HOME", "/home/other")  # ~/x is now outside the workspace: asked
    assert policy.decide(FileOp("delete", "~/x", cwd=CWDS[0])).decision.label == "ask"


def test_the_process_cwd_is_part_of_the_key_when_the_action_has_none(monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: os.PathLike[str]) -> None:
    policy = _policy.with_settings(cache_size=64)
    monkeypatch.setenv("HOME", str(tmp_path))
    work = os.path.join(tmp_path, "work")
    os.mkdir(work)
    monkeypatch.chdir(work)
    assert policy.decide("rm -rf build").decision.label == "allow"  # inside the workspace (cwd)
    monkeypatch.chdir("/")
    assert policy.decide("rm -rf build").decision.label == "ask"  # /build: outside the workspace


def _held(policy: Any) -> int:
    """How many verdicts the policy's cache holds."""
    cache = policy._cache
    return 0 if cache is None else len(cache.recent) + len(cache.older)


def test_the_cache_stays_bounded() -> None:
    policy = _policy.with_settings(cache_size=8)
    for i in range(100):
        policy.decide(Command(f"echo {i}", cwd=CWDS[0], env=ENVS[1]))
        assert _held(policy) <= 8


def test_an_entry_used_since_the_last_rotation_survives_it() -> None:
    policy = _policy.with_settings(cache_size=8)
    hot = Command("git status", cwd=CWDS[0], env=ENVS[1])
    first = policy.decide(hot)
    for i in range(50):
        policy.decide(Command(f"echo {i}", cwd=CWDS[0], env=ENVS[1]))
        assert policy.decide(hot) is first  # still the cached object: never evicted while in use


def test_an_action_whose_key_cannot_be_built_is_decided_without_the_cache() -> None:
    policy = _policy.with_settings(cache_size=8)
    odd = Command("rm -rf $X", cwd=CWDS[0], env={"HOME": HOME, "X": ["/"]})  # type: ignore[dict-item]
    assert policy.decide(odd) == FRESH.decide(odd)
    assert _held(policy) == 0


class StrText(str):
    """A str subclass as a command's text: still a shell string that expands variables."""


@pytest.mark.parametrize("make", [
    lambda target: Command("rm -rf $X", cwd=CWDS[0], env={"HOME": HOME, "X": target}),
    lambda target: Command(StrText("rm -rf $X"), cwd=CWDS[0], env={"HOME": HOME, "X": target}),
    lambda target: Command(("sh", "-c", "rm -rf $X"), cwd=CWDS[0], env={"HOME": HOME, "X": target}),
    lambda target: Command(["sh", "-c", "rm -rf $X"], cwd=CWDS[0], env={"HOME": HOME, "X": target}),  # type: ignore[arg-type]
])
def test_every_spelling_of_an_expanding_command_keys_on_the_environment(make: Any) -> None:
    policy = _policy.with_settings(cache_size=64)
    assert policy.decide(make("build")) == FRESH.decide(make("build"))
    assert policy.decide(make("/")).decision.label == "deny"


def test_a_subclass_of_command_is_still_held_to_exec_strict() -> None:
    class MyCommand(Command):
        pass

    strict = _policy.with_settings(exec_strict=True)
    assert strict.decide(MyCommand("ls; ls", cwd=CWDS[0], env=ENVS[1])).decision.label == "deny"


def test_a_negative_cache_size_disables_the_cache() -> None:
    policy = _policy.with_settings(cache_size=-1)
    policy.decide(Command("git status", cwd=CWDS[0], env=ENVS[1]))
    assert _held(policy) == 0


@pytest.mark.parametrize("make", [
    lambda ws, env: FileOp("write", "conf/hosts", cwd=ws, env=env),
    lambda ws, env: Command("echo 1 > conf/hosts", cwd=ws, env=env),
], ids=["file-tool", "shell"])
def test_a_write_is_judged_afresh_after_a_symlink_appears(make: Any, tmp_path: Any) -> None:
    """write conf/hosts is allowed; then conf becomes a link to /etc: the same write must not hit the cache."""
    policy = _policy.with_settings(cache_size=64)
    ws = tmp_path / "ws"
    (ws / "conf").mkdir(parents=True)
    env = {"HOME": str(tmp_path)}
    assert policy.decide(make(str(ws), env)).decision.label == "allow"
    (ws / "conf").rmdir()
    os.symlink("/etc", ws / "conf")
    assert policy.decide(make(str(ws), env)).decision.label == "deny"
