"""A code action carries the same effects as the command that runs the same code: a database
statement that loses data is a ``discard`` effect naming what is lost (not a path made of the
statement's text), as it is for ``psql -c``."""
from __future__ import annotations

import shlex

import pytest

import policylang
from policylang.actions import Code, Command

CWD = "/home/u/proj"


@pytest.fixture(scope="module")
def policy() -> policylang.Policy:
    return policylang.load(preset="execute")


@pytest.mark.parametrize("language,client,statement,lost", [
    ("postgresql", "psql -c", "DROP TABLE users;", "DROP TABLE users"),
    ("mysql", "mysql -e", "TRUNCATE TABLE orders;", "TRUNCATE TABLE orders"),
    ("postgresql", "psql -c", "DELETE FROM events;", "DELETE FROM events"),
])
def test_discard_from_a_code_action_names_what_is_lost(policy: policylang.Policy, language: str, client: str,
                                                       statement: str, lost: str) -> None:
    ex = policy.explain(Code(language, statement, cwd=CWD))
    discards = [j.effect for j in ex.judged if j.effect.kind == "discard"]
    assert discards and all(e.path is None and lost in (e.text or "") for e in discards), discards
    assert ex.verdict.decision.label == "deny"
    via_command = policy.decide(Command(f"{client} {shlex.quote(statement)}", cwd=CWD))
    assert {r.effect for r in via_command.reasons} == {r.effect for r in ex.verdict.reasons}


def test_a_read_only_statement_has_no_discard(policy: policylang.Policy) -> None:
    ex = policy.explain(Code("postgresql", "SELECT count(*) FROM users;", cwd=CWD))
    assert not [j for j in ex.judged if j.effect.kind == "discard"]
    assert ex.verdict.decision.label == "allow"
