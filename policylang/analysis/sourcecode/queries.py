"""Database statements: what SQL (PostgreSQL, MySQL, SQLite, with psql's backslash commands, the
mysql client's commands and sqlite3's dot commands), Redis commands and mongo shell calls do.

A small table-driven classifier, not a parser of each dialect: the text is split into tokens
(strings, quoted names, dollar-quoted bodies and comments set apart, as the servers read them),
tokens into statements at ``;``, and each statement is put in a class by its first keyword
(``data/queries.toml``): ``read`` (low), ``change`` (medium), ``danger`` (high), ``discard`` (high,
and a discard effect: rows or objects lost) or ``unknown`` (opaque: never low).  A few classes look
further (``check`` in the data): ``DELETE``/``UPDATE`` without a ``WHERE`` at the top level that names
a column are discards, ``ALTER ... DROP`` is one, ``EXPLAIN ANALYZE`` runs its statement, a ``WITH``
query may hold data-modifying statements, ``COPY ... PROGRAM`` runs a command, ``SELECT ... INTO
OUTFILE`` writes a file.  MySQL's ``/*! ... */`` comments are run by the server: their text is read as
statements.  Text that does not lex (an unterminated string or comment) and a statement the tables
do not list are unknown.

Commands the statements run on the client (``\\! cmd``, ``.shell cmd``, ``system cmd``, ``\\copy ...
program 'cmd'``) go back to the shell analysis; files they write or read are path effects; a script
they include (``\\i f``, ``.read f``, ``source f``) cannot be seen: unknown.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator, Mapping

from ...verdict import Risk
from .collector import Out
from .findings import MAX_EFFECTS
from .values import render

DIALECTS = frozenset({"postgresql", "mysql", "sqlite", "redis", "redis_argv", "mongo"})
_CLASSES = ("read", "change", "danger", "discard", "unknown")


class _Unlexed(ValueError):
    """Text the servers would not read as statements (an unterminated string or comment)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    cls: str
    why: str
    check: str = ""


@dataclass(frozen=True, slots=True)
class Tables:
    risk: Mapping[str, Risk]
    statements: Mapping[str, _Entry]
    pairs: Mapping[str, _Entry]
    alter: Mapping[str, frozenset[str]]
    functions: Mapping[str, _Entry]
    words: Mapping[str, Mapping[str, str]]  # section -> word -> what it is (psql, mysql_client, sqlite_dot, redis, mongo...)
    letters: Mapping[str, str]  # mysql \x -> command
    redis_pairs: Mapping[str, str]
    languages: Mapping[str, str]  # a language name -> its dialect


def _entry(spec: Any, where: str) -> _Entry:
    if not isinstance(spec, dict) or spec.get("class") not in _CLASSES or not isinstance(spec.get("why"), str):
        raise ValueError(f"queries.toml {where}: needs class (one of {', '.join(_CLASSES)}) and why")
    return _Entry(spec["class"], spec["why"], str(spec.get("check", "")))


def _by_word(section: Mapping[str, Any], fold: bool) -> dict[str, str]:
    out: dict[str, str] = {}
    for what, names in section.items():
        if isinstance(names, list):
            for n in names:
                out[n.casefold() if fold else n] = what
    return out


