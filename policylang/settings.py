"""Engine settings: the mode, the posture and the path classes (DESIGN §3, issue 4 fills them from TOML)."""
from __future__ import annotations

import sys
from typing import Any

from .frozen import record, replace
from .verdict import Decision, Risk

MODES = ("explain_only", "approve", "execute")
POSTURES = ("strict", "balanced", "relaxed")

DEFAULT_RESTRICTED = ("/etc", "/boot", "/sys", "/proc", "/usr/bin", "/usr/sbin", "/bin", "/sbin", "~/.ssh", "~/.gnupg")
DEFAULT_SAFE = ("/tmp", "/var/tmp", "$TMPDIR")
# The operating system's trees and other users' homes: a write or delete there, outside the home,
# the workspace and the safe paths, is high risk and denied; anywhere else outside the workspace it
# is asked (docs/language.md, "Judgment").  The mount points themselves are in MOUNT_POINTS: what is
# mounted below them may be the user's.
SYSTEM_TREES = ("/usr", "/var", "/lib", "/lib32", "/lib64", "/libx32", "/srv", "/root", "/home", "/Users",
                "/snap", "/nix", "/System", "/Library", "/Applications")
MOUNT_POINTS = ("/opt", "/mnt", "/media")
# Paths are matched without regard to case where the platform's default file systems ignore case
# (APFS and HFS+ on macOS, NTFS on Windows): there ~/.ssh/ID_RSA is ~/.ssh/id_rsa.
CASE_INSENSITIVE_DEFAULT = sys.platform in ("darwin", "win32", "cygwin")

# What an unknown command and opaque shell get, by posture (DESIGN §3).
POSTURE_DEFAULTS: dict[str, tuple[Decision, Decision]] = {
    "strict": (Decision.DENY, Decision.DENY),
    "balanced": (Decision.ASK, Decision.ASK),
    "relaxed": (Decision.ALLOW, Decision.ASK),
}


SANDBOX_BACKENDS = ("auto", "bwrap", "firejail", "unshare", "container")
SERVER_AUTH = ("token", "none")


@record
class SandboxLimits:
    """Resource limits for a sandboxed run; None means the backend's own default."""

    cpu_seconds: int | None = 300
    memory_mb: int | None = 2048
    max_processes: int | None = 512
    max_file_size_mb: int | None = 1024
    max_open_files: int | None = 1024
    timeout_seconds: int | None = 600
    network: bool = False  # whether the sandboxed process may use the network


@record
class SandboxSettings:
    """How a ``sandbox`` decision is carried out (``[security.sandbox]``; ``enabled`` is Settings.sandbox_mode)."""

    backend: str = "auto"  # auto | bwrap | firejail | unshare | container
    container_image: str | None = None
    limits: SandboxLimits = SandboxLimits()
    # environment variables let into the sandbox although their name or value says credential
    pass_env: tuple[str, ...] = ()


@record
class AuditSettings:
    """The audit log (``[security.audit]``): JSONL with a hash chain, optionally keyed with HMAC
    (docs/audit.md)."""

    enabled: bool = True
    path: str = "~/.policylang/audit/audit.jsonl"  # the active file; rotated files sit beside it
    hmac_key_env: str | None = None  # name of the environment variable holding the HMAC key
    hmac_key_file: str | None = None  # a file holding the HMAC key, outside the audit directory
    rotate_bytes: int = 10 * 1024 * 1024  # 0: never rotate by size
    rotate_seconds: int = 0  # rotate a file this old (by its first record); 0: never rotate by time
    keep: int = 5  # rotated files kept
    fsync: str = "always"  # always | rotate | never (AUDIT_FSYNC)
    on_failure: str = "warn"  # warn | deny: what a decision becomes when its record cannot be written


AUDIT_FSYNC = ("always", "rotate", "never")
AUDIT_ON_FAILURE = ("warn", "deny")


