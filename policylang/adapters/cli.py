"""The command-line interface: ``main(argv, stdin, stdout, stderr) -> int``.

Exit codes (cli_codes.py, docs/cli.md):
  0  allow / ok (the files are valid, the tests passed, the batch completed)
  1  deny / tests or examples of ``test`` failed
  2  usage error (bad options, unreadable file)
  3  ask: the action needs a person's approval
  4  sandbox: the action may run only isolated
  5  policy or config error (it does not compile, ``check`` found errors), internal error
"""
from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence, TextIO

from ..actions import Command, Context
from . import cli_audit
from ..diagnostics import Diagnostic, PolicyError, shown
from ..frozen import replace
from ..inputs import InputError, working_directory
from ..verdict import Verdict
from .cli_codes import EXIT_OK, EXIT_POLICY, EXIT_USAGE, UsageError, error_json, exit_code

if TYPE_CHECKING:
    import argparse

# argparse and json are imported where they are needed: ``policylang decide COMMAND`` (the hook's
# call) needs neither, and together with what argparse imports they cost about a tenth of a cold start.



def build_parser() -> argparse.ArgumentParser:
    import argparse

    class _Parser(argparse.ArgumentParser):
        def error(self, message: str) -> Any:  # argparse would exit; we return 2 instead
            raise UsageError(f"{self.prog}: {message}")

    p = _Parser(prog="policylang", description="Decide whether an agent's action is allowed, sandboxed, "
                "asked or denied.", epilog="exit codes: 0 allow/ok, 1 deny/tests failed, 2 usage error, 3 ask, "
                "4 sandbox, 5 policy or config error (docs/cli.md)")
    from .._version import __version__

    p.add_argument("-V", "--version", action="version", version=f"policylang {__version__}",
                   help="print the version and exit")
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
        from . import cli_audit, cli_config, cli_run

        cli_config.register(sub)
        cli_audit.register(sub)
        cli_run.register(sub, load_for, format_verdict, policy_options)
    except ImportError:  # pragma: no cover - the config commands ship with the package
        pass
    from . import cli_fmt
    from .hooks import command as hook_command

    cli_fmt.register(sub)
    hook_command.register(sub, policy_options)
    return p


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] in (["--version"], ["-V"]):
        from .._version import __version__

        print(f"policylang {__version__}", file=stdout)
        return EXIT_OK
    args: Any = plain_decide_args(words)
    if args is None and words[:1] == ["hook"]:  # the agent hook's call, also without argparse
        from .hooks.command import fast_args

        args = fast_args(words)
    if args is None:
        parser = build_parser()
        try:
            args = parser.parse_args(words)
        except UsageError as exc:
            return _failed(words, "usage", str(exc), (), EXIT_USAGE, stdout, stderr)
        except SystemExit as exc:  # --help
            return int(exc.code or 0)
        if not args.cmd:
            parser.print_help(stdout)
            return EXIT_USAGE
    handler: Callable[..., int] | None = {"check": cmd_check, "decide": cmd_decide, "explain": cmd_explain,
                                          "test": cmd_test, "hook": cmd_hook}.get(args.cmd) or getattr(args, "handler", None)
    if handler is None:
        build_parser().print_help(stderr)
        return EXIT_USAGE
    _tolerant(stdout, stderr)
    try:
        working_directory()  # a deleted working directory is a usage error, not a traceback later
        return handler(args, stdin=stdin, stdout=stdout, stderr=stderr)
    except (UsageError, InputError) as exc:
        return _failed(words, "usage", f"policylang: {exc}", (), EXIT_USAGE, stdout, stderr)
    except PolicyError as exc:
        from .cli_codes import policy_error_kind

        kind = policy_error_kind(exc.diagnostics)
        n = len(exc.errors)
        summary = f"the {kind} has {n} error(s)" if n else f"the {kind} cannot be loaded"
        text = exc.args[0] if exc.args else str(exc)
        return _failed(words, kind, summary, exc.diagnostics, EXIT_POLICY, stdout, stderr, text=text)
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # fail closed: an internal error is never an allow
        return _failed(words, "internal", f"policylang: internal error: {type(exc).__name__}: {exc}", (),
                       EXIT_POLICY, stdout, stderr)


