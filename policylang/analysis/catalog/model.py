"""The command model: what one program (or subcommand) of the catalog is -- its risk, its flags and
subcommands, and the conditions under which its arguments are paths, hosts or raise its risk --
and ``Parsed``, its arguments parsed against it."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ...frozen import frozen, value_methods
from ...verdict import Risk

HANDLERS = frozenset({
    "", "wrapper", "shell", "interpreter", "eval", "source", "find", "xargs", "parallel", "watch",
    "busybox", "cd", "trap", "declare",
})

# Characters that read as "-" at the start of a flag: hyphen, non-breaking hyphen, figure dash,
# en dash, em dash, horizontal bar, minus sign, small em dash, small and fullwidth hyphen-minus.
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


def flag_key(flag: str) -> str:
    """How a flag is compared: long flags casefolded (``--Force`` is ``--force``), short ones as given."""
    return flag.casefold() if flag.startswith("--") else flag
