"""The command-line interface: ``main(argv, stdin, stdout, stderr) -> int``.

Exit codes:
  0  ok: the policy is valid / the action is allowed (or sandboxed) / the batch completed
  1  policy errors, failed examples or tests / the action is denied
  2  usage error (bad options, unreadable file)
  3  the action needs a person's approval (ask)
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TextIO

from ..actions import ActionError, Command, Context, action_from_json
from . import cli_audit
from ..diagnostics import Diagnostic, PolicyError
from ..frozen import replace
from ..verdict import Decision, Reason, Risk, Verdict

if TYPE_CHECKING:
    import argparse

# argparse and json are imported where they are needed: ``policylang decide COMMAND`` (the hook's
# call) needs neither, and together with what argparse imports they cost about a tenth of a cold start.

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ASK = 0, 1, 2, 3
MAX_LINE = 1 << 20  # a batch line longer than this is refused, not parsed


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:  # argparse would exit; we return 2 instead
            raise UsageError(f"{self.prog}: {message}")

    p = _Parser(prog="policylang", description="Decide whether an agent's action is allowed, sandboxed, "
                "asked or denied.")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=_Parser)

    def policy_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", metavar="FILE", help="config.toml with a [security] table")
        sp.add_argument("--preset", metavar="NAME", action="append",
                        help="preset to use (repeat or comma-separate: approve,strict)")
        sp.add_argument("--mode", choices=["explain_only", "approve", "execute"])
        sp.add_argument("--policy", metavar="FILE", action="append", default=[],
                        help="extra .policy file (user layer); repeatable")

    c = sub.add_parser("check", help="validate and compile policy and config files, run their examples")
    c.add_argument("files", nargs="*", metavar="FILE")
    c.add_argument("--format", choices=["text", "json"], default="text")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors")
    c.add_argument("--preset", metavar="NAME", action="append")

    d = sub.add_parser("decide", help="decide one action, or a batch with --jsonl -")
    policy_options(d)
    d.add_argument("--cwd", metavar="DIR", help="working directory of the action (default: here)")
    d.add_argument("--json", action="store_true", help="print the verdict as JSON")
    d.add_argument("--jsonl", metavar="FILE", help="batch: one JSON action per line ('-' for stdin)")
    d.add_argument("--headless", action="store_true", help="no person can answer: ask becomes deny")
    d.add_argument("--role", default="user", help="principal role (admin enables allow_admin_override)")
    d.add_argument("command", nargs=argparse.REMAINDER, help="the shell command")

    e = sub.add_parser("explain", help="show segments, effects, matching rules and why the winner won")
    policy_options(e)
    e.add_argument("--cwd", metavar="DIR")
    e.add_argument("--format", choices=["text", "json"], default="text")
    e.add_argument("command", nargs=argparse.REMAINDER)

    t = sub.add_parser("test", help="run examples and test tables (.policy, .toml, .tsv)")
    policy_options(t)
    t.add_argument("files", nargs="*", metavar="FILE")
    t.add_argument("--cwd", metavar="DIR")
    t.add_argument("--format", choices=["text", "json"], default="text")

    try:
        from . import cli_audit, cli_config

        cli_config.register(sub)
        cli_audit.register(sub)
    except ImportError:  # pragma: no cover - the config commands ship with the package
        pass
    return p


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    args: Any = plain_decide_args(words)
    if args is None:
        parser = build_parser()
        try:
            args = parser.parse_args(words)
        except UsageError as exc:
            print(str(exc), file=stderr)
            return EXIT_USAGE
        except SystemExit as exc:  # --help
            return int(exc.code or 0)
        if not args.cmd:
            parser.print_help(stdout)
            return EXIT_USAGE
    handler: Callable[..., int] | None = {"check": cmd_check, "decide": cmd_decide, "explain": cmd_explain,
                                          "test": cmd_test}.get(args.cmd) or getattr(args, "handler", None)
    if handler is None:
        build_parser().print_help(stderr)
        return EXIT_USAGE
    try:
        return handler(args, stdin=stdin, stdout=stdout, stderr=stderr)
    except UsageError as exc:
        print(f"policylang: {exc}", file=stderr)
        return EXIT_USAGE
    except PolicyError as exc:
        print(exc.args[0] if exc.args else str(exc), file=stderr)
        return EXIT_FAIL
    except BrokenPipeError:
        return EXIT_OK


class _DecideArgs:
    """The options of ``decide`` at their defaults, as ``build_parser`` would give them."""

    __slots__ = ("cmd", "config", "preset", "mode", "policy", "cwd", "json", "jsonl", "headless", "role",
                 "command")

    def __init__(self, command: list[str]):
        self.cmd = "decide"
        self.config: str | None = None
        self.preset: list[str] | None = None
        self.mode: str | None = None
        self.policy: list[str] = []
        self.cwd: str | None = None
        self.json = False
        self.jsonl: str | None = None
        self.headless = False
        self.role = "user"
        self.command = command


def plain_decide_args(argv: Sequence[str]) -> Any | None:
    """The parsed arguments of ``decide WORD ...`` when WORD is not an option, without argparse.

    The command is then everything from WORD on (``nargs=REMAINDER``) and every option keeps its
    default, which is what the full parser gives (a test compares the two); any other command line
    returns None and goes through argparse.
    """
    if len(argv) < 2 or argv[0] != "decide" or not argv[1] or argv[1][0] == "-":
        return None
    return _DecideArgs(list(argv[1:]))


def entry() -> None:
    """The console script."""
    sys.exit(main())


# ---- loading --------------------------------------------------------------------------------

def _presets(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [p.strip() for v in values for p in v.split(",") if p.strip()]
    return out or None


def load_policy_for(args: argparse.Namespace) -> Any:
    """Compile the policy the options name: config, presets, mode and extra files.

    Through the compiled-policy cache (policylang.precompiled): when nothing it was built from has
    changed, no policy text or TOML is parsed."""
    from ..config.precompiled import load_policy

    config = getattr(args, "config", None)
    if config is not None and not os.path.isfile(config):
        raise UsageError(f"cannot read the config file {config!r}")
    files = list(getattr(args, "policy", None) or [])
    for f in files:
        _read(f)  # an unreadable file is a usage error, reported before the config is loaded
    try:
        return load_policy(config, preset=_presets(getattr(args, "preset", None)), mode=getattr(args, "mode", None),
                           policy_files=files)
    except (OSError, UnicodeDecodeError) as exc:  # a --policy file went away since _read
        raise UsageError(f"cannot read {getattr(exc, 'filename', None) or ', '.join(files)}: {exc}") from None


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


# ---- decide ---------------------------------------------------------------------------------

def cmd_decide(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    policy = load_policy_for(args)
    if args.headless:
        policy = policy.with_settings(headless=True)
    context = Context(role=args.role)
    cwd = os.path.abspath(args.cwd) if args.cwd else os.getcwd()
    if args.jsonl is not None:
        if args.command:
            raise UsageError("give either --jsonl or a command, not both")
        if args.jsonl == "-":
            return _batch(policy, stdin, stdout, cwd, context, stderr)
        try:
            with open(args.jsonl, encoding="utf-8", errors="replace", newline="") as fh:
                return _batch(policy, fh, stdout, cwd, context, stderr)
        except OSError as exc:
            raise UsageError(f"cannot read {args.jsonl}: {exc}") from None
    command = " ".join(_strip_dashdash(args.command))
    if not command:
        raise UsageError("decide needs a COMMAND, or --jsonl -")
    v = policy.decide(Command(command, cwd=cwd), context)
    v = cli_audit.record(policy, v, context, "cli.decide", stderr)  # before the verdict is printed
    if args.json:
        import json

        print(json.dumps(v.to_json(), ensure_ascii=False), file=stdout)
    else:
        print(format_verdict(v), file=stdout)
    return {Decision.ALLOW: EXIT_OK, Decision.SANDBOX: EXIT_OK, Decision.ASK: EXIT_ASK}.get(v.decision, EXIT_FAIL)


def _strip_dashdash(words: Sequence[str]) -> list[str]:
    return list(words[1:]) if words and words[0] == "--" else list(words)


def _batch(policy: Any, lines: Iterable[str], stdout: TextIO, cwd: str, context: Context, stderr: TextIO) -> int:
    """One JSON verdict per input line, in order; a bad line gets a fail-closed verdict."""
    import json

    recorder = cli_audit.Recorder(policy, "cli.decide", stderr)
    try:
        for n, raw in enumerate(lines, 1):
            line = raw.rstrip("\r\n")
            verdict = recorder(_batch_line(policy, n, line, cwd, context), context).to_json()
            stdout.write(json.dumps(verdict, ensure_ascii=False) + "\n")
            stdout.flush()
    finally:
        recorder.close()
    return EXIT_OK


def _batch_line(policy: Any, n: int, line: str, cwd: str, context: Context) -> Verdict:
    import json

    try:
        if len(line) > MAX_LINE:
            return _refused(n, f"line is {len(line)} characters, over the limit of {MAX_LINE}")
        if not line.strip():
            return _refused(n, "empty line: expected a JSON string or object")
        try:
            value = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as exc:
            return _refused(n, f"invalid JSON: {exc}")
        try:
            action = action_from_json(value)
        except ActionError as exc:
            return _refused(n, str(exc))
        if getattr(action, "cwd", "unset") is None:
            action = replace(action, cwd=cwd)
        result: Verdict = policy.decide(action, context)
        return result
    except Exception as exc:  # never stop the batch
        return _refused(n, f"internal error: {type(exc).__name__}: {exc}")


def _refused(n: int, why: str) -> Verdict:
    return Verdict(Decision.DENY, Risk.UNKNOWN, (Reason("error:input", f"line {n}: {why}", Decision.DENY,
                                                        Risk.UNKNOWN),), kind="invalid")


def _json_strings(words: Iterable[str]) -> str:
    """``json.dumps(list(words))`` for strings, without importing the json package."""
    try:
        from _json import encode_basestring_ascii as quote  # what json.dumps itself calls
    except ImportError:  # pragma: no cover - another implementation
        from json.encoder import encode_basestring_ascii as quote
    return "[" + ", ".join(quote(w) for w in words) + "]"


def format_verdict(v: Verdict) -> str:
    lines = [f"{v.decision.label} (risk {v.risk.label}): {v.action}"]
    for r in v.reasons:
        where = f" [{r.location}]" if r.location else ""
        eff = f" on {r.effect}" if r.effect else ""
        lines.append(f"  {r.rule}: {r.message}{eff}{where}")
        if r.alternative:
            lines.append(f"    instead: {r.alternative}")
    for w in v.warnings:
        lines.append(f"  warning: {w}")
    if v.argv is not None:
        lines.append("  argv: " + _json_strings(v.argv))
    return "\n".join(lines)


# ---- explain --------------------------------------------------------------------------------

def cmd_explain(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    import json

    policy = load_policy_for(args)
    command = " ".join(_strip_dashdash(args.command))
    if not command:
        raise UsageError("explain needs a COMMAND")
    cwd = os.path.abspath(args.cwd) if args.cwd else os.getcwd()
    ex = policy.explain(Command(command, cwd=cwd))
    ex = replace(ex, verdict=cli_audit.record(policy, ex.verdict, None, "cli.explain", stderr))
    if args.format == "json":
        print(json.dumps(_explanation_json(ex), ensure_ascii=False, indent=2), file=stdout)
        return EXIT_OK
    out = [f"command: {command}", f"mode: {policy.settings.mode}, posture: {policy.settings.posture}"]
    a = ex.analysis
    if a.error:
        out.append(f"analysis error: {a.error}")
    for reason in a.reasons:
        out.append(f"note: {reason}")
    out.append(f"segments ({len(a.segments)}):")
    for i, seg in enumerate(a.segments):
        via = f" via {seg.via}" if seg.via else ""
        wrap = f" (unwrapped: {' '.join(seg.wrappers)})" if seg.wrappers else ""
        opaque = f" OPAQUE: {seg.opaque_reason}" if seg.opaque else ""
        out.append(f"  [{i}] {seg.text!r}{via}{wrap}{opaque}")
        for j in ex.judged:
            if j.effect.segment != i:
                continue
            out.append(f"      {j.effect.describe()}  risk {j.risk.label}" + (f" ({j.why})" if j.why else ""))
            for rule in j.matched:
                mark = "decides" if rule in j.deciding else "matched, not deciding (allow ceiling below the risk)"
                out.append(f"        rule {rule.id} {rule.decision.label} [{rule.location}] {mark}")
            if not j.deciding:
                out.append(f"        no rule decides: default {j.decision.label} ({j.reasons[0].message})")
            out.append(f"        => {j.decision.label}")
    v = ex.verdict
    out.append(f"verdict: {v.decision.label} (risk {v.risk.label}) — the most restrictive of "
               f"{len(ex.judged)} effect decision(s) wins")
    for r in v.reasons:
        out.append(f"  because {r.rule}: {r.message}" + (f" [{r.location}]" if r.location else ""))
    for w in v.warnings:
        out.append(f"  warning: {w}")
    print("\n".join(out), file=stdout)
    return EXIT_OK


def _explanation_json(ex: Any) -> dict[str, Any]:
    return {
        "verdict": ex.verdict.to_json(),
        "segments": [{"text": s.text, "program": s.program, "argv": list(s.argv), "via": s.via,
                      "wrappers": list(s.wrappers), "opaque": s.opaque, "opaque_reason": s.opaque_reason}
                     for s in ex.analysis.segments],
        "effects": [{"effect": j.effect.describe(), "segment": j.effect.segment, "risk": j.risk.label,
                     "why": j.why, "decision": j.decision.label,
                     "matched": [r.id for r in j.matched], "deciding": [r.id for r in j.deciding]}
                    for j in ex.judged],
        "analysis_error": ex.analysis.error,
    }


# ---- check ----------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Validate and compile each config (.toml) and the policy files given, and run their examples.

    A config's own examples (user, project and admin layers) run under its settings; a preset file's
    under the preset's; with no file at all, the built-in default policy is checked with its own.
    """
    import json

    from .cli_config import config_diagnostics
    from ..lang.compile import compile_policy
    from ..config.loader import load_config
    from ..source import Source

    diagnostics: list[Diagnostic] = []
    checked: list[str] = []
    policy_files = [f for f in args.files if not f.endswith(".toml")]
    config_files = [f for f in args.files if f.endswith(".toml")]
    targets: list[tuple[str | None, list[str]]] = [(c, []) for c in config_files]
    if policy_files or not config_files:
        targets.append((None, policy_files))
    for config, files in targets:
        checked.extend([config] if config else files or ["<built-in default policy>"])
        if config is not None:
            if not os.path.isfile(config):
                raise UsageError(f"cannot read the config file {config!r}")
            kind, diags = config_diagnostics(config, args.strict)
            diagnostics.extend(diags)
            if kind == "preset" or any(d.is_error for d in diags):
                continue  # a preset's examples were run by config_diagnostics; errors stop here
        try:
            loaded = load_config(config, preset=_presets(args.preset))
            sources = list(loaded.sources)
            for f in files:
                sources.append(Source(f, _read(f), layer="user"))
            policy = compile_policy(sources, loaded.settings)
            diagnostics.extend(policy.diagnostics)
            layers = ("user", "project", "admin") if config or files else ("builtin",)
            diagnostics.extend(policy.check_examples(layers))
            diagnostics.extend(policy_lints(policy))
        except PolicyError as exc:
            diagnostics.extend(exc.diagnostics)
    diagnostics = _unique(diagnostics)
    if args.strict:
        diagnostics = [d if d.is_error else replace(d, severity="error") for d in diagnostics]
    n_err = sum(1 for d in diagnostics if d.is_error)
    n_warn = len(diagnostics) - n_err
    status = EXIT_FAIL if n_err else EXIT_OK
    if args.format == "json":
        print(json.dumps({"ok": status == EXIT_OK, "checked": checked, "errors": n_err, "warnings": n_warn,
                          "diagnostics": [d.to_json() for d in diagnostics]}, indent=2), file=stdout)
    else:
        for d in diagnostics:
            print(d.render(), file=stdout)
        print(f"{'ok' if status == EXIT_OK else 'failed'}: {', '.join(checked)}: {n_err} error(s), "
              f"{n_warn} warning(s)", file=stdout)
    return status


def _unique(diags: Iterable[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diags))


def policy_lints(policy: Any) -> list[Diagnostic]:
    from ..lang.shadow import shadowed_rules

    return shadowed_rules(policy)


# ---- test -----------------------------------------------------------------------------------

def cmd_test(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    from .cli_test import run_tests

    return run_tests(args, load_policy_for, stdout)
