"""What a CEL ``when`` condition may cost: a static estimate at compile time, a bound at run time.

A condition's work is the number of nodes it evaluates, and only comprehensions (``all``,
``exists``, ``exists_one``, ``map``, ``filter``) repeat work: their body runs once per element of
the list or map they range over.  The estimate is a polynomial in ``S``, the size of the largest
list or map the condition is given: a comprehension over a list literal multiplies its
body by the literal's length, one over anything else by ``S``.  (cel-python has no cost model of
its own to use.)

- At compile time, a condition whose estimate for ``S = ASSUMED_SIZE`` exceeds ``STATIC_LIMIT`` is
  refused (``policylang check`` reports it; ``compile_condition`` raises).
- At run time, the compiled closures count the elements their comprehensions visit and stop at
  ``RUN_BUDGET``; a condition left to cel-python's interpreter is first priced with the real ``S``
  of its activation and not run when the price exceeds ``RUN_BUDGET``.  Either way the evaluation
  fails (a CELError), and a condition that fails never loosens a decision.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import lark

if TYPE_CHECKING:
    _Tree = lark.Tree[Any]
else:
    _Tree = lark.Tree

ASSUMED_SIZE = 64
"""The size assumed at compile time for a list or map whose size is known only at run time."""

STATIC_LIMIT = 1_000_000
"""The largest estimate (nodes evaluated, with ``S = ASSUMED_SIZE``) a condition may have."""

RUN_BUDGET = 200_000
"""The most comprehension elements one evaluation may visit (closures), or nodes it may be priced at
(cel-python's interpreter), before it fails."""

BUDGET_KEY = "\0budget"
"""Where the closures find the evaluation's :class:`Budget` in their activation (no CEL name can say it)."""

_MACROS = frozenset({"exists", "all", "exists_one", "filter", "map", "reduce", "min"})

Poly = tuple[int, ...]
"""Coefficients of a polynomial in S, lowest degree first."""


def _add(a: Poly, b: Poly) -> Poly:
    n = max(len(a), len(b))
    return tuple((a[i] if i < len(a) else 0) + (b[i] if i < len(b) else 0) for i in range(n))


def _scale(a: Poly, factor: int, shift: int) -> Poly:
    """``a * factor * S**shift``."""
    return (0,) * shift + tuple(c * factor for c in a)


def _literal_length(t: _Tree) -> int | None:
    """The number of items of a list or map literal ``t`` (under its wrapper nodes), else None."""
    node: Any = t
    while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data not in ("list_lit", "map_lit"):
        node = node.children[0]
    if isinstance(node, lark.Tree) and node.data in ("list_lit", "map_lit"):
        items = node.children[0] if node.children else None
        n = 0 if items is None else sum(1 for c in items.children if isinstance(c, lark.Tree))
        return n if node.data == "list_lit" else n // 2
    return None


def estimate(t: _Tree) -> Poly:
    """The cost polynomial of cel-python parse tree ``t``."""
    if t.data == "member_dot_arg" and len(t.children) >= 2 and str(t.children[1]) in _MACROS:
        receiver = t.children[0]
        args = t.children[2] if len(t.children) > 2 and isinstance(t.children[2], lark.Tree) else None
        body: Poly = (1,)
        for c in (args.children if args is not None else ()):
            if isinstance(c, lark.Tree):
                body = _add(body, estimate(c))
        length = _literal_length(receiver) if isinstance(receiver, lark.Tree) else None
        per = _scale(body, length, 0) if length is not None else _scale(body, 1, 1)
        return _add(_add((1,), estimate(receiver) if isinstance(receiver, lark.Tree) else (1,)), per)
    total: Poly = (1,)
    for c in t.children:
        if isinstance(c, lark.Tree):
            total = _add(total, estimate(c))
    return total


def price(poly: Poly, size: int) -> int:
    """The polynomial's value for ``S = size``."""
    out = 0
    for c in reversed(poly):
        out = out * size + c
    return out


def describe(poly: Poly) -> str:
    """A readable form of the polynomial: ``3·S² + 5·S + 12``."""
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    parts = []
    for degree in range(len(poly) - 1, -1, -1):
        c = poly[degree]
        if c == 0:
            continue
        if degree == 0:
            parts.append(str(c))
        else:
            s = "S" if degree == 1 else "S" + str(degree).translate(sup)
            parts.append(s if c == 1 else f"{c}·{s}")
    return " + ".join(parts) or "0"


def static_problem(t: _Tree) -> str | None:
    """Why condition ``t`` is too costly to compile, or None."""
    poly = estimate(t)
    cost = price(poly, ASSUMED_SIZE)
    if cost <= STATIC_LIMIT:
        return None
    return (f"the condition may evaluate {describe(poly)} nodes for lists and maps of size S "
            f"({cost:,} for S = {ASSUMED_SIZE}; the limit is {STATIC_LIMIT:,}): "
            f"nested comprehensions multiply their work")


def activation_size(value: Any, depth: int = 0) -> int:
    """The size of the largest list or map in ``value`` (S, for pricing an evaluation)."""
    if isinstance(value, Mapping):
        items: Any = list(value.values())
        size = len(value)
    elif isinstance(value, (list, tuple)):
        items = value
        size = len(value)
    else:
        return 0
    if depth > 16:
        return size
    for v in items:
        size = max(size, activation_size(v, depth + 1))
    return size


class Budget:
    """The comprehension elements one evaluation of compiled closures may still visit."""

    __slots__ = ("left",)

    def __init__(self, steps: int = RUN_BUDGET):
        self.left = steps
