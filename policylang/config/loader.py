"""config.toml: settings and policy sources, layer by layer (issue 4; DESIGN §3, §4).

Settings are decided in this order, each step over the one before::

    Settings() defaults -> presets -> [security] of the config file -> environment -> arguments
                        -> admin file (can only tighten what is below it)

Policy sources come lowest layer first: the built-in catalog, the presets' rules, the config's
inline ``policy``, ``policy_files`` and allow/deny patterns (layer "user"), ``.policylang/*.policy``
under the workspace (layer "project", only with ``project_policies = true``), and the admin file's
own policy (layer "admin").  ``compile_policy`` applies ``disable``/``except`` between layers.

Every error names the file, line and key path; every error of one run is reported.
"""
from __future__ import annotations

import errno
import glob
import os
import posixpath
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from ..lang import nodes as ast
from ..diagnostics import shown, Diagnostic, PolicyError
from ..frozen import replace
from ..inputs import MAX_POLICY_BYTES, InputError, decode_utf8, read_bytes
from .approval import approved_sources
from .patterns import UNANCHORED, pattern_regex, split as split_pattern
from .discover import ENV_CONFIG
from .reads import note_file, note_glob
from .presets import (KINDS, Preset, embedded_source, expand, flatten_settings, load_preset, preset_names,
                      unknown_preset_message)
from ..sandbox.backends import with_backend
from ..settings import MODES, POSTURES, Settings
from ..source import Source, Span
from .tomldoc import PathKey, TomlDocument, dotted, near_miss, read_toml, schema_diagnostics
from ..verdict import Risk

ENV_ADMIN_CONFIG = "POLICYLANG_ADMIN_CONFIG"
ENV_EXEC_STRICT = "POLICYLANG_EXEC_STRICT"
ENV_MODE = "POLICYLANG_MODE"
ENV_PRESET = "POLICYLANG_PRESET"
ENV_HEADLESS = "POLICYLANG_HEADLESS"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

# Keys of [security] that name policy sources rather than settings.
SOURCE_KEYS = ("preset", "policy", "policy_files", "allowlist_patterns", "denylist_patterns", "admin_config")


@dataclass(frozen=True)
class LoadedConfig:
    """The effective settings and the policy sources, lowest layer first."""

    settings: Settings
    sources: tuple[Source | ast.PolicyFile, ...]
    origins: Mapping[str, str]  # setting key ("mode", "sandbox.backend") -> where its value came from
    diagnostics: tuple[Diagnostic, ...]  # warnings (errors raise PolicyError instead)
    config_path: str | None


@dataclass(frozen=True)
class ConfigReport:
    """Everything ``load_config`` found, without raising: for ``check`` and the hardening lint."""

    config: LoadedConfig | None  # None when there are errors
    diagnostics: tuple[Diagnostic, ...]
    document: TomlDocument | None  # the config file as parsed
    admin_document: TomlDocument | None
    written: Mapping[str, tuple[TomlDocument, PathKey]]  # setting key -> where the winning value is written
    values: Mapping[str, Any]  # setting key -> effective value so far (also when there are errors)
    origins: Mapping[str, str]

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


# ---- the settings table ------------------------------------------------------------------------
# One entry per setting key of [security]: the Settings attribute it sets, how a TOML value becomes
# a Settings value, and how an admin value and a lower value combine (the admin may only tighten).

Tighten = Callable[[Any, Any], Any]  # (admin value, explicit lower value) -> effective value


def _prefer(tight: bool) -> Tighten:
    return lambda admin, lower: tight if tight in (admin, lower) else admin


def _order(values: Sequence[Any]) -> Tighten:
    """The earlier of the two in ``values`` (listed tightest first)."""
    return lambda admin, lower: lower if values.index(lower) < values.index(admin) else admin


def _admin_wins(admin: Any, lower: Any) -> Any:
    return admin


def _smaller_limit(admin: Any, lower: Any) -> Any:
    """Resource limits: None (no limit) is the loosest."""
    if admin is None:
        return lower
    if lower is None:
        return admin
    return min(admin, lower)


def _smaller_rate(admin: int, lower: int) -> int:
    """Rate limits: 0 (unlimited) is the loosest."""
    if admin == 0:
        return lower
    if lower == 0:
        return admin
    return min(admin, lower)


def within(path: str, root: str) -> bool:
    """``path`` is ``root`` or below it (lexically; both normalised)."""
    return path == root or root == "/" or path.startswith(root.rstrip("/") + "/")


