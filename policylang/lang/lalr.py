"""grammar.lark and the LALR(1) machine that parses one statement with its tables, built once per process.

Lark reads the grammar and computes its LALR(1) tables (cached on disk, see cache.py).  The lexer
(lexer.py) and the loop that runs Lark's tables (here) are our own, for speed only: Lark's
contextual lexer and ``ParserState`` take about twice as long on a 1,000-rule file, which the
compile budget cannot afford.  ``tests/test_parse.py`` checks on generated and random input that
Lark's own lexer and parser produce the same tokens, the same errors and the same AST.
"""
from __future__ import annotations

import threading
from importlib import resources
from typing import Any

from lark import __version__ as lark_version
from lark import Lark

from .builder import _Builder
from .lexer import _NAME_TERMINALS, _Ctx, _LexError, _Lexer, _Tok
from .nodes import Statement


class _ParseFailure(Exception):
    """A syntax error: the token the parser could not take (type ``$END`` at the end, None for a
    character no terminal matches), what it would have taken, and its value stack."""

    def __init__(self, pos: int, token: _Tok | None, expected: set[str], values: list[Any]) -> None:
        super().__init__(pos)
        self.pos = pos
        self.token = token
        self.expected = expected
        self.values = values


# A reduce action: (mode, number of symbols, goto symbol, builder method, which children to splice)
_Reduce = tuple[int, int, str, Any, tuple[bool, ...]]
# How a reduction makes its value:
_PASS = 0  # `?rule` with one child: the child itself
_APPEND = 1  # a repetition helper `__x: __x a b`: append a, b to the helper's list in place
_LIST = 2  # a repetition helper otherwise: the (spliced) list of its children
_BUILD = 3  # a grammar rule: its _Builder method, on the children with helper lists spliced in


def _lark_tables(text: str) -> Lark:
    """Lark's parser for ``text``, its tables from the private cache when a sealed entry is there.

    Lark's own ``cache=`` option would unpickle whatever file it finds at the path; here the entry
    goes through cache.py, which checks the file and its HMAC seal first."""
    import io

    from .. import cache

    key = cache.key_of(text, lark_version)
    payload = cache.load_bytes("grammar", key)
    if payload is not None:
        try:
            return Lark.load(io.BytesIO(payload))
        except Exception:  # sealed by us but unreadable now: rebuilt below
            pass
    lark = Lark(text, parser="lalr", lexer="basic", maybe_placeholders=False)
    if cache.path_for("grammar", key) is not None:
        buf = io.BytesIO()
        lark.save(buf)
        cache.store_bytes("grammar", key, buf.getvalue())
    return lark


