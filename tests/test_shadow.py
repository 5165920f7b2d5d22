"""Shadowed rules: a rule a stronger rule always covers is reported as a warning by check."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policylang import from_text
from policylang.lang import shadow
from policylang.lang.shadow import shadowed_rules


@pytest.mark.parametrize("text, shadowed", [
    ("rule a: deny exec git ...\nrule b: allow exec git status", ["b"]),
    ("rule a: deny exec git push ...\nrule b: ask exec git push --force ...", ["b"]),
    ("rule a: deny exec {git, hg} ...\nrule b: allow exec git log ...", ["b"]),
    ('rule a: deny write in ["/etc/**"]\nrule b: ask write in ["/etc/hosts"]', ["b"]),
    ('rule a: deny write in ["/**"]\nrule b: allow write in ["~/x"]', ["b"]),
    # not shadowed: weaker or different scope, or the stronger rule has an exception or a condition
    ("rule a: allow exec git ...\nrule b: deny exec git push", []),
    ("rule a: deny exec git push ...\nrule b: allow exec git status", []),
    ("rule a: deny exec git ... unless exec git status\nrule b: allow exec git status", []),
    ("rule a: deny exec git push --force ...\nrule b: ask exec git push ...", []),
    ('rule a: deny write in ["/etc/**", "!/etc/hosts"]\nrule b: ask write in ["/etc/hosts"]', []),
    ('rule a: deny write recursive in ["/etc/**"]\nrule b: ask write in ["/etc/x"]', []),
])
def test_shadowed(text, shadowed):
    policy = from_text(text, builtin=False)
    found = shadowed_rules(policy)
    assert [d.message.split("'")[1] for d in found] == shadowed
    for d in found:
        assert d.severity == "warning" and d.span is not None and d.span.line == 2


# ---- the index finds what the pairwise scan finds, in linear work -----------------------------

_DECISIONS = ["allow", "ask", "sandbox", "deny"]
_TARGETS = [
    "exec git ...", "exec git status", "exec git push ...", "exec git push --force ...", "exec {git, hg} ...",
    "exec hg log", "exec ...", "exec git * ...", "exec git", "exec git {status, log}", "exec git log ...",
    "exec rm ... -r ...", "exec rm -rf /", 'exec matching re"^git"',
    'write in ["/etc/**"]', 'write in ["/etc/hosts"]', 'write in ["/**"]', 'write in ["~/x"]',
    'write in ["~/**"]', 'write in ["/etc/**", "!/etc/hosts"]', 'write recursive in ["/etc/**"]',
    'delete in ["/etc/**"]', 'write in ["/etc/a/b/**"]', 'write in ["/etc/a/**", "/srv/**"]',
    'write in ["/srv/x", "/etc/a/c"]', 'write in ["**/.env"]', 'read in ["/etc/*.conf"]',
    'write in ["$WORKSPACE/**"]', 'write in ["$WORKSPACE/src/x"]',
]


def _pairwise(policy):
    """The reference: every rule against every other, in policy order."""
    found = []
    for b in policy.rules:
        for a in policy.rules:
            if a is b or a.decision <= b.decision or a.unless or a.when is not None:
                continue
            if shadow.covers(a, b):
                found.append((b.id, a.id))
                break
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(_DECISIONS), st.sampled_from(_TARGETS)), min_size=1, max_size=14))
def test_index_finds_what_the_pairwise_scan_finds(rules):
    text = "\n".join(f"rule r{i}: {d} {t}" for i, (d, t) in enumerate(rules))
    policy = from_text(text, builtin=False)
    got = [(d.message.split("'")[1], d.message.split("'")[3]) for d in shadowed_rules(policy)]
    assert got == _pairwise(policy)


def test_shadow_analysis_is_linear_in_the_number_of_rules(monkeypatch):
    """2,000 rules of one program and 2,000 paths under one directory: the exact test runs a bounded
    number of times per rule, not once per pair (the pairwise scan made about 8 million calls)."""
    lines = []
    for i in range(2000):
        lines.append(f"rule e{i}: {_DECISIONS[i % 4]} exec git sub{i} ... --f{i % 5} ...")
        lines.append(f'rule p{i}: {_DECISIONS[i % 4]} write in ["/srv/data/d{i}/**"]')
    lines.append("rule top: deny exec git sub5 ...")
    policy = from_text("\n".join(lines), builtin=False)
    calls = 0
    real = shadow.covers

    def counting(a, b):
        nonlocal calls
        calls += 1
        return real(a, b)

    monkeypatch.setattr(shadow, "covers", counting)
    found = shadowed_rules(policy)
    assert [d.message.split("'")[1] for d in found] == ["e5"]  # ask, and top denies all it matches
    assert calls <= 4 * len(policy.rules)