def _inside_workspace(admin: str | None, lower: str | None) -> str | None:
    if admin is None:
        return lower
    return lower if lower is not None and within(lower, admin) else admin


def _safe_subset(admin: tuple[str, ...], lower: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(p for p in lower if any(within(p, a) for a in admin))


def _union(admin: tuple[str, ...], lower: tuple[str, ...]) -> tuple[str, ...]:
    return lower + tuple(p for p in admin if p not in lower)


@dataclass(frozen=True)
class _Key:
    attr: str  # Settings attribute, dotted into nested settings: "sandbox.limits.memory_mb"
    tighten: Tighten
    convert: Callable[[Any], Any] = lambda v: v
    show: Callable[[Any], Any] = lambda v: v
    always_union: bool = False  # the admin's value is merged in even over a default


_RISK_ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)

SETTING_KEYS: dict[str, _Key] = {
    "confirmation_mode": _Key("confirmation_mode", _prefer(True)),
    "security_analyzer": _Key("security_analyzer", _admin_wins),
    "mode": _Key("mode", _order(MODES)),
    "posture": _Key("posture", _order(POSTURES)),
    "block_high_risk": _Key("block_high_risk", _prefer(True)),
    "require_approval_for_medium": _Key("require_approval_for_medium", _prefer(True)),
    "allow_admin_override": _Key("allow_admin_override", _prefer(False)),
    "exec_strict": _Key("exec_strict", _prefer(True)),
    "headless": _Key("headless", _prefer(True)),
    "workspace": _Key("workspace", _inside_workspace),
    "safe_paths": _Key("safe_paths", _safe_subset, tuple, list),
    "restricted_paths": _Key("restricted_paths", _union, tuple, list, always_union=True),
    "project_policies": _Key("project_policies", _prefer(False)),
    "case_insensitive_paths": _Key("case_insensitive_paths", _prefer(True)),
    "risk_threshold": _Key("risk_threshold", _order(_RISK_ORDER), Risk.parse, lambda r: r.label),
    "cache_size": _Key("cache_size", _admin_wins, int),
    "sandbox.enabled": _Key("sandbox_mode", _prefer(False)),
    "sandbox.backend": _Key("sandbox.backend", _admin_wins),
    "sandbox.container_image": _Key("sandbox.container_image", _admin_wins),
    "sandbox.pass_env": _Key("sandbox.pass_env", lambda a, low: tuple(n for n in low if n in a), tuple, list),
    "sandbox.limits.cpu_seconds": _Key("sandbox.limits.cpu_seconds", _smaller_limit, int),
    "sandbox.limits.memory_mb": _Key("sandbox.limits.memory_mb", _smaller_limit, int),
    "sandbox.limits.max_processes": _Key("sandbox.limits.max_processes", _smaller_limit, int),
    "sandbox.limits.max_file_size_mb": _Key("sandbox.limits.max_file_size_mb", _smaller_limit, int),
    "sandbox.limits.max_open_files": _Key("sandbox.limits.max_open_files", _smaller_limit, int),
    "sandbox.limits.timeout_seconds": _Key("sandbox.limits.timeout_seconds", _smaller_limit, int),
    "sandbox.limits.network": _Key("sandbox.limits.network", _prefer(False)),
    "audit.enabled": _Key("audit.enabled", _prefer(True)),
    "audit.path": _Key("audit.path", _admin_wins),
    "audit.hmac_key_env": _Key("audit.hmac_key_env", _admin_wins),
    "audit.hmac_key_file": _Key("audit.hmac_key_file", _admin_wins),
    "audit.rotate_bytes": _Key("audit.rotate_bytes", _admin_wins, int),
    "audit.rotate_seconds": _Key("audit.rotate_seconds", _admin_wins, int),
    "audit.keep": _Key("audit.keep", _admin_wins, int),
    "audit.fsync": _Key("audit.fsync", _order(("always", "rotate", "never"))),
    "audit.on_failure": _Key("audit.on_failure", _order(("deny", "warn"))),
    "server.enabled": _Key("server.enabled", _admin_wins),
    "server.host": _Key("server.host", _admin_wins),
    "server.port": _Key("server.port", _admin_wins, int),
    "server.auth": _Key("server.auth", _order(("token", "none"))),
    "server.token_env": _Key("server.token_env", _admin_wins),
    "server.admin_token_env": _Key("server.admin_token_env", _admin_wins),
    "server.rate_limit": _Key("server.rate_limit", _smaller_rate, int),
    "server.metrics": _Key("server.metrics", _admin_wins),
}


