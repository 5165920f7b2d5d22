"""Folded values (literals, or Unknown run-time values) and what can be read from them.

Their text, the host an address names, the literal a decoder call gives."""

from __future__ import annotations

import base64
import binascii
import codecs
import zlib
from dataclasses import dataclass
from typing import Union
from urllib.parse import unquote_to_bytes, urlsplit

from .findings import MAX_VALUE


@dataclass(frozen=True, slots=True, repr=False)
class Unknown:
    """A value only known at run time; ``text`` renders it for messages."""

    text: str = "…"
    stringy: bool = False  # a string with run-time parts
    func: bool = False  # a function literal (a callback, not code text)

    def __repr__(self) -> str:
        return "<unknown>"  # never an internal repr in a reason


class Missing:
    """An argument that is not there."""


MISSING = Missing()
AMBIGUOUS = object()  # a name bound more than once, or to something that is not followed
RUNTIME = object()  # a parameter or loop variable: a value known only at run time, given by its caller
Value = Union[str, bytes, int, float, bool, None, "tuple[Value, ...]", "dict[str, Value]", Unknown]


def as_text(v: object) -> str | None:
    """The string a value stands for, or None when it is not a known string."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return None


def render(v: object, limit: int = 80, nested: bool = False) -> str:
    """A value as reasons show it: a literal as written, a run-time value as its source text, or
    ``<unknown>`` inside a list or mapping."""
    if isinstance(v, Unknown):
        s = "<unknown>" if nested or not v.text.strip() or v.text == "…" else v.text
    elif isinstance(v, (str, bytes)):
        s = repr(as_text(v))
    elif isinstance(v, tuple):
        s = "[" + ", ".join(render(x, limit, True) for x in v[:8]) + (", …" if len(v) > 8 else "") + "]"
    elif isinstance(v, dict):
        items = [f"{k!r}: {render(x, limit, True)}" for k, x in list(v.items())[:8]]
        s = "{" + ", ".join(items) + (", …" if len(v) > 8 else "") + "}"
    else:
        try:
            s = repr(v)
        except ValueError:  # an int too long to print
            s = "<a large number>"
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def truthy(v: object) -> bool | None:
    """Whether a literal option is set; None when it is not known."""
    if isinstance(v, Unknown):
        return None
    return bool(v)


def size_of(v: object) -> int:
    """The length of a string or sequence value (its items' lengths for a sequence)."""
    if isinstance(v, (str, bytes)):
        return len(v)
    if isinstance(v, tuple):
        return len(v) + sum(len(x) for x in v if isinstance(x, (str, bytes)))
    return 24


def is_url(s: str) -> bool:
    head = s.split("://", 1)
    return len(head) == 2 and head[0].lower() in (
        "http",
        "https",
        "ftp",
        "ftps",
        "ws",
        "wss",
        "tcp",
        "udp",
        "ssl",
        "tls",
    )


def host_of(v: object, style: str) -> str | None | Missing:
    """The host an address value names; None when not a literal; MISSING when it names no
    network peer (a Unix socket path)."""
    if isinstance(v, dict):
        for key in ("hostname", "host", "PeerAddr", "PeerHost", "url", "uri", "baseURL"):
            if key in v:
                return host_of(v[key], "url" if key in ("url", "uri", "baseURL") else "host")
        return "localhost" if style in ("options", "port_host") else None
    if isinstance(v, tuple) and v:
        return host_of(v[0], "host")
    s = as_text(v)
    if s is None:
        return None
    s = s.strip()
    if style in ("address", "port_host", "host", "perl_socket") and (s.startswith("/") or s.startswith("\0")):
        return MISSING
    if "://" in s:
        try:
            return urlsplit(s).hostname or None
        except ValueError:
            return None
    if style == "url" and s.startswith("//"):
        return s[2:].split("/", 1)[0].split(":", 1)[0] or None
    head = s.split("/", 1)[0]
    if head.startswith("["):
        return head[1:].split("]", 1)[0] or None
    if head.count(":") == 1:
        head = head.split(":", 1)[0]
    return head or None


def decode(codec: str, v: Value, extra: Value | Missing = MISSING) -> Value | None:
    """Decode a literal the way a decoder call would; None when it cannot be decoded."""
    data: bytes | None
    if isinstance(v, str):
        data = v.encode("utf-8", "surrogatepass")
    elif isinstance(v, bytes):
        data = v
    else:
        return None
    try:
        if codec == "buffer":
            enc = as_text(extra) if not isinstance(extra, Missing) else "utf8"
            codec = {"base64": "base64", "base64url": "base64url", "hex": "hex"}.get((enc or "").lower(), "")
            if not codec:
                return data if enc and enc.lower() in ("utf8", "utf-8", "latin1", "binary", "ascii") else None
        if codec == "base64":
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        if codec == "base64url":
            return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
        if codec == "hex":
            return binascii.unhexlify(data.strip())
        if codec == "rot13":
            return codecs.decode(data.decode("latin-1"), "rot13")
        if codec == "reverse":
            return data[::-1].decode("utf-8", "replace")
        if codec == "url":
            return unquote_to_bytes(data)
        wbits = {"zlib": 15, "inflate": -15, "gzip": 31}.get(codec)
        if wbits is None:
            return None
        d = zlib.decompressobj(wbits=wbits)
        out = d.decompress(data, MAX_VALUE)
        return None if d.unconsumed_tail else out
    except (ValueError, binascii.Error, zlib.error, UnicodeError):
        return None


def mode_writes(mode: str) -> bool:
    return any(c in mode for c in "wax+c>")
