"""The credential files deeper in the workspace: a bounded walk that finds what a sandbox must hide
below its top (``sub/.env``, ``deep/a/b/key.pem``).

``plan.hidden_paths`` looks for a ``**/NAME`` pattern at the top of the workspace only; this walk
looks at every entry below it and asks ``hide(path, is_dir)`` -- the executor's test against the
policy's ``deny read`` patterns -- about each.  A directory that is hidden is not entered.  It does
not follow symbolic links to directories, and it does not enter the directories of
``SKIPPED``: version control's own (``.git``: the policy protects its hooks and config by other
rules), installed dependencies (``node_modules``) and virtualenvs (a directory holding
``pyvenv.cfg``), which are large and hold what a package manager put there, not the project's
credentials.

It is bounded: past ``max_entries`` entries or ``max_depth`` levels it raises ``WalkError`` and the
sandbox is not set up (the command does not run) -- a walk that stopped half-way would leave
credentials it never saw readable.
"""
from __future__ import annotations

import os
from collections.abc import Callable

MAX_ENTRIES = 100_000
MAX_DEPTH = 40
SKIPPED = frozenset({".git", ".hg", ".svn", "node_modules"})


class WalkError(Exception):
    """The walk cannot look at the whole workspace: the sandbox cannot promise what it hides."""


def _own(path: str) -> bool:
    try:
        return os.lstat(path).st_uid == os.getuid()
    except OSError:
        return False  # gone since it was listed: nothing to hide


def _virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def hidden_below(workspace: str, hide: Callable[[str, bool], bool], max_entries: int | None = None,
                 max_depth: int | None = None) -> tuple[str, ...]:
    """The paths below ``workspace`` that ``hide`` names, outermost first (nothing below a hidden
    directory), sorted.  Raises WalkError past the bounds (by default MAX_ENTRIES and MAX_DEPTH); a
    directory that cannot be read is skipped when another user owns it (the sandboxed command
    cannot read it either), and is an error when this user does (it could make it readable)."""
    max_entries = MAX_ENTRIES if max_entries is None else max_entries
    max_depth = MAX_DEPTH if max_depth is None else max_depth
    found: list[str] = []
    seen = 0
    stack: list[tuple[str, int]] = [(workspace, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as exc:
            if _own(directory):  # its owner can chmod it inside the writable workspace and look in
                raise WalkError(f"cannot look into {directory}: {exc.strerror or exc}: its credential files "
                                "cannot be found and hidden") from None
            continue
        seen += len(entries)
        if seen > max_entries:
            raise WalkError(f"the workspace {workspace} has more than {max_entries:,} entries: its credential "
                            "files cannot all be found and hidden")
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if hide(entry.path, is_dir):
                if os.path.exists(entry.path):  # a dangling link holds nothing to read
                    found.append(entry.path)
                continue
            if not is_dir or entry.name in SKIPPED or _virtualenv(entry.path):
                continue
            if depth + 1 >= max_depth:
                raise WalkError(f"the workspace {workspace} is nested deeper than {max_depth} directories "
                                f"({entry.path}): its credential files cannot all be found and hidden")
            stack.append((entry.path, depth + 1))
    return tuple(sorted(found))
