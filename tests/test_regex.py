"""The RE2 wrapper: linear-time patterns called through the raw objects."""
import pytest
from hypothesis import given, strategies as st

from policylang.regex import Regex, RegexError, RegexSet, check


def test_search_and_full():
    r = Regex(r"^echo\b")
    assert r.search("echo hi") and not r.search("xecho hi")
    assert Regex("a+").full("aaa") and not Regex("a+").full("aab")


@pytest.mark.parametrize("pattern, message", [(r"(a)\1", "invalid escape sequence"), ("(", "missing )"),
                                              (r"(?=x)", "invalid perl operator")])
def test_rejected_patterns_say_why(pattern, message):
    assert message in (check(pattern) or "")
    with pytest.raises(RegexError, match=message.split()[0]):
        Regex(pattern)


def test_set_returns_every_match():
    s = RegexSet([r"^a", r"b$", r"x"], anchored=False)
    assert sorted(s.match("ab")) == [0, 1]
    assert list(s.match("zzz")) == []
    assert list(RegexSet([], anchored=True).match("a")) == []


def test_unicode_text():
    assert Regex("é+").full("éé")
    assert Regex("x").search("\udcff x")  # lone surrogates from undecodable input do not raise


@given(st.text(max_size=200))
def test_pathological_pattern_stays_linear(text):
    # (a*)*b is exponential for backtracking engines; RE2 answers at once.
    assert Regex("(a*)*b").search("a" * 5000 + text) == ("b" in text)
