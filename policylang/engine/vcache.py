"""The verdict cache: a bounded two-generation map from a normalised action and everything its
verdict depends on to the verdict (DESIGN §6)."""
from __future__ import annotations

import os
import threading
from typing import Any, Iterator, Mapping

from ..actions import Action, Code, Command, Context, Fetch, FileOp, Message, ToolCall, json_text
from ..verdict import Verdict

ACTION_TYPES = frozenset({Command, FileOp, Fetch, Code, ToolCall, Message})


class VerdictCache:
    """At most ``size`` verdicts, in two generations.

    An LRU's bookkeeping on every hit (``move_to_end``) costs as much as the lookup itself, so the
    cache keeps two generations instead: new entries and entries used again go into ``recent``;
    when it holds half the capacity it becomes ``older`` and the previous older one is dropped.
    An entry used since the last rotation always survives the next one (the guarantee an LRU gives,
    at generation grain).  Reads are atomic dict look-ups; writes take the lock.
    """

    __slots__ = ("recent", "older", "_generation", "_lock", "_default_cwd", "_default_context")

    def __init__(self, size: int, default_cwd: str | None, default_context: Context) -> None:
        self.recent: dict[Any, Verdict] = {}
        self.older: dict[Any, Verdict] = {}
        self._generation = max(1, size // 2)
        self._lock = threading.Lock()
        self._default_cwd = default_cwd
        self._default_context = default_context

    def remember(self, key: Any, verdict: Verdict) -> None:
        with self._lock:
            recent = self.recent
            recent[key] = verdict
            if len(recent) >= self._generation:
                self.older = recent
                self.recent = {}

    def key(self, action: Any, ctx: Context) -> Any:
        """The normalised action and every piece of context its verdict depends on; None: do not cache.

        A verdict depends on the policy (fixed for this cache), the action's text, its cwd, HOME
        and TMPDIR (the roots of the path classes), the context, and -- when the text can expand
        variables -- on the whole environment.
        """
        t = type(action)
        if t is Command:
            text: Any = action.command
            cwd = action.cwd
            env = action.env
        elif t is str:
            t = Command
            text = action
            cwd = env = None
        elif t in ACTION_TYPES:
            text = _key_text(action)
            cwd = getattr(action, "cwd", None)
            env = getattr(action, "env", None)
        elif isinstance(action, (list, tuple)):
            t = Command
            text = tuple(action)
            cwd = env = None
        else:
            return None  # not an action: decide reports it
        if not cwd:
            cwd = self._default_cwd or os.getcwd()
        c = None if ctx is self._default_context else ctx
        if type(text) is str:  # the common case, inline: a call here is a tenth of a cache hit
            expands = "$" in text or "`" in text or "~" in text
        else:
            if type(text) is list:
                text = tuple(text)
            expands = _expands(text)
        if expands or t is Code:
            # the text can expand variables: every variable is part of the key
            return (t, text, cwd, frozenset((os.environ if env is None else env).items()), None, c)
        if env is None:
            return (t, text, cwd, _environ_get(b"HOME"), _environ_get(b"TMPDIR"), c)
        return (t, text, cwd, env.get("HOME"), env.get("TMPDIR"), c)


def environ_of(key: Any) -> Mapping[str, str]:
    """The environment a verdict filed under ``key`` (of an action without its own env) must be
    made with: the values the key holds, not ``os.environ``, which another thread may change
    between the key and the decision (a verdict made under one HOME filed under another)."""
    if type(key[3]) is frozenset:  # the text expands variables: the key holds the whole environment
        return dict(key[3])
    return Pinned({"HOME": _as_str(key[3]), "TMPDIR": _as_str(key[4])})


class Pinned(Mapping[str, str]):
    """``os.environ`` with some variables fixed (None: unset) at the values a cache key holds."""

    __slots__ = ("_pins",)

    def __init__(self, pins: dict[str, str | None]) -> None:
        self._pins = pins

    def __getitem__(self, name: str) -> str:
        if name in self._pins:
            value = self._pins[name]
            if value is None:
                raise KeyError(name)
            return value
        return os.environ[name]

    def get(self, name: str, default: Any = None) -> Any:
        if name in self._pins:
            value = self._pins[name]
            return default if value is None else value
        return os.environ.get(name, default)

    def __iter__(self) -> Iterator[str]:
        yield from (k for k, v in self._pins.items() if v is not None)
        yield from (k for k in list(os.environ) if k not in self._pins)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _expands(text: Any) -> bool:
    """Can the text expand variables (so that the whole environment is part of its verdict)?  An
    argv is checked word by word: ``("sh", "-c", "rm -rf $X")`` expands inside its shell string."""
    if isinstance(text, str):
        return "$" in text or "`" in text or "~" in text
    if isinstance(text, tuple):
        return any(isinstance(w, str) and ("$" in w or "`" in w or "~" in w) for w in text)
    return False


def _key_text(act: Action) -> Any:
    """What distinguishes one action from another of its type, for the verdict cache."""
    if isinstance(act, FileOp):
        return (act.op, act.path, act.content)
    if isinstance(act, Fetch):
        return (act.method, act.url, tuple(sorted((act.headers or {}).items())), act.body)
    if isinstance(act, Code):
        return (act.language, act.source)
    if isinstance(act, ToolCall):
        return (act.name, json_text(dict(act.args)))
    if isinstance(act, Message):
        return (act.direction, act.text)
    return act.command  # a Command (or a subclass of one)


def _environ_bytes() -> bool:
    data = getattr(os.environ, "_data", None)
    return os.name == "posix" and isinstance(data, dict) and all(type(k) is bytes for k in data)


_ENVIRON_BYTES = _environ_bytes()


def _environ_getter() -> Any:
    """A fast reader of one variable of os.environ for cache keys (its value only needs to compare
    equal): the byte-keyed dict behind os.environ on POSIX, else os.environ itself."""
    if _ENVIRON_BYTES:
        return os.environ._data.get  # type: ignore[attr-defined]
    return lambda name: os.environ.get(name.decode())


_environ_get = _environ_getter()


def _as_str(value: Any) -> str | None:
    """A value ``_environ_get`` gave (bytes on POSIX) as os.environ would give it."""
    return os.fsdecode(value) if isinstance(value, bytes) else value
