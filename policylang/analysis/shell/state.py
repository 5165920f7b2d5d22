"""The state of one shell analysis: limits, value types (words, streams, segments under construction,
wrappers) and the ``ShellState`` base of the analyser."""
from __future__ import annotations

import fnmatch
import functools
from typing import Any, Iterator, Mapping, Sequence

from ...effects import Effect, Segment
from ...frozen import frozen, replace
from ...resolve import join_path
from ...verdict import Risk, combine_risk
from ..catalog import lookup, normalise_word

MAX_INPUT = 65536  # characters; a longer command is refused (fail closed)
MAX_DEPTH = 64  # nesting of substitutions, groups, wrappers and re-analysed strings
MAX_SEGMENTS = 4096  # simple commands per analysis; the rest is opaque
MAX_CWDS = 4  # possible working directories tracked after cd; more is "unknown"
MAX_PARALLEL_ARGS = 16  # argument lines of parallel analysed; more makes it opaque

Cwds = tuple[str | None, ...]


@frozen
class Stream:
    """Where a command's input or output comes from.

    kind: ``static`` (texts known), ``network`` (fetched, or derived from fetched data), ``file``
    (a file, ``path``), ``opaque`` (anything else).  ``sources``: files whose content it carries
    (``cat a b |``): what a program that sends its input to a host uploads.
    """

    kind: str
    texts: tuple[str, ...] = ()
    why: str = ""
    path: str | None = None
    sources: tuple[str, ...] = ()


_OPAQUE = Stream("opaque")


def _worst(a: Stream | None, b: Stream | None) -> Stream | None:
    order = {"network": 3, "opaque": 2, "file": 1, "static": 0}
    if a is None:
        return b
    if b is None:
        return a
    return a if order[a.kind] >= order[b.kind] else b


@frozen  # never changed after it is built; not a dataclass: importing dataclasses costs a cold start ~10 ms
class W:
    """One argument word after expansion."""

    text: str  # normalised value when static, else the source text
    static: bool = True
    glob: bool = False
    orig: str = ""  # the exact value the shell passes (no Unicode normalisation)
    reason: str = ""  # why it is not static
    stream: Stream | None = None  # what a $( ) or <( ) in it produces
    paths: tuple[tuple[str | None, bool, bool], ...] | None = None  # stand-in paths: find's {}
    secrets: tuple[str, ...] = ()  # variables expanded in it whose names look like credentials


def _lit(text: str) -> W:
    return W(normalise_word(text), True, False, text)


class _Seg:
    """A segment under construction (frozen into ``Segment`` at the end)."""

    __slots__ = ("index", "text", "program", "argv", "effects", "risks", "why", "opaque",
                 "opaque_reason", "wrappers", "via", "pipeline", "known", "background", "speculative")

    def __init__(self, index: int, text: str, via: str, pipeline: int) -> None:
        self.index = index
        self.text = text
        self.program: str | None = None
        self.argv: tuple[str, ...] = ()
        self.effects: list[Effect] = []
        self.risks: list[Risk] = []
        self.why: list[str] = []
        self.opaque = False
        self.opaque_reason = ""
        self.wrappers: tuple[str, ...] = ()
        self.via = via
        self.pipeline = pipeline
        self.known = True
        self.background = False
        self.speculative = False

    def add(self, effect: Effect) -> None:
        if effect not in self.effects:
            self.effects.append(effect)

    def raise_risk(self, risk: Risk, why: str) -> None:
        """Raise the risk of the segment and of its exec effects (the engine judges effects)."""
        self.risks.append(risk)
        if why and why not in self.why:
            self.why.append(why)
        for k, e in enumerate(self.effects):
            if e.kind == "exec" and e.risk < risk and e.program == self.program:
                self.effects[k] = replace(e, risk=risk, why=why or e.why)

    def make_opaque(self, reason: str) -> None:
        """The segment cannot be known statically: nor can what its program does (its exec effect)."""
        self.opaque = True
        if not self.opaque_reason:
            self.opaque_reason = reason
        for k, e in enumerate(self.effects):
            if e.kind == "exec" and e.program == self.program and not e.opaque:
                self.effects[k] = replace(e, opaque=True, why="; ".join(filter(None, (e.why, reason))))

    def freeze(self) -> Segment:
        risk = combine_risk(self.risks) if self.risks else Risk.UNKNOWN
        return Segment(
            text=self.text, program=self.program, argv=self.argv, effects=tuple(self.effects), risk=risk,
            why=tuple(self.why), opaque=self.opaque, opaque_reason=self.opaque_reason,
            wrappers=self.wrappers, via=self.via, pipeline=self.pipeline, known=self.known,
            speculative=self.speculative)


