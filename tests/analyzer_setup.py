"""Shared set-up of the security analyzer tests: a scratch HOME and workspace, a config with a few
project rules, and the actions the tables use (written as data, never run)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from policylang.actions import Command, ToolCall

PROJECT_RULES = """
rule proj.pip: allow exec pip install ...
rule proj.make: sandbox exec make ...
rule proj.push: allow exec git push ... risk high
rule proj.tool: allow tool search
"""


def write_config(root: Path, *, confirmation_mode: bool = True, risk_threshold: str = "medium", mode: str = "approve",
                 extra: str = "", admin: str | None = None) -> Path:
    """A config.toml under ``root`` (and an admin file beside it when ``admin`` is given)."""
    lines = ["[security]", f"confirmation_mode = {'true' if confirmation_mode else 'false'}",
             f'risk_threshold = "{risk_threshold}"', f'mode = "{mode}"', f'policy = """{PROJECT_RULES}"""']
    if admin is not None:
        (root / "admin.toml").write_text(admin)
        lines.append('admin_config = "admin.toml"')
    lines.append(extra)
    path = root / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def scratch(root: Path) -> tuple[str, dict[str, str]]:
    """A workspace directory and the environment the actions carry (a scratch HOME)."""
    home = root / "home"
    workspace = home / "project"
    workspace.mkdir(parents=True, exist_ok=True)
    return str(workspace), {"HOME": str(home), "PATH": "/usr/bin:/bin"}


def actions(workspace: str, env: dict[str, str]) -> dict[str, Any]:
    """The actions of the tables by name."""
    return {
        "ls": Command("ls -la", cwd=workspace, env=env),  # allow, low
        "pip": Command("pip install requests", cwd=workspace, env=env),  # allow (proj.pip), medium
        "push": Command("git push --force origin main", cwd=workspace, env=env),  # allow (proj.push), high
        "make": Command("make all", cwd=workspace, env=env),  # sandbox (proj.make), medium
        "redirect": Command("echo hi > out.txt", cwd=workspace, env=env),  # ask, medium
        "tool": ToolCall("search", {"q": "weather"}),  # allow (proj.tool), unknown
        "unknown": Command("frobnicate --x", cwd=workspace, env=env),  # ask, unknown
        "rmroot": Command("rm -rf /", cwd=workspace, env=env),  # deny, critical
        "bogus": {"action": "teleport", "where": "mars"},  # not an action: deny
        "run-dict": {"action": "run", "command": "ls -la", "cwd": workspace},  # the framework's own form
    }

