"""The hash chain: each record carries the hash of the one before it and its own hash over the
canonical JSON of every other field, optionally keyed with HMAC-SHA256 (docs/audit.md, "Chain").

A record is written as one line that begins ``{"hash":"<64 hex>","seq":N,`` followed by the rest
of its canonical JSON, so that an appender learns where the chain stands from the last line
without a JSON parser; the hash itself is over the canonical JSON of the record without ``hash``
(key order in the line does not matter to it).

HMAC-SHA256 is written out over CPython's own SHA-256 (RFC 2104): the ``hmac`` and ``hashlib``
modules load OpenSSL, a few milliseconds of every CLI start.  A test checks it against ``hmac``.
"""
from __future__ import annotations

import os
import stat
from typing import Any, Mapping

from .record import AuditError, canonical, sha256

GENESIS = "0" * 64  # the ``prev`` of the very first record of a log
ALG_PLAIN = "sha256"
ALG_HMAC = "hmac-sha256"
MIN_KEY_BYTES = 16
MAX_KEY_BYTES = 4096
_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_HEAD = b'{"hash":"'


class Key:
    """An HMAC-SHA256 key, with its id (written in every record it signs, so that a verifier given
    the wrong key says so)."""

    __slots__ = ("_inner", "_outer", "key_id")

    def __init__(self, secret: bytes):
        if len(secret) < MIN_KEY_BYTES:
            raise AuditError(f"the audit HMAC key is {len(secret)} bytes long; at least {MIN_KEY_BYTES} are needed")
        if len(secret) > _BLOCK:
            secret = sha256(secret).digest()
        padded = secret.ljust(_BLOCK, b"\0")
        self._inner = sha256(padded.translate(_IPAD))
        self._outer = sha256(padded.translate(_OPAD))
        self.key_id = self.mac(b"policylang-audit-key-id")[:16]

    def mac(self, data: bytes) -> str:
        """HMAC-SHA256 of ``data``, in hex."""
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return str(outer.hexdigest())

    def __repr__(self) -> str:
        return f"Key(key_id={self.key_id!r})"


def record_hash(record: Mapping[str, Any], key: Key | None) -> str:
    """The hash a record must carry: over the canonical JSON of every field but ``hash``."""
    data = canonical({k: v for k, v in record.items() if k != "hash"}).encode("ascii")
    return key.mac(data) if key is not None else str(sha256(data).hexdigest())


def seal(body: Mapping[str, Any], seq: int, prev: str, key: Key | None) -> tuple[bytes, str]:
    """The line (with its newline) of a record with these fields at ``seq`` after ``prev``, and
    its hash."""
    rest = dict(body)
    rest["prev"] = prev
    rest["alg"] = ALG_HMAC if key is not None else ALG_PLAIN
    if key is not None:
        rest["key_id"] = key.key_id
    rest["seq"] = seq
    data = canonical(rest)
    h = key.mac(data.encode("ascii")) if key is not None else str(sha256(data.encode("ascii")).hexdigest())
    # the line is the same canonical JSON with ``seq`` moved to the front (a key can only be
    # written as ``,"seq":`` outside a string: a quote inside one is escaped)
    field = f',"seq":{seq}'
    at = data.find(field)
    if at > 0 and data[at + len(field)] in ",}" and data.find(',"seq":', at + 1) < 0:
        rest_text = data[1:at] + data[at + len(field):]
        if rest_text.startswith(","):  # seq was the first key
            rest_text = rest_text[1:]
    else:
        del rest["seq"]
        rest_text = canonical(rest)[1:]
    line = f'{{"hash":"{h}","seq":{seq},' + rest_text + "\n"
    return line.encode("ascii"), h


def line_head(line: bytes) -> tuple[str, int] | None:
    """The ``(hash, seq)`` a line written by ``seal`` begins with; None for any other line."""
    if not line.startswith(_HEAD) or len(line) < 82 or line[73:81] != b'","seq":':
        return None
    h = line[9:73]
    end = 81
    while end < len(line) and 48 <= line[end] <= 57:
        end += 1
    if end == 81 or end - 81 > 18 or end >= len(line) or line[end] not in b",}":
        return None
    try:
        text = h.decode("ascii")
        int(text, 16)
    except ValueError:
        return None
    return text, int(line[81:end])


# ---- keys ---------------------------------------------------------------------------------------

def load_key(hmac_key_env: str | None, hmac_key_file: str | None, audit_dir: str,
             env: Mapping[str, str] | None = None) -> Key | None:
    """The key the settings name, or None when they name none.  Raises AuditError when a key is
    named but cannot be had: writing unkeyed records then would let a rewrite go unnoticed."""
    env = os.environ if env is None else env
    if hmac_key_env:
        value = env.get(hmac_key_env)
        if not value:
            raise AuditError(f"the audit HMAC key variable {hmac_key_env} is not set")
        return Key(value.encode("utf-8"))
    if hmac_key_file:
        return Key(read_key_file(hmac_key_file, audit_dir))
    return None


def read_key_file(path: str, audit_dir: str | None = None) -> bytes:
    """The bytes of a key file (a trailing newline dropped).  The file must be outside the audit
    directory (whoever can rewrite the log must not find the key beside it) and readable by its
    owner only."""
    full = os.path.realpath(os.path.expanduser(path))
    if audit_dir is not None:
        where = os.path.realpath(os.path.expanduser(audit_dir))
        if full == where or full.startswith(where.rstrip("/") + "/"):
            raise AuditError(f"the audit HMAC key file {path} is inside the audit directory {audit_dir}")
    try:
        fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as exc:
        raise AuditError(f"cannot read the audit HMAC key file {path}: {exc.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise AuditError(f"the audit HMAC key file {path} is not a regular file")
        if st.st_mode & 0o077:
            raise AuditError(f"the audit HMAC key file {path} is readable by others (mode "
                             f"{stat.S_IMODE(st.st_mode):o}); make it 0600")
        data = os.read(fd, MAX_KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_KEY_BYTES:
        raise AuditError(f"the audit HMAC key file {path} is over {MAX_KEY_BYTES} bytes")
    return data.rstrip(b"\r\n")