@frozen
class _Wrap:
    """What the wrappers around a command contributed (sudo, env, nice ...)."""

    names: tuple[str, ...] = ()
    effects: tuple[dict[str, Any], ...] = ()  # exec effects of the wrappers, made on the final segment
    risks: tuple[Risk, ...] = ()
    why: tuple[str, ...] = ()
    extra_unknown: bool = False  # xargs: more operands come from the input
    path_changed: bool = False
    assigned: tuple[str, ...] = ()  # environment variables set for the command (FOO=1 cmd, env FOO=1 cmd)
    values: tuple[tuple[str, str | None], ...] = ()  # their values (None: known only at run time)
    unplaced: tuple[str, ...] = ()  # words a wrapper's grammar could not place: the command is opaque


_NO_WRAP = _Wrap()  # shared: a _Wrap is never changed in place (wrappers build a new one)


class _Limit(Exception):
    """The segment budget is spent."""


def _union(a: Cwds, b: Cwds) -> Cwds:
    if a == b:
        return a
    out = tuple(dict.fromkeys((*a, *b)))
    return out if len(out) <= MAX_CWDS else (None,)


def _at(effect: Effect, segment: int) -> Effect:
    return effect if effect.segment == segment else replace(effect, segment=segment)


@functools.lru_cache(maxsize=4)
def _env_variables(kind: str) -> frozenset[str]:
    """Environment variables that make a program run other code (the catalog's env entry lists them):
    ``risky_variables`` load code (LD_PRELOAD), ``command_variables`` hold a command (GIT_SSH_COMMAND)."""
    env = lookup("env")
    spec: Mapping[str, Any] = env.settings.get("env", {}) if env is not None else {}
    return frozenset(spec.get(kind, ()))


@functools.lru_cache(maxsize=4096)
def secret_name(name: str) -> bool:
    """Does a variable's name say it holds a credential (the env entry's ``secret_variables``)?"""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pat) for pat in _env_variables("secret_variables"))


