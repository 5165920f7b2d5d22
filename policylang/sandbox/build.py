"""The argv an executor runs for a sandboxed command: one builder per backend, and how to tell
from what the backend reports whether the command started.

``wrap`` takes the backend ``detect`` found, the command's argv and the plan, and returns a
``Wrapped``: the argv to run, for the container backend the argv that kills the container (to run
on a timeout or an interrupt), and how the backend says the command started.  It raises
SandboxError when the plan cannot be carried out by that backend; the executor then does not run
the command.

**Did the command start?**  A backend that fails to set up exits with a code of its own (bwrap and
firejail 1, the unshare set-up 125), which a command may return as well.  Given ``status_fd`` (the
write end of a pipe the executor reads after the run), bwrap writes its ``--json-status-fd``
reports to it -- an ``exit-code`` report only when the command ran -- and the unshare set-up writes
``ready`` just before it ``exec``s the command (``exec-failed`` when that fails).  A container
engine exits 125 when the container could not be run (docker's and podman's documented code).
firejail reports nothing that tells the two apart: its exit is taken as the command's.
``started`` reads the report.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable

from ..frozen import record
from .backends import Backend
from .bwrap import bwrap_argv
from .container import ContainerError, container_argv
from .firejail import firejail_argv
from .plan import Plan
from .unshare import unshare_argv

ENGINE_FAILED = 125  # docker run / podman run: the container could not be run


class SandboxError(Exception):
    """The sandbox cannot be set up as the settings ask: the command must not run."""


@record
class Wrapped:
    backend: str
    argv: tuple[str, ...]
    kill: tuple[str, ...] | None = None  # run this to stop the sandbox when the executor gives up on it
    report: str | None = None  # how it says the command started: "bwrap-json", "ready", "engine"; None: it does not
    status_fd: int | None = None  # the descriptor the argv names for the report: the backend must inherit it


_BUILDERS: dict[str, Callable[[str, list[str], Plan, int | None], list[str]]] = {
    "bwrap": bwrap_argv, "unshare": unshare_argv,
    "firejail": lambda program, argv, plan, status_fd: firejail_argv(program, argv, plan),
}
_REPORTS = {"bwrap": "bwrap-json", "unshare": "ready"}


def wrap(backend: Backend, argv: list[str] | tuple[str, ...], plan: Plan, status_fd: int | None = None) -> Wrapped:
    """The backend's argv that runs ``argv`` as ``plan`` says; with ``status_fd``, the backend
    reports on that descriptor whether the command started (see ``started``)."""
    if not argv:
        raise SandboxError("no command to run")
    for path in (plan.workspace, plan.cwd, plan.home):
        if not os.path.isabs(path):
            raise SandboxError(f"not an absolute path: {path!r}")
    if not os.path.isdir(plan.workspace):
        raise SandboxError(f"the workspace is not a directory: {plan.workspace}")
    if backend.name == "container":
        name = "policylang-" + os.urandom(6).hex()
        try:
            built = container_argv(backend.program, list(argv), plan, name)
        except ContainerError as exc:
            raise SandboxError(str(exc)) from None
        return Wrapped("container", tuple(built), (backend.program, "kill", name), "engine")
    builder = _BUILDERS.get(backend.name)
    if builder is None:
        raise SandboxError(f"unknown sandbox backend {backend.name!r}")
    report = _REPORTS.get(backend.name) if status_fd is not None else None
    return Wrapped(backend.name, tuple(builder(backend.program, list(argv), plan, status_fd)), report=report,
                   status_fd=status_fd if report is not None else None)


def started(report: str | None, text: bytes, exit_code: int) -> bool:
    """Whether the command started, from the backend's report kind, what it wrote to the status
    descriptor and its exit code.  Without a report, it is taken to have started."""
    if report == "bwrap-json":
        for line in text.splitlines():
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if isinstance(doc, dict) and "exit-code" in doc:
                return True
        return False
    if report == "ready":
        words = text.split()
        return b"ready" in words and b"exec-failed" not in words
    if report == "engine":
        return exit_code != ENGINE_FAILED
    return True
