"""``policylang decide --jsonl FILE|-``: one JSON verdict per input line (the JSONL contract).

The contract (docs/cli.md, "Input limits and the JSONL contract"):
  - one verdict per input line, in input order; lines are split on LF only (a bare CR is data);
  - a line that cannot be decided (not UTF-8, longer than the limit, not JSON, a lone surrogate,
    nested too deep, not an action) gets a fail-closed verdict (``deny``, rule ``error:input``,
    the line number and why) in its place, and the batch goes on;
  - every verdict is written as one line of ASCII JSON: U+2028, U+2029, U+0085, CR, VT, FF and the
    other characters ``str.splitlines()`` breaks on are escaped, so any line-based reader sees one
    line per verdict;
  - stdout is flushed after every verdict and nothing is written to stderr until the batch ends.
"""
from __future__ import annotations

import json
import os
from typing import Callable, IO, Any, TextIO

from ..actions import ActionError, Context, action_from_json
from ..frozen import replace
from ..inputs import MAX_NESTING, BatchLines, open_regular
from ..verdict import Decision, Reason, Risk, Verdict


def open_batch(path: str, stdin: TextIO) -> IO[bytes] | IO[str]:
    """The stream ``--jsonl`` names: stdin's bytes for ``-``, else the regular file (InputError for a
    FIFO, device or directory; OSError when it cannot be opened)."""
    if path == "-":
        return getattr(stdin, "buffer", None) or stdin
    return os.fdopen(open_regular(path), "rb")


def run_batch(policy: Any, stream: IO[bytes] | IO[str], stdout: TextIO, stderr: TextIO, cwd: str,
              context: Context, record: Callable[[Verdict, Context], Verdict] | None = None) -> bool:
    """Write one verdict per line of ``stream``; False when the stream ended early (said on stderr).
    ``record`` (the audit log's) sees each verdict before it is written and may only tighten it."""
    lines = BatchLines(stream)
    for line in lines:
        if line.text is None:
            verdict = refused(line.number, line.error or "unreadable line")
        else:
            verdict = decide_line(policy, line.number, line.text, cwd, context)
        if record is not None:
            verdict = record(verdict, context)
        stdout.write(json.dumps(verdict.to_json(), ensure_ascii=True) + "\n")
        stdout.flush()
    if lines.ended is not None:
        stderr.write(f"policylang: --jsonl: {lines.ended}; the batch stopped\n")
        return False
    return True


def decide_line(policy: Any, n: int, line: str, cwd: str, context: Context) -> Verdict:
    """The verdict (as JSON) for one batch line; never raises."""
    try:
        if not line.strip():
            return refused(n, "empty line: expected a JSON string or object")
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            return refused(n, f"invalid JSON: {exc}")
        problem = value_problem(value)
        if problem is not None:
            return refused(n, problem)
        try:
            action = action_from_json(value)
        except ActionError as exc:
            return refused(n, str(exc))
        if getattr(action, "cwd", "unset") is None:
            action = replace(action, cwd=cwd)
        result: Verdict = policy.decide(action, context)
        return result
    except Exception as exc:  # never stop the batch
        return refused(n, f"internal error: {type(exc).__name__}: {exc}")


def value_problem(value: Any) -> str | None:
    """Why a decoded JSON value cannot be an action's input: nested deeper than MAX_NESTING, or a
    string holding a lone surrogate (``"\\ud800"``, which no encoding can write); None when fine."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, str):
            if not v.isascii():
                try:
                    v.encode("utf-8")
                except UnicodeEncodeError as err:
                    return f"a string holds a lone surrogate (U+{ord(v[err.start]):04X}) at character {err.start + 1}"
        elif isinstance(v, (dict, list)):
            if depth >= MAX_NESTING:
                return f"nested deeper than {MAX_NESTING} levels"
            items = list(v.items()) if isinstance(v, dict) else [(None, x) for x in v]
            for k, x in items:
                if k is not None:
                    stack.append((k, depth))
                stack.append((x, depth + 1))
    return None


def refused(n: int, why: str) -> Verdict:
    """The fail-closed verdict of line ``n``: deny, with why."""
    return Verdict(Decision.DENY, Risk.UNKNOWN, (Reason("error:input", f"line {n}: {why}", Decision.DENY, Risk.UNKNOWN),),
                   kind="invalid")
