"""The command catalog (policylang/data/commands.toml) and per-command argument parsing.

Each catalog entry is a ``CommandModel``: its intrinsic risk, which flags take a value, flag
aliases, subcommands, the rules that raise the risk, and which operands or flag values are paths
it reads, writes or deletes.  Adding a command is a data change: the shell analysis
(policylang/shell.py) reads these models and never names a command in code, except through the
small set of ``handler`` kinds (wrapper, shell, interpreter, ...) a model can declare.

The catalog is loaded on the first ``lookup``, from the private cache (policylang/cache.py) when
commands.toml has not changed, and each command's model is unpickled only when it is first looked
up: a process that decides ``git status`` decodes the git model and nothing else.
"""
from __future__ import annotations

import os
import unicodedata
from typing import Any, Mapping, Sequence

from ...frozen import frozen, value_methods
from ...resolve import normalise_path
from ...verdict import Risk

__all__ = [
    "AliasPrefix",
    "CatalogError",
    "CommandModel",
    "Condition",
    "NetworkRule",
    "Parsed",
    "PathRule",
    "RiskRule",
    "SYSTEM_BIN_DIRS",
    "HANDLERS",
    "all_models",
    "canonical_flags",
    "load_catalog",
    "lookup",
    "normalise_program",
    "normalise_word",
    "parse",
    "parse_args",
    "risk_of",
]

# Directories whose programs are "the" program of that name: /usr/bin/rm is rm, /home/u/bin/rm is not.
SYSTEM_BIN_DIRS = frozenset({
    "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin",
})

# The handler kinds shell.py implements; a model naming another one is a catalog error.
HANDLERS = frozenset({
    "", "wrapper", "shell", "interpreter", "eval", "source", "find", "xargs", "parallel", "watch",
    "busybox", "cd", "trap", "declare",
})

# Characters that read as "-" at the start of a flag: hyphen, non-breaking hyphen, figure dash,
# en dash, em dash, horizontal bar, minus sign, small em dash, small and fullwidth hyphen-minus.
_DASH_LIKE = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")

_RISKS = {"low": Risk.LOW, "medium": Risk.MEDIUM, "high": Risk.HIGH, "critical": Risk.CRITICAL,
          "unknown": Risk.UNKNOWN}


class CatalogError(ValueError):
    """The command catalog has an entry that does not follow the schema."""


# ---- the model ---------------------------------------------------------------------------------

_NO_ENTRIES: Mapping[str, Any] = {}  # the default of the mapping fields (never mutated)


@frozen
class Condition:
    """When a risk rule, a path rule or a network rule applies.  Every given test must hold.

    Flags are canonical (after aliases); operands are those after the subcommand path, compared
    casefolded.
    """

    flags: frozenset[str] = frozenset()  # any of these
    all_flags: frozenset[str] = frozenset()  # all of these
    no_flags: frozenset[str] = frozenset()  # none of these
    operands: frozenset[str] = frozenset()  # some operand equals one of these
    operand_prefix: tuple[str, ...] = ()  # some operand starts with one of these
    operand_contains: tuple[str, ...] = ()  # some operand contains one of these
    flag_value_contains: tuple[tuple[str, tuple[str, ...]], ...] = ()  # a value of flag F contains one of
    dashdash: bool | None = None  # True: operands follow "--"
    min_operands: int = 0
    max_operands: int | None = None

    def holds(self, p: "Parsed") -> bool:
        """Whether the parsed arguments satisfy every test of the condition."""
        if self.flags and not (self.flags & p.flags):
            return False
        if self.all_flags and not self.all_flags <= p.flags:
            return False
        if self.no_flags and self.no_flags & p.flags:
            return False
        n = len(p.operands)
        if n < self.min_operands or (self.max_operands is not None and n > self.max_operands):
            return False
        if self.dashdash is not None and (p.dashdash is not None and p.dashdash < n) != self.dashdash:
            return False
        if self.operands or self.operand_prefix or self.operand_contains:
            folded = [p.args[i].casefold() for i in p.operands]
            if self.operands and not any(o in self.operands for o in folded):
                return False
            if self.operand_prefix and not any(o.startswith(self.operand_prefix) for o in folded):
                return False
            if self.operand_contains and not any(s in o for o in folded for s in self.operand_contains):
                return False
        for flag, needles in self.flag_value_contains:
            if flag not in p.flag_values:
                return False
            values = [v.casefold() for v in p.values(flag)]
            if not any(s in v for v in values for s in needles):
                return False
        return True


