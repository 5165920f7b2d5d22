"""Resource limits inside the sandbox: the ``setrlimit`` values of ``[security.sandbox.limits]``
and the small wrapper that sets them and then runs the command.

The wrapper is util-linux ``prlimit`` when it is installed (a few milliseconds), else the Python
running policylang, started isolated (``-I -S``) with a fixed program text (some 50 ms).  Either
way the limits and the command are separate arguments, never put into a string a shell or Python
would parse; soft and hard limit are set alike (so the command cannot raise them again), never
above the hard limit this process has (an administrator's ``ulimit`` is not loosened), and the
command is ``exec``ed.  When a limit cannot be set the command does not run (prlimit exits 1, the
Python wrapper 125); when the command cannot be run the exit code is 126 or 127, as a shell's.
"""
from __future__ import annotations

import resource
import sys

from ..settings import SandboxLimits
from .backends import find_program

MB = 1024 * 1024

# The wrapper: argv is LIMIT=VALUE ... -- COMMAND ...
WRAPPER = """\
import errno, os, resource, sys
a = sys.argv
i = a.index("--")
try:
    for spec in a[1:i]:
        name, _, value = spec.partition("=")
        which = getattr(resource, "RLIMIT_" + name)
        hard = resource.getrlimit(which)[1]
        n = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
        resource.setrlimit(which, (n, n))
except (ValueError, OSError, AttributeError) as e:
    sys.stderr.write("policylang-sandbox: cannot set the limit %s: %s\\n" % (spec, e))
    sys.exit(125)
try:
    os.execvp(a[i + 1], a[i + 1:])
except OSError as e:
    sys.stderr.write("policylang-sandbox: %s: %s\\n" % (a[i + 1], e.strerror))
    sys.exit(127 if e.errno == errno.ENOENT else 126)
"""


_PRLIMIT_OPTIONS = {"CPU": "--cpu", "AS": "--as", "FSIZE": "--fsize", "NOFILE": "--nofile", "NPROC": "--nproc"}


def rlimits(limits: SandboxLimits) -> list[tuple[str, int]]:
    """(``RLIMIT_`` name, value) of every limit set: CPU seconds, address space, file size, open
    files, processes; each no higher than this process's own hard limit."""
    out: list[tuple[str, int]] = []
    for name, value, scale in (("CPU", limits.cpu_seconds, 1), ("AS", limits.memory_mb, MB),
                               ("FSIZE", limits.max_file_size_mb, MB), ("NOFILE", limits.max_open_files, 1),
                               ("NPROC", limits.max_processes, 1)):
        if value is not None:
            n = int(value) * scale
            hard = resource.getrlimit(getattr(resource, "RLIMIT_" + name))[1]
            out.append((name, n if hard == resource.RLIM_INFINITY else min(n, hard)))
    return out


def limited(argv: list[str], limits: SandboxLimits, prlimit: str | None | bool = True) -> list[str]:
    """``argv`` run under the limits: the wrapper's argv (``argv`` itself when no limit is set).
    ``prlimit``: True to look it up on PATH, a path to use, False or None for the Python wrapper."""
    specs = rlimits(limits)
    if not specs:
        return list(argv)
    program = find_program("prlimit") if prlimit is True else prlimit or None
    if program:
        return [program, *(f"{_PRLIMIT_OPTIONS[name]}={value}:{value}" for name, value in specs), "--", *argv]
    return [sys.executable, "-I", "-S", "-c", WRAPPER, *(f"{name}={value}" for name, value in specs), "--", *argv]
