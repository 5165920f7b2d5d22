"""Settings is written out by hand (cold start): it must behave as the frozen dataclass it replaced."""
from __future__ import annotations

import copy
import pickle
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang import frozen
from policylang.settings import (CASE_INSENSITIVE_DEFAULT, DEFAULT_RESTRICTED, DEFAULT_SAFE, AuditSettings,
                                 SandboxLimits, SandboxSettings, ServerSettings, Settings)
from policylang.verdict import Risk


@dataclass(frozen=True, slots=True)
class Reference:
    """The dataclass Settings was before it was written out (same fields, defaults and options)."""

    mode: str = "approve"
    posture: str = "balanced"
    block_high_risk: bool = True
    require_approval_for_medium: bool = True
    allow_admin_override: bool = False
    sandbox_mode: bool = False
    sandbox_available: bool = False
    exec_strict: bool = False
    headless: bool = False
    workspace: str | None = None
    safe_paths: tuple[str, ...] = DEFAULT_SAFE
    restricted_paths: tuple[str, ...] = DEFAULT_RESTRICTED
    risk_threshold: Risk = Risk.MEDIUM
    cache_size: int = 4096
    confirmation_mode: bool = True
    security_analyzer: str = "policylang"
    presets: tuple[str, ...] = ()
    project_policies: bool = False
    sandbox: SandboxSettings = SandboxSettings()
    audit: AuditSettings = AuditSettings()
    server: ServerSettings = ServerSettings()
    case_insensitive_paths: bool = CASE_INSENSITIVE_DEFAULT
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


CHANGES = st.fixed_dictionaries({}, optional={
    "mode": st.sampled_from(["explain_only", "approve", "execute"]),
    "posture": st.sampled_from(["strict", "balanced", "relaxed"]),
    "headless": st.booleans(), "exec_strict": st.booleans(), "workspace": st.none() | st.text(max_size=5),
    "safe_paths": st.lists(st.text(max_size=4), max_size=2).map(tuple), "cache_size": st.integers(0, 9),
    "risk_threshold": st.sampled_from(list(Risk)), "presets": st.lists(st.text(max_size=3), max_size=2).map(tuple),
    "sandbox": st.builds(SandboxSettings, st.sampled_from(["auto", "bwrap"]), st.none() | st.just("img"),
                         st.builds(SandboxLimits, cpu_seconds=st.none() | st.integers(1, 3))),
    "audit": st.builds(AuditSettings, enabled=st.booleans()),
    "server": st.builds(ServerSettings, port=st.integers(1, 3)),
    "extra": st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
})


def test_defaults_are_the_dataclass_defaults() -> None:
    assert repr(Settings()) == repr(Reference()).replace("Reference(", "Settings(", 1)


@settings(max_examples=200, deadline=None)
@given(CHANGES, CHANGES)
def test_equality_hash_and_repr_are_the_dataclass_ones(a: dict[str, Any], b: dict[str, Any]) -> None:
    s, t = Settings(**a), Settings(**b)
    r, q = Reference(**a), Reference(**b)
    assert (s == t) == (r == q)
    assert (hash(s) == hash(t)) or s != t
    assert repr(s) == repr(r).replace("Reference(", "Settings(", 1)
    assert frozen.replace(s, **b) == Settings(**{**a, **b})
    assert s.with_(**b) == Settings(**{**a, **b})
    assert pickle.loads(pickle.dumps(s)) == s and copy.deepcopy(s) == s
    assert repr(pickle.loads(pickle.dumps(s))) == repr(s)


def test_extra_takes_no_part_in_equality_and_is_not_shared() -> None:
    assert Settings(extra={"a": 1}) == Settings() and hash(Settings(extra={"a": 1})) == hash(Settings())
    assert Settings().extra == {} and Settings().extra is not Settings().extra


@pytest.mark.parametrize("changes", [{"mode": "fast"}, {"posture": "loose"}])
def test_bad_mode_or_posture_is_refused_also_by_replace(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        Settings(**changes)
    with pytest.raises(ValueError):
        Settings().with_(**changes)


def test_assignment_and_unknown_fields_raise() -> None:
    s = Settings()
    with pytest.raises(FrozenInstanceError):
        s.mode = "execute"
    with pytest.raises(FrozenInstanceError):
        del s.mode
    with pytest.raises(AttributeError):
        s.other = 1
    with pytest.raises(TypeError):
        s.with_(other=1)
    with pytest.raises(AttributeError):
        s.sandbox.backend = "bwrap"  # type: ignore[misc]
    assert s.sandbox == SandboxSettings() and s.sandbox.limits == SandboxLimits()
