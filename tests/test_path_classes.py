"""Where a write or delete lands decides its risk: workspace, safe paths, restricted paths, symlinks."""
import os

import pytest

from policylang import Command, Decision, FileOp, Settings, from_text


@pytest.fixture()
def ws(tmp_path):
    w = tmp_path / "home" / "proj"
    w.mkdir(parents=True)
    (w / "src").mkdir()
    return w


def policy(**settings):
    return from_text("", Settings(mode="execute", **settings))


def decide(p, action):
    return p.decide(action)


@pytest.mark.parametrize("op, path, expected", [
    ("write", "src/a.py", "allow"),                 # inside the workspace: medium, execute allows
    ("write", "../proj/src/a.py", "allow"),         # .. folded, still inside
    ("write", "../../outside.txt", "deny"),         # .. leaves the workspace
    ("write", "/etc/hosts", "deny"),                # restricted
    ("delete", "/usr/bin/python3", "deny"),
    ("write", "/tmp/scratch", "allow"),             # default safe path
    ("write", "/var/tmp/x", "allow"),
    ("write", "/opt/thing", "ask"),                 # neither workspace nor safe: a person may have named it
    ("delete", "/opt", "deny"),                     # a mount point itself
    ("write", "/usr/local/bin/tool", "deny"),       # the operating system's tree
    ("delete", "/var/log/syslog", "deny"),
    ("delete", "/home/other/notes.txt", "deny"),    # another user's home
    ("delete", "~/notes.txt", "ask"),               # one's own home, outside the workspace
    ("write", "/srv/www/index.html", "deny"),
    ("write", "/dev/null", "allow"),
    ("write", "/dev/sda", "deny"),
])
def test_file_ops(op, path, expected):
    p = policy()
    v = decide(p, FileOp(op, path, cwd="/home/u/proj", env={"HOME": "/home/u"}))
    assert v.decision.label == expected, v.reasons


def test_symlink_into_a_restricted_directory_is_judged_as_its_target(ws):
    link = ws / "conf"
    os.symlink("/etc", link)
    p = policy()
    v = decide(p, FileOp("write", "conf/hosts", cwd=str(ws), env={"HOME": str(ws.parent)}))
    assert v.decision is Decision.DENY
    assert "symlink" in v.reasons[0].message
    v = decide(p, Command("echo 1 > conf/hosts", cwd=str(ws), env={"HOME": str(ws.parent)}))
    assert v.decision is Decision.DENY


def test_a_symlink_above_a_directory_that_does_not_exist_yet_is_still_followed(ws):
    """conf -> /etc: conf/new/dir/x lands under /etc although conf/new does not exist yet."""
    os.symlink("/etc", ws / "conf")
    p = policy()
    v = decide(p, FileOp("write", "conf/new/dir/x", cwd=str(ws), env={"HOME": str(ws.parent)}))
    assert v.decision is Decision.DENY and "symlink" in v.reasons[0].message


def test_safe_and_restricted_paths_from_settings(ws):
    home = str(ws.parent)
    p = policy(safe_paths=("/srv/cache",), restricted_paths=("/etc", str(ws / "secrets")))
    env = {"HOME": home}
    assert decide(p, FileOp("write", "/srv/cache/x", cwd=str(ws), env=env)).decision is Decision.ALLOW
    assert decide(p, FileOp("write", "/tmp/x", cwd=str(ws), env=env)).decision is Decision.ASK  # no longer safe
    assert decide(p, FileOp("write", "secrets/k", cwd=str(ws), env=env)).decision is Decision.DENY  # restricted wins
    assert decide(p, FileOp("write", "src/k", cwd=str(ws), env=env)).decision is Decision.ALLOW


@pytest.mark.parametrize("command, expected, risk", [
    ("rm -rf /", "deny", "critical"),
    ("rm -rf ~", "deny", "critical"),
    ("rm -rf /usr", "deny", "critical"),       # holds restricted directories
    ("rm -rf /etc", "deny", "critical"),
    ("rm /etc/motd", "deny", "high"),
    ("rm -rf .", "deny", "high"),              # the whole workspace
    ("rm -rf *", "deny", "high"),
    ("rm -rf build", "allow", "medium"),
    ("rm -rf /tmp/x", "allow", "medium"),      # rm itself is medium; the path is safe
    ("chmod -R 777 /", "deny", "critical"),
    ("dd if=/dev/zero of=/dev/sda", "deny", "critical"),
])
def test_command_paths(command, expected, risk):
    p = policy()
    v = decide(p, Command(command, cwd="/home/u/proj", env={"HOME": "/home/u"}))
    assert (v.decision.label, v.risk.label) == (expected, risk), v.reasons
