"""The tokenizer of JavaScript, Perl, Ruby and PHP: careful about strings with their escapes and
interpolation, comments, regex and quote-like literals, and heredocs; not a parser."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .collector import Budget


@dataclass(slots=True)
class Tok:
    kind: str  # id var str cmd num op words regex
    text: str
    dyn: bool = False  # str/cmd: has run-time interpolation
    words: tuple[str, ...] = ()
    space: bool = False  # whitespace before the token
    nl: bool = False  # a newline between the previous token and this one


_OPS = sorted(
    [
        "===",
        "!==",
        "**=",
        "...",
        "<=>",
        "&&=",
        "||=",
        "??=",
        ">>>",
        "<<=",
        ">>=",
        "?->",
        "//=",
        "=>",
        "==",
        "!=",
        "<=",
        ">=",
        "&&",
        "||",
        "??",
        "?.",
        "->",
        "::",
        "+=",
        "-=",
        "*=",
        "/=",
        ".=",
        "%=",
        "|=",
        "&=",
        "^=",
        "++",
        "--",
        "**",
        "<<",
        ">>",
        "=~",
        "!~",
        "&.",
        "//",
        "..",
    ],
    key=len,
    reverse=True,
)
_OPS_BY_CHAR: dict[str, tuple[str, ...]] = {}
for _op in _OPS:
    _OPS_BY_CHAR[_op[0]] = _OPS_BY_CHAR.get(_op[0], ()) + (_op,)
_OPENERS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_VALUE_END_OPS = frozenset({")", "]", "}"})
_REGEX_KEYWORDS = frozenset(
    "return typeof case do else in of new delete void throw instanceof yield await and or not if "
    "unless while until split grep map join when x lt gt le ge eq ne cmp puts print my our local "
    "state say die warn elsif".split()
)
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "e": "\x1b",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "$": "$",
    "@": "@",
    "/": "/",
    "#": "#",
    "{": "{",
    "}": "}",
}


def _unescape(body: str, single: bool, lang: str) -> str:
    """Decode the escapes of a string literal's body (\\n, \\xHH, \\u{...}, octal...)."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if single:
            if nxt in ("\\", "'"):
                out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
            continue
        if nxt == "x":
            if i + 2 < n and body[i + 2] == "{":
                end = body.find("}", i + 3)
                digits = body[i + 3 : end] if end != -1 else ""
                i = end + 1 if end != -1 else n
            else:
                j = i + 2
                while j < n and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                    j += 1
                digits = body[i + 2 : j]
                i = j
            try:
                out.append(chr(int(digits, 16)))
            except (ValueError, OverflowError):
                out.append("")
            continue
        if nxt == "u":
            if i + 2 < n and body[i + 2] == "{":
                end = body.find("}", i + 3)
                digits = body[i + 3 : end] if end != -1 else ""
                i = end + 1 if end != -1 else n
            else:
                digits = body[i + 2 : i + 6]
                i += 6
            try:
                out.append(chr(int(digits, 16)))
            except (ValueError, OverflowError):
                out.append("")
            continue
        if nxt in "01234567" and lang != "node":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1 : j], 8)))
            i = j
            continue
        out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _interpolates(body: str, lang: str) -> bool:
    """Whether a double-quoted string body has run-time interpolation."""
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        nxt = body[i + 1] if i + 1 < n else ""
        if lang == "ruby" and ch == "#" and nxt in "{@$":
            return True
        if lang == "perl" and ch in "$@" and (nxt.isalnum() or nxt in "_{:$&`'+!") and not (ch == "@" and nxt == ""):
            return True
        if lang == "php" and ((ch == "$" and (nxt.isalpha() or nxt in "_{")) or (ch == "{" and nxt == "$")):
            return True
        if lang == "node" and ch == "$" and nxt == "{":
            return True
        i += 1
    return False


