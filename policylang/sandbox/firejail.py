"""The firejail backend: firejail's own namespaces and ``--rlimit-*`` options, no profile.

The root file system is read-only (``--read-only=/``) and the workspace read-write; ``/tmp`` is
private (``--private-tmp``, or, for a workspace under ``/tmp``, a whitelist of the workspace alone);
hidden paths and the host's sockets under ``/run`` are blacklisted (firejail mounts an empty,
unreadable file or directory over them); the guard's own paths in the workspace are read-only.
No capability, ``no_new_privs``, no network unless ``limits.network``, and a fresh ``/dev``.

What firejail cannot give as bubblewrap does: ``/run`` is not replaced as a whole -- each entry of
it but firejail's own is blacklisted when the run starts -- and firejail itself is a setuid-root
program, so a flaw in it is a flaw in the host (docs/sandbox.md).
"""
from __future__ import annotations

import os

from .limits import rlimits
from .plan import Plan

_RLIMIT_OPTIONS = {"CPU": "--rlimit-cpu", "AS": "--rlimit-as", "FSIZE": "--rlimit-fsize",
                   "NOFILE": "--rlimit-nofile", "NPROC": "--rlimit-nproc"}


def _entries(directory: str) -> list[str]:
    try:
        return [os.path.join(directory, n) for n in sorted(os.listdir(directory))]
    except OSError:
        return []


def _run_entries(network: bool) -> list[str]:
    """The entries of /run to blacklist: all but firejail's own and links into /dev (``/run/shm``,
    which ``--private-dev`` makes private); with the network on, ``/run/systemd/resolve`` stays
    (``/etc/resolv.conf`` often points into it)."""
    out: list[str] = []
    for path in _entries("/run"):
        name = os.path.basename(path)
        if name == "firejail" or os.path.realpath(path).startswith("/dev/"):
            continue
        if network and name == "systemd":
            out.extend(p for p in _entries(path) if os.path.basename(p) != "resolve")
            continue
        out.append(path)
    return out


def firejail_argv(program: str, argv: list[str], plan: Plan) -> list[str]:
    a = [program, "--noprofile", "--quiet", "--nonewprivs", "--caps.drop=all", "--private-dev", "--ipc-namespace"]
    a.append("--net=none" if not plan.limits.network else "--protocol=unix,inet,inet6")
    in_tmp = plan.workspace == "/tmp" or plan.workspace.startswith("/tmp/")
    a.append(f"--whitelist={plan.workspace}" if in_tmp else "--private-tmp")
    a += ["--read-only=/", f"--read-write={plan.workspace}"]
    for path in [*plan.hidden, *_run_entries(plan.limits.network)]:
        a.append(f"--blacklist={path}")
    for path in plan.readonly:
        a.append(f"--read-only={path}")
    for name, value in rlimits(plan.limits):
        a.append(f"{_RLIMIT_OPTIONS[name]}={value}")
    return a + ["--", *argv]
