"""The analyser of the tokenizer languages: the names a token stream binds and the calls they reach.

It tokenizes a source with the language's syntax, finds the names its statements bind
(assignments, ``require``, ``import``, destructuring) and applies the tables to every call of a
known name, with or without parentheses."""

from __future__ import annotations

from typing import Any

from .appliers import Args, dispatch, spread
from .lexer import Lexer, Tok
from .tree_tokens import MAX_INNER, TreeSpec, parse_errors, tree_specs, tree_tokens
from .callee import Resolution
from .script_callee import ScriptCallees
from .script_values import STATEMENT_KEYWORDS, Chain
from .values import AMBIGUOUS, MISSING, RUNTIME, Missing, Unknown, Value, render


class ScriptAnalyser(ScriptCallees):
    """Analysis of the source of a tokenizer language (Node, Perl, Ruby, PHP...) from its tokens."""

    # -- entry
    def run(self) -> None:
        tree = tree_specs().get(self.lang)
        if tree is not None and tree.tokens:
            toks = self._parse(tree)
        else:
            toks = self._lex()
            errors = parse_errors(tree, self.source) if tree is not None else []
            if errors:
                self.out.make_opaque(f"the {self.lang} code does not parse ({'; '.join(errors)})")
        self.toks = self._statements(toks)
        self.match = self._brackets()
        try:
            self._scan_bindings()
            self._scan_calls()
        except RecursionError:
            self.out.make_opaque(f"{self.lang} source is nested too deeply to analyse")

    def _lex(self) -> list[Tok]:
        """The tokens of the source and of the code interpolated into its strings, from the lexer."""
        lexer = Lexer(self.syntax.lexer, self.source, self.out.budget)
        toks = lexer.run()
        self.out.budget.steps -= len(toks)
        if lexer.truncated:
            self.out.make_opaque(f"{self.lang} source is too complex to analyse in full")
        pending = lexer.inner_code  # code interpolated into strings, itself maybe interpolating
        k = 0
        while k < len(pending) and k < MAX_INNER:
            sub = Lexer(self.syntax.lexer, pending[k], self.out.budget)
            k += 1
            sub_toks = sub.run()
            pending.extend(sub.inner_code[: max(0, MAX_INNER - len(pending))])
            if sub_toks:
                toks.append(Tok("op", ";"))
                toks.extend(sub_toks)
        return toks

    def _parse(self, tree: TreeSpec) -> list[Tok]:
        """The same tokens, from the language's tree-sitter parse; code that does not parse is opaque."""
        found = tree_tokens(tree, self.syntax.lexer, self.source, self.out.budget.steps)
        toks = found.toks
        for inner in found.inner:
            if inner:
                toks.append(Tok("op", ";"))
                toks.extend(inner)
        self.out.budget.steps -= len(toks)
        if found.truncated:
            self.out.make_opaque(f"{self.lang} source is too complex to analyse in full")
        if found.errors:
            self.out.make_opaque(f"the {self.lang} code does not parse ({'; '.join(found.errors)})")
        return toks

    def _statements(self, toks: list[Tok]) -> list[Tok]:
        """Turn line breaks that end a statement into ";" (continuation lines stay joined)."""
        if self.grammar.free_form:
            return self._free_form(toks)
        out: list[Tok] = []
        depth = 0
        cont_after = frozenset(
            {
                ",",
                "=",
                "+",
                "-",
                "*",
                "/",
                ".",
                "->",
                "?.",
                "&&",
                "||",
                "and",
                "or",
                "=>",
                "(",
                "[",
                "{",
                "?",
                ":",
                "\\",
                "|",
                "&",
                "::",
                "..",
                "&.",
                "??",
            }
        )
        cont_before = frozenset({".", "?.", "->", "&.", "+", "=>", ")", "]", "}", ",", "&&", "||", "?", ":", "::"})
        for tok in toks:
            if tok.nl and depth == 0 and out and out[-1].text != ";":
                prev = out[-1]
                joined = (
                    (prev.kind == "op" and prev.text in cont_after)
                    or (tok.kind == "op" and tok.text in cont_before)
                    or (  # f\n(...) is a call where a line break ends no statement before "("
                        self.grammar.call_across_lines
                        and tok.kind == "op"
                        and tok.text == "("
                        and (prev.kind in ("id", "var") or prev.text in (")", "]"))
                    )
                )
                if not joined:
                    out.append(Tok("op", ";", space=True))
            if tok.kind == "op":
                if tok.text in ("(", "["):
                    depth += 1
                elif tok.text in (")", "]") and depth:
                    depth -= 1
            out.append(tok)
        return out

    def _free_form(self, toks: list[Tok]) -> list[Tok]:
        """In a free-form language (Lua) line breaks end nothing: a statement ends where a value is
        followed by a name or a keyword that starts a statement (``x = 1 print(x)``); a line that
        starts with "(", a string or "{" continues the one before (a call)."""
        g = self.grammar
        out: list[Tok] = []
        for tok in toks:
            if out and tok.kind in ("id", "var") and (tok.text not in g.keywords or tok.text in g.statement_starts):
                prev = out[-1]
                if (
                    prev.kind in ("str", "num", "var", "cmd")
                    or (prev.kind == "id" and prev.text not in g.keywords)
                    or (prev.kind == "op" and prev.text in (")", "]", "}"))
                ):
                    out.append(Tok("op", ";", space=True))
            out.append(tok)
        return out

    # -- bindings
    def _scan_bindings(self) -> None:
        toks, n, g = self.toks, len(self.toks), self.grammar
        brackets: list[str] = []  # the brackets open around toks[i]
        for i, t in enumerate(toks):
            if t.kind == "op" and t.text in ("(", "[", "{"):
                brackets.append(t.text)
            elif t.kind == "op" and t.text in (")", "]", "}") and brackets:
                brackets.pop()
            prev = toks[i - 1] if i else None
            if t.kind == "id" and t.text in g.unknown_bindings:
                self._runtime_names(i)
                continue
            if g.brace_tables and brackets and brackets[-1] == "{":
                continue  # {key = value}: a table's field, not a variable
            if (
                g.import_statements
                and t.kind == "id"
                and t.text == "import"
                and (i + 1 < n and toks[i + 1].text != "(")
                and (prev is None or prev.text in (";", "{", "}"))
            ):
                self._import_statement(i)
                continue
            if (
                t.kind == "id"
                and t.text in ("require", "import")
                and i + 2 < n
                and toks[i + 1].text == "("
                and toks[i + 2].kind == "str"
            ):
                self.modules.add(self._normalise(toks[i + 2].text))
            if (
                t.kind == "id"
                and t.text in g.destructuring
                and i + 1 < n
                and toks[i + 1].text in ("{", "[")
            ):
                self._destructure(i + 1)
                continue
            if t.kind not in ("id", "var") or i + 1 >= n:
                continue
            if prev is not None and prev.kind == "op" and (prev.text in self.members or prev.text in ("[", "{", "...")):
                continue
            op = toks[i + 1]
            if op.kind != "op":
                continue
            if op.text == "=" and g.multiple_assignment:
                self._assign(i)
            elif op.text == "=":
                end = self._stmt_end(i + 2, stop_comma=g.comma_ends_assignment)
                self._bind(t.text, (i + 2, end))
                self.targets.add(i)
                self.bound_values.add((i + 2, end))
            elif (
                op.text.endswith("=") and op.text not in ("==", "===", "!=", "!==", "<=", ">=", "=>", "=~")
            ) or op.text in ("++", "--"):
                self._bind(t.text, AMBIGUOUS)

    def _assign(self, i: int) -> None:
        """``a, b = x, y`` (with ``toks[i]`` the last name before "="): each name is bound to the
        value at its place; one without a value there is known only at run time."""
        toks = self.toks
        names = [i]
        j = i
        while (
            j >= 2
            and toks[j - 1].kind == "op"
            and toks[j - 1].text == ","
            and toks[j - 2].kind in ("id", "var")
            and not (j >= 3 and toks[j - 3].kind == "op" and toks[j - 3].text in self.members)
        ):
            j -= 2
            names.append(j)
        names.reverse()
        end = self._stmt_end(i + 2, stop_comma=False)
        values = self._split(i + 2, end, frozenset({","}))
        for k, at in enumerate(names):
            self.targets.add(at)
            if k < len(values):
                self._bind(toks[at].text, values[k])
                self.bound_values.add(values[k])
            else:
                self._bind(toks[at].text, AMBIGUOUS)

    def _runtime_names(self, i: int) -> None:
        """The names a keyword of ``unknown_bindings`` introduces hold run-time values: a function's
        parameters (``function t.f(a, b)``) or a loop's variables (``for k, v in ...``)."""
        toks, n = self.toks, len(self.toks)
        j = i + 1
        if toks[i].text != "for" and j < n and toks[j].kind == "id":  # the function's name: a.b:c
            j += 1
            while j + 1 < n and toks[j].kind == "op" and toks[j].text in self.members and toks[j + 1].kind == "id":
                j += 2
        if toks[i].text != "for":
            if j >= n or toks[j].kind != "op" or toks[j].text != "(":
                return
            close = self._close(j)
            names = [toks[a] for a, b in self._split(j + 1, close, frozenset({","})) if b - a == 1]
        else:
            names = []
            j = i + 1
            while j < n and toks[j].kind in ("id", "var"):
                names.append(toks[j])
                if j + 1 < n and toks[j + 1].kind == "op" and toks[j + 1].text == ",":
                    j += 2
                else:
                    break
        for tok in names:
            if tok.kind in ("id", "var"):
                self._bind(tok.text, RUNTIME)

    def _bind(self, name: str, value: object) -> None:
        self.all_bindings.setdefault(name, []).append(value)
        if name in self.bindings:
            self.bindings[name] = AMBIGUOUS
        else:
            self.bindings[name] = value

    def _import_statement(self, i: int) -> None:
        """import X from 'm' / import * as X from 'm' / import { a as b } from 'm' / import 'm'."""
        toks, n = self.toks, len(self.toks)
        end = i + 1
        while end < n and toks[end].text != ";" and not (toks[end].kind == "str" and toks[end - 1].text == "from"):
            end += 1
        if end >= n or toks[end].kind != "str":
            if end < n and toks[end].kind == "str":
                self.modules.add(self._normalise(toks[end].text))
            elif i + 1 < n and toks[i + 1].kind == "str":
                self.modules.add(self._normalise(toks[i + 1].text))
            return
        module = self._normalise(toks[end].text)
        self.modules.add(module)
        j = i + 1
        while j < end - 1:
            t = toks[j]
            if t.kind == "op" and t.text == "*" and j + 2 < end and toks[j + 1].text == "as":
                self._bind(toks[j + 2].text, ("qual", module))
                j += 3
            elif t.kind == "op" and t.text == "{":
                close = self._close(j)
                for a, b in self._split(j + 1, close, frozenset({","})):
                    names = [tk.text for tk in toks[a:b] if tk.kind in ("id", "str")]
                    if not names:
                        continue
                    local = names[-1] if len(names) >= 3 and names[1] == "as" else names[0]
                    self._bind(local, ("qual", f"{module}.{names[0]}" if names[0] != "default" else module))
                j = close + 1
            elif t.kind == "id" and t.text not in ("from", "type", "as"):
                self._bind(t.text, ("qual", module))
                j += 1
            else:
                j += 1

    def _destructure(self, i: int) -> None:
        """const { a, b: c, d = 1 } = <chain> / const [a, b] = ..."""
        toks, n = self.toks, len(self.toks)
        close = self._close(i)
        if close + 1 >= n or toks[close + 1].text != "=":
            return
        end = self._stmt_end(close + 2, stop_comma=True)
        names: list[tuple[str, str]] = []
        if toks[i].text == "{":
            for a, b in self._split(i + 1, close, frozenset({","})):
                if a >= b or toks[a].kind not in ("id", "str"):
                    continue
                key = toks[a].text
                local = key
                if b - a >= 3 and toks[a + 1].text == ":" and toks[a + 2].kind == "id":
                    local = toks[a + 2].text
                names.append((key, local))
        else:
            for a, b in self._split(i + 1, close, frozenset({","})):
                if a < b and toks[a].kind == "id":
                    self._bind(toks[a].text, AMBIGUOUS)
            return
        chain = self._chain(close + 2, end) if close + 2 < end else None
        base = self.resolve(chain.parts).name if chain is not None and chain.end == end else None
        for key, local in names:
            self._bind(local, ("qual", f"{base}.{key}") if base else AMBIGUOUS)

    # -- calls
    def _starts_expression(self, t: Tok) -> bool:
        if t.kind in ("str", "cmd", "var", "words", "num"):
            return True
        if t.kind == "id":
            return t.text not in STATEMENT_KEYWORDS and t.text not in (
                "x",
                "eq",
                "ne",
                "lt",
                "gt",
                "le",
                "ge",
                "cmp",
                "else",
                "elsif",
                "end",
                "in",
                "then",
            )
        return t.kind == "op" and t.text in ("[", "\\", "::") and t.space

    def _scan_calls(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks):
            if self.out.budget.steps < 0:
                self.out.make_opaque(f"{self.lang} source is too complex to analyse in full")
                return
            self.out.budget.steps -= 1
            if t.kind == "cmd":
                what = "backticks"
                if t.dyn:
                    self.out.make_opaque(f"{what} run a command built at run time: `{render(t.text)[:70]}`")
                elif t.text.strip():
                    self.out.command(t.text.strip(), f"{what} run a shell command: {render(t.text)}")
                continue
            if t.kind == "op" and t.text == "(":
                group = self.group_callee(i)
                if group is not None:
                    res, shown = group
                    close = self._close(i)
                    slices = self._split(i + 1, close, frozenset({","})) if close > i + 1 else []
                    self._judge(res, shown, slices)
                continue
            if t.kind not in ("id", "var"):
                continue
            prev = toks[i - 1] if i else None
            if prev is not None and prev.kind == "op" and prev.text in self.members:
                continue
            if prev is not None and prev.kind == "id" and prev.text in ("function", "def", "sub", "class", "module"):
                continue
            chain = self._chain(i)
            if chain is None:
                continue
            if self.grammar.escaping_functions and all(kind in ("name", "index", "require") for kind, _ in chain.parts):
                self._escapes(chain, i)
            self._chain_calls(chain, i)

    def _escapes(self, chain: Chain, start: int) -> None:
        """A function the tables list, or a module they list functions of, named where it is neither
        called nor bound to a name (an argument, a table's item, a returned value), may be called
        where the analysis does not follow it: opaque (``pcall(f, ...)`` and names bound by
        assignment are followed)."""
        if start in self.targets or start in self.invoked or (start, chain.end) in self.bound_values:
            return
        toks = self.toks
        if chain.end < len(toks) and toks[chain.end].text == "=":
            return  # a table's key, or a field assigned to
        if start >= 2 and toks[start - 1].text == "(" and toks[start - 2].text in self.grammar.index_functions:
            return  # rawget(_G, "os"): followed as _G["os"]
        res = self.resolve(chain.parts)
        name = self._lookup_name(res.name) if res.name is not None and not res.pending_call else None
        if name is None:
            return
        shown = self._slice_text(start, chain.end)
        if name in self.tables.known or self._prefix_hit(name):
            self.out.make_opaque(f"{shown} is passed as a value: where it is called is not followed")
        elif self._reaches_tables(name):  # a module the tables list functions of ({os}, f(_G))
            self.out.make_opaque(f"{shown} is passed as a value: what is called on it is not followed")

    def _chain_calls(self, chain: Chain, start: int) -> None:
        parts = chain.parts
        if parts[0][0] == "dynreq":
            self.out.danger(
                f"require() of a module whose name is computed at run time: {self._slice_text(start, chain.end)}"
            )
        for k in range(1, len(parts)):
            kind, val = parts[k]
            if kind == "call":
                self._call(parts[:k], val, start)
            elif kind == "tmpl" and parts[:k] == [("name", self.grammar.template_tag)]:
                tok = val
                if tok.dyn:
                    self.out.make_opaque(f"zx $`...` runs a command built at run time: `{render(tok.text)[:70]}`")
                elif tok.text.strip():
                    self.out.command(tok.text.strip(), f"zx $`...` runs a shell command: {render(tok.text)}")
        if self.grammar.parenless_calls and parts[-1][0] == "name":
            nxt = self.toks[chain.end] if chain.end < len(self.toks) else None
            if nxt is not None and nxt.text == "{" and len(parts) == 1 and parts[0][1] in self.grammar.block_program_calls:
                self._block_program(str(parts[0][1]), chain.end)
                return
            with_args = nxt is not None and self._starts_expression(nxt) and not nxt.nl
            if with_args or len(parts) > 1:  # `system 'ls'`, and `Pathname.new(p).rmtree` with no arguments
                res = self.resolve(parts)
                name = self._lookup_name(res.name) if res.name else None
                if name is not None and (
                    name in self.tables.known
                    or self._prefix_hit(name)
                    or name.rsplit(".", 1)[-1] in self.tables.any_receiver
                ):
                    end = self._stmt_end(chain.end, stop_comma=False) if with_args else chain.end
                    self._call(parts, self._split(chain.end, end, frozenset({","})) if with_args else [], start)

    def _prefix_hit(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") or name.startswith(p + "::") for p, _ in self.tables.prefixes)

    def _args(self, slices: list[tuple[int, int]], recv: Value | Missing) -> Args:
        pos: list[Value] = []
        raw: list[str] = []
        pairs: dict[str, Value] = {}
        open_ended = False
        g = self.grammar
        for a, b in slices:
            if a >= b:
                continue
            t = self.toks[a]
            if g.pair_args and self._has_arrow(a, b):
                d = self._dict([(a, b)], 0)
                if isinstance(d, dict):
                    pairs.update(d)
                continue
            if t.kind == "op" and t.text in ("*", "...", "**") and b - a > 1:
                if spread(self.value(a + 1, b), pos, raw):
                    continue
                open_ended = True
                break
            v = self.value(a, b)
            if g.flat_lists and spread(v, pos, raw):  # Perl flattens lists into the argument list
                continue
            if g.array_sigil and t.kind == "var" and t.text.startswith(g.array_sigil) and isinstance(v, Unknown):
                open_ended = True
                break
            pos.append(v)
            raw.append(" ".join(tk.text for tk in self.toks[a:b]))
        kw: dict[str, Value] = {}
        if pairs:
            pos.append(pairs)
            raw.append("{…}")
            kw = dict(pairs)
        elif pos and isinstance(pos[-1], dict):
            kw = dict(pos[-1])
        return Args(pos, kw, raw, recv, open_ended, False)

    def _run_code(self, code: str, via: str) -> None:
        self.out.nested(self.lang, code, via, self.depth, self)

    def _redispatch(self, name: str, args: Args) -> bool:
        return dispatch(
            self.lang, self._lookup_name(self._normalise(name)), args, self.out, self._run_code, self._redispatch
        )

    def _judge(self, res: Resolution, shown: str, slices: list[tuple[int, int]]) -> None:
        """Apply the tables to the names a callee that is not a name chain resolves to, or make
        the findings opaque when it resolves to none."""
        if res.opaque:
            self.out.make_opaque(f"{shown}(...) cannot be resolved to a known function: {res.opaque}")
            return
        for name in res.names:
            self._redispatch(name, self._args(slices, MISSING))

    def _call(self, callee: list[tuple[str, Any]], slices: list[tuple[int, int]], start: int) -> None:
        toks, g = self.toks, self.grammar
        if (
            g.code_deref
            and len(callee) == 1
            and toks[start].kind == "var"
            and start + 1 < len(toks)
            and toks[start + 1].text == "("
            and not (start > 0 and toks[start - 1].text == g.code_deref)
        ):
            return  # Perl "for my $k (...)": a variable is called only through & or ->
        res = self._unwrap(Chain(callee, 0)) or self.resolve(callee)
        if res.name is None:
            shown = self._slice_text(start, start + 1) if len(callee) == 1 else self._callee_text(callee, start)
            self._judge(self.chain_callee(callee, shown), shown, slices)
            return
        name = self._lookup_name(res.name)
        if self.grammar.method_objects and name.endswith("method.call"):
            if not isinstance(res.recv, str):  # method(name).call(...)
                shown = render(res.recv) if not isinstance(res.recv, Missing) else ""
                self.out.make_opaque(f"{name[: -len('.call')]}({shown}).call(...) calls a method known only at run time")
                return
            name = self._lookup_name(self._normalise(res.recv))  # method(:system).call(...)
        if self._invoked(name, slices):
            return
        recv = res.recv
        known = (
            name in self.tables.known or self._prefix_hit(name) or name.rsplit(".", 1)[-1] in self.tables.any_receiver
        )
        if not known and "." in name:
            method = name.rsplit(".", 1)[-1]
            loose = self.tables.loose.get(method)
            if loose is not None and loose[0] != "method":
                module = loose[1].rsplit(".", 1)[0]
                if module in self.modules or any(m.startswith(module) for m in self.modules):
                    name = loose[1]
                    known = True
        if not known:
            return
        spec = self.tables.dangerous.get(name)
        if spec is not None and spec.get("style") == "invoke":
            self._invoke(spec, slices)
            return
        self.decoded = False
        args = self._args(slices, recv)
        dispatch(self.lang, name, args, self.out, self._run_code, self._redispatch)
        spec = self.tables.dangerous.get(name)
        if self.decoded and spec is not None and spec.get("style") in ("code", "code_if_string"):
            self.out.danger(f"{name} runs decoded (base64/hex/compressed) code", opaque=False)

    def _invoke(self, spec: Any, slices: list[tuple[int, int]]) -> None:
        """``pcall(f, a, b)`` calls ``f(a, b)``: the function at ``arg``, with the arguments from
        ``args`` on (a dangerous entry of style "invoke")."""
        at, rest = int(spec.get("arg", 0)), int(spec.get("args", 1))
        if at >= len(slices) or slices[at][0] >= slices[at][1]:
            return
        a, b = slices[at]
        self.invoked.add(a)
        self._judge(self.expr_callee(a, b, self.grammar.callable_strings), self._slice_text(a, b), slices[rest:])

    def _callee_text(self, callee: list[tuple[str, Any]], start: int) -> str:
        """The source text of a callee chain that starts at ``toks[start]``."""
        chain = self._chain(start)
        if chain is None or len(chain.starts) < len(callee):
            return self._slice_text(start, start + 1)
        end = chain.starts[len(callee)] if len(chain.starts) > len(callee) else chain.end
        if len(callee) < len(chain.parts) and chain.parts[len(callee)][0] == "call":
            end = chain.starts[len(callee)]
        return self._slice_text(start, end)

    def _invoked(self, name: str, slices: list[tuple[int, int]]) -> bool:
        """``f.call(self, a, b)`` / ``f.apply(self, [a, b])`` call ``f`` (the grammar's
        ``invoke_methods``); True when ``name`` is such a call of a function the tables know."""
        head, _, method = name.rpartition(".")
        if not head or method not in self.grammar.invoke_methods or name in self.tables.known:
            return False
        head = self._lookup_name(head)
        if not (head in self.tables.known or self._prefix_hit(head)):
            return False
        rest = slices[1:]
        if method != "apply":
            self._redispatch(head, self._args(rest, MISSING))
            return True
        listed = self.value(*rest[0]) if rest else ()
        if isinstance(listed, tuple):
            self._redispatch(head, Args(list(listed), {}, [render(x) for x in listed]))
        else:
            self._redispatch(head, Args([], {}, [], MISSING, True))
        return True

    def _block_program(self, name: str, brace: int) -> None:
        """``system { 'sh' } 'bash', '-c', 'id'``: the block gives the program run, the list its
        argv (argv[0] included, which the program sees as its name)."""
        close = self._close(brace)
        program = self.value(brace + 1, close)
        end = self._stmt_end(close + 1, stop_comma=False)
        slices = self._split(close + 1, end, frozenset({","})) if close + 1 < end else []
        given = self._args(slices, MISSING)
        argv: list[Value] = [program, *given.pos[1:]]
        if given.open_ended or not given.pos:
            argv.append(Unknown("@args"))
        self._redispatch(name, Args([tuple(argv)], {}, [render(tuple(argv))]))
