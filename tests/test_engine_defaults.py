"""The mode x risk table of DESIGN §3 for effects no rule decides, postures, overrides, headless."""
import itertools

import pytest

from policylang import Context, Settings, from_text
from policylang.effects import Effect
from policylang.verdict import Decision, Risk

A, S, Q, D = Decision.ALLOW, Decision.SANDBOX, Decision.ASK, Decision.DENY
L, M, H, C = Risk.LOW, Risk.MEDIUM, Risk.HIGH, Risk.CRITICAL

# (mode, risk, block_high_risk, require_approval_for_medium) -> decision
TABLE = {
    ("explain_only", L, True, True): Q, ("explain_only", M, True, True): Q,
    ("explain_only", H, True, True): D, ("explain_only", C, True, True): D,
    ("explain_only", H, False, True): Q, ("explain_only", C, False, True): Q,
    ("approve", L, True, True): A, ("approve", M, True, True): Q, ("approve", M, True, False): A,
    ("approve", H, True, True): D, ("approve", C, True, True): D,
    ("approve", H, False, True): Q, ("approve", C, False, True): Q,
    ("execute", L, True, True): A, ("execute", M, True, True): A, ("execute", M, True, False): A,
    ("execute", H, True, True): D, ("execute", C, True, True): D,
    ("execute", H, False, True): Q, ("execute", C, False, True): Q,
}


@pytest.fixture(scope="module")
def base():
    return from_text("", Settings(), builtin=False)


@pytest.mark.parametrize("key, expected", sorted(TABLE.items(), key=str))
def test_mode_by_risk(base, key, expected):
    mode, risk, block, medium = key
    p = base.with_settings(mode=mode, block_high_risk=block, require_approval_for_medium=medium)
    effect = Effect("exec", program="x", argv=("x",), risk=risk, known=True)
    assert p.judge.default_decision(effect, risk, "", Context())[0] is expected


@pytest.mark.parametrize("mode, posture, expected", [
    ("approve", "strict", D), ("approve", "balanced", Q), ("approve", "relaxed", A),
    ("execute", "strict", D), ("execute", "balanced", Q), ("execute", "relaxed", A),
    ("explain_only", "relaxed", Q), ("explain_only", "strict", D),
])
def test_unknown_command_by_posture(base, mode, posture, expected):
    p = base.with_settings(mode=mode, posture=posture)
    effect = Effect("exec", program="frobnicate", argv=("frobnicate",), risk=Risk.UNKNOWN, known=False)
    assert p.judge.default_decision(effect, Risk.UNKNOWN, "", Context())[0] is expected


@pytest.mark.parametrize("posture, expected", [("strict", D), ("balanced", Q), ("relaxed", Q)])
def test_opaque_is_never_allowed(base, posture, expected):
    for mode in ("approve", "execute"):
        p = base.with_settings(mode=mode, posture=posture)
        effect = Effect("exec", program=None, opaque=True, known=False)
        assert p.judge.default_decision(effect, Risk.UNKNOWN, "", Context())[0] is expected


def test_unknown_risk_is_never_treated_as_low(base):
    for mode, posture in itertools.product(("approve", "execute"), ("strict", "balanced")):
        p = base.with_settings(mode=mode, posture=posture)
        effect = Effect("tool", program="some_tool", risk=Risk.UNKNOWN)
        assert p.judge.default_decision(effect, Risk.UNKNOWN, "", Context())[0] >= Q


@pytest.mark.parametrize("risk, override, role, expected", [
    (H, True, "admin", Q), (C, True, "admin", D), (H, True, "user", D), (H, False, "admin", D),
])
def test_admin_override(base, risk, override, role, expected):
    p = base.with_settings(allow_admin_override=override)
    effect = Effect("exec", program="x", argv=("x",), risk=risk)
    assert p.judge.default_decision(effect, risk, "", Context(role=role))[0] is expected


def test_headless_turns_ask_into_deny(base):
    v = base.decide("curl https://example.com", Context(interactive=False))
    assert v.decision is D
    assert any(r.rule == "default:headless" for r in v.reasons)
    assert base.with_settings(headless=True).decide("curl https://example.com").decision is D
    assert base.decide("curl https://example.com").decision is Q


def test_sandbox_mode_turns_medium_ask_into_sandbox(base):
    p = base.with_settings(sandbox_mode=True, sandbox_available=True)
    assert p.decide("curl https://example.com").decision is S
    # without a backend there is nothing to run it in
    assert base.with_settings(sandbox_mode=True).decide("curl https://example.com").decision is Q
    # high risk is never sandboxed instead of denied
    assert p.decide("rm -rf /").decision is D


def test_sandbox_mode_leaves_an_ask_rule_an_ask():
    """Only the default table's ask is run isolated: a rule that asks wants a person to look."""
    rules = from_text('rule team.curl: ask exec curl ... risk medium message "a person looks"\n')
    p = rules.with_settings(sandbox_mode=True, sandbox_available=True)
    v = p.decide("curl https://example.com")
    assert (v.decision, v.reasons[0].rule) == (Q, "team.curl")
    assert p.decide("wget https://example.com").decision is S  # no rule: the default's ask, isolated
