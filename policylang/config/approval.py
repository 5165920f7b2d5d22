"""Project policies an operator has approved: a new or changed one is not loaded until approved.

A project policy (``$WORKSPACE/.policylang/*.policy``, with ``project_policies = true``) is text in
the workspace, where an agent can write.  So the set of project policy files of a workspace, with
the SHA-256 of each, is recorded in a state file of the user's outside every workspace
(``project-policies.json`` in the state directory of cache.py, ``~/.policylang``): the first load
of a workspace records what it finds (trust on first use), and from then on a file that is not
recorded, or whose text changed, is left out with a warning saying how to approve it.  Approving:
run the load with ``POLICYLANG_APPROVE_NEW_POLICY=1`` in the environment, which records the files as
they are now.  A removed file is forgotten at the next approval.  The state file is itself
protected by the self-protection rules (engine/selfprotect.py).
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence

from .. import cache
from ..diagnostics import Diagnostic
from ..source import Source
from .reads import note_file

STATE_FILE = "project-policies.json"
APPROVE_ENV = "POLICYLANG_APPROVE_NEW_POLICY"
_LIMIT = 4 << 20


def _state_path() -> str | None:
    d = cache.state_dir()
    return None if d is None else os.path.join(d, STATE_FILE)


def _read_state(path: str) -> dict[str, dict[str, str]] | None:
    """The recorded workspaces, or None when the state file is there but not a private file of
    the user's or not readable as ours (then nothing new is trusted)."""
    if not os.path.lexists(path):
        return {}
    data = cache.read_private(path, limit=_LIMIT)
    if data is None:
        return None
    try:
        state = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(state, dict) and all(isinstance(v, dict) for v in state.values())):
        return None
    return state


def approved_sources(found: Sequence[Source], workspace: str) -> tuple[list[Source], list[Diagnostic]]:
    """The project policy sources of ``workspace`` that may be loaded, and a warning for each left out."""
    path = _state_path()
    if path is None:
        return [], [Diagnostic("warning", "project-policy-unapproved",
                               "project policies are not loaded: no private state directory "
                               "(~/.policylang or $POLICYLANG_STATE_DIR) to record their approval in")]
    state = _read_state(path)
    if state is None:
        note_file(path, _LIMIT, None)  # never matches a file that is there: every load looks again
        return [], [Diagnostic("warning", "project-policy-unapproved",
                               f"project policies are not loaded: {path} is not a private file of yours "
                               "or is unreadable; remove it and approve the project policies again")]
    try:
        return _approved(found, workspace, path, state)
    finally:  # what the file holds once this load is done: a later change rebuilds a cached policy
        note_file(path, _LIMIT, cache.read_private(path, limit=_LIMIT))


def _approved(found: Sequence[Source], workspace: str, path: str, state: dict[str, dict[str, str]]
              ) -> tuple[list[Source], list[Diagnostic]]:
    ws = os.path.abspath(workspace)
    current = {os.path.abspath(s.name): cache.digest(s.text.encode("utf-8", "surrogateescape")) for s in found}
    recorded = state.get(ws)
    if recorded is None or os.environ.get(APPROVE_ENV) == "1":
        state[ws] = current
        cache.write_private(path, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
        return list(found), []
    kept: list[Source] = []
    warnings: list[Diagnostic] = []
    for s in found:
        name = os.path.abspath(s.name)
        if recorded.get(name) == current[name]:
            kept.append(s)
            continue
        what = "new" if name not in recorded else "changed"
        warnings.append(Diagnostic(
            "warning", "project-policy-unapproved",
            f"project policy {s.name} is {what} since the project policies of {ws} were approved and is not "
            f"loaded; review it, then approve with {APPROVE_ENV}=1 in the environment of one run"))
    return kept, warnings
