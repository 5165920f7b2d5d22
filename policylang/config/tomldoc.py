"""TOML files checked against a JSON Schema, with every error placed at ``file:line:col``.

tomllib parses (it is strict and standard); a small scanner then walks the same text and records
where each key and each value starts, so that a schema error on ``security.mode`` points at the
value of ``mode`` in the ``[security]`` table, an unknown key at the key itself, and an error in
``safe_paths[2]`` at the third element of the array.  Errors carry a near miss from difflib for
misspelled keys and enum values.
"""
from __future__ import annotations

import bisect
import difflib
import errno
import json
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..diagnostics import Diagnostic
from ..inputs import MAX_TOML_BYTES, InputError, read_bytes
from .reads import note_file
from ..source import Span

_MAX_DEPTH = 64

PathKey = tuple["str | int", ...]

# Keys people write from the design text that live elsewhere in the schema.
_KEY_ALIASES = {
    "sandbox_mode": "sandbox.enabled",
    "presets": "preset",
    "allowlist": "allowlist_patterns",
    "denylist": "denylist_patterns",
    "policies": "policy_files",
    "policy_file": "policy_files",
    "acceptable_risk": "risk_threshold",
}


# ---- positions ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Located:
    """Offsets ``(start, end)`` of a key and of its value in the text (None when not known)."""

    key: tuple[int, int] | None
    value: tuple[int, int] | None


class _Stop(Exception):
    """The scanner met something it does not understand: keep what it found so far."""


