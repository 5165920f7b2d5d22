"""The analysis memo (shell/memo.py): a memoised analysis equals a fresh one for every input it depends on."""
from __future__ import annotations

import threading
from typing import Any, Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policylang.analysis import shell
from policylang.analysis.shell import analyse
from policylang.analysis.shell import memo as memo_module
from policylang.effects import Analysis

CWD = "/home/user/project"
HOME = "/home/user"


def _deleted(a: Analysis) -> list[str | None]:
    return [e.path for e in a.effects if e.kind == "delete"]


@pytest.fixture(autouse=True)
def _fresh_memo() -> Any:
    shell.set_memo(True)
    yield
    shell.set_memo(True)


# ---- every input of the analysis is part of the memo's key ----------------------------------------

def test_a_variable_read_by_the_command_changes_the_result() -> None:
    first = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME, "X": "/"}, home=HOME)
    second = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME, "X": "build"}, home=HOME)
    unset = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME}, home=HOME)
    again = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME, "X": "/"}, home=HOME)
    assert _deleted(first) == ["/"]
    assert _deleted(second) == ["/home/user/project/build"]
    assert _deleted(unset) != ["/"] and unset != first
    assert again == first


def test_a_variable_the_command_does_not_read_does_not_split_the_memo() -> None:
    first = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME, "X": "/", "Y": "1"}, home=HOME)
    second = shell.analyse_command("rm -rf $X", cwd=CWD, env={"HOME": HOME, "X": "/", "Y": "2"}, home=HOME)
    assert second is first


def test_the_working_directory_changes_the_result() -> None:
    a = shell.analyse_command("rm -rf build", cwd="/srv/a", env={"HOME": HOME}, home=HOME)
    b = shell.analyse_command("rm -rf build", cwd="/srv/b", env={"HOME": HOME}, home=HOME)
    assert _deleted(a) == ["/srv/a/build"]
    assert _deleted(b) == ["/srv/b/build"]


@pytest.mark.parametrize("text", ["rm -rf ~/x", "cd; rm -rf x", "rm -rf $HOME/x", "cd && rm -rf x"])
def test_home_changes_the_result(text: str) -> None:
    a = shell.analyse_command(text, cwd=CWD, env={"HOME": "/home/a"}, home="/home/a")
    b = shell.analyse_command(text, cwd=CWD, env={"HOME": "/home/b"}, home="/home/b")
    c = shell.analyse_command(text, cwd=CWD, env={}, home="/home/c")
    for result, mine in ((a, "/home/a/x"), (b, "/home/b/x"), (c, "/home/c/x")):
        deleted = _deleted(result)
        assert mine in deleted
        assert not {"/home/a/x", "/home/b/x", "/home/c/x"} - {mine} & set(deleted)


def test_a_plain_command_is_memoised() -> None:
    env = {"HOME": HOME, "PATH": "/usr/bin"}
    first = shell.analyse_command("git status", cwd=CWD, env=env, home=HOME)
    assert shell.analyse_command("git status", cwd=CWD, env=dict(env), home=HOME) is first


def test_argv_memo_tracks_variables_of_a_nested_shell_string() -> None:
    argv = ["bash", "-c", "rm -rf $X"]
    a = shell.analyse_argv(argv, cwd=CWD, env={"HOME": HOME, "X": "/"}, home=HOME)
    b = shell.analyse_argv(argv, cwd=CWD, env={"HOME": HOME, "X": "build"}, home=HOME)
    assert "/" in _deleted(a)
    assert "/" not in _deleted(b) and "/home/user/project/build" in _deleted(b)
    assert shell.analyse_argv(list(argv), cwd=CWD, env={"HOME": HOME, "X": "/"}, home=HOME) is a


def test_disabled_memo_analyses_every_time() -> None:
    shell.set_memo(False)
    first = shell.analyse_command("git status", cwd=CWD, env={"HOME": HOME}, home=HOME)
    second = shell.analyse_command("git status", cwd=CWD, env={"HOME": HOME}, home=HOME)
    assert first == second and first is not second


# ---- the memo itself ------------------------------------------------------------------------------

