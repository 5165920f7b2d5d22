"""Path sets: globs, roots, negation, ancestry for recursive effects."""
import pytest
from hypothesis import given, strategies as st

from policylang.engine.pathsets import GlobError, PathSet, Roots, compile_pattern, glob_to_regex

ROOTS = Roots(home="/home/u", workspace="/home/u/p", cwd="/home/u/p/src", tmpdir="/tmp")
SECRETS = PathSet(["~/.ssh/**", "~/.aws/credentials", "**/.env", "**/.env.*", "!**/.env.example", "/etc/**"])


@pytest.mark.parametrize("path, recursive, expected", [
    ("/home/u/.ssh/id_rsa", False, True),
    ("/home/u/.ssh", False, True),                 # the directory itself is in "dir/**"
    ("/home/u/.sshx", False, False),
    ("/home/u/p/.env", False, True),
    ("/home/u/p/deep/er/.env.local", False, True),
    ("/home/u/p/.env.example", False, False),       # negation
    ("/home/u/p/env", False, False),
    ("/etc", False, True),
    ("/etc/passwd", False, True),
    ("/etcetera", False, False),
    ("/home/u", False, False),
    ("/home/u", True, True),                       # deleting home deletes ~/.ssh
    ("/", True, True),
    ("/home", True, True),
    ("/home/u/p", True, False),                    # **/.env is not matched by ancestry
    ("/home/u/.aws", True, True),
    ("/home/u/.aws", False, False),
    ("/var", True, False),
])
def test_secrets_set(path, recursive, expected):
    assert SECRETS.contains(path, ROOTS, recursive) is expected


@pytest.mark.parametrize("pattern, path, expected", [
    ("$WORKSPACE/**", "/home/u/p/x/y", True),
    ("$WORKSPACE/**", "/home/u/p", True),
    ("$WORKSPACE/**", "/home/u/px", False),
    ("$CWD/*.txt", "/home/u/p/src/a.txt", True),
    ("$CWD/*.txt", "/home/u/p/src/d/a.txt", False),
    ("$TMPDIR/**", "/tmp/x", True),
    ("/a/**/b", "/a/b", True),
    ("/a/**/b", "/a/x/y/b", True),
    ("/a/**/b", "/a/x/y/c", False),
    ("/x/[ab].txt", "/x/a.txt", True),
    ("/x/[!ab].txt", "/x/a.txt", False),
    ("/x/[!ab].txt", "/x/c.txt", True),
    ("/x/?.txt", "/x/ab.txt", False),
    ("/**", "/", True),
    ("/**", "/anything/at/all", True),
    ("/x/file+(1).txt", "/x/file+(1).txt", True),   # regex metacharacters are literal
    ("/x/file+(1).txt", "/x/fileee(1).txt", False),
])
def test_patterns(pattern, path, expected):
    assert PathSet([pattern]).contains(path, ROOTS) is expected


@pytest.mark.parametrize("bad", ["relative/path", "", "/a/***", "/x/[ab"])
def test_invalid_patterns(bad):
    with pytest.raises(GlobError):
        compile_pattern(bad)


segment = st.text(alphabet="abc.-_", min_size=1, max_size=4).filter(lambda s: s not in (".", ".."))


@given(st.lists(segment, min_size=1, max_size=5), st.lists(segment, min_size=0, max_size=3))
def test_tree_pattern_contains_everything_below(base, below):
    """'D/**' holds D and everything below D, and nothing beside it."""
    d = "/" + "/".join(base)
    s = PathSet([d + "/**"])
    assert s.contains(d, ROOTS)
    assert s.contains("/".join([d, *below]) if below else d, ROOTS)
    assert not s.contains(d + "x", ROOTS)


@given(st.lists(segment, min_size=1, max_size=5))
def test_ancestor_of_a_pattern_matches_only_recursively(parts):
    deep = "/" + "/".join(parts) + "/leaf/**"
    s = PathSet([deep])
    parent = "/" + "/".join(parts[:1])
    assert s.contains(parent, ROOTS, recursive=True)
    assert not s.contains(parent, ROOTS, recursive=False)


def test_glob_translation_is_anchored_pieces():
    assert glob_to_regex("/x/*.txt") == "/x/[^/]*\\.txt"
    assert glob_to_regex("**/.env") == "(?:.*/)?\\.env"


@pytest.mark.parametrize("path, recursive, expected", [
    ("/home/u/.ssh", True, True),        # the directory of "~/.ssh/id_*" itself, as a tree
    ("/home/u/.ssh", False, False),      # listing the directory is not reading a key
    ("/home/u/.ssh-backup", True, False),  # a sibling whose name only starts alike
])
def test_tree_effect_on_the_directory_of_a_glob(path, recursive, expected):
    keys = PathSet(["~/.ssh/id_*"])
    assert keys.contains(path, ROOTS, recursive) is expected
