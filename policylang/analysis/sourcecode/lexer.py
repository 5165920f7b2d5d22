"""The one tokenizer of the tokenizer languages, driven by each language's LexerSpec.

JavaScript, Perl, Ruby, PHP, Lua, awk...: careful about strings with their escapes and
interpolation, long brackets, comments, regex and quote-like literals, and heredocs; not a parser."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from .collector import Budget
from .strings import interpolated_code, interpolates, unescape
from .syntax import LexerSpec, Literal, Quote


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
_REGEX_KEYWORDS = frozenset(  # the default of a spec's regex_keywords
    "return typeof case do else in of new delete void throw instanceof yield await and or not if "
    "unless while until split grep map join when x lt gt le ge eq ne cmp puts print my our local "
    "state say die warn elsif".split()
)
_HASH_SIGIL_FOLLOWERS = "_{$"  # what may follow a hash sigil (%h, %{...}, %$ref)
_QUOTE_WORD_NOT_AFTER = "_$@%&>"  # a quote word right after one of these is a name ($q, ->s)
_SUFFIX_NOT_BEFORE = ("!=", "?:", "!~")  # a method suffix is not the start of these operators


@dataclass(slots=True)
class _Heredoc:
    """A heredoc whose body starts at the next line."""

    tok: Tok
    word: str  # the terminator
    indented: bool  # the terminator may be indented
    prefix: bool  # the terminator may be followed by text that does not start with a letter or digit
    interp: bool
    single: bool
    dedent: bool  # strip the body's common indentation


class Lexer:
    """A tokenizer for one tokenizer language, careful about strings, comments, regex and
    quote-like literals, and heredocs; not a parser."""

    def __init__(self, spec: LexerSpec, src: str, budget: Budget) -> None:
        self.spec = spec
        self.regex_words = frozenset(spec.regex_keywords) if spec.regex_keywords else _REGEX_KEYWORDS
        self.src = src
        self.n = len(src)
        self.budget = budget
        self.toks: list[Tok] = []
        self.inner_code: list[str] = []  # interpolated code to analyse as well
        self.heredocs: list[_Heredoc] = []
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
            return t.text not in self.regex_words
        return t.text in _VALUE_END_OPS

    def add_string(self, body: str, interp: bool, single: bool, kind: str = "str") -> Tok:
        dyn = interp and interpolates(body, self.spec)
        if dyn:
            self.inner_code.extend(interpolated_code(body, self.spec))
        text = body if dyn else unescape(body, single, self.spec)
        return self.emit(Tok(kind, text, dyn))

    def add_quoted(self, quote: Quote, body: str) -> Tok:
        return self.add_string(body, quote.interpolate, quote.escapes == "single", quote.token)

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
        """A string from after its opening ``close`` quote, whose code interpolations (``${...}``
        in JS templates, ``#{...}`` in Ruby, ``{$...}``/``${...}`` in PHP) may hold code with
        quotes and strings of their own."""
        src, n = self.src, self.n
        openers = [code.open for code in self.spec.code_interpolations]
        quotes = self.spec.quotes
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
                    stack.append(c if c in quotes and quotes[c].nested_code else c + "!")
            elif top.endswith("!"):  # a string without code interpolations inside code
                if c == top[0]:
                    stack.pop()
            elif c == top:
                stack.pop()
            else:
                for op in openers:
                    if src.startswith(op, j):
                        stack.append("{")
                        j += op.index("{")  # the code starts after the brace
                        break
            j += 1
        body = src[i : j - 1] if not stack else src[i:n]
        return body, j

    def run(self) -> list[Tok]:
        src, n, spec = self.src, self.n, self.spec
        quotes = spec.quotes
        heredoc = spec.heredoc
        comment_chars = frozenset(m[0] for m in spec.line_comments + spec.long_comments) | frozenset(
            o[0] for o, _ in spec.block_comments
        )
        i = 0
        if src.startswith("#!"):
            i = src.find("\n")
            i = n if i == -1 else i
        if spec.open_tags:
            stripped = src.lstrip()
            for tag in spec.open_tags:
                if stripped.startswith(tag):
                    i = n - len(stripped) + len(tag)
                    break
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
            if c in comment_chars:
                j = self.skip_comment(i)
                if j is not None:
                    i = j
                    continue
            if at_line_start and spec.doc_blocks:
                j = self.skip_doc_block(i)
                if j is not None:
                    i = j
                    continue
            if at_line_start and any(src.startswith(marker, i) for marker in spec.end_markers):
                break
            if spec.close_tag and src.startswith(spec.close_tag, i):
                end = src.find(spec.reopen_tag, i)
                i = n if end == -1 else end + len(spec.reopen_tag)
                self.emit(Tok("op", ";"))
                continue
            # strings
            if spec.long_brackets and c == "[":
                long = self.long_bracket(i)
                if long is not None:
                    self.emit(Tok("str", long[0]))
                    i = long[1]
                    continue
            quote = quotes.get(c)
            if quote is not None:
                if quote.nested_code:
                    body, i = self.scan_interpolated(i + 1, c)
                else:
                    body, i = self.scan_quoted(i + 1, c)
                self.add_quoted(quote, body)
                continue
            # heredocs
            if heredoc is not None and src.startswith(heredoc.opener, i):
                j = self.try_heredoc(i)
                if j is not None:
                    i = j
                    continue
            # variables
            if c in spec.var_sigils or (
                c == spec.hash_sigil
                and not self.prev_is_value()
                and (nxt.isalpha() or nxt in _HASH_SIGIL_FOLLOWERS)
            ):
                j = self.scan_var(i)
                if j > i + 1 or c in spec.lone_sigils:
                    self.emit(Tok("var", src[i:j]))
                    i = max(j, i + 1)
                    continue
            # quote-like literals
            if spec.quote_words and c.isalpha():
                j = self.try_quote_word(i)
                if j is not None:
                    i = j
                    continue
            if (
                spec.percent_literals
                and c == "%"
                and (not self.prev_is_value() or (self.space and nxt not in " ="))
            ):
                j = self.try_percent_literal(i)
                if j is not None:
                    i = j
                    continue
            if (
                spec.symbols
                and c == ":"
                and nxt != ":"
                and (nxt.isalpha() or nxt == "_" or nxt in "'\"")
                and not self.prev_is_value_tight()
            ):
                i = self.scan_symbol(i)
                continue
            # regex literals
            if spec.slash_regex and c == "/" and not self.prev_is_value():
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
                or c in spec.identifier_chars
                or (c == spec.namespace_separator and (nxt.isalpha() or nxt == "_"))
            ):
                i = self.scan_ident(i)
                continue
            if (
                spec.rooted_names
                and c == ":"
                and nxt == ":"
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

    def skip_comment(self, i: int) -> int | None:
        """The index after a comment starting at ``i``; None when none starts there."""
        src, spec = self.src, self.spec
        for marker in spec.long_comments:
            long = self.long_bracket(i + len(marker)) if src.startswith(marker, i) else None
            if long is not None:
                self.space = True
                return long[1]
        if any(src.startswith(m, i) for m in spec.line_comments) and not any(
            src.startswith(x, i) for x in spec.line_comment_exceptions
        ):
            return self.skip_line(i)
        for open_, close in spec.block_comments:
            if src.startswith(open_, i):
                end = src.find(close, i + len(open_))
                self.space = True
                return self.n if end == -1 else end + len(close)
        return None

    def long_bracket(self, i: int) -> tuple[str, int] | None:
        """A long bracket (``[[...]]``, ``[==[...]==]``) opening at ``i``: its body, without escapes
        and without a line break right after the opener, and the index after its closer; None when
        none opens there."""
        src, n = self.src, self.n
        if not src.startswith("[", i):
            return None
        j = i + 1
        while j < n and src[j] == "=":
            j += 1
        if j >= n or src[j] != "[":
            return None
        close = "]" + "=" * (j - i - 1) + "]"
        start = j + 1
        if src.startswith("\r\n", start):
            start += 2
        elif src.startswith("\n", start) or src.startswith("\r", start):
            start += 1
        end = src.find(close, start)
        if end == -1:
            return src[start:], n
        return src[start:end], end + len(close)

    def skip_doc_block(self, i: int) -> int | None:
        """The index after a documentation block (POD, =begin/=end) starting the line at ``i``."""
        src, n = self.src, self.n
        for block in self.spec.doc_blocks:
            after = i + len(block.start)
            if src.startswith(block.start, i) and (not block.letter_after or (after < n and src[after].isalpha())):
                end = src.find(block.end, i)
                return n if end == -1 else self.skip_line(end + 1)
        return None

    def skip_regex(self, i: int, close: str) -> int:
        src, n = self.src, self.n
        in_class = False
        while i < n:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n" and self.spec.regex_ends_at_newline:
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
        src, n, spec = self.src, self.n, self.spec
        j = i + 1
        for extra in spec.sigil_extras:
            if j < n and src[j] == extra:
                j += 1
        if spec.deref_braces and j < n and src[j] == "{":
            return j  # ${ ... } / @{ ... }: a dereference, the braces follow as tokens
        start = j
        scoped = spec.scoped_vars
        while j < n and (src[j].isalnum() or src[j] == "_" or (scoped and src.startswith("::", j))):
            j += 2 if src.startswith("::", j) else 1
        if j == start and j < n and src[j] in spec.punctuation_vars:
            j += 1
        return j

    def scan_ident(self, i: int) -> int:
        src, n, spec = self.src, self.n, self.spec
        sep = spec.namespace_separator
        j = i
        if sep and src[j] == sep:
            j += 1
        while j < n:
            c = src[j]
            if c.isalnum() or c == "_" or c in spec.identifier_chars:
                j += 1
            elif sep and c == sep and j + 1 < n and (src[j + 1].isalpha() or src[j + 1] == "_"):
                j += 1
            elif (
                c == ":"
                and spec.scoped_names
                and src.startswith("::", j)
                and j + 2 < n
                and (src[j + 2].isalpha() or src[j + 2] == "_")
            ):
                j += 2
            else:
                break
        if (
            spec.method_suffixes
            and j < n
            and src[j] in spec.method_suffixes
            and not any(src.startswith(op, j) for op in _SUFFIX_NOT_BEFORE)
        ):
            j += 1
        word = src[i:j].lstrip(sep) if sep else src[i:j]
        if (
            spec.colon_labels
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

    def scan_symbol(self, i: int) -> int:
        """A symbol (``:name``, ``:'...'``, ``:"..."``) from its colon at ``i``: a string."""
        src, n = self.src, self.n
        nxt = src[i + 1] if i + 1 < n else ""
        if nxt in "'\"":
            body, end = self.scan_quoted(i + 2, nxt)
            self.add_string(body, interp=nxt == '"', single=nxt == "'")
            return end
        j = i + 1
        while j < n and (src[j].isalnum() or src[j] == "_"):
            j += 1
        if j < n and src[j] in "?!=" and not src.startswith("==", j) and not src.startswith("=>", j):
            j += 1
        self.emit(Tok("str", src[i + 1 : j]))
        return j

    def try_quote_word(self, i: int) -> int | None:
        """A quote-like literal introduced by a word (``q{...}``, ``qw(...)``, ``s/a/b/``)."""
        src, n = self.src, self.n
        j = i
        while j < n and src[j].isalpha():
            j += 1
        lit = self.spec.quote_words.get(src[i:j])
        if lit is None:
            return None
        if i > 0 and (src[i - 1].isalnum() or src[i - 1] in _QUOTE_WORD_NOT_AFTER or src.startswith("->", i - 2)):
            return None
        k = j
        while k < n and src[k] in " \t":
            k += 1
        if k >= n or src[k].isalnum() or src[k] in "_,;=)" or (src[k] == "=" and src.startswith("=>", k)):
            return None
        if k > j and src[k] == "#":
            return None
        return self.quote_literal(lit, k)

    def try_percent_literal(self, i: int) -> int | None:
        """A ``%`` literal (``%w(...)``, ``%x{...}``, ``%(...)``) from its ``%`` at ``i``."""
        src, n = self.src, self.n
        table = self.spec.percent_literals
        j = i + 1
        key = ""
        if j < n and src[j] in table:
            key = src[j]
            j += 1
        if j >= n or src[j].isalnum() or src[j] in " \t\n=":
            return None
        lit = table.get(key)
        return None if lit is None else self.quote_literal(lit, j)

    def quote_literal(self, lit: Literal, k: int) -> int:
        """Emit the quote-like literal whose opening delimiter is at ``k``; the index after it."""
        src, n = self.src, self.n
        delim = src[k]
        close = _OPENERS.get(delim, delim)
        opener = delim if delim in _OPENERS else ""
        body, end = self.scan_quoted(k + 1, close, opener)
        kind = lit.kind
        if kind == "substitution":
            if opener:
                m = end
                while m < n and src[m] in " \t\n":
                    m += 1
                if m < n:
                    d2 = src[m]
                    _, end = self.scan_quoted(m + 1, _OPENERS.get(d2, d2), d2 if d2 in _OPENERS else "")
            else:
                _, end = self.scan_quoted(end, close)
        if kind in ("substitution", "regex"):
            while end < n and src[end].isalpha():
                end += 1
            self.emit(Tok("regex", lit.text))
        elif kind == "words":
            self.emit(Tok("words", lit.text, words=tuple(body.split())))
        elif kind == "command":
            plain = lit.plain_in_single_quotes and delim == "'"
            self.add_string(body, interp=not plain, single=plain, kind="cmd")
        else:
            self.add_string(body, interp=kind == "string", single=kind == "single")
        return end

    def try_heredoc(self, i: int) -> int | None:
        src, n, spec = self.src, self.n, self.spec
        hd = spec.heredoc
        if hd is None:
            return None
        j = i + len(hd.opener)
        if hd.blank_after_opener:
            while j < n and src[j] in " \t":
                j += 1
        indented = dedent = False
        if hd.indent_marks and j < n and src[j] in hd.indent_marks:
            indented = True
            dedent = bool(hd.dedent_mark) and src[j] == hd.dedent_mark
            j += 1
        quote = ""
        if j < n and src[j] in spec.quotes:
            quote = src[j]
            j += 1
        k = j
        while k < n and (src[k].isalnum() or src[k] == "_"):
            k += 1
        word = src[j:k]
        if not word or (
            not quote and not indented and hd.bare_word == "capitalised" and not (word[0].isupper() or word[0] == "_")
        ):
            return None
        if quote:
            if k >= n or src[k] != quote:
                return None
            k += 1
        q = spec.quotes.get(quote)  # a quoted word reads the body as that quote reads a string
        interp = q.interpolate if q is not None else True
        single = q.escapes == "single" if q is not None else False
        tok = self.emit(Tok(q.token if q is not None else "str", ""))
        self.heredocs.append(
            _Heredoc(tok, word, indented or hd.terminator_indented, hd.terminator_prefix, interp, single, dedent)
        )
        return k

    def read_heredocs(self, i: int) -> int:
        src, n = self.src, self.n
        for doc in self.heredocs:
            word = doc.word
            lines: list[str] = []
            while i < n:
                end = src.find("\n", i)
                end = n if end == -1 else end
                line = src[i:end]
                i = min(end + 1, n)
                check = line.strip() if doc.indented else line.rstrip("\r")
                if check == word or (
                    doc.prefix and check.startswith(word) and not check[len(word) : len(word) + 1].isalnum()
                ):
                    break
                lines.append(line)
            body = "\n".join(lines)
            if doc.dedent:
                body = textwrap.dedent(body)
            dyn = doc.interp and interpolates(body, self.spec)
            if dyn:
                self.inner_code.extend(interpolated_code(body, self.spec))
            doc.tok.text = body if dyn else unescape(body, doc.single, self.spec)
            doc.tok.dyn = dyn
        self.heredocs = []
        return i
