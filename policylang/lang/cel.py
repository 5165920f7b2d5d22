"""CEL ``when`` conditions compiled to nested Python closures.

cel-python parses the expression; the subset policies use is translated into closures that work
on plain Python data (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``), which is
one to two orders of magnitude cheaper than walking the parse tree with cel-python's interpreter on
every evaluation.  Anything outside the subset is evaluated by cel-python, so every condition that
cel-python accepts still works.

The closures follow cel-python's observable behaviour, including where it differs from Python
(no coercion between ``int``, ``double``, ``string`` and ``bool``; 64-bit integer overflow is an
error; ``/`` and ``%`` truncate toward zero; ``&&`` and ``||`` absorb an error on one side when the
other side decides).  Only the common, same-type cases take the fast path; every other operand
combination is handed to cel-python's own operator on converted operands, so the mixed-type cases
agree with it by construction.  Where cel-python's operators return a plain Python value instead
of a CEL value (``'a' + 'b'`` is a ``str``, not a ``StringType``, and has no ``contains``), the
closures keep a marker type so the next operation behaves as cel-python's would.  A value the
closures cannot represent makes that one evaluation go to cel-python instead.

Errors: an evaluation that fails raises :class:`CELError`; so does a result that is not a bool.
The caller treats that as "the condition does not loosen anything".
"""
from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence, cast

import celpy
import lark
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError, base_functions, celstr, operator_in

from ..regex import Regex, RegexError

if TYPE_CHECKING:
    _Tree = lark.Tree[Any]
else:
    _Tree = lark.Tree

__all__ = ["CELError", "Condition", "compile_condition", "in_subset", "VARIABLES"]

Condition = Callable[[Mapping[str, Any]], bool]
"""A compiled condition: takes the activation (plain data), returns the bool or raises CELError."""

VARIABLES = frozenset({"action", "effect", "env", "context"})
"""The free variables a policy condition may name; any other free name goes to cel-python."""

_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1


class CELError(Exception):
    """A CEL condition could not be evaluated (missing key, type mismatch, division by zero, ...)."""


class _Thrown(CELError):
    """An error cel-python raises rather than returns (inside ``map``/``filter``/``exists_one``):
    it is not absorbed by ``&&``, ``||``, ``? :`` or ``has``."""


class _Fatal(CELError):
    """A Python exception cel-python does not catch at all: nothing absorbs it."""


class _Unsupported(Exception):
    """This evaluation meets a value the closures do not model: evaluate it with cel-python."""


class _Fallback(Exception):
    """This expression is outside the compiled subset (raised at compile time only)."""


# ---- values cel-python leaves as plain Python objects -------------------------------------------
# cel-python's ``+`` on two strings returns a ``str`` (not a ``StringType``), ``double + double`` a
# ``float`` and so on.  These markers stand for such values so the slow path can hand cel-python
# exactly what it would have had.

class _PyStr(str):
    __slots__ = ()


class _PyInt(int):
    __slots__ = ()


class _PyFloat(float):
    __slots__ = ()


class _PyList(list):  # type: ignore[type-arg]
    __slots__ = ()


_STRS = (str, _PyStr)
_INTS = (int, _PyInt)
_FLOATS = (float, _PyFloat)
_LISTS = (list, _PyList)


def _to_cel(v: Any) -> Any:
    """A closure value as the object cel-python would hold."""
    t = type(v)
    if t is str:
        return celtypes.StringType(v)
    if t is bool:
        return celtypes.BoolType(v)
    if t is int:
        return celtypes.IntType(v)
    if t is float:
        return celtypes.DoubleType(v)
    if v is None:
        return None
    if t is list or t is tuple:
        return celtypes.ListType([_to_cel(x) for x in v])
    if t is dict:
        return celtypes.MapType({_to_cel(k): _to_cel(x) for k, x in v.items()})
    if t is _PyStr:
        return str(v)
    if t is _PyInt:
        return int(v)
    if t is _PyFloat:
        return float(v)
    if t is _PyList:
        return [_to_cel(x) for x in v]
    raise _Unsupported(t.__name__)


