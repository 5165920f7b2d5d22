"""Hardening lint for config.toml (issue 4, item 8): what a valid config does that weakens the guard.

Errors: a system directory among ``safe_paths``; a pattern RE2 rejects (reported by the loader),
and every error of the config itself.  Warnings: a default restricted path removed, mode
``execute``, ``block_high_risk = false``, ``exec_strict`` off where the decision server is
enabled, the audit log disabled, server auth disabled, a safe path that contains a restricted one, a
safe path inside the workspace (it has no effect), an allow pattern that can match after the
program name (an unanchored ``*`` pattern, or one that starts with ``.*`` or any word).
``strict=True`` turns every warning into an error.  Each finding points at the key that causes it:
the key in the config (or admin) file, or the ``preset`` key when a preset set it.
"""
from __future__ import annotations

import os
from ..frozen import replace
from typing import Any, Sequence

from .patterns import loose_allow
from .loader import ConfigReport, load_config_report, normalise_setting_path, within
from ..diagnostics import Diagnostic
from ..settings import DEFAULT_RESTRICTED
from .tomldoc import PathKey, TomlDocument

# Directories whose contents belong to the system: never a place to allow mutation.
SYSTEM_DIRS = (
    "/", "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc", "/root",
    "/run", "/sbin", "/snap", "/sys", "/usr", "/var/lib", "/var/log", "/var/spool", "/var/db", "/var/run",
    "/System", "/Library", "/private/etc", "/private/var/db",
) + tuple(p for p in DEFAULT_RESTRICTED if p.startswith("~"))


def lint_config(path: str | os.PathLike[str], *, strict: bool = False) -> list[Diagnostic]:
    """Every error and hardening finding of the config file ``path``, in file order.

    The file is judged as written: the process environment (POLICYLANG_MODE, ...) does not
    take part, except HOME to expand ``~``.
    """
    env = {"HOME": os.environ["HOME"]} if "HOME" in os.environ else {}
    report = load_config_report(path, env=env)
    found = list(report.diagnostics)
    if report.document is not None and report.document.data is not None:
        found.extend(hardening(report))
    found = _ordered(found)
    if strict:
        found = [d if d.is_error else replace(d, severity="error") for d in found]
    return found


def _ordered(diags: Sequence[Diagnostic]) -> list[Diagnostic]:
    def key(d: Diagnostic) -> tuple[str, int, int]:
        return (d.span.source, d.span.line, d.span.column) if d.span else ("", 0, 0)

    unique = list(dict.fromkeys(diags))
    return sorted(unique, key=key)


class _Where:
    """Finds where a setting's effective value is written, for the diagnostic's position."""

    def __init__(self, report: ConfigReport) -> None:
        self.report = report
        assert report.document is not None
        self.doc: TomlDocument = report.document

    def __call__(self, key: str, *, prefer: str = "value") -> tuple[TomlDocument, PathKey, str]:
        written = self.report.written.get(key)
        if written is not None:
            return written[0], written[1], prefer
        origin = self.report.origins.get(key, "default")
        if origin.startswith("preset:") and self.doc.has(("security", "preset")):
            return self.doc, ("security", "preset"), "value"
        return self.doc, ("security",), "key"

    def diag(self, severity: str, code: str, message: str, key: str, *, hint: str | None = None,
             index: int | None = None, prefer: str = "value") -> Diagnostic:
        doc, path, how = self(key, prefer=prefer)
        if index is not None and self.report.written.get(key) is not None:
            path = path + (index,)
            how = "value"
        origin = self.report.origins.get(key, "default")
        if origin.startswith("preset:") and self.report.written.get(key) is None:
            message += f" (set by the preset {origin.split(':', 1)[1]!r})"
        return doc.diagnostic(severity, code, message, path, prefer=how, hint=hint)


def _system_dir(path: str) -> str | None:
    """Why ``path`` is a system directory: the system directory it is, is inside, or contains."""
    for s in SYSTEM_DIRS:
        if path == s:
            return f"is the system directory {s!r}" if s.startswith("/") else f"is the credential directory {s!r}"
    for s in SYSTEM_DIRS:
        if s != "/" and within(path, s):
            return f"is inside the system directory {s!r}" if s.startswith("/") else \
                f"is inside the credential directory {s!r}"
    for s in SYSTEM_DIRS:
        if s != path and within(s, path):
            return f"contains the system directory {s!r}" if s.startswith("/") else \
                f"contains the credential directory {s!r}"
    return None