def _get_attr(obj: Any, attr: str) -> Any:
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _set_attr(obj: Any, attr: str, value: Any) -> Any:
    head, _, rest = attr.partition(".")
    if not rest:
        return replace(obj, **{head: value})
    return replace(obj, **{head: _set_attr(getattr(obj, head), rest, value)})


def default_values() -> dict[str, Any]:
    """The value of every setting key in ``Settings()``, in the Settings domain."""
    base = Settings()
    return {key: _get_attr(base, k.attr) for key, k in SETTING_KEYS.items()}


def show_value(key: str, value: Any) -> Any:
    """A setting's value as TOML would write it (Risk as its label, tuples as lists)."""
    return SETTING_KEYS[key].show(value) if key in SETTING_KEYS else value


def build_settings(values: Mapping[str, Any], presets: Sequence[str] = ()) -> Settings:
    """Settings from setting-key values (those missing keep their default)."""
    settings = Settings(presets=tuple(presets))
    for key, value in values.items():
        settings = _set_attr(settings, SETTING_KEYS[key].attr, value)
    return settings


# ---- paths -------------------------------------------------------------------------------------

def normalise_setting_path(path: str) -> str:
    """``..`` and ``.`` folded, ``//`` and a trailing ``/`` dropped; ``~`` and ``$VAR`` kept as the
    anchor (the engine expands them): ``/tmp/../etc/`` -> ``/etc``, ``~/a/./b/..`` -> ``~/a``."""
    if path.startswith("/"):
        out = posixpath.normpath(path)
        return "/" + out.lstrip("/")
    anchor, sep, rest = path.partition("/")
    if not sep:
        return path
    tail = posixpath.normpath(rest)
    return anchor if tail == "." else f"{anchor}/{tail}"


def _workspace_path(value: str, base_dir: str, home: str) -> str:
    if value == "~" or value.startswith("~/"):
        value = home + value[1:]
    if value.startswith("$"):
        return normalise_setting_path(value)
    return normalise_setting_path(os.path.join(base_dir, value))


# ---- loading -----------------------------------------------------------------------------------

def load_config(path: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
                mode: str | None = None, env: Mapping[str, str] | None = None, cwd: str | None = None) -> LoadedConfig:
    """Load the effective settings and the policy sources.

    ``path`` names the config file (else ``POLICYLANG_CONFIG``; else none: the safe default).
    ``preset`` replaces the config's ``preset``; ``mode`` overrides every layer but the admin's.
    ``env`` defaults to ``os.environ``; ``cwd`` (for relative paths and the default workspace) to
    the current directory.  Raises PolicyError with every diagnostic when there is an error.
    """
    report = load_config_report(path, preset=preset, mode=mode, env=env, cwd=cwd)
    if report.config is None:
        raise PolicyError(report.diagnostics)
    return report.config


def load_config_report(path: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
                       mode: str | None = None, env: Mapping[str, str] | None = None,
                       cwd: str | None = None) -> ConfigReport:
    """Like ``load_config`` but never raises: the result, or None and every diagnostic."""
    return _Loader(os.environ if env is None else env, cwd or os.getcwd()).run(path, preset, mode)


