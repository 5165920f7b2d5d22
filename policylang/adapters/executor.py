"""The executor: decide a command, then run it as the verdict says (docs/sandbox.md, "Running").

``run(command, policy)`` decides the command and then:

- **allow**: runs it as given;
- **sandbox**: runs it inside the configured backend (policylang/sandbox/) with the limits of
  ``[security.sandbox.limits]``, a timeout of ``timeout_seconds``, the credential files of the
  workspace hidden (sandbox/walk.py) and the environment's credentials removed (sandbox_env.py);
  when no backend is here, or the sandbox cannot be set up, the command does not run -- never
  unsandboxed -- and a backend that reports it never started the command is recorded as not run;
- **ask**: asks ``approve(verdict)``; without it, or when it says no, the command does not run (the
  engine itself makes ask a deny when the context is not interactive or the settings are headless);
- **deny**: does not run it.

What runs is what was decided: a command given as a string runs as ``/bin/sh -c STRING`` (the
decision was on that string); an argv (a list or tuple of words) runs without a shell; under
``exec_strict`` a string runs only as the argv the verdict returns (the engine admits only one simple
command then).  The outcome -- whether it ran, its exit code, its duration, the backend -- is
returned, and written to an audit log when one is given, as an ``outcome`` record of the decision.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from ..actions import Command, Context
from ..engine.matcher import PathTarget
from ..frozen import record, replace
from ..sandbox.backends import detect
from ..sandbox.build import SandboxError, started, wrap
from ..sandbox.plan import Plan, hidden_paths, readonly_paths
from ..sandbox.walk import WalkError, hidden_below
from ..verdict import Decision, Verdict
from .sandbox_env import scrubbed

if TYPE_CHECKING:
    from ..engine.policy import Policy

SHELL = "/bin/sh"
EXIT_NOT_RUN = 126  # the command did not run (denied, declined, no sandbox): what a shell says of a command it cannot run
EXIT_TIMEOUT = 124  # stopped at its time limit, as timeout(1) says
EXIT_INTERRUPTED = 128 + signal.SIGINT  # the executor was interrupted and stopped the run
KILL_GRACE = 2.0  # seconds between SIGTERM and SIGKILL when a run is stopped


@record
class Outcome:
    """What ``run`` did: the verdict, whether the command ran, its exit code (None when it did not
    run; 128+N when a signal N ended it), the time it took, the sandbox backend, and why it did not
    run or was stopped."""

    verdict: Verdict
    ran: bool
    exit_code: int | None = None
    duration_ms: int | None = None
    backend: str | None = None
    timed_out: bool = False
    reason: str | None = None
    decision_id: str | None = None

    @property
    def status(self) -> int:
        """The exit status a command line reports: the command's own, 124 for a timeout, 126 when
        it did not run."""
        if self.timed_out:
            return EXIT_TIMEOUT
        return self.exit_code if self.ran and self.exit_code is not None else EXIT_NOT_RUN


def action_of(command: str | Sequence[str], cwd: str, env: Mapping[str, str] | None) -> Command:
    """The action decided for ``command``: a string as shell text, a sequence as an argv."""
    if isinstance(command, str):
        return Command(command, cwd=cwd, env=env)
    words = tuple(command)
    if not words or not all(isinstance(w, str) for w in words):
        raise ValueError("a command is a string or a non-empty sequence of strings")
    return Command(words, cwd=cwd, env=env)


def argv_to_run(action: Command, verdict: Verdict, exec_strict: bool) -> tuple[str, ...] | None:
    """The argv that carries out exactly what was decided, or None when nothing may run."""
    if isinstance(action.command, tuple):
        return action.command
    if exec_strict:
        return tuple(verdict.argv) if verdict.argv else None
    return (SHELL, "-c", action.command)


# ---- the sandbox's plan ------------------------------------------------------------------------

def _deny_targets(policy: Policy, kind: str) -> list[PathTarget]:
    """The path targets of every ``deny`` rule of the policy on ``kind`` (read or write) paths."""
    return [rule.target for rule in policy.rules
            if rule.decision is Decision.DENY and isinstance(rule.target, PathTarget) and rule.target.kind == kind]


def denied_patterns(policy: Policy, kind: str) -> list[str]:
    """The patterns of every ``deny`` rule of the policy on ``kind`` (read or write) paths: the
    built-in credential, start-up file and agent-settings classes among them; and the restricted
    paths in the home directory (``~/.ssh``, ``~/.gnupg``; the others, ``/usr/bin`` and the like,
    are restricted for writes, which the read-only root already prevents)."""
    out: list[str] = []
    for target in _deny_targets(policy, kind):
        out.extend(p.text for p in target.paths.patterns if not p.negated)
    out.extend(p for p in policy.settings.restricted_paths if p.startswith(("~/", "$HOME/")))
    return out


def _denied_reading(policy: Policy, home: str, workspace: str, cwd: str, env: Mapping[str, str]
                    ) -> Callable[[str, bool], bool]:
    """Whether the policy denies reading a path (as the walk of the workspace asks): the path sets of
    its ``deny read`` rules, negations included, under the roots of this run.  A rule on recursive
    reads only (``grep -r``) is about the tree, not the file, and is left out."""
    from ..engine.pathsets import Roots

    sets = [t.paths for t in _deny_targets(policy, "read") if not t.recursive]
    roots = Roots(home=home, workspace=workspace, cwd=cwd, tmpdir=env.get("TMPDIR") or "/tmp",
                  fold=policy.settings.case_insensitive_paths)
    return lambda path, is_dir: any(s.contains(path, roots) for s in sets)


_ESCAPED = re.compile(r"\[(.)\]")


def _guard_paths(policy: Policy, workspace: str) -> list[str]:
    """The guard's own files (engine/selfprotect.py) as paths: kept read-only in the sandbox."""
    from ..engine.selfprotect import protected_patterns

    out = []
    for pattern in protected_patterns(list(policy.texts), policy.settings):
        if pattern.endswith("/**"):
            continue
        if pattern.startswith("$WORKSPACE"):
            pattern = workspace + pattern[len("$WORKSPACE"):]
        out.append(_ESCAPED.sub(r"\1", pattern))
    return out


