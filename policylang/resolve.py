"""Shell words to absolute paths: quotes, ``~``, ``$HOME``, ``$TMPDIR``, ``$PWD``, other variables
from the environment, and lexical ``..`` folding.

A word is a list of parts (literal text, quoted or not, variables, tilde prefixes, values that cannot
be known); ``expand`` turns the parts into the words the shell would pass, or says that they cannot
be known statically.  shell.py builds parts from the tree-sitter parse; ``lex_word`` builds them from
the text of one word for callers that hold a plain string.
"""
from __future__ import annotations

import sys

from typing import Mapping, Sequence, Union

from .frozen import record

__all__ = [
    "Lit", "Var", "Tilde", "Unknown", "Part", "Expanded", "MAX_FIELDS", "UNICODE_SPACES", "file_url_path",
    "user_home",
    "decode_ansi_c", "expand", "join_path", "lex_word", "normalise_path", "resolve_path",
]

MAX_FIELDS = 64  # brace and field expansion of one word stops here (the word becomes unknown)
_IFS = " \t\n"
# Unicode spaces that some agents' transports use between words; outside quotes they separate words.
UNICODE_SPACES = frozenset("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
                           "\u200a\u2028\u2029\u202f\u205f\u3000\u0085")
_GLOB = frozenset("*?[")


@record
class Lit:
    """Literal text; unquoted text is subject to brace expansion, globbing and Unicode-space splitting."""

    text: str
    quoted: bool


@record
class Var:
    """``$name`` or ``${name<op>arg}`` with op one of ``"" :- - := = :+ +``."""

    name: str
    quoted: bool
    op: str = ""
    arg: tuple["Part", ...] = ()


@record
class Tilde:
    """A leading unquoted ``~`` or ``~user``."""

    user: str


@record
class Unknown:
    """A value that cannot be known statically (command substitution, arithmetic, ``$@``...).

    ``value`` is set when it is known after all (a static command substitution such as
    ``$(echo ls)``); it then expands like a variable's value.
    """

    reason: str
    quoted: bool
    value: str | None = None


Part = Union[Lit, Var, Tilde, Unknown]


@record
class Expanded:
    """One word after expansion: its text, and whether unquoted glob characters make it a pattern."""

    text: str
    glob: bool = False


def normalise_path(path: str) -> str:
    """Fold ``.`` and ``..`` lexically, collapse ``//``, drop a trailing ``/`` (except for ``/``).

    A relative path stays relative (``a/../..`` -> ``..``); ``/..`` is ``/``.
    """
    absolute = path.startswith("/")
    out: list[str] = []
    for comp in path.split("/"):
        if comp == "" or comp == ".":
            continue
        if comp == "..":
            if out and out[-1] != "..":
                out.pop()
            elif not absolute:
                out.append("..")
            continue
        out.append(comp)
    body = "/".join(out)
    if absolute:
        return "/" + body
    return body or "."


def join_path(cwd: str | None, path: str) -> str | None:
    """``path`` made absolute against ``cwd`` and normalised; None when relative and cwd unknown."""
    if path.startswith("/"):
        return normalise_path(path)
    if cwd is None:
        return None
    return normalise_path(cwd + "/" + path)


def file_url_path(url: str) -> str | None:
    """The local path a ``file:`` URL names, percent-decoded (``file:///home/u/.ssh/%69d_rsa`` is
    ``/home/u/.ssh/id_rsa``); None when it names another host or no absolute path."""
    from urllib.parse import unquote, urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.casefold() != "file" or parts.netloc not in ("", "localhost"):
        return None
    try:
        path = unquote(parts.path, errors="strict") if "%" in parts.path else parts.path
    except UnicodeDecodeError:
        return None
    if not path.startswith("/") or "\x00" in path:
        return None
    return normalise_path(path)


