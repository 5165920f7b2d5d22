"""The built wheel works on its own: presets, schemas and the built-in policy ship inside it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the sources: a build/ directory left in the checkout by an earlier build
    # would put files into the wheel that the sources no longer have.
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(
        ".git", "build", "dist", "*.egg-info", "__pycache__", ".venv", ".ci-venv", ".*_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp / "dist"), str(src)],
                   check=True, timeout=600)
    wheels = list((tmp / "dist").glob("policylang-*.whl"))
    assert len(wheels) == 1
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheels[0])], check=True, timeout=900)
    return venv, tmp


def run(venv, *args, cwd):
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env["HOME"] = "/home/user"
    return subprocess.run([str(venv / "bin" / "policylang"), *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=300)


def test_check_runs_from_the_wheel(installed):
    venv, tmp = installed
    p = run(venv, "check", cwd=tmp)  # the built-in default policy and its examples
    assert p.returncode == 0, p.stdout + p.stderr
    for preset in ("explain_only", "approve", "execute", "strict", "relaxed"):
        p = run(venv, "decide", "--preset", preset, "--json", "git status", cwd=tmp)
        assert json.loads(p.stdout)["decision"] in ("allow", "ask"), p.stderr


def test_config_schema_and_presets_from_the_wheel(installed):
    venv, tmp = installed
    cfg = tmp / "config.toml"
    cfg.write_text('[security]\npreset = ["approve", "strict"]\nmode = "aprove"\n')
    p = run(venv, "check", str(cfg), cwd=tmp)
    assert p.returncode == 5  # a config error
    assert "did you mean 'approve'" in p.stdout
    p = run(venv, "presets", cwd=tmp)
    assert p.returncode == 0 and all(n in p.stdout for n in ("explain_only", "execute", "strict", "relaxed"))


def test_the_installed_package_does_not_read_the_source_tree(installed):
    venv, tmp = installed
    code = "import policylang, pathlib; print(pathlib.Path(policylang.__file__).resolve())"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp,
                         timeout=120).stdout.strip()
    assert str(ROOT) not in out and "site-packages" in out


def test_the_audit_log_from_the_wheel(installed):
    venv, tmp = installed
    home = tmp / "audit-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env["HOME"] = str(home)
    for command in ("git status", "rm -rf /"):
        subprocess.run([str(venv / "bin" / "policylang"), "decide", command], capture_output=True, text=True,
                       cwd=tmp, env=env, timeout=300)
    p = subprocess.run([str(venv / "bin" / "policylang"), "audit", "verify"], capture_output=True, text=True,
                       cwd=tmp, env=env, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.startswith("valid: 3 record(s)")


def test_the_analyzer_data_from_the_wheel(installed):
    venv, tmp = installed
    home = tmp / "analyzer-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env["HOME"] = str(home)
    code = ("from policylang.adapters.events import to_action; "
            "print(to_action({'action': 'run_ipython', 'code': 'print(1)'}))")
    p = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp,
                       env=env, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "Code(language='python', source='print(1)', cwd=None, env=None)"


def test_the_popular_package_lists_from_the_wheel(installed):
    """The supply-chain check's lists ship inside the wheel: a typosquat is denied from it, with the reason."""
    venv, tmp = installed
    p = run(venv, "decide", "--preset", "execute", "--json", "pip install reqeusts", cwd=tmp)
    out = json.loads(p.stdout)
    assert out["decision"] == "deny" and "imitates requests" in json.dumps(out), p.stdout + p.stderr


def test_the_agent_hooks_from_the_wheel(installed):
    """The hook tables ship in the wheel: each agent answers a call from the installed package."""
    venv, tmp = installed
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYLANG_")}
    env["HOME"] = str(tmp)
    calls = {
        "claude": ({"hook_event_name": "PreToolUse", "tool_name": "Bash", "tool_input": {"command": "rm -rf /"},
                    "cwd": str(tmp)}, lambda out: out["hookSpecificOutput"]["permissionDecision"]),
        "gemini": ({"hook_event_name": "BeforeTool", "tool_name": "run_shell_command",
                    "tool_input": {"command": "rm -rf /"}, "cwd": str(tmp)}, lambda out: out["decision"]),
        "cursor": ({"hook_event_name": "beforeShellExecution", "command": "rm -rf /", "cwd": str(tmp)},
                   lambda out: out["permission"]),
    }
    for agent, (payload, decision) in calls.items():
        p = subprocess.run([str(venv / "bin" / "policylang"), "hook", agent], input=json.dumps(payload), check=False,
                           capture_output=True, text=True, cwd=tmp, env=env, timeout=300)
        assert p.returncode == 0, p.stderr
        assert decision(json.loads(p.stdout)) == "deny"
