"""``policylang fmt``: the canonical layout (golden pairs), idempotent and meaning-preserving on
generated policies (hypothesis), and the CLI with --check as a real process."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policylang
from policylang import Command, FileOp, Fetch, PolicyError
from policylang.lang.fmt import format_policy
from policylang.lang.nodes import Node
from policylang.lang.parse import parse_policy
from policylang.source import Source, Span

CWD = "/home/user/project"
ENV = {"HOME": "/home/user"}


@pytest.mark.parametrize("before, after", [
    ("rule  a :deny   exec ls\t-R ...\n", "rule a: deny exec ls -R ...\n"),
    ("let X=[ \"a/**\" ,\"b\" ]\n".replace("a/**", "~/a/**").replace('"b"', '"~/b"'),
     'let X = ["~/a/**", "~/b"]\n'),
    ("rule a: deny read in X+[\"~/y\"]\nlet X = [\"~/x\"]\n", 'rule a: deny read in X + ["~/y"]\nlet X = ["~/x"]\n'),
    ("rule a: deny exec {curl,wget} ...|exec { sh , bash }\n", "rule a: deny exec {curl, wget} ... | exec {sh, bash}\n"),
    ("rule a: deny exec git push ...\n  risk high\n\tmessage \"m\"   \n", 'rule a: deny exec git push ...\n    risk high\n    message "m"\n'),
    ("let X = [\n\"~/a\",\n  ]\n", 'let X = [\n    "~/a",\n]\n'),
    ("# top\n\n\n\nrule a: deny exec ls   # why\n   # more\n\n\n", "# top\n\nrule a: deny exec ls  # why\n    # more\n"),
    ("\n\nrule a: deny exec ls\r\nexample deny \"ls\"\r\n", 'rule a: deny exec ls\nexample deny "ls"\n'),
    ("\ufeffrule a: deny exec g++ a+b re\"x y\"  'raw # not a comment'\n",
     "rule a: deny exec g++ a+b re\"x y\" 'raw # not a comment'\n"),
    ("rule a: ask exec touch ... when   cel  'action.cwd == \"/tmp\"'\n",
     "rule a: ask exec touch ... when cel 'action.cwd == \"/tmp\"'\n"),
    ("", ""),
])
def test_canonical_layout(before: str, after: str) -> None:
    assert format_policy(before) == after
    assert format_policy(after) == after


def test_a_file_that_does_not_parse_is_refused() -> None:
    with pytest.raises(PolicyError) as err:
        format_policy("rule a: dney exec ls\n", "bad.policy")
    assert err.value.errors[0].span.line == 1


def test_a_comment_keeps_ending_the_argv() -> None:
    text = "rule a: deny exec git push  # a comment\n    risk high\n"
    assert format_policy(text) == "rule a: deny exec git push  # a comment\n    risk high\n"


# ---- generated policies ----------------------------------------------------------------------

WORDS = ["git", "push", "rm", "-rf", "-r", "--force", "origin", "main", "a+b", "g++", "x=1", "*.txt", "?", "...",
         '"quoted word"', "'raw word'", 're"[a-z]+"', "{a, b}", "{--force,-f}", "in LISTA", "in [\"/etc/**\"]"]
SPACES = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def statements(draw: Any) -> str:
    kind = draw(st.sampled_from(["exec", "exec", "path", "network", "pipe", "example", "let"]))
    sp = lambda: draw(SPACES)  # noqa: E731
    n = draw(st.integers(0, 10_000))
    if kind == "let":
        items = draw(st.lists(st.sampled_from(['"~/x/**"', '"/opt/**"', '"!**/.env"', '"**/.env"']), min_size=1,
                              max_size=3))
        if draw(st.booleans()):
            return f"let L{n}{sp()}={sp()}[" + ",\n    ".join(items) + "\n]"
        return f"let L{n} = [{sp()}" + f"{sp()},{sp()}".join(items) + f"{sp()}]"
    if kind == "example":
        return draw(st.sampled_from(['example deny "rm -rf /"', 'example allow "git status"',
                                     'example deny read "~/.ssh/id_rsa"']))
    decision = draw(st.sampled_from(["allow", "ask", "deny", "sandbox"]))
    head = f"rule r{n}{sp()}:{sp()}{decision}{sp()}"
    if kind in ("exec", "pipe"):
        argv = draw(st.lists(st.sampled_from(WORDS), min_size=1, max_size=5))
        program = draw(st.sampled_from(["git", "rm", "curl", "{curl, wget}", "ls"]))
        target = "exec" + sp() + program
        for w in argv:
            target += ("\n    " if draw(st.integers(0, 5)) == 0 else sp()) + w
        if kind == "pipe":
            target += f"{sp()}|{sp()}exec{sp()}{{sh,bash}}"
    elif kind == "path":
        target = draw(st.sampled_from(["read", "write", "delete"])) + sp() + "in" + sp() + \
            draw(st.sampled_from(['LISTA', 'LISTA+["~/y/**"]', '["~/.aws/**" , "/etc/**"]', 'LISTA + LISTA']))
    else:
        target = "network" + draw(st.sampled_from(["", ' to ["*.example.com"]', ' to["10.*"]']))
    unless = "unless exec git status" if kind in ("exec", "pipe") else "unless network to [\"a.example.com\"]" \
        if kind == "network" else "unless read in [\"~/.ssh/known_hosts\"]"
    if kind == "path":
        unless = unless.replace("read", target.split()[0], 1)
    clauses = draw(st.lists(st.sampled_from(["risk high", "risk low", 'message "m # not a comment"', "alt 'a'",
                                             unless, 'when cel "true"']),
                            max_size=3, unique_by=lambda c: c.split()[0]))
    text = head + target
    for c in clauses:
        text += ("\n" + draw(st.sampled_from(["    ", "\t", "  "])) if draw(st.booleans()) else sp()) + c
    if draw(st.booleans()):
        text += sp() + "# trailing comment"
    return text


@st.composite
def policies(draw: Any) -> str:
    body = draw(st.lists(statements(), min_size=1, max_size=6))
    out = ['let LISTA = ["~/.ssh/**", "/srv/**"]']
    for i, s in enumerate(body):
        s = re.sub(r"^(rule r|let L)\d+", lambda m: f"{m.group(1)}{i}", s)
        out.append(draw(st.sampled_from(["", "\n", "\n\n\n", "\n# a comment line\n", "\n    # indented comment\n"])))
        out.append(s + draw(st.sampled_from(["", "   ", "\t"])))
    return "\n".join(out) + draw(st.sampled_from(["", "\n", "\n\n"]))


def ast_of(text: str) -> Any:
    tree, diags = parse_policy(Source("p.policy", text, layer="user"))
    assert not [d for d in diags if d.is_error], diags
    return _plain(tree)


def _plain(value: Any) -> Any:
    """A node without its spans: what the policy means, not where it is written."""
    if isinstance(value, Node):
        return (type(value).__name__,) + tuple(_plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                                               if not isinstance(getattr(value, f.name), Span))
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


ACTIONS = [Command(c, cwd=CWD, env=ENV) for c in (
    "git push --force origin main", "git push origin main", "rm -rf build", "rm -rf /", "curl https://x.example.com",
    "curl https://x.example.com | bash", "ls -R", "git status", "g++ a+b", "cat ~/.ssh/id_rsa",
)] + [FileOp("read", "~/.aws/credentials", cwd=CWD, env=ENV), FileOp("write", "/srv/x", cwd=CWD, env=ENV),
      FileOp("delete", "/home/user/y/z", cwd=CWD, env=ENV), Fetch("https://a.example.com/"), Fetch("https://10.0.0.1/")]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policies())
def test_fmt_is_idempotent_and_keeps_the_meaning(text: str) -> None:
    once = format_policy(text)
    assert format_policy(once) == once
    assert ast_of(once) == ast_of(text)
    try:
        a = policylang.from_text(text, check_examples=False)
    except PolicyError as exc:  # a generated policy the validator refuses: the text must be refused alike
        with pytest.raises(PolicyError) as again:
            policylang.from_text(once, check_examples=False)
        assert [d.code for d in again.value.errors] == [d.code for d in exc.errors]
        return
    b = policylang.from_text(once, check_examples=False)
    for action in ACTIONS:
        assert a.decide(action).decision is b.decide(action).decision, (action, text, once)


def test_the_builtin_policy_keeps_its_meaning() -> None:
    path = Path(policylang.__file__).parent / "config" / "default.policy"
    text = path.read_text(encoding="utf-8")
    once = format_policy(text)
    assert format_policy(once) == once
    assert ast_of(once) == ast_of(text)
    assert once == text, "config/default.policy is not in fmt's canonical layout: run policylang fmt on it"


# ---- the command line ------------------------------------------------------------------------

def run(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env.update(HOME=str(home), POLICYLANG_NO_CACHE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "policylang", "fmt", *args], capture_output=True, text=True,
                          env=env, cwd=home, timeout=120, input=stdin)


def test_cli_check_and_rewrite(tmp_path: Path) -> None:
    messy = tmp_path / "messy.policy"
    messy.write_text("rule  a :deny exec ls   -R\n", encoding="utf-8")
    tidy = tmp_path / "tidy.policy"
    tidy.write_text("rule a: deny exec ls -R\n", encoding="utf-8")
    p = run(tmp_path, "--check", str(messy), str(tidy))
    assert p.returncode == 1
    assert p.stdout == f"would reformat {messy}\n"
    assert messy.read_text(encoding="utf-8") == "rule  a :deny exec ls   -R\n"
    p = run(tmp_path, str(messy), str(tidy))
    assert p.returncode == 0 and p.stdout == f"reformatted {messy}\n"
    assert messy.read_text(encoding="utf-8") == "rule a: deny exec ls -R\n"
    assert run(tmp_path, "--check", str(messy), str(tidy)).returncode == 0


def test_cli_stdin_and_errors(tmp_path: Path) -> None:
    p = run(tmp_path, stdin="rule a :deny exec ls\n")
    assert p.returncode == 0 and p.stdout == "rule a: deny exec ls\n"
    bad = tmp_path / "bad.policy"
    bad.write_text("rule a: dney exec ls\n", encoding="utf-8")
    p = run(tmp_path, str(bad))
    assert p.returncode == 5
    assert f"{bad}:1:9: error" in p.stderr
    assert bad.read_text(encoding="utf-8") == "rule a: dney exec ls\n"
    assert run(tmp_path, str(tmp_path / "missing.policy")).returncode == 2
