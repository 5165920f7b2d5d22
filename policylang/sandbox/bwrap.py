"""The bubblewrap backend: new user, mount, PID, IPC, UTS and cgroup namespaces, and a network
namespace of its own unless ``limits.network``.

The root file system is bound read-only, the workspace read-write over it; ``/dev`` and ``/proc``
are fresh, ``/tmp``, ``/var/tmp`` and ``/run`` are empty and private (so no host socket under them
-- docker's, D-Bus's, an SSH agent's -- can be reached).  A hidden directory is an empty read-only
tmpfs, a hidden file ``/dev/null``; the guard's own paths inside the workspace are bound again
read-only.  Every capability is dropped, the command gets a new session (no ``TIOCSTI`` into the
caller's terminal) and dies with its parent.
"""
from __future__ import annotations

import os

from .limits import limited
from .plan import Plan


def bwrap_argv(program: str, argv: list[str], plan: Plan, status_fd: int | None = None) -> list[str]:
    a = [program, "--die-with-parent", "--new-session", "--unshare-user", "--unshare-ipc", "--unshare-pid",
         "--unshare-uts", "--unshare-cgroup-try"]
    if status_fd is not None:  # an "exit-code" report there only when the command ran (sandbox/build.py)
        a += ["--json-status-fd", str(status_fd)]
    if not plan.limits.network:
        a.append("--unshare-net")
    a += ["--cap-drop", "ALL", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for private in ("/var/tmp", "/run", "/var/run"):
        if os.path.isdir(private) and not os.path.islink(private):
            a += ["--tmpfs", private]
    if plan.limits.network and os.path.isdir("/run/systemd/resolve"):
        a += ["--ro-bind", "/run/systemd/resolve", "/run/systemd/resolve"]  # resolv.conf often points here
    a += ["--bind", plan.workspace, plan.workspace]
    for path in plan.readonly:
        a += ["--ro-bind", path, path]
    for path in plan.hidden:  # after the read-only binds: a secret inside one stays hidden
        if os.path.isdir(path) and not os.path.islink(path):
            a += ["--tmpfs", path, "--remount-ro", path]
        else:
            a += ["--ro-bind", "/dev/null", path]
    a += ["--chdir", plan.cwd, "--"]
    return a + limited(argv, plan.limits)
