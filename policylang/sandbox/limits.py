"""Resource limits inside the sandbox: the ``setrlimit`` values of ``[security.sandbox.limits]``
and the small wrapper that sets them and then runs the command.

The wrapper is the Python running policylang, started isolated (``-I -S``) with a fixed program
text; the limits and the command are separate arguments after it, never put into a string a shell
or Python would parse.  It sets soft and hard limit alike (so the command cannot raise them again;
never above the hard limit it inherited) and ``exec``s the command: exit 125 when a limit cannot be
set (the command does not run), 126 or 127 when the command cannot be run, as a shell does.
"""
from __future__ import annotations

import sys

from ..settings import SandboxLimits

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


def rlimits(limits: SandboxLimits) -> list[tuple[str, int]]:
    """(``RLIMIT_`` name, value) of every limit set: CPU seconds, address space, file size, open
    files, processes."""
    out: list[tuple[str, int]] = []
    for name, value, scale in (("CPU", limits.cpu_seconds, 1), ("AS", limits.memory_mb, MB),
                               ("FSIZE", limits.max_file_size_mb, MB), ("NOFILE", limits.max_open_files, 1),
                               ("NPROC", limits.max_processes, 1)):
        if value is not None:
            out.append((name, int(value) * scale))
    return out


def limited(argv: list[str], limits: SandboxLimits, python: str | None = None) -> list[str]:
    """``argv`` run under the limits: the wrapper's argv (``argv`` itself when no limit is set)."""
    specs = [f"{name}={value}" for name, value in rlimits(limits)]
    if not specs:
        return list(argv)
    return [python or sys.executable, "-I", "-S", "-c", WRAPPER, *specs, "--", *argv]