def hardening(report: ConfigReport) -> list[Diagnostic]:
    """The hardening findings of a loaded (or partly loaded) config."""
    where = _Where(report)
    v = report.values
    out: list[Diagnostic] = []

    safe = v.get("safe_paths", ())
    raw_safe = _raw_list(report, "safe_paths")
    restricted = v.get("restricted_paths", ())
    workspace = v.get("workspace")
    for path in safe:
        index = raw_safe.index(path) if path in raw_safe else None
        why = _system_dir(path)
        if why is not None:
            out.append(where.diag("error", "system-safe-path",
                                  f"security.safe_paths: {path!r} {why}: mutating effects would be allowed there",
                                  "safe_paths", index=index,
                                  hint="keep safe_paths to scratch directories such as /tmp; the workspace is "
                                       "always writable"))
            continue
        if workspace and within(_home_expanded(path), workspace):
            out.append(where.diag("warning", "safe-path-in-workspace",
                                  f"security.safe_paths: {path!r} is inside the workspace {workspace!r}: it has no "
                                  "effect, the workspace is writable already", "safe_paths", index=index,
                                  hint="safe_paths are for places outside the workspace, such as /tmp"))
            continue
        inner = [r for r in restricted if r != path and within(r, path)]
        if inner:
            out.append(where.diag("warning", "safe-path-contains-restricted",
                                  f"security.safe_paths: {path!r} contains the restricted path {inner[0]!r}: "
                                  "everything else below it becomes writable", "safe_paths", index=index))

    removed = [d for d in DEFAULT_RESTRICTED if not any(within(d, r) for r in restricted)]
    if removed:
        out.append(where.diag("warning", "restricted-removed",
                              "security.restricted_paths: default restricted path"
                              f"{'s' if len(removed) > 1 else ''} removed: {', '.join(repr(r) for r in removed)}",
                              "restricted_paths",
                              hint="list the defaults too: restricted_paths replaces the default list"))

    if v.get("mode") == "execute":
        out.append(where.diag("warning", "mode-execute",
                              "security.mode: 'execute' runs low and medium risk actions without asking anyone",
                              "mode"))
    if v.get("block_high_risk") is False:
        out.append(where.diag("warning", "high-risk-not-blocked",
                              "security.block_high_risk: false asks instead of denying high-risk actions", "block_high_risk"))
    if v.get("server.enabled") and not v.get("exec_strict"):
        key = "exec_strict" if "exec_strict" in report.written else "server.enabled"
        out.append(where.diag("warning", "exec-strict-off",
                              "security.exec_strict: off while the decision server is enabled: its clients' "
                              "commands may use any shell syntax", key,
                              hint="set exec_strict = true so the server admits only plain commands run from argv"))
    if v.get("audit.enabled") is False:
        out.append(where.diag("warning", "audit-disabled",
                              "security.audit.enabled: false: decisions leave no audit record", "audit.enabled"))
    if v.get("server.auth") == "none":
        out.append(where.diag("warning", "auth-disabled",
                              "security.server.auth: 'none': anyone who can reach the server may ask it for decisions",
                              "server.auth"))
    for doc in (report.document, report.admin_document):
        if doc is not None:
            out.extend(_loose_allow_patterns(doc))
    return out


def _loose_allow_patterns(doc: TomlDocument) -> list[Diagnostic]:
    """A warning for each allow pattern that can match after the program name (config/patterns.py)."""
    security = doc.data.get("security") if isinstance(doc.data, dict) else None
    patterns = security.get("allowlist_patterns") if isinstance(security, dict) else None
    if not isinstance(patterns, list):
        return []
    out = []
    for i, raw in enumerate(patterns):
        found = loose_allow(raw) if isinstance(raw, str) and raw else None
        if found is None:
            continue
        why, witness = found
        out.append(doc.diagnostic(
            "warning", "allow-pattern-anywhere", f"security.allowlist_patterns[{i}]: {raw!r} {why}, so it allows "
            f"{witness!r}", ("security", "allowlist_patterns", i),
            hint="start the pattern with the program's name, e.g. 'npm test'; an allow pattern is anchored at the "
                 "start of the command and ends where a word ends"))
    return out


def _home_expanded(path: str) -> str:
    home = os.environ.get("HOME")
    if home and (path == "~" or path.startswith("~/")):
        return normalise_setting_path(home + path[1:])
    return path


def _raw_list(report: ConfigReport, key: str) -> list[str]:
    """The normalised items of a path list as written where its effective value comes from."""
    written = report.written.get(key)
    if written is None:
        return []
    doc, path = written
    data: Any = doc.data
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return [normalise_setting_path(p) if isinstance(p, str) else "" for p in data] if isinstance(data, list) else []
