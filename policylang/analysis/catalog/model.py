"""The command model: what one program (or subcommand) of the catalog is -- its risk, its flags and
subcommands, and the conditions under which its arguments are paths, hosts or raise its risk --
and ``Parsed``, its arguments parsed against it."""
from __future__ import annotations

from typing import Any, Iterator, Mapping, Sequence

from ...frozen import frozen, value_methods
from ...verdict import Risk

# The interpretations beyond typed slots a model can ask for (shell/simple.py implements them): find's
# expression, xargs' and parallel's input, cd's new directory, declare's assignments, alias and hash,
# git's push to a remote an earlier command added.
HANDLERS = frozenset({"", "find", "xargs", "parallel", "cd", "declare", "alias", "hash", "git"})


# The codecs a decoder's output can be decoded with statically (analysis/shell/decode.py applies them).
CODECS = frozenset({"base64", "base32", "hex", "reverse", "tr"})


class CatalogError(ValueError):
    """The command catalog has an entry that does not follow the schema."""


# ---- the argv grammar (catalog/grammar.py reads it from the data) --------------------------------

# Slot types; "code:LANG" takes any language name the code analyser knows.
SLOT_TYPES = frozenset({
    "alias", "argv;", "split", "data", "number", "mount", "program", "filter", "path:read", "path:write", "path:delete", "path:upload", "path:cwd", "url", "host", "argv", "shell", "script",
    "module", "assign", "kv", "excmd", "opaque",
})
# Slots that take every remaining word, options included.
REST_SLOTS = frozenset({"argv", "module"})
# Slots whose value is run: a model with one must declare every option (strict).
RUNNER_SLOTS = frozenset({"alias", "argv", "argv;", "shell", "script", "module", "excmd", "kv", "split", "program",
                          "filter"})


@frozen
class Slot:
    """One typed position: its type, whether it repeats (``...``) and whether it may be absent (``?``)."""

    type: str
    repeat: bool = False
    optional: bool = False

    @property
    def rest(self) -> bool:
        """Does it take every remaining word, options included?"""
        return self.type in REST_SLOTS

    @property
    def runs(self) -> bool:
        """Does a value in this slot get run (a command, a shell string, code, a script)?"""
        return self.type in RUNNER_SLOTS or self.type.startswith("code:")


@frozen
class Option:
    """One option: every spelling, the canonical flags it sets, and its value."""

    names: tuple[str, ...]
    canon: frozenset[str]
    value: str = ""  # the slot type of its value; "" for a flag
    optional: bool = False  # the value may be absent, and is then only attached (--color, -i.bak)
    more: tuple[str, ...] = ()  # the types of the words after the value it also takes (find -fprintf FILE FORMAT)
    then: tuple[Slot, ...] | None = None  # after it the options end: the remaining words fill these slots


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
    operand_at: tuple[tuple[int, frozenset[str]], ...] = ()  # the operand at index I is one of these

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
        for k, words in self.operand_at:
            if k >= n or p.args[p.operands[k]].casefold() not in words:
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
    """A condition that raises the command's risk, and why; with ``effect`` (``leak``, ``persist``,
    ``discard``) it adds an effect of that kind with this risk instead of raising the command's own."""

    when: Condition
    risk: Risk
    why: str
    effect: str | None = None


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
class Form:
    """Another operand grammar, chosen when its condition holds (``bash -c``: a shell string first)."""

    when: Condition
    operands: tuple[Slot, ...]
    stdin: str | None = None  # what it runs from its input; None: the model's


