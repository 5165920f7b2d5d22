"""The secrets detector: credential formats (data/secrets.toml) found in a text, with their spans.

One RE2 set over every format's pattern is the prefilter: a text that no format matches costs one
linear pass and nothing else (the common case on the decide path).  Only the formats the set names
are then run one by one for their spans, and each value goes through the gates of its format
(entropy, length, mixed characters) and the placeholder filters (``EXAMPLE``, ``xxxx``, documented
test keys, data URIs).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from re2 import _re2  # type: ignore[import-untyped]

from ...regex import RegexSet, _OPTS

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NULL = (-1, -1)
#: Texts shorter than this hold no credential of any known format.
MIN_TEXT = 12
#: A text is scanned up to this many characters (a larger one: its head, and the verdict says so).
MAX_TEXT = 1_000_000


class Format(NamedTuple):
    id: str
    name: str
    pattern: str
    min_entropy: float
    min_length: int
    mixed: bool
    rx: Any  # the raw RE2 object


class Finding(NamedTuple):
    """One credential found: its format, where it is in the text (character offsets), its value."""

    format: str
    name: str
    start: int
    end: int
    value: str

    @property
    def marker(self) -> str:
        """What every output shows instead of the value."""
        return redaction_marker(self.format, self.value)


def redaction_marker(kind: str, value: str) -> str:
    """``[REDACTED kind:fingerprint]``: the fingerprint is 6 hex digits of SHA-256 of the value, enough
    to tell two secrets apart in a log, far too few to recover or confirm one."""
    from ...cache import sha256  # CPython's own SHA-256: hashlib would load OpenSSL first

    digest = sha256(b"policylang-secret:" + value.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    return f"[REDACTED {kind}:{digest}]"


class Catalog:
    """The formats of a catalog file, their prefilter set and the not-a-secret filters."""

    def __init__(self, data: dict[str, Any]):
        formats = []
        for f in data["format"]:
            formats.append(Format(f["id"], f["name"], f["pattern"], float(f.get("min_entropy", 0.0)),
                                  int(f.get("min_length", 0)), bool(f.get("mixed", False)), None))
        self.formats: list[Format] = formats
        # The set rejects a bad pattern here; each format's own regex is compiled when the set first
        # says it may match (a process that decides one action compiles one or two, not fifty).
        self.prefilter = RegexSet([f.pattern for f in formats], anchored=False)
        ns = data.get("not_secrets", {})
        self.markers = tuple(m.casefold() for m in ns.get("markers", ()))
        self.values = frozenset(ns.get("values", ()))
        self.url_defaults = frozenset(v.casefold() for v in ns.get("url_defaults", ()))

    def scan(self, text: str) -> list[Finding]:
        """Every credential in ``text``, in order of position, overlapping findings merged to the
        first and longest."""
        if len(text) < MIN_TEXT:
            return []
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT]
        hits = self.prefilter.match(text)
        if not hits:
            return []
        data = text.encode("utf-8", "surrogatepass")
        ascii_only = len(data) == len(text)
        found: list[Finding] = []
        for i in sorted(hits):
            fmt = self.formats[i]
            if fmt.rx is None:
                fmt = self.formats[i] = self._compiled(i)
            pos = 0
            while pos <= len(data):
                spans = fmt.rx.Match(_UNANCHORED, data, pos, len(data))
                whole = spans[0]
                if whole == _NULL:
                    break
                start, end = spans[1] if len(spans) > 1 and spans[1] != _NULL else whole
                pos = max(whole[1], whole[0] + 1)
                if not ascii_only:
                    start = len(data[:start].decode("utf-8", "replace"))
                    end = len(data[:end].decode("utf-8", "replace"))
                value = text[start:end]
                if self.keeps(fmt, value) and not _in_data_uri(text, start):
                    found.append(Finding(fmt.id, fmt.name, start, end, value))
        return _merge(found)

    def _compiled(self, i: int) -> Format:
        fmt = self.formats[i]
        rx = _re2.RE2(fmt.pattern.encode("utf-8"), _OPTS)
        if not rx.ok():
            raise ValueError(f"secrets catalog: format {fmt.id}: bad pattern")
        return fmt._replace(rx=rx)

    def keeps(self, fmt: Format, value: str) -> bool:
        """Does the value pass its format's gates and none of the placeholder filters?"""
        if value in self.values or len(value) < fmt.min_length:
            return False
        folded = value.casefold()
        if any(m in folded for m in self.markers):
            return False
        if fmt.id in ("database-url-password", "url-password"):
            return folded not in self.url_defaults and not value.startswith(("$", "%", "<", "{"))
        if _repetitive(value):
            return False
        if fmt.mixed and _classes(value) < 2:
            return False
        if fmt.min_entropy and entropy(value) < fmt.min_entropy:
            return False
        if fmt.id.startswith("generic") and (_uuid_or_hash(value) or _identifier(value)):
            return False
        return True


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    if n == 0:
        return 0.0
    counts: dict[str, int] = {}
    for c in value:
        counts[c] = counts.get(c, 0) + 1
    from math import log2  # here: only a candidate secret is measured (math is a shared library to load)

    return -sum(k / n * log2(k / n) for k in counts.values())


