"""Program names and arguments: normalising a program word to its catalog name, and parsing its
arguments against its model (flags, bundles, values, subcommands, operands)."""
from __future__ import annotations

import unicodedata
from typing import Sequence

from ...resolve import normalise_path
from ...verdict import Risk
from .model import CommandModel, Parsed, flag_key
from .store import lookup

SYSTEM_BIN_DIRS = frozenset({
    "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin",
})

# The handler kinds shell.py implements; a model naming another one is a catalog error.
_DASH_LIKE = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")

# ---- normalisation -----------------------------------------------------------------------------

def normalise_word(word: str) -> str:
    """NFKC, and dash look-alikes at the start of a flag read as "-" (``‐‐hard`` is ``--hard``)."""
    if word.isascii():
        return word
    w = unicodedata.normalize("NFKC", word)
    if w and (w[0] in _DASH_LIKE or w[0] == "-"):
        name, eq, value = w.partition("=")
        if any(c in _DASH_LIKE for c in name):
            w = "".join("-" if c in _DASH_LIKE else c for c in name) + eq + value
    return w


def normalise_program(word: str) -> str:
    """The catalog name of a program word: ``/usr/bin/rm``, ``\\rm``, ``RM.exe`` -> ``rm``.

    A path outside the standard system directories is a different program: it is returned as the
    normalised path (``/home/u/bin/rm``), which the catalog does not know.
    """
    w = normalise_word(word).lstrip("\\")
    if "/" in w:
        if not w.startswith("/"):
            return w
        p = normalise_path(w)
        d, _, base = p.rpartition("/")
        if (d or "/") not in SYSTEM_BIN_DIRS or not base:
            return p
        w = base
    name = w.casefold()
    if name.endswith(".exe") and len(name) > 4:
        name = name[:-4]
    return name


# ---- argument parsing --------------------------------------------------------------------------

def _canon(models: Sequence[CommandModel], flag: str) -> frozenset[str]:
    """Canonical spellings of one flag (no bundle, no value) under the innermost model first."""
    key = flag_key(flag)
    for m in reversed(models):
        hit = m.aliases.get(key)
        if hit is not None:
            return hit
    if key.startswith("--"):
        for m in reversed(models):
            for p in m.alias_prefixes:
                if key.startswith(p.prefix) and key not in p.except_:
                    return frozenset((p.to,))
        known = models[-1].long_flags
        if len(key) > 3 and known and key not in known:
            # GNU getopt and git accept an unambiguous prefix: --rec is --recursive.  Conservatively
            # an ambiguous prefix stands for every flag it could be.
            out: set[str] = set()
            for k in known:
                if k.startswith(key):
                    out |= _canon(models, k) if k != key else {k}
            if out:
                return frozenset(out)
    return frozenset((key,))


def parse(model: CommandModel, args: Sequence[str], static: Sequence[bool] | None = None) -> Parsed:
    """Parse the arguments of one command (``args`` excludes the program) against its model.

    Non-static words (``static[i]`` false) are always operands.  Flags may follow operands (GNU
    style) unless the model stops at its first operand.
    """
    chain = [model]
    flags: set[str] = set()
    values: dict[str, list[tuple[int, int]]] = {}
    operands: list[int] = []
    sub_idx: list[int] = []
    dashdash: int | None = None
    stopped: int | None = None
    expect_sub = model.has_subcommands
    n = len(args)
    i = 0
    while i < n:
        a = args[i]
        cur = chain[-1]
        is_static = static is None or static[i]
        if dashdash is not None or not is_static or len(a) < 2 or a[0] != "-":
            if (i == 0 and cur.first_operand_flags and is_static and a.isalpha() and dashdash is None):
                a = "-" + a  # tar xzf archive
            else:
                if expect_sub and dashdash is None and is_static and not operands:
                    sub = cur.subcommands.get(a.casefold())
                    if sub is not None or cur.unknown_sub_risk is not None:
                        if sub is not None:
                            chain.append(sub)
                        expect_sub = sub is not None and sub.has_subcommands
                        sub_idx.append(i)
                        i += 1
                        continue
                if cur.stop_at_operand and dashdash is None:
                    stopped = i
                    operands.extend(range(i, n))
                    break
                operands.append(i)
                i += 1
                continue
        if a == "--":
            dashdash = len(operands)
            i += 1
            continue
        whole = a.startswith("--")
        # a single dash: one long flag (find -name), a number (head -10), or a bundle (-rf, below)
        if whole or cur.single_dash_long or a in cur.value_flags or a[1:].isdigit():
            name, eq, _ = a.partition("=") if whole or cur.single_dash_long else (a, "", "")
            if whole:
                name = name.casefold()
            canon = _canon(chain, name)
            flags |= canon
            key = next(iter(canon)) if len(canon) == 1 or not whole else name
            if eq:  # --flag=value: the value is in the same word, after the "="
                values.setdefault(key, []).append((i, len(name) + 1))
            elif name in cur.value_flags and i + 1 < n:  # --flag value: the next word
                values.setdefault(key, []).append((i + 1, 0))
                i += 1
            i += 1
            continue
        j = 1
        while j < len(a):
            f = "-" + a[j]
            canon = _canon(chain, f)
            flags |= canon
            key = next(iter(canon))
            if f in cur.value_flags:
                if j + 1 < len(a):
                    values.setdefault(key, []).append((i, j + 1))
                elif i + 1 < n:
                    values.setdefault(key, []).append((i + 1, 0))
                    i += 1
                break
            if f in cur.optional_value_flags:
                if j + 1 < len(a):
                    values.setdefault(key, []).append((i, j + 1))
                break
            j += 1
        i += 1
    return Parsed(args, operands, flags, values, chain, sub_idx, dashdash, stopped)