def _from_cel(v: Any) -> Any:
    """A cel-python value as a closure value."""
    t = type(v)
    if t is celtypes.StringType:
        return str(v)
    if t is celtypes.BoolType:
        if v in (0, 1):
            return bool(v)
        raise _Unsupported("BoolType holding a non-0/1 integer")
    if t is celtypes.IntType:
        return int(v)
    if t is celtypes.DoubleType:
        return float(v)
    if v is None:
        return None
    if t is celtypes.ListType:
        return [_from_cel(x) for x in v]
    if t is celtypes.MapType:
        return {_from_cel(k): _from_cel(x) for k, x in v.items()}
    if t is str:
        return _PyStr(v)
    if t is int:
        return _PyInt(v)
    if t is float:
        return _PyFloat(v)
    if t is list:
        return _PyList(_from_cel(x) for x in v)
    raise _Unsupported(t.__name__)


def _delegate(func: Callable[..., Any], args: Sequence[Any], caught: tuple[type[BaseException], ...]) -> Any:
    """Apply one of cel-python's operators to closure values, with its call site's error handling."""
    try:
        result = func(*[_to_cel(a) for a in args])
    except _Unsupported:
        raise
    except caught as ex:
        raise CELError(f"{type(ex).__name__}: {ex}") from None
    except Exception as ex:
        raise _Fatal(f"{type(ex).__name__}: {ex}") from None
    if isinstance(result, CELEvalError):
        raise CELError(str(result.args[0]) if result.args else "error")
    return _from_cel(result)


def _truthy(v: Any) -> bool:
    return bool(v)


# ---- operators ------------------------------------------------------------------------------------

_Fn = Callable[[dict[str, Any]], Any]
_REL = (TypeError,)
_ARITH = (TypeError, ValueError, OverflowError)
_MUL = (TypeError, ZeroDivisionError, ValueError, OverflowError)
_CALL = (ValueError, TypeError, AttributeError)
_INDEX = (TypeError, KeyError, IndexError)


def _int64(v: int) -> int:
    if _INT_MIN <= v <= _INT_MAX:
        return v
    raise CELError("integer overflow")


