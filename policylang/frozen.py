"""Immutable value classes that are cheap to build.

A ``@dataclass(frozen=True, slots=True)`` sets each field in ``__init__`` through
``object.__setattr__``, which costs about 0.3 µs per field on Python 3.11: a seven-field reason
takes 2.5 µs to build, five times a plain slotted class.  The decide path builds several such
objects per decision, and shell analysis builds one per effect and segment.

``frozen`` makes the same dataclass (same fields, defaults, ``__eq__``, ``__hash__``, ``__repr__``,
``replace``, pickling; assignment still raises ``FrozenInstanceError``) and replaces only its
``__init__`` by one that stores each field through its slot descriptor, which bypasses the
frozen ``__setattr__`` without weakening it for anyone else.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, TypeVar, dataclass_transform

T = TypeVar("T")

_NO_VALUE: Any = object()  # marks "use the default factory" in a generated signature


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def frozen(cls: type[T]) -> type[T]:
    """``@dataclass(frozen=True, slots=True)`` with a fast ``__init__`` (see the module docstring)."""
    return fast_init(dataclasses.dataclass(frozen=True, slots=True)(cls))


def fast_init(cls: type[T]) -> type[T]:
    """Replace a frozen, slotted dataclass's ``__init__`` by one that sets slots directly."""
    params = dataclasses.__dict__["_FIELDS"]
    if not hasattr(cls, params) or not getattr(cls, "__slots__", None):
        raise TypeError(f"{cls.__name__}: fast_init needs a slotted dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: fast_init does not run __post_init__")
    namespace: dict[str, Any] = {"_NO_VALUE": _NO_VALUE}
    args: list[str] = []
    body: list[str] = []
    for i, f in enumerate(dataclasses.fields(cls)):  # type: ignore[arg-type]
        if f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: fast_init does not handle keyword-only fields")
        setter = f"_set{i}"
        namespace[setter] = cls.__dict__[f.name].__set__  # the slot's member descriptor
        has_default = f.default is not dataclasses.MISSING
        factory: Callable[[], Any] | None = (
            f.default_factory if f.default_factory is not dataclasses.MISSING else None)
        if factory is not None:
            namespace[f"_factory{i}"] = factory
        if has_default:
            namespace[f"_default{i}"] = f.default
        if not f.init:
            value = f"_factory{i}()" if factory is not None else f"_default{i}"
        elif factory is not None:
            args.append(f"{f.name}=_NO_VALUE")
            value = f"_factory{i}() if {f.name} is _NO_VALUE else {f.name}"
        else:
            args.append(f"{f.name}=_default{i}" if has_default else f.name)
            value = f.name
        body.append(f"    {setter}(self, {value})")
    source = f"def __init__(self, {', '.join(args)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(source, namespace)  # noqa: S102 - the source is built above from field names only
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls
