"""Path sets: globs with ``**``, ``~``, workspace variables and negation, compiled once.

A pattern is a root (absolute, ``~``/``$HOME``, ``$WORKSPACE``, ``$TMPDIR``, ``$CWD``, or ``**`` for
anywhere) and a glob below it.  All positive patterns of one root become one RE2 set, so testing a
path against a whole set, or against every path rule of an index, costs one match per root.

A recursive effect (``rm -r D``, ``chmod -R``) touches everything below its path, so it is in a set
when its path is, or when it is an ancestor of a pattern's literal prefix (deleting ``~`` deletes
``~/.ssh``).  Unanchored ``**/name`` patterns are not matched by ancestry: ``grep -r x .`` is not a read
of every ``.env`` on the machine.
"""
from __future__ import annotations

import bisect
from typing import Iterable, Sequence

from ..frozen import record
from ..regex import RegexSet

ROOTS = ("abs", "home", "workspace", "tmpdir", "cwd", "any")
_VARS = {
    "$HOME": "home", "${HOME}": "home", "~": "home",
    "$WORKSPACE": "workspace", "${WORKSPACE}": "workspace",
    "$TMPDIR": "tmpdir", "${TMPDIR}": "tmpdir",
    "$CWD": "cwd", "${CWD}": "cwd", "$PWD": "cwd", "${PWD}": "cwd",
}
_VARS_LONGEST_FIRST = tuple(sorted(_VARS, key=len, reverse=True))
GLOB_CHARS = frozenset("*?[")


class GlobError(ValueError):
    pass


@record
class Roots:
    """The concrete values of the pattern roots for one decision."""

    home: str
    workspace: str
    cwd: str
    tmpdir: str
    fold: bool = False  # match without regard to case (Settings.case_insensitive_paths)

    def value(self, root: str) -> str | None:
        if root == "abs":
            return ""
        if root == "any":
            return None
        return getattr(self, root)  # type: ignore[no-any-return]


@record
class PathPattern:
    text: str
    negated: bool
    root: str
    rest: str  # glob below the root: "" or starting with "/" (for "any": the whole glob)
    regex: str
    prefix: str  # literal directory prefix of rest (no glob characters)


def split_root(text: str) -> tuple[str, str]:
    """(root, rest) of a pattern, or GlobError for a relative one."""
    if text.startswith("/"):
        return "abs", text
    if text.startswith("**"):
        return "any", text
    for var in _VARS_LONGEST_FIRST:
        if text == var or text.startswith(var + "/"):
            return _VARS[var], text[len(var):]
    raise GlobError(
        f"{text!r} is relative: start it with /, ~, $HOME, $WORKSPACE, $TMPDIR, $CWD or **/")


def glob_to_regex(glob: str) -> str:
    """Translate a path glob to an RE2 pattern for a whole-string match."""
    out: list[str] = []
    i, n = 0, len(glob)
    while i < n:
        c = glob[i]
        if c == "*":
            if glob.startswith("**", i):
                j = i + 2
                while j < n and glob[j] == "*":
                    j += 1
                before_slash = i == 0 or glob[i - 1] == "/"
                after = glob[j] if j < n else ""
                if before_slash and after == "/":  # "**/": zero or more directories
                    if out and out[-1] == "/":
                        out[-1] = "(?:/.*)?/"
                    else:
                        out.append("(?:.*/)?")
                    i = j + 1
                    continue
                if before_slash and after == "":  # "/**" at the end: the directory and all below
                    if out and out[-1] == "/":
                        out[-1] = "(?:/.*)?"
                    else:
                        out.append(".*")
                    i = j
                    continue
                out.append(".*")
                i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = glob.find("]", i + 2 if glob.startswith("[!", i) or glob.startswith("[^", i) else i + 1)
            if j < 0:
                raise GlobError(f"unbalanced '[' in {glob!r}")
            body = glob[i + 1:j]
            if body.startswith(("!", "^")):
                body = "^" + body[1:]
            if body in ("", "^"):
                raise GlobError(f"empty character class in {glob!r}")
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j
        elif c == "/":
            out.append("/")
        else:
            out.append(_escape(c))
        i += 1
    return "".join(out)


def _escape(c: str) -> str:
    return "\\" + c if not (c.isalnum() or c == "_" or ord(c) > 127) else c