def plan_for(policy: Policy, cwd: str, env: Mapping[str, str]) -> Plan:
    """What the sandbox of a run in ``cwd`` holds, under ``policy``'s settings."""
    from ..analysis.dispatch import expand_home

    settings = policy.settings
    home = env.get("HOME") or os.path.expanduser("~")
    workspace = expand_home(settings.workspace, home) if settings.workspace else cwd
    if not os.path.isabs(workspace):
        raise SandboxError(f"the workspace is not an absolute path: {workspace!r}")
    workspace = os.path.realpath(workspace)
    if workspace == "/":
        raise SandboxError("the workspace is the root directory: nothing would be read-only")
    try:
        below = hidden_below(workspace, _denied_reading(policy, home, workspace, os.path.realpath(cwd), env))
    except WalkError as exc:
        raise SandboxError(str(exc)) from None
    hidden = hidden_paths(denied_patterns(policy, "read"), home, workspace, below)
    readonly = readonly_paths([*denied_patterns(policy, "write"), *_guard_paths(policy, workspace)], home,
                              workspace, hidden)
    return Plan(workspace, os.path.realpath(cwd), home, hidden, readonly, settings.sandbox.limits,
                settings.sandbox.container_image)


# ---- running -----------------------------------------------------------------------------------

def _stop(proc: subprocess.Popen[bytes], group: bool, kill: Sequence[str] | None) -> None:
    """Stop a run: the container by name, the process group (or the process), SIGKILL after a grace."""
    if kill:
        try:
            subprocess.run(list(kill), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError):
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(KILL_GRACE)
            return
        except subprocess.TimeoutExpired:
            continue


def spawn(argv: Sequence[str], cwd: str, env: Mapping[str, str] | None, timeout: float | None,
          kill: Sequence[str] | None = None, stdin: IO[Any] | int | None = None, stdout: IO[Any] | int | None = None,
          stderr: IO[Any] | int | None = None, pass_fds: Sequence[int] = ()) -> tuple[int, bool, int]:
    """Run ``argv`` to its end or its timeout: (exit code, timed out, milliseconds).  Raises OSError
    when it cannot be started.  Without a terminal on stdin it gets a process group of its own, so
    that a timeout stops its children too."""
    fd = stdin if isinstance(stdin, int) else stdin.fileno() if stdin is not None and hasattr(stdin, "fileno") else 0
    try:
        group = not os.isatty(fd)
    except (OSError, ValueError):
        group = True
    start = time.monotonic()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=None if env is None else dict(env), stdin=stdin, stdout=stdout,
                            stderr=stderr, process_group=0 if group else None, pass_fds=tuple(pass_fds))
    timed_out = False
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc, group, kill)
        code = proc.wait()
    except BaseException:  # an interrupt: the run does not outlive the executor
        _stop(proc, group, kill)
        raise
    ms = int((time.monotonic() - start) * 1000)
    return (128 - code if code < 0 else code), timed_out, ms


