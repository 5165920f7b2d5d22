"""``policylang policy NAME``: switch a config to a preset, everything else byte for byte."""
from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from policylang.adapters.cli import main
from policylang.adapters.cli_config import cmd_policy
from policylang.diagnostics import PolicyError
from policylang.config.edit import edit_preset_text, switch_preset

COMMENTED = """\
# Agent security settings -- reviewed 2024-05-01 by the platform team.
#   Keep this file in version control.

[core]   # not ours, but kept as written
name = 'agent'     # single quotes

[security]
# how the agent may act
preset = "relaxed"   # posture: see `policylang presets`
mode   =   "approve"
safe_paths = [
    "/tmp",        # scratch
    "$TMPDIR",
]
denylist_patterns = ['^curl .*\\| *sh']   # literal string, with a backslash

[security.sandbox]   # isolation
enabled = true
limits = { memory_mb = 512,   network = false }

# trailing comment, no newline at the end"""


def test_round_trip_strict_then_relaxed_is_byte_identical(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(COMMENTED.encode())
    switch_preset(path, "strict")
    middle = path.read_bytes().decode()
    assert middle == COMMENTED.replace('preset = "relaxed"', 'preset = "strict"')
    switch_preset(path, "relaxed")
    assert path.read_bytes() == COMMENTED.encode()


def test_round_trip_with_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    original = COMMENTED.replace("\n", "\r\n").encode()
    path.write_bytes(original)
    switch_preset(path, "strict")
    assert b'preset = "strict"' in path.read_bytes() and b"\n" not in path.read_bytes().replace(b"\r\n", b"")
    switch_preset(path, "relaxed")
    assert path.read_bytes() == original


# (config text, preset, expected text)
EDIT_CASES = [
    ("[security]\npreset = 'relaxed'  # c\n", "strict", "[security]\npreset = 'strict'  # c\n"),
    ('[security]\npreset = ["approve",   "relaxed"]  # both\n', "strict",
     '[security]\npreset = ["approve",   "strict"]  # both\n'),
    ('[security]\npreset = [\n  "relaxed",  # posture\n  "execute",  # mode\n]\n', "explain_only",
     '[security]\npreset = [\n  "relaxed",  # posture\n  "explain_only",  # mode\n]\n'),
    ('[security]\npreset = ["approve"]\n', "strict", '[security]\npreset = ["approve", "strict"]\n'),
    ('[security]\npreset = ["approve", "strict"]\n', "strict", '[security]\npreset = ["approve", "strict"]\n'),
    ("[security]\nmode = 'approve'\n\n[security.sandbox]\nenabled = true\n", "strict",
     "[security]\nmode = 'approve'\npreset = \"strict\"\n\n[security.sandbox]\nenabled = true\n"),
    ("[security.sandbox]\nenabled = true\n", "strict", '[security]\npreset = "strict"\n\n[security.sandbox]\nenabled = true\n'),
    ("# only a comment\n", "approve", '# only a comment\n\n[security]\npreset = "approve"\n'),
    ("", "approve", '[security]\npreset = "approve"\n'),
    ('security.preset = "relaxed"  # dotted\nsecurity.mode = "approve"\n', "strict",
     'security.preset = "strict"  # dotted\nsecurity.mode = "approve"\n'),
    ('security = { preset = "relaxed", mode = "approve" }\n', "strict",
     'security = { preset = "strict", mode = "approve" }\n'),
    ('[security]\npreset = "approve"\n', "strict", '[security]\npreset = "strict"\n'),
]


@pytest.mark.parametrize("text,name,expected", EDIT_CASES)
def test_edit(text: str, name: str, expected: str) -> None:
    assert edit_preset_text(text, name)[0] == expected


def test_replacing_a_preset_of_another_kind_says_how_to_combine() -> None:
    _, notes = edit_preset_text('[security]\npreset = "execute"\n', "strict")
    assert notes == ["replaced preset 'execute' by 'strict'",
                     "'execute' is a mode preset and 'strict' a posture preset: write preset = ['execute', 'strict'] "
                     "to combine them"]


@pytest.mark.parametrize("text,name,code", [
    ('[security]\npreset = "relaxed"\n', "strcit", "unknown-preset"),
    ("[security\npreset = 1\n", "strict", "toml-syntax"),
    ("security = 3\n", "strict", "wrong-type"),
    ("[security]\npreset = 3\n", "strict", "wrong-type"),
])
def test_errors_leave_the_file_untouched(tmp_path: Path, text: str, name: str, code: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as exc:
        switch_preset(path, name)
    assert exc.value.errors[0].code == code
    assert path.read_text() == text
    assert os.listdir(tmp_path) == ["config.toml"]


def test_a_missing_file_is_created(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    switch_preset(path, "execute")
    assert path.read_text() == '[security]\npreset = "execute"\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_file_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[security]\npreset = "relaxed"\n')
    path.chmod(0o600)
    switch_preset(path, "strict")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


decorations = st.sampled_from(["", " ", "  ", "\t", "# x", "  # ü comment", "\n", "\n\n"])


@settings(max_examples=120, deadline=None)
@given(before=decorations, after=decorations, gap=st.sampled_from([" = ", "=", "   =  "]),
       quote=st.sampled_from(['"', "'"]), tail=decorations)
def test_only_the_preset_value_changes(before: str, after: str, gap: str, quote: str, tail: str) -> None:
    def text(name: str) -> str:
        return (f"# head{before}\n[security]{after}\nmode = 'approve'{after}\npreset{gap}{quote}{name}{quote}{after}\n"
                f"[other]{tail}\nx = [1, 2 ,3]{tail}\n")

    original = text("relaxed")
    switched, _ = edit_preset_text(original, "strict")
    assert switched == text("strict")
    assert edit_preset_text(switched, "relaxed")[0] == original


# ---- the command --------------------------------------------------------------------------------

class _Args:
    def __init__(self, **kw: Any) -> None:
        self.__dict__.update({"config": None, "preset": None, "mode": None, "format": "text", **kw})


def test_policy_name_command(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[security]\npreset = ["approve", "relaxed"]\nexec_strict = false\n')
    out, err = io.StringIO(), io.StringIO()
    assert cmd_policy(_Args(name="strict", config=str(path)), stdout=out, stderr=err) == 0
    assert out.getvalue().splitlines() == [
        f'{path}: preset = ["approve", "strict"] (given by --config)',
        "  replaced the posture preset 'relaxed' by 'strict'",
        "  note: security.exec_strict = false in the config overrides the preset's true",
    ]
    assert err.getvalue() == ""


def test_policy_name_command_usage_errors(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cmd_policy(_Args(name="strcit", config=str(tmp_path / "c.toml")), stdout=out, stderr=err) == 2
    assert err.getvalue() == "policylang policy: unknown preset 'strcit' (did you mean 'strict'?)\n"
    assert not (tmp_path / "c.toml").exists()
    assert cmd_policy(_Args(name="strict", mode="execute"), stdout=out, stderr=err) == 2


def test_policy_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("POLICYLANG_CONFIG", "POLICYLANG_ADMIN_CONFIG", "POLICYLANG_MODE", "POLICYLANG_PRESET",
                "POLICYLANG_EXEC_STRICT", "POLICYLANG_HEADLESS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[security]\npreset = "strict"\nmode = "explain_only"\n'
                                          'denylist_patterns = ["^curl"]\n')
    out = io.StringIO()
    assert cmd_policy(_Args(name="show", config="config.toml"), stdout=out, stderr=io.StringIO()) == 0
    text = out.getvalue()
    lines = {line.split("=")[0].strip(): line for line in text.splitlines() if " = " in line}
    assert lines["mode"].endswith("# config.toml:3:1")
    assert lines["posture"].endswith("# preset:strict") and '"strict"' in lines["posture"]
    assert lines["headless"].endswith("# default")
    assert "presets: strict" in text
    assert "  user     config.toml (allowlist/denylist patterns)" in text.splitlines()

    out = io.StringIO()
    assert cmd_policy(_Args(name="show", config="config.toml", format="json", mode="approve"), stdout=out,
                      stderr=io.StringIO()) == 0
    payload = json.loads(out.getvalue())
    assert payload["settings"]["mode"] == {"value": "approve", "from": "argument:mode"}
    assert payload["settings"]["exec_strict"] == {"value": True, "from": "preset:strict"}
    assert payload["settings"]["risk_threshold"] == {"value": "medium", "from": "default"}
    assert [s["layer"] for s in payload["sources"]] == ["builtin", "user"]


def test_policy_show_with_errors(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[security]\nmode = "aprove"\n')
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(PolicyError) as exc:  # the CLI's main turns it into exit 5 (tests/test_cli_codes.py)
        cmd_policy(_Args(name="show", config=str(tmp_path / "config.toml")), stdout=out, stderr=err)
    assert "did you mean 'approve'" in str(exc.value) and out.getvalue() == ""
    assert main(["policy", "show", "--config", str(tmp_path / "config.toml")], stdout=out, stderr=err) == 5
    assert "did you mean 'approve'" in err.getvalue() and out.getvalue() == ""
