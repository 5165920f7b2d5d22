"""What a callee resolves to (Resolution): the names a call may reach, or why it cannot be known.

Shared by the Python analyser (``python_callee``) and the tokenizer languages' (``script_callee``):
a call is judged by the names its callee resolves to; one whose callee cannot be resolved to a
name, nor to code defined in the source, is opaque, never harmless."""

from __future__ import annotations

from dataclasses import dataclass

MAX_CALLEE_STEPS = 4000  # callee expressions followed per source


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a callee can be: ``names`` it may resolve to (qualified, to be judged by the tables),
    or ``opaque``, why it cannot be known. No names and not opaque: only code defined in the
    source, or values that cannot be called at all."""

    names: tuple[str, ...] = ()
    opaque: str = ""


HARMLESS = Resolution()


def unknown(reason: str) -> Resolution:
    return Resolution(opaque=reason)


def combine(parts: list[Resolution]) -> Resolution:
    """What a callee that may be any of ``parts`` can be: opaque when one of them is."""
    for part in parts:
        if part.opaque:
            return part
    names: list[str] = []
    for part in parts:
        names.extend(n for n in part.names if n not in names)
    return Resolution(tuple(names))
