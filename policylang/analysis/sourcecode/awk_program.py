"""The awk analyser: the commands, files and hosts an awk program's calls, print/printf redirections
and getline pipes and files reach.

awk is tokenized by the one lexer with awk's LexerSpec (``syntax.toml``) and read here, not by the
script analyser: its concatenation has no operator, and its input and output are statements, not
calls. What it finds:

* calls of the functions ``code.toml``'s ``[awk]`` tables list (``system(cmd)`` runs a shell
  string), with their arguments when they are literal strings, numbers and concatenations of them;
* ``print ... | cmd`` and ``print ... |& cmd`` (a shell string), ``print ... > file`` and ``>>``
  (a write; ``/dev/stdout``, ``/dev/stderr`` and ``-`` are not files);
* ``cmd | getline`` and ``cmd |& getline`` (a shell string), ``getline < file`` (a read);
* gawk's network files (``/inet/tcp/lport/host/rport``) as a connection to their host, its
  ``@load`` (native extensions) and ``@include`` (code the analysis does not see) and its indirect
  calls (``@f(...)``), which are opaque.

Variables are values known only at run time: awk sets them from the command line (``-v``,
``var=value`` operands), from its input (``getline var``) and in functions; a command or a file
named by one is opaque, or a write to a path known only at run time.
"""

from __future__ import annotations

from .appliers import Args, dispatch
from .collector import Out
from .lexer import Lexer, Tok
from .syntax import LexerSpec
from .tables import AWK
from .values import Unknown, Value, as_text, render

# Words that end the expression before a "| getline" (awk's keywords and statements).
_KEYWORDS = frozenset(
    "BEGIN END BEGINFILE ENDFILE function func if else while for do break continue next nextfile "
    "exit return delete in getline print printf".split()
)
_NOT_FILES = frozenset({"/dev/stdout", "/dev/stderr", "-", "/dev/fd/1", "/dev/fd/2", "/dev/null"})
_NOT_READ = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/dev/null"})
_CONTINUES = frozenset({",", "&&", "||", "\\", "{", "do", "else"})  # a line break after one continues