class _Machine:
    """Lark's LALR(1) tables for grammar.lark, run by a lean driver.

    Lark computes the tables and defines the grammar's meaning; this loop replaces Lark's own
    ``ParserState.feed_token`` only for speed (it dispatches on plain ints and strings, where
    Lark's hashes grammar objects on every reduction).  Values are built by ``_Builder`` as Lark
    would call it as an inline transformer: repetition helpers (``__x_plus_0``) are spliced into
    their parent's children and ``?rule`` with one child passes that child through.
    """

    def __init__(self) -> None:
        lark = _lark_tables(_grammar_text())
        table = lark.parser.parser.parser.parse_table
        builder = _Builder()
        self.start_state: int = table.start_states["start"]
        reduces: dict[Any, _Reduce] = {}
        self.states: list[dict[str, int | _Reduce]] = [{} for _ in range(max(table.states) + 1)]
        for state, actions in table.states.items():
            row = self.states[state]
            for sym, (action, arg) in actions.items():
                if action.name == "Shift":
                    row[str(sym)] = int(arg)
                else:
                    if arg not in reduces:
                        reduces[arg] = self._reduce_action(arg, builder)
                    row[str(sym)] = reduces[arg]
        self.lexer = _Lexer(lark.terminals)
        self._check_lexer_assumptions()

    @staticmethod
    def _reduce_action(rule: Any, builder: _Builder) -> _Reduce:
        name = str(rule.origin.name)
        splice = tuple(not s.is_term and s.name.startswith("_") for s in rule.expansion)
        if any(s.is_term and s.filter_out for s in rule.expansion):
            raise AssertionError(f"grammar.lark: rule {name} has an anonymous token; name every terminal")
        n = len(rule.expansion)
        method = None
        if name.startswith("_"):
            mode = _APPEND if n >= 2 and splice[0] and True not in splice[1:] else _LIST
        elif rule.options.expand1 and n == 1 and not splice[0]:
            mode = _PASS
        else:
            mode = _BUILD
            method = getattr(builder, str(rule.alias or name), None)
            if method is None:
                raise AssertionError(f"grammar.lark: no _Builder method for rule {name}")
        return (mode, n, name, method, splice)

    def _check_lexer_assumptions(self) -> None:
        """The lexer is exact only if no state accepts two of WORD and the name terminals, nor
        a name terminal together with `:`, `=` or `+` (they would compete for a prefix)."""
        names = {"WORD", *_NAME_TERMINALS}
        embedded = set(self.lexer.embedded.values())
        for acc in self.states:
            present = names.intersection(acc)
            if len(present) > 1 or (present - {"WORD"} and embedded.intersection(acc)):
                raise AssertionError(f"grammar.lark breaks the contextual lexer's assumptions: {sorted(acc)}")

    def parse(self, ctx: _Ctx, end: int) -> Statement:
        """Parse the statement ``ctx.text[ctx.base:end]``; raise _ParseFailure on a syntax error."""
        states = self.states
        stack = [self.start_state]
        values: list[Any] = []
        last: _Tok | None = None
        try:
            for tok in self.lexer.tokens(ctx, end, states, stack):
                act = states[stack[-1]].get(tok.type)
                if type(act) is int:  # a plain shift, the common case, without a call
                    stack.append(act)
                    values.append(tok)
                else:
                    self._feed(tok, stack, values)
                last = tok
        except _LexError as err:
            raise _ParseFailure(err.pos, err.token, self.accepts(stack), values) from None
        if last is None:
            end_tok = _Tok("$END", "", ctx.base, ctx.base, ctx.base_line, 1)
        else:
            end_tok = _Tok("$END", "", last.end_pos, last.end_pos, last.line,
                           last.column + (last.end_pos - last.start_pos))
        return self._feed(end_tok, stack, values)  # type: ignore[no-any-return]

    def _feed(self, tok: _Tok, stack: list[int], values: list[Any]) -> Any:
        states = self.states
        tt = tok.type
        while True:
            act = states[stack[-1]].get(tt)
            if act is None:
                raise _ParseFailure(tok.start_pos, tok, self.accepts(stack), values)
            if type(act) is int:
                stack.append(act)
                values.append(tok)
                return None
            mode, n, origin, method, splice = act  # type: ignore[misc]
            if mode == _PASS:  # the value stays where it is; only the state changes
                del stack[-1]
            elif mode == _APPEND:
                if n == 2:
                    item = values.pop()
                    values[-1].append(item)
                else:
                    items = values[1 - n:]
                    del values[1 - n:]
                    values[-1].extend(items)
                del stack[-n:]
            else:
                if n:
                    children = values[-n:]
                    del values[-n:]
                    del stack[-n:]
                else:
                    children = []
                if True in splice:
                    flat: list[Any] = []
                    for child, sp in zip(children, splice):
                        if sp:
                            flat.extend(child)
                        else:
                            flat.append(child)
                    children = flat
                values.append(children if mode == _LIST else method(children))
            if tt == "$END" and origin == "start":
                return values[-1]
            stack.append(states[stack[-1]][origin])  # type: ignore[arg-type]

    def accepts(self, stack: list[int]) -> set[str]:
        """The terminals that the parser in ``stack`` would shift (after any reductions)."""
        out: set[str] = set()
        for term in self.states[stack[-1]]:
            if not (term.isupper() or term == "$END"):
                continue
            sim = list(stack)
            while True:
                act = self.states[sim[-1]].get(term)
                if act is None:
                    break
                if type(act) is int:
                    out.add(term)
                    break
                n, origin = act[1], act[2]  # type: ignore[index]
                if term == "$END" and origin == "start":
                    out.add(term)
                    break
                if n:
                    del sim[-n:]
                goto = self.states[sim[-1]].get(origin)
                if goto is None:
                    break
                sim.append(goto)  # type: ignore[arg-type]
        return out


_lock = threading.Lock()
_machine: _Machine | None = None


def _grammar_text() -> str:
    return resources.files(__package__).joinpath("grammar.lark").read_text(encoding="utf-8")


def _get_machine() -> _Machine:
    global _machine
    if _machine is None:
        with _lock:
            if _machine is None:
                _machine = _Machine()
    return _machine
