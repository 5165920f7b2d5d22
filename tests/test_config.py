"""load_config: every key from a real file, the environment, presets, layers and the admin file."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from policylang.lang import nodes as ast
from policylang.config.builtin import builtin_source
from policylang.config.loader import (SETTING_KEYS, LoadedConfig, default_values, load_config, load_config_report,
                               normalise_setting_path)
from policylang.diagnostics import PolicyError
from policylang.settings import CASE_INSENSITIVE_DEFAULT, DEFAULT_RESTRICTED, Settings
from policylang.source import Source
from policylang.verdict import Risk

HOME = "/home/user"
ENV = {"HOME": HOME}


def write(directory: Path, text: str, name: str = "config.toml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def load(directory: Path, text: str | None, *, env: dict[str, str] | None = None, **kw: Any) -> LoadedConfig:
    if text is not None:
        write(directory, text)
    return load_config("config.toml" if text is not None else None, env=env if env is not None else dict(ENV),
                       cwd=str(directory), **kw)


def errors_of(directory: Path, text: str, **kw: Any) -> list[str]:
    write(directory, text)
    with pytest.raises(PolicyError) as exc:
        load_config("config.toml", env=dict(ENV), cwd=str(directory), **kw)
    return [f"{d.location()}: {d.code}: {d.message}" for d in exc.value.errors]


def attr(settings: Settings, path: str) -> Any:
    obj: Any = settings
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


# ---- the safe default ---------------------------------------------------------------------------

def test_no_config_no_preset_no_mode_is_the_safe_default(tmp_path: Path) -> None:
    loaded = load(tmp_path, None)
    assert loaded.settings == Settings()
    assert loaded.settings.mode == "approve" and loaded.settings.posture == "balanced"
    assert loaded.sources == (builtin_source(),)
    assert loaded.sources[0].layer == "builtin"
    assert set(loaded.origins.values()) == {"default"}
    assert loaded.diagnostics == () and loaded.config_path is None


def test_an_empty_config_is_the_safe_default(tmp_path: Path) -> None:
    loaded = load(tmp_path, "# nothing yet\n")
    assert loaded.settings == Settings()
    assert loaded.config_path == str(tmp_path / "config.toml")


# ---- every key, from a real file ----------------------------------------------------------------
# (TOML written under [security], the setting key, the expected value in Settings)

KEY_CASES: list[tuple[str, str, Any]] = [
    ("confirmation_mode = false", "confirmation_mode", False),
    ('security_analyzer = "llm"', "security_analyzer", "llm"),
    ('mode = "execute"', "mode", "execute"),
    ('posture = "strict"', "posture", "strict"),
    ("block_high_risk = false", "block_high_risk", False),
    ("require_approval_for_medium = false", "require_approval_for_medium", False),
    ("allow_admin_override = true", "allow_admin_override", True),
    ("exec_strict = true", "exec_strict", True),
    ("headless = true", "headless", True),
    ('workspace = "/srv/project/"', "workspace", "/srv/project"),
    ('safe_paths = ["/scratch/", "/tmp/../var/tmp", "$TMPDIR"]', "safe_paths", ("/scratch", "/var/tmp", "$TMPDIR")),
    ('restricted_paths = ["/etc", "~/.ssh/", "/data//secret"]', "restricted_paths", ("/etc", "~/.ssh", "/data/secret")),
    ("project_policies = true", "project_policies", True),
    ('risk_threshold = "high"', "risk_threshold", Risk.HIGH),
    ("cache_size = 0", "cache_size", 0),
    ("sandbox.enabled = true", "sandbox.enabled", True),
    ('sandbox.backend = "firejail"', "sandbox.backend", "firejail"),
    ('sandbox.container_image = "alpine:3.20"', "sandbox.container_image", "alpine:3.20"),
    ('sandbox.pass_env = ["NPM_TOKEN", "CI_TOKEN"]', "sandbox.pass_env", ("NPM_TOKEN", "CI_TOKEN")),
    ("sandbox.limits.cpu_seconds = 30", "sandbox.limits.cpu_seconds", 30),
    ("sandbox.limits.memory_mb = 512", "sandbox.limits.memory_mb", 512),
    ("sandbox.limits.max_processes = 64", "sandbox.limits.max_processes", 64),
    ("sandbox.limits.max_file_size_mb = 10", "sandbox.limits.max_file_size_mb", 10),
    ("sandbox.limits.max_open_files = 64", "sandbox.limits.max_open_files", 64),
    ("sandbox.limits.timeout_seconds = 20", "sandbox.limits.timeout_seconds", 20),
    ("sandbox.limits.network = true", "sandbox.limits.network", True),
    ("audit.enabled = false", "audit.enabled", False),
    ('audit.path = "/var/log/agent/audit.jsonl"', "audit.path", "/var/log/agent/audit.jsonl"),
    ('audit.hmac_key_env = "AUDIT_KEY"', "audit.hmac_key_env", "AUDIT_KEY"),
    ('audit.hmac_key_file = "/etc/policylang/audit.key"', "audit.hmac_key_file", "/etc/policylang/audit.key"),
    ("audit.rotate_bytes = 0", "audit.rotate_bytes", 0),
    ("audit.rotate_seconds = 86400", "audit.rotate_seconds", 86400),
    ("audit.keep = 12", "audit.keep", 12),
    ('audit.fsync = "never"', "audit.fsync", "never"),
    ('audit.on_failure = "deny"', "audit.on_failure", "deny"),
    ("server.enabled = true", "server.enabled", True),
    ('server.host = "0.0.0.0"', "server.host", "0.0.0.0"),
    ("server.port = 9000", "server.port", 9000),
    ('server.auth = "none"', "server.auth", "none"),
    ('server.token_env = "PL_TOKEN"', "server.token_env", "PL_TOKEN"),
    ('server.admin_token_env = "PL_ADMIN"', "server.admin_token_env", "PL_ADMIN"),
    ("server.rate_limit = 5", "server.rate_limit", 5),
    ("server.metrics = false", "server.metrics", False),
    # the opposite of this platform's default (true on macOS and Windows)
    (f"case_insensitive_paths = {str(not CASE_INSENSITIVE_DEFAULT).lower()}", "case_insensitive_paths",
     not CASE_INSENSITIVE_DEFAULT),
]


def test_the_key_table_covers_every_setting() -> None:
    assert sorted(k for _, k, _ in KEY_CASES) == sorted(SETTING_KEYS)


@pytest.mark.parametrize("line,key,expected", KEY_CASES, ids=[k for _, k, _ in KEY_CASES])
def test_every_key(tmp_path: Path, line: str, key: str, expected: Any) -> None:
    assert default_values()[key] != expected, "the case must change the default"
    loaded = load(tmp_path, f"# a comment\n[security]\n{line}\n")
    assert attr(loaded.settings, SETTING_KEYS[key].attr) == expected
    assert loaded.origins[key] == "config.toml:3:1"
    others = {k: v for k, v in loaded.origins.items() if k != key}
    assert set(others.values()) == {"default"}


def test_sandbox_enabled_is_sandbox_mode(tmp_path: Path) -> None:
    loaded = load(tmp_path, "[security.sandbox]\nenabled = true\n")
    assert loaded.settings.sandbox_mode is True


def test_keys_in_sub_tables_and_inline_tables(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\nsandbox = { backend = "bwrap", limits = { memory_mb = 64 } }\n'
                            '[security.audit]\nenabled = false\n')
    assert loaded.settings.sandbox.backend == "bwrap"
    assert loaded.settings.sandbox.limits.memory_mb == 64
    assert loaded.settings.audit.enabled is False
    assert loaded.origins["sandbox.limits.memory_mb"] == "config.toml:2:43"
    assert loaded.origins["audit.enabled"] == "config.toml:4:1"


def test_relative_workspace_is_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nworkspace = "../proj/./src/.."\n', "etc/config.toml")
    loaded = load_config("etc/config.toml", env=dict(ENV), cwd=str(tmp_path))
    assert loaded.settings.workspace == str(tmp_path / "proj")


def test_a_relative_audit_key_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, '[security.audit]\nhmac_key_file = "../keys/audit.key"\n', "etc/config.toml")
    loaded = load_config("etc/config.toml", env=dict(ENV), cwd=str(tmp_path))
    assert loaded.settings.audit.hmac_key_file == str(tmp_path / "keys/audit.key")


def test_a_relative_audit_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, '[security.audit]\npath = "logs/audit.jsonl"\n', "etc/config.toml")
    loaded = load_config("etc/config.toml", env=dict(ENV), cwd=str(tmp_path))
    assert loaded.settings.audit.path == str(tmp_path / "etc/logs/audit.jsonl")
    assert load(tmp_path, '[security.audit]\npath = "~/audit.jsonl"\n').settings.audit.path == "~/audit.jsonl"


@pytest.mark.parametrize("written,expected", [
    ("~/work", f"{HOME}/work"),
    ("~", HOME),
    ("$WORKSPACE", "$WORKSPACE"),
    ("/a/b/../c/", "/a/c"),
])
def test_workspace_forms(tmp_path: Path, written: str, expected: str) -> None:
    assert load(tmp_path, f'[security]\nworkspace = "{written}"\n').settings.workspace == expected


@pytest.mark.parametrize("path,expected", [
    ("/tmp/../etc", "/etc"),
    ("/tmp/./x/", "/tmp/x"),
    ("//tmp//x", "/tmp/x"),
    ("/..", "/"),
    ("~/a/./b/..", "~/a"),
    ("~/", "~"),
    ("$TMPDIR/x/../y", "$TMPDIR/y"),
    ("$TMPDIR", "$TMPDIR"),
])
def test_path_normalisation(path: str, expected: str) -> None:
    assert normalise_setting_path(path) == expected


# ---- the environment --------------------------------------------------------------------------

def test_policylang_config_names_the_file(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = "execute"\n', "other.toml")
    loaded = load(tmp_path, None, env={**ENV, "POLICYLANG_CONFIG": "other.toml"})
    assert loaded.settings.mode == "execute"
    assert loaded.origins["mode"] == "other.toml:2:1"


def test_an_explicit_path_beats_policylang_config(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = "execute"\n', "other.toml")
    loaded = load(tmp_path, '[security]\nmode = "explain_only"\n', env={**ENV, "POLICYLANG_CONFIG": "other.toml"})
    assert loaded.settings.mode == "explain_only"


def test_policylang_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, None, env={**ENV, "POLICYLANG_CONFIG": "nope.toml"})
    (d,) = exc.value.errors
    assert d.code == "missing-file" and "POLICYLANG_CONFIG" in d.message and "nope.toml" in d.message


@pytest.mark.parametrize("value,expected", [("1", True), ("true", True), ("YES", True), ("on", True),
                                            ("0", False), ("false", False), ("no", False), ("off", False)])
def test_policylang_exec_strict(tmp_path: Path, value: str, expected: bool) -> None:
    loaded = load(tmp_path, "[security]\nexec_strict = " + ("false" if expected else "true") + "\n",
                  env={**ENV, "POLICYLANG_EXEC_STRICT": value})
    assert loaded.settings.exec_strict is expected
    assert loaded.origins["exec_strict"] == "env:POLICYLANG_EXEC_STRICT"


def test_an_empty_env_variable_is_no_override(tmp_path: Path) -> None:
    loaded = load(tmp_path, "[security]\nexec_strict = true\n", env={**ENV, "POLICYLANG_EXEC_STRICT": ""})
    assert loaded.settings.exec_strict is True


@pytest.mark.parametrize("var,value,message", [
    ("POLICYLANG_EXEC_STRICT", "maybe", "environment variable POLICYLANG_EXEC_STRICT: 'maybe' is not a boolean (use 1 or 0)"),
    ("POLICYLANG_HEADLESS", "2", "environment variable POLICYLANG_HEADLESS: '2' is not a boolean (use 1 or 0)"),
    ("POLICYLANG_MODE", "aprove", "environment variable POLICYLANG_MODE: 'aprove' is not one of explain_only, "
                                  "approve, execute (did you mean 'approve'?)"),
    ("POLICYLANG_PRESET", "strcit", "POLICYLANG_PRESET: unknown preset 'strcit' (did you mean 'strict'?)"),
])
def test_bad_environment_values_are_errors(tmp_path: Path, var: str, value: str, message: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, None, env={**ENV, var: value})
    assert [d.message for d in exc.value.errors] == [message]


def test_policylang_mode_and_headless_and_preset(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\nmode = "approve"\npreset = "relaxed"\n',
                  env={**ENV, "POLICYLANG_MODE": "explain_only", "POLICYLANG_HEADLESS": "1",
                       "POLICYLANG_PRESET": "execute,strict"})
    s = loaded.settings
    assert (s.mode, s.headless, s.presets, s.posture) == ("explain_only", True, ("execute", "strict"), "strict")
    assert loaded.origins["mode"] == "env:POLICYLANG_MODE"
    assert loaded.origins["headless"] == "env:POLICYLANG_HEADLESS"


def test_the_mode_argument_beats_the_environment(tmp_path: Path) -> None:
    loaded = load(tmp_path, None, env={**ENV, "POLICYLANG_MODE": "execute"}, mode="explain_only")
    assert loaded.settings.mode == "explain_only"
    assert loaded.origins["mode"] == "argument:mode"


def test_a_bad_mode_argument_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, None, mode="exec")
    assert exc.value.errors[0].message.endswith("(did you mean 'execute'?)")


def test_the_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYLANG_EXEC_STRICT", "1")
    monkeypatch.delenv("POLICYLANG_CONFIG", raising=False)
    monkeypatch.delenv("POLICYLANG_ADMIN_CONFIG", raising=False)
    monkeypatch.delenv("POLICYLANG_MODE", raising=False)
    monkeypatch.delenv("POLICYLANG_PRESET", raising=False)
    monkeypatch.delenv("POLICYLANG_HEADLESS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_config().settings.exec_strict is True


# ---- presets ------------------------------------------------------------------------------------

@pytest.mark.parametrize("presets,expected", [
    ("explain_only", dict(mode="explain_only", posture="balanced", block_high_risk=True)),
    ("approve", dict(mode="approve", posture="balanced", require_approval_for_medium=True, block_high_risk=True)),
    ("execute", dict(mode="execute", posture="relaxed", block_high_risk=True)),
    ("strict", dict(mode="approve", posture="strict", block_high_risk=True, exec_strict=True)),
    ("relaxed", dict(mode="approve", posture="relaxed", block_high_risk=True, exec_strict=False)),
    (["approve", "strict"], dict(mode="approve", posture="strict", exec_strict=True)),
    (["strict", "approve"], dict(mode="approve", posture="strict", exec_strict=True)),
    (["execute", "strict"], dict(mode="execute", posture="strict", exec_strict=True)),
    (["explain_only", "relaxed"], dict(mode="explain_only", posture="relaxed")),
])
def test_preset_semantics(tmp_path: Path, presets: str | list[str], expected: dict[str, Any]) -> None:
    text = f"[security]\npreset = {presets!r}\n".replace("'", '"')
    s = load(tmp_path, text).settings
    assert {k: getattr(s, k) for k in expected} == expected


def test_a_posture_preset_applies_after_the_mode_preset_whatever_the_order(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\npreset = ["relaxed", "approve"]\n')
    assert loaded.settings.presets == ("approve", "relaxed")
    assert loaded.settings.posture == "relaxed"
    assert loaded.origins["posture"] == "preset:relaxed"
    assert loaded.origins["require_approval_for_medium"] == "preset:approve"


def test_config_keys_override_preset_settings(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\npreset = "strict"\nexec_strict = false\n')
    assert loaded.settings.exec_strict is False and loaded.settings.posture == "strict"
    assert loaded.origins["exec_strict"] == "config.toml:3:1"
    assert loaded.origins["posture"] == "preset:strict"


def test_the_preset_argument_replaces_the_configs_preset(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\npreset = "strict"\n', preset=["execute"])
    assert loaded.settings.presets == ("execute",) and loaded.settings.posture == "relaxed"
    assert load(tmp_path, None, preset="approve,strict").settings.presets == ("approve", "strict")


@pytest.mark.parametrize("text,expected", [
    ('[security]\npreset = ["approve", "execute"]\n',
     ["config.toml:2:22: preset-conflict: security.preset[1]: 'approve' and 'execute' are both mode presets; "
      "choose one (a mode preset and a posture preset combine)"]),
    ('[security]\npreset = ["strict", "relaxed"]\n',
     ["config.toml:2:21: preset-conflict: security.preset[1]: 'strict' and 'relaxed' are both posture presets; "
      "choose one (a mode preset and a posture preset combine)"]),
    ('[security]\npreset = "../../etc/passwd"\n',
     ["config.toml:2:10: invalid-value: security.preset: '../../etc/passwd' does not match ^[a-z][a-z0-9_-]*$",
      "config.toml:2:10: unknown-preset: security.preset: unknown preset '../../etc/passwd'"]),
])
def test_preset_errors(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert errors_of(tmp_path, text) == expected


def test_preset_rules_are_a_preset_layer_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from policylang.config import presets as presets_module

    real = presets_module.load_preset("strict")
    with_rules = presets_module.Preset(
        real.name, real.kind, real.description, real.version, real.extends, real.settings,
        "rule preset.strict.x: deny exec frob ...\n", real.examples, real.file,
        Source("<preset:strict>", "rule preset.strict.x: deny exec frob ...\n", "preset"))
    monkeypatch.setattr(presets_module, "_load_cached", lambda name: with_rules if name == "strict" else real)
    loaded = load(tmp_path, '[security]\npreset = "strict"\n')
    assert [(s.name, s.layer) for s in loaded.sources] == [(builtin_source().name, "builtin"),
                                                           ("<preset:strict>", "preset")]


# ---- sources: inline policy, policy files, patterns, project files -----------------------------

def test_inline_policy_keeps_the_toml_lines(tmp_path: Path) -> None:
    text = '# c\n[security]\npolicy = """\nrule my.rule: deny exec frob ...\n"""\n'
    loaded = load(tmp_path, text)
    (src,) = [s for s in loaded.sources if s.layer == "user"]
    assert isinstance(src, Source) and src.name == "config.toml"
    assert src.line_text(4) == "rule my.rule: deny exec frob ..."
    assert src.text.strip() == "rule my.rule: deny exec frob ..."


def test_inline_policy_on_one_line_keeps_the_column(tmp_path: Path) -> None:
    loaded = load(tmp_path, "[security]\npolicy = 'rule a.b: deny exec x'\n")
    (src,) = [s for s in loaded.sources if s.layer == "user"]
    assert isinstance(src, Source)
    assert src.line_text(2) == "          rule a.b: deny exec x"
    assert src.span(src.text.index("rule"), src.text.index("rule") + 4).column == 11


def test_inline_policy_with_escapes_gets_its_own_name(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\npolicy = "rule a.b: deny exec x\\nrule a.c: deny exec y"\n')
    (src,) = [s for s in loaded.sources if s.layer == "user"]
    assert isinstance(src, Source)
    assert src.name == "<config.toml:security.policy>" and src.text == "rule a.b: deny exec x\nrule a.c: deny exec y"


def test_policy_files_relative_to_the_config(tmp_path: Path) -> None:
    write(tmp_path, "rule f.one: deny exec one ...\n", "etc/policies/one.policy")
    write(tmp_path, "rule f.two: deny exec two ...\n", "etc/two.policy")
    write(tmp_path, '[security]\npolicy_files = ["policies/one.policy", "two.policy"]\n', "etc/config.toml")
    loaded = load_config("etc/config.toml", env=dict(ENV), cwd=str(tmp_path))
    user = [s for s in loaded.sources if s.layer == "user"]
    assert [s.name for s in user] == ["etc/policies/one.policy", "etc/two.policy"]
    assert all(isinstance(s, Source) and s.text.startswith("rule f.") for s in user)


def test_a_missing_policy_file_is_an_error_at_its_entry(tmp_path: Path) -> None:
    assert errors_of(tmp_path, '[security]\npolicy_files = [\n  "a.policy",\n  "gone.policy",\n]\n', ) == [
        "config.toml:3:3: missing-file: security.policy_files[0]: cannot read policy file a.policy: "
        "No such file or directory",
        "config.toml:4:3: missing-file: security.policy_files[1]: cannot read policy file gone.policy: "
        "No such file or directory"]


def test_patterns_become_rules_with_ids_and_spans(tmp_path: Path) -> None:
    loaded = load(tmp_path, '[security]\nallowlist_patterns = ["^echo\\\\b", "^ls$"]\n'
                            'denylist_patterns = [\n  "rm\\\\s+-rf",\n]\n')
    (pf,) = [s for s in loaded.sources if isinstance(s, ast.PolicyFile)]
    assert pf.layer == "user" and pf.name == "config.toml"
    rules = [s for s in pf.statements if isinstance(s, ast.Rule)]
    assert [(r.id, r.decision) for r in rules] == [("config.allowlist.1", "allow"), ("config.allowlist.2", "allow"),
                                                   ("config.denylist.1", "deny")]
    for r in rules:
        assert isinstance(r.target, ast.ExecTarget) and r.target.argv == () and r.target.text is not None
    # an allow pattern is anchored at the start of the command and ends where a word ends; a deny
    # pattern matches anywhere, as written (config/patterns.py)
    assert [r.target.text.pattern for r in rules if isinstance(r.target, ast.ExecTarget) and r.target.text] == [
        "^(?:^echo\\b)(?:\\s|$)", "^(?:^ls$)(?:\\s|$)", "rm\\s+-rf"]
    assert [str(r.span) for r in rules] == ["config.toml:2:23", "config.toml:2:35", "config.toml:4:3"]


def test_a_pattern_re2_rejects_is_an_error(tmp_path: Path) -> None:
    assert errors_of(tmp_path, '[security]\ndenylist_patterns = ["x(?=y)"]\n') == [
        "config.toml:2:22: invalid-regex: security.denylist_patterns[0]: RE2 rejects 'x(?=y)': invalid perl "
        "operator: (?="]


def test_project_policies_only_when_enabled(tmp_path: Path) -> None:
    write(tmp_path, "rule p.b: deny exec b ...\n", "ws/.policylang/b.policy")
    write(tmp_path, "rule p.a: deny exec a ...\n", "ws/.policylang/a.policy")
    write(tmp_path, "not a policy\n", "ws/.policylang/notes.txt")
    off = load(tmp_path, f'[security]\nworkspace = "{tmp_path}/ws"\n')
    assert [s.layer for s in off.sources] == ["builtin"]
    on = load(tmp_path, f'[security]\nworkspace = "{tmp_path}/ws"\nproject_policies = true\n')
    project = [s for s in on.sources if s.layer == "project"]
    assert [os.path.basename(s.name) for s in project] == ["a.policy", "b.policy"]


def test_project_policies_default_to_the_cwd(tmp_path: Path) -> None:
    write(tmp_path, "rule p.a: deny exec a ...\n", ".policylang/a.policy")
    loaded = load(tmp_path, "[security]\nproject_policies = true\n")
    assert [s.layer for s in loaded.sources] == ["builtin", "project"]


def test_layer_order_of_sources(tmp_path: Path) -> None:
    write(tmp_path, "rule f.one: deny exec one ...\n", "one.policy")
    write(tmp_path, "rule p.a: deny exec a ...\n", ".policylang/a.policy")
    write(tmp_path, '[security]\npolicy = "rule adm.x: deny exec x"\ndenylist_patterns = ["^y"]\n', "admin.toml")
    loaded = load(tmp_path, '[security]\npreset = "strict"\npolicy = "rule u.x: deny exec z"\n'
                            'policy_files = ["one.policy"]\nallowlist_patterns = ["^echo"]\nproject_policies = true\n'
                            'admin_config = "admin.toml"\n')
    assert [s.layer for s in loaded.sources] == ["builtin", "user", "user", "user", "project", "admin", "admin"]
    admin_rules = [s for s in loaded.sources if isinstance(s, ast.PolicyFile) and s.layer == "admin"]
    assert [r.id for r in admin_rules[0].statements if isinstance(r, ast.Rule)] == ["admin.denylist.1"]


# ---- the admin layer --------------------------------------------------------------------------
# (admin [security] lines, user [security] lines, setting key, effective value, loosening attempt warned)

ADMIN_CASES: list[tuple[str, str, str, Any, bool]] = [
    ("block_high_risk = true", "block_high_risk = false", "block_high_risk", True, True),
    ("exec_strict = true", "exec_strict = false", "exec_strict", True, True),
    ("allow_admin_override = false", "allow_admin_override = true", "allow_admin_override", False, True),
    ('mode = "approve"', 'mode = "execute"', "mode", "approve", True),
    ('mode = "approve"', 'mode = "explain_only"', "mode", "explain_only", False),  # the user may tighten
    ('mode = "execute"', "", "mode", "execute", False),  # over a default, the admin's value applies
    ('posture = "strict"', 'posture = "relaxed"', "posture", "strict", True),
    ('risk_threshold = "low"', 'risk_threshold = "high"', "risk_threshold", Risk.LOW, True),
    ('restricted_paths = ["/srv/secret"]', 'restricted_paths = ["/etc"]', "restricted_paths", ("/etc", "/srv/secret"), True),
    ('restricted_paths = ["/srv/secret"]', "", "restricted_paths", DEFAULT_RESTRICTED + ("/srv/secret",), False),
    ('safe_paths = ["/tmp"]', 'safe_paths = ["/tmp/agent", "/data"]', "safe_paths", ("/tmp/agent",), True),
    ('safe_paths = ["/tmp"]', 'safe_paths = ["/tmp/agent"]', "safe_paths", ("/tmp/agent",), False),
    ('workspace = "/srv/ws"', 'workspace = "/srv/ws/app"', "workspace", "/srv/ws/app", False),
    ('workspace = "/srv/ws"', 'workspace = "/"', "workspace", "/srv/ws", True),
    ("audit.enabled = true", "audit.enabled = false", "audit.enabled", True, True),
    ('audit.fsync = "always"', 'audit.fsync = "never"', "audit.fsync", "always", True),
    ('audit.fsync = "rotate"', 'audit.fsync = "always"', "audit.fsync", "always", False),
    ('audit.on_failure = "deny"', 'audit.on_failure = "warn"', "audit.on_failure", "deny", True),
    ("sandbox.limits.memory_mb = 256", "sandbox.limits.memory_mb = 4096", "sandbox.limits.memory_mb", 256, True),
    ("sandbox.limits.memory_mb = 256", "sandbox.limits.memory_mb = 128", "sandbox.limits.memory_mb", 128, False),
    ('server.auth = "token"', 'server.auth = "none"', "server.auth", "token", True),
    ("server.rate_limit = 60", "server.rate_limit = 0", "server.rate_limit", 60, True),
    ("project_policies = false", "project_policies = true", "project_policies", False, True),
    ("headless = true", "headless = false", "headless", True, True),
    ('sandbox.backend = "bwrap"', 'sandbox.backend = "firejail"', "sandbox.backend", "bwrap", True),
    # pass_env: the admin's list is the most that gets through
    ('sandbox.pass_env = ["NPM_TOKEN"]', 'sandbox.pass_env = ["NPM_TOKEN", "GITHUB_TOKEN"]', "sandbox.pass_env",
     ("NPM_TOKEN",), True),
    ('sandbox.pass_env = ["NPM_TOKEN", "CI_TOKEN"]', 'sandbox.pass_env = ["CI_TOKEN"]', "sandbox.pass_env",
     ("CI_TOKEN",), False),
    ("sandbox.pass_env = []", 'sandbox.pass_env = ["GITHUB_TOKEN"]', "sandbox.pass_env", (), True),
    ('sandbox.pass_env = ["NPM_TOKEN"]', "", "sandbox.pass_env", ("NPM_TOKEN",), False),
]


@pytest.mark.parametrize("admin,user,key,expected,warned", ADMIN_CASES)
def test_admin_only_tightens(tmp_path: Path, admin: str, user: str, key: str, expected: Any, warned: bool) -> None:
    write(tmp_path, f"[security]\n{admin}\n", "admin.toml")
    loaded = load(tmp_path, f"[security]\n{user}\n", env={**ENV, "POLICYLANG_ADMIN_CONFIG": "admin.toml"})
    assert attr(loaded.settings, SETTING_KEYS[key].attr) == expected
    warnings = [d for d in loaded.diagnostics if d.code == "admin-override"]
    assert bool(warnings) is warned
    if warned:
        (w,) = warnings
        assert w.severity == "warning" and w.span is not None and w.span.source == "config.toml"
        assert w.span.line == 2
        assert "would loosen the admin setting" in w.message


def test_admin_beats_environment_and_arguments(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = "approve"\nexec_strict = true\n', "admin.toml")
    loaded = load(tmp_path, None, mode="execute",
                  env={**ENV, "POLICYLANG_ADMIN_CONFIG": "admin.toml", "POLICYLANG_EXEC_STRICT": "0"})
    assert loaded.settings.mode == "approve" and loaded.settings.exec_strict is True
    assert loaded.origins["mode"] == "admin:admin.toml:2:1"
    assert {d.code for d in loaded.diagnostics} == {"admin-override"}
    assert len(loaded.diagnostics) == 2


def test_admin_presets_are_a_floor(tmp_path: Path) -> None:
    write(tmp_path, '[security]\npreset = "strict"\n', "admin.toml")
    loaded = load(tmp_path, '[security]\npreset = "relaxed"\nexec_strict = false\n',
                  env={**ENV, "POLICYLANG_ADMIN_CONFIG": "admin.toml"})
    assert loaded.settings.posture == "strict" and loaded.settings.exec_strict is True
    assert loaded.origins["posture"] == "admin:preset:strict"


def test_admin_config_key_of_the_user_config(tmp_path: Path) -> None:
    write(tmp_path, "[security]\nblock_high_risk = true\n", "admin.toml")
    loaded = load(tmp_path, '[security]\nblock_high_risk = false\nadmin_config = "admin.toml"\n')
    assert loaded.settings.block_high_risk is True


def test_the_environment_names_the_admin_file_over_the_config(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = "explain_only"\n', "system.toml")
    write(tmp_path, '[security]\nmode = "execute"\n', "mine.toml")
    loaded = load(tmp_path, '[security]\nadmin_config = "mine.toml"\n',
                  env={**ENV, "POLICYLANG_ADMIN_CONFIG": "system.toml"})
    assert loaded.settings.mode == "explain_only"
    assert [d.code for d in loaded.diagnostics] == ["admin-config-ignored"]


def test_a_missing_admin_file_fails_closed(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, None, env={**ENV, "POLICYLANG_ADMIN_CONFIG": "/nonexistent/admin.toml"})
    assert exc.value.errors[0].message == ("environment variable POLICYLANG_ADMIN_CONFIG: cannot read the admin file "
                                           "/nonexistent/admin.toml: No such file or directory")


def test_admin_file_errors_are_reported_in_the_admin_file(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = "exec"\nadmin_config = "x.toml"\n', "admin.toml")
    with pytest.raises(PolicyError) as exc:
        load(tmp_path, None, env={**ENV, "POLICYLANG_ADMIN_CONFIG": "admin.toml"})
    assert [f"{d.location()}: {d.code}" for d in exc.value.errors] == ["admin.toml:2:8: invalid-value",
                                                                         "admin.toml:3:1: invalid-value"]


# ---- errors: all of one run ---------------------------------------------------------------------

def test_every_error_of_one_run_is_reported(tmp_path: Path) -> None:
    got = errors_of(tmp_path, '[security]\nmode = "aprove"\npreset = "strcit"\ndenylist_patterns = ["(?!x)"]\n'
                              'policy_files = ["missing.policy"]\nblok_high_risk = true\n'
                              '[security.sandbox]\nbackend = "container"\n')
    assert [g.split(": ")[1] for g in got] == ["invalid-value", "unknown-preset", "invalid-regex", "missing-file",
                                               "unknown-key", "missing-key"]


def test_report_never_raises_and_keeps_the_document(tmp_path: Path) -> None:
    write(tmp_path, '[security]\nmode = 3\n')
    report = load_config_report("config.toml", env=dict(ENV), cwd=str(tmp_path))
    assert report.config is None and report.errors and report.document is not None


def test_a_config_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b'[security]\nmode = "\xff"\n')
    report = load_config_report("config.toml", env=dict(ENV), cwd=str(tmp_path))
    assert [d.code for d in report.errors] == ["toml-syntax"]
    assert report.errors[0].span is not None and report.errors[0].span.line == 2


@hsettings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(list('[]="\'{},.#\n ') + ["security", "mode", "preset", "approve", "strict",
                                                            "true", "1", "safe_paths", "/tmp", "sandbox", "admin_config"]),
                max_size=40).map("".join))
def test_load_config_only_ever_raises_policy_error(text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        Path(d, "config.toml").write_text(text, "utf-8")
        try:
            loaded = load_config("config.toml", env=dict(ENV), cwd=d)
        except PolicyError as err:
            assert err.errors
        else:
            assert isinstance(loaded.settings, Settings)


# ---- with the engine: allow/deny patterns are matched per shell segment -------------------------

def test_allow_pattern_is_per_segment(tmp_path: Path) -> None:
    from policylang.lang.compile import compile_policy
    from policylang.actions import Command
    from policylang.verdict import Decision

    loaded = load(tmp_path, '[security]\nallowlist_patterns = ["^echo\\\\b"]\ndenylist_patterns = ["^curl\\\\b"]\n')
    policy = compile_policy(loaded.sources, loaded.settings)
    cwd = "/home/user/project"
    env = {"HOME": HOME}
    assert policy.decide(Command("echo hi", cwd=cwd, env=env)).decision is Decision.ALLOW
    assert policy.decide(Command("echo hi; rm -rf ~", cwd=cwd, env=env)).decision is Decision.DENY
    verdict = policy.decide(Command("ls && curl https://example.com", cwd=cwd, env=env))
    assert verdict.decision is Decision.DENY
    assert "config.denylist.1" in verdict.matched