class _Loader:
    def __init__(self, env: Mapping[str, str], cwd: str) -> None:
        self.env = env
        self.cwd = cwd
        self.home = env.get("HOME") or os.path.expanduser("~")
        self.diags: list[Diagnostic] = []
        self.values = default_values()
        self.origins: dict[str, str] = {k: "default" for k in self.values}
        self.written: dict[str, tuple[TomlDocument, PathKey]] = {}
        self.applied: list[str] = []

    # -- helpers
    def error(self, code: str, message: str, doc: TomlDocument | None = None, path: PathKey = (), *,
              prefer: str = "value", hint: str | None = None, expected: Sequence[str] = (),
              note: Diagnostic | None = None) -> None:
        self._add("error", code, message, doc, path, prefer, hint, expected, note)

    def warning(self, code: str, message: str, doc: TomlDocument | None = None, path: PathKey = (), *,
                prefer: str = "value", hint: str | None = None, note: Diagnostic | None = None) -> None:
        self._add("warning", code, message, doc, path, prefer, hint, (), note)

    def _add(self, severity: str, code: str, message: str, doc: TomlDocument | None, path: PathKey, prefer: str,
             hint: str | None, expected: Sequence[str], note: Diagnostic | None) -> None:
        notes = (note,) if note is not None else ()
        if doc is None:
            self.diags.append(Diagnostic(severity, code, message, None, "", tuple(expected), hint, notes))
        else:
            d = doc.diagnostic(severity, code, message, path, prefer=prefer, hint=hint, expected=expected)
            self.diags.append(replace(d, notes=notes))

    def set(self, key: str, value: Any, origin: str, where: tuple[TomlDocument, PathKey] | None = None) -> None:
        self.values[key] = value
        self.origins[key] = origin
        if where is None:
            self.written.pop(key, None)
        else:
            self.written[key] = where

    # -- the steps
    def run(self, path: str | os.PathLike[str] | None, preset_arg: str | Sequence[str] | None,
            mode_arg: str | None) -> ConfigReport:
        builtin = self._builtin()
        doc, config_path = self._config_file(path)
        security = self._security(doc, "config")
        base_dir = os.path.dirname(config_path) if config_path else self.cwd

        presets = self._presets(doc, security, preset_arg)
        for p in presets:
            self._apply_preset(p)
        if doc is not None:
            self._apply_table(doc, security, base_dir, origin_prefix="")
        self._apply_env()
        if mode_arg is not None:
            if mode_arg in MODES:
                self.set("mode", mode_arg, "argument:mode")
            else:
                self._bad_choice(f"argument mode: {mode_arg!r}", mode_arg, MODES)

        admin_doc, admin_security, admin_presets = self._admin(doc, security, base_dir)
        self._check_sandbox()

        sources: list[Source | ast.PolicyFile] = [builtin] if builtin is not None else []
        admin_preset_names = {p.name for p in admin_presets}
        for p in presets:
            if p.rules_source is not None and p.name not in admin_preset_names:
                sources.append(p.rules_source)
        if doc is not None:
            sources.extend(self._policy_sources(doc, security, base_dir, "user", "config"))
        if self.values["project_policies"]:
            sources.extend(self._project_sources())
        if admin_doc is not None:
            for p in admin_presets:
                if p.rules_source is not None:
                    sources.append(Source(p.rules_source.name, p.rules_source.text, "admin"))
            admin_dir = os.path.dirname(os.path.abspath(os.path.join(self.cwd, admin_doc.name)))
            sources.extend(self._policy_sources(admin_doc, admin_security, admin_dir, "admin", "admin"))

        diagnostics = _in_file_order(self.diags)
        loaded: LoadedConfig | None = None
        if not any(d.is_error for d in diagnostics):
            try:
                settings = with_backend(build_settings(self.values, self.applied), self.env)
            except ValueError as err:  # defensive: the schema admits only valid values
                diagnostics += (Diagnostic("error", "invalid-value", str(err)),)
            else:
                loaded = LoadedConfig(settings, tuple(sources), MappingProxyType(dict(self.origins)), diagnostics,
                                      config_path)
        return ConfigReport(loaded, diagnostics, doc, admin_doc, MappingProxyType(dict(self.written)),
                            MappingProxyType(dict(self.values)), MappingProxyType(dict(self.origins)))

    def _builtin(self) -> Source | None:
        from .builtin import builtin_source

        try:
            return builtin_source()
        except (OSError, UnicodeDecodeError) as err:
            self.error("missing-builtin", f"cannot read the built-in policy layer (policylang/data/default.policy): {err}")
            return None

    def _config_file(self, path: str | os.PathLike[str] | None) -> tuple[TomlDocument | None, str | None]:
        from_env = path is None
        if path is None:
            named = self.env.get(ENV_CONFIG, "")
            if not named:
                return None, None
            path = named
        display = os.fspath(path)
        full = os.path.abspath(os.path.join(self.cwd, display))
        doc, diags = read_toml(full, display)
        if from_env and any(d.code == "missing-file" for d in diags):
            why = diags[0].message.rsplit(": ", 1)[-1]
            self.error("missing-file", f"environment variable {ENV_CONFIG}: cannot read the config file {display}: {why}")
            return None, full
        self.diags.extend(diags)
        return doc, full

    def _security(self, doc: TomlDocument | None, schema: str) -> dict[str, Any]:
        if doc is None or doc.data is None:
            return {}
        diags = schema_diagnostics(doc, schema)
        self.diags.extend(diags)
        security = doc.data.get("security", {})
        return security if isinstance(security, dict) else {}

    def _bad_choice(self, what: str, value: str, options: Sequence[str]) -> None:
        guess = near_miss(value, options)
        msg = f"{what} is not one of {', '.join(options)}" + (f" (did you mean {guess!r}?)" if guess else "")
        self.error("invalid-value", msg)

    # -- presets
    def _presets(self, doc: TomlDocument | None, security: Mapping[str, Any],
                 preset_arg: str | Sequence[str] | None) -> list[Preset]:
        names: list[str]
        where: str
        if preset_arg is not None:
            names = [p.strip() for p in preset_arg.split(",")] if isinstance(preset_arg, str) else list(preset_arg)
            names = [n for n in names if n]
            where, located, is_list = "argument preset", None, False
        elif self.env.get(ENV_PRESET, "").strip():
            names = [p.strip() for p in self.env[ENV_PRESET].split(",") if p.strip()]
            where, located, is_list = ENV_PRESET, None, False
        else:
            raw = security.get("preset")
            if isinstance(raw, str):
                names = [raw]
            elif isinstance(raw, list) and all(isinstance(n, str) for n in raw):
                names = list(raw)
            else:
                return []  # absent, or a type error the schema reports
            where, located, is_list = "security.preset", doc, isinstance(raw, list)
        return self._resolve_presets(names, where, located, ("security", "preset"), is_list)

    def _resolve_presets(self, names: Sequence[str], where: str, doc: TomlDocument | None, key: PathKey,
                         is_list: bool) -> list[Preset]:
        """The presets to apply, in order: mode presets before posture presets, each preceded by what
        it extends.  Reports unknown names and two presets of one kind."""
        known = set(preset_names())
        chosen: dict[str, tuple[str, PathKey]] = {}  # kind -> (name, where it is written)
        ok: list[tuple[int, Preset]] = []
        for i, name in enumerate(names):
            path = key + (i,) if (doc is not None and is_list) else key
            prefix = f"{where}[{i}]" if is_list or len(names) > 1 else where
            if name not in known:
                msg, options = unknown_preset_message(name)
                self.error("unknown-preset", f"{prefix}: {msg}", doc, path,
                           expected=() if "did you mean" in msg else options)
                continue
            try:
                preset = load_preset(name)
            except PolicyError as err:
                self.diags.extend(err.diagnostics)
                continue
            if preset.kind in chosen:
                other, other_path = chosen[preset.kind]
                note = doc.diagnostic("note", "", f"{other!r} is chosen here", other_path) if doc else None
                self.error("preset-conflict",
                           f"{prefix}: {other!r} and {name!r} are both {preset.kind} presets; choose one "
                           f"(a mode preset and a posture preset combine)", doc, path, note=note)
                continue
            chosen[preset.kind] = (name, path)
            ok.append((KINDS.index(preset.kind), preset))
        ordered = [p for _, p in sorted(ok, key=lambda t: t[0])]
        try:
            return list(expand([p.name for p in ordered]))
        except PolicyError as err:
            self.diags.extend(err.diagnostics)
            return []

    def _apply_preset(self, preset: Preset) -> None:
        for key, value in preset.settings.items():
            if key in SETTING_KEYS:
                self.set(key, SETTING_KEYS[key].convert(value), f"preset:{preset.name}")
        self.applied.append(preset.name)

    # -- the config file's settings
    def _table_values(self, doc: TomlDocument, security: Mapping[str, Any], base_dir: str
                      ) -> dict[str, tuple[Any, PathKey]]:
        """Setting keys written in ``security`` with their value (Settings domain) and key path;
        values of the wrong type (reported by the schema) are left out."""
        out: dict[str, tuple[Any, PathKey]] = {}
        flat = flatten_settings({k: v for k, v in security.items() if k not in SOURCE_KEYS})
        for key, value in flat.items():
            spec = SETTING_KEYS.get(key)
            if spec is None:
                continue
            path: PathKey = ("security",) + tuple(key.split("."))
            converted: Any
            try:
                if key == "workspace":
                    if not isinstance(value, str):
                        continue
                    converted = _workspace_path(value, base_dir, self.home)
                elif key in ("audit.path", "audit.hmac_key_file"):
                    if not isinstance(value, str):
                        continue
                    relative = not value.startswith(("/", "~", "$"))
                    converted = normalise_setting_path(os.path.join(base_dir, value) if relative else value)
                elif key in ("safe_paths", "restricted_paths", "sandbox.pass_env"):  # pass_env: names, as they are
                    if not isinstance(value, tuple) or not all(isinstance(p, str) for p in value):
                        continue
                    converted = tuple(dict.fromkeys(p if "pass_env" in key else normalise_setting_path(p) for p in value))
                else:
                    converted = spec.convert(value)
            except (TypeError, ValueError, KeyError):
                continue
            out[key] = (converted, path)
        return out

    def _apply_table(self, doc: TomlDocument, security: Mapping[str, Any], base_dir: str, origin_prefix: str) -> None:
        for key, (value, path) in self._table_values(doc, security, base_dir).items():
            self.set(key, value, origin_prefix + doc.where(path), (doc, path))

    def _apply_env(self) -> None:
        for var, key in ((ENV_EXEC_STRICT, "exec_strict"), (ENV_HEADLESS, "headless")):
            raw = self.env.get(var)
            if raw is None or raw.strip() == "":
                continue
            word = raw.strip().lower()
            if word in _TRUE:
                self.set(key, True, f"env:{var}")
            elif word in _FALSE:
                self.set(key, False, f"env:{var}")
            else:
                self.error("invalid-env", f"environment variable {var}: {raw!r} is not a boolean (use 1 or 0)")
        raw_mode = self.env.get(ENV_MODE, "").strip()
        if raw_mode:
            if raw_mode in MODES:
                self.set("mode", raw_mode, f"env:{ENV_MODE}")
            else:
                self._bad_choice(f"environment variable {ENV_MODE}: {raw_mode!r}", raw_mode, MODES)

    # -- the admin file
    def _admin(self, doc: TomlDocument | None, security: Mapping[str, Any], base_dir: str
               ) -> tuple[TomlDocument | None, dict[str, Any], list[Preset]]:
        named = self.env.get(ENV_ADMIN_CONFIG, "").strip()
        if named:
            display, full = named, os.path.abspath(os.path.join(self.cwd, named))
            configured = security.get("admin_config")
            if doc is not None and isinstance(configured, str) and \
                    os.path.abspath(os.path.join(base_dir, configured)) != full:
                self.warning("admin-config-ignored",
                             f"security.admin_config: {ENV_ADMIN_CONFIG} names the admin file ({named}); "
                             f"{configured!r} is not loaded", doc, ("security", "admin_config"))
        else:
            configured = security.get("admin_config")
            if not isinstance(configured, str) or not configured:
                return None, {}, []
            display = os.path.join(os.path.dirname(doc.name), configured) if doc is not None else configured
            full = os.path.abspath(os.path.join(base_dir, configured))
        admin_doc, diags = read_toml(full, display)
        if any(d.code == "missing-file" for d in diags):
            why = diags[0].message.rsplit(": ", 1)[-1]
            if named:
                self.error("missing-file", f"environment variable {ENV_ADMIN_CONFIG}: cannot read the admin file "
                                           f"{display}: {why}")
            else:
                self.error("missing-file", f"security.admin_config: cannot read the admin file {display}: {why}",
                           doc, ("security", "admin_config"))
            return None, {}, []
        self.diags.extend(diags)
        if admin_doc.data is None:
            return admin_doc, {}, []
        admin_security = self._security(admin_doc, "config")
        if "admin_config" in admin_security:
            self.error("invalid-value", "security.admin_config: an admin file cannot name another admin file",
                       admin_doc, ("security", "admin_config"), prefer="key")

        # The admin's floor: its presets' settings, then its own keys.
        floor: dict[str, tuple[Any, str, tuple[TomlDocument, PathKey] | None]] = {}
        presets: list[Preset] = []
        raw = admin_security.get("preset")
        if isinstance(raw, (str, list)) and all(isinstance(n, str) for n in (raw if isinstance(raw, list) else [raw])):
            names = [raw] if isinstance(raw, str) else list(raw)
            presets = self._resolve_presets(names, "security.preset", admin_doc, ("security", "preset"),
                                            isinstance(raw, list))
            for p in presets:
                for key, value in p.settings.items():
                    if key in SETTING_KEYS:
                        floor[key] = (SETTING_KEYS[key].convert(value), f"admin:preset:{p.name}", None)
        admin_dir = os.path.dirname(full)
        for key, (value, path) in self._table_values(admin_doc, admin_security, admin_dir).items():
            floor[key] = (value, "admin:" + admin_doc.where(path), (admin_doc, path))

        for key, (admin_value, origin, where) in floor.items():
            spec = SETTING_KEYS[key]
            lower, lower_origin = self.values[key], self.origins[key]
            if lower_origin == "default" and not spec.always_union:
                effective = admin_value
            else:
                effective = spec.tighten(admin_value, lower)
            if effective != lower and lower_origin != "default":
                lower_where = self.written.get(key)
                noted = where is not None and lower_where is not None
                self.warning("admin-override",
                             f"{dotted(('security',) + tuple(key.split('.')))}: {_show(key, lower)}"
                             + ("" if lower_where else f" ({lower_origin})")
                             + f" would loosen the admin setting {_show(key, admin_value)}"
                             + ("" if noted else f" ({origin.removeprefix('admin:')})")
                             + "; the admin setting applies"
                             + (f": {_show(key, effective)}" if effective != admin_value else ""),
                             lower_where[0] if lower_where else admin_doc,
                             lower_where[1] if lower_where else (where[1] if where else ("security",)),
                             note=(where[0].diagnostic("note", "", "the admin setting", where[1])
                                   if where is not None and lower_where is not None else None))
            if effective != lower or lower_origin == "default":
                self.set(key, effective, origin, where)
        return admin_doc, admin_security, presets

    def _check_sandbox(self) -> None:
        if self.values["sandbox.backend"] == "container" and not self.values["sandbox.container_image"]:
            where = self.written.get("sandbox.backend")
            self.error("missing-key", "security.sandbox.container_image: required when sandbox.backend = 'container'",
                       where[0] if where else None, where[1] if where else ())

    # -- policy sources
    def _policy_sources(self, doc: TomlDocument, security: Mapping[str, Any], base_dir: str, layer: str,
                        id_prefix: str) -> list[Source | ast.PolicyFile]:
        out: list[Source | ast.PolicyFile] = []
        text = security.get("policy")
        if isinstance(text, str) and text.strip():
            out.append(embedded_source(doc, ("security", "policy"), text, layer=layer,
                                       fallback=f"<{doc.name}:security.policy>"))
        files = security.get("policy_files")
        if isinstance(files, list):
            for i, name in enumerate(files):
                if not isinstance(name, str) or not name:
                    continue
                shown = os.path.join(os.path.dirname(doc.name), name)
                src = self._read_policy(os.path.join(base_dir, os.path.expanduser(name)), shown, layer, doc,
                                        ("security", "policy_files", i))
                if src is not None:
                    out.append(src)
        rules: list[ast.Statement] = []
        for key, decision in (("allowlist_patterns", "allow"), ("denylist_patterns", "deny")):
            patterns = security.get(key)
            if not isinstance(patterns, list):
                continue
            kind = key.split("_")[0]
            for i, pattern in enumerate(patterns):
                if not isinstance(pattern, str) or not pattern:
                    continue
                path: PathKey = ("security", key, i)
                if self._check_pattern(doc, path, pattern):
                    rules.append(pattern_rule(f"{id_prefix}.{kind}.{i + 1}", decision, pattern, doc.locate(path),
                                              kind))
        if rules:
            out.append(ast.PolicyFile(doc.name, layer, tuple(rules)))
        return out

    def _check_pattern(self, doc: TomlDocument, path: PathKey, pattern: str) -> bool:
        """Whether the regex of an allow/deny pattern (without its leading ``*``) compiles on its own."""
        body, _ = split_pattern(pattern)
        if not body:
            self.error("invalid-regex", f"{dotted(path)}: {pattern!r} has no regex after the {UNANCHORED}", doc, path,
                       hint=f"a leading {UNANCHORED} only marks a pattern that may match anywhere in the command")
            return False
        problem = regex_problem(body)
        if problem is None:
            return True
        message, hint = problem
        self.error("invalid-regex", f"{dotted(path)}: RE2 rejects {shown(body)}: {message}", doc, path, hint=hint)
        return False

    def _read_policy(self, full: str, shown: str, layer: str, doc: TomlDocument | None, path: PathKey) -> Source | None:
        try:
            raw = read_bytes(full, MAX_POLICY_BYTES)  # a FIFO (an agent's mkfifo) is refused unopened
        except OSError as err:
            note_file(full, MAX_POLICY_BYTES + 1, None)
            if err.errno == errno.EFBIG:
                self.error("too-large", f"policy file {shown} is larger than {MAX_POLICY_BYTES} bytes", doc, path)
            else:
                why = str(err) if isinstance(err, InputError) else err.strerror or str(err)
                self.error("missing-file", f"{dotted(path) + ': ' if path else ''}cannot read policy file {shown}: "
                           f"{why}", doc, path)
            return None
        note_file(full, MAX_POLICY_BYTES + 1, raw)
        try:
            return Source(shown, decode_utf8(raw, shown), layer)
        except InputError as err:
            self.error("invalid-value", f"policy file {shown} is not UTF-8: {err}", doc, path)
            return None

    def _project_sources(self) -> list[Source]:
        root = self.values["workspace"] or self.cwd
        pattern = os.path.join(glob.escape(root), ".policylang", "*.policy")
        found = sorted(glob.glob(pattern))
        note_glob(pattern, found)
        out: list[Source] = []
        for full in found:
            src = self._read_policy(full, full, "project", None, ())
            if src is not None:
                out.append(src)
        kept, unapproved = approved_sources(out, root)  # a new or changed one waits for approval
        self.diags.extend(unapproved)
        return kept


