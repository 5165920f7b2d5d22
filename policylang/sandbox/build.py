"""The argv an executor runs for a sandboxed command: one builder per backend.

``wrap`` takes the backend ``detect`` found, the command's argv and the plan, and returns a
``Wrapped``: the argv to run, and for the container backend the argv that kills the container
(to run on a timeout or an interrupt).  It raises SandboxError when the plan cannot be carried out
by that backend; the executor then does not run the command.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from ..frozen import record
from .backends import Backend
from .bwrap import bwrap_argv
from .container import ContainerError, container_argv
from .firejail import firejail_argv
from .plan import Plan
from .unshare import unshare_argv


class SandboxError(Exception):
    """The sandbox cannot be set up as the settings ask: the command must not run."""


@record
class Wrapped:
    backend: str
    argv: tuple[str, ...]
    kill: tuple[str, ...] | None = None  # run this to stop the sandbox when the executor gives up on it


_BUILDERS: dict[str, Callable[[str, list[str], Plan], list[str]]] = {
    "bwrap": bwrap_argv, "firejail": firejail_argv, "unshare": unshare_argv,
}


def wrap(backend: Backend, argv: list[str] | tuple[str, ...], plan: Plan) -> Wrapped:
    """The backend's argv that runs ``argv`` as ``plan`` says."""
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
        return Wrapped("container", tuple(built), (backend.program, "kill", name))
    builder = _BUILDERS.get(backend.name)
    if builder is None:
        raise SandboxError(f"unknown sandbox backend {backend.name!r}")
    return Wrapped(backend.name, tuple(builder(backend.program, list(argv), plan)))
