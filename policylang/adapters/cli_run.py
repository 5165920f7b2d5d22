"""``policylang run [OPTIONS] -- COMMAND ...``: decide a command, then run it as the verdict says
(adapters/executor.py, docs/cli.md, docs/sandbox.md).

One word after ``--`` is shell text, run by ``/bin/sh -c``; several words are an argv, run without a
shell; under ``exec_strict`` the words are always the argv.  The decision is on exactly what runs.

Exit codes: the command's own when it ran; 124 when it was stopped at its time limit; 126 when it
did not run (denied, not approved, no sandbox backend, a sandbox that cannot be set up or a backend
that did not start the command; the reason is on stderr); 2 usage error; 5 policy or config error.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ..actions import Context
from ..frozen import replace
from ..inputs import working_directory
from ..verdict import Verdict
from . import cli_audit
from .cli_codes import UsageError
from .executor import EXIT_INTERRUPTED, Outcome, action_of, carry_out, record_outcome

if TYPE_CHECKING:
    import argparse


def register(subparsers: Any, load: Callable[[Any], tuple[Any, str]], show: Callable[[Verdict], str],
             policy_options: Callable[[Any], None]) -> None:
    """Add ``run`` to the main parser's subparsers; ``load`` is cli.load_for (the policy the options
    name), ``show`` cli.format_verdict, ``policy_options`` adds --config, --preset, --mode and
    --policy as every deciding command has them (passed in: cli imports this module)."""
    import argparse

    r = subparsers.add_parser("run", help="decide a command, then run it: directly, in the sandbox, or not at all",
                              description="Decide COMMAND, then run it as the verdict says: allow runs it, sandbox "
                              "runs it isolated, ask asks on the terminal (denied without one), deny does not run "
                              "it (exit 126).  One word after -- is shell text (/bin/sh -c); several are an argv.")
    policy_options(r)
    r.add_argument("--cwd", metavar="DIR", help="run the command in DIR (default: here)")
    r.add_argument("--headless", action="store_true", help="no person can answer: ask becomes deny")
    r.add_argument("--role", default="user", help="principal role (admin enables allow_admin_override)")
    r.add_argument("command", nargs=argparse.REMAINDER, help="-- and the command")

    def handler(args: argparse.Namespace, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
        return cmd_run(args, load, show, stdin=stdin, stdout=stdout, stderr=stderr)

    r.set_defaults(handler=handler)


def _ask(verdict: Verdict, show: Callable[[Verdict], str], stdin: TextIO, stderr: TextIO) -> bool:
    """Ask on the terminal; anything but y or yes is a no."""
    print(show(verdict), file=stderr)
    print("run it? [y/N] ", end="", file=stderr, flush=True)
    try:
        answer = stdin.readline()
    except (OSError, ValueError, KeyboardInterrupt):  # Ctrl-C at the question is a no
        print(file=stderr)
        return False
    return answer.strip().lower() in ("y", "yes")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def cmd_run(args: argparse.Namespace, load: Callable[[Any], tuple[Any, str]], show: Callable[[Verdict], str], *,
            stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    words = list(args.command)
    if words[:1] == ["--"]:
        words = words[1:]
    if not words:
        raise UsageError("run needs -- and a COMMAND")
    policy, _ = load(args)
    if args.headless:
        policy = policy.with_settings(headless=True)
    interactive = _is_terminal(stdin) and not policy.settings.headless
    context = Context(role=args.role, interactive=interactive)
    cwd = os.path.abspath(args.cwd) if args.cwd else working_directory()
    if not os.path.isdir(cwd):
        raise UsageError(f"not a directory: {cwd}")
    command: Any = words if policy.settings.exec_strict or len(words) > 1 else words[0]
    action = action_of(command, cwd, None)
    verdict = policy.decide(action, context)
    recorder = cli_audit.Recorder(policy, "cli.run", stderr)
    try:
        verdict = recorder(verdict, context)  # written before anything runs
        decision_id = recorder.last_id
        for stream in (stdout, stderr):
            stream.flush()
        try:
            outcome = carry_out(policy, action, verdict, approve=(lambda v: _ask(v, show, stdin, stderr))
                                if interactive else None, stdin=_fd(stdin), stdout=_fd(stdout), stderr=_fd(stderr))
        except KeyboardInterrupt:  # the run has been stopped (executor.spawn): say so in the log
            outcome = Outcome(verdict, True, EXIT_INTERRUPTED, reason="interrupted")
        outcome = replace(outcome, decision_id=decision_id)
        record_outcome(recorder, outcome)
    finally:
        recorder.close()
    if not outcome.ran:
        _explain_not_run(outcome, stderr)
    elif outcome.timed_out:
        print(f"policylang run: {outcome.reason}", file=stderr)
    return outcome.status


def _fd(stream: TextIO) -> int | None:
    """The descriptor of ``stream`` for the command to inherit; None (this process's own) when it
    has none (a StringIO given to ``main``)."""
    try:
        return stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None


def _explain_not_run(outcome: Outcome, stderr: TextIO) -> None:
    """Why the command did not run: the verdict, the reason, and the rules behind it."""
    v = outcome.verdict
    print(f"policylang run: not run ({v.decision.label}, risk {v.risk.label}): {outcome.reason or 'not run'}",
          file=stderr)
    for r in v.reasons:
        print(f"  {r.rule}: {r.message}" + (f" [{r.location}]" if r.location else ""), file=stderr)