def user_home(user: str) -> str | None:
    """Where ``~user`` leads, as the platform lays homes out (``/root``, ``/home/NAME``; macOS's
    ``/var/root`` and ``/Users/NAME``).  None for a word that is not a user name (``~-``)."""
    if not user or not all(c.isalnum() or c in "._-" for c in user) or user.startswith("-"):
        return None
    darwin = sys.platform == "darwin"
    if user == "root":
        return "/var/root" if darwin else "/root"
    return ("/Users/" if darwin else "/home/") + user


def _home(env: Mapping[str, str], home: str) -> str | None:
    value = env.get("HOME") or home
    return value if value.startswith("/") else None  # a relative home cannot anchor a path


def _var_value(name: str, env: Mapping[str, str], home: str, cwd: str | None,
               tainted: frozenset[str]) -> str | None:
    """The value of a variable, or None when it cannot be known statically."""
    if name in tainted:
        return None
    if name == "HOME":
        return _home(env, home)
    if name == "PWD":
        return cwd
    if name == "TMPDIR":
        # Unset TMPDIR: programs (mktemp, Python's tempfile) use /tmp.  A plain "$TMPDIR/x" in a
        # shell where it is unset would be "/x"; see the report: the catalog assumes the agent's
        # environment sets it when it matters.
        return env.get("TMPDIR") or "/tmp"
    if not name or not (name[0].isalpha() or name[0] == "_"):
        return None  # positional and special parameters: $1 $@ $? $$ ...
    return env.get(name)


class _Fields:
    """Words under construction: a list of fields, each a list of (text, active) chunks."""

    __slots__ = ("fields", "cur", "started", "unknown", "unknown_reason")

    def __init__(self) -> None:
        self.fields: list[list[tuple[str, bool]]] = []
        self.cur: list[tuple[str, bool]] = []
        self.started = False  # the current field exists even if empty ("" or a quoted part)
        self.unknown = False
        self.unknown_reason = ""

    def add(self, text: str, active: bool) -> None:
        self.cur.append((text, active))
        self.started = True

    def split(self) -> None:
        if self.started:
            self.fields.append(self.cur)
        self.cur = []
        self.started = False

    def add_unquoted_value(self, value: str) -> None:
        # An unquoted expansion is split on IFS and its glob characters are active.
        pieces = _split_ifs(value)
        if not pieces:
            return
        if value[:1] in _IFS:
            self.split()
        for k, piece in enumerate(pieces):
            if k:
                self.split()
            self.add(piece, True)
        if value[-1:] in _IFS:
            self.split()


def _split_ifs(value: str) -> list[str]:
    out: list[str] = []
    cur: list[str] = []
    for c in value:
        if c in _IFS:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(c)
    if cur:
        out.append("".join(cur))
    return out


