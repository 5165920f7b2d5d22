"""Sandbox backends: which isolating tool is here, and the argv that runs a command inside it
(docs/sandbox.md).

``detect`` finds a backend the way a shell finds a program (no process is started: it runs at every
policy load that enables the sandbox); ``plan`` says what the sandbox must hold (the writable workspace, the paths to hide,
the paths kept read-only, the limits), with ``walk`` finding the credential files deeper in the
workspace; ``wrap`` turns an argv and a plan into the argv of the backend (``bwrap``, ``firejail``,
``unshare``, ``container``), with the resource limits applied inside, and ``build.started`` reads
the backend's report of whether the command started.  Running it is an executor's business
(adapters/executor.py); this package starts nothing.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import exports

if TYPE_CHECKING:
    from .backends import Backend, available, detect
    from .build import SandboxError, wrap
    from .plan import Plan, hidden_paths

__all__ = ["Backend", "Plan", "SandboxError", "available", "detect", "hidden_paths", "wrap"]

_LAZY = {"Backend": "backends", "available": "backends", "detect": "backends", "Plan": "plan", "hidden_paths": "plan",
         "SandboxError": "build", "wrap": "build"}


__getattr__ = exports(__name__, _LAZY, globals())
