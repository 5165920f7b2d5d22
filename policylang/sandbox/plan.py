"""What a sandbox must hold for one run: the writable workspace, the working directory, the paths
hidden from it, the paths kept read-only inside the workspace, and the limits.

The hidden paths come from the policy's own path classes (``hidden_paths``): every ``deny read``
pattern anchored at the home directory or the root (``~/.ssh/id_*``, ``~/.aws/credentials``,
``/etc/shadow``) and every file name that is a credential wherever it is (``**/.netrc``), looked for
in the home directory.  A pattern names what to hide by its literal part: a fully literal pattern
hides that file or directory; one whose last parts are globs hides the directory above them
(``~/.ssh/id_*`` hides ``~/.ssh``).  Only what exists is hidden; the kernel's trees (``/proc``,
``/sys``, ``/dev``), the root, a top-level directory, the home directory itself and the workspace
or a directory above it are never hidden (the sandbox would not work without them).  A secret
inside the workspace under a name of its own (a project's ``.env``) is not hidden: the workspace is
mounted whole (docs/sandbox.md).
"""
from __future__ import annotations

import os
from collections.abc import Iterable

from ..frozen import record
from ..settings import SandboxLimits

_GLOB = frozenset("*?[]{}")
_KERNEL_TREES = ("/proc", "/sys", "/dev")


@record
class Plan:
    """What one sandboxed run may see and change (absolute, normalised paths)."""

    workspace: str  # mounted read-write; everything else is read-only or hidden
    cwd: str  # where the command starts
    home: str
    hidden: tuple[str, ...] = ()  # existing paths not mounted: an empty directory or file stands in
    readonly: tuple[str, ...] = ()  # existing paths inside the workspace kept read-only
    limits: SandboxLimits = SandboxLimits()
    image: str | None = None  # the container backend's image


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _literal_target(text: str, home: str) -> str | None:
    """The path a pattern's literal part names (see the module's docstring), or None."""
    if text.startswith("~/"):
        path = home.rstrip("/") + text[1:]
    elif text.startswith("$HOME/"):
        path = home.rstrip("/") + text[5:]
    elif text.startswith("**/"):
        name = text[3:]
        if not name or "/" in name or _GLOB & set(name):
            return None
        path = os.path.join(home, name)
    elif text.startswith("/"):
        path = text
    else:
        return None  # $WORKSPACE, $TMPDIR, a relative pattern: nothing fixed to hide
    parts = path.split("/")
    literal: list[str] = []
    for part in parts:
        if _GLOB & set(part):
            break
        literal.append(part)
    target = "/".join(literal) if len(literal) < len(parts) else path
    return os.path.normpath(target) if target.startswith("/") else None


def hidden_paths(patterns: Iterable[str], home: str, workspace: str) -> tuple[str, ...]:
    """The existing paths a sandbox hides for these path patterns (deny-read classes)."""
    home = os.path.normpath(home)
    workspace = os.path.normpath(workspace)
    out: list[str] = []
    for text in patterns:
        if text.startswith("!"):
            continue
        target = _literal_target(text, home)
        if target is None or not os.path.lexists(target):
            continue
        real = os.path.realpath(target)
        for path in dict.fromkeys((target, real)):
            if (path.count("/") < 2 or path == home or _inside(workspace, path)
                    or any(_inside(path, tree) for tree in _KERNEL_TREES)):
                continue
            out.append(path)
    kept: list[str] = []
    for path in sorted(set(out)):
        if not any(_inside(path, k) for k in kept):  # already hidden with a directory above it
            kept.append(path)
    return tuple(kept)


def readonly_paths(paths: Iterable[str], workspace: str) -> tuple[str, ...]:
    """The existing paths among ``paths`` that lie inside the workspace (elsewhere all is read-only)."""
    workspace = os.path.normpath(workspace)
    out = []
    for p in paths:
        p = os.path.normpath(p)
        if _inside(p, workspace) and p != workspace and os.path.lexists(p):
            out.append(p)
    return tuple(sorted(set(out)))
