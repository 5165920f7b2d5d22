"""The call tables of each language (spawn, files, network, dangerous...), loaded from code.toml.

What counts is data: ``code.toml`` says, per language, which calls spawn commands and how their
arguments become a command, which read, write or delete paths, which reach the network and which
are dangerous; its ``[languages]`` table says which interpreter names go to which language.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping

from ...verdict import Risk

SHELL = "shell"  # the language the shell analyser owns: no tables, no findings here
PYTHON = "python"  # read with the ast module; the other languages by the tokenizer (syntax.toml)
AWK = "awk"  # tokenized by the lexer (its syntax.toml section is a lexer only), read by awk_program
SED = "sed"  # read by sed_script: no syntax section, and no call tables


@dataclass(frozen=True, slots=True)
class Tables:
    """The tables of one language, from code.toml."""

    spawn: Mapping[str, Mapping[str, Any]]
    files: Mapping[str, Mapping[str, Any]]
    network: Mapping[str, Mapping[str, Any]]
    dangerous: Mapping[str, Mapping[str, Any]]
    prefixes: tuple[tuple[str, Mapping[str, Any]], ...]  # dangerous "x.*" entries
    aliases: Mapping[str, str]
    transparent: Mapping[str, int]
    decoders: Mapping[str, str]
    wrappers: frozenset[str]
    fallback: Mapping[str, str]
    objects: Mapping[str, str]
    methods: Mapping[str, Mapping[str, Mapping[str, Any]]]
    loose: Mapping[str, tuple[str, str, Mapping[str, Any]]]  # method -> (table, full name, spec)
    any_receiver: frozenset[str]
    sensitive: frozenset[str]
    known: frozenset[str]  # every name any table lists
    last_names: frozenset[str]  # the last segment of every spawn/files/network/dangerous name


@dataclass(frozen=True, slots=True)
class Config:
    risk: Mapping[str, Risk]
    langs: Mapping[str, Tables]  # every analysed language (all of [languages] but shell)
    languages: Mapping[str, str]  # interpreter or language name -> analyser


def _tables(sec: Mapping[str, Any]) -> Tables:
    dangerous = dict(sec.get("dangerous", {}))
    prefixes = tuple((k[:-2], v) for k, v in dangerous.items() if k.endswith(".*"))
    dangerous = {k: v for k, v in dangerous.items() if not k.endswith(".*")}
    loose: dict[str, tuple[str, str, Mapping[str, Any]]] = {}
    for table in ("spawn", "files", "network"):
        for name, spec in sec.get(table, {}).items():
            if spec.get("loose"):
                loose[name.rsplit(".", 1)[-1]] = (table, name, spec)
    methods: dict[str, Mapping[str, Mapping[str, Any]]] = dict(sec.get("methods", {}))
    for kind, table_ in methods.items():
        for meth, spec in table_.items():
            if spec.get("loose"):
                loose[meth] = ("method", kind, spec)
    aliases = dict(sec.get("aliases", {}))
    known = set(sec.get("spawn", {})) | set(sec.get("files", {})) | set(sec.get("network", {}))
    known |= set(dangerous) | set(sec.get("objects", {})) | set(sec.get("transparent", {}))
    known |= set(sec.get("decoders", {}))
    return Tables(
        spawn=sec.get("spawn", {}),
        files=sec.get("files", {}),
        network=sec.get("network", {}),
        dangerous=dangerous,
        prefixes=prefixes,
        aliases=aliases,
        transparent=sec.get("transparent", {}),
        decoders=sec.get("decoders", {}),
        wrappers=frozenset(sec.get("wrappers", ())),
        fallback=sec.get("fallback", {}),
        objects=sec.get("objects", {}),
        methods=methods,
        loose=loose,
        any_receiver=frozenset(sec.get("any_receiver", ())),
        sensitive=frozenset(sec.get("sensitive_modules", ())),
        known=frozenset(known),
        last_names=frozenset(
            k.rsplit(".", 1)[-1]
            for table in (sec.get("spawn", {}), sec.get("files", {}), sec.get("network", {}), dangerous)
            for k in table
        ),
    )


@lru_cache(maxsize=1)
def config() -> Config:
    text = resources.files(__package__).joinpath("data").joinpath("code.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    risk = {k: Risk.parse(v) for k, v in data["risk"].items()}
    langs = {lang: _tables(data[lang]) for lang in data["languages"] if lang != SHELL}
    languages = {name: lang for lang, names in data["languages"].items() for name in names}
    return Config(risk, langs, languages)


def apply_aliases(name: str, aliases: Mapping[str, str]) -> str:
    """Rewrite the longest aliased prefix of a qualified name (segments joined by "." or "::")."""
    if not aliases:
        return name
    if name in aliases:
        return aliases[name] or name
    cuts = [i for i, ch in enumerate(name) if ch == "." or (ch == ":" and name.startswith("::", i))]
    for cut in reversed(cuts):
        key = name[:cut]
        if key in aliases:
            sep = "." if name[cut] == "." else "::"
            rest = name[cut + len(sep) :]
            value = aliases[key]
            return f"{value}{sep}{rest}" if value else rest
    return name