def _classes(value: str) -> int:
    return (any(c.islower() for c in value) + any(c.isupper() for c in value) + any(c.isdigit() for c in value))


def _repetitive(value: str) -> bool:
    """A run of 6 equal characters, or at most 3 distinct ones: a placeholder, not a key."""
    run, last = 0, ""
    for c in value:
        run = run + 1 if c == last else 1
        last = c
        if run >= 6:
            return True
    return len(set(value)) <= 3


_HEX = frozenset("0123456789abcdefABCDEF")


def _uuid_or_hash(value: str) -> bool:
    """A UUID, or a bare hex digest (git SHA, content hash): identifiers, not credentials."""
    bare = value.replace("-", "")
    if len(value) == 36 and value.count("-") == 4 and set(bare) <= _HEX:
        return True
    return len(value) in (32, 40, 56, 64, 96, 128) and set(value) <= _HEX and value == value.lower()


def _identifier(value: str) -> bool:
    """A name in code rather than a value: ``get_token()``, ``self.password``, ``os.environ.get``,
    a dotted or snake-case identifier of lower-case words, a path."""
    if value.startswith(("/", "./", "~", "http:", "https:", "file:")):
        return True
    letters = value.replace("_", "").replace(".", "").replace("-", "")
    return letters.isalpha() and (value.islower() or value.isupper() or "_" in value or "." in value)


def _in_data_uri(text: str, start: int) -> bool:
    """Is ``start`` inside a ``data:...;base64,`` payload (an inline image, a font)?"""
    head = text.rfind(";base64,", max(0, start - 100_000), start)
    if head < 0 or text.rfind("data:", max(0, head - 100), head) < 0:
        return False
    for c in text[head + 8:start]:
        if not (c.isalnum() or c in "+/="):
            return False
    return True


def _merge(found: list[Finding]) -> list[Finding]:
    """Overlapping findings: the one that starts first (the longest of those) is kept."""
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out: list[Finding] = []
    for f in found:
        if out and f.start < out[-1].end:
            continue
        out.append(f)
    return out


_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    """The built-in catalog, loaded once."""
    global _CATALOG
    if _CATALOG is None:
        _CATALOG = Catalog(_catalog_data())
    return _CATALOG


def _catalog_data() -> dict[str, Any]:
    """The parsed data/secrets.toml: from the private cache (cache.py) while the file is unchanged, so
    a process that scans one text imports no ``tomllib`` and parses nothing.  The file is read next
    to this module; ``importlib.resources`` only for a package that is not on a file system."""
    import os

    from ... import cache

    try:
        with open(os.path.join(os.path.dirname(__file__), "data", "secrets.toml"), encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        from importlib import resources

        text = resources.files("policylang.analysis.secretscan").joinpath("data/secrets.toml").read_text("utf-8")
    key = cache.key_of("secrets-data-1", text)
    hit = cache.load("secrets", key)
    if isinstance(hit, dict) and isinstance(hit.get("format"), list):
        return hit
    import tomllib  # not at import: a decision with nothing to scan never reads the catalog

    data = tomllib.loads(text)
    cache.store("secrets", key, data)
    return data


def scan(text: str) -> list[Finding]:
    """The credentials in ``text`` (the built-in catalog)."""
    return catalog().scan(text)
