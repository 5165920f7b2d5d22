"""The packaged catalog: loaded once per process (from the private cache when its data files have not
changed), each program's model decoded on its first look-up; ``lookup`` is what the analysis calls.

A process that decides ``git status`` decodes the git model and nothing else.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ...frozen import replace
from .model import _MODEL_CLASSES, CommandModel, LazyModels

if TYPE_CHECKING:
    from ...cache import Parts

# The layout of a cached catalog: bump when it or a model class changes, so an older entry is a miss.
_CACHE_FORMAT = "6"
_DATA_DIR = "data"


def load_catalog(texts: str | Sequence[tuple[str, str]]
                 ) -> tuple[dict[str, CommandModel], tuple[tuple[str, CommandModel], ...]]:
    """The catalog parsed from ``texts`` (load.py, which checks every key; raises CatalogError):
    imported on a cache miss, not by every process that looks a program up."""
    from .load import load_catalog as parse

    return parse(texts)


def _catalog_texts() -> tuple[tuple[str, str], ...]:
    """(file name, text) of every packaged data/*.toml, in name order.

    Read through a path next to this module, which is the package's own directory in any
    installation from a wheel, an sdist or a source checkout; ``importlib.resources`` (about 10 ms
    of imports) is only the fallback for a package that is not on a file system (a zip import).
    """
    try:
        d = os.path.join(os.path.dirname(__file__), _DATA_DIR)
        out = []
        for name in sorted(os.listdir(d)):
            if name.endswith(".toml"):
                with open(os.path.join(d, name), encoding="utf-8") as fh:
                    out.append((name, fh.read()))
        return tuple(out)
    except OSError:
        from importlib import resources

        root = resources.files(__package__).joinpath(_DATA_DIR)
        return tuple((p.name, p.read_text(encoding="utf-8"))
                     for p in sorted(root.iterdir(), key=lambda p: p.name) if p.name.endswith(".toml"))


class _Catalog:
    """The default catalog: each name's model index, the families, and the models decoded so far.

    ``parts`` holds the pickle of each model in the cache (None when the catalog was built in this
    process): a model is read, checked and decoded on its first look-up.  Decoding is idempotent,
    so two threads that race on one model build equal models and either one is kept.
    """

    __slots__ = ("names", "families", "models", "parts")

    def __init__(self, names: dict[str, int], families: tuple[tuple[str, int], ...],
                 models: list[CommandModel | None], parts: Parts | None):
        self.names = names
        self.families = families
        self.models = models
        self.parts = parts

    def model(self, i: int) -> CommandModel:
        m = self.models[i]
        if m is None:
            from ...cache import loads

            blob = None if self.parts is None else self.parts.get(i)
            try:
                m = None if blob is None else loads(blob)
            except Exception:
                m = None
            if not isinstance(m, CommandModel):  # a bad entry: the catalog is rebuilt, never used in part
                m = _built().model(i)
            self.models[i] = m
        return m


def _pack(by_name: Mapping[str, CommandModel], families: Sequence[tuple[str, CommandModel]]
          ) -> tuple[dict[str, int], tuple[tuple[str, int], ...], list[CommandModel]]:
    """Number the distinct models (a model with several names, or a family, is stored once)."""
    index: dict[int, int] = {}
    models: list[CommandModel] = []

    def number(m: CommandModel) -> int:
        i = index.get(id(m))
        if i is None:
            i = index[id(m)] = len(models)
            models.append(m)
        return i

    names = {n: number(m) for n, m in by_name.items()}
    return names, tuple((prefix, number(m)) for prefix, m in families), models


def _checked(hit: tuple[Any, Parts] | None) -> _Catalog | None:
    """A cache entry as a catalog, or None when it is not one of this format."""
    if hit is None:
        return None
    head, parts = hit
    if not (isinstance(head, tuple) and len(head) == 3 and head[0] == _CACHE_FORMAT):
        return None
    _, names, families = head
    if not (isinstance(names, dict) and isinstance(families, tuple)):
        return None
    n = len(parts)
    if not all(isinstance(i, int) and 0 <= i < n for i in names.values()):
        return None
    if not all(isinstance(f, tuple) and len(f) == 2 and isinstance(f[1], int) and 0 <= f[1] < n for f in families):
        return None
    return _Catalog(names, families, [None] * n, parts)


def _data_stamp() -> str | None:
    """Name, size and modification time of every packaged data/*.toml, or None when the data is not
    on a file system.  The catalog's cache key is made of these, as the compiled-policy cache's is
    of the package's files: finding the entry reads no catalog text (what is not checked: an edit
    that keeps a file's size and mtime)."""
    try:
        d = os.path.join(os.path.dirname(__file__), _DATA_DIR)
        out = []
        with os.scandir(d) as entries:
            for e in entries:
                if e.name.endswith(".toml"):
                    st = e.stat()
                    out.append(f"{e.name}:{st.st_size}:{st.st_mtime_ns}")
        return "\n".join(sorted(out))
    except OSError:
        return None


def _catalog_key(texts: Sequence[tuple[str, str]] | None = None) -> str:
    """The cache key of the packaged catalog: over its data files' stamps, or over ``texts`` (read
    when not given) where there are no stamps.  The models are pickled by position, so their field
    layout is part of it: a field added in a checkout without a version bump cannot decode an old
    entry with its fields shifted."""
    from ... import cache

    layout = repr([(c.__name__, getattr(c, "__record_fields__")) for c in _MODEL_CLASSES])
    stamp = _data_stamp() if texts is None else None
    if stamp is not None:
        return cache.key_of(_CACHE_FORMAT, layout, "stamp", stamp)
    return cache.key_of(_CACHE_FORMAT, layout, *(part for pair in (texts or _catalog_texts()) for part in pair))


def _load_default() -> _Catalog:
    """The packaged catalog, from the cache when its data files are unchanged; else parsed and cached."""
    from ... import cache

    key = _catalog_key()
    hit = _checked(cache.load_parts("catalog", key))
    if hit is not None:
        return hit
    built = _built()
    if cache.cache_dir() is not None:
        blobs = [cache.dumps(_lazy(built.model(i)), protocol=cache.PROTOCOL) for i in range(len(built.models))]
        cache.store_parts("catalog", key, (_CACHE_FORMAT, built.names, built.families), blobs)
    return built


def _lazy(model: CommandModel) -> CommandModel:
    """The model as it is cached: its subcommands pickled one by one, to be decoded when looked up."""
    from ... import cache

    if not model.subcommands:
        return model
    index: dict[int, int] = {}
    blobs: list[bytes] = []
    names: dict[str, int] = {}
    for name, sub in model.subcommands.items():
        k = index.get(id(sub))
        if k is None:
            k = index[id(sub)] = len(blobs)
            blobs.append(cache.dumps(_lazy(sub), protocol=cache.PROTOCOL))
        names[name] = k
    return replace(model, subcommands=LazyModels(names, blobs))


_BUILT: _Catalog | None = None


def _built(texts: Sequence[tuple[str, str]] | None = None) -> _Catalog:
    """The packaged catalog parsed from its data files in this process (once)."""
    global _BUILT
    if _BUILT is None:
        names, families, models = _pack(*load_catalog(_catalog_texts() if texts is None else texts))
        decoded: list[CommandModel | None] = list(models)
        _BUILT = _Catalog(names, families, decoded, None)
    return _BUILT


_DEFAULT: _Catalog | None = None  # loaded by the first look-up
# Every model looked up so far by its exact name (and what a test adds to the catalog).
_CATALOG: dict[str, CommandModel] = {}


def _default() -> _Catalog:
    global _DEFAULT
    cat = _DEFAULT
    if cat is None:
        cat = _DEFAULT = _load_default()
    return cat


def all_models() -> dict[str, CommandModel]:
    """Every program name the catalog knows, with its model (a copy)."""
    cat = _default()
    out = {name: cat.model(i) for name, i in cat.names.items()}
    out.update(_CATALOG)
    return out


def lookup(program: str) -> CommandModel | None:
    """The catalog model of a normalised program name, or None when the catalog does not know it."""
    model = _CATALOG.get(program)
    if model is not None:
        return model
    cat = _DEFAULT or _default()
    i = cat.names.get(program)
    if i is not None:
        model = _CATALOG[program] = cat.model(i)
        return model
    for prefix, fam in cat.families:
        if program.startswith(prefix):
            return cat.model(fam)
    return None
