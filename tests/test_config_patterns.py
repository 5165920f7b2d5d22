"""allowlist_patterns and denylist_patterns (config/patterns.py, issue 12 item 1): an allow pattern is
anchored at the start of the segment's normalised command and ends where a word ends; ``*`` writes
the unanchored form; a deny pattern matches anywhere.  Decided by the engine under the strict
posture, where a command no rule allows is denied."""
from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

import policylang
from policylang.actions import Command
from policylang.config.lint import lint_config
from policylang.config.patterns import loose_allow, pattern_regex, samples, split
from policylang.regex import Regex

CWD = "/home/user/project"
ENV = {"HOME": "/home/user", "PATH": "/usr/bin:/bin"}


def _policy(tmp_path: Path, allow: list[str], deny: list[str] | None = None) -> policylang.Policy:
    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join("'" + p + "'" for p in items) + "]"

    path = tmp_path / "config.toml"
    path.write_text(f'[security]\npreset = ["approve", "strict"]\nallowlist_patterns = {toml_list(allow)}\n'
                    f"denylist_patterns = {toml_list(deny or [])}\n", "utf-8")
    return policylang.load(str(path))


def decide(policy: policylang.Policy, command: str) -> str:
    return policy.decide(Command(command, cwd=CWD, env=ENV)).decision.label


# (allow pattern, command, expected decision under the strict posture)
ALLOW = [
    ("npm test", "npm test", "allow"),
    ("npm test", "npm test --watch", "deny"),  # npm's grammar has no --watch: opaque, denied by strict
    ("npm test", "/usr/bin/npm test", "allow"),  # the program as the catalog names it
    ("npm test", "NPM test", "allow"),
    ("npm test", "'npm' test", "allow"),
    # the evasions of issue 12: the pattern after another program, or inside a longer word
    ("npm test", "./malware npm test", "deny"),
    ("npm test", "python3 exfil.py npm test", "ask"),  # python3 running a script: its own risk decides
    ("npm test", "xnpm test", "deny"),
    ("npm test", "/tmp/x/npm-evil test", "deny"),
    ("npm test", "npm testing", "ask"),  # ends where a word ends
    ("npm test", "npm test:unit", "ask"),
    ("npm test", "npm test; ./malware", "deny"),  # each segment on its own
    ("npm test", "echo npm test", "allow"),  # echo is allowed by its own low risk, not by the pattern
    # the unanchored form, written explicitly
    ("*npm test", "./malware npm test", "allow"),
    ("*npm test", "xnpm test", "allow"),
    # patterns with their own anchors and alternatives
    ("^echo\\b", "echo hi", "allow"),
    ("git (status|log)", "git log", "allow"),
    ("git (status|log)", "./malware git log", "deny"),
    ("npm test|make check", "make check", "allow"),
    ("npm test|make check", "./malware make check", "deny"),
    ("(?i)frobnicate", "frobnicate --all", "allow"),
    ("frobnicate", "./frobnicate", "deny"),
    ("frobnicate", "frobnicate", "allow"),
]


@pytest.mark.parametrize("pattern,command,expected", ALLOW)
def test_allow_patterns(tmp_path: Path, pattern: str, command: str, expected: str) -> None:
    assert decide(_policy(tmp_path, [pattern]), command) == expected


# (deny pattern, command, expected decision): a deny pattern matches anywhere in a segment
DENY = [
    ("curl", "curl https://example.com", "deny"),
    ("curl", "sudo curl https://example.com", "deny"),
    ("curl", "./tool curl", "deny"),
    ("curl", "echo curl", "deny"),  # too much is denied, never too little
    ("curl", "echo hi", "allow"),
    ("^curl\\b", "echo curl", "allow"),  # anchored by its author
    ("*curl", "echo curl", "deny"),  # a leading * changes nothing
    ("rm\\s+-rf", "ls && rm -rf build", "deny"),
]


@pytest.mark.parametrize("pattern,command,expected", DENY)
def test_deny_patterns(tmp_path: Path, pattern: str, command: str, expected: str) -> None:
    assert decide(_policy(tmp_path, ["echo", "ls", "./tool"], [pattern]), command) == expected


@pytest.mark.parametrize("raw,decision,regex", [
    ("npm test", "allow", r"^(?:npm test)(?:\s|$)"),
    ("*npm test", "allow", "npm test"),
    ("npm test", "deny", "npm test"),
    ("*npm test", "deny", "npm test"),
    ("a|b", "allow", r"^(?:a|b)(?:\s|$)"),
])
def test_the_regex_a_pattern_stands_for(raw: str, decision: str, regex: str) -> None:
    assert pattern_regex(raw, decision) == regex


