"""Robustness (issue 13, findings 1-6 and 11): one regression test per finding, as real processes
where the finding was about the CLI.  Each fails on the code before the fix."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from clirun import assert_clean, run_cli

import policylang
from policylang.actions import Command, FileOp
from policylang.engine.vcache import VerdictCache
from policylang.inputs import BatchLines, InputError, decode_utf8, open_regular, read_bytes
from policylang.settings import CASE_INSENSITIVE_DEFAULT, Settings
from policylang.verdict import Decision

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs, wait4 and RLIMIT_AS are POSIX")


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / "project").mkdir(parents=True)
    return h


def _jsonl(home: Path, data: bytes, *, via_file: bool = False) -> tuple[Any, list[dict[str, Any]]]:
    """Decide a batch given on stdin, or (``via_file``) in a file named by ``--jsonl FILE``."""
    source = "-"
    if via_file:
        source = str(home / "batch.jsonl")
        Path(source).write_bytes(data)
    r = run_cli(["decide", "--cwd", str(home / "project"), "--jsonl", source], str(home),
                stdin=None if via_file else data)
    assert_clean(r, nonzero=False)
    return r, [json.loads(line) for line in r.stdout.split(b"\n")[:-1]]


@pytest.mark.parametrize("via_file", [True, False], ids=["file", "stdin"])
def test_lines_are_split_on_lf_only(home: Path, via_file: bool) -> None:
    noise = os.urandom(100_000)
    data = b'"git status"\r"rm -rf /"\n"ls"\r\n"cat\rx"\n' + noise + b'\n"git status"\n'
    _, out = _jsonl(home, data, via_file=via_file)
    assert len(out) == data.count(b"\n")  # a verdict per LF (the base split a file on CR too)
    assert out[0]["decision"] == "deny" and "invalid JSON" in out[0]["reasons"][0]["message"]
    assert out[1]["decision"] == "allow"  # CRLF: the CR before the LF is dropped
    assert out[2]["decision"] == "deny" and "line 3" in out[2]["reasons"][0]["message"]
    assert out[-1]["decision"] == "allow"
    assert all(o["decision"] == "deny" for o in out if o["reasons"][0]["rule"] == "error:input")


# ---- 2. a lone surrogate and invalid bytes do not stop anything ----------------------------------

def test_a_lone_surrogate_line_fails_closed_and_the_batch_goes_on(home: Path) -> None:
    data = b'"git status"\n"\\ud800"\n{"kind":"command","command":"ls \\udfff"}\n"\\ud83d\\ude00"\n"git log"\n'
    _, out = _jsonl(home, data)
    assert [o["decision"] for o in out] == ["allow", "deny", "deny", out[3]["decision"], "allow"]
    assert "lone surrogate" in out[1]["reasons"][0]["message"]
    assert out[3]["reasons"][0]["rule"] != "error:input"  # a proper pair is a character, not an error


def test_invalid_utf8_in_argv_and_stdin_under_a_strict_locale(home: Path) -> None:
    strict = {"PYTHONIOENCODING": "utf-8:strict", "LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}
    r = run_cli([b"decide", b"--cwd", str(home / "project").encode(), b"cat", b"\xff\xfe.txt"], str(home), env=strict)
    assert_clean(r, nonzero=False)
    assert r.out.startswith(("allow", "ask", "deny")) and "\\udcff" in r.out
    r = run_cli(["decide", "--jsonl", "-"], str(home), stdin=b'"ls \xff"\n"ls"\n', env=strict)
    assert_clean(r, nonzero=False)
    out = [json.loads(line) for line in r.out.splitlines()]
    assert [o["decision"] for o in out] == ["deny", "allow"] and "UTF-8" in out[0]["reasons"][0]["message"]


# ---- 3. the output is one line per verdict for any line reader ------------------------------------

def test_line_separators_in_the_output_are_escaped(home: Path) -> None:
    chars = "\u2028\u2029\u0085\u000b\u000c\u001c\u001d\u001e\r"
    lines = [json.dumps(f"echo a{c}b", ensure_ascii=False) for c in chars]
    r, out = _jsonl(home, ("\n".join(lines) + "\n").encode())
    assert r.stdout.isascii()
    assert len(r.out.splitlines()) == len(lines) == len(out)
    assert all(o["action"] == f"echo a{c}b" for o, c in zip(out, chars))


# ---- 4. endless input ends, in bounded memory -----------------------------------------------------

@pytest.mark.parametrize("args", [["decide", "--jsonl", "-"], ["check", "/dev/zero"], ["test", "/dev/zero.tsv"],
                                  ["decide", "--jsonl", "/dev/zero"], ["decide", "--policy", "/dev/zero", "ls"]])
def test_dev_zero_into_every_reader(home: Path, args: list[str]) -> None:
    if "/dev/zero.tsv" in args:  # the test command picks its reader by the suffix: a link to /dev/zero
        os.symlink("/dev/zero", home / "zero.tsv")
        args = ["test", str(home / "zero.tsv")]
    r = run_cli(args, str(home), stdin="/dev/zero", timeout=40)
    assert_clean(r)
    assert "policylang" in r.err or "FAIL" in r.out


def test_an_overlong_line_is_refused_without_holding_it() -> None:
    lines = list(BatchLines(_Chunks([b'"ls"\n', b"x" * 50, b"y" * 50, b'\n"pwd"']), max_line=64))
    assert [(l.number, l.text, l.error is not None) for l in lines] == [(1, '"ls"', False), (2, None, True),
                                                                        (3, '"pwd"', False)]
    endless = BatchLines(_Chunks([b"z" * 1000] * 1000), max_line=64, max_skip=10_000)
    assert [l.number for l in endless] == [1] and endless.ended is not None


class _Chunks:
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)

    def read(self, n: int) -> bytes:
        return self.chunks.pop(0) if self.chunks else b""


# ---- 5. a FIFO anywhere a file is read ------------------------------------------------------------

def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


FIFO_CASES = ["policy-arg", "check-policy", "env-config", "policy-files", "admin-config", "test-toml", "test-tsv",
              "jsonl-file", "project-policy", "switch-config", "check-toml"]


@pytest.mark.parametrize("case", FIFO_CASES)
def test_a_fifo_is_refused_not_waited_on(home: Path, case: str) -> None:
    cfg = home / "config.toml"
    env: dict[str, str] = {}
    if case == "policy-arg":
        args = ["decide", "--policy", str(_fifo(home / "p.policy")), "ls"]
    elif case == "check-policy":
        args = ["check", str(_fifo(home / "p.policy"))]
    elif case == "env-config":
        env["POLICYLANG_CONFIG"] = str(_fifo(home / "c.toml"))
        args = ["decide", "ls"]
    elif case == "policy-files":
        _fifo(home / "p.policy")
        cfg.write_text('[security]\npolicy_files = ["p.policy"]\n')
        args = ["decide", "--config", str(cfg), "ls"]
    elif case == "admin-config":
        _fifo(home / "admin.toml")
        cfg.write_text('[security]\nadmin_config = "admin.toml"\n')
        args = ["decide", "--config", str(cfg), "ls"]
    elif case == "test-toml":
        args = ["test", str(_fifo(home / "t.toml"))]
    elif case == "test-tsv":
        args = ["test", str(_fifo(home / "t.tsv"))]
    elif case == "jsonl-file":
        args = ["decide", "--jsonl", str(_fifo(home / "in.jsonl"))]
    elif case == "project-policy":
        (home / "project" / ".policylang").mkdir()
        _fifo(home / "project" / ".policylang" / "agent.policy")
        cfg.write_text(f'[security]\nproject_policies = true\nworkspace = "{home / "project"}"\n')
        args = ["decide", "--config", str(cfg), "ls"]
    elif case == "switch-config":
        args = ["policy", "strict", "--config", str(_fifo(home / "c.toml"))]
    else:
        args = ["check", str(_fifo(home / "c.toml"))]
    r = run_cli(args, str(home), env=env, cwd=str(home / "project"), timeout=20)
    assert_clean(r)
    assert any(s in r.err + r.out for s in ("FIFO", "cannot read", "not a regular file")), (r.out, r.err)


def test_open_regular_refuses_what_is_not_a_file(tmp_path: Path) -> None:
    fifo = _fifo(tmp_path / "f")
    for path, kind in ((fifo, "FIFO"), (tmp_path, "directory"), (Path("/dev/null"), "character device")):
        with pytest.raises(InputError, match=kind):
            open_regular(path)
    loop = tmp_path / "loop"
    os.symlink(loop, loop)
    with pytest.raises(OSError):
        open_regular(loop)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 101)
    assert read_bytes(big, 101) == b"x" * 101
    with pytest.raises(InputError, match="larger than the limit of 100 bytes"):
        read_bytes(big, 100)


# ---- 6. tracebacks ------------------------------------------------------------------------------

def test_invalid_utf8_in_a_toml_given_to_check_says_where(home: Path) -> None:
    (home / "c.toml").write_bytes(b'[security]\nmode = "appr\xffove"\n')
    r = run_cli(["check", str(home / "c.toml")], str(home))
    assert_clean(r)
    assert "c.toml:2:" in r.out and "not UTF-8" in r.out


BAD_TABLES = [
    ("five.toml", b"test = 5\n", "'test' must be an array of tables"),
    ("deep.toml", b"test = " + b"[" * 5000 + b"]" * 5000 + b"\n", "nested too deep"),
    ("deep_action.toml", b'[[test]]\nexpect = "deny"\naction = ' + b"[" * 200 + b"]" * 200 + b"\n", "nested deeper"),
    ("expect.toml", b'[[test]]\naction = "ls"\nexpect = 5\n', "'expect' must be a string"),
    ("latin1.tsv", b"ls\tallow\ncat caf\xe9\tallow\n", "latin1.tsv:2:8: not valid UTF-8"),
    ("latin1.toml", b'[[test]]\naction = "caf\xe9"\nexpect = "allow"\n', "latin1.toml:2:14: not valid UTF-8"),
]


def test_bad_test_tables_are_failures_not_tracebacks(home: Path) -> None:
    for name, content, _ in BAD_TABLES:
        (home / name).write_bytes(content)
    r = run_cli(["test", *(str(home / name) for name, _, _ in BAD_TABLES)], str(home))
    assert_clean(r)
    assert r.code == 1 and f"0 passed, {len(BAD_TABLES)} failed" in r.out, r.out
    for name, _, message in BAD_TABLES:
        assert any(name in line and message in line for line in r.out.splitlines()), (name, r.out)


def test_fifteen_thousand_path_globs_stay_exact() -> None:
    globs = ", ".join(f'"/data/p{i}/**/key{i}_*.pem"' for i in range(15_000))
    policy = policylang.from_text(f"let BIG = [{globs}]\nrule big.read: deny read in BIG risk high\n")
    hit = policy.decide(FileOp("read", "/data/p14999/a/b/key14999_x.pem"))
    assert hit.decision == Decision.DENY and "big.read" in hit.matched
    miss = policy.decide(FileOp("read", "/data/p5/key6_x.pem", cwd="/data"))
    assert "big.read" not in miss.matched and not any(r.rule.startswith("error:") for r in miss.reasons)


def test_check_from_a_deleted_working_directory(home: Path) -> None:
    gone = home / "gone"
    gone.mkdir()
    (home / "ok.policy").write_text("rule a.b: deny exec rm ...\n")
    # the process removes its own working directory, then runs the CLI
    code = ("import os, sys; os.rmdir(sys.argv[1]); from policylang.adapters.cli import main; "
            "sys.exit(main(['check', sys.argv[2]]))")
    p = subprocess.run([sys.executable, "-c", code, str(gone), str(home / "ok.policy")], cwd=gone,
                       capture_output=True, text=True, timeout=60, env={**os.environ, "HOME": str(home)}, check=False)
    assert "Traceback" not in p.stderr, p.stderr
    assert p.returncode == 2 and "working directory" in p.stderr, p.stderr


def test_deciding_something_that_is_not_an_action_denies() -> None:
    policy = policylang.from_text("")
    for thing in (123, None, 4.5, object(), ["ls", 3], {"command": "ls"}):
        v = policy.decide(thing)  # type: ignore[arg-type]
        assert v.decision == Decision.DENY and v.reasons[0].rule == "error:input", thing
        assert "not an action" in v.reasons[0].message
    with pytest.raises(TypeError, match="not an action: int"):
        policy.explain(123)  # type: ignore[arg-type]


# ---- 11. BOM, invisible characters, HOME in another thread, case ---------------------------------

def test_a_bom_at_the_start_of_a_config_or_policy_is_accepted(home: Path) -> None:
    (home / "c.toml").write_bytes(b'\xef\xbb\xbf[security]\nmode = "execute"\n')
    (home / "p.policy").write_bytes(b"\xef\xbb\xbfrule a.b: deny exec rm ...\n")
    r = run_cli(["check", str(home / "c.toml"), str(home / "p.policy")], str(home))
    assert_clean(r, nonzero=False)
    assert r.code == 0, r.out
    r = run_cli(["decide", "--config", str(home / "c.toml"), "--policy", str(home / "p.policy"), "--json",
                 "rm x"], str(home))
    assert r.code == 1 and json.loads(r.out)["matched"] == ["a.b"]
    assert decode_utf8(b"\xef\xbb\xbfabc", "x") == "abc"


INVISIBLE = [("\x00", "NUL"), ("\u200b", "zero-width space"), ("\u200d", "zero-width joiner"),
             ("\ufeff", "byte order mark"), ("\u202e", "bidirectional control"), ("\u2066", "bidirectional control")]


def test_an_invisible_character_in_a_policy_word_is_an_error(home: Path) -> None:
    files = []
    for i, (char, _) in enumerate(INVISIBLE):
        files.append(home / f"p{i}.policy")
        files[-1].write_text(f"rule a.b: deny exec r{char}m ...\n", encoding="utf-8")
    r = run_cli(["check", "--strict", *map(str, files)], str(home))
    assert_clean(r)
    for path, (char, name) in zip(files, INVISIBLE):
        assert f"{path.name}:1:22: error[invisible-character]: U+{ord(char):04X} ({name}" in r.out \
            or f"{path.name}:1:22: error[invisible-character]: U+{ord(char):04X} (a {name}" in r.out, r.out


def test_home_changed_by_another_thread_cannot_poison_the_verdict_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = policylang.from_text("", Settings(cache_size=64))
    # a secret under ~ only, named by a glob (a verdict on a concrete path is never cached)
    command = Command("cat /home/alice/.aws/cred*", cwd="/srv")
    monkeypatch.setenv("HOME", "/home/alice")
    assert policy.decide(command).decision == Decision.DENY
    policy = policylang.from_text("", Settings(cache_size=64))  # a fresh cache
    real_key = VerdictCache.key
    switched = threading.Event()

    def key_then_switch(self: VerdictCache, *args: Any) -> Any:
        k = real_key(self, *args)
        if not switched.is_set():  # another thread sets HOME just after the key was made
            switched.set()
            os.environ["HOME"] = "/home/bob"
        return k

    monkeypatch.setattr(VerdictCache, "key", key_then_switch)
    policy.decide(command)  # made under bob's HOME: must not be filed under alice's
    monkeypatch.setattr(VerdictCache, "key", real_key)
    os.environ["HOME"] = "/home/alice"
    assert policy.decide(command).decision == Decision.DENY


def test_paths_match_without_case_where_the_file_system_ignores_it(home: Path) -> None:
    assert CASE_INSENSITIVE_DEFAULT == (sys.platform in ("darwin", "win32", "cygwin"))
    on = policylang.from_text("", Settings(case_insensitive_paths=True))
    off = policylang.from_text("", Settings(case_insensitive_paths=False))
    for action in (Command("cat ~/.ssh/ID_RSA", cwd="/tmp", env={"HOME": "/home/u"}),
                   FileOp("read", "/home/u/.AWS/Credentials", env={"HOME": "/home/u"}),
                   FileOp("write", "/ETC/passwd", env={"HOME": "/home/u"})):
        assert on.decide(action).decision == Decision.DENY, action
        assert off.decide(action).decision != Decision.DENY, action
    (home / "c.toml").write_text("[security]\ncase_insensitive_paths = true\n")
    r = run_cli(["decide", "--config", str(home / "c.toml"), "--cwd", "/tmp", "cat ~/.ssh/ID_RSA"], str(home))
    assert r.code == 1 and r.out.startswith("deny"), r.out