@frozen
class RiskRule:
    """A condition that raises the command's risk, and why."""

    when: Condition
    risk: Risk
    why: str


@frozen
class PathRule:
    """Which arguments are paths the command reads, writes or deletes.

    ``source``: ``operands`` (a slice of the operands), ``flag`` (values of ``flags_from``),
    ``kv`` (operands ``key=value`` for ``keys``), ``cwd`` (the working directory), ``none`` (a
    target that cannot be known), ``url_basename`` (the last path part of each URL operand, in cwd).
    """

    when: Condition
    role: str  # read | write | delete
    source: str = "operands"
    start: int | None = None
    stop: int | None = None
    flags_from: frozenset[str] = frozenset()
    keys: tuple[str, ...] = ()
    recursive: bool = False
    recursive_flags: frozenset[str] = frozenset()
    after: str = ""  # only values containing this marker; the path follows it (curl -d @file)
    local_only: bool = False  # skip remote operands such as host:path (scp, rsync)
    after_dashdash: bool = False  # only the operands after "--" (git checkout -- paths)


@frozen
class NetworkRule:
    """Where the command connects: ``urls``, ``host`` (first operand), ``remote`` (host:path
    operands), ``flag`` (URL values of ``flags_from``), ``socat`` (socat addresses), ``fixed``
    (always ``host``), ``unknown`` (a host that cannot be known from the arguments)."""

    when: Condition
    source: str
    host: str | None = None
    flags_from: frozenset[str] = frozenset()


@frozen
class AliasPrefix:
    """Every long flag starting with ``prefix`` is ``to``, except the exact spellings in ``except_``
    (git push: any ``--force*`` is ``--force`` except ``--force-with-lease`` and ``--force-if-includes``)."""

    prefix: str
    to: str
    except_: frozenset[str] = frozenset()


@frozen
class CommandModel:
    """One command (or one subcommand) of the catalog."""

    name: str
    risk: Risk
    summary: str = ""
    handler: str = ""
    value_flags: frozenset[str] = frozenset()
    optional_value_flags: frozenset[str] = frozenset()  # value only when attached: sed -i.bak
    aliases: Mapping[str, frozenset[str]] = _NO_ENTRIES
    alias_prefixes: tuple[AliasPrefix, ...] = ()
    long_flags: tuple[str, ...] = ()  # every known long flag (for unambiguous abbreviations)
    single_dash_long: bool = False  # "-name" is one flag (find, terraform, go)
    stop_at_operand: bool = False  # options end at the first operand (wrappers, interpreters)
    first_operand_flags: bool = False  # tar xzf: a first operand of letters is a flag bundle
    subcommands: Mapping[str, "CommandModel"] = _NO_ENTRIES
    unknown_sub_risk: Risk | None = None  # risk of a subcommand the catalog does not know
    rules: tuple[RiskRule, ...] = ()
    paths: tuple[PathRule, ...] = ()
    network: tuple[NetworkRule, ...] = ()
    fetches: bool = False  # its output comes from the network: "curl ... | sh" is critical
    decodes: tuple[str, ...] = ()  # flags with which its output is decoded data ("*": always)
    passthrough: bool = False  # without file operands its output is its input (cat, tee)
    cwd_flag: frozenset[str] = frozenset()  # the value is the directory it works in (git -C)
    options: Mapping[str, Any] = _NO_ENTRIES  # handler settings ([x.wrapper] ...)

    @property
    def has_subcommands(self) -> bool:
        return bool(self.subcommands) or self.unknown_sub_risk is not None


