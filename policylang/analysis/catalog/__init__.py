"""The command catalog: what each program is, its argument grammar, and the effects of its arguments.

model.py   the command model and parsed arguments
load.py    data/*.toml into models (every key checked)
store.py   the packaged catalog, cached, decoded per program on first look-up (``lookup``)
argv.py    program names and argument parsing against a model
"""
from __future__ import annotations

from .argv import (canonical_flags, concerns_of, has_invisible, normalise_program, normalise_word, parse, parse_args,
                   risk_of)
from .model import HANDLERS, CatalogError, CommandModel, Condition, Parsed
from .store import all_models, load_catalog, lookup

__all__ = [
    "HANDLERS", "CatalogError", "CommandModel", "Condition", "Parsed", "all_models", "canonical_flags", "concerns_of",
    "has_invisible",
    "load_catalog", "lookup", "normalise_program", "normalise_word", "parse", "parse_args", "risk_of",
]
