"""Presets: the shipped files, their semantics (DESIGN §3), loading errors, and their examples."""
from __future__ import annotations

import io
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from policylang.config import presets as presets_module
from policylang.actions import Command, FileOp
from policylang.adapters.cli_config import check_config, cmd_presets
from policylang.config.loader import check_preset_examples, preset_inputs
from policylang.diagnostics import PolicyError
from policylang.config.presets import PresetInfo, expand, list_presets, load_preset, parse_preset
from policylang.verdict import Decision

NAMES = ["explain_only", "approve", "execute", "relaxed", "strict"]


def test_list_presets() -> None:
    infos = list_presets()
    assert [(i.name, i.kind) for i in infos] == [("explain_only", "mode"), ("approve", "mode"), ("execute", "mode"),
                                                 ("relaxed", "posture"), ("strict", "posture")]
    for i in infos:
        assert isinstance(i, PresetInfo) and i.version == "1.0.0" and len(i.description) > 20


@pytest.mark.parametrize("name", NAMES)
def test_each_preset_file_has_the_keys(name: str) -> None:
    text = resources.files("policylang.presets").joinpath(f"{name}.toml").read_text("utf-8")
    data = tomllib.loads(text)
    assert {"name", "description", "version", "kind", "settings", "rules", "examples"} <= set(data)
    assert data["name"] == name
    preset = load_preset(name)
    assert preset.file == f"presets/{name}.toml"
    assert len(preset.examples) >= 4
    decisions = {e.decision for e in preset.examples}
    assert Decision.DENY in decisions and len(decisions) >= 2, "examples show more than one outcome"


# The settings each preset must set (DESIGN §3 and the issue).
SEMANTICS: dict[str, dict[str, Any]] = {
    "explain_only": {"mode": "explain_only", "block_high_risk": True},
    "approve": {"mode": "approve", "require_approval_for_medium": True, "block_high_risk": True, "posture": "balanced"},
    "execute": {"mode": "execute", "block_high_risk": True, "posture": "relaxed"},
    "strict": {"posture": "strict", "block_high_risk": True, "exec_strict": True},
    "relaxed": {"posture": "relaxed", "block_high_risk": True},
}


@pytest.mark.parametrize("name", NAMES)
def test_preset_settings(name: str) -> None:
    preset = load_preset(name)
    for key, value in SEMANTICS[name].items():
        assert preset.settings[key] == value, key
    if preset.kind == "posture":
        assert "mode" not in preset.settings


def test_mode_presets_are_mode_kind_and_postures_posture_kind() -> None:
    assert {n: load_preset(n).kind for n in NAMES} == {"explain_only": "mode", "approve": "mode", "execute": "mode",
                                                       "relaxed": "posture", "strict": "posture"}


def test_example_forms() -> None:
    strict = load_preset("strict")
    file_example = [e for e in strict.examples if isinstance(e.action, FileOp)][0]
    assert file_example.action == FileOp("read", "~/.ssh/id_rsa")
    assert file_example.span.source == "presets/strict.toml" and file_example.line_text.startswith("action = {")
    headless = [e for e in load_preset("approve").examples if not e.context.interactive]
    assert len(headless) == 1 and headless[0].decision is Decision.DENY
    assert isinstance(headless[0].action, Command)


@pytest.mark.parametrize("name", ["", "nope", "../approve", "APPROVE", "approve.toml", "__init__"])
def test_unknown_names(name: str) -> None:
    with pytest.raises(PolicyError) as exc:
        load_preset(name)
    assert exc.value.errors[0].code == "unknown-preset"


def test_unknown_name_near_miss() -> None:
    with pytest.raises(PolicyError) as exc:
        load_preset("relaxd")
    assert exc.value.errors[0].message == "unknown preset 'relaxd' (did you mean 'relaxed'?)"


PRESET_HEAD = 'name = "{name}"\ndescription = "d"\nversion = "1.0"\nkind = "{kind}"\n{extra}\n[settings]\n{settings}\n' \
              '[[examples]]\naction = "git status"\ndecision = "allow"\n'


def _preset_text(name: str, kind: str = "mode", settings: str = "", extra: str = "") -> str:
    return PRESET_HEAD.format(name=name, kind=kind, settings=settings, extra=extra)


