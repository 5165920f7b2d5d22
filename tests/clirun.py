"""Running the CLI as a real process with bounded time and memory, for the robustness and fuzz tests.

``run_cli`` starts ``python -m policylang`` with a scratch HOME, an address-space limit
(RLIMIT_AS) so that a runaway reader is stopped by the kernel instead of the machine, and a
timeout after which the process is killed; it reports the exit code, the peak resident memory
(from wait4, in MB), the time taken and the output.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Mapping, Sequence

ADDRESS_SPACE = 1536 << 20  # bytes a CLI process may map: far above a healthy run, far below the machine
MAX_RSS_MB = 200  # what any reader may hold, whatever it is fed


@dataclass
class Result:
    code: int
    rss_mb: float
    seconds: float
    stdout: bytes
    stderr: bytes
    timed_out: bool

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    @property
    def err(self) -> str:
        return self.stderr.decode("utf-8", "replace")


# The CLI runs under a small launcher, not straight from pytest: a process forked from pytest counts
# pytest's own resident memory in its peak (Linux carries the forked image's high-water mark across
# exec), which grows over a whole suite run.  The launcher sets the limit, runs the CLI as its own
# child, writes that child's peak (ru_maxrss) to a file and exits with its status.
_LAUNCHER = r"""
import os, resource, sys
report, limit, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.execv(sys.executable, [sys.executable, "-m", "policylang", *[os.fsencode(a) for a in args]])
_, status, usage = os.wait4(pid, 0)
with open(report, "w") as fh:
    fh.write(str(usage.ru_maxrss))
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def run_cli(args: Sequence[str | bytes], home: str, *, stdin: bytes | str | None = None,
            env: Mapping[str, str] | None = None, cwd: str | None = None, timeout: float = 30) -> Result:
    """Run ``policylang ARGS``; ``stdin``: bytes to feed, or a path (str) to open as stdin."""
    base = {"HOME": home, "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "NO_COLOR": "1",
            "XDG_CACHE_HOME": os.path.join(home, ".cache")}
    if "PYTHONPATH" in os.environ:  # the package under test, when it is not the installed one
        base["PYTHONPATH"] = os.environ["PYTHONPATH"]
    base.update(env or {})
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as feed, \
            tempfile.NamedTemporaryFile() as report:
        if isinstance(stdin, bytes):
            feed.write(stdin)
            feed.seek(0)
            fin = feed
        elif isinstance(stdin, str):
            fin = open(stdin, "rb")
        else:
            fin = None
        try:
            proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, report.name, str(ADDRESS_SPACE), *args],
                                    stdin=fin or subprocess.DEVNULL, stdout=out, stderr=err, env=base,
                                    cwd=cwd or home, start_new_session=True)
        finally:
            if isinstance(stdin, str) and fin is not None:
                fin.close()
        start = time.monotonic()
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > timeout:
                os.killpg(proc.pid, 9)  # the launcher and the CLI it runs
                timed_out = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        seconds = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        reported = open(report.name, "rb").read().strip()
        rss = (int(reported) if reported else usage.ru_maxrss) / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return Result(proc.returncode, rss, seconds, out.read(), err.read(), timed_out)


def assert_clean(r: Result, *, nonzero: bool = True) -> None:
    """No traceback, no hang, bounded memory, and (by default) a nonzero exit."""
    assert not r.timed_out, f"hung: killed after {r.seconds:.1f} s; stderr: {r.err[-500:]}"
    assert "Traceback" not in r.err, r.err[-3000:]
    assert r.rss_mb < MAX_RSS_MB, f"peak RSS {r.rss_mb:.0f} MB"
    assert r.code >= 0, f"killed by signal {-r.code}; stderr: {r.err[-500:]}"
    if nonzero:
        assert r.code != 0, (r.out[-500:], r.err[-500:])
