"""Misspelt names in a CEL ``when`` condition are caught at check time, with a did-you-mean."""
from __future__ import annotations

import pytest

from policylang.engine.matcher import MatchContext
from policylang.engine.pathsets import Roots
from policylang.effects import Effect
from policylang.lang.cel_names import FIELDS, VARIABLES, name_problems
from policylang.lang.cel_translate import VARIABLES as TRANSLATED
from policylang.lang.compile import cel_activation
from policylang.lang.parse import parse_policy
from policylang.lang.validate import validate
from policylang.source import Source


@pytest.mark.parametrize("expr, problems", [
    ('action.cwd == "/tmp"', []),
    ('action.cwd.startsWith(env.WORKSPACE) && context.interactive', []),
    ('effect.argv.exists(a, a == "-rf")', []),
    ('effect.argv.all(w, w.startsWith("-")) && effect.argv.map(x, x + "1").size() > 0', []),
    ('env.WHATEVER_IT_IS == "1"', []),
    ('size(effect.argv) > 2 && effect.recursive', []),
    ('acton.cwd == "/tmp"', [("unknown variable `acton` in the condition", "did you mean `action`?")]),
    ('context.rol == "admin"', [("`context` has no field `rol`", "did you mean `context.role`?")]),
    ('effect.pth.startsWith("/etc")', [("`effect` has no field `pth`", "did you mean `effect.path`?")]),
    ('ctx.role == "admin"', [("unknown variable `ctx` in the condition", None)]),
    ('effect.argv.exists(a, b == "x")', [("unknown variable `b` in the condition", None)]),
    ('this is not cel', []),  # a syntax error is reported by the compiler check, not here
])
def test_name_problems(expr: str, problems: list[tuple[str, str | None]]) -> None:
    got = name_problems(expr)
    assert [p.message for p in got] == [m for m, _ in problems]
    for p, (_, hint) in zip(got, problems):
        if hint:
            assert p.hint.startswith(hint)


def test_the_tables_match_what_a_condition_sees() -> None:
    assert set(VARIABLES) == set(TRANSLATED)
    roots = Roots(home="/h", workspace="/w", cwd="/w", tmpdir="/tmp")
    ctx = MatchContext(roots, "/w", {}, "/h", (), None, None)
    act = cel_activation(Effect("exec", program="ls", argv=("ls",)), ctx)
    assert set(act) == set(VARIABLES)
    for name, fields in FIELDS.items():
        assert set(act[name]) == set(fields), name


def test_validate_points_at_the_name() -> None:
    text = "rule a: ask exec touch ... when cel 'acton.cwd == \"/tmp\"'\n"
    src = Source("p.policy", text, layer="user")
    tree, diags = parse_policy(src)
    assert not diags
    out = validate([tree], {src.name: src})
    assert len(out) == 1
    d = out[0]
    assert (d.code, d.span.line, d.span.column, d.span.end - d.span.start) == ("unknown-name", 1, 38, 5)
    assert d.is_error and d.hint.startswith("did you mean `action`?")
