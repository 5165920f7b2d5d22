"""The CLI, as real processes: decide, batch mode with garbage, explain, check, test."""
import json
import os
import subprocess
import sys

import pytest

HOME = "/home/user"
ENV = dict(os.environ, HOME=HOME, NO_COLOR="1")
ENV.pop("POLICYLANG_CONFIG", None)


def run(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "policylang", *args], input=stdin, capture_output=True,
                          text=True, env=ENV, timeout=120)


@pytest.mark.parametrize("command, code, decision", [
    ("git status", 0, "allow"),
    ("rm -rf ~", 1, "deny"),
    ("curl https://example.com", 3, "ask"),
])
def test_decide_default_policy(command, code, decision):
    p = run("decide", "--cwd", HOME + "/project", "--json", command)
    assert p.returncode == code, p.stderr
    assert json.loads(p.stdout)["decision"] == decision


def test_decide_text_output_names_rule_and_location():
    p = run("decide", "--cwd", HOME + "/project", "cat ~/.ssh/id_rsa")
    assert p.returncode == 1
    assert p.stdout.startswith("deny (risk high): cat ~/.ssh/id_rsa")
    assert "builtin.secrets.read: reads a credential file" in p.stdout
    assert "<builtin>/default.policy:" in p.stdout


def test_batch_keeps_going_through_garbage():
    good = ['"git status"', '{"kind":"file","op":"read","path":"~/.ssh/id_rsa"}',
            '{"kind":"fetch","url":"https://example.com"}', '{"kind":"code","language":"python","source":"print(1)"}',
            '{"kind":"tool","name":"x","args":{}}', '{"kind":"message","text":"hi"}',
            '{"kind":"command","command":"rm -rf /","cwd":"/"}']
    bad = ["{not json", "42", '{"kind":"file","op":"nuke","path":"/"}', '{"kind":"warp"}', "", "\x00\x01\x02",
           '"' + "a" * 100 + '"', '[1,2]', '{"kind":"command","command":["ls", 3]}']
    lines = good + bad
    p = run("decide", "--cwd", HOME + "/project", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr
    out = [json.loads(l) for l in p.stdout.splitlines()]
    assert len(out) == len(lines)
    assert [o["decision"] for o in out[:7]] == ["allow", "deny", "ask", "allow", "ask", "allow", "deny"]
    for o, line in zip(out[7:], bad[:4] + bad[4:5] + bad[5:6]):
        assert o["decision"] in ("deny", "ask"), (line, o)
    assert out[7]["reasons"][0]["rule"] == "error:input"
    assert "invalid JSON" in out[7]["reasons"][0]["message"]
    assert "nuke" in out[9]["reasons"][0]["message"]
    for o in out:
        assert {"decision", "risk", "reasons"} <= set(o)


def test_batch_of_ten_thousand_lines():
    lines = []
    for i in range(10000):
        lines.append(['"git status"', '"rm -rf /tmp/x%d"' % i, "garbage %d" % i, '{"kind":"file","op":"write","path":"/etc/x"}'][i % 4])
    p = run("decide", "--preset", "execute", "--cwd", HOME + "/project", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert p.returncode == 0, p.stderr[-2000:]
    out = p.stdout.splitlines()
    assert len(out) == 10000
    got = [json.loads(l)["decision"] for l in out[:8]]
    assert got == ["allow", "allow", "deny", "deny"] * 2


def test_usage_errors_exit_2():
    assert run("decide").returncode == 2
    assert run("decide", "--mode", "yolo", "ls").returncode == 2
    assert run("decide", "--config", "/nonexistent/config.toml", "ls").returncode == 2
    assert run("frobnicate").returncode == 2


def test_explain_shows_segments_effects_and_winner():
    p = run("explain", "--cwd", HOME + "/project", "sudo rm -rf / ; echo done")
    assert p.returncode == 1, p.stderr  # explain exits with the verdict's code: deny
    assert "segments (" in p.stdout
    assert "delete(/" in p.stdout
    assert "verdict: deny" in p.stdout


def test_check_reports_errors_with_location(tmp_path):
    bad = tmp_path / "bad.policy"
    bad.write_text('rule a: dney exec ls\nrule b: deny read in SECRTS\nlet SECRETS = ["~/.aws/**"]\n')
    p = run("check", str(bad))
    assert p.returncode == 5
    assert f"{bad}:1:9" in p.stdout
    assert "SECRETS" in p.stdout  # the near-miss hint
    good = tmp_path / "good.policy"
    good.write_text('rule a: deny exec ls -R ...\nexample deny "ls -R /"\nexample allow "ls"\n')
    p = run("check", str(good))
    assert p.returncode == 0, p.stdout
    p = run("check", "--format", "json", str(bad))
    data = json.loads(p.stdout)
    assert data["ok"] is False and data["diagnostics"][0]["line"] == 1


def test_check_runs_examples(tmp_path):
    f = tmp_path / "ex.policy"
    f.write_text('rule a: allow exec ls ...\nexample deny "ls"\n')
    p = run("check", str(f))
    assert p.returncode == 5
    assert "example expected deny but the policy decides allow" in p.stdout
    assert f"{f}:2:1" in p.stdout


def test_test_command_with_tables(tmp_path):
    pol = tmp_path / "p.policy"
    pol.write_text('rule no-ls: deny exec ls -R ...\n')
    table = tmp_path / "cases.tsv"
    table.write_text("command\texpected\nls -R /\tdeny\nls\tallow\nls -R x\tallow\n")
    p = run("test", "--cwd", HOME + "/project", str(pol), str(table))
    assert p.returncode == 1
    assert f"{table}:4: FAIL: expected allow, got deny" in p.stdout
    assert "2 passed, 1 failed" in p.stdout
