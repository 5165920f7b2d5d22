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


@dataclass(frozen=True, slots=True)
class Settings:
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
