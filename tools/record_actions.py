"""A pytest plugin that records every action the test suite decides and every shell string it
analyses, as JSON lines for tools/dump_analyses.py.

usage: PYTHONPATH=tools RECORD_ACTIONS=out.jsonl python -m pytest -p record_actions
"""
from __future__ import annotations

import atexit
import json
import os
from typing import Any

_seen: set[str] = set()
_fh = open(os.environ.get("RECORD_ACTIONS", "recorded-actions.jsonl"), "a", encoding="utf-8")
atexit.register(_fh.close)


def _env(e: Any) -> Any:
    return dict(e) if e is not None else None


def _serialise(a: Any) -> dict[str, Any] | None:
    import policylang.actions as A

    t = type(a)
    if isinstance(a, str):
        return {"kind": "command", "command": a}
    if isinstance(a, (list, tuple)):
        return {"kind": "command", "command": list(a)}
    if t is A.Command:
        c = a.command
        return {"kind": "command", "command": list(c) if isinstance(c, tuple) else c, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.FileOp:
        return {"kind": "file", "op": a.op, "path": a.path, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.Fetch:
        return {"kind": "fetch", "url": a.url, "method": a.method}
    if t is A.Code:
        return {"kind": "code", "language": a.language, "source": a.source, "cwd": a.cwd, "env": _env(a.env)}
    if t is A.ToolCall:
        return {"kind": "tool", "name": a.name, "args": dict(a.args)}
    if t is A.Message:
        return {"kind": "message", "text": a.text, "direction": a.direction}
    return None


def _write(obj: dict[str, Any]) -> None:
    try:
        line = json.dumps(obj, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return
    if line not in _seen:
        _seen.add(line)
        _fh.write(line + "\n")


def pytest_configure(config: Any) -> None:
    """Wrap Policy.decide and the shell analyser's entry point before any test module imports them."""
    import policylang.analysis.dispatch as dispatch
    import policylang.analysis.shell as shell
    import policylang.engine.policy as engine

    decide = engine.Policy.decide

    def recording_decide(self: Any, action: Any, context: Any = None) -> Any:
        s = _serialise(action)
        if s is not None:
            _write({"action": s})
        return decide(self, action, context)

    engine.Policy.decide = recording_decide  # type: ignore[method-assign]
    analyse_command = shell.analyse_command

    def recording_analyse_command(text: str, *, cwd: str, env: Any, home: str) -> Any:
        _write({"shell": text, "cwd": cwd, "env": dict(env), "home": home})
        return analyse_command(text, cwd=cwd, env=env, home=home)

    shell.analyse_command = recording_analyse_command  # type: ignore[assignment]
    dispatch.analyse_command = recording_analyse_command  # type: ignore[assignment]
