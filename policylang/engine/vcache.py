"""The verdict cache: a bounded two-generation map from a normalised action and everything its
verdict depends on to the verdict (DESIGN §6)."""
from __future__ import annotations

import os
import threading
from typing import Any

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


def _environ_getter() -> Any:
    """A fast reader of one variable of os.environ for cache keys (its value only needs to compare
    equal): the byte-keyed dict behind os.environ on POSIX, else os.environ itself."""
    data = getattr(os.environ, "_data", None)
    if os.name == "posix" and isinstance(data, dict) and all(type(k) is bytes for k in data):
        return data.get
    return lambda name: os.environ.get(name.decode())


_environ_get = _environ_getter()
