"""Options as a program's own ``--help`` (or usage line) lists them, for checking the catalog's argv
grammars against the programs installed on this machine.

``help_options(text)`` returns every option spelling the text declares, with whether it takes a
value: ``"required"``, ``"optional"`` or ``None`` (a flag).  It reads the common layouts:

    -C, --chdir=DIR        GNU coreutils
     -w, --timeout <secs>  util-linux
    --allow-fs-read=...    node
    -I directory / -Idir   perl, python ("-W arg :")
    [-b bind_address] [-46AaC]   BSD usage synopses (ssh, scp)
"""
from __future__ import annotations

import re

# One option spelling with what follows it on its line.
_SPELLING = re.compile(r"(?<![\w-])(--?[A-Za-z0-9?][\w.?-]*|-[A-Za-z0-9?#])"
                       r"(\[=[^\]\s]*\]|\[[^\]\s]*\]|=\S*|\s?<[^>]+>|\s[A-Z][A-Z0-9_:.,|-]*(?=\s|,|$|\])|"
                       r" [a-z]+(?:_[a-z]+)+(?=\]|\s))?")
_USAGE_BUNDLE = re.compile(r"\[-([A-Za-z0-9]{2,})\]")
_USAGE_VALUE = re.compile(r"\[-([A-Za-z0-9])\s+\[?([\w:@./-]+)")


def _value(suffix: str | None) -> str | None:
    if not suffix:
        return None
    s = suffix.strip()
    if s.startswith("[") or s.startswith("[="):
        return "optional"
    return "required"


def help_options(text: str) -> dict[str, str | None]:
    """Every option spelling in a help text, with how it takes a value (see the module docstring)."""
    out: dict[str, str | None] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(("usage:", "or:")) or line.startswith(" " * 6) and "[-" in line:
            for m in _USAGE_BUNDLE.finditer(line):
                letters = m.group(1)
                if len(letters) > 3 and letters[1:].islower() and letters[1:].isalpha():
                    out.setdefault("-" + letters[0], "optional")  # [-Olevel]: -O and its value, not a bundle
                    continue
                for ch in letters:
                    out.setdefault("-" + ch, None)
            for m in _USAGE_VALUE.finditer(line):
                out["-" + m.group(1)] = "required"
            continue
        if not stripped.startswith("-"):
            continue
        # the option column: up to two spaces before the description
        column = re.split(r"\s{2,}|\t", stripped, maxsplit=1)[0]
        for m in _SPELLING.finditer(column):
            name, suffix = m.group(1), m.group(2)
            if name in ("--", "-"):
                continue
            value = _value(suffix)
            if name not in out or value is not None:
                out[name] = value
    return out