_MODEL_CLASSES = (Condition, RiskRule, PathRule, NetworkRule, AliasPrefix, CommandModel)


@value_methods
class Parsed:
    """Arguments parsed against a model: operands and flag values are indices into ``args``.

    A plain slotted class (one is built per parse; ``parse`` and the shell analysis fill it in)."""

    __slots__ = ("args", "operands", "flags", "flag_values", "chain", "sub_idx", "dashdash", "stopped")
    __record_fields__ = __slots__  # equality and repr over every field (frozen.value_methods)

    def __init__(self, args: Sequence[str], operands: list[int], flags: set[str],
                 flag_values: dict[str, list[tuple[int, int]]], chain: list[CommandModel], sub_idx: list[int],
                 dashdash: int | None = None, stopped: int | None = None):
        self.args = args
        self.operands = operands  # after the subcommand path
        self.flags = flags
        self.flag_values = flag_values  # canonical flag -> (arg index, offset of the value)
        self.chain = chain  # the model, then each subcommand model
        self.sub_idx = sub_idx  # arg index of each subcommand word
        self.dashdash = dashdash  # number of operands seen before "--"
        self.stopped = stopped  # stop_at_operand: index of the first operand (the rest is not parsed)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass it was

    @property
    def model(self) -> CommandModel:
        return self.chain[-1]

    def values(self, flag: str) -> list[str]:
        """The values given to a canonical flag, in order."""
        return [self.args[i][off:] for i, off in self.flag_values.get(flag, ())]

    @property
    def subcommands(self) -> tuple[str, ...]:
        return tuple(self.args[i].casefold() for i in self.sub_idx)


# ---- loading -----------------------------------------------------------------------------------

_COMMAND_KEYS = frozenset({
    "risk", "summary", "names", "handler", "value_flags", "optional_value_flags", "aliases",
    "alias_prefixes", "long_flags", "single_dash_long", "stop_at_operand", "first_operand_flags",
    "sub", "unknown_sub_risk", "rules", "paths", "network", "fetches", "decodes", "passthrough",
    "cwd_flag", "wrapper", "interp", "shell", "find", "watch", "cd", "output",
})
_CONDITION_KEYS = frozenset({
    "flags", "all_flags", "no_flags", "operands", "operand_prefix", "operand_contains",
    "flag_value_contains", "dashdash", "min_operands", "max_operands",
})
_RULE_KEYS = _CONDITION_KEYS | {"risk", "why"}
_PATH_KEYS = _CONDITION_KEYS | {"role", "from", "slice", "flags_from", "keys", "recursive",
                                "recursive_flags", "after", "local_only", "after_dashdash"}
_NETWORK_KEYS = _CONDITION_KEYS | {"from", "host", "flags_from"}
_PATH_SOURCES = frozenset({"operands", "flag", "kv", "cwd", "none", "url_basename"})
_NETWORK_SOURCES = frozenset({"urls", "host", "remote", "flag", "socat", "fixed", "unknown"})
_OPTION_TABLES = ("wrapper", "interp", "shell", "find", "watch", "cd", "output")


def _risk(value: Any, where: str) -> Risk:
    if not isinstance(value, str) or value not in _RISKS:
        raise CatalogError(f"{where}: risk must be one of {', '.join(_RISKS)}, not {value!r}")
    return _RISKS[value]


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: expected a string or a list of strings, not {value!r}")
    return tuple(value)


