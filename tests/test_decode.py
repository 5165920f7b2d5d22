"""Static decoding of known text (analysis/shell/decode.py): each codec, and what it refuses."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policylang.analysis.catalog.model import CODECS as DECLARED
from policylang.analysis.shell.decode import CODECS, decode


def test_every_codec_the_catalog_may_name_is_implemented() -> None:
    assert set(CODECS) == set(DECLARED)


@pytest.mark.parametrize("codec, text, args, expected", [
    ("base64", "cm0gLXJmIH4=\n", [], "rm -rf ~"),
    ("base64", "cm0gLXJmIH4", [], "rm -rf ~"),  # padding left out
    ("base32", "OJWSALLSMYQH4===", [], "rm -rf ~"),
    ("hex", "726d202d7266207e", [], "rm -rf ~"),
    ("hex", "00000000: 726d 202d 7266 207e                      rm -rf ~\n", [], "rm -rf ~"),
    ("reverse", "~ fr- mr", [], "rm -rf ~"),
    ("tr", "ez -ers ~", ["ez", "rm"], "rm -rrs ~"),
    ("tr", "eb -esu ~", ["a-z", "n-za-m"], "ro -rfh ~"),
    ("tr", "rXm -rXf ~", ["-d", "X"], "rm -rf ~"),
])
def test_known_text_decodes(codec: str, text: str, args: list[str], expected: str) -> None:
    assert decode(codec, (text,), args) == (expected,)


@pytest.mark.parametrize("codec, text, args", [
    ("base64", "////", []),  # not UTF-8: a binary, not a script
    ("hex", "zz", []),
    ("tr", "x", ["[:lower:]", "[:upper:]"]),  # classes are not decoded here
    ("tr", "x", ["-c", "a", "b"]),
    ("gzip", "x", []),
])
def test_what_cannot_be_decoded_is_not_known(codec: str, text: str, args: list[str]) -> None:
    assert decode(codec, (text,), args) is None


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_base64_round_trips(text: str) -> None:
    assert decode("base64", (base64.b64encode(text.encode()).decode(),), []) == (text,)
