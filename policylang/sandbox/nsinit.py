"""The unshare backend's set-up inside the new namespaces, run as a script by the Python running
policylang (``python -I -S nsinit.py SPEC -- COMMAND ...``); it imports nothing of policylang.

``unshare --user --map-root-user --mount --pid --fork --mount-proc --ipc --uts [--net]`` gives it
root in a user namespace of its own.  It then does what bubblewrap does with its options: every
mount of the host (but ``/proc``, which is fresh) remounted read-only; empty private tmpfs on
``/tmp``, ``/var/tmp``, ``/run``, ``/var/run`` and ``/dev/shm``; the workspace bound read-write
over them; hidden directories under an empty read-only tmpfs, hidden files under ``/dev/null``; the
guard's own paths in the workspace bound read-only.  Then the limits, a new session, no
capabilities (bounding, inheritable, ambient, permitted and effective sets all empty) and
``no_new_privs`` -- so the command cannot undo a mount -- and ``exec``.

SPEC is JSON: ``{"workspace", "cwd", "hidden", "readonly", "limits": [[NAME, VALUE], ...],
"status_fd"}``.  Any failure exits 125 before the command runs.  With ``status_fd`` (a descriptor
the executor reads), ``ready`` is written to it when everything is set up, just before the ``exec``
-- which closes it (close-on-exec) -- and ``exec-failed`` when the ``exec`` fails: the executor
tells a set-up that failed from a command that ran.
"""
from __future__ import annotations

import ctypes
import errno
import json
import os
import resource
import sys
from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_RELATIME = 32, 1024, 2048, 4096, 16384, 1 << 21
# statvfs f_flag bit -> the mount flag to keep when remounting (flags the kernel locks in a user namespace)
_KEEP = ((2, MS_NOSUID), (4, MS_NODEV), (8, MS_NOEXEC), (1024, MS_NOATIME), (2048, MS_NODIRATIME),
         (4096, MS_RELATIME))
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 38, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

# the C library the interpreter itself is linked with (ctypes.util.find_library would start ldconfig)
_libc = ctypes.CDLL(None, use_errno=True)


class Failed(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        e = ctypes.get_errno()
        raise Failed(f"{what}: {os.strerror(e)}")


def _enc(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = _enc
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def kept_flags(path: str) -> int:
    f = os.statvfs(path).f_flag
    return sum(ms for st, ms in _KEEP if f & st)


def remount(path: str, readonly: bool) -> None:
    mount(None, path, None, MS_REMOUNT | MS_BIND | kept_flags(path) | (MS_RDONLY if readonly else 0))


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        points = [_unescape(line.split()[4]) for line in f if line.strip()]
    return list(dict.fromkeys(points))


def inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def set_up(spec: dict[str, Any]) -> None:
    ws = spec["workspace"]
    ws_fd = os.open(ws, os.O_PATH | os.O_DIRECTORY)
    for point in mount_points():
        if inside(point, "/proc") or inside(point, ws):
            continue
        try:
            remount(point, True)
        except (Failed, OSError) as exc:
            if os.path.exists(point):  # a mount point we cannot reach (shadowed) is not a way out
                raise Failed(f"cannot make {point} read-only: {exc}") from None
    for private in ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm"):
        if os.path.isdir(private) and not os.path.islink(private):
            mount("tmpfs", private, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    os.makedirs(ws, exist_ok=True)  # inside a private tmpfs when the workspace is under /tmp
    mount(f"/proc/self/fd/{ws_fd}", ws, None, MS_BIND | MS_REC)
    os.close(ws_fd)
    remount(ws, False)
    for path in spec["readonly"]:
        if os.path.lexists(path):
            mount(path, path, None, MS_BIND | MS_REC)
            remount(path, True)
    for path in spec["hidden"]:  # after the read-only binds: a secret inside one stays hidden
        if not os.path.lexists(path):
            continue  # under a private tmpfs already
        if os.path.isdir(path) and not os.path.islink(path):
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, "mode=000,size=4k")
        else:
            mount("/dev/null", path, None, MS_BIND)
            remount(path, True)
    os.chdir(spec["cwd"])


def limit(spec: dict[str, Any]) -> None:
    for name, value in spec["limits"]:
        which = getattr(resource, "RLIMIT_" + name)
        hard = resource.getrlimit(which)[1]
        n = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (n, n))


def drop_privileges() -> None:
    os.setsid()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() != errno.EINVAL:
            raise Failed(f"cannot drop capability {cap}: {os.strerror(ctypes.get_errno())}")
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: twice, all zero
    _check(_libc.capset(header, data), "capset")


def report(fd: int, what: bytes) -> None:
    """Tell the executor that the command could not be run (it reads the pipe after the run)."""
    try:
        os.write(fd, what)
    except OSError:
        pass  # nobody reads it: the exit code says it as well


def main(argv: list[str]) -> int:
    try:
        i = argv.index("--")
        spec = json.loads(argv[1])
        command = argv[i + 1:]
        if i != 2 or not command:
            raise Failed("usage: nsinit.py SPEC -- COMMAND ...")
        status = spec.get("status_fd")
        set_up(spec)
        limit(spec)
        drop_privileges()
        if status is not None:
            os.set_inheritable(status, False)  # closed by the exec: the command does not get it
            os.write(status, b"ready\n")  # when it cannot be told, the command does not run
    except (Failed, OSError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        sys.stderr.write(f"policylang-sandbox (unshare): {exc}\n")
        return 125
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        if status is not None:
            report(status, b"exec-failed\n")
        sys.stderr.write(f"policylang-sandbox: {command[0]}: {exc.strerror}\n")
        return 127 if exc.errno == errno.ENOENT else 126
    return 126  # pragma: no cover - execvp does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv))
