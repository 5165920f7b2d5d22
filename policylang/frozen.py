"""Immutable value classes that are cheap to build and cheap to define.

``@dataclass(frozen=True, slots=True)`` has two costs that matter here: building an instance sets
each field through ``object.__setattr__`` (about 0.3 µs a field on Python 3.11, so a seven-field
reason took 2.5 µs), and defining a class generates half a dozen functions (about a millisecond a
class at every process start, which the CLI pays once per action).

Two decorators make the same kind of value class from the class's annotations (constant defaults
only, no factories; a field without a default may not follow one with a default):

- ``frozen``: public slots, read at slot speed; ``__init__`` stores through the slots' descriptors,
  which bypasses the class's refusing ``__setattr__``.  For objects read in loops (effects, the
  command catalog's models).
- ``record``: private slots behind read-only properties; ``__init__`` stores with plain attribute
  writes, about three times cheaper again, at the price of a property call (~75 ns) per read.  For
  objects built on every decision and read a few times (actions, reasons, verdicts).

Each ``__init__`` is one compiled body per arity, renamed for the class; a CLI or hook process
keeps the bodies it compiled in the private cache (``keep_compiled``), so a warm start compiles none.

Both give the class ``__eq__`` and ``__hash__`` over the fields (instances of other classes are not
equal), a dataclass-like ``repr``, pickling, and ``replace`` (this module's).  Assigning a field
raises ``FrozenInstanceError`` (``frozen``) or ``AttributeError`` (``record``).
"""
from __future__ import annotations

import operator
from types import CodeType, FunctionType
from typing import Any, TypeVar, dataclass_transform

T = TypeVar("T")

FIELDS = "__record_fields__"  # the class attribute naming the fields, in order


def _fields(cls: type) -> tuple[list[str], dict[str, Any]]:
    """The annotated fields of ``cls`` and its bases, in order, and their defaults."""
    names: list[str] = []
    defaults: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, annotation in klass.__dict__.get("__annotations__", {}).items():
            if name.startswith("_") or name in names or "ClassVar" in str(annotation):
                continue
            names.append(name)
            if name in klass.__dict__ and not isinstance(klass.__dict__[name], property):
                defaults[name] = klass.__dict__[name]
    return names, defaults


_INIT_CODE: dict[tuple[bool, int], CodeType] = {}
_INIT_STATE = {"kept": False, "new": False}  # the kept bodies looked for yet; one compiled here since
_INITS_ENTRY = "frozen-inits"
_INITS_FORMAT = "1"  # bump when the template source changes


def _init_source(public: bool, n: int) -> str:
    body = [f"    _set{i}(self, a{i})" if public else f"    self._a{i} = a{i}" for i in range(n)]
    return f"def __init__(self{''.join(f', a{i}' for i in range(n))}):\n" + ("\n".join(body) or "    pass") + "\n"


def _init_code(public: bool, n: int) -> CodeType:
    """The code of an ``__init__`` that stores ``n`` arguments: through the setters ``_set0`` ...
    (public slots), or as ``self._a0`` ... (private slots).  Compiled once per arity and given each
    class's own argument and attribute names with ``CodeType.replace``: compiling an ``__init__`` for
    every class cost about 0.15 ms a class, some 7 ms of a process that defines fifty.  The bodies a
    CLI or hook process compiled are kept in the private cache (``keep_compiled``) and read back by
    the next one, which then compiles none."""
    code = _INIT_CODE.get((public, n))
    if code is None:
        if not _INIT_STATE["kept"]:
            _INIT_STATE["kept"] = True
            _load_kept()
            code = _INIT_CODE.get((public, n))
    if code is None:
        namespace: dict[str, Any] = {}
        exec(_init_source(public, n), namespace)  # noqa: S102 - the source is built from numbers only
        code = _INIT_CODE[(public, n)] = namespace["__init__"].__code__
        _INIT_STATE["new"] = True
    return code


def _inits_key() -> str:
    import sys

    from .cache import key_of

    return key_of(_INITS_ENTRY, _INITS_FORMAT, sys.version, _init_source(True, 1), _init_source(False, 1))


def _valid_init(public: bool, n: int, code: object) -> bool:
    """Is ``code`` what ``_init_source(public, n)`` compiles to, as far as its names and arguments
    show (the entry is sealed by the cache; this catches an entry of another layout)?"""
    names = tuple(f"_set{i}" for i in range(n)) if public else tuple(f"_a{i}" for i in range(n))
    return (isinstance(code, CodeType) and code.co_argcount == n + 1 and code.co_kwonlyargcount == 0
            and code.co_varnames == ("self", *(f"a{i}" for i in range(n))) and code.co_names == names)


