"""Popular package names and the names that imitate them (typosquatting).

Each ecosystem with a list (data/pypi.txt.gz, data/npm.txt.gz: most downloaded first) is indexed once,
on the first install the analysis sees -- never on the decide path of other commands:

- every name, normalised as the registry compares names (PEP 503 for PyPI), is *popular*;
- the first ``targets`` names are those a typosquat imitates.  They are indexed by their one-letter
  deletions (the symmetric-delete index), so the names one edit away from a query -- a letter added,
  missing, changed, or two swapped -- are found with ``len(query) + 1`` dictionary look-ups and
  confirmed by a direct comparison;
- and by their *skeleton*: Unicode confusables and look-alike ASCII (``rn``/``m``, ``l``/``1``/``I``,
  ``0``/``o``) folded, separators (``-``, ``_``, ``.``) removed.  A name with a popular skeleton that
  is not that name is a look-alike;
- a scoped npm name (``@evil/lodash``) whose scope owns no popular package and whose bare name is
  popular imitates that package.

``imitates(ecosystem, name)`` answers in microseconds (benchmarks/test_bench_supply.py).
"""
from __future__ import annotations

import gzip
import re
import threading
import unicodedata
from collections.abc import Mapping
from importlib import resources
from typing import Any, NamedTuple

from ..catalog.argv import INVISIBLE

_SEPARATORS = re.compile(r"[-_.]+")


class Imitation(NamedTuple):
    """A name that imitates a popular one: the popular name, and how they differ."""

    target: str
    how: str


class Ecosystem(NamedTuple):
    name: str
    label: str
    registry: str
    names: str  # the list's file, "" for none
    normalise: str
    trusted: bool
    mirrors: tuple[str, ...]  # other hosts of the same registry


def normalise(ecosystem: Ecosystem | None, name: str) -> str:
    """A name as its registry compares it (PyPI: PEP 503)."""
    how = ecosystem.normalise if ecosystem is not None else "exact"
    if how == "pep503":
        return _SEPARATORS.sub("-", name).lower()
    if how == "lower":
        return name.lower()
    if how == "crates":
        return name.lower().replace("_", "-")
    return name


# ---- the data ---------------------------------------------------------------------------------

_LOCK = threading.Lock()
_SETTINGS: dict[str, Any] = {}
_INDEXES: dict[str, PopularIndex | None] = {}


def _settings() -> dict[str, Any]:
    if not _SETTINGS:
        import tomllib  # only an install analysis reads the data

        data = tomllib.loads(resources.files(__package__).joinpath("data", "ecosystems.toml").read_text("utf-8"))
        check = data.pop("check")
        confusables = data.pop("confusables")
        ecos = {k: Ecosystem(k, v["label"], v["registry"], v.get("names", ""), v["normalise"], bool(v.get("trusted")),
                             tuple(v.get("mirrors", ()))) for k, v in data.items()}
        _SETTINGS.update(ecosystems=ecos, targets=int(check["targets"]), min_length=int(check["min_length"]),
                         table=str.maketrans({**{k: v for k, v in confusables.items() if len(k) == 1},
                                              **dict.fromkeys(INVISIBLE), "-": None, "_": None, ".": None}),
                         multi=tuple((k, v) for k, v in confusables.items() if len(k) > 1))
    return _SETTINGS


def ecosystems() -> Mapping[str, Ecosystem]:
    """The ecosystems the check knows, by name (data/ecosystems.toml)."""
    eco: Mapping[str, Ecosystem] = _settings()["ecosystems"]
    return eco


def read_list(file: str) -> tuple[list[str], list[str]]:
    """(header lines, names) of a packaged list."""
    raw = resources.files(__package__).joinpath("data", file).read_bytes()
    header: list[str] = []
    names: list[str] = []
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if line.startswith("#"):
            header.append(line[1:].strip())
        elif line.strip():
            names.append(line.strip())
    return header, names


def index(ecosystem: str) -> PopularIndex | None:
    """The index of an ecosystem's popular names, built on first use; None when it has no list."""
    if ecosystem in _INDEXES:
        return _INDEXES[ecosystem]
    with _LOCK:
        if ecosystem not in _INDEXES:
            eco = ecosystems().get(ecosystem)
            _INDEXES[ecosystem] = PopularIndex(eco, read_list(eco.names)[1]) if eco is not None and eco.names \
                else None
    return _INDEXES[ecosystem]


