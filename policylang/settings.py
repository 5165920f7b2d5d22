"""Engine settings: the mode, the posture and the path classes (DESIGN §3, issue 4 fills them from TOML)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from .verdict import Decision, Risk

MODES = ("explain_only", "approve", "execute")
POSTURES = ("strict", "balanced", "relaxed")

DEFAULT_RESTRICTED = ("/etc", "/boot", "/sys", "/proc", "/usr/bin", "/usr/sbin", "/bin", "/sbin", "~/.ssh", "~/.gnupg")
DEFAULT_SAFE = ("/tmp", "/var/tmp", "$TMPDIR")

# What an unknown command and opaque shell get, by posture (DESIGN §3).
POSTURE_DEFAULTS: dict[str, tuple[Decision, Decision]] = {
    "strict": (Decision.DENY, Decision.DENY),
    "balanced": (Decision.ASK, Decision.ASK),
    "relaxed": (Decision.ALLOW, Decision.ASK),
}


SANDBOX_BACKENDS = ("auto", "bwrap", "firejail", "unshare", "container")
SERVER_AUTH = ("token", "none")


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Resource limits for a sandboxed run; None means the backend's own default."""

    cpu_seconds: int | None = 300
    memory_mb: int | None = 2048
    max_processes: int | None = 512
    max_file_size_mb: int | None = 1024
    timeout_seconds: int | None = 600
    network: bool = False  # whether the sandboxed process may use the network


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """How a ``sandbox`` decision is carried out (``[security.sandbox]``; ``enabled`` is Settings.sandbox_mode)."""

    backend: str = "auto"  # auto | bwrap | firejail | unshare | container
    container_image: str | None = None
    limits: SandboxLimits = SandboxLimits()


@dataclass(frozen=True, slots=True)
class AuditSettings:
    """The audit log (``[security.audit]``): JSONL with a hash chain, optionally keyed with HMAC."""

    enabled: bool = True
    path: str = "~/.local/state/policylang/audit.jsonl"
    hmac_key_env: str | None = None  # name of the environment variable holding the HMAC key
    rotate_bytes: int = 10 * 1024 * 1024  # 0: never rotate
    keep: int = 5  # rotated files kept


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the engine needs besides the rules: the mode, the posture, the path classes, the
    cache size, and the sandbox, audit and server sub-settings (the `[security]` table)."""

    mode: str = "approve"
    posture: str = "balanced"
    block_high_risk: bool = True
    require_approval_for_medium: bool = True
    allow_admin_override: bool = False
    sandbox_mode: bool = False
    sandbox_available: bool = False
    exec_strict: bool = False
    headless: bool = False
    workspace: str | None = None  # None: the action's cwd
    safe_paths: tuple[str, ...] = DEFAULT_SAFE
    restricted_paths: tuple[str, ...] = DEFAULT_RESTRICTED
    risk_threshold: Risk = Risk.LOW  # acceptable risk that an analyzer auto-confirms
    cache_size: int = 4096
    confirmation_mode: bool = True  # an analyzer asks a person for actions above risk_threshold
    security_analyzer: str = "policylang"
    presets: tuple[str, ...] = ()  # the presets applied, in order (informational)
    project_policies: bool = False  # load .policylang/*.policy from the workspace
    sandbox: SandboxSettings = SandboxSettings()
    audit: AuditSettings = AuditSettings()
    server: ServerSettings = ServerSettings()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.posture not in POSTURES:
            raise ValueError(f"posture must be one of {', '.join(POSTURES)}, not {self.posture!r}")

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @property
    def unknown_decision(self) -> Decision:
        return POSTURE_DEFAULTS[self.posture][0]

    @property
    def opaque_decision(self) -> Decision:
        return POSTURE_DEFAULTS[self.posture][1]
