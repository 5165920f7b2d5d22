"""What a sandbox must hold for one run: the writable workspace, the working directory, the paths
hidden from it, the paths kept read-only inside the workspace, and the limits.

Both lists come from the policy's own path classes.  ``hidden_paths`` takes the patterns the
policy denies reading (the built-in credential class among them), ``readonly_paths`` those it denies
writing (start-up files, git hooks, agent settings, the guard's own files): what the policy forbids
to every spelling of a command is also not possible inside the sandbox.

A pattern names paths by its literal part: a fully literal pattern names that file or directory;
one whose last parts are globs names the directory above them (``~/.ssh/id_*`` names ``~/.ssh``).
``~/`` and ``$HOME/`` patterns are in the home directory, ``$WORKSPACE/`` ones in the workspace, and
``**/REST`` -- a file or directory by name wherever it is -- is looked for at the top of the home
directory and of the workspace (``**/.netrc`` names ``~/.netrc``; ``**/.git/hooks/**`` names
``WORKSPACE/.git/hooks``); the hidden files deeper in the workspace are what the walk finds
(sandbox/walk.py), given as ``below``.  Only what exists is named; the
kernel's trees (``/proc``, ``/sys``, ``/dev``), the root, a top-level directory, the home directory
itself and the workspace or a directory above it are never hidden (the sandbox would not work
without them); read-only paths matter only inside the workspace (everything else is read-only).
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


def _literal(path: str) -> str:
    """The literal directory prefix of a glob (the whole path when it has no glob)."""
    parts = path.split("/")
    literal: list[str] = []
    for part in parts:
        if _GLOB & set(part):
            break
        literal.append(part)
    return "/".join(literal) if len(literal) < len(parts) else path


def named_paths(text: str, home: str, workspace: str) -> list[str]:
    """The absolute paths a pattern's literal part names (see the module's docstring)."""
    if text.startswith("~/"):
        paths = [home.rstrip("/") + text[1:]]
    elif text.startswith("$HOME/"):
        paths = [home.rstrip("/") + text[5:]]
    elif text.startswith("$WORKSPACE/"):
        paths = [workspace.rstrip("/") + text[10:]]
    elif text.startswith("**/"):
        paths = [os.path.join(home, text[3:]), os.path.join(workspace, text[3:])]
    elif text.startswith("/"):
        paths = [text]
    else:
        return []  # $TMPDIR, a relative pattern: nothing fixed
    return [os.path.normpath(t) for t in map(_literal, paths) if t.startswith("/")]


def _existing(patterns: Iterable[str], home: str, workspace: str) -> list[str]:
    """The existing paths the patterns name, each also as its real path, never one the sandbox needs."""
    out: list[str] = []
    for text in patterns:
        if text.startswith("!"):
            continue
        for target in named_paths(text, home, workspace):
            if not os.path.lexists(target):
                continue
            for path in dict.fromkeys((target, os.path.realpath(target))):
                if (path.count("/") < 2 or path == home or _inside(workspace, path)
                        or any(_inside(path, tree) for tree in _KERNEL_TREES)):
                    continue
                out.append(path)
    return out


def _outermost(paths: Iterable[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(_inside(path, k) for k in kept):  # already covered by a directory above it
            kept.append(path)
    return tuple(kept)


def hidden_paths(patterns: Iterable[str], home: str, workspace: str, below: Iterable[str] = ()) -> tuple[str, ...]:
    """The existing paths a sandbox hides for these path patterns (the deny-read classes), with
    ``below``: what the walk of the workspace found deeper in it (sandbox/walk.py)."""
    workspace = os.path.normpath(workspace)
    deeper = [os.path.normpath(p) for p in below if _inside(os.path.normpath(p), workspace)
              and os.path.normpath(p) != workspace]
    return _outermost([*_existing(patterns, os.path.normpath(home), workspace), *deeper])


def readonly_paths(patterns: Iterable[str], home: str, workspace: str, hidden: Iterable[str] = ()
                   ) -> tuple[str, ...]:
    """The existing paths inside the workspace a sandbox keeps read-only for these patterns (the
    deny-write classes and the guard's own files), less those already hidden."""
    workspace = os.path.normpath(workspace)
    hidden = tuple(hidden)
    inside = [p for p in _existing(patterns, os.path.normpath(home), workspace)
              if _inside(p, workspace) and not any(_inside(p, h) for h in hidden)]
    return _outermost(inside)
