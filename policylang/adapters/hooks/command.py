"""``policylang hook AGENT`` and ``policylang hook install AGENT`` (docs/hooks.md, docs/cli.md).

``hook AGENT`` reads one hook call's JSON on stdin, decides the actions it stands for, records the
verdict in the audit log (as ``decide`` does) and prints the agent's answer.  It never fails open:
a payload it cannot use, a policy that does not load or an internal error blocks the call with the
agent's blocking exit code and the reason on stderr.

Exit codes are the agent's, not policylang's (cli_codes.py): 0 with the decision in the JSON, the
agent's blocking code (2 for every shipped agent) for what cannot be decided.  ``hook install``
exits 0 when the entry is written (or was already there), 2 when it cannot be (a settings file that
is not JSON, an unknown agent).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ...verdict import Decision, Reason, Risk, Verdict

if TYPE_CHECKING:
    import argparse

    from .render import Rendered
    from .spec import Agent, Event

__all__ = ["HookArgs", "cmd_hook", "fast_args", "register", "run_hook"]

EXIT_OK, EXIT_USAGE = 0, 2


def register(subparsers: Any, policy_options: Callable[[Any], None]) -> None:
    """Add ``hook`` to the main parser (cli.py runs ``cmd_hook`` with its policy loader)."""
    h = subparsers.add_parser(
        "hook", help="answer an agent's hook call (JSON on stdin), or install the hook in its settings",
        description="policylang hook AGENT: decide one tool call an agent's hook sends on stdin and print "
                    "the agent's answer.  policylang hook install AGENT: add the hook to the agent's settings.")
    h.add_argument("agent", metavar="AGENT|install", help="claude, gemini or cursor; or install")
    h.add_argument("target", nargs="?", metavar="AGENT", help="the agent to install the hook for")
    policy_options(h)
    where = h.add_mutually_exclusive_group()
    where.add_argument("--project", action="store_true", help="install: the project's settings file (default)")
    where.add_argument("--user", action="store_true", help="install: the user's settings file")
    h.add_argument("--dry-run", action="store_true", help="install: show the change, write nothing")


def cmd_hook(args: argparse.Namespace, load: Callable[[Any], tuple[Any, str]], *, stdin: TextIO,
             stdout: TextIO, stderr: TextIO) -> int:
    if args.agent == "install":
        from .install import cmd_install

        return cmd_install(args, stdout=stdout, stderr=stderr)
    if args.target is not None or args.project or args.user or args.dry_run:
        print("policylang hook: AGENT takes no other argument; --project, --user and --dry-run go with "
              "'hook install AGENT'", file=stderr)
        return EXIT_USAGE
    return run_hook(args, load, stdin=stdin, stdout=stdout, stderr=stderr)


class HookArgs:
    """The options of ``hook AGENT`` at their defaults, as the parser would give them (the fast path
    of ``policylang hook AGENT`` without options skips argparse, as ``decide COMMAND`` does)."""

    __slots__ = ("agent", "cmd", "config", "dry_run", "mode", "policy", "preset", "project", "target", "user")

    def __init__(self, agent: str) -> None:
        self.cmd = "hook"
        self.agent = agent
        self.target: str | None = None
        self.config: str | None = None
        self.preset: list[str] | None = None
        self.mode: str | None = None
        self.policy: list[str] = []
        self.project = self.user = self.dry_run = False


def run_hook(args: Any, load: Callable[[Any], tuple[Any, str]], *, stdin: TextIO, stdout: TextIO,
             stderr: TextIO) -> int:
    """Answer one hook call; returns the exit code the agent reads.  ``load`` gives the policy the
    options name (cli.load_for)."""
    from .spec import SpecError, load_agent

    try:
        agent = load_agent(args.agent)
    except KeyError:
        from .spec import agent_names

        print(f"policylang hook: no agent {args.agent!r} (known: {', '.join(agent_names())})", file=stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(f"policylang hook: blocked: internal error in the hook table: {exc}", file=stderr)
        return EXIT_USAGE
    try:
        rendered = _answer(agent, args, load, stdin, stderr)
    except Exception as exc:  # noqa: BLE001 -- even a failure to render blocks (never the agent's "go on")
        print(f"policylang: blocked: internal error: {type(exc).__name__}: {exc}", file=stderr)
        return agent.error_exit
    if rendered.stdout:
        stdout.write(rendered.stdout)
        stdout.flush()
    if rendered.stderr:
        stderr.write(rendered.stderr)
    return rendered.exit


def _answer(agent: Agent, args: Any, load: Callable[[Any], tuple[Any, str]], stdin: TextIO,
            stderr: TextIO) -> Rendered:
    from ...diagnostics import PolicyError
    from ...inputs import working_directory
    from .. import cli_audit
    from ..cli_codes import UsageError
    from .render import render_error, render_verdict
    from .translate import PayloadError, event_of, read_payload, translate

    event: Event | None = None
    policy: Any = None
    loadable = True
    try:
        payload = read_payload(getattr(stdin, "buffer", None) or stdin)  # type: ignore[arg-type]
        event = event_of(agent, payload)
        call = translate(agent, payload, working_directory())
        policy, _ = load(args)
        recorder = cli_audit.Recorder(policy, f"hook.{agent.name}", stderr)
        try:
            verdicts = [recorder(policy.decide(action, call.context), call.context) for action in call.actions]
        finally:
            recorder.close()
        return render_verdict(agent, call.event, max(verdicts, key=lambda v: (v.decision, v.risk)))
    except PayloadError as exc:
        reason = str(exc)
    except PolicyError as exc:
        loadable = False
        n = len(exc.errors)
        reason = f"the policy has {n} error(s); run 'policylang check'" if n else "the policy cannot be loaded"
        reason += ": " + (exc.args[0] if exc.args else str(exc)).splitlines()[0]
    except (UsageError, OSError) as exc:  # --config or --policy names a file that cannot be read
        loadable = False
        reason = f"the policy cannot be loaded: {exc}"
    except Exception as exc:  # noqa: BLE001 -- fail closed: an internal error or an unreadable file never allows
        reason = f"internal error: {type(exc).__name__}: {exc}"
    if policy is None and loadable:
        policy = _loads(args, load)
    if policy is not None:
        _record_refusal(policy, agent, reason, stderr)
    return render_error(agent, event, reason)


def _loads(args: Any, load: Callable[[Any], tuple[Any, str]]) -> Any:
    """The policy, to record a refused call in the audit log; None when it cannot be loaded."""
    try:
        return load(args)[0]
    except Exception:  # noqa: BLE001 -- then the refusal is not recorded; the call is blocked either way
        return None


def _record_refusal(policy: Any, agent: Agent, reason: str, stderr: TextIO) -> None:
    from ...actions import Context
    from .. import cli_audit

    verdict = Verdict(Decision.DENY, Risk.UNKNOWN, (Reason("error:input", reason, Decision.DENY, Risk.UNKNOWN),),
                      kind="invalid")
    try:
        cli_audit.record(policy, verdict, Context(principal=f"agent:{agent.name}"), f"hook.{agent.name}", stderr)
    except Exception as exc:  # noqa: BLE001 -- the call is blocked either way; say why it is not recorded
        print(f"policylang: audit: the refusal is not recorded: {exc}", file=stderr)


def fast_args(words: list[str]) -> HookArgs | None:
    """``hook AGENT`` with nothing else, without argparse; None for any other command line."""
    if len(words) == 2 and words[0] == "hook" and words[1] and words[1][0] != "-" and words[1] != "install":
        return HookArgs(words[1])
    return None

