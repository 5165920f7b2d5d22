"""Token slices of a tokenizer language read as values and as name chains resolved to names.

Bracket matching, slicing at separators, the values of slices made of literals, and name chains
(``require('child_process').execSync``, ``$ua->get``, ``FileUtils.rm_rf``) resolved through the
names bound in the source."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .collector import Out
from .findings import MAX_VALUE, MAX_VALUE_DEPTH
from .lexer import Tok
from .syntax import Syntax
from .tables import apply_aliases
from .values import AMBIGUOUS, MISSING, Missing, Unknown, Value, as_text, decode, size_of

STATEMENT_KEYWORDS = frozenset("if unless while until or and do then rescue foreach for".split())
_LITERAL_IDS = {
    "true": True,
    "false": False,
    "null": None,
    "undefined": None,
    "nil": None,
    "TRUE": True,
    "FALSE": False,
    "NULL": None,
    "True": True,
    "False": False,
}


@dataclass(slots=True)
class Chain:
    """A name chain: ("name", text) | ("require", module) | ("dynreq", args) | ("call", args) |
    ("index", slice) | ("tmpl", token) parts."""

    parts: list[tuple[str, Any]]
    end: int
    starts: list[int] = field(default_factory=list)  # token index where each part starts


@dataclass(slots=True)
class Resolved:
    name: str | None
    pending_call: bool = False  # the chain ended with a call (its result, not the function)
    recv: Value | Missing = MISSING  # the first argument of the last call in the chain
    const: Value | Missing = MISSING  # the name is a variable holding a literal


class ScriptReader:
    """The tokens of one source in a tokenizer language, read as values and name chains."""

    def __init__(self, syntax: Syntax, source: str, out: Out, depth: int, parent: ScriptReader | None) -> None:
        self.syntax = syntax
        self.grammar = syntax.grammar
        self.lang = syntax.name
        self.source = source
        self.out = out
        self.depth = depth
        self.parent = parent
        self.tables = out.config.langs[self.lang]
        self.members = self.grammar.member_ops
        self.concat = self.grammar.concat_op
        self.toks: list[Tok] = []
        self.match: list[int] = []
        self.bindings: dict[str, object] = {}  # name -> (a, b) slice | ("qual", str) | AMBIGUOUS | RUNTIME
        self.targets: set[int] = set()  # where a name that an assignment binds stands
        self.bound_values: set[tuple[int, int]] = set()  # the slices assignments bind names to
        self.invoked: set[int] = set()  # where a function that pcall(f, ...) calls starts
        self.modules: set[str] = set()  # modules required/imported anywhere
        self._memo: dict[str, Resolved] = {}
        self._active: set[str] = set()
        self.decoded = False  # set when a decoder call on a literal was folded


    def _brackets(self) -> list[int]:
        """For each opening bracket the index of its closer (len(toks) when unclosed)."""
        n = len(self.toks)
        match = [-1] * n
        stack: list[int] = []
        pairs = {")": "(", "]": "[", "}": "{"}
        for i, t in enumerate(self.toks):
            if t.kind != "op":
                continue
            if t.text in ("(", "[", "{"):
                stack.append(i)
            elif t.text in pairs:
                while stack and self.toks[stack[-1]].text != pairs[t.text]:
                    match[stack.pop()] = i  # a stray closer: close what is open
                if stack:
                    match[stack.pop()] = i
        for i in stack:
            match[i] = n
        return match

    def _close(self, i: int) -> int:
        m = self.match[i]
        return m if m >= 0 else len(self.toks)

    # -- slices
    def _split(self, a: int, b: int, seps: frozenset[str]) -> list[tuple[int, int]]:
        """Split toks[a:b] at top-level separators."""
        parts: list[tuple[int, int]] = []
        start = i = a
        while i < b:
            t = self.toks[i]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                i = self._close(i) + 1
                continue
            if t.kind == "op" and t.text in seps:
                parts.append((start, i))
                start = i + 1
            i += 1
        parts.append((start, min(b, len(self.toks))))
        self.out.budget.steps -= b - a
        return parts

    def _stmt_end(self, a: int, stop_comma: bool) -> int:
        """Where the expression starting at toks[a] ends."""
        n = len(self.toks)
        i = a
        while i < n:
            t = self.toks[i]
            if t.kind == "op":
                if t.text in ("(", "[", "{"):
                    i = self._close(i) + 1
                    continue
                if t.text in (";", ")", "]", "}") or (stop_comma and t.text == ","):
                    return i
            elif t.kind == "id" and t.text in STATEMENT_KEYWORDS and i > a and self.grammar.statement_modifiers:
                return i
            i += 1
            self.out.budget.steps -= 1
            if self.out.budget.steps < 0:
                return i
        return n

    def _slice_text(self, a: int, b: int) -> str:
        parts: list[str] = []
        for k, t in enumerate(self.toks[a : min(b, a + 30)]):
            if k and (t.space or t.nl):
                parts.append(" ")
            if t.kind == "str":
                parts.append(repr(t.text) if not t.dyn else f'"{t.text}"')
            elif t.kind == "cmd":
                parts.append(f"`{t.text}`")
            else:
                parts.append(t.text)
        text = "".join(parts)
        return text if len(text) <= 80 and b - a <= 30 else text[:79] + "…"

    # -- values
    def value(self, a: int, b: int, depth: int = 0) -> Value:
        """The value of the expression toks[a:b] when it is made of literals."""
        toks = self.toks
        if a >= b:
            return Unknown("")
        if depth > MAX_VALUE_DEPTH:
            return Unknown(self._slice_text(a, b))
        t = toks[a]
        if t.kind == "op" and t.text == "(" and self._close(a) == b - 1:
            items = self._split(a + 1, b - 1, frozenset({","}))
            if len(items) > 1:
                return self._list(items, depth)
            return self.value(a + 1, b - 1, depth + 1)
        parts = self._split(a, b, frozenset({self.concat}))
        if len(parts) > 1:
            values = [self.value(x, y, depth + 1) for x, y in parts]
            if sum(size_of(v) for v in values) > MAX_VALUE:
                return Unknown(self._slice_text(a, b), stringy=True)
            if all(isinstance(v, (str, bytes)) for v in values):
                joined = "".join(as_text(v) or "" for v in values)
                return joined if len(joined) <= MAX_VALUE else Unknown(self._slice_text(a, b), stringy=True)
            if all(isinstance(v, tuple) for v in values):
                return tuple(x for v in values if isinstance(v, tuple) for x in v)
            stringy = any(isinstance(v, str) or (isinstance(v, Unknown) and v.stringy) for v in values)
            return Unknown(self._slice_text(a, b), stringy=stringy)
        if b - a == 1:
            return self._atom(t)
        g = self.grammar
        if (
            g.arrow_functions
            and self._has_arrow(a, b)  # at the top level: an object holding a function is an object
            or (t.kind == "id" and t.text in ("function", "async", "lambda", "proc", "sub", "fn"))
        ):
            return Unknown(self._slice_text(a, b), func=True)
        if t.kind == "op" and t.text == "[" and self._close(a) == b - 1:
            items = self._split(a + 1, b - 1, frozenset({","}))
            if g.map_brackets and any(self._has_arrow(x, y) for x, y in items):
                return self._dict(items, depth)
            return self._list(items, depth)
        if t.kind == "op" and t.text == "{" and self._close(a) == b - 1:
            items = self._split(a + 1, b - 1, frozenset({","}))
            if g.brace_tables:
                return self._table(items, depth)
            return self._dict(items, depth)
        if (
            t.kind == "id"
            and g.array_function
            and t.text.lower() == g.array_function
            and b - a >= 3
            and toks[a + 1].text == "("
            and self._close(a + 1) == b - 1
        ):
            items = self._split(a + 2, b - 1, frozenset({","}))
            if any(self._has_arrow(x, y) for x, y in items):
                return self._dict(items, depth)
            return self._list(items, depth)
        if t.kind == "id" and t.text in g.declarators:
            return Unknown(self._slice_text(a, b))
        if t.kind == "op" and g.reference_op and t.text == g.reference_op:
            return self.value(a + 1, b, depth + 1)
        chain = self._chain(a, b)
        if chain is not None and chain.end == b and chain.parts and chain.parts[-1][0] == "call":
            args = chain.parts[-1][1]
            if len(chain.parts) >= 3 and chain.parts[-2] == ("name", "toString") and not args:
                inner = self.value(a, chain.starts[-2], depth + 1)  # Buffer.from(...).toString()
                return as_text(inner) if isinstance(inner, bytes) else inner
            res = self.resolve(chain.parts[:-1])
            if res.name is not None and res.name in self.tables.transparent:
                idx = int(self.tables.transparent[res.name])
                return (
                    self.value(args[idx][0], args[idx][1], depth + 1)
                    if idx < len(args)
                    else Unknown(self._slice_text(a, b))
                )
            if res.name is not None and res.name in self.tables.decoders and args:
                first = self.value(args[0][0], args[0][1], depth + 1)
                extra = self.value(args[1][0], args[1][1], depth + 1) if len(args) > 1 else MISSING
                decoded = decode(self.tables.decoders[res.name], first, extra)
                if decoded is None:
                    return Unknown(self._slice_text(a, b), stringy=True)
                if self.tables.decoders[res.name] != "buffer" or as_text(extra) not in (None, "utf8", "utf-8"):
                    self.decoded = True
                return decoded
        if t.kind == "op" and t.text == "-" and b - a == 2 and toks[a + 1].kind == "num":
            v = self._atom(toks[a + 1])
            return -v if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        return Unknown(self._slice_text(a, b))

    def _has_arrow(self, a: int, b: int) -> bool:
        return len(self._split(a, b, frozenset({"=>"}))) > 1

    def _list(self, items: list[tuple[int, int]], depth: int) -> Value:
        out: list[Value] = []
        for x, y in items:
            if x >= y:
                continue
            if self.toks[x].kind == "op" and self.toks[x].text in self.grammar.list_splats:
                inner = self.value(x + 1, y, depth + 1)
                if isinstance(inner, tuple):
                    out.extend(inner)
                else:
                    out.append(Unknown(self._slice_text(x, y)))
                continue
            v = self.value(x, y, depth + 1)
            if isinstance(v, tuple) and self.grammar.flat_lists:
                out.extend(v)  # Perl lists flatten
            else:
                out.append(v)
        return tuple(out)

    def _dict(self, items: list[tuple[int, int]], depth: int) -> Value:
        out: dict[str, Value] = {}
        for x, y in items:
            if x >= y:
                continue
            if self.grammar.colon_pairs:  # { key: value }, where the value may be an arrow function
                pair = self._split(x, y, frozenset({":"}))
                if len(pair) != 2:
                    pair = self._split(x, y, frozenset({"=>"}))
            else:
                pair = self._split(x, y, frozenset({"=>"}))
            if len(pair) != 2:
                kt = self.toks[x]
                if y - x == 1 and kt.kind == "id":  # JS shorthand { recursive }
                    out[kt.text] = self._atom(kt)
                    continue
                if self.grammar.skip_unpaired_items and len(pair) == 1:
                    continue
                out["…"] = Unknown(self._slice_text(x, y))
                continue
            (ka, kb), (va, vb) = pair
            if kb - ka == 1 and self.toks[ka].kind in ("id", "str", "num") and not self.toks[ka].dyn:
                key = self.toks[ka].text
            else:
                kv = self.value(ka, kb, depth + 1)
                key_text = as_text(kv)
                if key_text is None:
                    continue
                key = key_text
            out[key] = self.value(va, vb, depth + 1)
        return out

    def _table(self, items: list[tuple[int, int]], depth: int) -> Value:
        """A table constructor's items (``{a, b}``, ``{k = v, ["k"] = v}``): a list when no item is
        ``key = value``, else a map (a positional item is keyed by its position, from 1)."""
        items = [(x, y) for x, y in items if x < y]
        pairs = [self._split(x, y, frozenset({"="})) for x, y in items]
        if all(len(p) == 1 for p in pairs):
            return self._list(items, depth)
        out: dict[str, Value] = {}
        for k, ((x, y), pair) in enumerate(zip(items, pairs), 1):
            if len(pair) != 2:
                out[str(k)] = self.value(x, y, depth + 1)
                continue
            (ka, kb), (va, vb) = pair
            kt = self.toks[ka]
            key: str | None = None
            if kb - ka == 1 and kt.kind == "id":
                key = kt.text
            elif kt.kind == "op" and kt.text == "[" and self._close(ka) == kb - 1:
                kv = self.value(ka + 1, kb - 1, depth + 1)
                key = str(kv) if isinstance(kv, int) and not isinstance(kv, bool) else as_text(kv)
            if key is None:
                out["…"] = Unknown(self._slice_text(x, y))
                continue
            out[key] = self.value(va, vb, depth + 1)
        return out

    def _atom(self, t: Tok) -> Value:
        if t.kind == "str":
            return Unknown(f'"{t.text}"'[:80], stringy=True) if t.dyn else t.text
        if t.kind == "cmd":
            return Unknown(f"`{t.text}`"[:80], stringy=True)
        if t.kind == "words":
            return tuple(t.words)
        if t.kind == "num":
            text = t.text.replace("_", "")
            try:
                return int(text, 0)
            except ValueError:
                try:
                    return float(text)
                except ValueError:
                    return Unknown(t.text)
        if t.kind in ("id", "var"):
            if t.kind == "id" and t.text in _LITERAL_IDS:
                return _LITERAL_IDS[t.text]
            res = self._binding(t.text)
            if not isinstance(res.const, Missing):
                return res.const
            return Unknown(t.text)
        return Unknown(t.text)

    # -- chains and names
    def _chain(self, i: int, limit: int | None = None) -> Chain | None:
        toks, g = self.toks, self.grammar
        n = len(toks) if limit is None else min(limit, len(toks))
        t = toks[i]
        parts: list[tuple[str, Any]] = []
        starts: list[int] = [i]
        if t.kind == "id" and t.text in g.keywords:
            return None
        if (
            t.kind == "id"
            and t.text in g.require_calls
            and g.string_calls
            and i + 1 < n
            and toks[i + 1].kind == "str"
            and not toks[i + 1].dyn
        ):
            parts.append(("require", toks[i + 1].text))  # require "socket"
            i += 2
        elif t.kind == "id" and t.text in g.index_functions and i + 1 < n and toks[i + 1].text == "(":
            inner = self._index_call(i + 1)  # rawget(t, k) is t[k]
            if inner is None:
                parts.append(("name", t.text))
                i += 1
            else:
                parts.extend(inner)
                starts = [i] * len(parts)
                i = self._close(i + 1) + 1
        elif (
            t.kind == "id"
            and t.text in g.require_calls
            and i + 1 < n
            and toks[i + 1].text == "("
        ):
            close = self._close(i + 1)
            args = self._split(i + 2, close, frozenset({","}))
            mod = as_text(self.value(*args[0])) if args and args[0][0] < args[0][1] else None
            parts.append(("require", mod) if mod is not None else ("dynreq", args))
            i = close + 1
        elif t.kind in ("id", "var"):
            if (
                t.kind == "id"
                and t.text in g.constructor_keywords
                and i + 1 < n
                and toks[i + 1].kind == "id"
            ):
                i += 1
                t = toks[i]
            parts.append(("name", t.text))
            i += 1
        else:
            return None
        while i < n:
            t = toks[i]
            if len(starts) < len(parts) + 1:
                starts.append(i)
            else:
                starts[len(parts)] = i
            if t.kind == "op" and t.text in self.members and i + 1 < n:
                nxt = toks[i + 1]
                if nxt.kind == "id":
                    parts.append(("name", nxt.text))
                    i += 2
                    continue
                if nxt.kind == "var" and g.variable_members:
                    parts.append(("index", (i + 1, i + 2)))
                    i += 2
                    continue
                if nxt.kind == "op" and nxt.text == "[" and t.text == "?.":
                    i += 1
                    continue
                if nxt.kind == "op" and nxt.text == "(" and g.member_calls:  # $code->(...)
                    i += 1
                    continue
                break
            if t.kind == "op" and t.text == "(":
                close = self._close(i)
                parts.append(("call", self._split(i + 1, close, frozenset({","})) if close > i + 1 else []))
                i = close + 1
                continue
            if t.kind == "op" and t.text == "[" and (not t.space or g.index_after_space) and g.index_brackets:
                close = self._close(i)
                parts.append(("index", (i + 1, close)))
                i = close + 1
                continue
            if t.kind == "str" and g.template_tag and not t.space and parts[-1] == ("name", g.template_tag):
                parts.append(("tmpl", t))
                i += 1
                continue
            if g.string_calls and (t.kind == "str" or (t.kind == "op" and t.text == "{")):
                end = i + 1 if t.kind == "str" else min(self._close(i) + 1, n)
                parts.append(("call", [(i, end)]))  # f "text", f { ... }: a call with that one argument
                i = end
                continue
            break
        return Chain(parts, i, starts[: len(parts)])

    def _index_call(self, paren: int) -> list[tuple[str, Any]] | None:
        """The parts of ``t[k]`` for a call ``f(t, k)`` of an index function (Lua rawget) whose
        "(" is at ``paren``; None when its first argument is not a name chain."""
        close = self._close(paren)
        args = self._split(paren + 1, close, frozenset({","})) if close > paren + 1 else []
        if len(args) != 2 or args[0][0] >= args[0][1] or args[1][0] >= args[1][1]:
            return None
        inner = self._chain(args[0][0], args[0][1])
        if inner is None or inner.end != args[0][1]:
            return None
        return [*inner.parts, ("index", args[1])]

    def _normalise(self, name: str) -> str:
        g, lex = self.grammar, self.syntax.lexer
        if g.module_prefix and name.startswith(g.module_prefix):
            name = name[len(g.module_prefix) :]
        if g.case_insensitive_names:
            name = name.lower()
        if lex.namespace_separator:
            name = name.lstrip(lex.namespace_separator)
        if lex.rooted_names and name.startswith("::"):
            name = name[2:]
        return apply_aliases(name, self.tables.aliases)

    def _lookup_name(self, name: str) -> str:
        """The table entry a normalised name stands for (fs-extra falls back to fs)."""
        if name in self.tables.known:
            return name
        for mod, base in self.tables.fallback.items():
            if name.startswith(mod + "."):
                alt = base + name[len(mod) :]
                if alt in self.tables.known:
                    return alt
        return name

    def _binding(self, name: str) -> Resolved:
        """What a bound name refers to: a qualified name, or a literal value."""
        if name in self._memo:
            return self._memo[name]
        if name in self._active:
            return Resolved(None)
        scope: ScriptReader | None = self
        binding: object = None
        while scope is not None:
            if name in scope.bindings:
                binding = scope.bindings[name]
                break
            scope = scope.parent
        if scope is None:
            res = Resolved(name if name[:1] not in "$@%" else None)
            self._memo[name] = res
            return res
        self._active.add(name)
        try:
            if binding is AMBIGUOUS or scope is None:
                res = Resolved(None)
            elif isinstance(binding, tuple) and binding[0] == "qual":
                res = Resolved(str(binding[1]))
            elif isinstance(binding, tuple) and len(binding) == 2 and isinstance(binding[0], int):
                a, b = binding
                chain = scope._chain(a, b) if a < b else None
                if chain is not None and chain.end == b and not (len(chain.parts) == 1 and scope.toks[a].kind == "var"):
                    # an alias of a module or function, or the result of a call (whose value may
                    # be known: a decoder or a transparent wrapper of a literal)
                    res = scope.resolve(chain.parts)
                    wrapped = scope._unwrap(chain)
                    if wrapped is not None:
                        res = wrapped
                    elif res.name is None or chain.parts[-1][0] == "call":
                        res = Resolved(res.name, res.pending_call, res.recv, scope.value(a, b))
                else:
                    res = Resolved(None, const=scope.value(a, b))
            else:
                res = Resolved(None)
        finally:
            self._active.discard(name)
        self._memo[name] = res
        return res

    def _unwrap(self, chain: Chain) -> Resolved | None:
        """``util.promisify(cp.exec)`` is ``cp.exec`` (the wrappers of the language's table)."""
        if len(chain.parts) < 2 or chain.parts[-1][0] != "call" or not chain.parts[-1][1]:
            return None
        outer = self.resolve(chain.parts[:-1])
        if outer.name is None or outer.name not in self.tables.wrappers or outer.pending_call:
            return None
        a, b = chain.parts[-1][1][0]
        inner = self._chain(a, b) if a < b else None
        if inner is None or inner.end != b:
            return None
        res = self.resolve(inner.parts)
        return res if res.name is not None else None

    def resolve(self, parts: list[tuple[str, Any]]) -> Resolved:
        """The qualified name a chain prefix refers to."""
        if not parts:
            return Resolved(None)
        kind, val = parts[0]
        pending = False
        recv: Value | Missing = MISSING
        if kind == "require":
            q: str | None = self._normalise(str(val))
        elif kind == "name":
            res = self._binding(str(val))
            q, pending, recv = res.name, res.pending_call, res.recv
            if q is None and self.grammar.callable_variables and isinstance(res.const, str):
                q = res.const  # $f = 'system'; $f(...)
        else:
            return Resolved(None)
        if q is None:
            return Resolved(None)
        for kind, val in parts[1:]:
            if kind == "name":
                q = f"{q}.{val}"
                pending = False
            elif kind == "index":
                key = as_text(self.value(*val))
                if key is None:
                    return Resolved(None)
                q = f"{q}.{key}"
                pending = False
            elif kind == "call":
                if pending:
                    q = f"{q}()"
                pending = True
                recv = self.value(*val[0]) if val and val[0][0] < val[0][1] else MISSING
            else:
                return Resolved(None)
        return Resolved(self._normalise(q), pending, recv)

