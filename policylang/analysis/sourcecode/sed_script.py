"""The sed analyser: the commands a sed script runs (``e``, the ``e`` flag of ``s``) and the files
it writes (``w``, ``W``, the ``w`` flag of ``s``) and reads (``r``, ``R``).

A small parser of GNU sed scripts: commands separated by line breaks and ";", addresses (line
numbers, ``$``, ``first~step``, ``/regex/`` and ``\\cregexc`` with their flags, ``addr,+N``,
``addr,~N``), ``!``, ``{ ... }`` blocks, labels, ``a``/``i``/``c`` text, ``s`` with any delimiter
and its flags, ``y``. A file name runs to the end of its line (";" included), as sed reads it.

``e command`` runs that shell command. ``e`` alone, and the ``e`` flag of ``s``, run the pattern
space: what the input makes of it is known only at run time (opaque), but for ``s/.*/cmd/e``,
where it is ``cmd``; a literal replacement is also judged as the command it may become. Writing to
``/dev/stdout`` or ``/dev/stderr`` writes no file. A script that does not parse is opaque: sed
would refuse it, and this parser may be wrong about it.
"""

from __future__ import annotations

from .collector import Out
from .values import render

_NO_ARGS = frozenset("=dDgGhHnNpPxzF")
_NUMBER_ARG = frozenset("lLqQ")
_NOT_WRITTEN = frozenset({"/dev/stdout", "/dev/stderr"})
_NOT_READ = frozenset({"/dev/stdin"})
_WHOLE_LINE = frozenset({".*", "^.*", ".*$", "^.*$"})  # a regex that matches the whole pattern space
_S_FLAGS = frozenset("gpiImMe0123456789")
_REPLACEMENT_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "&": "&", "\n": "\n"}


class _SedError(ValueError):
    """A script sed would not parse."""