class AwkAnalyser:
    """Analysis of one awk program (see the module's docstring)."""

    def __init__(self, spec: LexerSpec, source: str, out: Out) -> None:
        self.spec = spec
        self.source = source
        self.out = out
        self.tables = out.config.langs[AWK]
        self.toks: list[Tok] = []
        self.match: list[int] = []
        self._openers: dict[int, int] | None = None

    def run(self) -> None:
        lexer = Lexer(self.spec, self.source, self.out.budget)
        self.toks = lexer.run()
        self.out.budget.steps -= len(self.toks)
        if lexer.truncated:
            self.out.make_opaque("the awk program is too complex to analyse in full")
        self.match = self._brackets()
        toks = self.toks
        for i, t in enumerate(toks):
            self.out.budget.steps -= 1
            if self.out.budget.steps < 0:
                self.out.make_opaque("the awk program is too complex to analyse in full")
                return
            if t.kind == "op" and t.text == "@":
                self._directive(i)
            elif t.kind == "op" and t.text == "|" and not (i + 1 < len(toks) and self._is_getline_after(i)):
                self._print_pipe(i)
            elif t.kind == "id" and t.text in ("print", "printf"):
                self._print_file(i)
            elif t.kind == "id" and t.text == "getline":
                self._getline(i)
            elif t.kind == "id" and i + 1 < len(toks) and toks[i + 1].text == "(" and t.text not in _KEYWORDS:
                if not (i > 0 and toks[i - 1].text in ("function", "func", "@")):
                    self._call(t.text, i + 1)

    # -- tokens
    def _brackets(self) -> list[int]:
        """For each opening bracket the index of its closer (len(toks) when unclosed)."""
        n = len(self.toks)
        match = [-1] * n
        stack: list[int] = []
        for i, t in enumerate(self.toks):
            if t.kind != "op":
                continue
            if t.text in ("(", "[", "{"):
                stack.append(i)
            elif t.text in (")", "]", "}") and stack:
                match[stack.pop()] = i
        for i in stack:
            match[i] = n
        return match

    def _close(self, i: int) -> int:
        m = self.match[i]
        return m if m >= 0 else len(self.toks)

    def _opener(self, close: int) -> int | None:
        if self._openers is None:
            self._openers = {m: j for j, m in enumerate(self.match) if m >= 0}
        return self._openers.get(close)

    def _ends_statement(self, k: int) -> bool:
        """Whether ``toks[k]`` starts a new statement (after ";", "}" or an unescaped line break)."""
        t = self.toks[k]
        if t.kind == "op" and t.text in (";", "}"):
            return True
        if t.nl:
            prev = self.toks[k - 1] if k else None
            return prev is None or prev.text not in _CONTINUES
        return False

    def _statement_end(self, a: int) -> int:
        """Where the statement that goes on at ``toks[a]`` ends: the next top-level ";", "}", line
        break or unmatched closer."""
        toks, n = self.toks, len(self.toks)
        k = a
        while k < n:
            self.out.budget.steps -= 1
            if self.out.budget.steps < 0:
                return n
            t = toks[k]
            if k > a and self._ends_statement(k):
                return k
            if t.kind == "op" and t.text in ("(", "["):
                k = self._close(k) + 1
                continue
            if t.kind == "op" and t.text in (")", "]", "{"):
                return k
            k += 1
        return n

    def _text(self, a: int, b: int) -> str:
        shown = " ".join(repr(t.text) if t.kind == "str" else t.text for t in self.toks[a:b])
        return shown if len(shown) <= 80 else shown[:79] + "…"

    # -- values
    def _value(self, a: int, b: int) -> Value:
        """The value of ``toks[a:b]`` when it is literal strings and numbers, concatenated (awk
        joins values written side by side); else a value known only at run time."""
        parts: list[str] = []
        k = a
        self.out.budget.steps -= b - a
        while k < b:
            t = self.toks[k]
            if t.kind == "str" and not t.dyn:
                parts.append(t.text)
                k += 1
            elif t.kind == "num" and t.text.isdigit():
                parts.append(str(int(t.text)))
                k += 1
            elif t.kind == "op" and t.text == "(" and self._close(k) < b:
                inner = self._value(k + 1, self._close(k))
                if not isinstance(inner, str):
                    return inner
                parts.append(inner)
                k = self._close(k) + 1
            else:
                return Unknown(self._text(a, b), stringy=True)
        if not parts:
            return Unknown(self._text(a, b), stringy=True)
        return "".join(parts)

    # -- calls and directives
    def _call(self, name: str, paren: int) -> None:
        """A call of a function the tables list (``system(cmd)``)."""
        if not (name in self.tables.known or any(name == p for p, _ in self.tables.prefixes)):
            return
        close = self._close(paren)
        args: list[Value] = []
        start = paren + 1
        k = start
        while k < close:
            t = self.toks[k]
            if t.kind == "op" and t.text in ("(", "["):
                k = self._close(k) + 1
                continue
            if t.kind == "op" and t.text == ",":
                args.append(self._value(start, k))
                start = k + 1
            k += 1
        if start < close:
            args.append(self._value(start, close))
        dispatch(AWK, name, Args(args, {}, [render(v) for v in args]), self.out, self._run_code, self._redispatch)

    def _run_code(self, code: str, via: str) -> None:
        self.out.make_opaque(f"{via} runs awk code that is not analysed: {render(code)}")

    def _redispatch(self, name: str, args: Args) -> bool:
        return dispatch(AWK, name, args, self.out, self._run_code, self._redispatch)

    def _directive(self, i: int) -> None:
        """gawk's ``@load`` (a native extension), ``@include`` (awk code from a file) and indirect
        calls ``@name(...)`` (the function a variable names)."""
        toks = self.toks
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None or nxt.kind != "id":
            return
        arg = toks[i + 2] if i + 2 < len(toks) else None
        shown = f"@{nxt.text} {arg.text!r}" if arg is not None and arg.kind == "str" else f"@{nxt.text}"
        if nxt.text == "load":
            self.out.danger(f"{shown} loads a gawk extension (native code)")
        elif nxt.text == "include":
            self.out.make_opaque(f"{shown} runs awk code from a file, which is not analysed")
        elif arg is not None and arg.text == "(":
            self.out.make_opaque(f"@{nxt.text}(...) calls the function a variable names, known only at run time")

    # -- output and input
    def _print_pipe(self, bar: int) -> None:
        """``print ... | cmd`` / ``|& cmd``: the rest of the statement is a shell string."""
        toks = self.toks
        a = bar + 1
        coprocess = a < len(toks) and toks[a].text == "&" and not toks[a].space
        if coprocess:
            a += 1
        b = self._statement_end(a)
        self._command("print |&" if coprocess else "print |", self._value(a, b))

    def _print_file(self, i: int) -> None:
        """``print ... > file`` / ``>> file``: a write, at the statement's first top-level ">"."""
        toks = self.toks
        end = self._statement_end(i + 1)
        k = i + 1
        self.out.budget.steps -= end - k
        while k < end:
            t = toks[k]
            if t.kind == "op" and t.text in ("(", "["):
                k = self._close(k) + 1
                continue
            if t.kind == "op" and t.text in (">", ">>"):
                self._write(f"{toks[i].text} {t.text}", self._value(k + 1, end))
                return
            k += 1

    def _is_getline_after(self, bar: int) -> bool:
        """Whether the "|" at ``bar`` pipes into getline (``cmd | getline``, ``cmd |& getline``)."""
        toks = self.toks
        k = bar + 1
        if k < len(toks) and toks[k].text == "&" and not toks[k].space:
            k += 1
        return k < len(toks) and toks[k].kind == "id" and toks[k].text == "getline"

    def _getline(self, i: int) -> None:
        """``cmd | getline [var]`` runs cmd; ``getline [var] < file`` reads file."""
        toks = self.toks
        bar = i - 1
        if bar >= 1 and toks[bar].text == "&" and not toks[bar].space and toks[bar - 1].text == "|":
            bar -= 1
        if bar >= 1 and toks[bar].kind == "op" and toks[bar].text == "|":
            start = self._operand_start(bar)
            self._command("| getline", self._value(start, bar) if start < bar else Unknown(""))
            return
        k = i + 1
        if k < len(toks) and toks[k].kind in ("id", "var") and toks[k].text not in _KEYWORDS:
            k += 1  # getline var
            if k < len(toks) and toks[k].text == "[" and not toks[k].space:
                k = self._close(k) + 1
        if k < len(toks) and toks[k].kind == "op" and toks[k].text == "<":
            end = k + 1
            while end < len(toks) and not self._ends_statement(end) and (
                toks[end].kind in ("str", "num", "id", "var") or toks[end].text in ("(", "$")
            ):
                if toks[end].kind == "id" and toks[end].text in _KEYWORDS:
                    break
                end = self._close(end) + 1 if toks[end].text == "(" else end + 1
            self._read("getline <", self._value(k + 1, end))

    def _operand_start(self, bar: int) -> int:
        """Where the expression before the "|" of ``cmd | getline`` starts: values written side by
        side back to the statement's start, an open bracket, an operator or a keyword."""
        toks = self.toks
        k = bar
        while k > 0:
            self.out.budget.steps -= 1
            t = toks[k - 1]
            if t.kind == "op" and t.text in (")", "]"):
                o = self._opener(k - 1)
                if o is None:
                    break
                k = o
            elif t.kind in ("str", "num", "var") or (t.kind == "id" and t.text not in _KEYWORDS):
                k -= 1
            else:
                break
            if self._ends_statement(k):
                break
        return k

    # -- effects
    def _command(self, via: str, v: Value) -> None:
        s = as_text(v)
        if s is not None and _inet(s):
            self._network(via, s)
            return
        self.out.shell(via, v)

    def _write(self, via: str, v: Value) -> None:
        s = as_text(v)
        if s is None:
            self.out.effect("write", None, False, f"{via} writes a file named at run time: {render(v)}")
        elif _inet(s):
            self._network(via, s)
        elif s.strip() and s not in _NOT_FILES:
            self.out.effect("write", s, False, f"{via} writes: {s}")

    def _read(self, via: str, v: Value) -> None:
        s = as_text(v)
        if s is None:
            self.out.effect("read", None, False, f"{via} reads a file named at run time: {render(v)}")
        elif _inet(s):
            self._network(via, s)
        elif s.strip() and s not in _NOT_READ:
            self.out.effect("read", s, False, f"{via} reads: {s}")

    def _network(self, via: str, name: str) -> None:
        """gawk's ``/inet/tcp/lport/rhost/rport``: a connection to rhost (a server when it is 0)."""
        parts = name.split("/")
        host = parts[4] if len(parts) >= 6 and parts[4] not in ("", "0") else None
        shown = f"{host}" if host is not None else "a host known only when it connects"
        self.out.effect("network", host, False, f"{via} {name} connects to {shown}")


def _inet(s: str) -> bool:
    return s.startswith(("/inet/", "/inet4/", "/inet6/"))
