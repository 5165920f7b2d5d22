"""The JSON Schemas in schemas/, TOML positions, and the exact text of every error shape (golden)."""
from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Iterator

import pytest
import tomlkit
from hypothesis import given, settings, strategies as st
from jsonschema import Draft202012Validator

from policylang.config.loader import SETTING_KEYS, SOURCE_KEYS, load_config_report
from policylang.config.lint import lint_config
from policylang.config.presets import parse_preset
from policylang.config.tomldoc import describe_value, dotted, load_schema, parse_toml, schema_diagnostics

GOLDEN = Path(__file__).parent / "golden" / "config"


# ---- the schemas themselves --------------------------------------------------------------------

@pytest.mark.parametrize("name", ["config", "preset"])
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = load_schema(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def _objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for k, v in node.items():
            yield from _objects(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _objects(v, f"{where}/{i}")


@pytest.mark.parametrize("name", ["config", "preset"])
def test_every_object_forbids_unknown_keys(name: str) -> None:
    objects = list(_objects(load_schema(name)))
    assert objects
    for where, obj in objects:
        if where.endswith("/args"):
            continue
        assert obj.get("additionalProperties") is False, where


def _leaves(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    out: set[str] = set()
    for key, sub in node["properties"].items():
        if "$ref" in sub:
            sub = schema["$defs"][sub["$ref"].rsplit("/", 1)[-1]]
        if "properties" in sub:
            out |= _leaves(schema, sub, f"{prefix}{key}.")
        else:
            out.add(prefix + key)
    return out


def test_every_schema_key_is_a_setting_or_a_source_and_back() -> None:
    schema = load_schema("config")
    leaves = _leaves(schema, schema["$defs"]["security"])
    assert leaves == set(SETTING_KEYS) | set(SOURCE_KEYS)


def test_preset_settings_are_security_keys_with_the_same_schema() -> None:
    config = load_schema("config")
    preset = load_schema("preset")
    security = config["$defs"]["security"]["properties"]
    for key, sub in preset["properties"]["settings"]["properties"].items():
        assert key in security, key
        assert sub["$ref"] == "config.schema.json" + security[key]["$ref"], key
        assert key not in SOURCE_KEYS


# ---- positions ------------------------------------------------------------------------------

POSITION_CASES = [
    # (toml text, key path, prefer, expected line:col)
    ('[security]\nmode = "x"\n', ("security", "mode"), "value", "1:1" if False else "2:8"),
    ('[security]\nmode = "x"\n', ("security", "mode"), "key", "2:1"),
    ('security.mode = "x"\n', ("security", "mode"), "value", "1:17"),
    ('security = { mode = "x", exec_strict = 1 }\n', ("security", "exec_strict"), "value", "1:40"),
    ('[security]\n"mode" = "x"\n', ("security", "mode"), "key", "2:1"),
    ("[security]\nsafe_paths = [\n  '/a',  # c\n  \"/b\",\n]\n", ("security", "safe_paths", 1), "value", "4:3"),
    ('[security.sandbox.limits]\nnetwork = 3\n', ("security", "sandbox", "limits", "network"), "value", "2:11"),
    ('[security]\npolicy = """\nx\n"""\nmode = 1\n', ("security", "mode"), "value", "5:8"),
    ("[security]\npolicy = '''a ' '' b'''\nmode = 1\n", ("security", "mode"), "value", "3:8"),
    ('[[examples]]\na = 1\n[[examples]]\naction = 2\n', ("examples", 1, "action"), "value", "4:10"),
    ('[security]\nmode = "x"\n', ("security", "nope"), "key", "1:1"),  # a missing key: its table
    ('[security]\n', ("other",), "key", "1:1"),
    ('x = 1979-05-27 07:32:00Z\n[security]\nmode = 1\n', ("security", "mode"), "value", "3:8"),
    ('[security]\nmode = "a\\"b" # "q\nexec_strict = 1\n', ("security", "exec_strict"), "value", "3:15"),
]


@pytest.mark.parametrize("text,path,prefer,expected", POSITION_CASES)
def test_positions(text: str, path: tuple[Any, ...], prefer: str, expected: str) -> None:
    doc, diags = parse_toml(text, "c.toml")
    assert diags == []
    span = doc.locate(path, prefer=prefer)
    assert f"{span.line}:{span.column}" == expected


keys = st.text(alphabet="abcxyz_-. \"'é", min_size=1, max_size=6)
scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _paths(v, prefix + (i,))
    if prefix:
        yield prefix, data


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(keys, values, max_size=5))
def test_every_value_of_generated_toml_is_located(data: dict[str, Any]) -> None:
    text = tomlkit.dumps(data)
    doc, diags = parse_toml(text, "g.toml")
    assert diags == []
    for path, value in _paths(doc.data):
        if isinstance(value, (dict, list)):
            continue  # tables have a key, not a value span; leaves are checked
        loc = doc.positions.get(path)
        assert loc is not None and loc.value is not None, (path, text)
        start, end = loc.value
        parsed = tomllib.loads("v = " + text[start:end])["v"]
        assert parsed == value or (parsed != parsed and value != value), (path, text[start:end])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    doc, diags = parse_toml(text, "x.toml")
    if doc.data is None:
        assert diags and diags[0].code == "toml-syntax"
    else:
        schema_diagnostics(doc, "config")


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    doc, diags = parse_toml("a = " + "[" * 5000 + "]" * 5000, "deep.toml")
    assert doc.data is None and diags[0].code == "toml-syntax"


def test_too_large_is_an_error() -> None:
    doc, diags = parse_toml("# " + "x" * (3 * 1024 * 1024), "big.toml")
    assert doc.data is None and diags[0].code == "too-large"


@pytest.mark.parametrize("path,expected", [
    (("security", "mode"), "security.mode"),
    (("security", "safe_paths", 2), "security.safe_paths[2]"),
    (("examples", 0, "action"), "examples[0].action"),
    (("security", "a b"), 'security."a b"'),
])
def test_dotted(path: tuple[Any, ...], expected: str) -> None:
    assert dotted(path) == expected


@pytest.mark.parametrize("value,expected", [
    (True, "a boolean true"), ("yes", "a string 'yes'"), (3, "an integer 3"), (1.5, "a float 1.5"),
    ([1], "an array"), ({}, "a table"),
])
def test_describe_value(value: Any, expected: str) -> None:
    assert describe_value(value) == expected


# ---- golden error text ----------------------------------------------------------------------

def _render(name: str) -> str:
    if name.startswith("preset_"):
        _, diags = parse_preset((GOLDEN / name).read_text("utf-8"), name)
    elif name.startswith("lint_"):
        diags = lint_config(name)
    else:
        diags = list(load_config_report(name, env={"HOME": "/home/user"}, cwd=str(GOLDEN)).diagnostics)
    return "".join(d.render() + "\n" for d in diags)


GOLDEN_CASES = sorted(p.name for p in GOLDEN.glob("*.toml"))


def test_there_are_golden_cases_for_every_error_shape() -> None:
    codes = set()
    for name in GOLDEN_CASES:
        codes |= {line.split("[", 1)[1].split("]", 1)[0] for line in (GOLDEN / (name[:-5] + ".txt")).read_text().splitlines()
                  if ": error[" in line or ": warning[" in line}
    assert codes >= {"invalid-value", "unknown-key", "wrong-type", "missing-key", "duplicate-item", "toml-syntax",
                     "unknown-preset", "preset-conflict", "invalid-regex", "missing-file", "system-safe-path",
                     "restricted-removed", "mode-execute", "high-risk-not-blocked", "exec-strict-off",
                     "audit-disabled", "auth-disabled", "safe-path-contains-restricted"}


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    got = _render(name)
    expected_file = GOLDEN / (name[:-5] + ".txt")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(got, "utf-8")
    assert got == expected_file.read_text("utf-8")


def test_the_issue_example_shape() -> None:
    text = (GOLDEN / "enum_near_miss.txt").read_text()
    assert text.splitlines()[0] == ("enum_near_miss.toml:3:8: error[invalid-value]: security.mode: 'aprove' is not "
                                    "one of explain_only, approve, execute (did you mean 'approve'?)")


def test_json_form_of_a_schema_error() -> None:
    doc, _ = parse_toml('[security]\nblok_high_risk = true\n', "c.toml")
    (d,) = schema_diagnostics(doc, "config")
    payload = json.loads(json.dumps(d.to_json()))
    assert {k: payload[k] for k in ("severity", "code", "message", "file", "line", "column", "hint")} == {
        "severity": "error", "code": "unknown-key",
        "message": "security.blok_high_risk: unknown key 'blok_high_risk' (did you mean 'block_high_risk'?)",
        "file": "c.toml", "line": 2, "column": 1, "hint": None}