def run(command: str | Sequence[str], policy: Policy | None = None, *, cwd: str | None = None,
        env: Mapping[str, str] | None = None, context: Context | None = None,
        approve: Callable[[Verdict], bool] | None = None, audit: Any = None, timeout: float | None = None,
        stdin: IO[Any] | int | None = None, stdout: IO[Any] | int | None = None,
        stderr: IO[Any] | int | None = None) -> Outcome:
    """Decide ``command`` under ``policy`` (the built-in default when None) and run it as the
    verdict says (see the module's docstring).

    ``approve`` answers an ask (True runs the command as given, outside any sandbox: a person
    approved it); ``audit`` is an AuditLog (or a CLI recorder) that gets the decision and the
    outcome -- by default the log of an AuditedPolicy (``load(..., audit=True)``), and with
    ``on_failure = "deny"`` a decision that cannot be recorded is a deny; ``timeout`` (seconds)
    bounds any run, and a sandboxed one is bounded by
    ``limits.timeout_seconds`` as well.  Never raises for a command that cannot run: the Outcome
    says why.
    """
    if policy is None:
        from .. import load

        policy = load()
    cwd = os.path.abspath(cwd) if cwd else os.getcwd()
    action = action_of(command, cwd, env)
    if audit is None and getattr(policy, "audit_log", None) is not None:  # an AuditedPolicy: one record
        from ..engine.policy import Policy as Plain

        audit = policy.audit_log  # type: ignore[attr-defined]
        verdict = Plain.decide(policy, action, context)  # its own decide would record without an id
    else:
        verdict = policy.decide(action, context)
    decision_id = None
    if audit is not None:
        verdict, decision_id = _record_decision(audit, policy, verdict, context)
    outcome = carry_out(policy, action, verdict, env=env, approve=approve, timeout=timeout, stdin=stdin,
                        stdout=stdout, stderr=stderr)
    outcome = replace(outcome, decision_id=decision_id)
    if audit is not None:
        record_outcome(audit, outcome)
    return outcome


def carry_out(policy: Policy, action: Command, verdict: Verdict, *, env: Mapping[str, str] | None = None,
              approve: Callable[[Verdict], bool] | None = None, timeout: float | None = None,
              stdin: IO[Any] | int | None = None, stdout: IO[Any] | int | None = None,
              stderr: IO[Any] | int | None = None) -> Outcome:
    """Run a decided action as its verdict says (``run`` without the decision and the audit)."""
    settings = policy.settings
    cwd = action.cwd or os.getcwd()
    decision = verdict.decision
    if decision is Decision.DENY:
        return Outcome(verdict, False, reason="denied")
    if decision is Decision.ASK:
        if approve is None:
            return Outcome(verdict, False, reason="asked: no one to approve it")
        try:
            approved = bool(approve(verdict))
        except Exception as exc:  # noqa: BLE001 - an approver that fails has not approved
            return Outcome(verdict, False, reason=f"asked: the approval failed: {type(exc).__name__}: {exc}")
        if not approved:
            return Outcome(verdict, False, reason="asked: not approved")
    elif decision not in (Decision.ALLOW, Decision.SANDBOX):
        return Outcome(verdict, False, reason=f"unknown decision {decision!r}")  # fail closed
    argv = argv_to_run(action, verdict, settings.exec_strict)
    if argv is None:
        return Outcome(verdict, False, reason="exec_strict: the verdict gives no argv to run")
    if decision is not Decision.SANDBOX:
        try:
            code, timed_out, ms = spawn(argv, cwd, env, timeout, None, stdin, stdout, stderr)
        except OSError as exc:
            return Outcome(verdict, False, reason=f"cannot run {argv[0]}: {exc.strerror or exc}")
        return Outcome(verdict, True, code, ms, None, timed_out,
                       f"stopped after {timeout:g} seconds" if timed_out and timeout is not None else None)
    return _sandboxed(policy, verdict, argv, cwd, env, timeout, stdin, stdout, stderr)


