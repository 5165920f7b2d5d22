"""The built-in layer: the default policy shipped with the package."""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

from ..source import Source

BUILTIN_NAME = "<builtin>/default.policy"


@lru_cache(maxsize=1)
def builtin_source() -> Source:
    text = resources.files(__package__).joinpath("default.policy").read_text(encoding="utf-8")
    return Source(BUILTIN_NAME, text, layer="builtin")
