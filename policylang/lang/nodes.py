"""The typed AST of the policy language.  Every node keeps its source span.

The parser (parse.py) only builds these nodes; validate.py checks them; compile.py turns them
into the runtime matcher.  Nothing at runtime imports this module's producer (the parser).

Every node class is a frozen dataclass, made one on first use: generating a dataclass's methods
costs about a millisecond a class, and a process that starts from the compiled-policy cache
(policylang.config.precompiled) unpickles nodes and reads their fields without ever building, comparing
or printing one, so it never pays for the twenty-five classes here.  A node class behaves exactly
as ``@dataclass(frozen=True)`` from the first construction, comparison, hash, repr, assignment
or ``dataclasses.fields`` call on it or on an instance (see ``realise``).
"""
from __future__ import annotations

import threading
from typing import Any, TypeVar, Union, dataclass_transform

from ..source import Span

_N = TypeVar("_N", bound=type)
_LOCK = threading.Lock()

# The words of the language a rule's decision, a risk and an example's kind may be.
DECISIONS = ("allow", "sandbox", "ask", "deny")
RISK_LEVELS = ("unknown", "low", "medium", "high", "critical")
EXAMPLE_KINDS = ("command", "read", "write", "edit", "delete", "list", "fetch")


class Node:
    """The base of every AST node: each method here makes the node's class a dataclass, then
    calls the method the dataclass defines."""

    __slots__ = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        realise(type(self)).__init__(self, *args, **kwargs)

    def __eq__(self, other: object) -> bool:
        result: bool = realise(type(self)).__eq__(self, other)
        return result

    def __hash__(self) -> int:
        return realise(type(self)).__hash__(self)

    def __repr__(self) -> str:
        return realise(type(self)).__repr__(self)

    def __setattr__(self, name: str, value: Any) -> None:
        realise(type(self)).__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        realise(type(self)).__delattr__(self, name)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__dataclass_fields__ = _FieldsOnDemand()  # type: ignore[attr-defined]


class _FieldsOnDemand:
    """Stands for ``__dataclass_fields__`` until the class is realised (``dataclasses.fields``,
    ``is_dataclass`` and ``replace`` look the attribute up on the class)."""

    def __get__(self, obj: object, owner: type) -> Any:
        return realise(owner).__dict__["__dataclass_fields__"]


_REALISED: set[type] = set()  # classes whose dataclass is complete


def realise(cls: _N) -> _N:
    """Make the node class ``cls`` a frozen dataclass (once; later calls return at once).

    A class counts as realised only once ``dataclass()`` has returned: a thread that arrives while
    another is still generating the methods waits on the lock instead of calling the half-made class.
    """
    if cls not in _REALISED:
        with _LOCK:
            if cls not in _REALISED:
                if isinstance(cls.__dict__.get("__dataclass_fields__"), _FieldsOnDemand):
                    import dataclasses  # here: a process that only reads cached nodes never imports it

                    delattr(cls, "__dataclass_fields__")
                    dataclasses.dataclass(frozen=True)(cls)
                _REALISED.add(cls)
    return cls


@dataclass_transform(frozen_default=True)
def node(cls: _N) -> _N:
    """Mark an AST node class (a subclass of Node): a frozen dataclass, made on first use."""
    return cls


# ---- argv patterns -------------------------------------------------------------------------

@node
class Word(Node):
    """A literal argv token: ``git``, ``push``, ``"--force"``, ``-rf`` (a flag when it starts with -)."""

    value: str
    span: Span


@node
class ListRef(Node):
    """A reference to a named list declared with ``let``: ``SHELLS``."""

    name: str
    span: Span


@node
class Regex(Node):
    """``re"..."``: one token that fully matches an RE2 pattern."""

    pattern: str
    span: Span


@node
class Alternatives(Node):
    """``{a, b, LIST, re"..."}``: one token matching any alternative."""

    items: tuple["Word | ListRef | Regex", ...]
    span: Span


@node
class AnyOne(Node):
    """``?``: exactly one operand."""

    span: Span


@node
class AnyArgs(Node):
    """``...``: any number of operands, zero included."""

    span: Span


@node
class PathIn(Node):
    """``in LIST`` / ``in ["/etc/**"]`` as an argv item: one operand whose resolved path is in the set."""

    paths: "PathSet"
    span: Span


ArgItem = Union[Word, ListRef, Regex, Alternatives, AnyOne, AnyArgs, PathIn]


# ---- path and host sets --------------------------------------------------------------------

