"""String literals of the tokenizer languages: their escapes, their run-time interpolation and the
code inside their interpolations, as each language's LexerSpec says."""

from __future__ import annotations

from .syntax import Interpolation, LexerSpec

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


def unescape(body: str, single: bool, spec: LexerSpec) -> str:
    """Decode the escapes of a string literal's body (\\n, \\xHH, \\u{...}, octal or decimal
    \\ddd as the language's ``spec`` says, its whitespace-skipping escape); in a ``single``-quoted
    body only \\\\ and \\' are escapes."""
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
        if nxt in "01234567" and spec.octal_escapes:
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1 : j], 8)))
            i = j
            continue
        if nxt.isdigit() and nxt.isascii() and spec.decimal_escapes:
            j = i + 1
            while j < n and j < i + 4 and body[j].isdigit() and body[j].isascii():
                j += 1
            out.append(chr(int(body[i + 1 : j])))
            i = j
            continue
        if spec.whitespace_escape and nxt == spec.whitespace_escape:
            i += 2
            while i < n and body[i] in " \t\n\r\f\v":
                i += 1
            continue
        out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def starts_interpolation(rule: Interpolation, nxt: str) -> bool:
    """Whether ``rule``'s sigil followed by ``nxt`` ("" at the end of the body) interpolates."""
    if not nxt:
        return rule.at_end
    return (
        nxt in rule.then
        or (rule.letters == "alnum" and nxt.isalnum())
        or (rule.letters == "alpha" and nxt.isalpha())
    )


def interpolates(body: str, spec: LexerSpec) -> bool:
    """Whether an interpolating string's body has run-time interpolation."""
    rules = spec.interpolation
    sigils = frozenset(rule.sigil for rule in rules)
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        if ch in sigils:
            nxt = body[i + 1] if i + 1 < n else ""
            if any(rule.sigil == ch and starts_interpolation(rule, nxt) for rule in rules):
                return True
        i += 1
    return False


def interpolated_code(body: str, spec: LexerSpec) -> list[str]:
    """The code inside the interpolations that hold code (``#{...}`` in Ruby, ``${...}`` in JS
    templates, ``@{[...]}``/``${\\...}`` in Perl, ``{${...}}`` in PHP), to be analysed as code too."""
    starts = spec.code_interpolations
    found: list[str] = []
    i, n = 0, len(body)
    while i < n and len(found) < 50:
        if body[i] == "\\":
            i += 2
            continue
        start = next((s for s in starts if body.startswith(s.open, i)), None)
        if start is not None:
            j = i + start.open.index("{") + 1
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
            inner = start.prefix + (body[j : k - 1] if depth == 0 else body[j:])
            if inner.strip():
                found.append(inner)
            i = k
            continue
        i += 1
    return found