def skeleton(name: str) -> str:
    """The name as it looks: NFKC, case-folded, confusables and look-alike letters folded, separators and
    characters that show nothing removed (``Rеquеsts`` with Cyrillic е; ``requ3sts`` is not one: digits
    other than 0 and 1 stay)."""
    s = _settings()
    w = name if name.isascii() else unicodedata.normalize("NFKC", name)
    w = w.casefold().translate(s["table"])
    for k, v in s["multi"]:
        if k in w:
            w = w.replace(k, v)
    return w


def one_edit(a: str, b: str) -> str | None:
    """How ``a`` is one edit from ``b`` (a letter added, missing, changed, two swapped), or None."""
    la, lb = len(a), len(b)
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return f"{a[diff[0]]!r} for {b[diff[0]]!r}"
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return f"{b[diff[0]]!r} and {b[diff[1]]!r} swapped"
        return None
    if abs(la - lb) != 1:
        return None
    long, short = (a, b) if la > lb else (b, a)
    i = 0
    while i < len(short) and long[i] == short[i]:
        i += 1
    if long[i + 1:] != short[i:]:
        return None
    return f"{long[i]!r} added" if la > lb else f"{long[i]!r} missing"


class PopularIndex:
    """The popular names of one ecosystem and the indexes that find what imitates them.

    The deletion index is kept by target length and each length is built on first use: a query of
    length n meets only targets of lengths n - 1, n and n + 1, so the first check of a process builds
    a few hundred targets' deletions, not five thousand."""

    __slots__ = ("_by_length", "_deletes", "ecosystem", "min_length", "popular", "scopes", "skeletons", "target_set",
                 "targets")

    def __init__(self, ecosystem: Ecosystem, names: list[str]) -> None:
        s = _settings()
        self.ecosystem = ecosystem
        self.min_length: int = s["min_length"]
        norm = [normalise(ecosystem, n) for n in names]
        self.popular = frozenset(norm)
        self.targets = tuple(dict.fromkeys(norm[:s["targets"]]))
        self.target_set = frozenset(self.targets)
        self.skeletons: dict[str, int] = {}
        self.scopes = frozenset(n.partition("/")[0] for n in norm if n.startswith("@") and "/" in n)
        self._by_length: dict[int, list[int]] = {}
        self._deletes: dict[int, dict[str, list[int]]] = {}
        for k, t in enumerate(self.targets):
            self.skeletons.setdefault(skeleton(t), k)
            if len(t) >= self.min_length:
                self._by_length.setdefault(len(t), []).append(k)

    def deletes(self, length: int) -> dict[str, list[int]]:
        """The targets of one length, and each with one letter deleted -> the targets'
        indices (built once; a race builds the same dictionary twice)."""
        got = self._deletes.get(length)
        if got is None:
            got = {}
            for k in self._by_length.get(length, ()):
                t = self.targets[k]
                got.setdefault(t, []).append(k)
                for i in range(length):
                    got.setdefault(t[:i] + t[i + 1:], []).append(k)
            self._deletes[length] = got
        return got

    def is_popular(self, name: str) -> bool:
        return normalise(self.ecosystem, name) in self.popular

    def imitates(self, name: str) -> Imitation | None:
        """The popular name this one imitates, or None (a popular name imitates nothing)."""
        n = normalise(self.ecosystem, name)
        if n in self.popular:
            return None
        k = self.skeletons.get(skeleton(n))
        if k is not None:
            t = self.targets[k]
            if not n.isascii():
                return Imitation(t, "characters that look like its letters")
            return Imitation(t, "a look-alike spelling (separators or letters such as rn/m, l/1, 0/o)")
        if len(n) >= self.min_length - 1:
            seen: set[int] = set()
            near = [self.deletes(length) for length in (len(n) - 1, len(n), len(n) + 1)]
            for cand in (n, *(n[:i] + n[i + 1:] for i in range(len(n)))):
                for index in near:
                    for k in index.get(cand, ()):
                        if k in seen:
                            continue
                        seen.add(k)
                        how = one_edit(n, self.targets[k])
                        if how is not None:
                            return Imitation(self.targets[k], f"one edit away: {how}")
        if n.startswith("@") and "/" in n:
            scope, _, bare = n.partition("/")
            if scope not in self.scopes and bare in self.popular and len(bare) >= self.min_length \
                    and bare in self.target_set:
                return Imitation(bare, f"the popular name under the scope {scope}, which publishes no popular package")
        return None


__all__ = ["Ecosystem", "Imitation", "PopularIndex", "ecosystems", "index", "normalise", "one_edit", "read_list",
           "skeleton"]
