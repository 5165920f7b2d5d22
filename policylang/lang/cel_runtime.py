"""What compiled CEL closures call when they run: CEL's errors, values, operators and functions on plain data.

The closures follow cel-python's observable behaviour, including where it differs from Python
(no coercion between ``int``, ``double``, ``string`` and ``bool``; 64-bit integer overflow is an
error; ``/`` and ``%`` truncate toward zero; ``&&`` and ``||`` absorb an error on one side when the
other side decides).  Only the common, same-type cases take the fast path; every other operand
combination is handed to cel-python's own operator on converted operands, so the mixed-type cases
agree with it by construction.  Where cel-python's operators return a plain Python value instead
of a CEL value (``'a' + 'b'`` is a ``str``, not a ``StringType``, and has no ``contains``), the
closures keep a marker type so the next operation behaves as cel-python's would.  A value the
closures cannot represent raises ``_Unsupported``: that one evaluation goes to cel-python instead.

This module does not import lark, but it needs cel-python's operators, and ``import celpy``
loads lark.
"""
from __future__ import annotations

import math
import operator
from typing import Any, Callable, Iterator, Sequence

from celpy import celtypes
from celpy.evaluation import CELEvalError, base_functions, operator_in

from ..regex import Regex

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
