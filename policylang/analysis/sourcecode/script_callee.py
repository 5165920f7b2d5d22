"""What a call in a tokenizer language reaches when its callee is not a name chain that resolves.

A call of a name chain (``cp.execSync``, ``$ua->get``) is judged by its name. Any other callee
is followed through what the source shows: the values a variable is bound to (every one, when it
is bound more than once), both arms of a conditional and the operands of ``||``/``&&``/``or``,
the last item of a parenthesised list (``(0, eval)``), literal strings where a string names a
function (``$f = 'system'; $f(...)``, ``('sys' . 'tem')(...)``, ``&$m(...)``), code references
(``\\&CORE::system``). What cannot be followed to a name, or to a function literal of the source
(whose body is analysed where it stands), is opaque: a member looked up by a key known only at
run time (``cp[x](...)``), a variable holding a value known only at run time, the result of an
expression."""

from __future__ import annotations

from typing import Any

from .callee import HARMLESS, MAX_CALLEE_STEPS, Resolution, combine, unknown
from .collector import Out
from .script_values import ScriptReader
from .syntax import Syntax
from .values import RUNTIME, Unknown, as_text

_LOGICAL = frozenset({"||", "&&", "??", "or", "and", "//"})


class ScriptCallees(ScriptReader):
    """Resolution of callees that are not resolvable name chains (see the module's docstring)."""

    def __init__(self, syntax: Syntax, source: str, out: Out, depth: int, parent: ScriptReader | None) -> None:
        super().__init__(syntax, source, out, depth, parent)
        self.all_bindings: dict[str, list[object]] = {}  # name -> every value it is bound to
        self._callee_active: set[tuple[int, int]] = set()
        self._callee_steps = MAX_CALLEE_STEPS
        self._openers: dict[int, int] | None = None

    # -- callees that are chains
    def chain_callee(self, parts: list[tuple[str, Any]], shown: str) -> Resolution:
        """What the callee chain ``parts`` (whose name did not resolve) can be."""
        if not parts:
            return unknown(f"{shown} is not a name")
        kind, val = parts[0]
        if kind == "dynreq":
            return unknown(f"{shown} comes from a module whose name is computed at run time")
        if len(parts) == 1 and kind == "name":
            return self.var_callee(str(val))
        last_kind, last = parts[-1]
        if last_kind == "index":
            raw_key = self.value(*last)
            key = raw_key if isinstance(raw_key, int) and not isinstance(raw_key, bool) else as_text(raw_key)
            if key is None:
                base = self.resolve(parts[:-1])
                if base.name and not base.pending_call and not self._reaches_tables(base.name):
                    return HARMLESS  # a member of an object none of whose members the tables list
                return unknown(f"{shown} is looked up by a key known only at run time")
            return self._member_of(parts[:-1], key, shown)
        if last_kind == "call":
            inner = self.chain_callee(parts[:-1], shown)
            return unknown(f"the function returned by {shown} is not known: {inner.opaque}") if inner.opaque else HARMLESS
        if last_kind == "name" and len(parts) == 2 and parts[0][0] == "name" and self.grammar.colon_pairs:
            # o.f of o = {f: ...}: in the languages of { key: value } objects, a member is a key
            return self._member_of(parts[:-1], str(last), shown, of_object=True)
        return HARMLESS  # a method of a value: judged by its name where it is called

    def _reaches_tables(self, base: str) -> bool:
        """Whether a member of ``base`` may be a call the tables list (``child_process[x]``),
        or ``base`` is the global object, whose members are every global."""
        base = self._lookup_name(base)
        if not base or self.tables.aliases.get(base) == "":
            return True  # the global object: its members are every global
        t = self.tables
        heads = (base + ".", base + "::")
        if any(name.startswith(heads) for name in t.known) or any(p.startswith(heads) or p == base for p, _ in t.prefixes):
            return True
        return any(base == mod or base.startswith(mod + ".") for mod in t.fallback)

    def _member_of(
        self, base: list[tuple[str, Any]], key: str | int, shown: str, of_object: bool = False
    ) -> Resolution:
        """``base[key]`` where ``base`` does not resolve to a name: a member of a literal object.
        ``of_object``: ``base.key``, a method of any value but a literal object's member."""
        if len(base) == 1 and base[0][0] == "name":
            found = self._all(str(base[0][1]))
            if found is not None:
                values, scope = found
                parts: list[Resolution] = []
                for b in values:
                    if isinstance(b, tuple) and len(b) == 2 and isinstance(b[0], int):
                        v = scope.value(int(b[0]), int(b[1]))
                        item: object = None
                        if of_object and not isinstance(v, dict):
                            parts.append(HARMLESS)  # a method of a value: judged by its name
                            continue
                        if of_object and isinstance(v, dict) and key not in v:
                            parts.append(HARMLESS)  # an inherited method (toString...)
                            continue
                        if isinstance(v, dict) and isinstance(key, str):
                            item = v.get(key)
                        elif isinstance(v, tuple) and isinstance(key, int) and -len(v) <= key < len(v):
                            item = v[key]
                        if isinstance(item, Unknown) and item.func:
                            parts.append(HARMLESS)
                            continue
                        if isinstance(item, str) and (self.grammar.callable_strings or str(base[0][1])[:1] in "$@%"):
                            parts.append(Resolution((self._normalise(item),)))
                            continue
                    elif of_object:
                        parts.append(HARMLESS)
                        continue
                    parts.append(unknown(f"{shown} is a member of a value known only at run time"))
                return combine(parts)
        return HARMLESS if of_object else unknown(f"{shown} is a member of a value known only at run time")

    # -- variables
    def _all(self, name: str) -> tuple[list[object], ScriptCallees] | None:
        scope: ScriptReader | None = self
        while scope is not None:
            if isinstance(scope, ScriptCallees) and name in scope.all_bindings:
                return scope.all_bindings[name], scope
            scope = scope.parent
        return None

    def var_callee(self, name: str) -> Resolution:
        """What calling the name or variable ``name`` itself calls."""
        found = self._all(name)
        sigiled = name[:1] in self.syntax.lexer.var_sigils + self.syntax.lexer.hash_sigil
        if found is None:
            if sigiled:
                return unknown(f"{name} holds a function known only at run time")
            return Resolution((self._normalise(name),))
        values, scope = found
        parts: list[Resolution] = []
        for b in values:
            if isinstance(b, tuple) and len(b) == 2 and b[0] == "qual":
                parts.append(Resolution((str(b[1]),)))
            elif isinstance(b, tuple) and len(b) == 2 and isinstance(b[0], int):
                parts.append(scope.expr_callee(int(b[0]), int(b[1]), sigiled))
            elif b is RUNTIME and self.grammar.escaping_functions:
                parts.append(HARMLESS)  # a parameter: a function the tables list is caught where it is passed
            else:
                parts.append(unknown(f"{name} is bound to a value known only at run time"))
        return combine(parts)

    # -- expressions
    def expr_callee(self, a: int, b: int, strings_name_functions: bool) -> Resolution:
        """What the expression ``toks[a:b]``, called, calls. ``strings_name_functions``: a string
        value is the name of the function called (a PHP callable, a Perl symbolic reference)."""
        key = (a, b)
        if key in self._callee_active:
            return HARMLESS  # a cycle adds no value that is not reached another way
        self._callee_steps -= 1
        if self._callee_steps < 0:
            return unknown(f"too many values to follow for {self._slice_text(a, b)}")
        self._callee_active.add(key)
        try:
            return self._expr_callee(a, b, strings_name_functions or self.grammar.callable_strings)
        finally:
            self._callee_active.discard(key)

    def _expr_callee(self, a: int, b: int, strings: bool) -> Resolution:
        toks = self.toks
        b = min(b, len(toks))
        while b > a and toks[b - 1].kind == "op" and toks[b - 1].text == ";":
            b -= 1
        if a >= b:
            return unknown("an empty expression is called")
        shown = self._slice_text(a, b)
        t = toks[a]
        if t.kind == "op" and t.text == "(" and self._close(a) == b - 1:
            items = [(x, y) for x, y in self._split(a + 1, b - 1, frozenset({","})) if x < y]
            return self.expr_callee(*items[-1], strings) if items else unknown(f"{shown} is not a function")
        items = self._split(a, b, frozenset({","}))
        if len(items) > 1:  # (0, eval): the last item
            last = [(x, y) for x, y in items if x < y]
            return self.expr_callee(*last[-1], strings) if last else unknown(f"{shown} is not a function")
        q = self._top_level(a, b, frozenset({"?"}))
        if q is not None:
            colon = self._ternary_colon(q + 1, b)
            if colon is None:
                return unknown(f"{shown} is a value known only at run time")
            return combine([self.expr_callee(q + 1, colon, strings), self.expr_callee(colon + 1, b, strings)])
        operands = self._split_any(a, b, _LOGICAL)
        if len(operands) > 1:
            return combine([self.expr_callee(x, y, strings) for x, y in operands])
        g = self.grammar
        if (g.arrow_functions and self._top_level(a, b, frozenset({"=>"})) is not None) or (
            t.kind == "id" and t.text in ("function", "async", "sub", "fn", "lambda", "proc")
        ):
            return HARMLESS  # a function literal: its body is analysed where it stands
        if (
            g.reference_op
            and g.code_deref
            and t.text == g.reference_op
            and b - a == 3
            and toks[a + 1].text == g.code_deref
            and toks[a + 2].kind == "id"
        ):
            return Resolution((self._normalise(toks[a + 2].text),))  # \&CORE::system
        v = self.value(a, b)
        if isinstance(v, Unknown) and v.func:
            return HARMLESS  # a function literal: its body is analysed where it stands
        if isinstance(v, (str, bytes)):
            text = as_text(v) or ""
            return Resolution((self._normalise(text),)) if strings and text else HARMLESS
        if isinstance(v, tuple):
            return unknown(f"{shown} is a list called as a function") if strings else HARMLESS
        if not isinstance(v, Unknown):
            return HARMLESS  # a number, a hash or a constant: not a function
        if t.kind in ("id", "var"):
            chain = self._chain(a, b)
            if chain is not None and chain.end == b:
                res = self.resolve(chain.parts)
                if res.name is not None:
                    return Resolution((res.name,))
                if len(chain.parts) == 1 and t.kind == "var":
                    return self.var_callee(t.text)
                return self.chain_callee(chain.parts, shown)
        return unknown(f"{shown} is a value known only at run time")

    def _top_level(self, a: int, b: int, ops: frozenset[str]) -> int | None:
        """The index of the first top-level operator of ``ops`` in ``toks[a:b]``."""
        i = a
        while i < b:
            t = self.toks[i]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                i = self._close(i) + 1
                continue
            if t.kind == "op" and t.text in ops:
                return i
            i += 1
        return None

    def _ternary_colon(self, a: int, b: int) -> int | None:
        """The ":" that ends the first arm of a conditional whose "?" is just before ``a``."""
        depth = 0
        i = a
        while i < b:
            t = self.toks[i]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                i = self._close(i) + 1
                continue
            if t.kind == "op" and t.text == "?":
                depth += 1
            elif t.kind == "op" and t.text == ":":
                if depth == 0:
                    return i
                depth -= 1
            i += 1
        return None

    def _split_any(self, a: int, b: int, seps: frozenset[str]) -> list[tuple[int, int]]:
        """Split ``toks[a:b]`` at top-level operators or words of ``seps``."""
        parts: list[tuple[int, int]] = []
        start = i = a
        while i < b:
            t = self.toks[i]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                i = self._close(i) + 1
                continue
            if t.kind in ("op", "id") and t.text in seps:
                parts.append((start, i))
                start = i + 1
            i += 1
        parts.append((start, b))
        return [(x, y) for x, y in parts if x < y]

    # -- callees that are not chains
    def group_callee(self, i: int) -> tuple[Resolution, str] | None:
        """When the "(" at ``toks[i]`` calls something that is not a name chain (``(0, eval)(x)``,
        ``&{\\&CORE::system}(...)``, ``$h{$k}->(...)``, ``'system'(...)``, ``[f, g][0](...)``):
        what it calls and how to show it; None when it is not such a call."""
        if i == 0:
            return None
        toks, g = self.toks, self.grammar
        p = toks[i - 1]
        if p.kind == "str" and g.callable_strings and not p.dyn:
            before = toks[i - 2] if i >= 2 else None
            if before is None or (before.kind == "op" and before.text not in frozenset({")", "]"}) | self.members):
                return Resolution((self._normalise(p.text),)), repr(p.text)
            return None
        if p.kind != "op":
            return None
        if p.text == ")" or (p.text == "}" and g.code_deref):
            o = self._opener(i - 1)
            if o is None:
                return None
            before = toks[o - 1] if o > 0 else None
            if p.text == "}":
                if before is not None and before.kind == "op" and before.text == g.code_deref:
                    shown = f"{g.code_deref}{{{self._slice_text(o + 1, i - 1)}}}"
                    return self.expr_callee(o + 1, i - 1, True), shown
                return None
            if (
                before is None
                or (before.kind == "op" and before.text not in frozenset({")", "]", "}"}) | self.members)
                or (before.kind == "id" and before.text in g.keywords)  # then (f or g)(...)
            ):
                return self.expr_callee(o + 1, i - 1, False), f"({self._slice_text(o + 1, i - 1)})"
            return None
        if p.text in self.members and g.member_calls and i >= 2 and toks[i - 2].text in ("}", "]"):
            o = self._opener(i - 2)
            start = o - 1 if o is not None and o > 0 else i - 2
            shown = self._slice_text(start, i - 1)
            return unknown(f"{shown} is looked up at run time"), shown
        if p.text == "]" and g.index_brackets:
            o = self._opener(i - 1)
            if o is None or o == 0 or toks[o].space or toks[o - 1].text != "]":
                return None
            o2 = self._opener(o - 1)
            if o2 is None or (o2 > 0 and toks[o2 - 1].kind in ("id", "var", "str")):
                return None  # an index of a name chain: the chain's call
            shown = self._slice_text(o2, i)
            items = [(x, y) for x, y in self._split(o2 + 1, o - 1, frozenset({","})) if x < y]
            key = self.value(o + 1, i - 1)
            if isinstance(key, int) and not isinstance(key, bool) and -len(items) <= key < len(items):
                return self.expr_callee(*items[key], False), shown
            return combine([self.expr_callee(x, y, False) for x, y in items]), shown
        return None

    def _opener(self, close: int) -> int | None:
        """The index of the bracket that ``toks[close]`` closes."""
        if self._openers is None:
            self._openers = {m: j for j, m in enumerate(self.match) if m >= 0}
        return self._openers.get(close)
