"""The environment a sandboxed command gets: the executor's, without the credentials in it.

A variable is removed when its name says it holds a credential (the catalog's ``secret_variables``,
read through ``analysis.shell.state.secret_name``: ``GITHUB_TOKEN``, ``AWS_SECRET_ACCESS_KEY``,
``DB_PASSWORD``, ...) or when the secrets detector (analysis/secretscan) finds a credential in
``NAME=VALUE`` (a ``ghp_...`` or ``AKIA...`` value under a name of its own).  The names of
``[security.sandbox] pass_env`` are let through as they are.  The backend itself is started with
this environment, so what it runs inherits nothing else; the values never appear in an argv.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping


def is_credential(name: str, value: str) -> bool:
    """Whether the variable ``name=value`` holds a credential, by its name or by its value."""
    from ..analysis.secretscan import scan
    from ..analysis.shell.state import secret_name

    return secret_name(name) or bool(scan(f"{name}={value}"))


def scrubbed(env: Mapping[str, str], keep: Iterable[str] = ()) -> tuple[dict[str, str], tuple[str, ...]]:
    """(the environment without its credentials, the names removed, sorted); ``keep``: names let
    through whatever they hold."""
    kept = frozenset(keep)
    out: dict[str, str] = {}
    removed: list[str] = []
    for name, value in env.items():
        if name not in kept and is_credential(name, value):
            removed.append(name)
        else:
            out[name] = value
    return out, tuple(sorted(removed))
