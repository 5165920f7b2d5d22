"""CEL conditions under a cost budget: refused when compiled if nested comprehensions make them too
costly, stopped at run time when an evaluation exceeds its budget, and a stopped condition never
loosens a decision."""
from __future__ import annotations

import time

import celpy
import pytest

from policylang import Command, from_text
from policylang.lang import cel_cost
from policylang.lang.cel import CELError, compile_condition, in_subset
from policylang.lang.cel_cost import describe, estimate, price

ONE = "effect.argv.exists(a, a == 'x')"
TWO = "effect.argv.exists(a, effect.argv.exists(b, a == b + 'x'))"
THREE = "effect.argv.exists(a, effect.argv.exists(b, effect.argv.exists(c, a + b + c == 'x')))"


def _poly(expr: str) -> tuple[int, ...]:
    return estimate(celpy.Environment().compile(expr))


@pytest.mark.parametrize("expr, degree", [
    ("true", 0),
    ("action.cwd.startsWith(env.WORKSPACE) && context.interactive", 0),
    (ONE, 1),
    (TWO, 2),
    (THREE, 3),
    ("effect.argv.map(a, a + 'x').filter(b, b == 'yx').size() == 1", 1),  # one after the other: S + S
    ("['a', 'b', 'c'].all(x, effect.argv.exists(a, a == x))", 1),  # a literal multiplies by its length
    ("['a', 'b'].all(x, ['c', 'd'].all(y, x + y != 'q'))", 0),
    ("env.exists(k, k == 'CI')", 1),  # a map is ranged over like a list
])
def test_degree_of_the_estimate_is_the_nesting_over_unknown_sizes(expr, degree):
    assert len(_poly(expr)) - 1 == degree


def test_a_literal_multiplies_the_body_by_its_length():
    body = _poly("effect.argv.exists(a, a == x)")
    three = _poly("['a', 'b', 'c'].all(x, effect.argv.exists(a, a == x))")
    assert three[1] == 3 * body[1]  # the S term: three times one comprehension's body


def test_price_and_describe():
    assert price((14, 25, 25, 43), 64) == 14 + 25 * 64 + 25 * 64**2 + 43 * 64**3 == 11_376_206
    assert describe((14, 25, 25, 43)) == "43·S³ + 25·S² + 25·S + 14"
    assert describe((3, 1)) == "S + 3"


@pytest.mark.parametrize("expr, refused", [(ONE, False), (TWO, False), (THREE, True)])
def test_compile_refuses_a_condition_too_costly(expr, refused):
    if refused:
        with pytest.raises(CELError, match="too costly"):
            compile_condition(expr)
    else:
        compile_condition(expr)


def _activation(n: int) -> dict:
    return {"action": {"kind": "command", "text": "", "cwd": "/"},
            "effect": {"kind": "exec", "program": "t", "argv": [f"w{i}" for i in range(n)], "path": "",
                       "host": "", "recursive": False},
            "env": {}, "context": {}}


def test_closures_stop_at_the_budget():
    condition = compile_condition(TWO)
    assert condition(_activation(50)) is False  # 2,500 steps: within the budget
    start = time.perf_counter()
    with pytest.raises(CELError, match="cost budget"):
        condition(_activation(5000))  # 25 million steps before; stopped at the budget
    assert time.perf_counter() - start < 5


def test_the_budget_is_per_evaluation():
    condition = compile_condition(TWO)
    for _ in range(200):  # 200 x 2,500 steps: more than one budget in all, each evaluation within its own
        assert condition(_activation(50)) is False


def test_interpreted_conditions_are_priced_before_they_run():
    # duration() is outside the compiled subset: cel-python's interpreter evaluates this one
    expr = "effect.argv.all(a, effect.argv.all(b, duration('1s') < duration('2s')))"
    assert not in_subset(expr)
    condition = compile_condition(expr)
    assert condition(_activation(20)) is True  # priced at about 400 x the body: within the budget
    assert price(_poly(expr), 3000) > cel_cost.RUN_BUDGET
    start = time.perf_counter()
    with pytest.raises(CELError, match="cost budget"):
        condition(_activation(3000))  # 9 million bodies in cel-python: refused before it starts
    assert time.perf_counter() - start < 1


def test_a_stopped_condition_does_not_loosen_the_decision():
    """A deny rule whose condition fails still denies; an allow rule whose condition fails does not allow."""
    two = "effect.argv.exists(a, effect.argv.exists(b, a == b + 'zz'))"
    policy = from_text(
        f'rule d: deny exec tool1 ... when cel "{two}"\n'
        "rule a: allow exec tool2 ... when cel \"effect.argv.all(a, effect.argv.all(b, a != 'zz'))\"\n",
        builtin=False)
    small = " ".join(f"w{i}" for i in range(20))
    big = " ".join(f"w{i}" for i in range(3000))

    def rules(text: str) -> tuple[str, list[str]]:
        v = policy.decide(Command(text, cwd="/tmp"))
        return v.decision.label, sorted({r.rule for r in v.reasons})

    assert "d" not in rules(f"tool1 {small}")[1]  # evaluated: false, the deny rule does not apply
    assert rules(f"tool2 {small}") == ("allow", ["a"])  # evaluated: true, the allow rule applies
    start = time.perf_counter()
    assert rules(f"tool1 {big}") == ("deny", ["d"])  # stopped: the deny rule applies
    assert "a" not in rules(f"tool2 {big}")[1]  # stopped: the allow rule does not apply
    assert time.perf_counter() - start < 10