@lru_cache(maxsize=1)
def tables() -> Tables:
    """The tables of data/queries.toml (checked: a class that does not exist is an error)."""
    text = resources.files(__package__).joinpath("data").joinpath("queries.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    risk = {k: Risk.parse(v) for k, v in data["classes"].items()}
    if set(risk) != set(_CLASSES):
        raise ValueError(f"queries.toml [classes]: expected {', '.join(_CLASSES)}")
    sql = data["sql"]
    words = {
        "psql": _by_word(data["psql"], False),
        "mysql_client": _by_word(data["mysql_client"], True),
        "sqlite_dot": _by_word(data["sqlite_dot"], True),
        "redis": _by_word(data["redis"], True),
        "mongo": _by_word(data["mongo"], False),
        "mongo_commands": _by_word(data["mongo"]["commands"], False),
    }
    for section, table in words.items():
        bad = {w for w in table.values()} - {*_CLASSES, "file_write", "file_read", "file_write_second", "output",
                                              "script", "shell", "copy", "pager", "filter", "pipeline", "command",
                                              "program", "words"}
        if bad:
            raise ValueError(f"queries.toml [{section}]: unknown kinds {', '.join(sorted(bad))}")
    return Tables(
        risk=risk,
        statements={k: _entry(v, f"[sql.statements] {k}") for k, v in sql["statements"].items()},
        pairs={k: _entry(v, f"[sql.pairs] {k}") for k, v in sql["pairs"].items()},
        alter={k: frozenset(v) for k, v in sql["alter"].items()},
        functions={k: _entry(v, f"[sql.functions] {k}") for k, v in sql["functions"].items()},
        words=words,
        letters=dict(data["mysql_client"]["letters"]),
        redis_pairs={k: v for k, v in data["redis"]["pairs"].items()},
        languages={name: dialect for dialect, names in data["languages"].items() for name in names},
    )


def query_dialect(name: str) -> str | None:
    """The dialect a language name is read as (``psql`` -> ``postgresql``), or None."""
    dialect = tables().languages.get(name)
    return dialect if dialect in DIALECTS else None


# ---- tokens ------------------------------------------------------------------------------------

# A token: (kind, text).  Kinds: "w" word (a keyword or a name), "q" quoted name, "s" string,
# "n" number, "p" punctuation, "m" a client command (psql \x, mysql \x or a client word, sqlite .x).
_Tok = tuple[str, str]
_PUNCT2 = ("::", "<=", ">=", "<>", "!=", "||", "->", "=>")


class _Lexer:
    """SQL text -> statements (lists of tokens) and client commands, for one dialect."""

    def __init__(self, dialect: str, src: str) -> None:
        self.d = dialect
        self.src = src
        self.n = len(src)
        self.stmts: list[list[_Tok]] = []
        self.cur: list[_Tok] = []

    def run(self) -> list[list[_Tok]]:
        self._lex(0, self.n)
        self._end()
        return self.stmts

    def _end(self) -> None:
        if self.cur:
            self.stmts.append(self.cur)
        self.cur = []

    def _line_end(self, i: int) -> int:
        j = self.src.find("\n", i)
        return self.n if j < 0 else j

    def _lex(self, i: int, stop: int) -> None:
        src, d = self.src, self.d
        while i < stop:
            c = src[i]
            if c.isspace():
                i += 1
            elif c == ";":
                self._end()
                i += 1
            elif (src.startswith("--", i) and (d != "mysql" or i + 2 >= stop or src[i + 2].isspace())) or (
                    c == "#" and d == "mysql"):
                i = self._line_end(i)  # MySQL's -- comment needs a blank after it: --1 is minus minus one
            elif src.startswith("/*", i):
                i = self._block_comment(i, stop)
            elif c == "\\" and d in ("postgresql", "mysql"):
                i = self._backslash(i, stop)
            elif c == "." and d == "sqlite" and not self.cur:
                end = self._line_end(i)
                self._end()
                self.stmts.append([("m", "." + src[i + 1:end].strip())])
                i = end
            elif c in "'\"`[" or (c in "eEbBxXnN" and src.startswith("'", i + 1)):
                i = self._quoted(i, stop)
            elif c == "$" and d == "postgresql" and self._dollar_tag(i) is not None:
                tag = self._dollar_tag(i) or ""
                end = src.find(tag, i + len(tag))
                if end < 0 or end >= stop:
                    raise _Unlexed("an unterminated dollar-quoted string")
                self.cur.append(("s", src[i + len(tag):end]))
                i = end + len(tag)
            elif c.isalpha() or c == "_" or ord(c) > 127:
                j = i + 1
                while j < stop and (src[j].isalnum() or src[j] in "_$" or ord(src[j]) > 127):
                    j += 1
                word = src[i:j]
                if d == "mysql" and not self.cur and word.casefold() in self._client_words():
                    end = self._line_end(i)
                    self.stmts.append([("m", src[i:end].strip())])
                    i = end
                    continue
                self.cur.append(("w", word))
                i = j
            elif c.isdigit():
                j = i + 1
                while j < stop and (src[j].isalnum() or src[j] in "._"):
                    j += 1
                self.cur.append(("n", src[i:j]))
                i = j
            else:
                two = src[i:i + 2]
                if two in _PUNCT2:
                    self.cur.append(("p", two))
                    i += 2
                else:
                    self.cur.append(("p", c))
                    i += 1

    def _client_words(self) -> Mapping[str, str]:
        return tables().words["mysql_client"]

    def _block_comment(self, i: int, stop: int) -> int:
        src = self.src
        if self.d != "postgresql" and src.startswith("/*!", i):
            end = src.find("*/", i + 3)
            if end < 0 or end >= stop:
                raise _Unlexed("an unterminated /*! comment")
            j = i + 3
            while j < end and src[j].isdigit():
                j += 1  # /*!50000 ...: a version, then statements the server runs
            self._lex(j, end)
            return end + 2
        depth, j = 1, i + 2
        while depth:
            a = src.find("*/", j, stop)
            b = src.find("/*", j, stop) if self.d == "postgresql" else -1
            if a < 0:
                raise _Unlexed("an unterminated /* comment")
            if 0 <= b < a:
                depth, j = depth + 1, b + 2
            else:
                depth, j = depth - 1, a + 2
        return j

    def _quoted(self, i: int, stop: int) -> int:
        src = self.src
        prefix = ""
        if src[i] not in "'\"`[":
            prefix, i = src[i].casefold(), i + 1
        q = src[i]
        close = "]" if q == "[" else q
        if q == "[" and self.d != "sqlite":
            self.cur.append(("p", "["))
            return i + 1
        backslash = q != "`" and q != "[" and (self.d == "mysql" or (prefix == "e" and self.d == "postgresql"))
        j = i + 1
        out: list[str] = []
        while True:
            if j >= stop:
                raise _Unlexed(f"an unterminated {q} quote")
            ch = src[j]
            if backslash and ch == "\\" and j + 1 < stop:
                out.append(src[j + 1])
                j += 2
                continue
            if ch == close:
                if j + 1 < stop and src[j + 1] == close and q != "[":
                    out.append(ch)
                    j += 2
                    continue
                break
            out.append(ch)
            j += 1
        kind = "s" if q == "'" or (q == '"' and self.d == "mysql") else "q"
        self.cur.append((kind, "".join(out)))
        return j + 1

    def _dollar_tag(self, i: int) -> str | None:
        src = self.src
        j = i + 1
        while j < self.n and (src[j].isalnum() or src[j] == "_"):
            j += 1
        if j < self.n and src[j] == "$" and not src[i + 1:j][:1].isdigit():
            return src[i:j + 1]
        return None

    def _backslash(self, i: int, stop: int) -> int:
        """psql's ``\\cmd args`` (to the end of the line or ``\\\\``); mysql's ``\\x`` shortcuts."""
        src = self.src
        if self.d == "mysql":
            letter = src[i + 1:i + 2]
            command = tables().letters.get(letter)
            if command in ("go", "ego"):  # \g, \G end the statement
                self._end()
                return i + 2
            end = self._line_end(i)
            self._end()
            self.stmts.append([("m", (command or "\\" + letter) + " " + src[i + 2:end].strip())])
            return end
        end = self._line_end(i)
        sep = src.find("\\\\", i + 1, end)
        if sep >= 0:
            end = sep
        self._end()  # a backslash command ends the statement before it (\g sends it)
        self.stmts.append([("m", src[i + 1:end].strip())])
        return end + 2 if sep >= 0 else end


# ---- the analyser ------------------------------------------------------------------------------

class QueryAnalyser:
    """Analysis of one text of database statements in a dialect (see the module's docstring)."""

    def __init__(self, dialect: str, source: str, out: Out) -> None:
        self.d = dialect
        self.src = source
        self.out = out
        self.t = tables()

    def run(self) -> None:
        if self.d in ("redis", "redis_argv"):
            self._redis()
            return
        if self.d == "mongo":
            from .queries_mongo import mongo

            mongo(self, self.src)
            return
        try:
            stmts = _Lexer(self.d, self.src).run()
        except _Unlexed as exc:
            self.unknown(f"the {self.d} text does not lex ({exc})")
            return
        for toks in stmts:
            self.out.budget.steps -= len(toks) + 1
            if self.out.budget.steps < 0:
                self.unknown("the statements are too long to analyse in full")
                return
            if len(toks) == 1 and toks[0][0] == "m":
                self._client(toks[0][1])
            else:
                self._statement(toks)

    # -- findings
    def found(self, cls: str, what: str, why: str) -> None:
        """A statement of class ``cls``: its risk, and a discard effect for a discard."""
        if cls == "unknown":
            self.unknown(f"{what}: {why}")
            return
        self.out.risks.append(self.t.risk[cls] if cls != "discard" else self.t.risk["read"])
        if cls == "discard":
            text = f"{what}: {why}"
            if len(self.out.effects) < MAX_EFFECTS and ("discard", text, False) not in self.out.effects:
                self.out.effects.append(("discard", text, False))
        self.out.note(f"{what}: {why}")

    def unknown(self, reason: str) -> None:
        self.out.make_opaque(reason)

    def file(self, kind: str, path: str, why: str) -> None:
        if path and path not in ("-", "/dev/stdout", "/dev/stderr"):
            self.out.effect(kind, path, False, why)

    def command(self, cmd: str, why: str) -> None:
        if cmd.strip():
            self.out.command(cmd.strip(), f"{why}: {render(cmd.strip())}")

    # -- SQL statements
    def _statement(self, toks: list[_Tok]) -> None:
        k = 0
        while k < len(toks) and toks[k] == ("p", "("):
            k += 1  # (SELECT ...) UNION (SELECT ...)
        if k >= len(toks) or toks[k][0] != "w":
            self.unknown(f"a statement that does not start with a keyword: {_show(toks)}")
            return
        first = toks[k][1].casefold()
        second = toks[k + 1][1].casefold() if k + 1 < len(toks) and toks[k + 1][0] == "w" else ""
        head = _show(toks[k:k + 3])
        entry = self.t.pairs.get(f"{first} {second}") or self.t.statements.get(first)
        if entry is None:
            self.unknown(f"{head}: a statement the tables do not list")
            return
        cls, why = entry.cls, entry.why
        if entry.check:
            cls = getattr(self, "_check_" + entry.check)(toks[k:], cls, head)
            if cls == "discard" and entry.cls != "discard":
                why = _DISCARD_WHY.get(entry.check, why)
        self.found(cls, head, why)
        self._functions(toks)

    def _functions(self, toks: list[_Tok]) -> None:
        for j in range(len(toks) - 1):
            if toks[j][0] == "w" and toks[j + 1] == ("p", "("):
                entry = self.t.functions.get(toks[j][1].casefold())
                if entry is not None:
                    self.found(entry.cls, f"{toks[j][1]}()", entry.why)

    def _check_second(self, toks: list[_Tok], cls: str, head: str) -> str:
        return cls  # the pairs table has already chosen

    def _check_where(self, toks: list[_Tok], cls: str, head: str) -> str:
        """DELETE/UPDATE: every row, unless a WHERE at the top level tests a column."""
        for j, kind, text in _top_level(toks):
            if kind == "w" and text.casefold() == "where":
                cond = toks[j + 1:]
                if any(kind2 in ("w", "q") and t2.casefold() not in _LITERAL_WORDS for kind2, t2 in cond):
                    return cls
                return "discard"  # WHERE 1=1, WHERE true: every row
        return "discard"

    def _check_alter(self, toks: list[_Tok], cls: str, head: str) -> str:
        for j, kind, text in _top_level(toks):
            if kind == "w" and j > 0:
                word = text.casefold()
                if word not in self.t.alter["discard"]:
                    continue
                nxt = toks[j + 1][1].casefold() if j + 1 < len(toks) and toks[j + 1][0] == "w" else ""
                if word == "drop" and nxt in self.t.alter["harmless_drop"]:
                    continue
                if word == "remove" and nxt in self.t.alter["harmless_remove"]:
                    continue
                if word in ("discard", "coalesce", "remove") and nxt not in ("tablespace", "partition", ""):
                    continue
                return "discard"
        return cls

    def _check_select(self, toks: list[_Tok], cls: str, head: str) -> str:
        for j, (kind, text) in enumerate(toks):
            if kind == "w" and text.casefold() == "into" and j + 1 < len(toks):
                nxt = toks[j + 1]
                if nxt[0] == "w" and nxt[1].casefold() in ("outfile", "dumpfile"):
                    self.found("danger", f"SELECT ... INTO {nxt[1].upper()}", "writes a file on the server")
                    return cls
                return "change"  # SELECT ... INTO new_table
        return cls

    def _check_explain(self, toks: list[_Tok], cls: str, head: str) -> str:
        words = [t.casefold() for _, t in toks[1:4]]
        if "analyze" in words or "analyse" in words:
            k = 1
            while k < len(toks) and (toks[k][0] != "w" or toks[k][1].casefold() not in self.t.statements
                                     or toks[k][1].casefold() in ("analyze", "analyse", "explain")):
                k += 1
            if k < len(toks):
                self._statement(toks[k:])  # EXPLAIN ANALYZE runs the statement
            return cls
        return cls

    def _check_with(self, toks: list[_Tok], cls: str, head: str) -> str:
        """WITH x AS (DELETE ...) SELECT ...: each parenthesised statement, then the main one."""
        depth = 0
        main = None
        for j, (kind, text) in enumerate(toks):
            if kind == "p" and text == "(":
                depth += 1
                if j + 1 < len(toks) and toks[j + 1][0] == "w" and toks[j + 1][1].casefold() in _DML:
                    end = _closing(toks, j)
                    self._statement(toks[j + 1:end])
            elif kind == "p" and text == ")":
                depth -= 1
            elif depth == 0 and kind == "w" and j > 0 and text.casefold() in _DML | {"select"} and main is None:
                main = j
        if main is not None and toks[main][1].casefold() != "select":
            self._statement(toks[main:])
        return cls

    def _check_copy(self, toks: list[_Tok], cls: str, head: str) -> str:
        """COPY ... FROM|TO PROGRAM 'cmd' runs a command (on the server: judged as if here); FROM|TO
        'file' reads or writes a file on the server."""
        for j, (kind, text) in enumerate(toks[:-1]):
            word = text.casefold()
            if kind != "w" or word not in ("from", "to"):
                continue
            nxt = toks[j + 1]
            if nxt[0] == "w" and nxt[1].casefold() == "program":
                if j + 2 < len(toks) and toks[j + 2][0] == "s":
                    self.command(toks[j + 2][1], "COPY ... PROGRAM runs a command")
                    return "danger"
                return "unknown"
            if nxt[0] == "s":
                return "danger" if word == "to" else cls
        return cls

    def _check_pragma(self, toks: list[_Tok], cls: str, head: str) -> str:
        return "change" if any(t == ("p", "=") for t in toks) else cls

    def _check_procedural(self, toks: list[_Tok], cls: str, head: str) -> str:
        """DO $$ ... $$: the body is procedural code; a statement in it that loses data is a discard."""
        for kind, text in toks:
            if kind != "s":
                continue
            try:
                body = _Lexer(self.d, text).run()
            except _Unlexed:
                continue
            for stmt in body:
                for j, (k2, t2) in enumerate(stmt):
                    word = t2.casefold()
                    if k2 == "w" and word in ("drop", "truncate"):
                        return "discard"
                    if k2 == "w" and word in ("delete", "update") and self._check_where(stmt[j:], "change", "") == "discard":
                        return "discard"
        return cls

    # -- client commands
    def _client(self, text: str) -> None:
        if self.d == "postgresql":
            self._psql(text)
        elif self.d == "mysql":
            self._mysql_client(text)
        else:
            self._sqlite_dot(text)

    def _psql(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        if name.startswith("!"):
            name, arg = "!", text[1:]
        base = name.rstrip("+S")
        kind = self.t.words["psql"].get(name) or self.t.words["psql"].get(base)
        what = f"\\{name}"
        arg = arg.strip()
        if kind is None:
            self.unknown(f"{what}: a psql command the tables do not list")
        elif kind == "shell":
            self.command(arg, f"psql {what} runs a shell command")
            self.found("read", what, "runs a command on the client")
        elif kind in ("file_write", "output"):
            target = _first_word(arg)
            if target.startswith("|"):
                self.command(arg.lstrip()[1:], f"psql {what} pipes its output to a command")
            elif target:
                self.file("write", target, f"psql {what} writes {target}")
            self.found("read", what, "sets where results go")
        elif kind == "file_write_second":
            words = _split(arg)
            if len(words) >= 2:
                self.file("write", words[1], f"psql {what} writes {words[1]}")
            self.found("change", what, "exports a large object to a file")
        elif kind == "file_read":
            target = _first_word(arg)
            self.file("read", target, f"psql {what} reads {target}")
            self.found("change", what, "imports a file as a large object")
        elif kind == "script":
            self.unknown(f"{what} {arg}: runs the commands of a file the analysis cannot see")
        elif kind == "copy":
            self._psql_copy(arg)
        else:
            self.found(kind, what, "a psql command")

    def _psql_copy(self, arg: str) -> None:
        """\\copy TABLE from|to FILE|PROGRAM 'cmd'|stdin|stdout [...]: runs on the client."""
        words = _split(arg)
        low = [w.casefold() for w in words]
        for direction in ("from", "to"):
            if direction not in low:
                continue
            j = low.index(direction)
            target = words[j + 1] if j + 1 < len(words) else ""
            if target.casefold() == "program" and j + 2 < len(words):
                self.command(words[j + 2], "psql \\copy ... program runs a command")
            elif target.casefold() not in ("stdin", "stdout", "pstdin", "pstdout", ""):
                self.file("read" if direction == "from" else "write", target, f"psql \\copy {direction} {target}")
            self.found("change" if direction == "from" else "read", "\\copy", f"copies rows {direction} a file")
            return
        self.unknown(f"\\copy {arg[:60]}: not read")

    def _mysql_client(self, text: str) -> None:
        name, _, arg = text.partition(" ")
        kind = self.t.words["mysql_client"].get(name.casefold())
        arg = arg.strip()
        if kind is None:
            self.unknown(f"{name}: a mysql client command the tables do not list")
        elif kind == "shell":
            self.command(arg, "mysql system runs a shell command")
            self.found("read", name, "runs a command on the client")
        elif kind == "pager":
            if arg:
                self.command(arg, "mysql pager pipes results to a command")
            self.found("read", name, "sets a pager")
        elif kind == "file_write":
            self.file("write", _first_word(arg), f"mysql tee writes {_first_word(arg)}")
            self.found("read", name, "copies the output to a file")
        elif kind == "script":
            self.unknown(f"{name} {arg}: runs the statements of a file the analysis cannot see")
        elif kind == "read" and name.casefold() == "delimiter" and arg not in (";", ""):
            self.unknown("delimiter: the statements after it end at another delimiter")
        else:
            self.found(kind, name, "a mysql client command")

    def _sqlite_dot(self, text: str) -> None:
        words = _split(text[1:])
        if not words:
            return
        name = words[0].casefold()
        kind = self.t.words["sqlite_dot"].get(name)
        what = "." + name
        rest = text[1:].strip()[len(words[0]):].strip()
        if kind is None:
            self.unknown(f"{what}: a sqlite3 command the tables do not list")
        elif kind == "shell":
            self.command(rest, f"sqlite3 {what} runs a shell command")
            self.found("read", what, "runs a command")
        elif kind == "file_write":
            args = [w for w in words[1:] if not w.startswith("-")]
            target = args[-1] if args else ""
            if target.startswith("|"):
                self.command(target[1:], f"sqlite3 {what} pipes its output to a command")
            elif target:
                self.file("write", target, f"sqlite3 {what} writes {target}")
            if any(w in ("-x", "-e") for w in words[1:]):
                self.unknown(f"{what} -x/-e opens the output in another program")
            self.found("read", what, "writes a file")
        elif kind == "file_read":
            args = [w for w in words[1:] if not w.startswith("-")]
            if args:
                self.file("read", args[0], f"sqlite3 {what} reads {args[0]}")
            self.found("change", what, "imports rows from a file")
        elif kind == "script":
            self.unknown(f"{what} {rest}: runs the commands of a file the analysis cannot see")
        elif kind == "discard":
            self.found("discard", what, "replaces the database with a backup's contents")
        else:
            self.found(kind, what, "a sqlite3 command")

    # -- Redis
    def _redis(self) -> None:
        """One command per line (redis-cli's input); ``redis_argv``: the lines are the words of one."""
        if self.d == "redis_argv":
            self._redis_command(self.src.split("\n"))
            return
        for line in self.src.splitlines():
            try:
                words = shlex.split(line, comments=False)
            except ValueError:
                self.unknown(f"the redis command {line[:60]!r} does not split into words")
                continue
            if words:
                self._redis_command(words)

    def _redis_command(self, words: list[str]) -> None:
        name = words[0].casefold()
        sub = words[1].casefold() if len(words) > 1 else ""
        cls = self.t.redis_pairs.get(f"{name} {sub}") or self.t.words["redis"].get(name)
        what = " ".join(words[:2]).upper() if f"{name} {sub}" in self.t.redis_pairs else words[0].upper()
        if cls is None:
            self.unknown(f"{what}: a Redis command the tables do not list")
            return
        why = {"discard": "removes every key, script or function it names: data lost",
               "danger": "changes the server itself", "unknown": "runs a script on the server"}.get(cls, "")
        self.found(cls, what, why or f"{'reads' if cls == 'read' else 'changes'} keys")


# Why a statement whose class a check raised to discard loses data.
_DISCARD_WHY = {
    "where": "no WHERE that names a column: every row",
    "alter": "drops a column, constraint or partition, and its data",
    "procedural": "its body drops tables or deletes every row",
}
_DML = frozenset({"insert", "update", "delete", "merge"})
_LITERAL_WORDS = frozenset({"true", "false", "null", "not", "and", "or", "is", "like", "in", "between"})


def _top_level(toks: list[_Tok]) -> Iterator[tuple[int, str, str]]:
    """(index, kind, text) of each token outside parentheses (the parentheses themselves left out)."""
    depth = 0
    for j, (kind, text) in enumerate(toks):
        if kind == "p" and text == "(":
            depth += 1
        elif kind == "p" and text == ")":
            depth -= 1
        elif depth == 0:
            yield j, kind, text


def _closing(toks: list[_Tok], open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(toks)):
        if toks[j] == ("p", "("):
            depth += 1
        elif toks[j] == ("p", ")"):
            depth -= 1
            if depth == 0:
                return j
    return len(toks)


def _show(toks: list[_Tok]) -> str:
    return " ".join(t for _, t in toks)[:80]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _first_word(text: str) -> str:
    words = _split(text)
    return words[0] if words else ""
