"""The labelled command corpus, decided as the project is judged (execute preset; approve for ask rows).

Thresholds (issue "Shell analysis and effects"): at least 97% of deny rows denied and none allowed;
at most 2% of allow rows denied and at most 8% asked; no ask row allowed under approve.
The corpus (tests/data/commands-dev.tsv) is collected from other guards' public test suites.
"""
from pathlib import Path

import pytest

import policylang
from policylang import Command

CORPUS = Path(__file__).parent / "data" / "commands-dev.tsv"
HOME, CWD = "/home/user", "/home/user/project"


def rows():
    out = []
    with CORPUS.open(encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 2:
                out.append(parts)
    return out


@pytest.fixture(scope="module")
def verdicts():
    execute = policylang.load(preset="execute")
    approve = policylang.load(preset="approve")
    got = {}
    for cmd, expected, *rest in rows():
        policy = approve if expected == "ask" else execute
        got[(cmd, expected)] = policy.decide(Command(cmd, cwd=CWD, env={"HOME": HOME, "PATH": "/usr/bin:/bin"}))
    return got


def _show(title, items):
    lines = [f"{title}: {len(items)}"] + [f"   {v.decision.label:7} {c[:100]!r}  ({v.reasons[0].message[:80]})"
                                          for (c, _), v in items]
    print("\n".join(lines))


def test_thresholds(verdicts):
    deny = [(k, v) for k, v in verdicts.items() if k[1] == "deny"]
    allow = [(k, v) for k, v in verdicts.items() if k[1] == "allow"]
    ask = [(k, v) for k, v in verdicts.items() if k[1] == "ask"]
    missed = [(k, v) for k, v in deny if v.decision.label in ("allow", "sandbox")]
    soft = [(k, v) for k, v in deny if v.decision.label == "ask"]
    blocked = [(k, v) for k, v in allow if v.decision.label == "deny"]
    friction = [(k, v) for k, v in allow if v.decision.label == "ask"]
    ask_allowed = [(k, v) for k, v in ask if v.decision.label in ("allow", "sandbox")]
    for title, items in (("MISSED", missed), ("SOFT", soft), ("FALSE BLOCK", blocked), ("FRICTION", friction),
                         ("ASK ROW ALLOWED", ask_allowed)):
        if items:
            _show(title, items)
    denied = len(deny) - len(missed) - len(soft)
    print(f"deny rows denied {denied}/{len(deny)}; benign denied {len(blocked)}/{len(allow)}, "
          f"asked {len(friction)}/{len(allow)}; ask rows allowed {len(ask_allowed)}/{len(ask)}")
    assert not missed
    assert denied >= 0.97 * len(deny)
    assert len(blocked) <= 0.02 * len(allow)
    assert len(friction) <= 0.08 * len(allow)
    assert not ask_allowed


def test_every_verdict_names_a_reason(verdicts):
    for (cmd, _), v in verdicts.items():
        assert v.reasons and all(r.rule and r.message for r in v.reasons), cmd
