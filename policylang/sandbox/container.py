"""The container backend: podman or docker runs the command in the configured image.

The container sees none of the host's files but the workspace (bound read-write at the same path),
with the read-only paths in it bound read-only and the hidden ones masked (an empty tmpfs, or
``/dev/null``); its root file system is read-only, ``/tmp`` a private
tmpfs; no capability, ``no-new-privileges``, no network unless ``limits.network``.  The limits are
the engine's own options: ``--memory``, ``--pids-limit`` (a cgroup: it counts the container's
processes only) and ``--ulimit`` for CPU seconds, file size and open files.  The command runs as
the caller's uid and gid.  The image is never pulled (``--pull=never``): a run fetches nothing.
The container is named, so that an executor can kill it on a timeout (killing the client does not
stop it).
"""
from __future__ import annotations

import os

from .plan import Plan

MB = 1024 * 1024


class ContainerError(ValueError):
    """A workspace path the engine's ``--volume`` syntax cannot carry."""


def container_argv(program: str, argv: list[str], plan: Plan, name: str) -> list[str]:
    if not plan.image:
        raise ContainerError("the container backend needs security.sandbox.container_image")
    ws = plan.workspace.rstrip("/") + "/"
    hidden = [p for p in plan.hidden if p.startswith(ws)]  # nothing else of the host is in the container
    for path in (plan.workspace, *plan.readonly, *hidden, plan.cwd):
        if ":" in path or "," in path:
            raise ContainerError(f"a path with ':' or ',' cannot be mounted into a container: {path!r}")
    lim = plan.limits
    a = [program, "run", "--rm", "-i", "--pull=never", f"--name={name}", "--read-only", "--cap-drop=ALL",
         "--security-opt=no-new-privileges", "--tmpfs=/tmp:rw,nosuid,nodev", f"--user={os.getuid()}:{os.getgid()}",
         f"--volume={plan.workspace}:{plan.workspace}:rw"]
    a.append("--network=none" if not lim.network else "--network=bridge")
    for path in plan.readonly:
        a.append(f"--volume={path}:{path}:ro")
    for path in hidden:  # after the read-only volumes, as in the other backends
        if os.path.isdir(path) and not os.path.islink(path):
            a.append(f"--tmpfs={path}:ro,size=4k,mode=000")
        else:
            a.append(f"--volume=/dev/null:{path}:ro")
    if lim.memory_mb is not None:
        a.append(f"--memory={lim.memory_mb}m")
    if lim.max_processes is not None:
        a.append(f"--pids-limit={lim.max_processes}")
    for key, value in (("cpu", lim.cpu_seconds), ("fsize", None if lim.max_file_size_mb is None
                                                      else lim.max_file_size_mb * MB),
                       ("nofile", lim.max_open_files)):
        if value is not None:
            a.append(f"--ulimit={key}={value}:{value}")
    return a + [f"--workdir={plan.cwd}", "--", plan.image, *argv]
