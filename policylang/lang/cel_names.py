"""The names a CEL ``when`` condition uses, checked against what a condition can see.

A condition sees four variables (``action``, ``effect``, ``env``, ``context``; lang/compile.py
``cel_activation`` builds them) and, on three of them, a fixed set of fields.  A misspelt name,
``acton.cwd`` or ``context.rol``, compiles, then fails on every evaluation, and a failed
condition never applies its rule: the rule is dead and nothing says so.  ``name_problems`` finds
them at check time, with a did-you-mean.  Names bound by a macro (``argv.exists(a, a == "x")``)
are local to it; ``env`` holds the environment, so any field of it is accepted.
"""
from __future__ import annotations

import difflib
from typing import Any, NamedTuple

VARIABLES = ("action", "effect", "env", "context")
FIELDS: dict[str, tuple[str, ...]] = {
    "action": ("kind", "text", "cwd"),
    "effect": ("kind", "program", "argv", "path", "host", "recursive"),
    "context": ("principal", "role", "interactive"),
}
_MACROS = frozenset({"exists", "all", "exists_one", "filter", "map"})


class NameProblem(NamedTuple):
    message: str
    hint: str
    name: str  # the unknown name as written
    line: int  # of the name, in the expression (1-based)
    column: int  # 1-based


def name_problems(expr: str) -> list[NameProblem]:
    """The unknown variables and fields ``expr`` names (empty when it does not parse: the syntax
    error is reported on its own)."""
    import celpy
    import lark

    try:
        tree = celpy.Environment().compile(expr)
    except Exception:
        return []
    bound = _bound_names(tree, lark)
    out: list[NameProblem] = []
    for node in tree.iter_subtrees():
        if node.data == "primary":
            tok = _ident(node, lark)
            if tok is not None and str(tok) not in VARIABLES and str(tok) not in bound:
                guess = _near(str(tok), VARIABLES)
                out.append(NameProblem(
                    f"unknown variable `{tok}` in the condition",
                    (f"did you mean `{guess}`? " if guess else "")
                    + "a condition can name action, effect, env and context", str(tok), tok.line or 1, tok.column or 1))
        elif node.data == "member_dot" and len(node.children) == 2:
            inner, field = node.children
            base = _variable_of(inner, lark)
            if base in FIELDS and isinstance(field, lark.Token) and str(field) not in FIELDS[base]:
                fields = FIELDS[base]
                guess = _near(str(field), fields)
                out.append(NameProblem(
                    f"`{base}` has no field `{field}`",
                    (f"did you mean `{base}.{guess}`? " if guess else "")
                    + f"the fields of {base} are {', '.join(fields)}", str(field), field.line or 1, field.column or 1))
    out.sort(key=lambda p: (p.line, p.column))
    return out


def _ident(primary: Any, lark: Any) -> Any:
    """The identifier token of a ``primary`` that is a bare name, else None."""
    if len(primary.children) != 1:
        return None
    child = primary.children[0]
    if isinstance(child, lark.Tree) and child.data == "ident" and child.children:
        tok = child.children[0]
        return tok if isinstance(tok, lark.Token) else None
    return None


def _variable_of(member: Any, lark: Any) -> str | None:
    """``action`` for the ``member`` node that is just the name ``action``."""
    if not isinstance(member, lark.Tree) or member.data != "member" or len(member.children) != 1:
        return None
    primary = member.children[0]
    if not isinstance(primary, lark.Tree) or primary.data != "primary":
        return None
    tok = _ident(primary, lark)
    return str(tok) if tok is not None else None


def _bound_names(tree: Any, lark: Any) -> set[str]:
    """The names macros bind: the first argument of ``x.exists(a, ...)`` and its kind."""
    out: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data != "member_dot_arg" or len(node.children) < 3:
            continue
        method, args = node.children[1], node.children[2]
        if str(method) not in _MACROS or not isinstance(args, lark.Tree) or not args.children:
            continue
        first = args.children[0]
        names = [t for t in first.iter_subtrees() if t.data == "ident"] if isinstance(first, lark.Tree) else []
        if len(names) == 1 and names[0].children:
            out.add(str(names[0].children[0]))
    return out


def _near(word: str, candidates: tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return close[0] if close else None
