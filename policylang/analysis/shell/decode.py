"""Static decoding of known text piped through a decoder (``echo cm0gLXJmIH4= | base64 -d | sh``):
the catalog names a model's codec; what it decodes to is analysed like any other known text."""
from __future__ import annotations

from typing import Callable, Sequence

MAX_DECODED = 1 << 20  # characters of decoded text kept; a larger result is not known


# base64 and binascii are imported by the decoders (base64 brings struct: about 1 ms of a start that
# decodes nothing); binascii.Error is a ValueError.


def _b64(text: str, args: Sequence[str]) -> str:
    import base64

    data = "".join(text.split())
    return base64.b64decode(data + "=" * (-len(data) % 4), validate=False).decode("utf-8")


def _b32(text: str, args: Sequence[str]) -> str:
    import base64

    data = "".join(text.split()).upper()
    return base64.b32decode(data + "=" * (-len(data) % 8)).decode("utf-8")


def _hex(text: str, args: Sequence[str]) -> str:
    # xxd -r -p reads bare hex digits; a full xxd dump has offsets and a text column to drop
    lines = text.splitlines()
    if lines and all(":" in ln for ln in lines if ln.strip()):
        digits = "".join(ln.partition(":")[2].split("  ")[0] for ln in lines)
    else:
        digits = text
    import binascii

    return binascii.unhexlify("".join(digits.split())).decode("utf-8")


def _reverse(text: str, args: Sequence[str]) -> str:
    return "\n".join(line[::-1] for line in text.split("\n"))


def _ranges(spec: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            a, b = ord(spec[i]), ord(spec[i + 2])
            if b < a or b - a > 4096:
                raise ValueError("bad range")
            out.extend(chr(c) for c in range(a, b + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _tr(text: str, args: Sequence[str]) -> str:
    """tr SET1 SET2 (and tr -d SET1) with literal characters and a-z ranges; classes are not known."""
    flags = [a for a in args if a.startswith("-") and len(a) > 1]
    sets = [a for a in args if not (a.startswith("-") and len(a) > 1)]
    if any(f not in ("-d", "-s") for f in flags) or any("[:" in s or "\\" in s for s in sets):
        raise ValueError("a tr form that is not decoded")
    if "-d" in flags:
        if len(sets) != 1:
            raise ValueError("tr -d takes one set")
        gone = set(_ranges(sets[0]))
        return "".join(c for c in text if c not in gone)
    if len(sets) != 2 or "-s" in flags:
        raise ValueError("tr takes two sets")
    src, dst = _ranges(sets[0]), _ranges(sets[1])
    if not dst:
        raise ValueError("an empty second set")
    dst = dst + dst[-1] * max(0, len(src) - len(dst))
    return text.translate(str.maketrans(src, dst[:len(src)]))


CODECS: dict[str, Callable[[str, Sequence[str]], str]] = {
    "base64": _b64,
    "base32": _b32,
    "hex": _hex,
    "reverse": _reverse,
    "tr": _tr,
}


def decode(codec: str, texts: Sequence[str], args: Sequence[str]) -> tuple[str, ...] | None:
    """The texts decoded by ``codec`` (its arguments ``args``, for tr), or None when they cannot be:
    an unknown codec, bad input, or text that is not UTF-8 (a binary is not a shell script)."""
    fn = CODECS.get(codec)
    if fn is None:
        return None
    out = []
    for t in texts:
        try:
            decoded = fn(t, args)
        except (ValueError, UnicodeDecodeError):  # binascii.Error is a ValueError
            return None
        if len(decoded) > MAX_DECODED:
            return None
        out.append(decoded)
    return tuple(out)