def _reader(*names: str) -> Any:
    calls: list[str] = []

    def run(item: Any, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
        calls.append(item)
        values = tuple(str(env.get(n)) for n in names)
        return Analysis((), (), reasons=(item, cwd, home, *values))
    return run, calls


def test_memo_checks_every_recorded_variable() -> None:
    memo = memo_module._Memo()
    run, calls = _reader("A", "B")
    r1 = memo.get_or_run("x", CWD, {"A": "1", "B": "2"}, HOME, run)
    r2 = memo.get_or_run("x", CWD, {"A": "1", "B": "3"}, HOME, run)
    r3 = memo.get_or_run("x", CWD, {"A": "1"}, HOME, run)
    assert [r.reasons[3:] for r in (r1, r2, r3)] == [("1", "2"), ("1", "3"), ("1", "None")]
    assert memo.get_or_run("x", CWD, {"A": "1", "B": "2", "C": "9"}, HOME, run) is r1
    assert memo.get_or_run("x", CWD, {"A": "1"}, HOME, run) is r3
    assert len(calls) == 3


def test_memo_keeps_nothing_when_the_whole_environment_is_read() -> None:
    memo = memo_module._Memo()
    calls: list[str] = []

    def run(item: Any, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
        calls.append(item)
        return Analysis((), (), reasons=tuple(sorted(env)))

    for _ in range(3):
        memo.get_or_run("x", CWD, {"A": "1"}, HOME, run)
    assert len(calls) == 3 and len(memo) == 0


def test_memo_keeps_nothing_when_a_value_is_not_a_string() -> None:
    memo = memo_module._Memo()
    run, calls = _reader("A")
    env: dict[str, Any] = {"A": 1}
    memo.get_or_run("x", CWD, env, HOME, run)
    memo.get_or_run("x", CWD, env, HOME, run)
    assert len(calls) == 2


def test_memo_is_bounded() -> None:
    memo = memo_module._Memo(size=3, per_key=2)
    run, _ = _reader("A")
    for i in range(10):
        for v in "abc":
            memo.get_or_run(f"cmd{i}", CWD, {"A": v}, HOME, run)
    assert len(memo._data) == 3
    assert len(memo) == 6
    assert set(memo._data) == {(f"cmd{i}", CWD, HOME, None) for i in (7, 8, 9)}


def test_memo_bounds_the_segments_and_effects_it_holds() -> None:
    memo = memo_module._Memo(weight=600)
    heavy = "; ".join(["rm -rf /tmp/a"] * 40)  # with "echo i": 41 segments, 81 effects, weight 123
    texts = [f"{heavy}; echo {i}" for i in range(6)]
    for t in texts:
        memo.get_or_run(t, CWD, {}, HOME, analyse._analyse)
    assert memo._total == sum(memo._weights.values()) <= 600
    assert list(memo._data) == [(t, CWD, HOME, None) for t in texts[-4:]]
    # One result heavier than a quarter of the budget is not kept at all.
    memo.get_or_run("; ".join(["rm -rf /tmp/a"] * 60), CWD, {}, HOME, analyse._analyse)
    assert len(memo._data) == 4


def test_memo_passes_unhashable_or_odd_inputs_through() -> None:
    memo = memo_module._Memo()
    run, calls = _reader()
    cwd: Any = None
    memo.get_or_run("x", cwd, {}, HOME, run)
    memo.get_or_run("x", cwd, {}, HOME, run)
    assert len(calls) == 2 and len(memo) == 0


def test_analyse_command_survives_a_hostile_environment() -> None:
    class Boom(dict[str, str]):
        def get(self, key: Any, default: Any = None) -> Any:
            raise RuntimeError("no")

    a = shell.analyse_command("rm -rf $X", cwd=CWD, env=Boom(), home=HOME)
    assert a.error is not None and a.opaque


def test_memo_is_exact_under_threads() -> None:
    texts = ["rm -rf $X", "echo $(cat $X) | sh", "cd $X && rm -rf *", "git status"]
    envs = [{"HOME": HOME, "X": v} for v in ("/", "build", "/etc", "a b")]
    expected = {(t, i): analyse._analyse(t, CWD, e, HOME) for t in texts for i, e in enumerate(envs)}
    errors: list[str] = []

    def work(seed: int) -> None:
        for k in range(200):
            t = texts[(seed + k) % len(texts)]
            i = (seed * 7 + k * 3) % len(envs)
            if shell.analyse_command(t, cwd=CWD, env=envs[i], home=HOME) != expected[(t, i)]:
                errors.append(f"{t!r} with {envs[i]}")

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []


# ---- property: memoised == fresh ------------------------------------------------------------------

_FRAGMENTS = [
    "rm -rf", "$X", "${Y:-/tmp}", "$HOME", "~", "~/x", "cd", "$Z", "&&", ";", "|", "sh", "cat",
    "\"$X/y\"", "'$X'", "$(echo $Y)", "export X=/etc;", "git push", "-f", "build", "/", "..", "sudo",
    "bash -c \"rm $Y\"", "unset X;", "for f in $X; do rm $f; done", "${#X}", "$PATH", "PATH=/x",
]
_VALUES = st.one_of(st.none(), st.sampled_from(["/", "build", "a b", "*", "", "/etc/../x", "-rf", "$(id)"]))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=st.lists(
        st.tuples(
            st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=5).map(" ".join),
            st.fixed_dictionaries({}, optional={"X": _VALUES.filter(bool), "Y": _VALUES.filter(bool),
                                                "Z": _VALUES.filter(bool), "PATH": _VALUES.filter(bool)}),
            st.sampled_from(["/home/user", "/root", "/home/a b"]),
            st.sampled_from([CWD, "/", "/srv/x", "rel"]),
            st.booleans(),
        ),
        min_size=1, max_size=6),
)
def test_memoised_analysis_equals_fresh(calls: list[tuple[str, dict[str, Any], str, str, bool]]) -> None:
    for text, env, home, cwd, env_home in calls:
        env = {k: v for k, v in env.items() if v is not None}
        if env_home:
            env["HOME"] = home
        fresh = analyse._analyse(text, cwd, env, home)
        assert shell.analyse_command(text, cwd=cwd, env=env, home=home) == fresh
        assert shell.analyse_command(text, cwd=cwd, env=env, home=home) == fresh
        argv = ["sh", "-c", text]
        fresh_argv = analyse._analyse_argv(tuple(argv), cwd, env, home)
        assert shell.analyse_argv(argv, cwd=cwd, env=env, home=home) == fresh_argv