@pytest.mark.parametrize("raw", ["x)|(.*", "*", "(?=git)", "*x)|(.*"])
def test_a_pattern_whose_regex_does_not_compile_on_its_own_is_an_error(tmp_path: Path, raw: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[security]\nallowlist_patterns = ['{raw}']\n", "utf-8")
    assert [(d.severity, d.code) for d in lint_config(path)] == [("error", "invalid-regex")]


# ---- the property: a program or path before an allowed command is never allowed by the pattern --

PROGRAM_PATTERNS = ["npm test", "git (status|log)", "make( check)?", "cargo test .*", "npm run [a-z]+",
                    "git status|git diff", "^pytest\\b"]
_word = st.text(string.ascii_letters + string.digits + "./_-", min_size=1, max_size=12)


@st.composite
def prefixed(draw: st.DrawFn) -> tuple[str, str, str]:
    """(pattern, a command it allows, that command with programs or paths before it)."""
    pattern = draw(st.sampled_from(PROGRAM_PATTERNS))
    allowed = draw(st.sampled_from([s for s in samples(split(pattern)[0]) if s.strip()]))
    program = allowed.split()[0]
    words = draw(st.lists(_word.filter(lambda w: w != program), min_size=1, max_size=3))
    return pattern, allowed, " ".join(words) + " " + allowed


@settings(max_examples=300, deadline=None)
@given(prefixed())
def test_a_prefix_never_makes_a_command_allowed_by_the_pattern(case: tuple[str, str, str]) -> None:
    pattern, allowed, command = case
    rx = Regex(pattern_regex(pattern, "allow"))
    assert rx.search(allowed)
    assert not rx.search(command)


_POLICY_CACHE: dict[str, policylang.Policy] = {}


@settings(max_examples=40, deadline=None)
@given(prefixed())
def test_a_prefixed_command_s_own_segment_is_not_allowed_by_the_pattern(case: tuple[str, str, str]) -> None:
    """The engine agrees: the prefixed program's exec effect is not matched by the allow rule (its
    arguments may still be looked at as a command of their own, and allowed)."""
    pattern, _, command = case
    policy = _POLICY_CACHE.get(pattern)
    if policy is None:
        policy = _POLICY_CACHE[pattern] = _load_with_pattern(pattern)
    ex = policy.explain(Command(command, cwd=CWD, env=ENV))
    top = [j for j in ex.judged if j.effect.kind == "exec" and j.effect.segment == 0]
    for j in top:
        assert "config.allowlist.1" not in [r.id for r in j.matched], (command, j.effect.describe())


def _load_with_pattern(pattern: str) -> policylang.Policy:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return _policy(Path(d), [pattern])


# ---- the lint -----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,witness", [
    ("npm test", None),
    ("git (status|log)", None),
    ("^echo\\b", None),
    ("np. test", None),  # a three-letter program: a program name all the same
    (".*npm test", "./malware npm test"),
    ("(\\S+ )*npm test", "./malware npm test"),
    ("\\S+ --version", "./malware --version"),
    ("[a-z]+ test", "zzmalware test"),
    (".*", "./malware"),
    ("*npm test", "./malware npm test"),
])
def test_an_allow_pattern_that_can_match_after_the_program_is_found(raw: str, witness: str | None) -> None:
    found = loose_allow(raw)
    assert (found[1] if found else None) == witness
    if witness is not None:  # the witness is real: the pattern's regex allows it
        assert Regex(pattern_regex(raw, "allow")).search(witness)


def test_check_warns_about_loose_allow_patterns_where_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[security]\nallowlist_patterns = ['npm test', '.*npm test', '*make']\n"
                    "denylist_patterns = ['*curl', '.*rm']\n", "utf-8")
    got = [(d.severity, d.code, d.span.line, d.span.column, d.message) for d in lint_config(path) if d.span]
    assert got == [
        ("warning", "allow-pattern-anywhere", 2, 35, "security.allowlist_patterns[1]: '.*npm test' can match after "
         "the program name, so it allows './malware npm test'"),
        ("warning", "allow-pattern-anywhere", 2, 49, "security.allowlist_patterns[2]: '*make' is unanchored (a "
         "leading *): it matches anywhere in a command, so it allows './malware make'"),
    ]


@pytest.mark.parametrize("text,expected", [
    ('workspace = "/srv/app"\nsafe_paths = ["/tmp", "/srv/app/build"]\n', [("warning", "safe-path-in-workspace", 3, 23)]),
    ('workspace = "/srv/app"\nsafe_paths = ["/srv/app"]\n', [("warning", "safe-path-in-workspace", 3, 15)]),
    ('workspace = "/srv/app"\nsafe_paths = ["/srv/application", "/tmp"]\n', []),
    ('safe_paths = ["/srv/app/build"]\n', []),  # no workspace set: it is each action's cwd
])
def test_a_safe_path_inside_the_workspace_is_a_warning(tmp_path: Path, text: str,
                                                        expected: list[tuple[str, str, int, int]]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[security]\n" + text, "utf-8")
    assert [(d.severity, d.code, d.span.line, d.span.column) for d in lint_config(path) if d.span] == expected