def _failed(words: Sequence[str], kind: str, message: str, diagnostics: Sequence[Diagnostic], code: int,
            stdout: TextIO, stderr: TextIO, text: str | None = None) -> int:
    """Report an error that stopped a command: as JSON on stdout when JSON was asked for, and as
    text on stderr in any case."""
    from .cli_codes import wants_json

    if wants_json(words):
        import json

        print(json.dumps(error_json(kind, message, diagnostics), ensure_ascii=False), file=stdout)
    print(text if text is not None else message, file=stderr)
    return code


def _tolerant(*streams: TextIO) -> None:
    """Write what cannot be encoded (a surrogate from an argv byte that is not UTF-8) as a backslash
    escape instead of raising, whatever the locale says."""
    for stream in streams:
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot change
                pass


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
    try:
        code = main()
    finally:
        from ..frozen import keep_compiled

        keep_compiled()  # the value classes' __init__ bodies, for the next process (policylang.frozen)
    sys.exit(code)


# ---- loading --------------------------------------------------------------------------------

def _presets(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [p.strip() for v in values for p in v.split(",") if p.strip()]
    return out or None


def load_policy_for(args: argparse.Namespace) -> Any:
    """Compile the policy the options name: config, presets, mode and extra files."""
    return load_for(args)[0]


class LoadedFrom(str):
    """The line naming the files a load read (``config: PATH (the project's file); also read: ...``),
    with the same as JSON in ``json`` (``{"path", "origin", "also_read"}``) for JSON output."""

    json: dict[str, object]

    def __new__(cls, text: str, json: dict[str, object]) -> "LoadedFrom":
        line = super().__new__(cls, text)
        line.json = json
        return line


def load_for(args: argparse.Namespace) -> tuple[Any, LoadedFrom]:
    """The policy the options name, and a line naming the files it was loaded from.

    The config file is found in the order of config/discover.py (--config, POLICYLANG_CONFIG, the
    project's file, the user's file).  Through the compiled-policy cache (policylang.precompiled):
    when nothing it was built from has changed, no policy text or TOML is parsed."""
    from ..config.discover import find_config
    from ..config.precompiled import load_policy_and_files

    config = getattr(args, "config", None)
    if config is not None and not os.path.isfile(config):
        raise UsageError(f"cannot read the config file {config!r}")
    choice = find_config(config)
    files = list(getattr(args, "policy", None) or [])
    for f in files:
        _read(f)  # an unreadable file is a usage error, reported before the config is loaded
    try:
        policy, read = load_policy_and_files(choice.argument, preset=_presets(getattr(args, "preset", None)),
                                             mode=getattr(args, "mode", None), policy_files=files)
        return policy, LoadedFrom(choice.describe(read), choice.to_json(read))
    except (OSError, UnicodeDecodeError) as exc:  # a --policy file went away since _read
        raise UsageError(f"cannot read {getattr(exc, 'filename', None) or ', '.join(files)}: {exc}") from None


def _read(path: str) -> str:
    from ..inputs import MAX_POLICY_BYTES, read_text

    try:
        return read_text(path, MAX_POLICY_BYTES)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


# ---- decide ---------------------------------------------------------------------------------

def cmd_decide(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    policy, loaded = load_for(args)
    if args.headless:
        policy = policy.with_settings(headless=True)
    context = Context(role=args.role)
    cwd = os.path.abspath(args.cwd) if args.cwd else working_directory()
    if args.jsonl is not None:
        if args.command:
            raise UsageError("give either --jsonl or a command, not both")
        from .cli_batch import open_batch, run_batch

        try:
            stream = open_batch(args.jsonl, stdin)
        except OSError as exc:
            raise UsageError(f"cannot read {args.jsonl}: {exc.strerror or exc}") from None
        recorder = cli_audit.Recorder(policy, "cli.decide", stderr)
        try:
            whole = run_batch(policy, stream, stdout, stderr, cwd, context, recorder)
        finally:
            recorder.close()
            if args.jsonl != "-":
                stream.close()
        return EXIT_OK if whole else EXIT_USAGE
    command = " ".join(_strip_dashdash(args.command))
    if not command:
        raise UsageError("decide needs a COMMAND, or --jsonl -")
    v = policy.decide(Command(command, cwd=cwd), context)
    v = cli_audit.record(policy, v, context, "cli.decide", stderr)  # before the verdict is printed
    if args.json:
        import json

        print(json.dumps({**v.to_json(), "config": loaded.json}, ensure_ascii=True), file=stdout)
    else:
        from .colour import Colour

        print(format_verdict(v, Colour.for_stream(stdout)) + f"\n  {loaded}", file=stdout)
    return exit_code(v.decision)


def _strip_dashdash(words: Sequence[str]) -> list[str]:
    return list(words[1:]) if words and words[0] == "--" else list(words)


def _json_strings(words: Iterable[str]) -> str:
    """``json.dumps(list(words))`` for strings, without importing the json package."""
    try:
        from _json import encode_basestring_ascii as quote  # what json.dumps itself calls
    except ImportError:  # pragma: no cover - another implementation
        from json.encoder import encode_basestring_ascii as quote
    return "[" + ", ".join(quote(w) for w in words) + "]"


def format_verdict(v: Verdict, colour: Any = None) -> str:
    """The verdict as text; ``colour`` (adapters/colour.py) paints the decision when it is on."""
    label = colour.decision(v.decision.label) if colour is not None else v.decision.label
    lines = [f"{label} (risk {v.risk.label}): {v.action}"]
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


def cmd_hook(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """``policylang hook AGENT`` / ``hook install AGENT`` (adapters/hooks, docs/hooks.md)."""
    from .hooks.command import cmd_hook as hook

    return hook(args, load_for, stdin=stdin, stdout=stdout, stderr=stderr)


# ---- explain --------------------------------------------------------------------------------

def cmd_explain(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    import json

    policy, loaded = load_for(args)
    command = " ".join(_strip_dashdash(args.command))
    if not command:
        raise UsageError("explain needs a COMMAND")
    cwd = os.path.abspath(args.cwd) if args.cwd else working_directory()
    ex = policy.explain(Command(command, cwd=cwd))
    from .colour import Colour

    c = Colour.for_stream(stdout)
    ex = replace(ex, verdict=cli_audit.record(policy, ex.verdict, None, "cli.explain", stderr))
    if args.format == "json":
        print(json.dumps({**_explanation_json(ex, policy.settings), "config": loaded.json}, ensure_ascii=False,
                         indent=2), file=stdout)
        return exit_code(ex.verdict.decision)
    out = [f"command: {ex.verdict.action}", f"mode: {policy.settings.mode}, posture: {policy.settings.posture}", loaded]
    a = ex.analysis
    if a.error:
        out.append(f"analysis error: {a.error}")
    for reason in a.reasons:
        out.append(f"note: {reason}")
    from ..engine.examples import blocking

    blocked = {id(j): text for j, text in blocking(ex, policy.settings)}
    out.append(f"segments ({len(a.segments)}):")
    for i, seg in enumerate(a.segments):
        via = f" via {seg.via}" if seg.via else ""
        wrap = f" (unwrapped: {' '.join(seg.wrappers)})" if seg.wrappers else ""
        opaque = f" OPAQUE: {seg.opaque_reason}" if seg.opaque else ""
        out.append(f"  [{i}] {shown(seg.text, 400)}{via}{wrap}{opaque}")
        for j in ex.judged:
            if j.effect.segment != i:
                continue
            out.append(f"      {j.effect.describe()}  risk {j.risk.label}" + (f" ({j.why})" if j.why else ""))
            for rule in j.matched:
                mark = "decides" if rule in j.deciding else "matched, not deciding (allow ceiling below the risk)"
                out.append(f"        rule {rule.id} {rule.decision.label} [{rule.location}] {mark}")
            for rule in j.deciding:
                if rule not in j.matched:  # engine/judge.py cover_own_effects
                    out.append(f"        rule {rule.id} {rule.decision.label} [{rule.location}] decides: it allows "
                               f"the command, and this is the command's own {j.effect.kind} effect, within the "
                               f"rule's risk ceiling")
            if not j.deciding:
                why = j.reasons[0].message if j.reasons else j.why  # a speculative segment's effect has no reason
                out.append(f"        no rule decides: default {j.decision.label} ({why})")
            if id(j) in blocked:
                out.append(f"        why not allowed: {blocked[id(j)]}")
            out.append(f"        => {c.decision(j.decision.label)}")
    v = ex.verdict
    out.append(f"verdict: {c.decision(v.decision.label)} (risk {v.risk.label}) — the most restrictive of "
               f"{len(ex.judged)} effect decision(s) wins")
    for r in v.reasons:
        out.append(f"  because {r.rule}: {r.message}" + (f" [{r.location}]" if r.location else ""))
    for w in v.warnings:
        out.append(f"  warning: {w}")
    print("\n".join(out), file=stdout)
    return exit_code(v.decision)


def _explanation_json(ex: Any, settings: Any) -> dict[str, Any]:
    from ..engine.examples import blocking

    blocked = {id(j): text for j, text in blocking(ex, settings)}
    return {
        "verdict": ex.verdict.to_json(),
        "segments": [{"text": s.text, "program": s.program, "argv": list(s.argv), "via": s.via,
                      "wrappers": list(s.wrappers), "opaque": s.opaque, "opaque_reason": s.opaque_reason}
                     for s in ex.analysis.segments],
        "effects": [{"effect": j.effect.describe(), "segment": j.effect.segment, "risk": j.risk.label,
                     "why": j.why, "decision": j.decision.label,
                     "matched": [r.id for r in j.matched], "deciding": [r.id for r in j.deciding],
                     "why_not_allowed": blocked.get(id(j))}
                    for j in ex.judged],
        "analysis_error": ex.analysis.error,
    }


# ---- check ----------------------------------------------------------------------------------

def cmd_check(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Validate and compile each config (.toml) and the policy files given, and run their examples.

    A config's own examples (user, project and admin layers) run under its settings; a preset file's
    under the preset's.  Without a .toml file the config is found as every command finds it
    (config/discover.py): with no file at all that config is checked, or the built-in default policy
    with its own settings when there is none; policy files are compiled on top of it.
    """
    import json

    from .cli_config import config_diagnostics
    from ..config.discover import find_config
    from ..lang.compile import compile_policy
    from ..config.loader import load_config
    from ..source import Source

    diagnostics: list[Diagnostic] = []
    checked: list[str] = []
    policy_files = [f for f in args.files if not f.endswith(".toml")]
    config_files = [f for f in args.files if f.endswith(".toml")]
    choice = None if config_files else find_config()
    if choice is not None and choice.path is not None and not policy_files:
        config_files = [choice.path]
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
            if config is None and choice is not None:
                config = choice.argument
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
    status = EXIT_POLICY if n_err else EXIT_OK
    if args.format == "json":
        print(json.dumps({"ok": status == EXIT_OK, "checked": checked, "errors": n_err, "warnings": n_warn,
                          "diagnostics": [d.to_json() for d in diagnostics]}, indent=2), file=stdout)
    else:
        from .colour import Colour

        c = Colour.for_stream(stdout)
        for d in diagnostics:
            text = d.render()
            if c.enabled:
                text = text.replace(f": {d.severity}", ": " + c.severity(d.severity), 1)
            print(text, file=stdout)
        if choice is not None:
            print(choice.describe(), file=stdout)
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

    loaded: list[str] = []

    def load(a: argparse.Namespace) -> Any:
        policy, line = load_for(a)
        loaded.append(line)
        return policy

    status = run_tests(args, load, stdout)
    if getattr(args, "format", "text") == "text":
        print("\n".join(loaded), file=stdout)
    return status
