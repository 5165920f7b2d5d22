"""Program names and arguments: normalising a program word to its catalog name, and parsing its
arguments against its model (flags, bundles, values, subcommands, operands)."""
from __future__ import annotations

from typing import Sequence

from ...diagnostics import shown
from ...resolve import normalise_path
from ...verdict import Risk
from .model import CommandModel, Filled, Option, Parsed, Slot
from .store import lookup

SYSTEM_BIN_DIRS = frozenset({
    "/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin", "/opt/homebrew/bin",
})

# Characters that read as "-" at the start of a flag: hyphen, non-breaking hyphen, figure dash,
# en dash, em dash, horizontal bar, minus sign, small em dash, small and fullwidth hyphen-minus.
_DASH_LIKE = frozenset("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
# Characters that show nothing: zero-width space, joiners, word joiner, BOM, soft hyphen, Mongolian
# vowel separator, and the bidirectional controls (LRM, RLM, ALM, embeddings, overrides, isolates).
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u200e\u200f\u061c"
                      "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# ---- normalisation -----------------------------------------------------------------------------

def normalise_word(word: str) -> str:
    """NFKC, and dash look-alikes at the start of a flag read as "-" (``‐‐hard`` is ``--hard``)."""
    if word.isascii():
        return word  # NFKC leaves ASCII as it is
    import unicodedata  # here: most commands are ASCII, and the module is a shared library to load

    w = unicodedata.normalize("NFKC", word)
    if w and (w[0] in _DASH_LIKE or w[0] == "-"):
        name, eq, value = w.partition("=")
        if any(c in _DASH_LIKE for c in name):
            w = "".join("-" if c in _DASH_LIKE else c for c in name) + eq + value
    return w


def has_invisible(word: str) -> bool:
    """Does the word hold a character that shows nothing (``r\\u200bm``)?"""
    return not word.isascii() and any(c in INVISIBLE for c in word)


def normalise_program(word: str) -> str:
    """The catalog name of a program word: ``/usr/bin/rm``, ``\\rm``, ``RM.exe``, ``r\\u200bm`` -> ``rm``.

    Characters that show nothing are dropped: a name that looks like ``rm`` is judged as rm (the
    shell analysis also makes such a command opaque).  A path outside the standard system
    directories is a different program: it is returned as the normalised path (``/home/u/bin/rm``),
    which the catalog does not know.
    """
    if has_invisible(word):
        word = "".join(c for c in word if c not in INVISIBLE)
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

def _find(chain: Sequence[CommandModel], key: str) -> Option | None:
    """The option spelt ``key`` (exactly), innermost model first."""
    for m in reversed(chain):
        opt = m.options.get(key)
        if opt is not None:
            return opt
    return None


def _long(chain: Sequence[CommandModel], name: str) -> tuple[Option | None, frozenset[str], bool]:
    """A long option by its spelling or an unambiguous prefix (GNU getopt_long, git, argparse).

    Returns (option, canonical flags, known).  An ambiguous prefix stands for every flag it could be,
    with the option only when they all agree on taking a value.  An undeclared spelling that extends
    a declared one (``--forceful``, ``--force-with-lease-if-includes``) carries that option's flags:
    the program rejects it, but if a variant of it exists, it means what its name says.  (None,
    {name}, False) when nothing matches.
    """
    opt = _find(chain, name)
    if opt is not None:
        return opt, opt.canon, True
    for m in reversed(chain):
        if not m.abbrev or len(name) < 3:
            continue
        hits = {id(o): o for k in m.long_names if k.startswith(name) and (o := m.options[k])}
        if not hits:
            continue
        found = list(hits.values())
        canon = frozenset().union(*(o.canon for o in found))
        same = all((o.value, o.optional, o.then) == (found[0].value, found[0].optional, found[0].then) for o in found)
        return (found[0] if same else None), canon, True
    variants = [m.options[k] for m in chain for k in m.long_names
                if len(k) >= 4 and name.startswith(k) and name[len(k)] in "-_=abcdefghijklmnopqrstuvwxyz"]
    return None, frozenset().union(frozenset((name,)), *(o.canon for o in variants)), False


def parse(model: CommandModel, args: Sequence[str], static: Sequence[bool] | None = None) -> Parsed:
    """Parse the arguments of one command (``args`` excludes the program) against its argv grammar.

    Options: a declared spelling as a whole word (``-pe``, ``-delete``, ``(``), bundled short flags,
    values attached or in the next word, optional attached values, long options with ``=`` or the
    next word and unambiguous prefixes, ``--``, options after operands unless the model is
    POSIX-style, subcommands with their own grammars.  Non-static words (``static[i]`` false) are
    always operands.  Then the operands are given their typed slots (``Parsed.filled``).  A word the
    grammar cannot place -- an undeclared option of a strict model, an operand beyond the declared
    slots -- is named in ``Parsed.unplaced``: the caller makes the command opaque.
    """
    st = _State(model, args, static)
    n = len(args)
    while st.i < n:
        a = args[st.i]
        cur = st.chain[-1]
        if (static is not None and not static[st.i]) or st.dashdash is not None:
            if not st.operand(a):
                break
            continue
        exact = _find(st.chain, a) if a[:1] in "-+" or a in _OPERATORS else None
        if exact is not None:
            st.i += 1
            if st.option(exact, next(iter(exact.canon)), a, len(a), attached=False):
                break
            continue
        if a[:1] == "-" and a[1:2] != "-" and "=" in a:
            head = a.partition("=")[0]
            named = _find(st.chain, head) if len(head) > 2 else None
            if named is not None and named.value:  # -name=value of a declared -name (go -count=1, zip -TT=cmd)
                st.i += 1
                if st.option(named, next(iter(named.canon)), a, len(head) + 1, attached=True):
                    break
                continue
        if a == "--" and cur.dashdash:
            st.dashdash = len(st.operands)
            st.i += 1
            continue
        if len(a) < 2 or not (a[0] == "-" or (a[0] == "+" and ("+" in cur.options or a[:2] in cur.options))):
            if st.i == 0 and cur.first_operand_flags and a.isalpha():
                a = "-" + a  # tar xzf archive: the letters are a cluster of short options
            elif not st.operand(a):
                break
            else:
                continue
        if a[0] == "+" and "+" in cur.options:  # vim +CMD, less +CMD: the rest of the word is the value
            st.i += 1
            if st.option(cur.options["+"], "+", a, 1, attached=True):
                break
            continue
        if a.startswith("--") or (cur.single_dash_long and a[0] == "-" and _find(st.chain, a[:2]) is None):
            if st.long_option(a):  # a single-dash model's -name, unless -x is a short option (find -O3)
                break
            continue
        if a[0] == "-" and a[1:].isdigit() and _find(st.chain, a[:2]) is None:
            st.flags.add(a)  # head -10, kill -9: a number as an option
            st.i += 1
            continue
        if st.cluster(a):
            break
    return st.finish()


# Words that are operators of an expression grammar when the model declares them (find's "(").
_OPERATORS = frozenset({"(", ")", "!", ",", ";"})


class _State:
    """A parse in progress (see ``parse``)."""

    __slots__ = ("chain", "args", "static", "flags", "values", "operands", "sub_idx", "filled", "unplaced",
                 "dashdash", "stopped", "then", "then_from", "expect_sub", "i", "unknown_sub")

    def __init__(self, model: CommandModel, args: Sequence[str], static: Sequence[bool] | None) -> None:
        self.chain = [model]
        self.args = args
        self.static = static
        self.flags: set[str] = set()
        self.values: dict[str, list[tuple[int, int]]] = {}
        self.operands: list[int] = []
        self.sub_idx: list[int] = []
        self.filled: list[Filled] = []
        self.unplaced: list[str] = []
        self.dashdash: int | None = None
        self.stopped: int | None = None
        self.then: tuple[Slot, ...] | None = None
        self.then_from = 0  # operands from this index on fill the ``then`` slots
        self.expect_sub = model.has_subcommands
        self.i = 0
        self.unknown_sub = False  # a subcommand the catalog does not know: its options are not ours to check

    def operand(self, a: str) -> bool:
        """The word at ``i`` is an operand (or a subcommand).  False: the options have ended."""
        cur = self.chain[-1]
        is_static = self.static is None or self.static[self.i]
        if self.expect_sub and self.dashdash is None and is_static and not self.operands:
            sub = cur.subcommands.get(a.casefold())
            if sub is not None or cur.unknown_sub_risk is not None:
                if sub is not None:
                    self.chain.append(sub)
                else:
                    self.unknown_sub = True
                self.expect_sub = sub is not None and sub.has_subcommands
                self.sub_idx.append(self.i)
                self.i += 1
                return True
        if self.dashdash is None and ((cur.posix and len(self.operands) >= cur.posix_after) or
                                      (cur.argv_at is not None and len(self.operands) >= cur.argv_at)):
            self.rest()
            return False
        self.operands.append(self.i)
        self.i += 1
        return True

    def rest(self) -> None:
        """Every remaining word is an operand: the options have ended."""
        self.stopped = self.i
        self.operands.extend(range(self.i, len(self.args)))

    def unknown(self, word: str) -> None:
        self.flags.add(word)
        if self.chain[-1].strict and not self.unknown_sub:
            self.unplaced.append(f"the option {word} is not in the grammar of {_path(self.chain)}")

    def option(self, opt: Option, key: str, word: str, offset: int, attached: bool) -> bool:
        """An option at word ``i - 1``: its flags and its value (attached at ``offset``, or the next
        words).  True when the options end after it."""
        self.flags |= opt.canon
        idx = self.i - 1
        n = len(self.args)
        if opt.value == "argv;":  # find -exec CMD ... ; (or {} +)
            end = self.i
            while end < n and not (self.args[end] == ";" or (self.args[end] == "+" and self.args[end - 1] == "{}")):
                end += 1
            self.values.setdefault(key, []).append((self.i, 0))
            self.filled.append(Filled("argv;", tuple(range(self.i, end))))
            self.i = end + 1
            return False
        if opt.value:
            if attached and offset < len(word):
                self.values.setdefault(key, []).append((idx, offset))
                self.filled.append(Filled(opt.value, (idx,), offset))
            elif not opt.optional and self.i < n:
                self.values.setdefault(key, []).append((self.i, 0))
                self.filled.append(Filled(opt.value, (self.i,)))
                self.i += 1
            for typ in opt.more:
                if self.i < n:
                    self.filled.append(Filled(typ, (self.i,)))
                    self.i += 1
        if opt.then is not None:
            self.then, self.then_from = opt.then, len(self.operands)
            self.rest()
            return True
        return False

    def long_option(self, a: str) -> bool:
        """``--name``, ``--name=value`` or ``--name value`` (also ``-name`` for single-dash models)."""
        name = a.partition("=")[0]
        if a.startswith("--"):
            name = name.casefold()
            opt, canon, known = _long(self.chain, name)
        else:
            opt = _find(self.chain, name)
            canon, known = (opt.canon, True) if opt is not None else (frozenset((name,)), False)
        self.i += 1
        self.flags |= canon
        if opt is None:
            if known:  # an ambiguous prefix whose options disagree on taking a value
                self.unplaced.append(f"the option {name} is ambiguous in the grammar of {_path(self.chain)}")
            else:
                self.unknown(name)
            if "=" in a:
                self.values.setdefault(name, []).append((self.i - 1, len(name) + 1))
            return False
        key = next(iter(canon)) if len(canon) == 1 else name
        if "=" in a:
            return self.option(opt, key, a, len(name) + 1, attached=True)
        return self.option(opt, key, a, len(a), attached=False)

    def cluster(self, a: str) -> bool:
        """Short options bundled in one word: ``-rf``, ``-C dir``, ``-Cdir``, ``-i.bak``, ``-l0e``."""
        self.i += 1
        j = 1
        while j < len(a):
            f = a[0] + a[j]
            opt = _find(self.chain, f)
            if opt is None:
                self.unknown(f)
                j += 1
                continue
            key = next(iter(opt.canon))
            if opt.value and opt.optional and opt.value == "number":
                k = j + 1
                while k < len(a) and (a[k].isdigit() or (a[k] in "xXabcdefABCDEF" and a[j + 1:k + 1][:2] in ("0x", "0X"))):
                    k += 1
                self.flags |= opt.canon
                if k > j + 1:
                    self.values.setdefault(key, []).append((self.i - 1, j + 1))
                j = k
                continue
            if opt.value or opt.then is not None:
                return self.option(opt, key, a, j + 1, attached=True)
            self.flags |= opt.canon
            j += 1
        return False

    def finish(self) -> Parsed:
        p = Parsed(self.args, self.operands, self.flags, self.values, self.chain, self.sub_idx, self.dashdash,
                   self.stopped, self.filled, self.unplaced)
        cur = self.chain[-1]
        form_slots, p.stdin = cur.operands, cur.stdin
        for form in cur.forms:
            if form.when.holds(p):
                form_slots = form.operands
                if form.stdin is not None:
                    p.stdin = form.stdin
                break
        if self.then is None:
            _fill(p, form_slots, self.operands, cur)
        else:
            _fill(p, form_slots, self.operands[:self.then_from], cur)
            _fill(p, self.then, self.operands[self.then_from:], cur)
        return p


def _path(chain: Sequence[CommandModel]) -> str:
    return " ".join(m.name for m in chain)


def _fill(p: Parsed, specs: Sequence[Slot], ops: Sequence[int], model: CommandModel) -> None:
    """Give operands their slots, in order: a repeated slot takes what the slots after it leave."""
    if not specs:
        return  # no declared operands: any number of data operands
    k = 0
    for s_i, spec in enumerate(specs):
        left = len(ops) - k
        if left <= 0:
            break
        if spec.rest:
            p.filled.append(Filled(spec.type, tuple(ops[k:])))
            return
        if spec.type == "assign":
            start = k
            while k < len(ops) and _is_assignment(p.args[ops[k]]):
                k += 1
            if k > start:
                p.filled.append(Filled("assign", tuple(ops[start:k])))
            if not spec.repeat:
                k = min(k, start + 1)
            continue
        needed_after = sum(1 for s in specs[s_i + 1:] if not s.optional and not s.repeat)
        if spec.repeat:
            count = max(0, left - needed_after)
            if spec.type == "shell" and count:
                p.filled.append(Filled("shell", tuple(ops[k:k + count])))  # the words joined, as one string
            elif count:
                p.filled.extend(Filled(spec.type, (ops[j],)) for j in range(k, k + count))
            k += count
            continue
        if spec.optional and left <= needed_after:
            continue
        p.filled.append(Filled(spec.type, (ops[k],)))
        k += 1
    if k < len(ops):
        extra = " ".join(p.args[j] for j in ops[k:])
        p.unplaced.append(f"{shown(extra)}: more operands than the grammar of {model.name} has places for")


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and bool(name) and (name[0].isalpha() or name[0] == "_") and \
        all(c.isalnum() or c == "_" for c in name)


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
        return _long(chain, flag.partition("=")[0].casefold())[1]
    cur = chain[-1]
    if cur.single_dash_long:
        opt = _find(chain, flag.partition("=")[0])
        if opt is not None:
            return opt.canon
        if _find(chain, flag[:2]) is None:
            return frozenset((flag.partition("=")[0],))
    if flag[1:].isdigit() and _find(chain, flag[:2]) is None:
        return frozenset((flag,))
    out: set[str] = set()
    for j in range(1, len(flag)):
        f = "-" + flag[j]
        opt = _find(chain, f)
        out |= opt.canon if opt is not None else {f}
        if opt is not None and opt.value:
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
            if rule.effect is None and rule.risk > Risk.LOW and rule.when.holds(p):
                if rule.risk > risk:
                    risk = rule.risk
                if rule.why not in why:  # two rules of one family may give the same reason
                    why.append(rule.why)
    return risk, why


def concerns_of(p: Parsed) -> list[tuple[str, Risk, str]]:
    """The effects beyond paths and hosts that the rules of a parsed command add: (kind, risk, why)
    for every rule with an ``effect`` (``leak``, ``persist``, ``discard``) that holds."""
    return [(rule.effect, rule.risk, rule.why) for m in p.chain for rule in m.rules
            if rule.effect is not None and rule.when.holds(p)]