def _load_kept() -> None:
    """Add the bodies kept by an earlier process, if the cache holds them; never creates the cache
    directory or its key (importing a module must leave no trace)."""
    import marshal

    from .cache import load_bytes

    try:
        payload = load_bytes(_INITS_ENTRY, _inits_key(), create=False)
        kept = marshal.loads(payload) if payload is not None else None
    except (ValueError, EOFError, TypeError, OSError):
        return
    if not isinstance(kept, dict):
        return
    for k, code in kept.items():
        if (isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], bool) and isinstance(k[1], int)
                and _valid_init(k[0], k[1], code)):
            _INIT_CODE.setdefault(k, code)


def keep_compiled() -> None:
    """Keep the ``__init__`` bodies of this process in the private cache when it compiled one that
    was not kept (the CLI calls this as it exits)."""
    if not _INIT_STATE["new"]:
        return
    import marshal

    from .cache import store_bytes

    _INIT_STATE["new"] = False
    store_bytes(_INITS_ENTRY, _inits_key(), marshal.dumps(dict(_INIT_CODE)))


def _build(cls: type, public: bool, extra: dict[str, Any]) -> Any:
    """The value class for ``cls``: slots (public, or private ``_name``), ``extra`` attributes, the
    comparison methods, and a generated ``__init__`` that stores each field."""
    names, defaults = _fields(cls)
    for i, name in enumerate(names):
        if name not in defaults and any(n in defaults for n in names[:i]):
            raise TypeError(f"{cls.__name__}.{name}: a field without a default after one with a default")
    attrs: dict[str, Any] = {k: v for k, v in cls.__dict__.items()
                             if k not in names and k not in ("__dict__", "__weakref__")}
    attrs["__slots__"] = tuple(names) if public else tuple(f"_{n}" for n in names)
    attrs[FIELDS] = tuple(names)
    attrs["__match_args__"] = tuple(names)  # positional patterns in `match`, as a dataclass allows
    for dunder, impl in _VALUE_METHODS:
        attrs.setdefault(dunder, impl)
    if not public:
        for name in names:
            attrs[name] = property(operator.attrgetter(f"_{name}"), doc=f"the {name} field")
    attrs.update(extra)
    new = type(cls.__name__, cls.__bases__, attrs)
    setters = {f"_set{i}": new.__dict__[name].__set__ for i, name in enumerate(names)} if public else {}
    code = _init_code(public, len(names))
    code = code.replace(co_varnames=("self", *names), co_qualname=f"{cls.__qualname__}.__init__",
                        co_names=code.co_names if public else tuple(f"_{n}" for n in names))
    init = FunctionType(code, setters, "__init__", tuple(defaults[n] for n in names if n in defaults) or None)
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    setattr(new, "__init__", init)
    new.__qualname__ = cls.__qualname__
    new.__module__ = cls.__module__
    return new


@dataclass_transform(frozen_default=True)
def frozen(cls: type[T]) -> type[T]:
    """An immutable value class with public slots (see the module docstring)."""
    new: type[T] = _build(cls, True, {"__setattr__": _refuse_set, "__delattr__": _refuse_delete})
    return new


@dataclass_transform(frozen_default=True)
def record(cls: type[T]) -> type[T]:
    """An immutable value class with private slots behind read-only properties (see the module docstring)."""
    new: type[T] = _build(cls, False, {})
    return new


def _values(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, n) for n in getattr(obj, FIELDS))


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(_values(self))


def _repr(self: Any) -> str:
    return f"{type(self).__qualname__}(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in getattr(self, FIELDS)) + ")"


def _reduce(self: Any) -> tuple[Any, ...]:
    return (type(self), _values(self))


_VALUE_METHODS = (("__eq__", _eq), ("__hash__", _hash), ("__repr__", _repr), ("__reduce__", _reduce))


def value_methods(cls: type[T]) -> type[T]:
    """Give a hand-written class that names its fields in ``__record_fields__`` the value classes'
    equality, hash, ``repr`` and pickling, each where the class does not define its own (a class
    that sets ``__hash__ = None`` stays unhashable)."""
    for dunder, impl in _VALUE_METHODS:
        if dunder not in cls.__dict__:
            setattr(cls, dunder, impl)
    return cls


def _refuse_set(self: Any, name: str, value: Any) -> None:
    from dataclasses import FrozenInstanceError  # only on the error path: dataclasses costs ~10 ms to import

    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_delete(self: Any, name: str) -> None:
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot delete field {name!r}")


def replace(obj: T, **changes: Any) -> T:
    """A copy of a value class of this module (or of a dataclass) with some fields changed."""
    names = getattr(obj, FIELDS, None)
    if names is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    return type(obj)(*(changes[n] if n in changes else getattr(obj, n) for n in names))