def _interpolated_code(body: str, lang: str) -> list[str]:
    """The code inside ``#{...}`` (Ruby), ``${...}`` (JS templates), ``@{[...]}``/``${\\...}`` (Perl)
    and ``{${...}}`` (PHP) interpolations, to be analysed as code too."""
    starts = {"ruby": ("#{",), "node": ("${",), "perl": ("@{", "${"), "php": ("${", "{$")}[lang]
    found: list[str] = []
    i, n = 0, len(body)
    while i < n and len(found) < 50:
        if body[i] == "\\":
            i += 2
            continue
        if any(body.startswith(s, i) for s in starts):
            j = i + 2 if body[i + 1] in "{" else i + 1
            depth = 1
            k = j
            while k < n and depth:
                c = body[k]
                if c == "\\":
                    k += 1
                elif c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                k += 1
            inner = body[j : k - 1] if depth == 0 else body[j:]
            if lang == "php" and body.startswith("{$", i):
                inner = "$" + inner
            if inner.strip():
                found.append(inner)
            i = k
            continue
        i += 1
    return found


class Lexer:
    """A tokenizer for JavaScript, Perl, Ruby or PHP, careful about strings, comments, regex and
    quote-like literals, and heredocs; not a parser."""

    def __init__(self, lang: str, src: str, budget: Budget) -> None:
        self.lang = lang
        self.src = src
        self.n = len(src)
        self.budget = budget
        self.toks: list[Tok] = []
        self.inner_code: list[str] = []  # interpolated code to analyse as well
        # token, terminator, terminator may be indented, interpolating, strip common indentation
        self.heredocs: list[tuple[Tok, str, bool, bool, bool]] = []
        self.space = False
        self.newline = False
        self.truncated = False

    def emit(self, tok: Tok) -> Tok:
        tok.space = self.space
        tok.nl = self.newline
        self.space = self.newline = False
        self.toks.append(tok)
        return tok

    def prev_is_value(self) -> bool:
        if not self.toks:
            return False
        t = self.toks[-1]
        if t.kind in ("str", "num", "var", "cmd", "words", "regex"):
            return True
        if t.kind == "id":
            return t.text not in _REGEX_KEYWORDS
        return t.text in _VALUE_END_OPS

    def add_string(self, body: str, interp: bool, single: bool, kind: str = "str") -> Tok:
        dyn = interp and _interpolates(body, self.lang)
        if dyn:
            self.inner_code.extend(_interpolated_code(body, self.lang))
        text = body if dyn else _unescape(body, single, self.lang)
        return self.emit(Tok(kind, text, dyn))

    def scan_quoted(self, i: int, close: str, open_: str = "") -> tuple[str, int]:
        """From just after an opening delimiter: the body and the index after the closer
        (bracket delimiters nest)."""
        depth = 1
        j = i
        src, n = self.src, self.n
        while j < n:
            c = src[j]
            if c == "\\":
                j += 2
                continue
            if open_ and c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return src[i:j], j + 1
            j += 1
        return src[i:n], n

    def scan_interpolated(self, i: int, close: str) -> tuple[str, int]:
        """A string from after its opening ``close`` quote, in a language whose interpolations
        (``${...}`` in JS templates, ``#{...}`` in Ruby, ``{$...}``/``${...}`` in PHP) may hold
        code with quotes and strings of their own."""
        src, n = self.src, self.n
        openers = {"node": ("${",), "ruby": ("#{",), "php": ("{$", "${")}.get(self.lang, ())
        interpolating = {"node": "`", "ruby": '"`', "php": '"'}.get(self.lang, "")
        stack: list[str] = [close]  # a quote: inside a string closed by it; "{": inside code
        j = i
        while j < n and stack:
            c = src[j]
            top = stack[-1]
            if c == "\\":
                j += 2
                continue
            if top == "{":
                if c == "{":
                    stack.append("{")
                elif c == "}":
                    stack.pop()
                elif c in "'\"`":
                    stack.append(c if c in interpolating else c + "!")
            elif top.endswith("!"):  # a string without interpolation inside code
                if c == top[0]:
                    stack.pop()
            elif c == top:
                stack.pop()
            else:
                for op in openers:
                    if src.startswith(op, j):
                        stack.append("{")
                        j += len(op) - 1 if op != "{$" else 0
                        break
            j += 1
        body = src[i : j - 1] if not stack else src[i:n]
        return body, j

    def run(self) -> list[Tok]:
        src, n, lang = self.src, self.n, self.lang
        i = 0
        if src.startswith("#!"):
            i = src.find("\n")
            i = n if i == -1 else i
        if lang == "php":
            stripped = src.lstrip()
            if stripped.startswith("<?php"):
                i = n - len(stripped) + 5
            elif stripped.startswith("<?="):
                i = n - len(stripped) + 3
        steps = 0
        while i < n:
            steps += 1
            if steps > self.budget.steps:
                self.truncated = True
                break
            c = src[i]
            if c == "\n":
                self.newline = True
                i += 1
                if self.heredocs:
                    i = self.read_heredocs(i)
                continue
            if c in " \t\r\f\v":
                self.space = True
                i += 1
                continue
            nxt = src[i + 1] if i + 1 < n else ""
            # comments
            at_line_start = i == 0 or src[i - 1] == "\n"
            if (c == "#" and lang in ("perl", "ruby")) or (c == "#" and lang == "php" and nxt != "["):
                i = self.skip_line(i)
                continue
            if c == "/" and nxt == "/" and lang in ("node", "php"):
                i = self.skip_line(i)
                continue
            if c == "/" and nxt == "*" and lang in ("node", "php"):
                end = src.find("*/", i + 2)
                i = n if end == -1 else end + 2
                self.space = True
                continue
            if at_line_start and c == "=" and lang == "perl" and nxt.isalpha():
                end = src.find("\n=cut", i)
                i = n if end == -1 else self.skip_line(end + 1)
                continue
            if at_line_start and lang == "ruby" and src.startswith("=begin", i):
                end = src.find("\n=end", i)
                i = n if end == -1 else self.skip_line(end + 1)
                continue
            if (
                at_line_start
                and lang in ("perl", "ruby")
                and (src.startswith("__END__", i) or src.startswith("__DATA__", i))
            ):
                break
            if lang == "php" and c == "?" and nxt == ">":
                end = src.find("<?php", i)
                i = n if end == -1 else end + 5
                self.emit(Tok("op", ";"))
                continue
            # strings
            if c in "'\"":
                if c == '"' and lang in ("ruby", "php"):
                    body, i = self.scan_interpolated(i + 1, c)
                else:
                    body, i = self.scan_quoted(i + 1, c)
                single = c == "'" and lang != "node"
                self.add_string(body, interp=c == '"' and lang != "node", single=single)
                continue
            if c == "`":
                if lang == "node":
                    body, i = self.scan_interpolated(i + 1, "`")
                    dyn = "${" in body and _interpolates(body, "node")
                    if dyn:
                        self.inner_code.extend(_interpolated_code(body, "node"))
                    self.emit(Tok("str", body if dyn else _unescape(body, False, lang), dyn))
                else:
                    body, i = self.scan_interpolated(i + 1, "`") if lang == "ruby" else self.scan_quoted(i + 1, "`")
                    self.add_string(body, interp=True, single=False, kind="cmd")
                continue
            # heredocs
            if c == "<" and nxt == "<" and lang in ("perl", "ruby", "php"):
                j = self.try_heredoc(i)
                if j is not None:
                    i = j
                    continue
            # variables
            if (
                c in "$@"
                and lang in ("perl", "ruby", "php")
                or (c == "%" and lang == "perl" and not self.prev_is_value() and (nxt.isalpha() or nxt in "_{$"))
            ):
                j = self.scan_var(i)
                if j > i + 1 or (lang == "perl" and c == "$"):
                    self.emit(Tok("var", src[i:j]))
                    i = max(j, i + 1)
                    continue
            # quote-like literals
            if lang == "perl" and (c.isalpha()):
                j = self.try_perl_quote(i)
                if j is not None:
                    i = j
                    continue
            if lang == "ruby" and c == "%" and (not self.prev_is_value() or (self.space and nxt not in " =")):
                j = self.try_ruby_percent(i)
                if j is not None:
                    i = j
                    continue
            if (
                lang == "ruby"
                and c == ":"
                and nxt != ":"
                and (nxt.isalpha() or nxt == "_" or nxt in "'\"")
                and not self.prev_is_value_tight()
            ):
                if nxt in "'\"":
                    body, i = self.scan_quoted(i + 2, nxt)
                    self.add_string(body, interp=nxt == '"', single=nxt == "'")
                else:
                    j = i + 1
                    while j < n and (src[j].isalnum() or src[j] == "_"):
                        j += 1
                    if j < n and src[j] in "?!=" and not src.startswith("==", j) and not src.startswith("=>", j):
                        j += 1
                    self.emit(Tok("str", src[i + 1 : j]))
                    i = j
                continue
            # regex literals
            if c == "/" and lang in ("node", "perl", "ruby") and not self.prev_is_value():
                i = self.skip_regex(i + 1, "/")
                self.emit(Tok("regex", "/"))
                continue
            # numbers
            if c.isdigit():
                j = i + 1
                while j < n and (src[j].isalnum() or src[j] in "._") and not src.startswith("..", j):
                    j += 1
                self.emit(Tok("num", src[i:j]))
                i = j
                continue
            # identifiers
            if (
                c.isalpha()
                or c == "_"
                or (c == "$" and lang == "node")
                or (c == "\\" and lang == "php" and (nxt.isalpha() or nxt == "_"))
            ):
                i = self.scan_ident(i)
                continue
            if (
                c == ":"
                and nxt == ":"
                and lang in ("ruby", "php")
                and i + 2 < n
                and (src[i + 2].isalpha() or src[i + 2] == "_")
            ):
                i = self.scan_ident(i + 2)  # ::File is File
                continue
            # operators
            for op in _OPS_BY_CHAR.get(c, ()):
                if src.startswith(op, i):
                    self.emit(Tok("op", op))
                    i += len(op)
                    break
            else:
                self.emit(Tok("op", c))
                i += 1
        return self.toks

    def prev_is_value_tight(self) -> bool:
        return self.prev_is_value() and not self.space

    def skip_line(self, i: int) -> int:
        end = self.src.find("\n", i)
        return self.n if end == -1 else end

    def skip_regex(self, i: int, close: str) -> int:
        src, n = self.src, self.n
        in_class = False
        while i < n:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n" and self.lang == "node":
                return i
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == close and not in_class:
                i += 1
                while i < n and src[i].isalpha():
                    i += 1
                return i
            i += 1
        return n

    def scan_var(self, i: int) -> int:
        src, n = self.src, self.n
        j = i + 1
        if self.lang == "ruby" and j < n and src[j] == "@":
            j += 1
        if self.lang == "perl" and j < n and src[j] == "#":
            j += 1
        if self.lang in ("perl", "php") and j < n and src[j] == "$":
            j += 1
        if j < n and src[j] == "{" and self.lang == "perl":
            return j  # ${ ... } / @{ ... }: a dereference, the braces follow as tokens
        start = j
        while j < n and (src[j].isalnum() or src[j] == "_" or (self.lang == "perl" and src.startswith("::", j))):
            j += 2 if src.startswith("::", j) else 1
        if j == start and self.lang == "perl" and j < n and src[j] in "_&`'+!0/\\,;.":
            j += 1
        if j == start and self.lang == "ruby" and j < n and src[j] in '~*$?!@/\\;,.=:<>"0':
            j += 1
        return j

    def scan_ident(self, i: int) -> int:
        src, n, lang = self.src, self.n, self.lang
        j = i
        if lang == "php" and src[j] == "\\":
            j += 1
        while j < n:
            c = src[j]
            if c.isalnum() or c == "_" or (c == "$" and lang == "node"):
                j += 1
            elif c == "\\" and lang == "php" and j + 1 < n and (src[j + 1].isalpha() or src[j + 1] == "_"):
                j += 1
            elif (
                c == ":"
                and lang in ("perl", "ruby", "php")
                and src.startswith("::", j)
                and j + 2 < n
                and (src[j + 2].isalpha() or src[j + 2] == "_")
            ):
                j += 2
            else:
                break
        if (
            lang == "ruby"
            and j < n
            and src[j] in "?!"
            and not src.startswith("!=", j)
            and not src.startswith("?:", j)
            and not src.startswith("!~", j)
        ):
            j += 1
        word = src[i:j].lstrip("\\") if lang == "php" else src[i:j]
        if (
            lang == "ruby"
            and j < n
            and src[j] == ":"
            and not src.startswith("::", j)
            and (j + 1 >= n or src[j + 1] in " \t\n")
        ):
            # `key: value` in a hash or keyword arguments
            self.emit(Tok("str", word))
            self.space = False
            self.emit(Tok("op", "=>"))
            return j + 1
        self.emit(Tok("id", word))
        return j

    def try_perl_quote(self, i: int) -> int | None:
        src, n = self.src, self.n
        j = i
        while j < n and src[j].isalpha():
            j += 1
        word = src[i:j]
        if word not in ("q", "qq", "qw", "qx", "m", "s", "tr", "y", "qr"):
            return None
        if i > 0 and (src[i - 1].isalnum() or src[i - 1] in "_$@%&>" or src.startswith("->", i - 2)):
            return None
        k = j
        while k < n and src[k] in " \t":
            k += 1
        if k >= n or src[k].isalnum() or src[k] in "_,;=)" or (src[k] == "=" and src.startswith("=>", k)):
            return None
        if k > j and src[k] == "#":
            return None
        delim = src[k]
        close = _OPENERS.get(delim, delim)
        opener = delim if delim in _OPENERS else ""
        body, end = self.scan_quoted(k + 1, close, opener)
        if word in ("s", "tr", "y"):
            if opener:
                m = end
                while m < n and src[m] in " \t\n":
                    m += 1
                if m < n:
                    d2 = src[m]
                    _, end = self.scan_quoted(m + 1, _OPENERS.get(d2, d2), d2 if d2 in _OPENERS else "")
            else:
                _, end = self.scan_quoted(end, close)
            while end < n and src[end].isalpha():
                end += 1
            self.emit(Tok("regex", word))
            return end
        if word in ("m", "qr"):
            while end < n and src[end].isalpha():
                end += 1
            self.emit(Tok("regex", word))
            return end
        if word == "qw":
            self.emit(Tok("words", "qw", words=tuple(body.split())))
        elif word == "qx":
            self.add_string(body, interp=delim != "'", single=delim == "'", kind="cmd")
        else:
            self.add_string(body, interp=word == "qq", single=word == "q")
        return end

    def try_ruby_percent(self, i: int) -> int | None:
        src, n = self.src, self.n
        j = i + 1
        kind = ""
        if j < n and src[j] in "qQwWiIxrs":
            kind = src[j]
            j += 1
        if j >= n or src[j].isalnum() or src[j] in " \t\n=":
            return None
        delim = src[j]
        close = _OPENERS.get(delim, delim)
        body, end = self.scan_quoted(j + 1, close, delim if delim in _OPENERS else "")
        if kind in ("w", "W", "i", "I"):
            self.emit(Tok("words", "%w", words=tuple(body.split())))
        elif kind == "x":
            self.add_string(body, interp=True, single=False, kind="cmd")
        elif kind == "r":
            while end < n and src[end].isalpha():
                end += 1
            self.emit(Tok("regex", "%r"))
        else:
            self.add_string(body, interp=kind != "q" and kind != "s", single=kind in ("q", "s"))
        return end

    def try_heredoc(self, i: int) -> int | None:
        src, n, lang = self.src, self.n, self.lang
        j = i + 2
        if lang == "php":
            if j >= n or src[j] != "<":
                return None
            j += 1
            while j < n and src[j] in " \t":
                j += 1
        indented = squiggly = False
        if lang in ("ruby", "perl") and j < n and src[j] in "~-":
            indented = True
            squiggly = src[j] == "~"
            j += 1
        quote = ""
        if j < n and src[j] in "'\"`":
            quote = src[j]
            j += 1
        k = j
        while k < n and (src[k].isalnum() or src[k] == "_"):
            k += 1
        word = src[j:k]
        if not word or (not quote and not indented and lang != "php" and not (word[0].isupper() or word[0] == "_")):
            return None
        if quote:
            if k >= n or src[k] != quote:
                return None
            k += 1
        kind = "cmd" if quote == "`" else "str"
        tok = self.emit(Tok(kind, ""))
        self.heredocs.append((tok, word, indented or lang == "php", quote != "'", squiggly))
        return k

    def read_heredocs(self, i: int) -> int:
        src, n = self.src, self.n
        for tok, word, indented, interp, squiggly in self.heredocs:
            lines: list[str] = []
            while i < n:
                end = src.find("\n", i)
                end = n if end == -1 else end
                line = src[i:end]
                i = min(end + 1, n)
                check = line.strip() if indented else line.rstrip("\r")
                if check == word or (
                    self.lang == "php" and check.startswith(word) and not check[len(word) : len(word) + 1].isalnum()
                ):
                    break
                lines.append(line)
            body = "\n".join(lines)
            if squiggly:
                body = textwrap.dedent(body)
            dyn = interp and _interpolates(body, self.lang)
            if dyn:
                self.inner_code.extend(_interpolated_code(body, self.lang))
            tok.text = body if dyn else _unescape(body, not interp, self.lang)
            tok.dyn = dyn
        self.heredocs = []
        return i