class _Scanner:
    """Records the offsets of keys and values of a TOML text that tomllib already accepted."""

    _BARE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, text: str) -> None:
        self.t = text
        self.i = 0
        self.n = len(text)
        self.found: dict[PathKey, Located] = {}
        self._aot: dict[PathKey, int] = {}  # array-of-tables path -> elements seen

    def run(self) -> dict[PathKey, Located]:
        try:
            self._document()
        except (_Stop, IndexError, ValueError):
            pass
        return self.found

    # -- lexical helpers
    def _spaces(self) -> None:
        while self.i < self.n and self.t[self.i] in " \t":
            self.i += 1

    def _blank(self) -> None:
        """Whitespace, newlines and comments."""
        while self.i < self.n:
            c = self.t[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#":
                end = self.t.find("\n", self.i)
                self.i = self.n if end < 0 else end
            else:
                return

    def _expect(self, s: str) -> None:
        if not self.t.startswith(s, self.i):
            raise _Stop
        self.i += len(s)

    def _record(self, path: PathKey, key: tuple[int, int] | None, value: tuple[int, int] | None) -> None:
        old = self.found.get(path)
        if old is None:
            self.found[path] = Located(key, value)
        elif old.value is None and value is not None:
            self.found[path] = Located(old.key or key, value)

    # -- grammar
    def _document(self) -> None:
        table: PathKey = ()
        while True:
            self._blank()
            if self.i >= self.n:
                return
            if self.t[self.i] == "[":
                table = self._header()
            else:
                self._keyval(table, 0)
            self._spaces()
            if self.i < self.n and self.t[self.i] == "#":
                end = self.t.find("\n", self.i)
                self.i = self.n if end < 0 else end

    def _resolve(self, keys: Sequence[str]) -> PathKey:
        """A header's dotted key, with the current element index of every array of tables on the way."""
        out: list[str | int] = []
        for k in keys:
            out.append(k)
            count = self._aot.get(tuple(out))
            if count:
                out.append(count - 1)
        return tuple(out)

    def _header(self) -> PathKey:
        start = self.i
        aot = self.t.startswith("[[", self.i)
        self.i += 2 if aot else 1
        self._spaces()
        keys = self._key()
        self._spaces()
        self._expect("]]" if aot else "]")
        span = (start, self.i)
        names = [k for k, _ in keys]
        if aot:
            base = self._resolve(names[:-1]) + (names[-1],)
            count = self._aot.get(base, 0)
            self._aot[base] = count + 1
            self._record(base, span, None)
            path = base + (count,)
        else:
            path = self._resolve(names)
        for depth in range(1, len(path)):
            self._record(path[:depth], span, None)
        self._record(path, span, None)
        return path

    def _key(self) -> list[tuple[str, tuple[int, int]]]:
        keys: list[tuple[str, tuple[int, int]]] = []
        while True:
            self._spaces()
            start = self.i
            c = self.t[self.i]
            if c == '"':
                end = self._basic_string_end(self.i)
                name = json.loads(self.t[start:end]) if "\\" in self.t[start:end] else self.t[start + 1:end - 1]
                self.i = end
            elif c == "'":
                end = self.t.find("'", self.i + 1)
                if end < 0:
                    raise _Stop
                name = self.t[start + 1:end]
                self.i = end + 1
            else:
                m = self._BARE.match(self.t, self.i)
                if not m:
                    raise _Stop
                name = m.group()
                self.i = m.end()
            keys.append((name, (start, self.i)))
            self._spaces()
            if self.i < self.n and self.t[self.i] == ".":
                self.i += 1
                continue
            return keys

    def _keyval(self, table: PathKey, depth: int) -> None:
        keys = self._key()
        self._spaces()
        self._expect("=")
        self._spaces()
        path = table
        for name, span in keys[:-1]:
            path = path + (name,)
            self._record(path, span, None)
        path = path + (keys[-1][0],)
        key_span = (keys[0][1][0], keys[-1][1][1])
        self._value(path, key_span, depth)

    def _basic_string_end(self, i: int) -> int:
        j = i + 1
        while j < self.n:
            c = self.t[j]
            if c == "\\":
                j += 2
                continue
            if c == '"':
                return j + 1
            if c == "\n":
                raise _Stop
            j += 1
        raise _Stop

    def _multiline_end(self, i: int, quote: str) -> int:
        delim = quote * 3
        j = i + 3
        while j < self.n:
            if quote == '"' and self.t[j] == "\\":
                j += 2
                continue
            if self.t.startswith(delim, j):
                end = j + 3
                extra = 0
                while end < self.n and self.t[end] == quote and extra < 2:
                    end += 1
                    extra += 1
                return end
            j += 1
        raise _Stop

    def _value(self, path: PathKey, key_span: tuple[int, int] | None, depth: int) -> None:
        if depth > _MAX_DEPTH:
            raise _Stop
        start = self.i
        c = self.t[self.i]
        if self.t.startswith('"""', self.i) or self.t.startswith("'''", self.i):
            self.i = self._multiline_end(self.i, c)
        elif c == '"':
            self.i = self._basic_string_end(self.i)
        elif c == "'":
            end = self.t.find("'", self.i + 1)
            if end < 0:
                raise _Stop
            self.i = end + 1
        elif c == "[":
            self._record(path, key_span, (start, start + 1))
            self.i += 1
            index = 0
            while True:
                self._blank()
                if self.t[self.i] == "]":
                    self.i += 1
                    break
                self._value(path + (index,), None, depth + 1)
                index += 1
                self._blank()
                if self.t[self.i] == ",":
                    self.i += 1
        elif c == "{":
            self._record(path, key_span, (start, start + 1))
            self.i += 1
            while True:
                self._spaces()
                if self.t[self.i] == "}":
                    self.i += 1
                    break
                self._keyval(path, depth + 1)
                self._spaces()
                if self.t[self.i] == ",":
                    self.i += 1
        else:
            j = self.i
            while j < self.n and self.t[j] not in ",]}#\r\n":
                j += 1
            while j > self.i and self.t[j - 1] in " \t":
                j -= 1
            if j == self.i:
                raise _Stop
            self.i = j
        if c in "[{":
            self.found[path] = Located(key_span, (start, self.i))
        else:
            self._record(path, key_span, (start, self.i))


# ---- documents ---------------------------------------------------------------------------------

@dataclass
class TomlDocument:
    """A TOML file: its text, its data (None when it does not parse) and where each key is."""

    name: str  # the name it is reported under (the path as the user gave it)
    text: str
    data: dict[str, Any] | None
    positions: dict[PathKey, Located] = field(default_factory=dict)
    _line_starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def span_at(self, start: int, end: int | None = None) -> Span:
        """A Span for character offsets in the text."""
        start = max(0, min(start, len(self.text)))
        end = start if end is None else max(start, min(end, len(self.text)))
        line = bisect.bisect_right(self._line_starts, start)
        col = start - self._line_starts[line - 1] + 1
        end_line = bisect.bisect_right(self._line_starts, end)
        end_col = end - self._line_starts[end_line - 1] + 1
        return Span(self.name, line, col, start, end, end_line, end_col)

    def line_text(self, line: int) -> str:
        if not 0 < line <= len(self._line_starts):
            return ""
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end < 0 else self.text[start:end].rstrip("\r")

    def locate(self, path: Sequence[str | int], *, prefer: str = "value") -> Span:
        """Where ``path`` is written: its value (or its key with ``prefer="key"``); the nearest
        enclosing key when the path itself is not written (a missing key); else the file start."""
        p = tuple(path)
        while p:
            loc = self.positions.get(p)
            if loc is not None:
                first, second = (loc.key, loc.value) if prefer == "key" else (loc.value, loc.key)
                chosen = first or second
                if chosen is not None:
                    if chosen == loc.value and chosen[1] - chosen[0] > 1 and self.text[chosen[0]] in "[{":
                        return self.span_at(chosen[0], chosen[0] + 1)
                    return self.span_at(*chosen)
            p = p[:-1]
        return self.span_at(0, 0)

    def has(self, path: Sequence[str | int]) -> bool:
        return tuple(path) in self.positions

    def where(self, path: Sequence[str | int]) -> str:
        """``file:line:col`` of the key at ``path``."""
        return str(self.locate(path, prefer="key"))

    def diagnostic(self, severity: str, code: str, message: str, path: Sequence[str | int] = (), *,
                   prefer: str = "value", hint: str | None = None, expected: Sequence[str] = ()) -> Diagnostic:
        span = self.locate(path, prefer=prefer)
        return Diagnostic(severity, code, message, span, self.line_text(span.line), tuple(expected), hint)


_TOMLLIB_POS = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_TUPLE_KEY = re.compile(r"\((?:'(?:[^'\\]|\\.)*',?\s*)+\)")


def _tidy_tomllib_message(msg: str) -> str:
    def dotted(m: re.Match[str]) -> str:
        return ".".join(re.findall(r"'((?:[^'\\]|\\.)*)'", m.group()))
    msg = _TUPLE_KEY.sub(lambda m: "[" + dotted(m) + "]", msg)
    return msg[:1].lower() + msg[1:]


def parse_toml(text: str, name: str) -> tuple[TomlDocument, list[Diagnostic]]:
    """Parse TOML text; on a syntax error return a document with ``data=None`` and the error."""
    if len(text) > MAX_TOML_BYTES:
        doc = TomlDocument(name, "", None)
        return doc, [Diagnostic("error", "too-large", f"file is larger than {MAX_TOML_BYTES} bytes",
                                doc.span_at(0))]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        doc = TomlDocument(name, text, None)
        msg = str(err)
        m = _TOMLLIB_POS.search(msg)
        offset = len(text)
        if m:
            msg = msg[:m.start()]
            if m.group(1):
                line, col = int(m.group(1)), int(m.group(2))
                starts = doc._line_starts
                offset = starts[min(line, len(starts)) - 1] + col - 1
        span = doc.span_at(offset, offset + 1)
        return doc, [Diagnostic("error", "toml-syntax", "invalid TOML: " + _tidy_tomllib_message(msg), span,
                                doc.line_text(span.line))]
    except RecursionError:
        doc = TomlDocument(name, text, None)
        return doc, [Diagnostic("error", "toml-syntax", "invalid TOML: arrays or tables nested too deep",
                                doc.span_at(0), doc.line_text(1))]
    doc = TomlDocument(name, text, data, _Scanner(text).run())
    return doc, []


def read_toml(path: str, name: str | None = None) -> tuple[TomlDocument, list[Diagnostic]]:
    """Read and parse a TOML file; an unreadable file is an error diagnostic, never an exception."""
    display = name if name is not None else path
    try:
        raw = read_bytes(path, MAX_TOML_BYTES)  # a FIFO, device or directory is refused unopened
    except OSError as err:
        note_file(path, MAX_TOML_BYTES + 1, None)
        doc = TomlDocument(display, "", None)
        if err.errno == errno.EFBIG:
            return doc, [Diagnostic("error", "too-large", f"{display} is larger than {MAX_TOML_BYTES} bytes",
                                    doc.span_at(0))]
        why = str(err) if isinstance(err, InputError) else err.strerror or str(err)
        return doc, [Diagnostic("error", "missing-file", f"cannot read {display}: {why}", doc.span_at(0))]
    note_file(path, MAX_TOML_BYTES + 1, raw)
    if raw.startswith(b"\xef\xbb\xbf"):  # a byte order mark (Windows editors write one): not part of the TOML
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        doc = TomlDocument(display, raw.decode("utf-8", "replace"), None)
        span = doc.span_at(err.start)
        return doc, [Diagnostic("error", "toml-syntax", "invalid TOML: the file is not UTF-8", span,
                                doc.line_text(span.line))]
    return parse_toml(text, display)


# ---- schemas -----------------------------------------------------------------------------------

_VALIDATORS: dict[str, Any] = {}


def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in schemas/ (the package ``policylang.schemas``), e.g. ``config``."""
    text = resources.files("policylang.schemas").joinpath(f"{name}.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _validator(name: str) -> Any:
    """A draft 2020-12 validator for a shipped schema; all shipped schemas resolve each other."""
    v = _VALIDATORS.get(name)
    if v is None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
        from referencing import Registry, Resource

        registry: Registry[Any] = Registry()
        for other in ("config", "preset"):
            schema = load_schema(other)
            registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
        # The shipped schemas are checked against the metaschema by the tests, not on every start.
        v = Draft202012Validator(load_schema(name), registry=registry)
        _VALIDATORS[name] = v
    return v


def dotted(path: Iterable[str | int]) -> str:
    """``security.safe_paths[2]``: a key path as people write it."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            part = p if re.fullmatch(r"[A-Za-z0-9_-]+", p) else json.dumps(p)
            out += ("." if out else "") + part
    return out


_TYPE_WORDS = {
    "boolean": "a boolean (true or false)",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "array": "an array",
    "object": "a table",
    "null": "nothing",
}


def describe_value(value: Any) -> str:
    """A TOML value as an error message names it: ``a string 'yes'``, ``an integer 3``."""
    if isinstance(value, bool):
        return f"a boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"a string {_short(value)!r}"
    if isinstance(value, int):
        return f"an integer {value}"
    if isinstance(value, float):
        return f"a float {value}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date/time"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _fmt(value: Any) -> str:
    if isinstance(value, str):
        return repr(_short(value))
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def near_miss(word: str, candidates: Iterable[str]) -> str | None:
    """The closest candidate to a misspelled ``word``, if one is close enough."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


def _type_hint(expected: Sequence[str], value: Any) -> str | None:
    if "boolean" in expected and isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        word = "true" if value.strip().lower() in ("true", "yes", "on", "1") else "false"
        return f"write {word} without quotes"
    if "integer" in expected and isinstance(value, str) and value.strip().isdigit():
        return "write the number without quotes"
    if "array" in expected and not isinstance(value, list) and isinstance(value, str):
        return f"write a list: [{json.dumps(value)}]"
    return None


def schema_diagnostics(doc: TomlDocument, schema: str) -> list[Diagnostic]:
    """Every schema error of ``doc`` (parsed) against the shipped schema ``schema``, in file order."""
    if doc.data is None:
        return []
    out: list[tuple[int, int, str, Diagnostic]] = []
    validator = _validator(schema)
    for err in validator.iter_errors(doc.data):
        for d in _map_error(doc, err, validator.schema):
            assert d.span is not None
            out.append((d.span.start, d.span.column, d.message, d))
    out.sort(key=lambda t: (t[0], t[1], t[2]))
    seen: set[tuple[int, str]] = set()
    result: list[Diagnostic] = []
    for start, _, msg, d in out:
        if (start, msg) not in seen:
            seen.add((start, msg))
            result.append(d)
    return result


def _resolve(root: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if not isinstance(ref, str):
        return node
    file, _, pointer = ref.partition("#")
    base: Mapping[str, Any] = load_schema(file.removesuffix(".schema.json")) if file else root
    target: Any = base
    for part in pointer.strip("/").split("/"):
        target = target[part]
    return _resolve(base, target)


def _owner_of(root: Mapping[str, Any], path: Sequence[str | int], key: str) -> tuple[str | int, ...] | None:
    """The nearest enclosing table of ``path`` whose schema has the key ``key``."""
    chain: list[Mapping[str, Any]] = []
    node = _resolve(root, root)
    for part in path:
        chain.append(node)
        props = node.get("properties", {})
        if isinstance(part, int):
            node = _resolve(root, node.get("items", {}))
        elif part in props:
            node = _resolve(root, props[part])
        else:
            return None
    for depth in range(len(chain) - 1, -1, -1):
        if key in chain[depth].get("properties", {}):
            return tuple(path[:depth])
    return None


def _map_error(doc: TomlDocument, err: Any, root: Mapping[str, Any]) -> Iterator[Diagnostic]:
    path: tuple[str | int, ...] = tuple(err.absolute_path)
    where = dotted(path)
    kind = err.validator
    sch: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}
    value = err.instance
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = list(sch.get("properties", {}))
        for key in value:
            if key in allowed:
                continue
            full = path + (key,)
            guess = near_miss(key, allowed)
            alias = _KEY_ALIASES.get(key)
            msg = f"{dotted(full)}: unknown key {key!r}"
            expected: tuple[str, ...] = ()
            hint = None
            owner = _owner_of(root, path, key) if path else None
            if owner is not None:
                table = f"[{dotted(owner)}]" if owner else "the top level"
                hint = (f"{key!r} belongs to {table}: in TOML every key after a [{dotted(path)}] header "
                        f"belongs to that table, so write {key!r} before it")
            if alias and alias.split(".")[0] in allowed:
                msg += f" (did you mean {alias!r}?)"
            elif guess:
                msg += f" (did you mean {guess!r}?)"
            elif hint is None:
                expected = tuple(allowed)
            yield doc.diagnostic("error", "unknown-key", msg, full, prefer="key", expected=expected, hint=hint)
        return
    if kind == "enum":
        options = [str(o) for o in sch.get("enum", ())]
        msg = f"{where}: {_fmt(value)} is not one of {', '.join(options)}"
        if isinstance(value, str):
            guess = near_miss(value, options) or near_miss(value.lower(), options)
            if guess:
                msg += f" (did you mean {guess!r}?)"
        yield doc.diagnostic("error", "invalid-value", msg, path)
        return
    if kind == "type":
        types = sch.get("type")
        expected_types = [types] if isinstance(types, str) else list(types or ())
        words = [_TYPE_WORDS.get(t, t) for t in expected_types]
        if expected_types == ["string", "array"] and "items" in sch:
            words = ["a string", "an array of strings"]
        want = " or ".join(words)
        yield doc.diagnostic("error", "wrong-type", f"{where}: expected {want}, got {describe_value(value)}",
                             path, hint=_type_hint(expected_types, value))
        return
    if kind == "required":
        missing = [k for k in sch.get("required", ()) if isinstance(value, dict) and k not in value]
        for key in missing:
            yield doc.diagnostic("error", "missing-key", f"{where + ': ' if where else ''}missing required key {key!r}",
                                 path, prefer="key")
        return
    if kind == "pattern":
        what = sch.get("x-expected")
        msg = f"{where}: {_fmt(value)} is not {what}" if what else f"{where}: {_fmt(value)} does not match {sch.get('pattern')}"
        yield doc.diagnostic("error", "invalid-value", msg, path)
        return
    if kind == "minLength":
        n = sch.get("minLength", 1)
        msg = f"{where}: must not be empty" if n == 1 else f"{where}: must be at least {n} characters long"
        yield doc.diagnostic("error", "invalid-value", msg, path)
        return
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        bound = sch.get(kind)
        relation = {"minimum": "less than the minimum", "maximum": "greater than the maximum",
                    "exclusiveMinimum": "not greater than", "exclusiveMaximum": "not less than"}[kind]
        yield doc.diagnostic("error", "invalid-value", f"{where}: {_fmt(value)} is {relation} {bound}", path)
        return
    if kind in ("minItems", "maxItems"):
        bound = sch.get(kind)
        most = "at least" if kind == "minItems" else "at most"
        n = len(value) if isinstance(value, list) else 0
        plural = "" if bound == 1 else "s"
        yield doc.diagnostic("error", "invalid-value", f"{where}: expected {most} {bound} item{plural}, got {n}", path)
        return
    if kind == "uniqueItems" and isinstance(value, list):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                yield doc.diagnostic("error", "duplicate-item", f"{where}: {_fmt(item)} is listed more than once",
                                     path + (i,))
                return
            seen.append(item)
        return
    yield doc.diagnostic("error", "invalid-value", f"{where}: {err.message}", path)
