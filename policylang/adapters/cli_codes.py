"""Exit codes of the command line, and errors in the form a machine reads (docs/cli.md).

Every command exits with one of these codes, so a script can tell a denied action from a broken
policy and an approval from a sandbox:

  0  allow / ok (the files are valid, every test passed, a batch completed)
  1  deny / failed (a test or an example of ``test`` failed, or there were no tests)
  2  usage error (bad options, a file that cannot be read)
  3  ask: a person must approve the action
  4  sandbox: the action may run only isolated
  5  policy or configuration error (it does not compile, ``check`` found errors), or an
     internal error; never an allow

With ``--format json`` (``--json``, ``--jsonl``) an error is printed to stdout as one JSON object,
``{"ok": false, "error": {"kind", "message", "file", "line", "column", "diagnostics"}}``, so a
reader that parses stdout always gets JSON.
"""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from ..diagnostics import Diagnostic
from ..verdict import Decision

EXIT_OK = EXIT_ALLOW = 0
EXIT_DENY = EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_ASK = 3
EXIT_SANDBOX = 4
EXIT_POLICY = 5



class UsageError(Exception):
    """A command line that cannot be run as given: exit code 2."""


_BY_DECISION = {Decision.ALLOW: EXIT_ALLOW, Decision.SANDBOX: EXIT_SANDBOX, Decision.ASK: EXIT_ASK,
                Decision.DENY: EXIT_DENY}


def exit_code(decision: Decision) -> int:
    """The exit code of a verdict; anything unexpected is a deny (fail closed)."""
    return _BY_DECISION.get(decision, EXIT_DENY)


def wants_json(words: Sequence[str]) -> bool:
    """Whether the command line asks for machine output (read before, and whatever, argparse says)."""
    for i, w in enumerate(words):
        if w == "--":
            break
        if w in ("--json", "--format=json") or w.startswith("--jsonl"):
            return True
        if w == "--format" and i + 1 < len(words) and words[i + 1] == "json":
            return True
    return False


def error_json(kind: str, message: str, diagnostics: Iterable[Diagnostic] = ()) -> dict[str, Any]:
    """The JSON printed instead of a result when a command cannot run: ``kind`` is usage, policy,
    config or internal; ``file``/``line``/``column`` are those of the first error, when known."""
    diags = list(diagnostics)
    first = next((d for d in diags if d.is_error), diags[0] if diags else None)
    span = first.span if first is not None else None
    return {"ok": False, "error": {
        "kind": kind,
        "message": message,
        "file": span.source if span else None,
        "line": span.line if span else None,
        "column": span.column if span else None,
        "diagnostics": [d.to_json() for d in diags],
    }}


def policy_error_kind(diagnostics: Sequence[Diagnostic]) -> str:
    """"config" when the first error is in a TOML file, else "policy"."""
    first = next((d for d in diagnostics if d.is_error), None)
    name = first.span.source if first is not None and first.span is not None else ""
    return "config" if name.endswith(".toml") else "policy"