@record
class ServerSettings:
    """The decision server (``[security.server]``)."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = 8787
    auth: str = "token"  # token | none
    token_env: str = "POLICYLANG_TOKEN"  # environment variable holding the bearer token
    admin_token_env: str | None = None  # a second token whose holder has the admin role
    rate_limit: int = 600  # requests per minute and client; 0: unlimited
    metrics: bool = True


_FIELDS = (
    "mode", "posture", "block_high_risk", "require_approval_for_medium", "allow_admin_override", "sandbox_mode",
    "sandbox_available", "exec_strict", "headless", "workspace", "safe_paths", "restricted_paths", "risk_threshold",
    "cache_size", "confirmation_mode", "security_analyzer", "presets", "project_policies", "sandbox", "audit",
    "server", "case_insensitive_paths", "extra",
)
_COMPARED = _FIELDS[:-1]  # ``extra`` takes no part in equality and hashing
_set = object.__setattr__
_SANDBOX, _AUDIT, _SERVER = SandboxSettings(), AuditSettings(), ServerSettings()  # the defaults (immutable)


class Settings:
    """Everything the engine needs besides the rules: the mode, the posture, the path classes, the
    cache size, and the sandbox, audit and server sub-settings (the `[security]` table).

    Immutable, with a frozen dataclass's equality and hashing (without ``extra``), ``repr`` and
    pickling; change it with ``with_`` or ``frozen.replace`` (it is not a dataclass, so
    ``dataclasses.replace`` and ``fields`` do not apply).  Written out because a dataclass of this
    size costs milliseconds to generate at every process start.
    """

    __slots__ = _FIELDS
    __record_fields__ = _FIELDS  # frozen.replace: a changed copy is Settings(*values) in this order

    mode: str
    posture: str
    block_high_risk: bool
    require_approval_for_medium: bool
    allow_admin_override: bool
    sandbox_mode: bool
    sandbox_available: bool
    exec_strict: bool
    headless: bool
    workspace: str | None  # None: the action's cwd
    safe_paths: tuple[str, ...]
    restricted_paths: tuple[str, ...]
    risk_threshold: Risk  # in confirmation mode, an action at or above this risk waits for a person
    cache_size: int
    confirmation_mode: bool  # an analyzer asks a person for actions at or above risk_threshold
    security_analyzer: str
    presets: tuple[str, ...]  # the presets applied, in order (informational)
    project_policies: bool  # load .policylang/*.policy from the workspace
    sandbox: SandboxSettings
    audit: AuditSettings
    server: ServerSettings
    case_insensitive_paths: bool  # path rules and path classes match without regard to case
    extra: dict[str, Any]

    def __init__(self, mode: str = "approve", posture: str = "balanced", block_high_risk: bool = True,
                 require_approval_for_medium: bool = True, allow_admin_override: bool = False,
                 sandbox_mode: bool = False, sandbox_available: bool = False, exec_strict: bool = False,
                 headless: bool = False, workspace: str | None = None, safe_paths: tuple[str, ...] = DEFAULT_SAFE,
                 restricted_paths: tuple[str, ...] = DEFAULT_RESTRICTED, risk_threshold: Risk = Risk.MEDIUM,
                 cache_size: int = 4096, confirmation_mode: bool = True, security_analyzer: str = "policylang",
                 presets: tuple[str, ...] = (), project_policies: bool = False,
                 sandbox: SandboxSettings = _SANDBOX, audit: AuditSettings = _AUDIT,
                 server: ServerSettings = _SERVER, case_insensitive_paths: bool = CASE_INSENSITIVE_DEFAULT,
                 extra: dict[str, Any] | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if posture not in POSTURES:
            raise ValueError(f"posture must be one of {', '.join(POSTURES)}, not {posture!r}")
        values = (mode, posture, block_high_risk, require_approval_for_medium, allow_admin_override, sandbox_mode,
                  sandbox_available, exec_strict, headless, workspace, safe_paths, restricted_paths, risk_threshold,
                  cache_size, confirmation_mode, security_analyzer, presets, project_policies, sandbox, audit,
                  server, case_insensitive_paths, {} if extra is None else extra)
        for name, value in zip(_FIELDS, values):
            _set(self, name, value)

    def _compared(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _COMPARED)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._compared() == other._compared()

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        return "Settings(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in _FIELDS) + ")"

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError  # only on the error path: dataclasses costs ~10 ms

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Settings, tuple(getattr(self, name) for name in _FIELDS))

    def with_(self, **changes: Any) -> "Settings":
        """A copy with some settings changed (validated like a new one)."""
        return replace(self, **changes)

    @property
    def unknown_decision(self) -> Decision:
        return POSTURE_DEFAULTS[self.posture][0]

    @property
    def opaque_decision(self) -> Decision:
        return POSTURE_DEFAULTS[self.posture][1]
