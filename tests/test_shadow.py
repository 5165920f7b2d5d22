"""Shadowed rules: a rule a stronger rule always covers is reported as a warning by check."""
import pytest

from policylang import from_text
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
