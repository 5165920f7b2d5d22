"""CEL ``when`` conditions compiled to nested Python closures: the entry points.

cel-python parses the expression; the subset policies use is translated into closures that work
on plain Python data (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``), which is
one to two orders of magnitude cheaper than walking the parse tree with cel-python's interpreter on
every evaluation.  Anything outside the subset is evaluated by cel-python, so every condition that
cel-python accepts still works.  The translation is cel_translate.py; what the closures call at
evaluation time, and how it follows cel-python's behaviour, is cel_runtime.py.

Errors: an evaluation that fails raises :class:`CELError`; so does a result that is not a bool, and
an evaluation that exceeds its cost budget (cel_cost.py; a condition too costly even to try is refused
when compiled).
The caller treats that as "the condition does not loosen anything".
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

from .cel_cost import BUDGET_KEY, RUN_BUDGET, Budget, activation_size, estimate, price, static_problem
from .cel_runtime import CELError, _Unsupported

# tests/test_cel.py reaches these through this module.
from .cel_runtime import _PyFloat as _PyFloat
from .cel_runtime import _PyInt as _PyInt
from .cel_runtime import _PyList as _PyList
from .cel_runtime import _PyStr as _PyStr
from .cel_translate import VARIABLES, _Fallback, _Translator, _Tree

__all__ = ["VARIABLES", "CELError", "Condition", "compile_condition", "in_subset"]

Condition = Callable[[Mapping[str, Any]], bool]
"""A compiled condition: takes the activation (plain data), returns the bool or raises CELError."""


# ---- entry point ----------------------------------------------------------------------------------

def _interpreted(ast: _Tree) -> Condition:
    """Evaluate with cel-python's interpreter (the subset's fallback, and the reference).

    cel-python cannot be stopped part way, so an evaluation is priced first with the sizes of its
    activation and refused when the price exceeds the run-time budget."""
    env = celpy.Environment()
    program = env.program(ast)
    poly = estimate(ast)

    def run(activation: Mapping[str, Any]) -> bool:
        if len(poly) > 1:
            cost = price(poly, activation_size(activation))
            if cost > RUN_BUDGET:
                raise CELError(f"the condition exceeded its cost budget (priced at {cost:,} nodes; "
                               f"the budget is {RUN_BUDGET:,})")
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
    problem = static_problem(ast)
    if problem is not None:
        raise CELError(f"CEL expression is too costly: {problem}")
    slow = _interpreted(ast)
    try:
        root = _Translator().expr(ast)
    except _Fallback:
        return slow
    except RecursionError:
        return slow

    def condition(activation: Mapping[str, Any]) -> bool:
        act = dict(activation)
        act[BUDGET_KEY] = Budget()
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