def _same(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` compare as in Python under cel-python (same CEL kind, no list/map)."""
    ta, tb = type(a), type(b)
    if ta is tb:
        return ta is str or ta is int or ta is bool or ta is float or ta is _PyStr
    return (ta in _STRS and tb in _STRS) or (ta in _INTS and tb in _INTS) or (ta in _FLOATS and tb in _FLOATS)


def _eq(a: Any, b: Any) -> Any:
    if _same(a, b) or (a is None and b is None):
        return a == b
    return _delegate(base_functions["_==_"], (a, b), _REL)


def _ne(a: Any, b: Any) -> Any:
    if _same(a, b) or (a is None and b is None):
        return a != b
    return _delegate(base_functions["_!=_"], (a, b), _REL)


def _ordering(py: Callable[[Any, Any], bool], name: str) -> Callable[[Any, Any], Any]:
    cel = base_functions[name]

    def compare(a: Any, b: Any) -> Any:
        if _same(a, b):
            return py(a, b)
        return _delegate(cel, (a, b), _REL)

    return compare


def _add(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int64(a + b)
    if ta in _STRS and tb in _STRS:
        return _PyStr(a + b)
    if ta in _FLOATS and tb in _FLOATS:
        return _PyFloat(a + b)
    if ta in _LISTS and tb in _LISTS:
        return _PyList(a + b)
    return _delegate(operator.add, (a, b), _ARITH)


def _sub(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int64(a - b)
    if ta in _FLOATS and tb in _FLOATS:
        return _PyFloat(a - b)
    return _delegate(operator.sub, (a, b), _ARITH)


def _mul(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        return _int64(a * b)
    if ta in _FLOATS and tb in _FLOATS:
        return _PyFloat(a * b)
    return _delegate(operator.mul, (a, b), _MUL)


def _div(a: Any, b: Any) -> Any:
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if b == 0:
            raise CELError("divide by zero")
        q = abs(a) // abs(b)
        return _int64(-q if (a < 0) != (b < 0) else q)
    if ta is float and tb is float:
        return math.inf if b == 0.0 else a / b
    return _delegate(operator.truediv, (a, b), _MUL)


def _mod(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        if b == 0:
            raise CELError("modulus by zero")
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return _delegate(operator.mod, (a, b), _MUL)


def _in(item: Any, container: Any) -> Any:
    tc = type(container)
    if tc is list:
        if all(_same(item, c) for c in container):
            return any(c == item for c in container)
    elif tc is dict and type(item) in _STRS:
        if all(type(k) in _STRS for k in container):
            return item in container
    return _delegate(operator_in, (item, container), _REL)


def _neg(a: Any) -> Any:
    t = type(a)
    if t is int:
        return _int64(-a)
    if t is float:
        return -a
    return _delegate(operator.neg, (a,), (TypeError, ValueError))


def _not(a: Any) -> Any:
    if type(a) is bool:
        return not a
    return _delegate(celtypes.logical_not, (a,), (TypeError, ValueError))


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "relation_eq": _eq, "relation_ne": _ne,
    "relation_lt": _ordering(operator.lt, "_<_"), "relation_le": _ordering(operator.le, "_<=_"),
    "relation_gt": _ordering(operator.gt, "_>_"), "relation_ge": _ordering(operator.ge, "_>=_"),
    "relation_in": _in,
    "addition_add": _add, "addition_sub": _sub,
    "multiplication_mul": _mul, "multiplication_div": _div, "multiplication_mod": _mod,
}


# ---- && and || with CEL's commutative error handling -----------------------------------------------

def _absorbable(e: CELError) -> bool:
    return not isinstance(e, (_Thrown, _Fatal))


def _logical_and(x: Any, y: Any) -> Any:
    """celtypes.logical_and on closure values; errors are CELError instances, returned not raised."""
    xb, yb = type(x) is bool, type(y) is bool
    if not xb and not yb:
        return CELError("no matching overload for &&")
    if not xb:
        return x if y else y
    if not yb:
        return y if x else x
    return x and y


def _logical_or(x: Any, y: Any) -> Any:
    xb, yb = type(x) is bool, type(y) is bool
    if not xb and not yb:
        return CELError("no matching overload for ||")
    if not xb:
        return y if y else x
    if not yb:
        return x if x else y
    return x or y


def _value(result: Any) -> Any:
    if isinstance(result, CELError):
        raise result
    return result


def _capture(fn: _Fn, act: dict[str, Any]) -> Any:
    """Evaluate ``fn``; an absorbable error comes back as a value."""
    try:
        return fn(act)
    except CELError as e:
        if not _absorbable(e):
            raise
        return e


# ---- functions and methods ----------------------------------------------------------------------

def _size(args: list[Any]) -> Any:
    if len(args) == 1:
        v = args[0]
        t = type(v)
        if t is str or t is list or t is dict or t is _PyStr or t is _PyList:
            return len(v)
        if v is None:
            return 0
    return _delegate(base_functions["size"], args, _CALL)


def _string_test(name: str, py: Callable[[str, str], bool]) -> Callable[[list[Any]], Any]:
    cel = base_functions[name]

    def call(args: list[Any]) -> Any:
        if len(args) == 2 and type(args[0]) in _STRS and type(args[1]) in _STRS:
            return py(args[0], args[1])
        return _delegate(cel, args, _CALL)

    return call


def _contains(args: list[Any]) -> Any:
    # a _PyStr receiver has no ``contains`` in cel-python: the slow path reproduces that error
    if len(args) == 2 and type(args[0]) is str and type(args[1]) in _STRS:
        return args[1] in args[0]
    return _delegate(base_functions["contains"], args, _CALL)


def _convert(name: str, keep: type, via_str: type | None = None) -> Callable[[list[Any]], Any]:
    """``int``, ``string``, ``bool``: identity on the target type (and ``str()`` of ``via_str``)."""
    cel = base_functions[name]

    def call(args: list[Any]) -> Any:
        if len(args) == 1:
            t = type(args[0])
            if t is keep:
                return args[0]
            if t is via_str:
                return str(args[0])
        return _delegate(cel, args, _CALL)

    return call


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "size": _size,
    "startsWith": _string_test("startsWith", str.startswith),
    "endsWith": _string_test("endsWith", str.endswith),
    "contains": _contains,
    "matches": lambda args: _delegate(base_functions["matches"], args, _CALL),
    "int": _convert("int", int),
    "string": _convert("string", str, int),
    "bool": _convert("bool", bool),
}

_MACROS = frozenset({"exists", "all", "exists_one", "filter", "map"})
_NOT_IN_SUBSET = frozenset({"reduce", "min"})  # cel-python treats these as macros too


def _matches_literal(rx: Regex | None, error: str) -> Callable[[list[Any]], Any]:
    slow = _FUNCTIONS["matches"]

    def call(args: list[Any]) -> Any:
        if type(args[0]) in _STRS:
            if rx is None:
                raise CELError(error)
            return rx.search(args[0])
        return slow(args)

    return call


def _iterate(v: Any) -> Iterator[Any]:
    """What cel-python's macros iterate over: list items, map keys, a string's characters."""
    t = type(v)
    if t is list or t is _PyList or t is dict:
        return iter(v)
    if t in _STRS:
        return (_PyStr(c) for c in v)
    raise _Fatal(f"cannot iterate over {t.__name__}")


# ---- the translator -------------------------------------------------------------------------------

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
            for item in _iterate(target(act)):
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


# ---- entry point ----------------------------------------------------------------------------------

def _interpreted(ast: _Tree) -> Condition:
    """Evaluate with cel-python's interpreter (the subset's fallback, and the reference)."""
    env = celpy.Environment()
    program = env.program(ast)

    def run(activation: Mapping[str, Any]) -> bool:
        try:
            result = program.evaluate({k: json_to_cel(v) for k, v in activation.items()})
        except Exception as ex:
            raise CELError(f"{type(ex).__name__}: {ex}") from None
        if isinstance(result, celtypes.BoolType):
            return bool(result)
        raise CELError(f"condition gave {type(result).__name__}, not bool")

    return run


def compile_condition(expr: str) -> Condition:
    """Compile the CEL condition ``expr`` once; the result evaluates it against plain data.

    Raises CELError when ``expr`` does not parse.  The returned callable raises CELError when an
    evaluation fails or does not give a bool.
    """
    try:
        ast = celpy.Environment().compile(expr)
    except Exception as ex:
        raise CELError(f"CEL expression does not compile: {ex}") from None
    slow = _interpreted(ast)
    try:
        root = _Translator().expr(ast)
    except _Fallback:
        return slow
    except RecursionError:
        return slow

    def condition(activation: Mapping[str, Any]) -> bool:
        act = activation if type(activation) is dict else dict(activation)
        try:
            result = root(act)
        except _Unsupported:
            return slow(activation)
        except RecursionError:
            raise CELError("expression nested too deeply") from None
        if result is True or result is False:
            return result
        raise CELError(f"condition gave {type(result).__name__}, not bool")

    return condition


def in_subset(expr: str) -> bool:
    """Whether ``expr`` compiles to closures (True) or is left to cel-python's interpreter (False)."""
    try:
        _Translator().expr(celpy.Environment().compile(expr))
    except (_Fallback, RecursionError):
        return False
    except Exception:
        return False
    return True