def _sandboxed(policy: Policy, verdict: Verdict, argv: Sequence[str], cwd: str, env: Mapping[str, str] | None,
               timeout: float | None, stdin: IO[Any] | int | None, stdout: IO[Any] | int | None,
               stderr: IO[Any] | int | None) -> Outcome:
    """Run ``argv`` in the configured backend: with the plan's mounts and limits, the environment
    without its credentials (adapters/sandbox_env.py), and the backend's report of whether the
    command started (sandbox/build.py): one that never started did not run."""
    settings = policy.settings
    environ = os.environ if env is None else env
    backend = detect(settings.sandbox, environ)
    if backend is None:
        return Outcome(verdict, False, reason=f"no sandbox backend here ({settings.sandbox.backend})")
    read_end, write_end = os.pipe()
    try:
        try:
            wrapped = wrap(backend, tuple(argv), plan_for(policy, cwd, environ), status_fd=write_end)
            inner_env, _ = scrubbed(environ, settings.sandbox.pass_env)
        except (SandboxError, OSError) as exc:
            return Outcome(verdict, False, backend=backend.name, reason=f"the sandbox cannot be set up: {exc}")
        limit = settings.sandbox.limits.timeout_seconds
        if limit is not None:
            timeout = limit if timeout is None else min(timeout, limit)
        try:
            code, timed_out, ms = spawn(wrapped.argv, cwd, inner_env, timeout, wrapped.kill, stdin, stdout, stderr,
                                        pass_fds=() if wrapped.status_fd is None else (wrapped.status_fd,))
        except OSError as exc:
            return Outcome(verdict, False, backend=wrapped.backend,
                           reason=f"cannot run {wrapped.argv[0]}: {exc.strerror or exc}")
        os.close(write_end)
        write_end = -1
        report = _drain(read_end)
    finally:
        for fd in (read_end, write_end):
            if fd >= 0:
                os.close(fd)
    if timed_out:  # stopped: the report is cut short, and a set-up does not take that long
        return Outcome(verdict, True, code, ms, wrapped.backend, True,
                       f"stopped after {timeout:g} seconds" if timeout is not None else None)
    if not started(wrapped.report, report, code):
        return Outcome(verdict, False, None, ms, wrapped.backend,
                       reason=f"the sandbox did not start: {wrapped.backend} exited {code} before the command ran")
    return Outcome(verdict, True, code, ms, wrapped.backend)


def _drain(fd: int, limit: int = 65536) -> bytes:
    """What is in the pipe now, up to ``limit`` bytes, without waiting (a process the command left
    behind may hold its write end open)."""
    os.set_blocking(fd, False)
    out = b""
    while len(out) < limit:
        try:
            chunk = os.read(fd, limit - len(out))
        except BlockingIOError:
            break
        if not chunk:
            break
        out += chunk
    return out


# ---- the audit log -----------------------------------------------------------------------------

def _record_decision(audit: Any, policy: Policy, verdict: Verdict, context: Context | None
                     ) -> tuple[Verdict, str | None]:
    """Record the decision: (the verdict to carry out, its decision id)."""
    if hasattr(audit, "last_id"):  # the CLI's Recorder: its failure policy may turn the verdict into a deny
        verdict = audit(verdict, context)
        return verdict, audit.last_id
    from ..audit.audited import failed_closed
    from ..audit.record import AuditError

    try:
        decision_id = audit.decision(policy, verdict, context, entry="executor")
    except AuditError as exc:
        if policy.settings.audit.on_failure == "deny":
            return failed_closed(verdict, exc), None
        return verdict, None
    if getattr(audit, "error", None) is not None and policy.settings.audit.on_failure == "deny":
        return failed_closed(verdict, audit.error), decision_id  # a background write failed
    return verdict, decision_id


def record_outcome(audit: Any, outcome: Outcome) -> None:
    """Append the outcome record of a run whose decision was recorded."""
    if outcome.decision_id is None:
        return
    fields: dict[str, Any] = {"executed": outcome.ran, "exit_code": outcome.exit_code,
                              "duration_ms": outcome.duration_ms, "sandbox": outcome.backend,
                              "timed_out": outcome.timed_out, "reason": outcome.reason}
    if hasattr(audit, "last_id"):
        audit.outcome(outcome.decision_id, **fields)
    else:
        audit.outcome(outcome.decision_id, entry="executor", **fields)
