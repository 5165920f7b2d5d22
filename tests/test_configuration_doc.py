"""docs/configuration.md against the code (issue 12 item 3): every key of the config schema has a
section with its real default, every environment variable the package reads is named, every
``toml`` block loads without an error, and the worked team config works as one."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest

from policylang.adapters.cli_config import _toml_value
from policylang.config.loader import SETTING_KEYS, default_values, load_config_report, show_value
from policylang.lang.compile import compile_policy

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "configuration.md").read_text("utf-8")
SCHEMA = json.loads((ROOT / "schemas" / "config.schema.json").read_text("utf-8"))
HOME = "/home/user"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    return SCHEMA["$defs"][ref.rsplit("/", 1)[-1]] if isinstance(ref, str) else node


def schema_keys(node: dict[str, Any] | None = None, prefix: str = "security") -> Iterator[tuple[str, bool]]:
    """(dotted key, whether it is a table) for every key under [security]."""
    node = _resolve(node if node is not None else SCHEMA["properties"]["security"])
    for name, child in node["properties"].items():
        key, child = f"{prefix}.{name}", _resolve(child)
        if child.get("type") == "object":
            yield key, True
            yield from schema_keys(child, key)
        else:
            yield key, False


KEYS = list(schema_keys())


def test_the_schema_walk_finds_every_setting() -> None:
    leaves = {k.removeprefix("security.") for k, table in KEYS if not table}
    assert set(SETTING_KEYS) <= leaves
    assert leaves - set(SETTING_KEYS) == {"preset", "allowlist_patterns", "denylist_patterns", "policy",
                                          "policy_files", "admin_config"}


def section(key: str) -> str:
    """The text of the ``### `key``` section, up to the next heading."""
    m = re.search(rf"^### `{re.escape(key)}`\n(.*?)(?=^#)", DOC + "\n#", re.S | re.M)
    assert m, f"docs/configuration.md has no section '### `{key}`'"
    return m.group(1)


def toml_literal(value: Any) -> str:
    """A default as the page writes it: `TOML`, as ``policy show`` prints it, or none."""
    return "none" if value is None else f"`{_toml_value(value)}`"


DEFAULTS = {f"security.{k}": show_value(k, v) for k, v in default_values().items()}


@pytest.mark.parametrize("key", [k for k, table in KEYS if not table])
def test_every_key_has_a_section_with_type_default_and_example(key: str) -> None:
    text = section(key)
    m = re.search(r" — Default: (`[^`]*`|none)", text)
    assert m, f"{key}: no 'TYPE — Default: ...' line"
    assert m.group(1) == toml_literal(DEFAULTS.get(key)), key
    assert "```toml\n" in text, f"{key}: no example"
    leaf = key.rsplit(".", 1)[-1]
    assert re.search(rf"^{re.escape(leaf)} = |[{{,] {re.escape(leaf)} = ", text, re.M), f"{key}: the example does not set it"


@pytest.mark.parametrize("table", [k for k, table in KEYS if table])
def test_every_table_is_named(table: str) -> None:
    assert f"`[{table}]`" in DOC


def test_every_environment_variable_the_package_reads_is_named() -> None:
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "policylang").rglob("*.py"))
    names = set(re.findall(r"\bPOLICYLANG_[A-Z][A-Z_]*\b", source)) | {"XDG_CONFIG_HOME", "XDG_CACHE_HOME", "HOME",
                                                                      "TMPDIR"}
    missing = sorted(n for n in names if f"`{n}`" not in DOC)
    assert not missing


def toml_blocks() -> list[tuple[int, str]]:
    return [(DOC.count("\n", 0, m.start()) + 2, m.group(1)) for m in re.finditer(r"```toml\n(.*?)```", DOC, re.S)]


@pytest.mark.parametrize("line,text", toml_blocks(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_every_toml_block_loads_without_an_error(tmp_path: Path, line: int, text: str) -> None:
    # the files a block names are made, empty: the block is judged, not the files
    security = tomllib.loads(text).get("security", {})
    for name in security.get("policy_files", []):
        (tmp_path / name).write_text("", "utf-8")
    admin = security.get("admin_config")
    if admin:
        text = text.replace(json.dumps(admin), json.dumps(str(tmp_path / "admin.toml")))
        (tmp_path / "admin.toml").write_text("", "utf-8")
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    report = load_config_report(path, env={"HOME": HOME}, cwd=str(tmp_path))
    assert [d.render() for d in report.errors] == [], f"docs/configuration.md:{line}"
    assert report.config is not None
    compile_policy(report.config.sources, report.config.settings)


def test_the_worked_team_config_loads_checks_and_decides(tmp_path: Path) -> None:
    from policylang.actions import Command
    from policylang.config.lint import lint_config

    part = DOC[DOC.index("## 10. A worked team config"):DOC.index("## 11.")]
    (config, _), (team, _), (admin, _) = [(m.group(2), m.group(1))
                                          for m in re.finditer(r"```(toml|policy)\n(.*?)```", part, re.S)][:3]
    repo = tmp_path / "app"
    (repo / ".git").mkdir(parents=True)
    (repo / ".policylang").mkdir()
    (repo / ".policylang" / "config.toml").write_text(config, "utf-8")
    (repo / ".policylang" / "team.policy").write_text(team, "utf-8")
    (tmp_path / "admin.toml").write_text(admin, "utf-8")
    assert lint_config(repo / ".policylang" / "config.toml") == []
    (tmp_path / "bin").mkdir()  # no sandbox backend on PATH: the sandbox verdict is checked below
    report = load_config_report(repo / ".policylang" / "config.toml", cwd=str(repo),
                                env={"HOME": HOME, "POLICYLANG_ADMIN_CONFIG": str(tmp_path / "admin.toml"),
                                     "PATH": str(tmp_path / "bin")})
    assert report.errors == () and report.config is not None
    assert report.config.settings.workspace == str(repo)
    policy = compile_policy(report.config.sources, report.config.settings)
    assert policy.check_examples(("user", "project", "admin")) == []
    decided = {c: policy.decide(Command(c, cwd=str(repo / "web"), env={"HOME": HOME})).decision.label
               for c in ("make check && make test", "./scripts/x.sh npm test", "npm test | tee test.log", "sudo ls",
                         "terraform apply", "kubectl apply -f k8s/", "git log | head")}
    assert decided == {"make check && make test": "allow", "./scripts/x.sh npm test": "deny",
                       "npm test | tee test.log": "ask", "sudo ls": "deny", "terraform apply": "deny",
                       "kubectl apply -f k8s/": "deny", "git log | head": "allow"}
    # with bubblewrap installed (an executable on PATH is all the load looks for), sandbox mode
    # turns the medium-risk ask into a sandbox; the high-risk ask of team.push stays an ask
    (tmp_path / "bin" / "bwrap").write_text("#!/bin/false\n")
    (tmp_path / "bin" / "bwrap").chmod(0o755)
    report = load_config_report(repo / ".policylang" / "config.toml", cwd=str(repo),
                                env={"HOME": HOME, "POLICYLANG_ADMIN_CONFIG": str(tmp_path / "admin.toml"),
                                     "PATH": str(tmp_path / "bin")})
    assert report.config is not None and report.config.settings.sandbox_available
    policy = compile_policy(report.config.sources, report.config.settings)
    assert policy.check_examples(("user", "project", "admin")) == []
    assert [policy.decide(Command(c, cwd=str(repo / "web"), env={"HOME": HOME})).decision.label
            for c in ("npm test | tee test.log", "git push origin main")] == ["sandbox", "ask"]
