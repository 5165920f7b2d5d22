"""Every CLI entry point over random bytes, huge inputs, FIFOs, symbolic-link loops and malformed
files, as real processes: no traceback, bounded time and memory (tests/clirun.py), an exit code the
CLI documents, and fail-closed verdicts for what cannot be decided."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from clirun import assert_clean, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, wait4 and RLIMIT_AS are POSIX")

EXIT_CODES = {0, 1, 2, 3}
FUZZ = settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))

# Bytes that look like the inputs (so the parsers get past their first character) or are noise.
_FRAGMENTS = [b"rule a.b: deny exec rm ...\n", b"let X = [", b'"', b"'", b"\\", b"{", b"}", b"[", b"]", b"\n", b"\r",
              b"[security]\n", b'mode = "execute"\n', b"policy_files = [", b"[[test]]\n", b'action = "ls"\n',
              b'expect = "allow"\n', b"\t", b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xed\xa0\x80", "\u2028".encode(), "\u200b".encode(), b"#", b"example deny \"rm -rf /\"\n",
              b'{"kind":"file","op":"read","path":"~/.ssh/id_rsa"}\n', b'"\\ud800"\n', b"%s", b"~", b"$HOME"]
blobs = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.binary(max_size=64)), max_size=24).map(b"".join)
argv_words = st.lists(st.binary(min_size=1, max_size=24).filter(lambda b: b"\x00" not in b), min_size=1, max_size=5)


@contextlib.contextmanager
def _scratch() -> Iterator[str]:
    """A scratch HOME with a project directory, removed afterwards."""
    home = tempfile.mkdtemp(prefix="policylang-fuzz-")
    try:
        os.makedirs(os.path.join(home, "project"))
        yield home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _files(home: str, contents: list[bytes], suffixes: tuple[str, ...]) -> list[str]:
    out = []
    for i, data in enumerate(contents):
        path = os.path.join(home, f"f{i}{suffixes[i % len(suffixes)]}")
        with open(path, "wb") as fh:
            fh.write(data)
        out.append(path)
    return out


def _verdict_lines(stdout: bytes, n_lines: int) -> list[dict[str, Any]]:
    out = stdout.split(b"\n")
    assert out[-1] == b"" and stdout.isascii()
    verdicts = [json.loads(line) for line in out[:-1]]
    assert len(verdicts) == n_lines
    for v in verdicts:
        assert v["decision"] in ("allow", "sandbox", "ask", "deny")
        if v["reasons"] and v["reasons"][0]["rule"].startswith("error:"):
            assert v["decision"] == "deny", v
    return verdicts


# ---- random bytes into each entry point -----------------------------------------------------------

@FUZZ
@given(blobs)
def test_decide_jsonl_over_random_bytes(data: bytes) -> None:
    with _scratch() as home:
        r = run_cli(["decide", "--jsonl", "-"], home, stdin=data)
        assert_clean(r, nonzero=False)
        assert r.code == 0
        _verdict_lines(r.stdout, data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1))


@FUZZ
@given(argv_words, st.sampled_from(["decide", "explain"]))
def test_decide_and_explain_over_random_argv(words: list[bytes], command: str) -> None:
    with _scratch() as home:
        r = run_cli([command.encode(), b"--", *words], home, env={"PYTHONIOENCODING": "utf-8:strict"})
        assert_clean(r, nonzero=False)
        assert r.code in EXIT_CODES


@FUZZ
@given(st.lists(blobs, min_size=1, max_size=4))
def test_check_over_random_files(contents: list[bytes]) -> None:
    with _scratch() as home:
        files = _files(home, contents, (".policy", ".toml"))
        r = run_cli(["check", *files], home)
        assert_clean(r, nonzero=False)
        assert r.code in (0, 1, 2, 5)  # 5: a policy or config error


@FUZZ
@given(st.lists(blobs, min_size=1, max_size=4))
def test_test_over_random_tables(contents: list[bytes]) -> None:
    with _scratch() as home:
        files = _files(home, contents, (".toml", ".tsv", ".policy"))
        r = run_cli(["test", *files], home)
        assert_clean(r, nonzero=False)
        assert r.code in (0, 1, 2, 5)


@FUZZ
@given(blobs, st.sampled_from([["policy", "show"], ["policy", "strict"], ["decide", "ls"]]))
def test_config_readers_over_random_files(data: bytes, args: list[str]) -> None:
    with _scratch() as home:
        (config,) = _files(home, [data], (".toml",))
        r = run_cli([*args, "--config", config], home)
        assert_clean(r, nonzero=False)
        assert r.code in EXIT_CODES | {5}  # a config that is not one is a configuration error


# ---- huge inputs, FIFOs, loops and malformed files --------------------------------------------------

def _huge_policy(home: Path) -> list[str]:
    (home / "huge.policy").write_bytes(b"# " + b"x" * (5 << 20) + b"\n")
    return ["check", str(home / "huge.policy")]


def _huge_toml(home: Path) -> list[str]:
    (home / "huge.toml").write_bytes(b"[security]\npolicy = '''" + b"x" * (3 << 20) + b"'''\n")
    return ["check", str(home / "huge.toml")]


def _huge_table(home: Path) -> list[str]:
    (home / "huge.tsv").write_bytes(b"ls\tallow\n" * (2 << 20))
    return ["test", str(home / "huge.tsv")]


def _loop(home: Path, name: str) -> str:
    os.symlink(home / name, home / name)
    return str(home / name)


def _dir(home: Path, name: str) -> str:
    (home / name).mkdir()
    return str(home / name)


CASES: dict[str, Callable[[Path], list[str]]] = {
    "huge-policy": _huge_policy,
    "huge-toml": _huge_toml,
    "huge-table": _huge_table,
    "loop-check": lambda h: ["check", _loop(h, "l.policy")],
    "loop-check-toml": lambda h: ["check", _loop(h, "l.toml")],
    "loop-test": lambda h: ["test", _loop(h, "l.toml")],
    "loop-jsonl": lambda h: ["decide", "--jsonl", _loop(h, "l.jsonl")],
    "loop-config": lambda h: ["decide", "--config", _loop(h, "l.toml"), "ls"],
    "loop-policy": lambda h: ["explain", "--policy", _loop(h, "l.policy"), "ls"],
    "loop-show": lambda h: ["policy", "show", "--config", _loop(h, "l.toml")],
    "dir-policy": lambda h: ["check", _dir(h, "d.policy")],
    "dir-jsonl": lambda h: ["decide", "--jsonl", _dir(h, "d.jsonl")],
    "dir-table": lambda h: ["test", _dir(h, "d.tsv")],
    "dir-switch": lambda h: ["policy", "strict", "--config", _dir(h, "d.toml")],
    "fifo-show": lambda h: (os.mkfifo(h / "f.toml"), ["policy", "show", "--config", str(h / "f.toml")])[1],
    "fifo-explain": lambda h: (os.mkfifo(h / "f.policy"), ["explain", "--policy", str(h / "f.policy"), "ls"])[1],
    "deep-json": lambda h: ["decide", "--jsonl", str(_write(h / "deep.jsonl", b"[" * 100_000 + b"\n"))],
    "deep-toml": lambda h: ["check", str(_write(h / "deep.toml", b"a = " + b"[" * 100_000 + b"\n"))],
    "deep-policy": lambda h: ["check", str(_write(h / "deep.policy", b"let X = " + b"[" * 100_000 + b"\n"))],
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_inputs(tmp_path: Path, case: str) -> None:
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    args = CASES[case](home)
    r = run_cli(args, str(home), timeout=40)
    if case == "deep-json":  # a batch: one fail-closed verdict for the line, exit 0
        assert_clean(r, nonzero=False)
        (v,) = _verdict_lines(r.stdout, 1)
        assert v["decision"] == "deny"
        return
    assert_clean(r)
    assert r.code in (1, 2, 5), (r.code, r.out[-500:], r.err[-500:])


def test_a_stream_of_huge_lines_stays_bounded(tmp_path: Path) -> None:
    """Three lines of 3 MB each and a good one: three fail-closed verdicts and an allow, in order."""
    data = b"".join([b'"' + b"a" * (3 << 20) + b'"\n'] * 3) + b'"git status"\n'
    home = tmp_path / "home"
    (home / "project").mkdir(parents=True)
    r = run_cli(["decide", "--cwd", str(home / "project"), "--jsonl", "-"], str(home), stdin=data)
    assert_clean(r, nonzero=False)
    out = _verdict_lines(r.stdout, 4)
    assert [v["decision"] for v in out] == ["deny", "deny", "deny", "allow"]
    assert "longer than the limit" in out[0]["reasons"][0]["message"]
