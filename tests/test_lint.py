"""The hardening lint of ``policylang check config.toml`` (issue 4, item 8)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from policylang.adapters.cli_config import check_config
from policylang.config.lint import lint_config

HARDENED = ('[security]\npreset = ["approve", "strict"]\nsafe_paths = ["/tmp", "$TMPDIR"]\n'
            "[security.server]\nenabled = true\n")


def findings(tmp_path: Path, text: str, *, strict: bool = False) -> list[tuple[str, str, str]]:
    path = tmp_path / "config.toml"
    path.write_text(text, "utf-8")
    return [(d.severity, d.code, f"{d.span.line}:{d.span.column}" if d.span else "")
            for d in lint_config(path, strict=strict)]


def test_a_hardened_config_has_no_findings(tmp_path: Path) -> None:
    assert findings(tmp_path, HARDENED) == []


def test_the_default_config_has_no_findings(tmp_path: Path) -> None:
    assert findings(tmp_path, "") == []


# (config text, expected findings as (severity, code, line:col))
CASES = [
    ('[security]\nsafe_paths = ["/etc"]\n', [("error", "system-safe-path", "2:15")]),
    ('[security]\nsafe_paths = ["/tmp", "/usr/lib/x"]\n', [("error", "system-safe-path", "2:23")]),
    ('[security]\nsafe_paths = ["/"]\n', [("error", "system-safe-path", "2:15")]),
    ('[security]\nsafe_paths = ["/var"]\n', [("error", "system-safe-path", "2:15")]),  # holds /var/lib
    ('[security]\nsafe_paths = ["/tmp/../etc/"]\n', [("error", "system-safe-path", "2:15")]),  # `..` folded
    ('[security]\nsafe_paths = ["~/.ssh/keys"]\n', [("error", "system-safe-path", "2:15")]),
    ('[security]\nsafe_paths = ["~"]\n', [("error", "system-safe-path", "2:15")]),
    ('[security]\nsafe_paths = ["/var/tmp", "/scratch", "$TMPDIR/x"]\n', []),
    ('[security]\nsafe_paths = ["/data"]\nrestricted_paths = ["/etc", "/boot", "/sys", "/proc", "/usr/bin", '
     '"/usr/sbin", "/bin", "/sbin", "~/.ssh", "~/.gnupg", "/data/keys"]\n',
     [("warning", "safe-path-contains-restricted", "2:15")]),
    ('[security]\nrestricted_paths = ["/etc"]\n', [("warning", "restricted-removed", "2:20")]),
    ('[security]\nrestricted_paths = ["/etc", "/boot", "/sys", "/proc", "/usr", "/bin", "/sbin", "~/.ssh", '
     '"~/.gnupg"]\n', []),  # /usr covers /usr/bin and /usr/sbin
    ('[security]\nmode = "execute"\n', [("warning", "mode-execute", "2:8")]),
    ('[security]\npreset = "execute"\n', [("warning", "mode-execute", "2:10")]),
    ('[security]\nblock_high_risk = false\n', [("warning", "high-risk-not-blocked", "2:19")]),
    ("[security.server]\nenabled = true\n", [("warning", "exec-strict-off", "2:11")]),
    ("[security]\nexec_strict = false\n[security.server]\nenabled = true\n",
     [("warning", "exec-strict-off", "2:15")]),
    ("[security]\nexec_strict = false\n", []),  # no server: nothing to say
    ("[security.audit]\nenabled = false\n", [("warning", "audit-disabled", "2:11")]),
    ('[security.server]\nauth = "none"\n', [("warning", "auth-disabled", "2:8")]),
    ('[security]\nallowlist_patterns = ["^(?=git)"]\n', [("error", "invalid-regex", "2:23")]),
    ('[security]\nmode = "aprove"\n', [("error", "invalid-value", "2:8")]),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_lint(tmp_path: Path, text: str, expected: list[tuple[str, str, str]]) -> None:
    assert findings(tmp_path, text) == expected


def test_findings_in_file_order_and_all_of_them(tmp_path: Path) -> None:
    got = findings(tmp_path, '[security]\nblock_high_risk = false\nmode = "execute"\nsafe_paths = ["/etc"]\n'
                             '[security.audit]\nenabled = false\n')
    assert got == [("warning", "high-risk-not-blocked", "2:19"), ("warning", "mode-execute", "3:8"),
                   ("error", "system-safe-path", "4:15"), ("warning", "audit-disabled", "6:11")]


def test_strict_turns_warnings_into_errors(tmp_path: Path) -> None:
    assert findings(tmp_path, '[security]\nmode = "execute"\n', strict=True) == [("error", "mode-execute", "2:8")]


def test_admin_file_findings_point_into_the_admin_file(tmp_path: Path) -> None:
    (tmp_path / "admin.toml").write_text("[security]\nblock_high_risk = false\n")
    path = tmp_path / "config.toml"
    path.write_text('[security]\nadmin_config = "admin.toml"\n')
    (d,) = lint_config(path)
    assert d.code == "high-risk-not-blocked" and d.span is not None
    assert d.span.source.endswith("admin.toml") and d.span.line == 2


def test_the_environment_does_not_change_the_lint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICYLANG_MODE", "execute")
    monkeypatch.setenv("POLICYLANG_ADMIN_CONFIG", str(tmp_path / "nope.toml"))
    assert findings(tmp_path, HARDENED) == []


def test_check_config_text_and_exit_codes(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[security]\nmode = "execute"\n')
    out = io.StringIO()
    assert check_config(str(path), False, out, "text") == 0
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("warning[mode-execute]: security.mode: 'execute' runs low and medium risk actions "
                             "without asking anyone")
    assert lines[-1] == f"ok: {path}: 0 error(s), 1 warning(s)"
    out = io.StringIO()
    assert check_config(str(path), True, out, "text") == 1
    assert out.getvalue().splitlines()[-1] == f"failed: {path}: 1 error(s), 0 warning(s)"


def test_check_config_json(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[security]\nsafe_paths = ["/etc"]\n')
    out = io.StringIO()
    assert check_config(str(path), False, out, "json") == 1
    payload = json.loads(out.getvalue())
    assert payload["ok"] is False and payload["kind"] == "config" and payload["errors"] == 1
    (d,) = payload["diagnostics"]
    assert (d["code"], d["file"], d["line"], d["column"]) == ("system-safe-path", str(path), 2, 15)
    assert d["line_text"] == 'safe_paths = ["/etc"]'


def test_check_config_of_a_missing_file(tmp_path: Path) -> None:
    out = io.StringIO()
    assert check_config(str(tmp_path / "nope.toml"), False, out, "text") == 1
    assert "missing-file" in out.getvalue()
