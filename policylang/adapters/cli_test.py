"""``policylang test``: run example lines and test tables against a compiled policy.

Test files:
  .policy  its ``example`` lines (the file is compiled into the policy, user layer; a file the
           config already loads is not loaded a second time)
  .toml    a config (it has ``[security]``): the policy to test, as with ``--config``, whose
           ``example`` lines run;
           a preset file: its ``[[examples]]`` run under the preset's own settings;
           a test table: ``[[test]]`` tables -- ``action`` (a command string or an action table as
           in --jsonl), ``expect`` (allow|sandbox|ask|deny), optional ``rule`` (an id that must have
           matched), optional ``cwd`` -- and ``[[examples]]`` tables as a preset writes them
           (``action``, ``decision``, optional ``context``: principal, role, interactive)
  .tsv     ``command<TAB>expected`` rows (a first row starting with ``command`` is a header)
Failures are printed with the file and line of the test.  Finding no test at all is a failure:
a run that checks nothing must not pass.
"""
from __future__ import annotations

import argparse
import json
import os
import tomllib
from dataclasses import dataclass
from typing import Any, Callable, TextIO

from ..actions import ActionError, Context, action_from_json
from ..diagnostics import shown
from .cli_codes import UsageError
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
    context: Context | None = None  # who acts: an [[examples]] table's `context`


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


def _read_toml(path: str) -> tuple[dict[str, Any], list[str]]:
    _, text = _table_text(path)  # a regular file, bounded, decoded with a position
    try:
        return tomllib.loads(text), text.splitlines()
    except tomllib.TOMLDecodeError as exc:
        raise TestFileError(f"{path}: {exc}") from None
    except RecursionError:
        raise TestFileError(f"{path}: arrays or tables nested too deep") from None


def toml_role(path: str) -> str:
    """What a .toml argument of ``test`` is: "config" (it has [security]), "preset" (a preset file:
    name, kind, [[examples]] and no [security]) or "table" ([[test]] or [[examples]] to run)."""
    data, _ = _read_toml(path)
    if "security" in data:
        return "config"
    if "kind" in data and "name" in data:
        return "preset"
    return "table"


def _toml(path: str, cwd: str) -> list[Case]:
    data, lines = _read_toml(path)
    cases = []
    for table, key in (("test", "expect"), ("examples", "decision")):
        starts = [i + 1 for i, l in enumerate(lines) if l.strip() == f"[[{table}]]"]
        entries = data.get(table, [])
        if not isinstance(entries, list):
            raise TestFileError(f"{path}: '{table}' must be an array of tables ([[{table}]]), "
                                f"not {type(entries).__name__}")
        for i, t in enumerate(entries):
            where = f"{path}:{starts[i] if i < len(starts) else 0}"
            if not isinstance(t, dict) or "action" not in t or key not in t:
                raise TestFileError(f"{where}: a [[{table}]] needs 'action' and '{key}'")
            for name, kind in ((key, str), ("rule", str), ("cwd", str)):
                if name in t and not isinstance(t[name], kind):
                    raise TestFileError(f"{where}: '{name}' must be a string, not {type(t[name]).__name__}")
            problem = value_problem(t["action"])
            if problem is not None:
                raise TestFileError(f"{where}: action: {problem}")
            try:
                action = action_from_json(t["action"])
            except ActionError as exc:
                raise TestFileError(f"{where}: {exc}") from None
            ctx = t.get("context")
            if ctx is not None and not isinstance(ctx, dict):
                raise TestFileError(f"{where}: `context` must be a table (principal, role, interactive)")
            context = None if ctx is None else Context(principal=str(ctx.get("principal", "user")),
                                                       role=str(ctx.get("role", "user")),
                                                       interactive=bool(ctx.get("interactive", True)))
            cases.append(Case(where, _with_cwd(action, t.get("cwd", cwd)), str(t[key]), t.get("rule"), context))
    return cases