def _in_file_order(diags: Sequence[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Diagnostics grouped by file (in the order files were first reported), then by position."""
    files: dict[str, int] = {}
    for d in diags:
        files.setdefault(d.span.source if d.span else "", len(files))

    def key(d: Diagnostic) -> tuple[int, int, int]:
        if d.span is None:
            return (files[""], 0, 0)
        return (files[d.span.source], d.span.line, d.span.column)

    return tuple(sorted(dict.fromkeys(diags), key=key))


def _show(key: str, value: Any) -> str:
    shown = show_value(key, value)
    if isinstance(shown, bool):
        return str(shown).lower()
    if isinstance(shown, str):
        return repr(shown)
    if isinstance(shown, (list, tuple)):
        return "[" + ", ".join(repr(v) for v in shown) + "]"
    return repr(shown)


def regex_problem(pattern: str) -> tuple[str, str | None] | None:
    """RE2's message for a pattern it rejects, with a hint for the usual cause; None when it compiles."""
    from ..regex import check

    message = check(pattern)
    if message is None:
        return None
    hint = None
    if any(tok in pattern for tok in ("(?=", "(?!", "(?<=", "(?<!")):
        hint = "RE2 has no lookahead or lookbehind: write an allow pattern and a deny pattern instead"
    elif any(f"\\{d}" in pattern for d in "123456789"):
        hint = "RE2 has no backreferences"
    return message, hint


def pattern_rule(rule_id: str, decision: str, pattern: str, span: Span, kind: str) -> ast.Rule:
    """The rule an allow/deny pattern stands for: its regex (config/patterns.py: an allow pattern is
    anchored at the start of the command) searched in each shell segment's normalised command."""
    regex = ast.Regex(pattern_regex(pattern, decision), span)
    verb = "allowed" if decision == "allow" else "denied"
    return ast.Rule(
        id=rule_id,
        decision=decision,
        target=ast.ExecTarget(argv=(), span=span, text=regex),
        risk=None,
        message=f"{verb} by {kind} pattern {shown(pattern)}",
        alternative=None,
        unless=(),
        when=None,
        span=span,
        id_span=span,
    )


# ---- presets on their own ----------------------------------------------------------------------

# Examples are decided in a fixed place, so that ``check`` gives the same answer wherever it runs.
EXAMPLE_CWD = "/home/user/project"
EXAMPLE_ENV: Mapping[str, str] = MappingProxyType({"HOME": "/home/user", "PATH": "/usr/local/bin:/usr/bin:/bin"})


def preset_inputs(preset: Preset) -> tuple[list[Source | ast.PolicyFile], Settings]:
    """The sources and settings of ``preset`` applied alone on top of the defaults (what it
    extends first): what its examples are checked against."""
    from .builtin import builtin_source

    chain = expand(list(preset.extends)) + [preset]
    values = default_values()
    for p in chain:
        for key, value in p.settings.items():
            if key in SETTING_KEYS:
                values[key] = SETTING_KEYS[key].convert(value)
    sources: list[Source | ast.PolicyFile] = [builtin_source()]
    sources.extend(p.rules_source for p in chain if p.rules_source is not None)
    return sources, build_settings(values, [p.name for p in chain])


def check_preset_examples(preset: Preset) -> list[Diagnostic]:
    """Decide every ``[[examples]]`` entry of ``preset`` (cwd ``EXAMPLE_CWD``, env ``EXAMPLE_ENV``
    unless the example gives them); an error diagnostic for each that differs, or for a preset
    whose rules do not compile."""
    from ..lang.compile import compile_policy

    sources, settings = preset_inputs(preset)
    try:
        policy = compile_policy(sources, settings)
    except PolicyError as err:
        return list(err.diagnostics)
    out: list[Diagnostic] = []
    for ex in preset.examples:
        action: Any = ex.action
        if getattr(action, "cwd", "") is None:
            action = replace(action, cwd=EXAMPLE_CWD)
        if getattr(action, "env", "") is None:
            action = replace(action, env=dict(EXAMPLE_ENV))
        verdict = policy.decide(action, ex.context)
        if verdict.decision != ex.decision:
            why = "; ".join(f"{r.rule}: {r.message}" for r in verdict.reasons[:3]) or "no reason given"
            out.append(Diagnostic("error", "example-failed",
                                  f"example {ex.text!r}: expected {ex.decision.label}, got {verdict.decision.label} "
                                  f"({why})", ex.span, ex.line_text))
    return out