@node
class StringItem(Node):
    """One string of a list literal; for path sets a leading ``!`` negates it."""

    value: str
    span: Span


@node
class ListLiteral(Node):
    items: tuple["StringItem | ListRef", ...]
    span: Span


@node
class PathSet(Node):
    """A set of paths: a list literal, a list name, or several joined by ``+``."""

    parts: tuple["ListLiteral | ListRef", ...]
    span: Span


# ---- targets -------------------------------------------------------------------------------

@node
class ExecTarget(Node):
    """``exec PROGRAM ARGS...``: argv[0] is the program pattern.

    ``exec matching re"..."`` (argv empty, ``text`` set) matches the normalised text of one segment
    (the form config allowlist/denylist patterns compile to); both may be given.
    """

    argv: tuple[ArgItem, ...]
    span: Span
    text: "Regex | None" = None


@node
class PipeTarget(Node):
    """``exec A ... | exec B ...``: a segment matching A followed later in the same pipeline by B."""

    stages: tuple[ExecTarget, ...]
    span: Span


@node
class PathTarget(Node):
    """``read in SECRETS``, ``write in SYSTEM``, ``delete in ["/"]``; ``recursive`` narrows to tree operations."""

    kind: str  # read | write | delete
    paths: PathSet
    recursive: bool
    span: Span


@node
class NetworkTarget(Node):
    """``network to HOSTS`` (host globs such as ``*.example.com``); ``network`` alone is any host."""

    hosts: PathSet | None
    span: Span


@node
class CodeTarget(Node):
    """``code python``, ``code {python, node} matching re"os\\.system"``."""

    languages: tuple["Word | ListRef", ...]  # empty: any language
    pattern: Regex | None
    span: Span


@node
class ToolTarget(Node):
    """``tool NAME`` / ``tool {a, b}`` / ``tool re"mcp__.*"``, optionally ``matching re"..."`` on its JSON args."""

    names: tuple["Word | ListRef | Regex", ...]
    pattern: Regex | None
    span: Span


@node
class MessageTarget(Node):
    """``message matching re"..."``."""

    pattern: Regex
    span: Span


@node
class ConcernTarget(Node):
    """``leak``, ``upload in PATHS to HOSTS``, ``persist``, ``discard``, ``secret`` (``in message``,
    ``in tool``, ``in PATHS``, ``to network``, ``to HOSTS``), each optionally ``matching re"..."`` on
    what the effect names (the leaked value, the mechanism, what is lost, the secret's format)."""

    kind: str  # leak | upload | persist | discard | secret | install | finding
    paths: PathSet | None  # upload: the files sent; secret: the files written; install: the packages' names
    hosts: PathSet | None  # upload, secret: where they go; install: the registry or host it comes from
    pattern: Regex | None
    span: Span
    place: str | None = None  # secret: "message", "tool" (in ...) or "network" (to network)


@node
class OpaqueTarget(Node):
    """``opaque``: a command part that cannot be known statically."""

    span: Span


Target = Union[ExecTarget, PipeTarget, PathTarget, NetworkTarget, CodeTarget, ToolTarget, MessageTarget,
               ConcernTarget, OpaqueTarget]


# ---- statements ----------------------------------------------------------------------------

@node
class Let(Node):
    name: str
    value: ListLiteral
    span: Span


@node
class Cel(Node):
    """``when cel "expr"``: a CEL condition over ``action``, ``effect``, ``env`` and ``context``."""

    expr: str
    span: Span


@node
class Rule(Node):
    id: str
    decision: str  # allow | sandbox | ask | deny
    target: Target
    risk: str | None
    message: str | None
    alternative: str | None
    unless: tuple[Target, ...]
    when: Cel | None
    span: Span
    id_span: Span


@node
class Example(Node):
    """``example deny "sudo rm -rf /"``, ``example deny read "~/.ssh/id_rsa"``, ``... by rule.id``."""

    decision: str
    kind: str  # command | read | write | edit | delete | list | fetch
    text: str
    rule: str | None
    span: Span


@node
class Disable(Node):
    """``disable RULE-ID``: switch off a lower layer's rule."""

    rule: str
    span: Span


@node
class Except(Node):
    """``except RULE-ID unless TARGET``: add an exception to a lower layer's rule."""

    rule: str
    unless: tuple[Target, ...]
    span: Span


Statement = Union[Let, Rule, Example, Disable, Except]


@node
class PolicyFile(Node):
    name: str
    layer: str
    statements: tuple[Statement, ...]
