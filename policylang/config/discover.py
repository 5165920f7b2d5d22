"""Which config file a command loads: one discovery order, used by every command (issue 12).

The first of these that applies is the config file; the others are not read:

1. ``--config FILE``
2. the environment variable ``POLICYLANG_CONFIG``
3. the project's file: ``.policylang/config.toml`` in the working directory, else in the nearest
   directory above it up to the root of the git repository that holds it (the directory with
   ``.git``); outside a git repository only the working directory is looked in
4. the user's file: ``$XDG_CONFIG_HOME/policylang/config.toml`` (``~/.config/policylang/config.toml``
   when XDG_CONFIG_HOME is unset, empty or not absolute)
5. none: the built-in defaults

``policylang policy NAME`` edits the file this finds; when there is none, it creates the project's
file at the repository root (or in the working directory outside a repository), so that the next
command finds it.  An admin file (``POLICYLANG_ADMIN_CONFIG`` or the config's ``admin_config``) is
layered on top of whichever config is loaded.

This runs before every decision, so it only looks at the file system (a few ``stat`` calls); the
library's ``policylang.load()`` does not discover: it loads what it is given (or POLICYLANG_CONFIG).
"""
from __future__ import annotations

import os
from typing import Mapping, NamedTuple, Sequence

ENV_CONFIG = "POLICYLANG_CONFIG"
PROJECT_DIR = ".policylang"
CONFIG_NAME = "config.toml"

# How the config was found: the values of ConfigChoice.origin, and how output names them.
EXPLICIT, ENVIRONMENT, PROJECT, USER, NONE = "--config", ENV_CONFIG, "project", "user", "none"
_SHOWN = {EXPLICIT: "given by --config", ENVIRONMENT: f"named by {ENV_CONFIG}", PROJECT: "the project's file",
          USER: "the user's file"}
_MAX_DEPTH = 256  # directories walked up looking for a git root


class ConfigChoice(NamedTuple):
    """The config file a command loads, how it was found, and where discovery looked."""

    path: str | None  # None: no config file, the built-in defaults
    origin: str  # EXPLICIT, ENVIRONMENT, PROJECT, USER or NONE
    looked: tuple[str, ...] = ()  # the project and user files looked for, in order

    @property
    def argument(self) -> str | None:
        """What to hand the loader: None for POLICYLANG_CONFIG, which the loader reads itself (and
        names in its errors), else the path."""
        return None if self.origin == ENVIRONMENT else self.path

    def describe(self, also: Sequence[str] = (), *, looked: bool = False) -> str:
        """``config: PATH (the project's file)``, with the other files a load read (an admin file,
        policy files) and, with ``looked``, where discovery looked when it found nothing."""
        if self.path is None:
            text = "config: none (built-in defaults)"
            if looked and self.looked:
                text = f"config: none found in {', '.join(self.looked)} (built-in defaults)"
        else:
            text = f"config: {self.path} ({describe_origin(self.origin)})"
        others = self._others(also)
        if others:
            text += "; also read: " + ", ".join(others)
        return text

    def to_json(self, also: Sequence[str] = ()) -> dict[str, object]:
        """What ``describe`` says, for JSON output: ``{"path", "origin", "also_read"}``."""
        return {"path": self.path, "origin": self.origin, "also_read": self._others(also)}

    def _others(self, also: Sequence[str]) -> list[str]:
        mine = os.path.abspath(self.path) if self.path is not None else None
        return [f for f in dict.fromkeys(also) if f != mine]


def describe_origin(origin: str) -> str:
    """How output names an origin: ``the project's file``, ``named by POLICYLANG_CONFIG``."""
    return _SHOWN.get(origin, "none")


def find_config(explicit: str | None = None, *, env: Mapping[str, str] | None = None,
                cwd: str | None = None) -> ConfigChoice:
    """The config file a command loads (the order is in the module's docstring)."""
    if explicit is not None:
        return ConfigChoice(explicit, EXPLICIT)
    env = os.environ if env is None else env
    named = env.get(ENV_CONFIG, "")
    if named:
        return ConfigChoice(named, ENVIRONMENT)
    cwd = cwd or os.getcwd()
    looked = [*project_candidates(cwd), user_config_path(env)]
    for i, path in enumerate(looked):
        if os.path.isfile(path):
            return ConfigChoice(path, PROJECT if i < len(looked) - 1 else USER, tuple(looked))
    return ConfigChoice(None, NONE, tuple(looked))


def write_target(explicit: str | None = None, *, env: Mapping[str, str] | None = None,
                 cwd: str | None = None) -> ConfigChoice:
    """The file ``policy NAME`` edits: the one ``find_config`` finds, else the project's file to
    create (``.policylang/config.toml`` at the git root, or in ``cwd`` outside a repository)."""
    choice = find_config(explicit, env=env, cwd=cwd)
    if choice.path is not None:
        return choice
    root = git_root(cwd or os.getcwd()) or cwd or os.getcwd()
    return ConfigChoice(os.path.join(root, PROJECT_DIR, CONFIG_NAME), PROJECT, choice.looked)


def git_root(start: str) -> str | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (a directory, or a file in a
    worktree or submodule); None outside a repository."""
    d = os.path.abspath(start)
    for _ in range(_MAX_DEPTH):
        if os.path.exists(os.path.join(d, ".git")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return None
        d = parent
    return None


def project_candidates(cwd: str) -> list[str]:
    """The project files looked for, nearest first: the working directory's, then each directory's
    above it up to the git root; only the working directory's outside a repository."""
    here = os.path.abspath(cwd)
    root = git_root(here)
    dirs = [here]
    if root is not None:
        d = here
        while d != root:
            d = os.path.dirname(d)
            dirs.append(d)
    return [os.path.join(d, PROJECT_DIR, CONFIG_NAME) for d in dirs]


def user_config_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_CONFIG_HOME/policylang/config.toml``, with ``~/.config`` for an unset, empty or
    relative XDG_CONFIG_HOME (as the XDG base directory specification says)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        home = env.get("HOME") or os.path.expanduser("~")
        base = os.path.join(home, ".config")
    return os.path.join(base, "policylang", CONFIG_NAME)
