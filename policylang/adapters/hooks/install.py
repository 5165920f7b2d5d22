"""``policylang hook install AGENT [--project|--user] [--dry-run]``: the agent's settings entry.

The file and the entries come from the agent's table (spec.py, ``[install]``).  The edit:
  - reads the settings file (bounded, regular files only) and refuses one that is not a JSON object
    rather than overwriting it; a missing file is created (with its directory);
  - appends each entry to its list unless an entry there already runs the same command
    (idempotent: a second run changes nothing and writes nothing), keeping every other key;
  - prints a unified diff of the change;
  - writes atomically: a temporary file in the same directory, flushed to disk, renamed over the
    old one with its permissions.
"""
from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from .spec import Agent, fill

__all__ = ["cmd_install", "hook_command", "plan"]

EXIT_OK, EXIT_USAGE = 0, 2
MAX_SETTINGS_BYTES = 4 * 1024 * 1024


class InstallError(Exception):
    """A settings file that cannot be edited safely."""


def hook_command(agent: str) -> str:
    """The command line the agent runs: this installation's ``policylang`` script when it is the
    one on PATH, else this Python running the package (so the hook runs the version installed)."""
    import shlex
    import shutil

    script = shutil.which("policylang")
    here = os.path.join(os.path.dirname(sys.executable), "policylang")
    if script is not None and os.path.realpath(script) == os.path.realpath(here):
        return f"{shlex.quote(script)} hook {agent}"
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return f"{shlex.quote(here)} hook {agent}"
    return f"{shlex.quote(sys.executable)} -m policylang hook {agent}"


def settings_path(agent: Agent, user: bool, cwd: str, home: str) -> str:
    where = agent.install.user if user else agent.install.project
    if where.startswith("~/"):
        return os.path.join(home, where[2:])
    return os.path.join(cwd, where)


def plan(agent: Agent, old_text: str | None, command: str) -> str:
    """The new text of the settings file: ``old_text`` (None: no file) with the agent's entries."""
    import json

    if old_text is None or not old_text.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(old_text)
        except (ValueError, RecursionError) as exc:
            raise InstallError(f"it is not valid JSON ({exc}); fix or move it, then run this again") from None
        if not isinstance(data, dict):
            raise InstallError("it is not a JSON object; fix or move it, then run this again")
    changed = old_text is None or not old_text.strip()
    for key, value in agent.install.defaults.items():
        if key not in data:
            data[key] = value
            changed = True
    for at, entry in agent.install.entries:
        target = data
        for i, key in enumerate(at):
            last = i == len(at) - 1
            node = target.get(key)
            if node is None:
                node = [] if last else {}
                target[key] = node
            if not isinstance(node, list if last else dict):
                raise InstallError(f"{'.'.join(at[:i + 1])} is not a JSON {'list' if last else 'object'}; "
                                   "fix it, then run this again")
            target = node
        if not any(_runs(item, command, agent.name) for item in target):
            target.append(fill(entry, {"command": command}))
            changed = True
    if not changed:
        return old_text or ""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _runs(item: Any, command: str, agent: str) -> bool:
    """Whether a settings entry (or anything in it) runs ``command``, or another installation's
    ``policylang ... hook AGENT`` (a second one would only decide the same call twice)."""
    if isinstance(item, dict):
        return any(_runs(v, command, agent) for v in item.values())
    if isinstance(item, list):
        return any(_runs(v, command, agent) for v in item)
    return isinstance(item, str) and (item == command or (
        "policylang" in item and item.split()[-2:] == ["hook", agent]))


def cmd_install(args: Any, *, stdout: TextIO, stderr: TextIO) -> int:
    from .spec import SpecError, agent_names, load_agent

    if not args.target:
        print(f"policylang hook install: name the agent ({', '.join(agent_names())})", file=stderr)
        return EXIT_USAGE
    if getattr(args, "config", None) or getattr(args, "preset", None) or getattr(args, "mode", None) or \
            getattr(args, "policy", None):
        print("policylang hook install: --config, --preset, --mode and --policy go with 'hook AGENT'", file=stderr)
        return EXIT_USAGE
    try:
        agent = load_agent(args.target)
    except KeyError:
        print(f"policylang hook install: no agent {args.target!r} (known: {', '.join(agent_names())})",
              file=stderr)
        return EXIT_USAGE
    except SpecError as exc:
        print(f"policylang hook install: internal error in the hook table: {exc}", file=stderr)
        return EXIT_USAGE
    from ...inputs import working_directory

    home = os.path.expanduser("~")
    path = settings_path(agent, args.user, working_directory(), home)
    command = hook_command(agent.name)
    try:
        old = _read(path)
        new = plan(agent, old, command)
    except InstallError as exc:
        print(f"policylang hook install: cannot edit {path}: {exc}", file=stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(f"policylang hook install: cannot read {path}: {exc.strerror or exc}", file=stderr)
        return EXIT_USAGE
    if old is not None and new == old:
        print(f"{path}: the {agent.title} hook is already installed (no change)", file=stdout)
        return EXIT_OK
    import difflib

    stdout.writelines(difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                           fromfile=path if old is not None else "/dev/null", tofile=path))
    if args.dry_run:
        print(f"(dry run: {path} not written)", file=stdout)
        return EXIT_OK
    try:
        _write(path, agent, command)
    except InstallError as exc:  # the file changed under us into something that cannot be edited
        print(f"policylang hook install: cannot edit {path}: {exc}", file=stderr)
        return EXIT_USAGE
    except (OSError, UnicodeDecodeError) as exc:
        print(f"policylang hook install: cannot write {path}: {getattr(exc, 'strerror', None) or exc}", file=stderr)
        return EXIT_USAGE
    print(f"{path}: the {agent.title} hook runs `{command}`", file=stdout)
    return EXIT_OK


def _read(path: str) -> str | None:
    from ...inputs import read_text

    try:
        return read_text(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        return None


def _write(path: str, agent: Agent, command: str) -> None:
    """Add the hook to ``path`` as ``config/edit.edit_config`` edits a file: under a lock, in place
    (a symbolic link's target is edited and stays a link; inode, owner, mode and hard links are
    kept), with the plan made again from the text read under the lock, so a concurrent edit of the
    agent's settings is not lost."""
    from ...config.edit import edit_config

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    edit_config(path, lambda text: (plan(agent, text or None, command), []))