def _check_keys(table: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    extra = set(table) - allowed
    if extra:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")


def _flag_key(flag: str) -> str:
    return flag.casefold() if flag.startswith("--") else flag


def _canon_set(names: Sequence[str], model_aliases: Mapping[str, frozenset[str]]) -> frozenset[str]:
    out: set[str] = set()
    for n in names:
        k = _flag_key(n)
        out |= model_aliases.get(k, frozenset((k,)))
    return frozenset(out)


def _condition(t: Mapping[str, Any], aliases: Mapping[str, frozenset[str]], where: str) -> Condition:
    fvc = t.get("flag_value_contains", {})
    if not isinstance(fvc, dict):
        raise CatalogError(f"{where}: flag_value_contains must be a table")
    max_ops = t.get("max_operands")
    return Condition(
        flags=_canon_set(_strs(t.get("flags", []), where), aliases),
        all_flags=_canon_set(_strs(t.get("all_flags", []), where), aliases),
        no_flags=_canon_set(_strs(t.get("no_flags", []), where), aliases),
        operands=frozenset(o.casefold() for o in _strs(t.get("operands", []), where)),
        operand_prefix=tuple(o.casefold() for o in _strs(t.get("operand_prefix", []), where)),
        operand_contains=tuple(o.casefold() for o in _strs(t.get("operand_contains", []), where)),
        flag_value_contains=tuple(
            (next(iter(_canon_set((k,), aliases))), tuple(s.casefold() for s in _strs(v, where)))
            for k, v in fvc.items()),
        dashdash=t.get("dashdash"),
        min_operands=int(t.get("min_operands", 0)),
        max_operands=None if max_ops is None else int(max_ops),
    )


def _slice(text: str, where: str) -> tuple[int | None, int | None]:
    if ":" not in text:
        i = int(text)
        return i, (i + 1 if i != -1 else None)
    a, _, b = text.partition(":")
    try:
        return (int(a) if a else None), (int(b) if b else None)
    except ValueError:
        raise CatalogError(f"{where}: bad slice {text!r}") from None


def _model(name: str, t: Mapping[str, Any], where: str) -> CommandModel:
    if not isinstance(t, dict):
        raise CatalogError(f"{where}: expected a table")
    _check_keys(t, _COMMAND_KEYS, where)
    if "risk" not in t:
        raise CatalogError(f"{where}: missing risk")
    handler = t.get("handler", "")
    if handler not in HANDLERS:
        raise CatalogError(f"{where}: unknown handler {handler!r}")
    raw_aliases = t.get("aliases", {})
    if not isinstance(raw_aliases, dict):
        raise CatalogError(f"{where}: aliases must be a table")
    aliases: dict[str, frozenset[str]] = {}
    for k, v in raw_aliases.items():
        aliases[_flag_key(k)] = frozenset(_flag_key(x) for x in _strs(v, f"{where}.aliases.{k}"))
    prefixes = []
    for p in t.get("alias_prefixes", []):
        prefixes.append(AliasPrefix(p["prefix"].casefold(), p["to"].casefold(),
                                    frozenset(e.casefold() for e in p.get("except", []))))
    value_flags = frozenset(_flag_key(f) for f in _strs(t.get("value_flags", []), where))
    optional = frozenset(_flag_key(f) for f in _strs(t.get("optional_value_flags", []), where))
    rules = []
    for i, r in enumerate(t.get("rules", [])):
        w = f"{where}.rules[{i}]"
        _check_keys(r, _RULE_KEYS, w)
        if "why" not in r:
            raise CatalogError(f"{w}: missing why")
        rules.append(RiskRule(_condition(r, aliases, w), _risk(r.get("risk"), w), r["why"]))
    paths = []
    for i, r in enumerate(t.get("paths", [])):
        w = f"{where}.paths[{i}]"
        _check_keys(r, _PATH_KEYS, w)
        role = r.get("role")
        if role not in ("read", "write", "delete"):
            raise CatalogError(f"{w}: role must be read, write or delete, not {role!r}")
        src = r.get("from", "operands")
        if src not in _PATH_SOURCES:
            raise CatalogError(f"{w}: unknown from {src!r}")
        start, stop = _slice(r.get("slice", ":"), w)
        paths.append(PathRule(
            when=_condition(r, aliases, w), role=role, source=src, start=start, stop=stop,
            flags_from=_canon_set(_strs(r.get("flags_from", []), w), aliases),
            keys=_strs(r.get("keys", []), w), recursive=bool(r.get("recursive", False)),
            recursive_flags=_canon_set(_strs(r.get("recursive_flags", []), w), aliases),
            after=r.get("after", ""), local_only=bool(r.get("local_only", False)),
            after_dashdash=bool(r.get("after_dashdash", False))))
    network = []
    for i, r in enumerate(t.get("network", [])):
        w = f"{where}.network[{i}]"
        _check_keys(r, _NETWORK_KEYS, w)
        src = r.get("from")
        if src not in _NETWORK_SOURCES:
            raise CatalogError(f"{w}: unknown from {src!r}")
        network.append(NetworkRule(_condition(r, aliases, w), src, r.get("host"),
                                   _canon_set(_strs(r.get("flags_from", []), w), aliases)))
    subs: dict[str, CommandModel] = {}
    for sub_name, sub_t in t.get("sub", {}).items():
        sub = _model(sub_name, sub_t, f"{where}.sub.{sub_name}")
        for n in (sub_name, *_strs(sub_t.get("names", []), where)):
            subs[n.casefold()] = sub
    longs = set(k for k in aliases if k.startswith("--"))
    longs |= {f for f in value_flags | optional if f.startswith("--")}
    longs |= {f.casefold() for f in _strs(t.get("long_flags", []), where)}
    for p in prefixes:
        longs.add(p.to)
    options = {k: t[k] for k in _OPTION_TABLES if k in t}
    unknown_sub = t.get("unknown_sub_risk")
    return CommandModel(
        name=name,
        risk=_risk(t["risk"], where),
        summary=str(t.get("summary", "")),
        handler=handler,
        value_flags=value_flags,
        optional_value_flags=optional,
        aliases=aliases,
        alias_prefixes=tuple(prefixes),
        long_flags=tuple(sorted(longs)),
        single_dash_long=bool(t.get("single_dash_long", False)),
        stop_at_operand=bool(t.get("stop_at_operand", False)),
        first_operand_flags=bool(t.get("first_operand_flags", False)),
        subcommands=subs,
        unknown_sub_risk=None if unknown_sub is None else _risk(unknown_sub, where),
        rules=tuple(rules),
        paths=tuple(paths),
        network=tuple(network),
        fetches=bool(t.get("fetches", False)),
        decodes=_strs(t.get("decodes", []), where),
        passthrough=bool(t.get("passthrough", False)),
        cwd_flag=frozenset(_flag_key(f) for f in _strs(t.get("cwd_flag", []), where)),
        options=options,
    )


def load_catalog(text: str) -> tuple[dict[str, CommandModel], tuple[tuple[str, CommandModel], ...]]:
    """Parse a catalog text into (name -> model, (prefix, model) families).  Raises CatalogError."""
    import tomllib  # only a rebuild parses TOML; a cache hit never imports it

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"commands.toml: {exc}") from None
    by_name: dict[str, CommandModel] = {}
    families: list[tuple[str, CommandModel]] = []
    for name, table in data.items():
        model = _model(name, table, name)
        for n in (name, *_strs(table.get("names", []), name)):
            if n.endswith("*"):
                families.append((n[:-1].casefold(), model))
            else:
                if n.casefold() in by_name:
                    raise CatalogError(f"{name}: the name {n!r} is already in the catalog")
                by_name[n.casefold()] = model
    families.sort(key=lambda f: -len(f[0]))
    return by_name, tuple(families)


