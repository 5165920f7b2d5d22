"""``policylang test`` as real processes: no tests is a failure, TOML [[examples]] run, each file
is loaded once, and JSON stays JSON when loading fails.  Scratch HOME; commands are never run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    (h / "project").mkdir(parents=True)
    return h


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env.update(HOME=str(home), POLICYLANG_NO_CACHE="1", NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "policylang", "test", *args], capture_output=True, text=True,
                          env=env, cwd=home / "project", timeout=120)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_zero_tests_fail(home: Path) -> None:
    empty = write(home / "empty.toml", "# nothing here\n")
    p = run(home, str(empty))
    assert p.returncode == 1, p.stdout
    assert "no tests" in p.stdout
    rules_only = write(home / "rules.policy", "rule a: deny exec ls -R ...\n")
    p = run(home, str(rules_only))
    assert p.returncode == 1 and "no tests" in p.stdout
    p = run(home, "--format", "json", str(rules_only))
    data = json.loads(p.stdout)
    assert p.returncode == 1 and data["ok"] is False and data["total"] == 0


def test_a_config_without_examples_has_no_tests(home: Path) -> None:
    cfg = write(home / "config.toml", "[security]\nmode = \"approve\"\n")
    p = run(home, str(cfg))
    assert p.returncode == 1 and "no tests" in p.stdout


def test_a_config_given_as_a_file_is_the_policy_tested(home: Path) -> None:
    (home / "team.policy").write_text('rule team.no-ls: deny exec ls -R ...\nexample deny "ls -R /"\n'
                                      'example allow "ls"\n', encoding="utf-8")
    cfg = write(home / "config.toml", '[security]\npolicy_files = ["team.policy"]\n')
    p = run(home, str(cfg))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed, 0 failed" in p.stdout


def test_each_file_is_loaded_once(home: Path) -> None:
    team = write(home / "team.policy", 'rule team.no-ls: deny exec ls -R ...\nexample deny "ls -R /"\n')
    cfg = write(home / "config.toml", '[security]\npolicy_files = ["team.policy"]\n')
    p = run(home, "--config", str(cfg), str(team))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "duplicate" not in p.stdout + p.stderr
    assert "1 passed, 0 failed" in p.stdout
    p = run(home, str(team), str(team))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 passed, 0 failed" in p.stdout


def test_a_preset_files_examples_run(home: Path) -> None:
    p = run(home, str(REPO / "presets" / "strict.toml"))
    assert p.returncode == 0, p.stdout + p.stderr
    passed = int(next(l for l in p.stdout.splitlines() if " passed" in l).split()[0])
    assert passed >= 5
    broken = (REPO / "presets" / "strict.toml").read_text(encoding="utf-8").replace(
        'action = "git status"\ndecision = "allow"', 'action = "git status"\ndecision = "deny"', 1)
    assert broken != (REPO / "presets" / "strict.toml").read_text(encoding="utf-8")
    bad = write(home / "strict.toml", broken)
    p = run(home, str(bad))
    assert p.returncode == 1
    assert "FAIL: example 'git status': expected deny, got allow" in p.stdout


def test_examples_tables_in_a_test_file(home: Path) -> None:
    cases = write(home / "cases.toml", '[[examples]]\naction = "git status"\ndecision = "allow"\n\n'
                                       '[[examples]]\naction = {kind = "file", op = "read", path = "~/.ssh/id_rsa"}\n'
                                       'decision = "deny"\n\n'
                                       '[[test]]\naction = "rm -rf /"\nexpect = "deny"\n\n'
                                       '[[examples]]\naction = "rm -rf /"\ndecision = "allow"\n')
    p = run(home, str(cases))
    assert p.returncode == 1
    assert "3 passed, 1 failed" in p.stdout
    assert f"{cases}:13: FAIL: expected allow, got deny" in p.stdout


def test_json_when_loading_fails(home: Path) -> None:
    bad = write(home / "bad.policy", "rule a: dney exec ls\n")
    p = run(home, "--format", "json", str(bad))
    assert p.returncode == 5
    data = json.loads(p.stdout)
    assert data["error"]["kind"] == "policy" and data["error"]["line"] == 1


def test_a_failing_test_names_the_ceiling_that_blocked_it(home: Path) -> None:
    pol = write(home / "p.policy", "rule curl.get: allow exec curl ... risk low\n")
    cases = write(home / "cases.tsv", "command\texpected\ncurl https://example.com\tallow\n")
    p = run(home, str(pol), str(cases))
    assert p.returncode == 1
    assert "rule curl.get" in p.stdout and "allows at most risk low" in p.stdout


def test_an_examples_context_is_used(home: Path) -> None:
    cases = write(home / "cases.toml", '[[examples]]\naction = "curl https://example.com"\ndecision = "ask"\n\n'
                                       '[[examples]]\naction = "curl https://example.com"\ndecision = "deny"\n'
                                       'context = {interactive = false}\n')
    p = run(home, str(cases))
    assert p.returncode == 0, p.stdout
    assert "2 passed, 0 failed" in p.stdout
