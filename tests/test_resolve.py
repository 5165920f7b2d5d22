"""Word -> absolute path resolution (policylang/resolve.py)."""
from __future__ import annotations

import posixpath

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.resolve import Expanded, Lit, Tilde, Unknown, Var, expand, join_path, lex_word, normalise_path, \
    resolve_path

CWD = "/home/user/project"
HOME = "/home/user"
ENV = {"HOME": HOME, "BUILD": "/srv/build", "EMPTY": "", "SPACED": "a b"}


@pytest.mark.parametrize("path, expected", [
    ("/", "/"),
    ("//", "/"),
    ("/etc/", "/etc"),
    ("/etc//passwd", "/etc/passwd"),
    ("/a/./b/.", "/a/b"),
    ("/a/b/../c", "/a/c"),
    ("/..", "/"),
    ("/../../etc", "/etc"),
    ("/tmp/foo..bar", "/tmp/foo..bar"),
    ("/tmp/...", "/tmp/..."),
    ("a/../..", ".."),
    ("a/./b/", "a/b"),
    ("", "."),
    (".", "."),
    ("/tmp/*/../x", "/tmp/x"),
])
def test_normalise_path(path: str, expected: str) -> None:
    assert normalise_path(path) == expected


_SEGMENT = st.sampled_from(["a", "b", "..", ".", "", "etc", "x.y", "...", "*"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_SEGMENT, max_size=10), st.booleans())
def test_normalise_path_properties(segments: list[str], absolute: bool) -> None:
    path = ("/" if absolute else "") + "/".join(segments)
    out = normalise_path(path)
    assert normalise_path(out) == out  # idempotent
    assert "//" not in out and "/./" not in out and not out.endswith("/.")
    assert out == "/" or not out.endswith("/")
    if absolute:
        assert out.startswith("/") and "/../" not in out + "/"
        if not path.startswith("//"):
            assert out == posixpath.normpath(path)


@pytest.mark.parametrize("word, expected", [
    ("build", CWD + "/build"),
    ("./build/", CWD + "/build"),
    ("../x", "/home/user/x"),
    ("/etc/passwd", "/etc/passwd"),
    ("~", HOME),
    ("~/.ssh/id_rsa", HOME + "/.ssh/id_rsa"),
    ("$HOME", HOME),
    ("${HOME}/x", HOME + "/x"),
    ('"$HOME/my dir"', HOME + "/my dir"),
    ("'$HOME'", CWD + "/$HOME"),
    ("\\~", CWD + "/~"),
    ("$TMPDIR/x", "/tmp/x"),
    ("$TMPDIR/../etc", "/etc"),
    ("${TMPDIR:-/var/tmp}/x", "/tmp/x"),
    ("$PWD/x", CWD + "/x"),
    ("$BUILD/out", "/srv/build/out"),
    ("${EMPTY:-/fallback}/x", "/fallback/x"),
    ("${BUILD:+/alt}", "/alt"),
    ("$UNSET/x", None),
    ("${UNSET:-/tmp}", None),  # not in the environment is unknown, not unset
    ("$(pwd)/x", None),
    ("`pwd`/x", None),
    ("$1", None),
    ("~bob/x", "/home/bob/x"),  # another user's home, laid out as the platform does
    ("~root/.ssh", "/root/.ssh"),
    ("~-/x", None),  # OLDPWD: not known
    ("~+/x", CWD + "/x"),
    ("$SPACED", None),  # splits into two words
    ("/tmp/*", "/tmp/*"),
    ("'it''s'", CWD + "/its"),
    ("$'\\x2fetc'", "/etc"),
    ("'unterminated", CWD + "/'unterminated"),  # not shell: taken literally
    ("", None),
])
def test_resolve_path(word: str, expected: str | None) -> None:
    assert resolve_path(word, cwd=CWD, env=ENV, home=HOME) == expected


def test_home_comes_from_the_environment_then_the_argument() -> None:
    assert resolve_path("~/x", cwd=CWD, env={}, home="/u") == "/u/x"
    assert resolve_path("~/x", cwd=CWD, env={"HOME": "/h"}, home="/u") == "/h/x"
    assert resolve_path("$TMPDIR/x", cwd=CWD, env={"TMPDIR": "/var/folders/q"}, home=HOME) == "/var/folders/q/x"


@pytest.mark.parametrize("word, parts", [
    ("abc", (Lit("abc", False),)),
    ("'a b'", (Lit("a b", True),)),
    ('"a$X"', (Lit("a", True), Var("X", True), Lit("", True))),
    ("~/x", (Tilde(""), Lit("/x", False))),
    ("$(ls)", (Unknown("command substitution", False),)),
    ("${X:-d}", (Var("X", False, ":-", (Lit("d", False),)),)),
    ("a\\ b", (Lit("a", False), Lit(" ", True), Lit("b", False))),
    ('"unterminated', None),
])
def test_lex_word(word: str, parts: tuple[object, ...] | None) -> None:
    assert lex_word(word) == parts


@pytest.mark.parametrize("parts, words", [
    ((Lit("{a,b}c", False),), [Expanded("ac"), Expanded("bc")]),
    ((Lit("{1..3}", False),), [Expanded("1"), Expanded("2"), Expanded("3")]),
    ((Lit("{a,b}", True),), [Expanded("{a,b}")]),  # quoted: literal
    ((Lit("{a}", False),), [Expanded("{a}")]),
    ((Lit("*.txt", False),), [Expanded("*.txt", glob=True)]),
    ((Lit("*.txt", True),), [Expanded("*.txt")]),
    ((Lit("[ab]", False),), [Expanded("[ab]", glob=True)]),
    ((Lit("[", False),), [Expanded("[")]),
    ((Var("SPACED", False),), [Expanded("a"), Expanded("b")]),
    ((Var("SPACED", True),), [Expanded("a b")]),
    ((Var("EMPTY", False),), []),
    ((Var("EMPTY", True),), [Expanded("")]),
    ((Lit("a\u3000b", False),), [Expanded("a"), Expanded("b")]),
    ((Lit("a\u3000b", True),), [Expanded("a\u3000b")]),
    ((Unknown("x", False, "ls -la"),), [Expanded("ls"), Expanded("-la")]),
    ((Unknown("x", False),), None),
    ((Lit("{1..100000}", False),), None),  # above the expansion limit: unknown
])
def test_expand(parts: tuple[object, ...], words: list[Expanded] | None) -> None:
    assert expand(parts, env=ENV, home=HOME, cwd=CWD) == words  # type: ignore[arg-type]


def test_tainted_variables_are_unknown() -> None:
    assert expand((Var("HOME", False),), env=ENV, home=HOME, cwd=CWD, tainted=frozenset({"HOME"})) is None
    assert expand((Tilde(""),), env=ENV, home=HOME, cwd=CWD, tainted=frozenset({"HOME"})) is None


@pytest.mark.parametrize("cwd, path, expected", [
    ("/a", "b", "/a/b"), ("/a", "/b", "/b"), (None, "b", None), (None, "/b/../c", "/c"), ("/", "..", "/"),
])
def test_join_path(cwd: str | None, path: str, expected: str | None) -> None:
    assert join_path(cwd, path) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_resolve_path_never_raises_and_is_normalised(word: str) -> None:
    out = resolve_path(word, cwd=CWD, env=ENV, home=HOME)
    if out is not None:
        assert out.startswith("/") and normalise_path(out) == out
