"""The unshare backend: util-linux ``unshare`` makes the namespaces (user, mount, PID, IPC, UTS, and
network unless ``limits.network``), and ``nsinit.py`` sets up the mounts, limits and privileges
inside them before it runs the command (see its docstring).

What it cannot give as bubblewrap does: the host's ``/dev`` is kept (read-only; its device nodes
still work, ``/dev/shm`` is private) instead of a minimal one, and the set-up is a Python script
run as root of the new user namespace -- a mount it cannot make read-only fails the run rather than
being skipped (docs/sandbox.md).
"""
from __future__ import annotations

import json
import os
import sys

from .limits import rlimits
from .plan import Plan

NSINIT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nsinit.py")


def unshare_argv(program: str, argv: list[str], plan: Plan, status_fd: int | None = None) -> list[str]:
    a = [program, "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
         "--ipc", "--uts"]
    if not plan.limits.network:
        a.append("--net")
    spec = {"workspace": plan.workspace, "cwd": plan.cwd, "hidden": list(plan.hidden),
            "readonly": list(plan.readonly), "limits": [list(x) for x in rlimits(plan.limits)],
            "status_fd": status_fd}
    return a + ["--", sys.executable, "-I", "-S", NSINIT, json.dumps(spec), "--", *argv]