@frozen
class CommandModel:
    """One command (or one subcommand) of the catalog: what it is, its argv grammar, and the effects
    of its arguments."""

    name: str
    risk: Risk
    summary: str = ""
    handler: str = ""  # an interpretation beyond the slots: find, xargs, parallel, cd, declare
    # ---- the argv grammar (catalog/grammar.py) ----
    options: Mapping[str, Option] = _NO_ENTRIES  # every spelling -> its option
    long_names: tuple[str, ...] = ()  # the long spellings, sorted (for unambiguous abbreviations)
    posix: bool = False  # options end at the first operand (wrappers, interpreters); else GNU order
    posix_after: int = 0  # with posix: options are read after this many operands too (ssh HOST -p 22 CMD)
    argv_at: int | None = None  # the options end at this operand: the one that starts its argv slot
    abbrev: bool = True  # an unambiguous prefix of a long option is that option (getopt_long)
    single_dash_long: bool = False  # "-name" is one option (find, java)
    first_operand_flags: bool = False  # tar xzf: a first operand of letters is a flag bundle
    strict: bool = True  # an undeclared option makes the command opaque
    dashdash: bool = True  # "--" ends the options
    operands: tuple[Slot, ...] = ()  # the operands' types by position; (): any number of data
    forms: tuple[Form, ...] = ()
    stdin: str = ""  # what it runs from its input when no operand names its program: shell, code:LANG
    language: str = ""  # the language of the scripts it runs (interpreters)
    keys: Mapping[str, str] = _NO_ENTRIES  # a kv slot's key (casefolded; "prefix.*") -> slot type
    # ---- effects and risk ----
    subcommands: Mapping[str, "CommandModel"] = _NO_ENTRIES
    unknown_sub_risk: Risk | None = None  # risk of a subcommand the catalog does not know
    rules: tuple[RiskRule, ...] = ()
    paths: tuple[PathRule, ...] = ()
    network: tuple[NetworkRule, ...] = ()
    fetches: bool = False  # its output comes from the network: "curl ... | sh" is critical
    decodes: tuple[str, ...] = ()  # flags with which its output is decoded data ("*": always)
    passthrough: bool = False  # without file operands its output is its input (cat, tee)
    settings: Mapping[str, Any] = _NO_ENTRIES  # settings of its handler, and its output ([x.find] ...)

    @property
    def has_subcommands(self) -> bool:
        return bool(self.subcommands) or self.unknown_sub_risk is not None


class LazyModels(Mapping[str, "CommandModel"]):
    """Subcommand models kept pickled until one is looked up: a cached catalog decodes ``git push``
    without decoding every other git subcommand.  Names that share a model share one blob."""

    __slots__ = ("_names", "_blobs", "_models")

    def __init__(self, names: Mapping[str, int], blobs: Sequence[bytes]) -> None:
        self._names = dict(names)
        self._blobs = tuple(blobs)
        self._models: dict[int, CommandModel] = {}

    def __getitem__(self, key: str) -> "CommandModel":
        i = self._names[key]
        m = self._models.get(i)
        if m is None:
            from ...cache import loads

            m = loads(self._blobs[i])
            if not isinstance(m, CommandModel):
                raise CatalogError(f"the cached catalog's subcommand {key!r} does not decode to a model")
            self._models[i] = m
        return m

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key: object) -> bool:
        return key in self._names

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyModels, (self._names, self._blobs))

    def __repr__(self) -> str:
        return repr(dict(self.items()))


_MODEL_CLASSES = (Slot, Option, Condition, RiskRule, PathRule, NetworkRule, Form, CommandModel)


class Filled:
    """A slot given a value: its type, the words (arg indices) that hold it, and the offset of the
    value in the first word (``-Cdir``: 2)."""

    __slots__ = ("type", "words", "offset")

    def __init__(self, type: str, words: tuple[int, ...], offset: int = 0) -> None:
        self.type = type
        self.words = words
        self.offset = offset

    def __repr__(self) -> str:
        return f"Filled({self.type!r}, {self.words!r}, {self.offset!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Filled) and (self.type, self.words, self.offset) == (
            other.type, other.words, other.offset)

    __hash__ = None  # type: ignore[assignment]


@value_methods
class Parsed:
    """Arguments parsed against a model: operands and flag values are indices into ``args``.

    A plain slotted class (one is built per parse; ``parse`` and the shell analysis fill it in)."""

    __slots__ = ("args", "operands", "flags", "flag_values", "chain", "sub_idx", "dashdash", "stopped",
                 "filled", "unplaced", "stdin")
    __record_fields__ = __slots__  # equality and repr over every field (frozen.value_methods)

    def __init__(self, args: Sequence[str], operands: list[int], flags: set[str],
                 flag_values: dict[str, list[tuple[int, int]]], chain: list[CommandModel], sub_idx: list[int],
                 dashdash: int | None = None, stopped: int | None = None, filled: list[Filled] | None = None,
                 unplaced: list[str] | None = None, stdin: str = ""):
        self.args = args
        self.operands = operands  # after the subcommand path
        self.flags = flags
        self.flag_values = flag_values  # canonical flag -> (arg index, offset of the value)
        self.chain = chain  # the model, then each subcommand model
        self.sub_idx = sub_idx  # arg index of each subcommand word
        self.dashdash = dashdash  # number of operands seen before "--"
        self.stopped = stopped  # index of the first word after the options ended (posix, or an option's then)
        self.filled = [] if filled is None else filled  # typed values: options' and operands'
        self.unplaced = [] if unplaced is None else unplaced  # why a word has no place in the grammar
        self.stdin = stdin  # what the command runs from its input, when no slot gave it a program

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


def flag_key(flag: str) -> str:
    """How a flag is compared: long flags casefolded (``--Force`` is ``--force``), short ones as given."""
    return flag.casefold() if flag.startswith("--") else flag