def parse_args(program: str, args: Sequence[str]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(operands, canonical flags) of ``program args...``.

    Operands are the non-flag arguments in order with flag values removed (``git -C dir push`` ->
    ``("push",)``); a recognised subcommand comes first, casefolded.  Flags: bundles split
    (``-rf`` -> ``-r``, ``-f``), ``--force=true`` -> ``--force``, aliases canonicalised per command
    and subcommand, long flags casefolded.  An unknown program gets generic parsing.
    """
    model = lookup(normalise_program(program)) or _GENERIC
    p = parse(model, [normalise_word(a) for a in args])
    ops = tuple(p.args[i].casefold() for i in p.sub_idx) + tuple(p.args[i] for i in p.operands)
    return ops, frozenset(p.flags)


_GENERIC = CommandModel(name="", risk=Risk.UNKNOWN)


def canonical_flags(program: str | None, subcommand: str | None, flag: str) -> frozenset[str]:
    """Every canonical flag a flag word stands for, for matching rules against parsed commands.

    ``canonical_flags("rm", None, "-rf") == {"-r", "-f"}``; ``canonical_flags("rm", None,
    "--recursive") == {"-r"}``; ``canonical_flags("git", "push", "-f") == {"--force"}``.
    ``subcommand`` may name a path of subcommands separated by spaces (``"stash drop"``).
    """
    flag = normalise_word(flag)
    model = lookup(normalise_program(program)) if program else None
    chain = [model or _GENERIC]
    if model is not None and subcommand:
        for word in subcommand.split():
            sub = chain[-1].subcommands.get(word.casefold())
            if sub is None:
                break
            chain.append(sub)
    if not flag.startswith("-") or flag in ("-", "--"):
        return frozenset((flag,))
    if flag.startswith("--"):
        return _canon(chain, flag.partition("=")[0])
    cur = chain[-1]
    if cur.single_dash_long or flag in cur.value_flags or flag[1:].isdigit():
        return _canon(chain, flag.partition("=")[0] if cur.single_dash_long else flag)
    out: set[str] = set()
    for j in range(1, len(flag)):
        f = "-" + flag[j]
        out |= _canon(chain, f)
        if f in cur.value_flags or f in cur.optional_value_flags:
            break
    return frozenset(out)


def risk_of(p: Parsed) -> tuple[Risk, list[str]]:
    """Intrinsic risk of a parsed command: the deepest known subcommand's base risk, raised by every
    rule of the chain that holds.  Returns the risk and the reasons of the rules that raised it."""
    base = p.chain[-1].risk
    if len(p.sub_idx) >= len(p.chain) and p.chain[-1].unknown_sub_risk is not None:
        base = p.chain[-1].unknown_sub_risk  # a subcommand the catalog does not know
    risk = base
    why: list[str] = []
    for m in p.chain:
        for rule in m.rules:
            if rule.risk > Risk.LOW and rule.when.holds(p):
                if rule.risk > risk:
                    risk = rule.risk
                why.append(rule.why)
    return risk, why