def _add_parts(f: _Fields, parts: Sequence[Part], env: Mapping[str, str], home: str, cwd: str | None,
               tainted: frozenset[str], depth: int) -> None:
    for part in parts:
        if f.unknown:
            return
        if isinstance(part, Lit):
            if part.quoted:
                f.add(part.text, False)
                continue
            start = 0
            text = part.text
            for k, c in enumerate(text):
                if c in UNICODE_SPACES:
                    if k > start:
                        f.add(text[start:k], True)
                    f.split()
                    start = k + 1
            if start < len(text):
                f.add(text[start:], True)
            elif not text:
                f.started = True
        elif isinstance(part, Tilde):
            if part.user == "":
                value = None if "HOME" in tainted else _home(env, home)
            elif part.user == "+":
                value = cwd
            elif part.user == "-":
                value = None  # OLDPWD
            else:
                # bash leaves a tilde-prefix that names no user as it is ("~:/h")
                value = user_home(part.user) or "~" + part.user
            if value is None:
                f.unknown = True
                f.unknown_reason = f"~{part.user}"
                return
            f.add(value, False)
        elif isinstance(part, Var):
            value = _var_value(part.name, env, home, cwd, tainted)
            op = part.op
            if op:
                if depth > 8:
                    f.unknown, f.unknown_reason = True, "nested parameter expansion"
                    return
                # Not in the environment is "unknown", not "unset": the agent's shell may set it,
                # so the default is used only for a known empty (or, for "-", any known) value.
                if value is None:
                    f.unknown, f.unknown_reason = True, f"${part.name}"
                    return
                use_arg = False
                if op in (":-", ":="):
                    use_arg = value is None or value == ""
                elif op in ("-", "="):
                    use_arg = value is None
                elif op == ":+":
                    use_arg = value is not None and value != ""
                    if not use_arg:
                        value = ""
                elif op == "+":
                    use_arg = value is not None
                    if not use_arg:
                        value = ""
                if use_arg:
                    sub = _Fields()
                    _add_parts(sub, tuple(_requote(p, part.quoted) for p in part.arg), env, home, cwd,
                               tainted, depth + 1)
                    if sub.unknown:
                        f.unknown, f.unknown_reason = True, sub.unknown_reason
                        return
                    sub.split()
                    chunks = [chunk for fld in sub.fields for chunk in fld]
                    if not chunks and not part.quoted:
                        continue
                    for chunk_text, active in chunks:
                        f.add(chunk_text, active)
                    continue
            if value is None:
                f.unknown, f.unknown_reason = True, f"${part.name}"
                return
            if part.quoted:
                f.add(value, False)
            else:
                f.add_unquoted_value(value)
        else:  # Unknown
            if part.value is None:
                f.unknown, f.unknown_reason = True, part.reason
                return
            if part.quoted:
                f.add(part.value, False)
            else:
                f.add_unquoted_value(part.value)


def _requote(p: Part, quoted: bool) -> Part:
    if quoted and isinstance(p, Lit) and not p.quoted:
        return Lit(p.text, True)
    return p


def _brace(chunks: list[tuple[str, bool]], budget: int) -> list[list[tuple[str, bool]]] | None:
    """Brace-expand a field given as chunks; None when the expansion would exceed ``budget``."""
    # Flatten to characters with an active flag.
    chars: list[tuple[str, bool]] = [(c, a) for text, a in chunks for c in text]
    results = _brace_chars(chars, budget, 0)
    if results is None:
        return None
    return [[(c, a) for c, a in r] for r in results]


def _brace_chars(chars: list[tuple[str, bool]], budget: int, depth: int) -> list[list[tuple[str, bool]]] | None:
    n = len(chars)
    for i in range(n):
        c, a = chars[i]
        if c != "{" or not a or (i > 0 and chars[i - 1] == ("$", True)):
            continue
        level = 0
        commas: list[int] = []
        close = -1
        for j in range(i + 1, n):
            cj, aj = chars[j]
            if not aj:
                continue
            if cj == "{":
                level += 1
            elif cj == "}":
                if level == 0:
                    close = j
                    break
                level -= 1
            elif cj == "," and level == 0:
                commas.append(j)
        if close < 0:
            return [chars]
        alts: list[list[tuple[str, bool]]] = []
        if commas:
            bounds = [i, *commas, close]
            alts = [chars[bounds[k] + 1:bounds[k + 1]] for k in range(len(bounds) - 1)]
        else:
            seq = _sequence("".join(ch for ch, _ in chars[i + 1:close]), budget)
            if seq is None:
                continue  # {a} or an invalid sequence stays literal; look for a later brace
            if seq == ["<too many>"]:
                return None
            alts = [[(ch, False) for ch in s] for s in seq]
        if depth > 16:
            return None
        prefix, suffix = chars[:i], chars[close + 1:]
        out: list[list[tuple[str, bool]]] = []
        for alt in alts:
            sub = _brace_chars(prefix + alt + suffix, budget, depth + 1)
            if sub is None:
                return None
            out.extend(sub)
            if len(out) > budget:
                return None
        return out
    return [chars]