def literal_prefix(rest: str) -> str:
    """The directory part of ``rest`` before its first glob character."""
    for i, c in enumerate(rest):
        if c in GLOB_CHARS:
            return rest[: rest.rfind("/", 0, i)] if "/" in rest[:i] else ""
    return rest


def compile_pattern(text: str) -> PathPattern:
    """The compiled form of one pattern (``!`` negates); raises GlobError.  Memoised (see ``learn``)."""
    known = _KNOWN.get(text)
    if known is not None:
        return known
    pattern = _compile_pattern(text)
    if len(_KNOWN) < MAX_KNOWN:
        _KNOWN[text] = pattern
    return pattern


# compile_pattern's results by text: a pure function of the text, kept so a process that starts
# from the compiled-policy cache (precompiled.py) gets the translations of the last build
MAX_KNOWN = 4096
_KNOWN: dict[str, PathPattern] = {}


def known_patterns() -> tuple[PathPattern, ...]:
    """Every pattern compiled (or learnt) in this process."""
    return tuple(_KNOWN.values())


def learn(patterns: Iterable[PathPattern]) -> None:
    """Take compiled patterns (from ``known_patterns`` of an earlier process) as compile_pattern's results."""
    for p in patterns:
        if len(_KNOWN) >= MAX_KNOWN:
            break
        _KNOWN.setdefault(p.text, p)


def _compile_pattern(text: str) -> PathPattern:
    negated = text.startswith("!")
    body = text[1:] if negated else text
    if not body:
        raise GlobError("empty path pattern")
    if "***" in body:
        raise GlobError(f"'***' in {text!r}: use ** for any depth")
    root, rest = split_root(body)
    if len(rest) > 1 and rest.endswith("/") and root != "any":
        rest = rest.rstrip("/")
    return PathPattern(text, negated, root, rest, glob_to_regex(rest), literal_prefix(rest))


def _remainder(path: str, base: str) -> str | None:
    """``path`` below ``base`` ("" for base itself), or None when it is not below."""
    if base == "":
        return path
    if base == "/":
        return path if path != "/" else ""
    if path == base:
        return ""
    if path.startswith(base) and path[len(base)] == "/":
        return path[len(base):]
    return None


def _regex_set(tagged: Sequence[tuple[int, PathPattern]]) -> tuple[RegexSet, list[tuple[int, ...]]]:
    """One RE2 set of the distinct patterns, and for each pattern the owners that gave it: a list
    named by three rules (read, write, delete in BUILTIN_SECRETS) is compiled once."""
    index: dict[str, int] = {}
    owners: list[list[int]] = []
    for owner, pat in tagged:
        k = index.setdefault(pat.regex, len(owners))
        if k == len(owners):
            owners.append([])
        owners[k].append(owner)
    return RegexSet(list(index), anchored=True, checked=True), [tuple(o) for o in owners]


def folded(pattern: PathPattern) -> PathPattern:
    """``pattern`` in lower case, for matching lower-cased paths (case-insensitive file systems)."""
    rest = pattern.rest.lower()
    return PathPattern(pattern.text, pattern.negated, pattern.root, rest, glob_to_regex(rest), pattern.prefix.lower())


_Grouped = dict[str, tuple[RegexSet, list[tuple[int, ...]]]]  # root -> (RE2 set, owners of each pattern)
_Sets = tuple[_Grouped, _Grouped, dict[str, tuple[list[str], list[int]]]]