class ShellState:
    """The state of one analysis: its segments under construction, notes, limits, and the shell's state."""

    def __init__(self, env: Mapping[str, str], home: str, fast: bool = True) -> None:
        self.env = env
        self.home = home
        self.fast = fast  # use the fast path for plain strings (tests turn it off to compare)
        self.segs: list[_Seg] = []
        self.warnings: list[str] = []
        self.unstructured: list[str] = []
        self.recording = True  # structural reasons are recorded for the top-level reading only
        self.tainted: frozenset[str] = frozenset()
        self.functions: set[str] = set()
        self.path_changed = False
        self.next_pipeline = 0
        self.top_argv: tuple[str, ...] | None = None
        self.top_commands = 0
        self.repaired: set[int] = set()
        self.ambiguous: list[int] = []
        self.streams: dict[tuple[int, int], Stream] = {}
        self.files: dict[str, Stream] = {}  # files this command wrote earlier, with what they hold
        self.variables: dict[str, str | None] = {}  # shell variables assigned earlier (None: not static)
        self.aliases: dict[str, str] = {}  # alias NAME=TEXT defined earlier
        self.hashed: dict[str, str] = {}  # hash -p PATH NAME: the program NAME runs
        self.certain = True  # the statement being walked runs for sure (not in a branch, loop or function)
        self.pending_writes: list[tuple[str, str]] = []
        self.speculating = False  # reading an unknown program's arguments as what they might run  # (op, path) of the output redirections just read

    def note(self, reason: str) -> None:
        if self.recording and reason not in self.unstructured:
            self.unstructured.append(reason)

    def new_seg(self, text: str, via: str, pipe: int) -> _Seg:
        if len(self.segs) >= MAX_SEGMENTS:
            raise _Limit()
        seg = _Seg(len(self.segs), text, via, pipe)
        seg.speculative = self.speculating
        self.segs.append(seg)
        return seg

    def past_limit(self, text: str) -> None:
        """Past the segment budget: one more (opaque) segment says so."""
        seg = _Seg(len(self.segs), text[:200], "", -1)
        reason = f"more than {MAX_SEGMENTS} commands: the rest was not analysed"
        seg.make_opaque(reason)
        seg.known = False
        seg.add(Effect("exec", program=None, opaque=True, known=False, why=reason, segment=seg.index))
        self.segs.append(seg)
        self.recording = True
        self.note("too many commands")

    def opaque_seg(self, text: str, via: str, pipe: int, reason: str) -> _Seg:
        seg = self.new_seg(text, via, pipe)
        seg.make_opaque(reason)
        seg.known = False
        seg.add(Effect("exec", program=None, opaque=True, known=False, why=reason, segment=seg.index))
        return seg

    def run_text(self, text: str, cwds: Cwds, depth: int, via: str, stdin: Stream | None = None
                 ) -> tuple[Cwds, Stream | None]:
        """Analyse a shell string (the walker's entry point, walker.py)."""
        raise NotImplementedError

    # ---- the shell's state, as far as this command string sets it ------------------------------

    def is_function(self, program: str, word: "W") -> bool:
        """Does the name call a shell function defined earlier in this command?  A name the catalog
        knows is judged as that program even then: the function's body was analysed where it was
        defined, and judging the real program too can only make the verdict stricter."""
        return program in self.functions and lookup(program) is None

    def cdpath(self) -> bool:
        """Can ``cd NAME`` go somewhere other than ./NAME (CDPATH is set)?"""
        return bool(self.env.get("CDPATH")) or "CDPATH" in self.variables

    def assign_variables(self, pairs: "Sequence[tuple[str, str | None]]") -> None:
        """Variables a statement assigns for the rest of this shell (``X=1; export Y=2``).  Their
        values are known afterwards only when the statement surely ran: an assignment in a branch,
        a loop, a function or after ``&&`` leaves the variable unknown."""
        for name, value in pairs:
            self.variables[name] = value if self.certain else None

    def scope(self) -> tuple[dict[str, str | None], set[str], dict[str, str], dict[str, str], bool]:
        """The shell state a subshell gets a copy of (see ``restore``)."""
        return dict(self.variables), set(self.functions), dict(self.aliases), dict(self.hashed), self.certain

    def restore(self, saved: tuple[dict[str, str | None], set[str], dict[str, str], dict[str, str], bool]) -> None:
        """Back to the state before a subshell: what it assigned or defined does not leak out."""
        self.variables, self.functions, self.aliases, self.hashed, self.certain = saved

    def expansion_env(self) -> tuple[Mapping[str, str], frozenset[str]]:
        """The variables a word sees (the environment, over-written by static assignments earlier in
        this command) and those whose values cannot be known."""
        if not self.variables:
            return self.env, self.tainted
        known = {k: v for k, v in self.variables.items() if v is not None}
        unknown = frozenset(k for k, v in self.variables.items() if v is None)
        tainted = (self.tainted | unknown) - known.keys()
        return (_Overlay(known, self.env) if known else self.env), tainted

    def written_text(self, word: "W", cwds: Cwds) -> Stream | None:
        """What a file this command wrote earlier holds, when the word names one (``echo x > a.sh; sh a.sh``)."""
        if not word.static or not self.files:
            return None
        found = [self.files.get(join_path(c, word.text) or "") for c in cwds]
        return found[0] if len(found) == 1 else next((f for f in found if f is not None), None)


class _Overlay(Mapping[str, str]):
    """Variables assigned in the command first, then the environment (its reads stay recorded)."""

    __slots__ = ("_top", "_env")

    def __init__(self, top: Mapping[str, str], env: Mapping[str, str]) -> None:
        self._top = top
        self._env = env

    def __getitem__(self, key: str) -> str:
        if key in self._top:
            return self._top[key]
        return self._env[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._top:
            return self._top[key]
        return self._env.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._top or key in self._env

    def __iter__(self) -> "Iterator[str]":
        yield from self._top
        yield from (k for k in self._env if k not in self._top)

    def __len__(self) -> int:
        return len(self._top) + sum(1 for k in self._env if k not in self._top)
