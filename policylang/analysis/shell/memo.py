"""The exact memo of shell analyses: keyed by the input, cwd and home, and checked against the values
of every environment variable the analysis read."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, Mapping

from ...effects import Analysis

_MISSING: Any = object()  # an environment variable that is not set


class _RecordingEnv(Mapping[str, str]):
    """The environment as the analysis sees it, recording every variable it reads.

    Reads through ``get``, ``[]`` and ``in`` are recorded with the value seen (``_MISSING`` when
    unset).  Anything that looks at the whole environment (iteration, ``len``, ``keys`` ...) marks
    the analysis as depending on all of it: such a result is not memoised.
    """

    __slots__ = ("_env", "reads", "whole")

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.reads: dict[str, Any] = {}
        self.whole = False

    def _read(self, key: str) -> Any:
        value = self._env.get(key, _MISSING)
        if key not in self.reads:
            self.reads[key] = value
        return value

    def __getitem__(self, key: str) -> str:
        value = self._read(key)
        if value is _MISSING:
            raise KeyError(key)
        result: str = value
        return result

    def get(self, key: str, default: Any = None) -> Any:
        value = self._read(key)
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            self.whole = True
            return key in self._env
        return self._read(key) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        self.whole = True
        return iter(self._env)

    def __len__(self) -> int:
        self.whole = True
        return len(self._env)


_MEMO_SIZE = 4096  # keys (command, cwd, home, $HOME) kept; the oldest goes first when full


_MEMO_PER_KEY = 8  # results kept per key (one per combination of the variables it reads)


_MEMO_WEIGHT = 200_000  # segments + effects held in all, so memory stays bounded on hostile input


_MEMO_TEXT = 4096  # longer commands are analysed every time


_MemoKey = tuple[Any, str, str, Any]


# One memoised result: the (variable, value) pairs it read, the Analysis, and its weight.
_MemoEntry = tuple[tuple[tuple[str, Any], ...], Analysis, int]


class _Memo:
    """Exact memo of an analysis function of (input, cwd, env, home).

    The key is (input, cwd, home, env["HOME"]); each key holds a few results, each with the
    environment variables its analysis read and their values, and a result is reused only when
    the current environment has the same values for all of them.  A result whose analysis looked
    at the whole environment, or read a value that is not a string, is not kept.

    Reads take no lock: a key's entries are an immutable tuple that a writer replaces whole.
    Writers hold a lock; when the memo holds ``size`` keys, or results of more than ``weight``
    segments and effects in all, the oldest keys are dropped (first in, first out).
    """

    def __init__(self, size: int = _MEMO_SIZE, per_key: int = _MEMO_PER_KEY, weight: int = _MEMO_WEIGHT) -> None:
        self.size = size
        self.per_key = per_key
        self.weight = weight
        self.enabled = True
        self._data: dict[_MemoKey, tuple[_MemoEntry, ...]] = {}
        self._weights: dict[_MemoKey, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._data.clear()
            self._weights.clear()
            self._total = 0

    def __len__(self) -> int:
        return sum(len(v) for v in tuple(self._data.values()))

    def get_or_run(self, item: Any, cwd: str, env: Mapping[str, str], home: str,
                   run: Callable[[Any, str, Mapping[str, str], str], Analysis]) -> Analysis:
        """The memoised ``run(item, cwd, env, home)``; ``item`` must be hashable (a str or a tuple of str)."""
        if not self.enabled or type(cwd) is not str or type(home) is not str:
            return run(item, cwd, env, home)
        env_home = env.get("HOME")
        if env_home is not None and type(env_home) is not str:
            return run(item, cwd, env, home)
        key = (item, cwd, home, env_home)
        entries = self._data.get(key)
        if entries is not None:
            for reads, result, _ in entries:
                for name, value in reads:
                    if env.get(name, _MISSING) != value:
                        break
                else:
                    return result
        recorder = _RecordingEnv(env)
        result = run(item, cwd, recorder, home)
        if recorder.whole or any(v is not _MISSING and type(v) is not str for v in recorder.reads.values()):
            return result
        weight = 1 + len(result.segments) + len(result.effects)
        if weight * 4 > self.weight:
            return result
        entry: _MemoEntry = (tuple(recorder.reads.items()), result, weight)
        with self._lock:
            data, weights = self._data, self._weights
            kept = (entry, *data.pop(key, ())[:self.per_key - 1])
            self._total -= weights.pop(key, 0)
            key_weight = sum(e[2] for e in kept)
            while data and (len(data) >= self.size or self._total + key_weight > self.weight):
                oldest = next(iter(data))
                del data[oldest]
                self._total -= weights.pop(oldest, 0)
            data[key] = kept
            weights[key] = key_weight
            self._total += key_weight
        return result


_COMMAND_MEMO = _Memo()


_ARGV_MEMO = _Memo()


def set_memo(enabled: bool) -> None:
    """Turn the analysis memos on or off (benchmarks measure uncached analysis); off also clears them."""
    for memo in (_COMMAND_MEMO, _ARGV_MEMO):
        memo.enabled = enabled
        memo.clear()