class SedAnalyser:
    """Analysis of one sed script (see the module's docstring)."""

    def __init__(self, source: str, out: Out) -> None:
        self.src = source
        self.n = len(source)
        self.out = out

    def run(self) -> None:
        try:
            self._script()
        except _SedError as exc:
            self.out.make_opaque(f"the sed script does not parse ({exc})")

    # -- the script
    def _script(self) -> None:
        src, n = self.src, self.n
        depth = 0
        i = 0
        while i < n:
            self.out.budget.steps -= 1
            if self.out.budget.steps < 0:
                self.out.make_opaque("the sed script is too long to analyse in full")
                return
            c = src[i]
            if c in " \t\r\n;":
                i += 1
                continue
            if c == "#":
                i = self._line_end(i)
                continue
            start = i
            i = self._address(i)
            if i < n and src[i] == ",":
                if i == start:
                    raise _SedError("a command starts with ','")
                i = self._address(i + 1, second=True)
            i = self._blanks(i)
            while i < n and src[i] == "!":
                i = self._blanks(i + 1)
            if i >= n:
                raise _SedError("an address without a command")
            cmd = src[i]
            i += 1
            if cmd == "{":
                depth += 1
            elif cmd == "}":
                if depth == 0 or i - 1 != start:
                    raise _SedError("an unexpected '}'")
                depth -= 1
                i = self._end(i)
            elif cmd in _NO_ARGS:
                i = self._end(i)
            elif cmd in _NUMBER_ARG:
                i = self._blanks(i)
                while i < n and src[i].isdigit():
                    i += 1
                i = self._end(i)
            elif cmd in "aic":
                i = self._text(i)
            elif cmd == ":":
                if i - 1 != start:
                    raise _SedError("a label with an address")
                i = self._label(i, required=True)
            elif cmd in "btT":
                i = self._label(i, required=False)
            elif cmd == "v":
                i = self._label(i, required=False)
            elif cmd in "rRwW":
                name, i = self._file_name(i)
                self._file(cmd, name)
            elif cmd == "e":
                command, i = self._rest_of_line(self._blanks(i))
                if command.strip():
                    self.out.command(command.strip(), f"sed e runs a shell command: {render(command.strip())}")
                else:
                    self._pattern_space("e")
            elif cmd == "s":
                i = self._substitute(i)
            elif cmd == "y":
                _, i = self._delimited(i + 1, self._delimiter(i))
                _, i = self._delimited(i, src[i - 1])
                i = self._end(i)
            else:
                raise _SedError(f"unknown command {cmd!r}")
        if depth:
            raise _SedError("an unmatched '{'")

    # -- pieces
    def _blanks(self, i: int) -> int:
        while i < self.n and self.src[i] in " \t":
            i += 1
        return i

    def _line_end(self, i: int) -> int:
        end = self.src.find("\n", i)
        return self.n if end == -1 else end

    def _rest_of_line(self, i: int) -> tuple[str, int]:
        end = self._line_end(i)
        return self.src[i:end], end

    def _end(self, i: int) -> int:
        """After a command: only blanks, then a line break, ";", "}", "#" or the end."""
        i = self._blanks(i)
        if i < self.n and self.src[i] not in "\n;}#\r":
            raise _SedError(f"extra characters after a command: {self.src[i:i + 20]!r}")
        return i

    def _address(self, i: int, second: bool = False) -> int:
        """The index after an address at ``i`` (``i`` itself when there is none)."""
        src, n = self.src, self.n
        if i >= n:
            return i
        c = src[i]
        if c.isdigit() or (second and c in "+~" and i + 1 < n and src[i + 1].isdigit()):
            i += 1
            while i < n and src[i].isdigit():
                i += 1
            if i < n and src[i] == "~" and not second:
                i += 1
                while i < n and src[i].isdigit():
                    i += 1
            return i
        if c == "$":
            return i + 1
        if c == "/" or c == "\\":
            if c == "\\":
                i += 1
                if i >= n or src[i] in "\n\\":
                    raise _SedError("a bad regex delimiter")
            _, i = self._delimited(i + 1, src[i])
            while i < n and src[i] in "IM":
                i += 1
            return i
        if second:
            raise _SedError("a bad second address")
        return i

    def _delimiter(self, i: int) -> str:
        if i >= self.n or self.src[i] in "\n\\":
            raise _SedError("a missing or bad delimiter")
        return self.src[i]

    def _delimited(self, i: int, delim: str) -> tuple[str, int]:
        """From after an opening ``delim``: the text up to the next one not escaped by a backslash
        (as it is written), and the index after it."""
        src, n = self.src, self.n
        j = i
        while j < n:
            c = src[j]
            if c == "\\":
                j += 2
                continue
            if c == delim:
                return src[i:j], j + 1
            if c == "\n" and delim != "\n":
                break
            j += 1
        raise _SedError(f"an unterminated {delim!r}-delimited text")

    def _text(self, i: int) -> int:
        """The text of a, i, c: to the end of the line, continued by a backslash before the break."""
        src, n = self.src, self.n
        i = self._blanks(i)
        if i < n and src[i] == "\\":
            i += 1
            if i < n and src[i] == "\n":
                i += 1
        while i < n:
            end = self._line_end(i)
            k, slashes = end - 1, 0
            while k >= i and src[k] == "\\":
                slashes += 1
                k -= 1
            if slashes % 2 == 0:
                return end
            i = end + 1
        return n

    def _label(self, i: int, required: bool) -> int:
        """A label (to the end of the line or a ";")."""
        i = self._blanks(i)
        j = i
        while j < self.n and self.src[j] not in "\n;":
            j += 1
        if required and not self.src[i:j].strip():
            raise _SedError("a ':' without a label")
        return j

    def _file_name(self, i: int) -> tuple[str, int]:
        name, end = self._rest_of_line(self._blanks(i))
        if not name:
            raise _SedError("a missing file name")
        return name, end

    # -- s
    def _substitute(self, i: int) -> int:
        src, n = self.src, self.n
        delim = self._delimiter(i)
        regex, i = self._delimited(i + 1, delim)
        replacement, i = self._replacement(i, delim)
        flags = ""
        while i < n and src[i] in _S_FLAGS:
            flags += src[i]
            i += 1
        if i < n and src[i] == "w":
            name, i = self._file_name(i + 1)
            self._file("w", name)
        else:
            i = self._end(i)
        if "e" in flags:
            command = _literal(replacement, delim)
            if command is not None and regex in _WHOLE_LINE and "M" not in flags and "m" not in flags:
                if command.strip():
                    self.out.command(command.strip(), f"sed s///e runs a shell command: {render(command.strip())}")
                return i
            self._pattern_space(f"s{delim}{regex}{delim}{replacement}{delim}{flags}")
            if command is not None and command.strip():
                self.out.command(command.strip(), f"sed s///e may run the replacement: {render(command.strip())}")
        return i

    def _replacement(self, i: int, delim: str) -> tuple[str, int]:
        """The replacement of ``s`` (it may span lines through an escaped line break)."""
        src, n = self.src, self.n
        j = i
        while j < n:
            c = src[j]
            if c == "\\":
                j += 2
                continue
            if c == delim:
                return src[i:j], j + 1
            if c == "\n":
                break
            j += 1
        raise _SedError("an unterminated s command")

    # -- effects
    def _file(self, cmd: str, name: str) -> None:
        if cmd in "wW":
            if name not in _NOT_WRITTEN:
                self.out.effect("write", name, False, f"sed {cmd} writes: {name}")
        elif name not in _NOT_READ:
            self.out.effect("read", name, False, f"sed {cmd} reads: {name}")

    def _pattern_space(self, shown: str) -> None:
        self.out.make_opaque(f"sed {render(shown, 60)} runs the pattern space, known only at run time, as a shell command")


def _literal(replacement: str, delim: str) -> str | None:
    """The text a replacement puts in, when it is literal (no ``&``, no ``\\1``, no case
    conversion); None when it holds any of them."""
    out: list[str] = []
    i, n = 0, len(replacement)
    while i < n:
        c = replacement[i]
        if c == "&":
            return None
        if c == "\\":
            nxt = replacement[i + 1] if i + 1 < n else ""
            if nxt == delim:
                out.append(delim)
            elif nxt in _REPLACEMENT_ESCAPES:
                out.append(_REPLACEMENT_ESCAPES[nxt])
            else:
                return None
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)