@pytest.mark.parametrize("text,expected", [
    (_preset_text("p", "posture", 'mode = "execute"'),
     ["p.toml:7:1: settings.mode: a posture preset must not set the mode (a mode preset does)"]),
    (_preset_text("p", extra='extends = ["p"]'), ["p.toml:5:11: extends: preset 'p' cannot extend itself"]),
    (_preset_text("q"), ["p.toml:1:8: name: 'q' must match the file name 'p'"]),
    (_preset_text("p", settings='preset = "strict"'), ["p.toml:7:1: settings.preset: unknown key 'preset'"]),
    (_preset_text("p", settings='workspace = "/x"'), ["p.toml:7:1: settings.workspace: unknown key 'workspace'"]),
    ('name = "p"\n', ["p.toml:1:1: missing required key 'description'", "p.toml:1:1: missing required key 'examples'",
                      "p.toml:1:1: missing required key 'kind'", "p.toml:1:1: missing required key 'settings'",
                      "p.toml:1:1: missing required key 'version'"]),
])
def test_preset_errors(text: str, expected: list[str]) -> None:
    preset, diags = parse_preset(text, "p.toml", expect_name="p")
    assert preset is None
    assert [f"{d.location()}: {d.message}" for d in diags] == expected


def test_a_preset_without_examples_is_refused() -> None:
    text = 'name = "p"\ndescription = "d"\nversion = "1.0"\nkind = "mode"\nexamples = []\n[settings]\n'
    _, diags = parse_preset(text, "p.toml")
    assert [d.message for d in diags] == ["examples: expected at least 1 item, got 0"]


def test_parse_preset_flattens_settings() -> None:
    preset, diags = parse_preset(_preset_text("p", settings="sandbox.limits.memory_mb = 5\nsafe_paths = ['/tmp']"),
                                 "p.toml")
    assert diags == [] and preset is not None
    assert dict(preset.settings) == {"sandbox.limits.memory_mb": 5, "safe_paths": ("/tmp",)}


def _fake_presets(monkeypatch: pytest.MonkeyPatch, texts: dict[str, str]) -> None:
    parsed = {}
    for name, text in texts.items():
        preset, diags = parse_preset(text, f"presets/{name}.toml", expect_name=name)
        assert preset is not None, diags
        parsed[name] = preset
    monkeypatch.setattr(presets_module, "preset_names", lambda: sorted(parsed))
    monkeypatch.setattr(presets_module, "_load_cached", lambda name: parsed[name])


def test_extends_order_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_presets(monkeypatch, {
        "base": _preset_text("base", settings="exec_strict = true"),
        "mid": _preset_text("mid", extra='extends = ["base"]', settings="exec_strict = false"),
        "top": _preset_text("top", extra='extends = ["mid", "base"]'),
    })
    assert [p.name for p in expand(["top"])] == ["base", "mid", "top"]
    sources, settings = preset_inputs(load_preset("top"))
    assert settings.exec_strict is False and settings.presets == ("base", "mid", "top")


def test_extends_cycle(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_presets(monkeypatch, {
        "a": _preset_text("a", extra='extends = ["b"]'),
        "b": _preset_text("b", extra='extends = ["a"]'),
    })
    with pytest.raises(PolicyError) as exc:
        expand(["a"])
    assert exc.value.errors[0].message == "presets extend each other in a cycle: a -> b -> a"


def test_presets_command() -> None:
    out = io.StringIO()
    assert cmd_presets(_Args(format="text"), stdout=out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "mode presets:" and lines[4] == "posture presets:"
    assert lines[1].split()[:2] == ["explain_only", "1.0.0"]
    out = io.StringIO()
    assert cmd_presets(_Args(format="json"), stdout=out) == 0
    assert [p["name"] for p in json.loads(out.getvalue())] == NAMES


class _Args:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


# ---- the examples hold with the engine ----------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_preset_examples_hold(name: str) -> None:
    assert check_preset_examples(load_preset(name)) == []


def test_a_wrong_example_is_reported_where_it_is_written(tmp_path: Path) -> None:
    text = _preset_text("mine", settings='mode = "approve"').replace('decision = "allow"', 'decision = "deny"')
    path = tmp_path / "mine.toml"
    path.write_text(text)
    out = io.StringIO()
    assert check_config(str(path), False, out, "json") == 1
    (d,) = json.loads(out.getvalue())["diagnostics"]
    assert d["code"] == "example-failed" and d["line"] == 9 and d["column"] == 10
    assert d["message"].startswith("example 'git status': expected deny, got allow")


@pytest.mark.parametrize("name", NAMES)
def test_check_runs_a_shipped_preset_file(name: str) -> None:
    path = str(resources.files("policylang.presets").joinpath(f"{name}.toml"))
    out = io.StringIO()
    assert check_config(path, True, out, "text") == 0, out.getvalue()
    assert out.getvalue().startswith("ok: ")
