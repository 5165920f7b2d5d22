"""Which sandbox backend is here: a look-up of the tool on ``PATH``, as a shell would do it.

This runs at every policy load (config/loader.py sets ``Settings.sandbox_available`` from it), so it
starts no process and reads no file: a tool that is present but cannot start (no user namespaces,
a setuid helper that refuses) is found here and fails when the executor runs it -- which then
fails closed and does not run the command at all.

``auto`` takes the first of bwrap, firejail and unshare that is installed: the order of the
guarantees each can give (docs/sandbox.md).  ``container`` is never picked by ``auto``: it is
used only when configured, with an image, and runs podman, else docker.
"""
from __future__ import annotations

import os
from collections.abc import Mapping

from ..frozen import record
from ..settings import SandboxSettings, Settings

AUTO_ORDER = ("bwrap", "firejail", "unshare")
CONTAINER_ENGINES = ("podman", "docker")
# where a tool is looked for when PATH is unset or empty: what an executor would use then
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@record
class Backend:
    """A backend found: its name (bwrap, firejail, unshare, container) and the program that runs
    it (for ``container``, podman or docker)."""

    name: str
    program: str


def find_program(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The absolute path of the executable ``name`` on ``PATH`` (``shutil.which`` without its import)."""
    path = (os.environ if env is None else env).get("PATH") or DEFAULT_PATH
    for directory in path.split(os.pathsep):
        if not directory or not os.path.isabs(directory):
            continue  # a relative PATH entry names what the working directory holds: never a sandbox
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def detect(settings: SandboxSettings, env: Mapping[str, str] | None = None) -> Backend | None:
    """The backend ``settings`` asks for, when it is installed; None when it is not."""
    wanted = settings.backend
    if wanted == "container":
        if not settings.container_image:
            return None
        for engine in CONTAINER_ENGINES:
            found = find_program(engine, env)
            if found:
                return Backend("container", found)
        return None
    for name in AUTO_ORDER if wanted == "auto" else (wanted,) if wanted in AUTO_ORDER else ():
        found = find_program(name, env)
        if found:
            return Backend(name, found)
    return None


def available(settings: SandboxSettings, env: Mapping[str, str] | None = None) -> bool:
    """Whether the backend ``settings`` asks for is installed (``Settings.sandbox_available``)."""
    return detect(settings, env) is not None


def with_backend(settings: Settings, env: Mapping[str, str] | None = None) -> Settings:
    """``settings`` with ``sandbox_available`` saying whether its backend is installed here, when
    the sandbox is enabled (false, and nothing looked up, when it is not).  Every policy load, from
    the files or the compiled-policy cache, goes through this."""
    found = settings.sandbox_mode and available(settings.sandbox, env)
    return settings if found == settings.sandbox_available else settings.with_(sandbox_available=found)
