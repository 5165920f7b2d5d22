"""A failing example says what blocked it: the allow rule's risk ceiling that the effect's risk
exceeded, or the effect no rule decided; and the Python API refuses a policy whose examples fail."""
from __future__ import annotations

import pytest

import policylang
from policylang import Command, PolicyError
from policylang.engine.examples import blocked_by
from policylang.diagnostics import shown

CWD = "/home/user/project"
ENV = {"HOME": "/home/user"}


def policy(text: str) -> policylang.Policy:
    return policylang.from_text(text, name="p.policy", check_examples=False)


@pytest.mark.parametrize("rules, command, expected, words", [
    # the exec rule's own ceiling is below the command's risk
    ("rule curl.get: allow exec curl ... risk low\n", "curl https://example.com", "allow",
     ["rule curl.get [p.policy:1:1] matches exec(curl https://example.com) but allows at most risk low",
      "this effect's risk is medium"]),
    # the command is allowed, its own effect is riskier than the rule's ceiling
    ("rule git.push: allow exec git push ...\n", "git push --force origin main", "allow",
     ["rule git.push [p.policy:1:1] allows the command, and covers its own effects only up to its ceiling, "
      "risk medium", "has risk high", "the default gives deny"]),
    # a path the command touches is for the path rules
    ("rule rm.build: allow exec rm -rf build\n", "rm -rf build", "allow",
     ["rule rm.build [p.policy:1:1] allows the command, but the paths a command touches are decided by path rules",
      "no rule decides delete(/home/user/project/build/**)"]),
    # a stricter rule decided
    ("rule cat.any: allow exec cat ...\n", "cat ~/.ssh/id_rsa", "allow",
     ["read(/home/user/.ssh/id_rsa) is decided deny by builtin.secrets.read"]),
    # nothing matched at all
    ("", "curl https://example.com", "allow",
     ["no rule decides network(example.com): by default (mode approve, risk medium) it gets ask"]),
])
def test_blocked_by_names_the_cause(rules: str, command: str, expected: str, words: list[str]) -> None:
    p = policy(rules)
    got = blocked_by(p, Command(command, cwd=CWD, env=ENV), expected)
    assert got is not None
    for w in words:
        assert w in got, got


def test_nothing_blocks_an_action_that_gets_its_decision() -> None:
    p = policy("rule git.push: allow exec git push ...\n")
    assert blocked_by(p, Command("git push origin main", cwd=CWD, env=ENV), "allow") is None
    assert blocked_by(p, Command("rm -rf /", cwd=CWD, env=ENV), "deny") is None
    assert blocked_by(p, Command("ls", cwd=CWD, env=ENV), "maybe") is None


def test_a_covered_effect_is_covered_within_the_ceiling() -> None:
    p = policy("rule git.push: allow exec git push ...\n")
    assert p.decide(Command("git push origin main", cwd=CWD, env=ENV)).decision == "allow"


def test_check_prints_the_cause_as_a_hint() -> None:
    p = policy('rule curl.get: allow exec curl ... risk low\nexample allow "curl https://example.com"\n')
    (d,) = p.check_examples(("user",))
    assert d.code == "example-failed" and d.span.line == 2
    assert d.hint is not None and "allows at most risk low" in d.hint


def test_the_api_refuses_a_policy_whose_example_fails(tmp_path) -> None:
    text = 'rule a: allow exec ls ...\nexample deny "ls"\n'
    with pytest.raises(PolicyError) as err:
        policylang.from_text(text, name="team.policy")
    (d,) = err.value.errors
    assert d.code == "example-failed" and str(d.span).startswith("team.policy:2:1")
    assert "example expected deny but the policy decides allow" in str(err.value)
    assert policylang.from_text(text, check_examples=False).decide("ls").decision == "allow"
    f = tmp_path / "team.policy"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError):
        policylang.load(policy_files=[f])
    assert policylang.load(policy_files=[f], check_examples=False).decide(Command("ls", cwd=CWD)).decision == "allow"


def test_the_api_loads_a_policy_whose_examples_hold() -> None:
    p = policylang.from_text('rule a: deny exec ls -R ...\nexample deny "ls -R /"\nexample allow "ls"\n')
    assert p.decide(Command("ls -R /", cwd=CWD)).decision == "deny"


@pytest.mark.parametrize("text, expected", [
    ("ls", "'ls'"),
    (r"grep '\bfoo\b' x", r'''"grep '\bfoo\b' x"'''),
    (r"./my\tool", r"'./my\tool'"),
    ("a\nb\x1bc", r"'a\nb\x1bc'"),
    ("r\u200bm", r"'r\u200bm'"),
    ("both ' and \"", "'both \\' and \"'"),
])
def test_shown_keeps_backslashes_and_escapes_only_the_invisible(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_messages_show_a_command_as_written() -> None:
    v = policylang.load().decide(Command(r"'./my\tool' --x", cwd=CWD, env=ENV))
    assert any(r"'./my\tool'" in r.message for r in v.reasons), v.reasons
    assert not any("\\\\" in r.message for r in v.reasons)