def _sequence(body: str, budget: int) -> list[str] | None:
    a, sep, b = body.partition("..")
    if not sep or ".." in b:
        return None
    try:
        x, y = int(a), int(b)
        if abs(y - x) + 1 > budget:
            return ["<too many>"]
        step = 1 if y >= x else -1
        return [str(v) for v in range(x, y + step, step)]
    except ValueError:
        pass
    if len(a) == 1 and len(b) == 1 and a.isalpha() and b.isalpha():
        x, y = ord(a), ord(b)
        step = 1 if y >= x else -1
        return [chr(v) for v in range(x, y + step, step)]
    return None


def expand(parts: Sequence[Part], *, env: Mapping[str, str], home: str, cwd: str | None,
           tainted: frozenset[str] = frozenset()) -> list[Expanded] | None:
    """The words one shell word becomes (brace expansion, field splitting of unquoted values,
    Unicode-space splitting), or None when they cannot be known statically."""
    f = _Fields()
    _add_parts(f, parts, env, home, cwd, tainted, 0)
    if f.unknown:
        return None
    f.split()
    out: list[Expanded] = []
    for fld in f.fields:
        if any(a and ("{" in t) for t, a in fld):
            variants = _brace(fld, MAX_FIELDS)
            if variants is None:
                return None
        else:
            variants = [fld]
        for v in variants:
            text = "".join(t for t, _ in v)
            glob = _is_glob(v)
            out.append(Expanded(text, glob))
        if len(out) > MAX_FIELDS:
            return None
    return out


def _is_glob(chunks: Sequence[tuple[str, bool]]) -> bool:
    seen_bracket = False
    for text, active in chunks:
        if not active:
            continue
        for c in text:
            if c == "*" or c == "?":
                return True
            if c == "[":
                seen_bracket = True
            elif c == "]" and seen_bracket:
                return True
    return False


# ---- lexing one word from text ------------------------------------------------------------------

_ANSI_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b",
                 "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def decode_ansi_c(body: str) -> str:
    """The value of ``$'...'`` given the text between the quotes."""
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        d = body[i + 1]
        if d in _ANSI_ESCAPES:
            out.append(_ANSI_ESCAPES[d])
            i += 2
        elif d == "x":
            j = i + 2
            while j < n and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(chr(int(body[i + 2:j], 16)) if j > i + 2 else "\\x")
            i = j
        elif d in "uU":
            j = i + 2
            limit = i + (6 if d == "u" else 10)
            while j < n and j < limit and body[j] in "0123456789abcdefABCDEF":
                j += 1
            if j > i + 2:
                cp = int(body[i + 2:j], 16)
                out.append(chr(cp) if cp < 0x110000 and not 0xD800 <= cp < 0xE000 else "\ufffd")
            else:
                out.append("\\" + d)
            i = j
        elif d in "01234567":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1:j], 8) & 0xFF))
            i = j
        elif d == "c" and i + 2 < n:
            out.append(chr(ord(body[i + 2]) & 0x1F))
            i += 3
        else:
            out.append("\\" + d)
            i += 2
    return "".join(out)


def _name_end(text: str, i: int) -> int:
    j = i
    while j < len(text) and (text[j].isalnum() or text[j] == "_") and text[j].isascii():
        j += 1
    return j


