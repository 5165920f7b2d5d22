"""Clause words in an exec argv: a misspelt clause is an error, a clause keyword a warning, and the
ordinary words of a command are neither (lang/clause_words.py)."""
from __future__ import annotations

import pytest

from policylang.lang.parse import parse_policy
from policylang.lang.validate import validate
from policylang.source import Source


def findings(text: str) -> list[tuple[str, str, int, int]]:
    src = Source("p.policy", text, layer="user")
    tree, diags = parse_policy(src)
    assert not diags, diags
    return [(d.severity, d.code, d.span.line, d.span.column) for d in validate([tree], {src.name: src})
            if d.code in ("unknown-keyword", "clause-keyword-in-argv")]


E, W = "error", "warning"
UK, KW = "unknown-keyword", "clause-keyword-in-argv"


@pytest.mark.parametrize("text, expected", [
    # misspelt clauses where a clause is plainly meant
    ('rule a: deny exec git push ...\n    mesage "x"\n', [(E, UK, 2, 5)]),
    ('rule a: deny exec git push ...\n    rsk high\n', [(E, UK, 2, 5)]),
    ('rule a: deny exec git push ...\n    unles exec git push --dry-run\n', [(E, UK, 2, 5)]),
    ('rule a: deny exec git push ...\n    wen cel "true"\n', [(E, UK, 2, 5)]),
    ('rule a: deny exec git push ...\n    altt "git fetch"\n', [(E, UK, 2, 5)]),
    ('rule a: deny exec git push ... mesage "x"\n', [(E, UK, 1, 32)]),
    ('rule a: deny exec rm -rf / Risk high\n', [(E, UK, 1, 28)]),
    ('rule a: deny exec rm -rf / risk: high\n', [(E, UK, 1, 28)]),
    ('rule a: deny exec rm -rf / Message "x"\n', [(E, UK, 1, 28)]),
    # clause keywords as argv words: warnings
    ('rule a: ask exec npm Unless\n', [(W, KW, 1, 22)]),
    ('rule a: ask exec npm run when=\n', [(W, KW, 1, 26)]),
    ('rule a: ask exec foo ...\n    "message" "text"\n', [(W, KW, 2, 5)]),
    ('rule a: ask exec foo "risk" high\n', [(W, KW, 1, 22)]),
    # ordinary commands: nothing
    ('rule a: ask exec git commit -m "message"\n', []),
    ('rule a: ask exec git commit -m message2 ...\n', []),
    ('rule a: ask exec alt ...\n', []),  # the program's name
    ('rule a: ask exec ls --all ...\n', []),
    ('rule a: ask exec make all ...\n', []),
    ('rule a: ask exec git push ...\n    origin main\n', []),
    ('rule a: ask exec tar ...\n    -xf ?\n', []),
    ('rule a: ask exec curl ... risk high message "x" alt "y" unless exec curl --head ... when cel "true"\n', []),
    ('rule a: ask exec foo whence ...\n', []),
    ('rule a: ask exec foo risky\n', []),
])
def test_clause_words(text: str, expected: list[tuple[str, str, int, int]]) -> None:
    assert findings(text) == expected


def test_the_rule_with_an_error_is_not_compiled() -> None:
    import policylang

    with pytest.raises(policylang.PolicyError) as err:
        policylang.from_text('rule a: deny exec git push ...\n    mesage "x"\n')
    assert "unknown clause `mesage`" in str(err.value)
