"""``policylang test``: run example lines and test tables against a compiled policy.

Test tables:
  .policy  its ``example`` lines (the file is compiled into the policy, user layer)
  .toml    ``[[test]]`` tables: ``action`` (a command string or an action table as in --jsonl),
           ``expect`` (allow|sandbox|ask|deny), optional ``rule`` (an id that must have matched),
           optional ``cwd``
  .tsv     ``command<TAB>expected`` rows (a first row starting with ``command`` is a header)
Failures are printed with the file and line of the test.
"""
from __future__ import annotations

import argparse
import json
import os
import tomllib
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from ..actions import ActionError, action_from_json
from ..frozen import replace
from ..inputs import MAX_LINE_BYTES, MAX_TABLE_BYTES, decode_utf8, read_bytes
from ..verdict import Decision
from .cli_batch import value_problem


@dataclass(frozen=True)
class Case:
    where: str
    action: Any
    expect: str
    rule: str | None = None


class TestFileError(Exception):
    pass


def load_cases(path: str, default_cwd: str) -> list[Case]:
    if path.endswith(".tsv"):
        return _tsv(path, default_cwd)
    if path.endswith(".toml"):
        return _toml(path, default_cwd)
    raise TestFileError(f"{path}: unknown test file type (expected .policy, .toml or .tsv)")


def _with_cwd(action: Any, cwd: str) -> Any:
    if hasattr(action, "cwd") and getattr(action, "cwd") is None:
        return replace(action, cwd=cwd)
    return action


def _table_text(path: str) -> tuple[bytes, str]:
    """The bytes and the UTF-8 text of a test table (a regular file of at most MAX_TABLE_BYTES)."""
    raw = read_bytes(path, MAX_TABLE_BYTES)
    return raw, decode_utf8(raw, path)


def _tsv(path: str, cwd: str) -> list[Case]:
    cases = []
    _, text = _table_text(path)
    for n, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        parts = line.split("\t")
        if n == 1 and parts[0] == "command" or not line.strip() or line.startswith("#"):
            continue
        if len(parts) < 2:
            raise TestFileError(f"{path}:{n}: expected 'command<TAB>decision'")
        if len(line) > MAX_LINE_BYTES:
            raise TestFileError(f"{path}:{n}: the line is longer than the limit of {MAX_LINE_BYTES:,} characters")
        try:
            action = action_from_json(parts[0])
        except ActionError as exc:
            raise TestFileError(f"{path}:{n}: {exc}") from None
        cases.append(Case(f"{path}:{n}", _with_cwd(action, cwd), parts[1].strip()))
    return cases


def _toml(path: str, cwd: str) -> list[Case]:
    _, text = _table_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TestFileError(f"{path}: {exc}") from None
    except RecursionError:
        raise TestFileError(f"{path}: arrays or tables nested too deep") from None
    lines = text.splitlines()
    starts = [i + 1 for i, l in enumerate(lines) if l.strip() == "[[test]]"]
    tests = data.get("test", [])
    if not isinstance(tests, list):
        raise TestFileError(f"{path}: 'test' must be an array of tables ([[test]]), not {type(tests).__name__}")
    cases = []
    for i, t in enumerate(tests):
        where = f"{path}:{starts[i] if i < len(starts) else 0}"
        if not isinstance(t, dict) or "action" not in t or "expect" not in t:
            raise TestFileError(f"{where}: a [[test]] needs 'action' and 'expect'")
        for key, kind in (("expect", str), ("rule", str), ("cwd", str)):
            if key in t and not isinstance(t[key], kind):
                raise TestFileError(f"{where}: '{key}' must be a string, not {type(t[key]).__name__}")
        problem = value_problem(t["action"])
        if problem is not None:
            raise TestFileError(f"{where}: action: {problem}")
        try:
            action = action_from_json(t["action"])
        except ActionError as exc:
            raise TestFileError(f"{where}: {exc}") from None
        cases.append(Case(where, _with_cwd(action, t.get("cwd", cwd)), t["expect"], t.get("rule")))
    return cases


def run_tests(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any], out: TextIO) -> int:
    cwd = os.path.abspath(args.cwd) if getattr(args, "cwd", None) else os.getcwd()
    policy_files = [f for f in args.files if f.endswith(".policy")]
    tables = [f for f in args.files if not f.endswith(".policy")]
    args.policy = list(getattr(args, "policy", None) or []) + policy_files
    policy = load(args)
    failures: list[dict[str, Any]] = []
    total = 0
    for d in policy.check_examples(("user",)):
        failures.append({"where": d.location(), "message": d.message})
    total += sum(1 for ex in policy.examples
                 if getattr(policy.texts.get(ex.span.source), "layer", None) == "user")
    for table in tables:
        try:
            cases = load_cases(table, cwd)
        except (TestFileError, OSError) as exc:
            failures.append({"where": table, "message": str(exc)})
            continue
        for case in cases:
            total += 1
            if case.expect not in {d.label for d in Decision}:
                failures.append({"where": case.where, "message": f"unknown expected decision {case.expect!r}"})
                continue
            v = policy.decide(case.action)
            if v.decision.label != case.expect:
                why = "; ".join(f"{r.rule}: {r.message}" + (f" [{r.location}]" if r.location else "")
                                for r in v.reasons[:3])
                failures.append({"where": case.where, "message": f"expected {case.expect}, got "
                                 f"{v.decision.label}: {v.action} ({why})"})
            elif case.rule and case.rule not in v.matched:
                failures.append({"where": case.where, "message": f"expected rule {case.rule} to match; "
                                 f"matched: {', '.join(v.matched) or 'none'}"})
    passed = total - len(failures)
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"total": total, "failed": len(failures), "failures": failures}, indent=2), file=out)
    else:
        for f in failures:
            print(f"{f['where']}: FAIL: {f['message']}", file=out)
        print(f"{max(passed, 0)} passed, {len(failures)} failed", file=out)
    return 0 if not failures else 1