# The layout of a cached catalog: bump when it or a model class changes, so an older entry is a miss.
_CACHE_FORMAT = "3"
_DATA_FILE = "commands.toml"


def _catalog_text() -> str:
    """The text of the packaged commands.toml.

    Read through a path next to this module, which is the package's own directory in any
    installation from a wheel, an sdist or a source checkout; ``importlib.resources`` (about 10 ms
    of imports) is only the fallback for a package that is not on a file system (a zip import).
    """
    try:
        with open(os.path.join(os.path.dirname(__file__), "data", _DATA_FILE), encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        from importlib import resources

        return resources.files(__package__).joinpath("data").joinpath(_DATA_FILE).read_text(encoding="utf-8")


class _Catalog:
    """The default catalog: each name's model index, the families, and the models decoded so far.

    ``blobs[i]`` is the pickle of model ``i`` (None when the catalog was built in this process).
    Decoding is idempotent, so two threads that race on one model build equal models and either one
    is kept.
    """

    __slots__ = ("names", "families", "models", "blobs")

    def __init__(self, names: dict[str, int], families: tuple[tuple[str, int], ...],
                 models: list[CommandModel | None], blobs: list[bytes | None]):
        self.names = names
        self.families = families
        self.models = models
        self.blobs = blobs

    def model(self, i: int) -> CommandModel:
        m = self.models[i]
        if m is None:
            from ...cache import loads

            try:
                m = loads(self.blobs[i] or b"")
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


def _checked(entry: Any) -> _Catalog | None:
    """A cache entry as a catalog, or None when it is not one of this format."""
    if not (isinstance(entry, tuple) and len(entry) == 4 and entry[0] == _CACHE_FORMAT):
        return None
    _, names, families, blobs = entry
    if not (isinstance(names, dict) and isinstance(families, tuple) and isinstance(blobs, tuple)
            and all(isinstance(b, bytes) for b in blobs)):
        return None
    n = len(blobs)
    if not all(isinstance(i, int) and 0 <= i < n for i in names.values()):
        return None
    if not all(isinstance(f, tuple) and len(f) == 2 and isinstance(f[1], int) and 0 <= f[1] < n for f in families):
        return None
    return _Catalog(names, families, [None] * n, list(blobs))


def _catalog_key(text: str) -> str:
    """The cache key of the catalog built from ``text``.  The models are pickled by position, so
    their field layout is part of it: a field added in a checkout without a version bump cannot
    decode an old entry with its fields shifted."""
    from ... import cache

    layout = repr([(c.__name__, getattr(c, "__record_fields__")) for c in _MODEL_CLASSES])
    return cache.key_of(_CACHE_FORMAT, text, layout)


def _load_default() -> _Catalog:
    """The packaged catalog, from the cache when commands.toml is unchanged; else parsed and cached."""
    from ... import cache

    text = _catalog_text()
    key = _catalog_key(text)
    hit = _checked(cache.load("catalog", key))
    if hit is not None:
        return hit
    built = _built(text)
    if cache.cache_dir() is not None:
        blobs = tuple(cache.dumps(m, protocol=cache.PROTOCOL) for m in built.models)
        cache.store("catalog", key, (_CACHE_FORMAT, built.names, built.families, blobs))
    return built


_BUILT: _Catalog | None = None


def _built(text: str | None = None) -> _Catalog:
    """The packaged catalog parsed from commands.toml in this process (once)."""
    global _BUILT
    if _BUILT is None:
        names, families, models = _pack(*load_catalog(_catalog_text() if text is None else text))
        decoded: list[CommandModel | None] = list(models)
        _BUILT = _Catalog(names, families, decoded, [None] * len(models))
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


# ---- normalisation -----------------------------------------------------------------------------

def normalise_word(word: str) -> str:
    """NFKC, and dash look-alikes at the start of a flag read as "-" (``‐‐hard`` is ``--hard``)."""
    if word.isascii():
        return word
    w = unicodedata.normalize("NFKC", word)
    if w and (w[0] in _DASH_LIKE or w[0] == "-"):
        name, eq, value = w.partition("=")
        if any(c in _DASH_LIKE for c in name):
            w = "".join("-" if c in _DASH_LIKE else c for c in name) + eq + value
    return w


def normalise_program(word: str) -> str:
    """The catalog name of a program word: ``/usr/bin/rm``, ``\\rm``, ``RM.exe`` -> ``rm``.

    A path outside the standard system directories is a different program: it is returned as the
    normalised path (``/home/u/bin/rm``), which the catalog does not know.
    """
    w = normalise_word(word).lstrip("\\")
    if "/" in w:
        if not w.startswith("/"):
            return w
        p = normalise_path(w)
        d, _, base = p.rpartition("/")
        if (d or "/") not in SYSTEM_BIN_DIRS or not base:
            return p
        w = base
    name = w.casefold()
    if name.endswith(".exe") and len(name) > 4:
        name = name[:-4]
    return name


# ---- argument parsing --------------------------------------------------------------------------

def _canon(models: Sequence[CommandModel], flag: str) -> frozenset[str]:
    """Canonical spellings of one flag (no bundle, no value) under the innermost model first."""
    key = _flag_key(flag)
    for m in reversed(models):
        hit = m.aliases.get(key)
        if hit is not None:
            return hit
    if key.startswith("--"):
        for m in reversed(models):
            for p in m.alias_prefixes:
                if key.startswith(p.prefix) and key not in p.except_:
                    return frozenset((p.to,))
        known = models[-1].long_flags
        if len(key) > 3 and known and key not in known:
            # GNU getopt and git accept an unambiguous prefix: --rec is --recursive.  Conservatively
            # an ambiguous prefix stands for every flag it could be.
            out: set[str] = set()
            for k in known:
                if k.startswith(key):
                    out |= _canon(models, k) if k != key else {k}
            if out:
                return frozenset(out)
    return frozenset((key,))


def parse(model: CommandModel, args: Sequence[str], static: Sequence[bool] | None = None) -> Parsed:
    """Parse the arguments of one command (``args`` excludes the program) against its model.

    Non-static words (``static[i]`` false) are always operands.  Flags may follow operands (GNU
    style) unless the model stops at its first operand.
    """
    chain = [model]
    flags: set[str] = set()
    values: dict[str, list[tuple[int, int]]] = {}
    operands: list[int] = []
    sub_idx: list[int] = []
    dashdash: int | None = None
    stopped: int | None = None
    expect_sub = model.has_subcommands
    n = len(args)
    i = 0
    while i < n:
        a = args[i]
        cur = chain[-1]
        is_static = static is None or static[i]
        if dashdash is not None or not is_static or len(a) < 2 or a[0] != "-":
            if (i == 0 and cur.first_operand_flags and is_static and a.isalpha() and dashdash is None):
                a = "-" + a  # tar xzf archive
            else:
                if expect_sub and dashdash is None and is_static and not operands:
                    sub = cur.subcommands.get(a.casefold())
                    if sub is not None or cur.unknown_sub_risk is not None:
                        if sub is not None:
                            chain.append(sub)
                        expect_sub = sub is not None and sub.has_subcommands
                        sub_idx.append(i)
                        i += 1
                        continue
                if cur.stop_at_operand and dashdash is None:
                    stopped = i
                    operands.extend(range(i, n))
                    break
                operands.append(i)
                i += 1
                continue
        if a == "--":
            dashdash = len(operands)
            i += 1
            continue
        whole = a.startswith("--")
        # a single dash: one long flag (find -name), a number (head -10), or a bundle (-rf, below)
        if whole or cur.single_dash_long or a in cur.value_flags or a[1:].isdigit():
            name, eq, _ = a.partition("=") if whole or cur.single_dash_long else (a, "", "")
            if whole:
                name = name.casefold()
            canon = _canon(chain, name)
            flags |= canon
            key = next(iter(canon)) if len(canon) == 1 or not whole else name
            if eq:  # --flag=value: the value is in the same word, after the "="
                values.setdefault(key, []).append((i, len(name) + 1))
            elif name in cur.value_flags and i + 1 < n:  # --flag value: the next word
                values.setdefault(key, []).append((i + 1, 0))
                i += 1
            i += 1
            continue
        j = 1
        while j < len(a):
            f = "-" + a[j]
            canon = _canon(chain, f)
            flags |= canon
            key = next(iter(canon))
            if f in cur.value_flags:
                if j + 1 < len(a):
                    values.setdefault(key, []).append((i, j + 1))
                elif i + 1 < n:
                    values.setdefault(key, []).append((i + 1, 0))
                    i += 1
                break
            if f in cur.optional_value_flags:
                if j + 1 < len(a):
                    values.setdefault(key, []).append((i, j + 1))
                break
            j += 1
        i += 1
    return Parsed(args, operands, flags, values, chain, sub_idx, dashdash, stopped)


def parse_args(program: str, args: Sequence[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(operands, canonical flags) of ``program args...``.

    Operands are the non-flag arguments in order with flag values removed (``git -C dir push`` ->
    ``("push",)``); a recognised subcommand comes first, casefolded.  Flags: bundles split
    (``-rf`` -> ``-r``, ``-f``), ``--force=true`` -> ``--force``, aliases canonicalised per command
    and subcommand, long flags casefolded.  An unknown program gets generic parsing.
    """
    model = lookup(normalise_program(program)) or _GENERIC
    p = parse(model, [normalise_word(a) for a in args])
    ops = tuple(p.args[i].casefold() for i in p.sub_idx) + tuple(p.args[i] for i in p.operands)
    return ops, frozenset(p.flags)


_GENERIC = CommandModel(name="", risk=Risk.UNKNOWN)


def canonical_flags(program: str | None, subcommand: str | None, flag: str) -> frozenset[str]:
    """Every canonical flag a flag word stands for, for matching rules against parsed commands.

    ``canonical_flags("rm", None, "-rf") == {"-r", "-f"}``; ``canonical_flags("rm", None,
    "--recursive") == {"-r"}``; ``canonical_flags("git", "push", "-f") == {"--force"}``.
    ``subcommand`` may name a path of subcommands separated by spaces (``"stash drop"``).
    """
    flag = normalise_word(flag)
    model = lookup(normalise_program(program)) if program else None
    chain = [model or _GENERIC]
    if model is not None and subcommand:
        for word in subcommand.split():
            sub = chain[-1].subcommands.get(word.casefold())
            if sub is None:
                break
            chain.append(sub)
    if not flag.startswith("-") or flag in ("-", "--"):
        return frozenset((flag,))
    if flag.startswith("--"):
        return _canon(chain, flag.partition("=")[0])
    cur = chain[-1]
    if cur.single_dash_long or flag in cur.value_flags or flag[1:].isdigit():
        return _canon(chain, flag.partition("=")[0] if cur.single_dash_long else flag)
    out: set[str] = set()
    for j in range(1, len(flag)):
        f = "-" + flag[j]
        out |= _canon(chain, f)
        if f in cur.value_flags or f in cur.optional_value_flags:
            break
    return frozenset(out)


def risk_of(p: Parsed) -> tuple[Risk, list[str]]:
    """Intrinsic risk of a parsed command: the deepest known subcommand's base risk, raised by every
    rule of the chain that holds.  Returns the risk and the reasons of the rules that raised it."""
    base = p.chain[-1].risk
    if len(p.sub_idx) >= len(p.chain) and p.chain[-1].unknown_sub_risk is not None:
        base = p.chain[-1].unknown_sub_risk  # a subcommand the catalog does not know
    risk = base
    why: list[str] = []
    for m in p.chain:
        for rule in m.rules:
            if rule.risk > Risk.LOW and rule.when.holds(p):
                if rule.risk > risk:
                    risk = rule.risk
                why.append(rule.why)
    return risk, why
