"""The mongo shell's JavaScript, as database statements: every call is found (a name followed by
``(``) and classified by its last name in ``data/queries.toml`` ([mongo]): ``db.users.find()`` reads,
``db.dropDatabase()`` and ``db.users.drop()`` discard, ``deleteMany({})`` (an empty filter) discards
every document, ``aggregate`` with ``$out``/``$merge`` writes, ``runCommand({drop: ...})`` is decided
by its command's name.  A call the tables do not list (``require``, ``eval``, a function of the
script's own) is unknown: opaque, never low.  Strings and comments are set apart first; a string or
comment that does not end is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .queries import QueryAnalyser

_Tok = tuple[str, str]
# Words followed by "(" that are the language's, not calls.
_KEYWORDS = frozenset({"if", "for", "while", "switch", "catch", "function", "return", "typeof", "await", "new",
                       "async", "of", "in", "do", "else", "let", "const", "var", "with"})


class _Unlexed(ValueError):
    pass


def _tokens(src: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c.isspace():
            if c == "\n":
                out.append(("nl", "\n"))
            i += 1
        elif src.startswith("//", i):
            j = src.find("\n", i)
            i = n if j < 0 else j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            if j < 0:
                raise _Unlexed("an unterminated comment")
            i = j + 2
        elif c in "'\"`":
            j = i + 1
            buf: list[str] = []
            while True:
                if j >= n:
                    raise _Unlexed(f"an unterminated {c} string")
                if src[j] == "\\" and j + 1 < n:
                    buf.append(src[j + 1])
                    j += 2
                    continue
                if src[j] == c:
                    break
                if c == "`" and src.startswith("${", j):
                    raise _Unlexed("a template string with an interpolation")
                buf.append(src[j])
                j += 1
            out.append(("s", "".join(buf)))
            i = j + 1
        elif c.isalpha() or c in "_$":
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] in "_$"):
                j += 1
            out.append(("w", src[i:j]))
            i = j
        elif c.isdigit():
            j = i + 1
            while j < n and (src[j].isalnum() or src[j] == "."):
                j += 1
            out.append(("n", src[i:j]))
            i = j
        else:
            out.append(("p", c))
            i += 1
    return out


def _args(toks: list[_Tok], open_at: int) -> list[_Tok]:
    """The tokens between the "(" at ``open_at`` and its ")"."""
    depth = 0
    for j in range(open_at, len(toks)):
        if toks[j][1] in "([{" and toks[j][0] == "p":
            depth += 1
        elif toks[j][1] in ")]}" and toks[j][0] == "p":
            depth -= 1
            if depth == 0:
                return toks[open_at + 1:j]
    return toks[open_at + 1:]


def mongo(a: "QueryAnalyser", src: str) -> None:
    """Classify every call of a mongo shell text into ``a``'s findings."""
    try:
        toks = _tokens(src)
    except _Unlexed as exc:
        a.unknown(f"the mongo shell text does not lex ({exc})")
        return
    table = a.t.words["mongo"]
    commands = a.t.words["mongo_commands"]
    line_start = True
    for j, (kind, text) in enumerate(toks):
        if kind == "nl" or (kind == "p" and text == ";"):
            line_start = True
            continue
        if line_start and kind == "w" and table.get(text) == "words" and (
                j + 1 >= len(toks) or toks[j + 1][0] in ("w", "nl") or toks[j + 1] == ("p", ";")):
            a.found("read", text, "a mongo shell helper")
            line_start = False
            continue
        line_start = False
        if kind != "w" or j + 1 >= len(toks) or toks[j + 1] != ("p", "(") or text in _KEYWORDS:
            continue
        if j > 0 and toks[j - 1] == ("w", "function"):
            continue  # function name(...) { ... }: a definition, its calls are read where they are
        what = f"{text}()"
        cls = table.get(text)
        args = _args(toks, j + 1)
        if cls is None:
            a.unknown(f"{what}: a call the tables do not list")
        elif cls == "filter":
            empty = not args or [t for _, t in args[:2]] == ["{", "}"] and (len(args) == 2 or args[2] == ("p", ","))
            a.found("discard" if empty else "change", what,
                    "an empty filter: every document" if empty else "changes the documents its filter matches")
        elif cls == "pipeline":
            writes = any(t in ("$out", "$merge") for k, t in args if k in ("w", "s"))
            a.found("change" if writes else "read", what, "writes its results to a collection" if writes
                    else "reads documents")
        elif cls == "command":
            name = ""
            if args and args[0] == ("p", "{") and len(args) > 1 and args[1][0] in ("w", "s"):
                name = args[1][1]
            elif args and args[0][0] == "s":
                name = args[0][1]
            sub = commands.get(name)
            if sub is None:
                a.unknown(f"{what} {name or '?'}: a database command the tables do not list")
            else:
                a.found(sub, f"{what} {name}", "a database command")
        elif cls == "script":
            a.unknown(f"{what}: runs a script file the analysis cannot see")
        elif cls == "program":
            words = [t for k, t in args if k == "s"]
            if words and all(k in ("s", "p") and (k == "s" or t == ",") for k, t in args):
                a.out.argv(what, list(words))
            else:
                a.unknown(f"{what}: runs a program named at run time")
        elif cls == "words":
            a.found("read", what, "a mongo shell helper")
        else:
            a.found(cls, what, {"discard": "removes the collection, database or index: data lost",
                                "danger": "changes the server itself"}.get(cls, "a mongo method"))