class PathIndex:
    """Many path patterns, each tagged with an owner (a rule index or a set id).

    ``owners(path, roots, recursive)`` returns every owner with a positive pattern that the path
    matches (or, for recursive effects, lies below), less owners whose negative patterns match.
    With ``roots.fold`` the path, the roots and the patterns are compared in lower case (the
    lower-cased index is built on first use).
    """

    def __init__(self, tagged: Iterable[tuple[int, PathPattern]]):
        tagged = list(tagged)
        self._tagged = tagged
        self._folded: PathIndex | None = None
        self._sets: _Sets | None = None
        self.empty = all(pat.negated for _, pat in tagged)

    def _built(self) -> _Sets:
        """The patterns grouped by root into RE2 sets (positive, negative) and the sorted literal
        prefixes of the anchored positive ones; made on the first look-up (a policy holds a dozen
        indexes, and a command that touches no path consults none).  Building is idempotent: two
        threads that race each build one and either is kept."""
        sets = self._sets
        if sets is None:
            pos: dict[str, list[tuple[int, PathPattern]]] = {r: [] for r in ROOTS}
            neg: dict[str, list[tuple[int, PathPattern]]] = {r: [] for r in ROOTS}
            for owner, pat in self._tagged:
                (neg if pat.negated else pos)[pat.root].append((owner, pat))
            # literal prefixes of anchored positive patterns, sorted, for the ancestry test
            prefixes: dict[str, tuple[list[str], list[int]]] = {}
            for r, v in pos.items():
                if r == "any" or not v:
                    continue
                pairs = sorted((p.prefix, o) for o, p in v)
                prefixes[r] = ([k for k, _ in pairs], [o for _, o in pairs])
            sets = self._sets = ({r: _regex_set(v) for r, v in pos.items() if v},
                                 {r: _regex_set(v) for r, v in neg.items() if v}, prefixes)
        return sets

    def owners(self, path: str, roots: Roots, recursive: bool = False) -> set[int]:
        found: set[int] = set()
        if self.empty:
            return found
        if roots.fold:
            index = self._folded
            if index is None:
                index = self._folded = PathIndex((o, folded(p)) for o, p in self._tagged)
            return index.owners(path.lower(), _lowered(roots), recursive)
        pos, neg, _ = self._built()
        for root, (rset, owners) in pos.items():
            if root == "any":
                rem: str | None = path
            else:
                base = roots.value(root)
                rem = None if base is None else _remainder(path, base)
            if rem is not None:
                for i in rset.match(rem):
                    found.update(owners[i])
            if recursive and root != "any":
                self._ancestry(root, path, roots, found)
        if found and neg:
            found -= self._negated(path, roots)
        return found

    def _ancestry(self, root: str, path: str, roots: Roots, found: set[int]) -> None:
        entry = self._built()[2].get(root)
        base = roots.value(root)
        if entry is None or base is None:
            return
        keys, owners = entry
        # absolute prefixes below `path`: base + prefix startswith path + "/"
        full_base = base.rstrip("/")
        if path == "/":
            found.update(owners)
            return
        if full_base == path or full_base.startswith(path + "/"):
            found.update(owners)  # the whole root lies below the path
            return
        rem = _remainder(path, full_base) if full_base else path
        if rem is None:
            return
        # prefixes equal to the path (~/.ssh for "~/.ssh/id_*") or below it; "0" sorts right after "/",
        # and the range also holds siblings such as "rem-x", which the test below leaves out
        lo = bisect.bisect_left(keys, rem)
        hi = bisect.bisect_left(keys, rem + "0")
        below = rem + "/"
        for i in range(lo, hi):
            if keys[i] == rem or keys[i].startswith(below):
                found.add(owners[i])

    def _negated(self, path: str, roots: Roots) -> set[int]:
        out: set[int] = set()
        for root, (rset, owners) in self._built()[1].items():
            base = None if root == "any" else roots.value(root)
            rem = path if root == "any" else (None if base is None else _remainder(path, base))
            if rem is not None:
                for i in rset.match(rem):
                    out.update(owners[i])
        return out


def _lowered(roots: Roots) -> Roots:
    return Roots(home=roots.home.lower(), workspace=roots.workspace.lower(), cwd=roots.cwd.lower(),
                 tmpdir=roots.tmpdir.lower())


class PathSet:
    """One set of path patterns (a rule's ``in ...``, the restricted paths, the safe paths)."""

    def __init__(self, patterns: Sequence[str]):
        self.patterns = tuple(compile_pattern(p) for p in patterns)
        self._index = PathIndex((0, p) for p in self.patterns)

    def contains(self, path: str, roots: Roots, recursive: bool = False) -> bool:
        return bool(self._index.owners(path, roots, recursive))

    def __bool__(self) -> bool:
        return not self._index.empty


def tree(dirs: Iterable[str]) -> list[str]:
    """Directory names as patterns for the directory and everything below it."""
    return [d.rstrip("/") + "/**" if d.rstrip("/") else "/**" for d in dirs]
