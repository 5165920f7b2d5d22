"""Self-protection: built-in rules that deny writes and deletes to the files that define the guard.

An agent allowed to write files could otherwise rewrite its own policy.  These rules are added to
every compiled policy after all layers (admin included) and belong to the admin layer: no policy,
config or preset can switch them off, add an exception to them, or loosen them (combining never
lets an allow beat a deny).  They are path rules on ``write`` and ``delete`` effects, so they hold
for every spelling the analysis turns into such an effect: the file tool's write, edit and delete,
and in a shell ``>``, ``>>``, ``tee``, ``sed -i``, ``cp``/``mv``/``install``/``ln -sf`` onto,
``rm``, ``truncate``, ``chmod``, ``dd of=`` and the rest of the catalog, and a recursive delete of
a protected directory itself (not of a directory above one: see ``_inside``).

What is protected:

- every file a policy source was read from (config, policy files, admin file), and the file a
  symbolic link among them points to;
- the project policy directory of every workspace (``$WORKSPACE/.policylang``), loaded or not;
- the private cache directory and the state directory with the cache key (policylang/cache.py);
- the audit log's directory (``[security.audit] path``) and, when ``hmac_key_env`` names a
  variable whose value is a file, that file.

docs/self-protection.md describes the rules and what they do not cover.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from ..settings import Settings
from ..verdict import Decision, Risk
from ..effects import Effect
from .matcher import CompiledRule, MatchContext, PathTarget, effect_path
from .pathsets import PathSet

RULE_IDS = {"write": "self-protection.write", "delete": "self-protection.delete"}
LOCATION = "<built-in self-protection>"
MESSAGE = ("the guard's own files (its config and policy files, project policies, caches and their "
           "key, the audit log) cannot be changed by an action it judges")


def _cache_dirs() -> list[str]:
    """The cache and state directories as cache.py would name them (nothing is created here)."""
    out = []
    base = os.environ.get("POLICYLANG_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "policylang")
    out.append(base)
    out.append(os.environ.get("POLICYLANG_STATE_DIR") or os.path.join(os.path.expanduser("~"), ".policylang"))
    return out


def _absolute(path: str) -> list[str]:
    """``path`` made absolute, and the file it finally names when it is a symbolic link."""
    p = os.path.abspath(os.path.expanduser(path))
    out = [p]
    real = os.path.realpath(p)
    if real != p:
        out.append(real)
    return out


def protected_patterns(source_files: Iterable[str], settings: Settings,
                       env: Mapping[str, str] | None = None) -> list[str]:
    """The path patterns the self-protection rules cover, for a policy read from ``source_files``."""
    environ = os.environ if env is None else env
    pats: list[str] = []
    for name in source_files:
        if os.path.isabs(name) or os.path.isfile(name):
            pats.extend(_absolute(name))
    pats.append("$WORKSPACE/.policylang")
    pats.append("$WORKSPACE/.policylang/**")
    for d in _cache_dirs():
        for p in _absolute(d):
            pats.extend([p, p.rstrip("/") + "/**"])
    audit = getattr(settings, "audit", None)
    if audit is not None:
        log_dir = os.path.dirname(os.path.abspath(os.path.expanduser(audit.path)))
        for p in _absolute(log_dir):
            pats.extend([p, p.rstrip("/") + "/**"])
        if audit.hmac_key_env:
            value = environ.get(audit.hmac_key_env, "")
            if value and os.path.isabs(value) and os.path.isfile(value):
                pats.extend(_absolute(value))
    return [_escape(p) if not p.startswith("$WORKSPACE") else p for p in dict.fromkeys(pats)]


def _escape(path: str) -> str:
    """A file name as a glob that matches only itself."""
    out = []
    for part in path.split("/"):
        if part == "**":
            out.append(part)
        else:
            out.append("".join(f"[{c}]" if c in "*?[]!{}" else c for c in part))
    return "/".join(out)


def _inside(paths: PathSet) -> Callable[[Effect, MatchContext], bool]:
    """The rules' condition: the effect's path lies in a protected path (or is one).

    The path index also finds a recursive effect on a directory *above* a protected one (``tar x``
    into the workspace, ``find . -delete``); that would deny everyday work in every workspace because
    ``.policylang`` is inside it, so the condition tests the path alone.  The directories themselves
    are in the set, so ``rm -rf ~/.policylang`` still matches.  (Should the test fail, a deny rule's
    condition counts as met.)"""

    def inside(effect: Effect, ctx: MatchContext) -> bool:
        return effect.path is not None and paths.contains(effect_path(effect)[0], ctx.roots, False)

    return inside


def self_protection_rules(source_files: Iterable[str], settings: Settings, first_index: int) -> list[CompiledRule]:
    """The rules, numbered from ``first_index`` (after every rule of the policy)."""
    paths = PathSet(protected_patterns(source_files, settings))
    return [CompiledRule(first_index + i, rule_id, Decision.DENY, Risk.HIGH, MESSAGE, None, LOCATION, "admin",
                         PathTarget(kind, paths, False), when=_inside(paths))
            for i, (kind, rule_id) in enumerate(RULE_IDS.items())]