def lex_word(word: str) -> tuple[Part, ...] | None:
    """Parts of one shell word given as text (quotes, backslashes, ``$VAR``, ``${VAR:-x}``, ``~``).

    Returns None for a word that is not one well-formed word (an unterminated quote).  Command
    substitutions and other dynamic parts become ``Unknown``.
    """
    parts: list[Part] = []
    i, n = 0, len(word)
    if word.startswith("~"):
        j = 1
        while j < n and word[j] not in "/\"'\\$`":
            j += 1
        parts.append(Tilde(word[1:j]))
        i = j
    buf: list[str] = []

    def flush(quoted: bool) -> None:
        if buf:
            parts.append(Lit("".join(buf), quoted))
            buf.clear()

    while i < n:
        c = word[i]
        if c == "\\":
            flush(False)
            if i + 1 < n:
                parts.append(Lit(word[i + 1], True))
            i += 2
        elif c == "'":
            flush(False)
            j = word.find("'", i + 1)
            if j < 0:
                return None
            parts.append(Lit(word[i + 1:j], True))
            i = j + 1
        elif c == "$" and word.startswith("$'", i):
            flush(False)
            j = i + 2
            while j < n and word[j] != "'":
                j += 2 if word[j] == "\\" else 1
            if j >= n:
                return None
            parts.append(Lit(decode_ansi_c(word[i + 2:j]), True))
            i = j + 1
        elif c == '"':
            flush(False)
            j = i + 1
            while j < n and word[j] != '"':
                d = word[j]
                if d == "\\" and j + 1 < n and word[j + 1] in '$`"\\\n':
                    buf.append(word[j + 1])
                    j += 2
                elif d == "$" or d == "`":
                    flush(True)
                    part, j = _lex_dollar(word, j, True)
                    if part is None:
                        return None
                    parts.append(part)
                else:
                    buf.append(d)
                    j += 1
            if j >= n:
                return None
            flush(True)
            parts.append(Lit("", True))  # "" is an (empty) word of its own
            i = j + 1
        elif c == "$" or c == "`":
            flush(False)
            part, i = _lex_dollar(word, i, False)
            if part is None:
                return None
            parts.append(part)
        else:
            buf.append(c)
            i += 1
    flush(False)
    return tuple(parts)


def _lex_dollar(word: str, i: int, quoted: bool) -> tuple[Part | None, int]:
    n = len(word)
    if word[i] == "`":
        j = word.find("`", i + 1)
        return (Unknown("command substitution", quoted), j + 1) if j > 0 else (None, n)
    if i + 1 >= n:
        return Lit("$", quoted), i + 1
    d = word[i + 1]
    if d == "(":
        depth, j = 0, i + 1
        while j < n:
            if word[j] == "(":
                depth += 1
            elif word[j] == ")":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= n:
            return None, n
        what = "arithmetic" if word.startswith("$((", i) else "command substitution"
        return Unknown(what, quoted), j + 1
    if d == "{":
        j = word.find("}", i + 2)
        if j < 0:
            return None, n
        body = word[i + 2:j]
        end = _name_end(body, 0)
        name, rest = body[:end], body[end:]
        if not name:
            return Unknown("${" + body + "}", quoted), j + 1
        if not rest:
            return Var(name, quoted), j + 1
        for op in (":-", ":=", ":+", "-", "=", "+"):
            if rest.startswith(op):
                arg = lex_word(rest[len(op):])
                if arg is None:
                    return None, n
                return Var(name, quoted, op, arg), j + 1
        return Unknown("${" + body + "}", quoted), j + 1
    if d.isalpha() or d == "_":
        end = _name_end(word, i + 1)
        return Var(word[i + 1:end], quoted), end
    if d.isdigit() or d in "@*#?$!-":
        return Unknown("$" + d, quoted), i + 2
    return Lit("$", quoted), i + 1


def resolve_path(word: str, *, cwd: str, env: Mapping[str, str], home: str) -> str | None:
    """The absolute, normalised path a shell word names, or None when it cannot be known statically
    (an unknown ``$VAR``, a command substitution, a word that expands to several words).

    Glob characters are kept (``/tmp/*``).  A word that is not well-formed shell (an unterminated
    quote) is taken literally.
    """
    parts = lex_word(word)
    if parts is None:
        parts = (Lit(word, True),)
    words = expand(parts, env=env, home=home, cwd=cwd)
    if words is None or len(words) != 1 or not words[0].text:
        return None
    return join_path(cwd, words[0].text)