def run_tests(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any], out: TextIO) -> int:
    """Run every test the files name; 0 when all passed, 1 when one failed or there was none."""
    from .colour import Colour
    from .cli_codes import EXIT_FAIL, EXIT_OK

    cwd = os.path.abspath(args.cwd) if getattr(args, "cwd", None) else os.getcwd()
    failures: list[dict[str, Any]] = []
    total = 0
    policy_files: list[str] = []
    tables: list[str] = []
    presets: list[str] = []
    for f in args.files:
        if f.endswith(".policy"):
            policy_files.append(f)
        elif not f.endswith(".toml"):
            tables.append(f)
        else:
            try:
                role = toml_role(f)
            except (TestFileError, OSError) as exc:
                failures.append({"where": f, "message": str(exc)})
                continue
            if role == "config":
                if getattr(args, "config", None) and os.path.realpath(args.config) != os.path.realpath(f):
                    raise UsageError(f"{f} is a config, and --config names another ({args.config}): give one")
                args.config = f
            elif role == "preset":
                presets.append(f)
            else:
                tables.append(f)
    policy = _load_once(args, load, policy_files)
    for d in policy.check_examples(("user", "project", "admin")):
        failures.append({"where": d.location(), "message": d.message})
    total += sum(1 for ex in policy.examples
                 if getattr(policy.texts.get(ex.span.source), "layer", None) in ("user", "project", "admin"))
    for preset in presets:
        n, problems = _preset_examples(preset)
        total += n
        failures.extend(problems)
    for table in tables:
        try:
            cases = load_cases(table, cwd)
        except (TestFileError, OSError) as exc:
            failures.append({"where": table, "message": str(exc)})
            continue
        for case in cases:
            total += 1
            problem = _run_case(policy, case)
            if problem is not None:
                failures.append({"where": case.where, "message": problem})
    if total == 0 and not failures:
        named = ", ".join(args.files) or "the loaded policy"
        failures.append({"where": named, "message": "no tests: no example lines, [[examples]], [[test]] or "
                                                    "table rows were found, so nothing was checked"})
    passed = total - len(failures)
    if getattr(args, "format", "text") == "json":
        print(json.dumps({"ok": not failures, "total": total, "passed": max(passed, 0), "failed": len(failures),
                          "failures": failures}, indent=2), file=out)
    else:
        c = Colour.for_stream(out)
        for f in failures:
            print(f"{f['where']}: {c.red('FAIL')}: {f['message']}", file=out)
        print(f"{max(passed, 0)} passed, {len(failures)} failed", file=out)
    return EXIT_OK if not failures else EXIT_FAIL


def _load_once(args: argparse.Namespace, load: Callable[[argparse.Namespace], Any], policy_files: list[str]) -> Any:
    """The policy of the options plus the .policy files named, each file loaded once: a file the
    config (or ``--policy``) already loads, or one named twice, is not added again (it would
    define every rule id a second time)."""
    explicit = list(getattr(args, "policy", None) or [])
    args.policy = explicit
    policy = load(args)
    loaded = {os.path.realpath(name) for name in policy.texts if os.path.exists(name)}
    loaded.update(os.path.realpath(f) for f in explicit)
    extra: list[str] = []
    for f in policy_files:
        real = os.path.realpath(f)
        if real not in loaded:
            loaded.add(real)
            extra.append(f)
    if not extra:
        return policy
    args.policy = explicit + extra
    return load(args)


def _preset_examples(path: str) -> tuple[int, list[dict[str, Any]]]:
    """(how many [[examples]] the preset file has, a failure for each that fails or for a file
    that does not load)."""
    from ..config.loader import check_preset_examples
    from ..config.presets import parse_preset
    from ..diagnostics import PolicyError

    with open(path, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    preset, diags = parse_preset(text, path)
    problems = [{"where": d.location(), "message": d.message} for d in diags if d.is_error]
    if preset is None:
        return 0, problems
    try:
        failed = check_preset_examples(preset)
    except PolicyError as exc:
        failed = list(exc.diagnostics)
    problems.extend({"where": d.location(), "message": d.message} for d in failed if d.is_error)
    return len(preset.examples), problems


def _run_case(policy: Any, case: Case) -> str | None:
    """Why ``case`` fails, or None when it passes."""
    if case.expect not in {d.label for d in Decision}:
        return f"unknown expected decision {shown(case.expect)}"
    v = policy.decide(case.action, case.context)
    if v.decision.label != case.expect:
        from ..engine.examples import blocked_by

        why = "; ".join(f"{r.rule}: {r.message}" + (f" [{r.location}]" if r.location else "")
                        for r in v.reasons[:3])
        blame = blocked_by(policy, case.action, case.expect, case.context)
        return f"expected {case.expect}, got {v.decision.label}: {v.action} ({why})" + (f"; {blame}" if blame else "")
    if case.rule and case.rule not in v.matched:
        return f"expected rule {case.rule} to match; matched: {', '.join(v.matched) or 'none'}"
    return None
