"""The typed AST of the policy language.  Every node keeps its source span.

The parser (parse.py) only builds these nodes; validate.py checks them; compile.py turns them
into the runtime matcher.  Nothing at runtime imports this module's producer (the parser).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from .source import Span


# ---- argv patterns -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Word:
    """A literal argv token: ``git``, ``push``, ``"--force"``, ``-rf`` (a flag when it starts with -)."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class ListRef:
    """A reference to a named list declared with ``let``: ``SHELLS``."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Regex:
    """``re"..."``: one token that fully matches an RE2 pattern."""

    pattern: str
    span: Span


@dataclass(frozen=True, slots=True)
class Alternatives:
    """``{a, b, LIST, re"..."}``: one token matching any alternative."""

    items: tuple["Word | ListRef | Regex", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class AnyOne:
    """``?``: exactly one operand."""

    span: Span


@dataclass(frozen=True, slots=True)
class AnyArgs:
    """``...``: any number of operands, zero included."""

    span: Span


@dataclass(frozen=True, slots=True)
class PathIn:
    """``in LIST`` / ``in ["/etc/**"]`` as an argv item: one operand whose resolved path is in the set."""

    paths: "PathSet"
    span: Span


ArgItem = Union[Word, ListRef, Regex, Alternatives, AnyOne, AnyArgs, PathIn]


# ---- path and host sets --------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class StringItem:
    """One string of a list literal; for path sets a leading ``!`` negates it."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class ListLiteral:
    items: tuple["StringItem | ListRef", ...]
    span: Span


@dataclass(frozen=True, slots=True)
class PathSet:
    """A set of paths: a list literal, a list name, or several joined by ``+``."""

    parts: tuple["ListLiteral | ListRef", ...]
    span: Span


# ---- targets -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ExecTarget:
    """``exec PROGRAM ARGS...``: argv[0] is the program pattern.

    ``exec matching re"..."`` (argv empty, ``text`` set) matches the normalised text of one segment
    (the form config allowlist/denylist patterns compile to); both may be given.
    """

    argv: tuple[ArgItem, ...]
    span: Span
    text: "Regex | None" = None


@dataclass(frozen=True, slots=True)
class PipeTarget:
    """``exec A ... | exec B ...``: a segment matching A followed later in the same pipeline by B."""

    stages: tuple[ExecTarget, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class PathTarget:
    """``read in SECRETS``, ``write in SYSTEM``, ``delete in ["/"]``; ``recursive`` narrows to tree operations."""

    kind: str  # read | write | delete
    paths: PathSet
    recursive: bool
    span: Span


@dataclass(frozen=True, slots=True)
class NetworkTarget:
    """``network to HOSTS`` (host globs such as ``*.example.com``); ``network`` alone is any host."""

    hosts: PathSet | None
    span: Span


@dataclass(frozen=True, slots=True)
class CodeTarget:
    """``code python``, ``code {python, node} matching re"os\\.system"``."""

    languages: tuple["Word | ListRef", ...]  # empty: any language
    pattern: Regex | None
    span: Span


@dataclass(frozen=True, slots=True)
class ToolTarget:
    """``tool NAME`` / ``tool {a, b}`` / ``tool re"mcp__.*"``, optionally ``matching re"..."`` on its JSON args."""

    names: tuple["Word | ListRef | Regex", ...]
    pattern: Regex | None
    span: Span


@dataclass(frozen=True, slots=True)
class MessageTarget:
    """``message matching re"..."``."""

    pattern: Regex
    span: Span


@dataclass(frozen=True, slots=True)
class OpaqueTarget:
    """``opaque``: a command part that cannot be known statically."""

    span: Span


Target = Union[ExecTarget, PipeTarget, PathTarget, NetworkTarget, CodeTarget, ToolTarget, MessageTarget, OpaqueTarget]


# ---- statements ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Let:
    name: str
    value: ListLiteral
    span: Span


@dataclass(frozen=True, slots=True)
class Cel:
    """``when cel "expr"``: a CEL condition over ``action``, ``effect``, ``env`` and ``context``."""

    expr: str
    span: Span


@dataclass(frozen=True, slots=True)
class Rule:
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


@dataclass(frozen=True, slots=True)
class Example:
    """``example deny "sudo rm -rf /"``, ``example deny read "~/.ssh/id_rsa"``, ``... by rule.id``."""

    decision: str
    kind: str  # command | read | write | edit | delete | list | fetch
    text: str
    rule: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Disable:
    """``disable RULE-ID``: switch off a lower layer's rule."""

    rule: str
    span: Span


@dataclass(frozen=True, slots=True)
class Except:
    """``except RULE-ID unless TARGET``: add an exception to a lower layer's rule."""

    rule: str
    unless: tuple[Target, ...]
    span: Span


Statement = Union[Let, Rule, Example, Disable, Except]


@dataclass(frozen=True, slots=True)
class PolicyFile:
    name: str
    layer: str
    statements: tuple[Statement, ...]
