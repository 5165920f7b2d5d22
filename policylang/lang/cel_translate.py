"""cel-python's parse tree -> nested Python closures, for the subset of CEL that policies use.

``_Translator`` raises ``_Fallback`` (at compile time only) where an expression leaves the subset;
cel.py then leaves that condition to cel-python's interpreter.  The closures call the operators
and functions of cel_runtime.py.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, cast

import lark
from celpy import celtypes
from celpy.evaluation import base_functions, celstr

from ..regex import Regex, RegexError
from .cel_cost import BUDGET_KEY, RUN_BUDGET
from .cel_runtime import (
    _BINARY,
    _FUNCTIONS,
    _INDEX,
    _STRS,
    CELError,
    _absorbable,
    _capture,
    _delegate,
    _Fatal,
    _Fn,
    _iterate,
    _logical_and,
    _logical_or,
    _matches_literal,
    _neg,
    _not,
    _PyList,
    _Thrown,
    _truthy,
    _Unsupported,
    _value,
)

if TYPE_CHECKING:
    _Tree = lark.Tree[Any]
else:
    _Tree = lark.Tree

VARIABLES = frozenset({"action", "effect", "env", "context"})
"""The free variables a policy condition may name; any other free name goes to cel-python."""


class _Fallback(Exception):
    """This expression is outside the compiled subset (raised at compile time only)."""


_MACROS = frozenset({"exists", "all", "exists_one", "filter", "map"})
_NOT_IN_SUBSET = frozenset({"reduce", "min"})  # cel-python treats these as macros too


def _args(tree: _Tree | None) -> list[_Tree]:
    return [] if tree is None else [c for c in tree.children if isinstance(c, lark.Tree)]


class _Translator:
    """Turns cel-python's parse tree into closures; raises _Fallback outside the subset."""

    def __init__(self) -> None:
        self.bound: list[str] = []

    def expr(self, t: _Tree) -> _Fn:
        method = getattr(self, "t_" + str(t.data), None)
        if method is None:
            raise _Fallback(str(t.data))
        fn: _Fn = method(t)
        return fn

    def single(self, t: _Tree) -> _Fn:
        return self.expr(t.children[0])

    t_member = single
    t_primary = single

    def t_paren_expr(self, t: _Tree) -> _Fn:
        return self.expr(t.children[0])

    def t_expr(self, t: _Tree) -> _Fn:
        if len(t.children) == 1:
            return self.expr(t.children[0])
        cond, yes, no = (self.expr(c) for c in t.children)

        def ternary(act: dict[str, Any]) -> Any:
            c = _capture(cond, act)
            if c is True:
                return yes(act)
            if c is False:
                return no(act)
            # cel-python evaluates the branch picked by Python truthiness, then fails
            _capture(yes if isinstance(c, CELError) or _truthy(c) else no, act)
            raise c if isinstance(c, CELError) else CELError("condition is not a bool")

        return ternary

    def t_conditionalor(self, t: _Tree) -> _Fn:
        if len(t.children) == 1:
            return self.expr(t.children[0])
        left, right = (self.expr(c) for c in t.children)

        def or_(act: dict[str, Any]) -> Any:
            x = _capture(left, act)
            if x is True:
                _capture(right, act)  # evaluated by cel-python too: it may raise past us
                return True
            return _value(_logical_or(x, _capture(right, act)))

        return or_

    def t_conditionaland(self, t: _Tree) -> _Fn:
        if len(t.children) == 1:
            return self.expr(t.children[0])
        left, right = (self.expr(c) for c in t.children)

        def and_(act: dict[str, Any]) -> Any:
            x = _capture(left, act)
            if x is False:
                _capture(right, act)
                return False
            return _value(_logical_and(x, _capture(right, act)))

        return and_

    def binary(self, t: _Tree) -> _Fn:
        if len(t.children) == 1:
            return self.expr(t.children[0])
        op_tree, right_tree = t.children
        op = _BINARY[str(op_tree.data)]
        left, right = self.expr(op_tree.children[0]), self.expr(right_tree)

        def apply(act: dict[str, Any]) -> Any:
            try:
                a = left(act)
            except CELError as e:
                if _absorbable(e):
                    right(act)  # cel-python evaluates both operands; a raised error wins
                raise
            return op(a, right(act))

        return apply

    t_relation = binary
    t_addition = binary
    t_multiplication = binary

    def t_unary(self, t: _Tree) -> _Fn:
        if len(t.children) == 1:
            return self.expr(t.children[0])
        op_tree, operand_tree = t.children
        op = _neg if op_tree.data == "unary_neg" else _not
        operand = self.expr(operand_tree)
        return lambda act: op(operand(act))

    def t_literal(self, t: _Tree) -> _Fn:
        token = cast(lark.Token, t.children[0])
        kind = token.type
        value: Any
        try:
            if kind == "INT_LIT":
                value = int(celtypes.IntType(token.value))
            elif kind == "FLOAT_LIT":
                value = float(celtypes.DoubleType(token.value))
            elif kind in ("STRING_LIT", "MLSTRING_LIT"):
                value = str(celstr(token))
            elif kind == "BOOL_LIT":
                value = token.value == "true"
            elif kind == "NULL_LIT":
                value = None
            else:
                raise _Fallback(kind)  # uint and bytes have no plain-Python counterpart
        except ValueError as ex:
            message = str(ex)

            def bad_literal(act: dict[str, Any]) -> Any:
                raise CELError(message)

            return bad_literal
        return lambda act: value

    def t_ident(self, t: _Tree) -> _Fn:
        name = str(t.children[0])
        if name not in self.bound and name not in VARIABLES:
            raise _Fallback(name)

        def ident(act: dict[str, Any]) -> Any:
            try:
                return act[name]
            except KeyError:
                raise CELError(f"undeclared reference to {name!r}") from None

        return ident

    def t_member_dot(self, t: _Tree) -> _Fn:
        obj = self.expr(t.children[0])
        name = str(t.children[1])

        def field(act: dict[str, Any]) -> Any:
            v = obj(act)
            if type(v) is dict:
                try:
                    return v[name]
                except KeyError:
                    raise CELError(f"no such key {name!r}") from None
            raise CELError(f"{type(v).__name__} does not support field selection")

        return field

    def t_member_index(self, t: _Tree) -> _Fn:
        obj, key = self.expr(t.children[0]), self.expr(t.children[1])
        getitem = base_functions["_[_]"]

        def index(act: dict[str, Any]) -> Any:
            try:
                v = obj(act)
            except CELError as e:
                if _absorbable(e):
                    key(act)
                raise
            k = key(act)
            tv, tk = type(v), type(k)
            if tv is dict and tk is str and all(type(x) in _STRS for x in v):
                try:
                    return v[k]
                except KeyError:
                    raise CELError(f"no such key {k!r}") from None
            if (tv is list or tv is _PyList) and tk is int:
                try:
                    return v[k]
                except IndexError:
                    raise CELError(f"index {k} out of range") from None
            return _delegate(getitem, (v, k), _INDEX)

        return index

    def t_list_lit(self, t: _Tree) -> _Fn:
        items = [self.expr(c) for c in _args(t.children[0] if t.children else None)]

        def make_list(act: dict[str, Any]) -> Any:
            values = [_capture(i, act) for i in items]
            for v in values:
                if isinstance(v, CELError):
                    raise v
            return values

        return make_list

    def t_map_lit(self, t: _Tree) -> _Fn:
        parts = [self.expr(c) for c in _args(t.children[0] if t.children else None)]
        pairs = list(zip(parts[0::2], parts[1::2]))

        def make_map(act: dict[str, Any]) -> Any:
            out: dict[str, Any] = {}
            for kf, vf in pairs:
                try:
                    k, v = kf(act), vf(act)
                except CELError as e:
                    if not _absorbable(e):
                        raise
                    raise _Unsupported("an error stored in a map literal") from None
                if type(k) not in _STRS:
                    raise _Unsupported("a map literal with non-string keys")
                if k in out:
                    raise CELError(f"duplicate key {k!r}")
                out[k] = v
            return out

        return make_map

    def call(self, name: str, receiver: _Tree | None, arg_trees: list[_Tree]) -> _Fn:
        fn = _FUNCTIONS.get(name)
        if fn is None:
            raise _Fallback(name)
        args = ([self.expr(receiver)] if receiver is not None else []) + [self.expr(a) for a in arg_trees]
        if name == "matches" and len(args) == 2:
            fn = self.literal_pattern(arg_trees[-1]) or fn
        if len(args) == 1:
            (only,) = args
            return lambda act: fn([only(act)])
        if len(args) == 2:
            first, second = args

            def call2(act: dict[str, Any]) -> Any:
                try:
                    a = first(act)
                except CELError as e:
                    if _absorbable(e):
                        second(act)
                    raise
                return fn([a, second(act)])

            return call2

        def call_n(act: dict[str, Any]) -> Any:
            values = [_capture(a, act) for a in args]
            for v in values:
                if isinstance(v, CELError):
                    raise v
            return fn(values)

        return call_n

    def literal_pattern(self, t: _Tree) -> Callable[[list[Any]], Any] | None:
        """The ``matches`` implementation for a pattern written as a string literal, else None."""
        node = t
        while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "literal":
            node = node.children[0]
        if not (isinstance(node, lark.Tree) and node.data == "literal"):
            return None
        token = cast(lark.Token, node.children[0])
        if token.type not in ("STRING_LIT", "MLSTRING_LIT"):
            return None
        pattern = str(celstr(token))
        try:
            return _matches_literal(Regex(pattern), "")
        except RegexError as ex:
            return _matches_literal(None, f"invalid regular expression: {ex}")

    def t_ident_arg(self, t: _Tree) -> _Fn:
        name = str(t.children[0])
        args = _args(t.children[1] if len(t.children) > 1 else None)
        if name == "has":
            if len(args) != 1:
                raise _Fallback("has")
            inner = self.expr(args[0])

            def has(act: dict[str, Any]) -> Any:
                return not isinstance(_capture(inner, act), CELError)

            return has
        return self.call(name, None, args)

    def t_member_dot_arg(self, t: _Tree) -> _Fn:
        receiver, name_token = t.children[0], t.children[1]
        name = str(name_token)
        args = _args(t.children[2] if len(t.children) > 2 else None)
        if name in _NOT_IN_SUBSET:
            raise _Fallback(name)
        if name in _MACROS:
            return self.macro(name, receiver, args)
        return self.call(name, receiver, args)

    def macro(self, name: str, receiver: _Tree, args: list[_Tree]) -> _Fn:
        if len(args) != 2:
            raise _Fallback(name)
        var = self.bare_ident(args[0])
        if var is None:
            raise _Fallback(name)
        target = self.expr(receiver)
        self.bound.append(var)
        try:
            body = self.expr(args[1])
        finally:
            self.bound.pop()

        def each(act: dict[str, Any], strict: bool) -> Iterable[tuple[Any, Any]]:
            scope = dict(act)
            budget = act.get(BUDGET_KEY)
            for item in _iterate(target(act)):
                if budget is not None:
                    budget.left -= 1
                    if budget.left < 0:
                        raise _Fatal(f"the condition exceeded its cost budget ({RUN_BUDGET:,} comprehension steps)")
                scope[var] = item
                if strict:
                    try:
                        yield item, body(scope)
                    except _Fatal:
                        raise
                    except CELError as e:
                        raise _Thrown(str(e)) from None
                else:
                    try:
                        yield item, body(scope)
                    except _Fatal:
                        raise
                    except CELError as e:
                        yield item, e

        if name == "map":
            return lambda act: [r for _, r in each(act, True)]
        if name == "filter":
            return lambda act: [i for i, r in each(act, True) if _truthy(r)]
        if name == "exists_one":
            return lambda act: sum(1 for _, r in each(act, True) if _truthy(r)) == 1
        combine, start = (_logical_and, True) if name == "all" else (_logical_or, False)

        def quantifier(act: dict[str, Any]) -> Any:
            acc: Any = start
            for _, r in each(act, False):
                acc = combine(acc, r)
            return _value(acc)

        return quantifier

    @staticmethod
    def bare_ident(t: _Tree) -> str | None:
        node: Any = t
        while isinstance(node, lark.Tree) and len(node.children) == 1 and node.data != "ident":
            node = node.children[0]
        if isinstance(node, lark.Tree) and node.data == "ident":
            return str(node.children[0])
        return None
