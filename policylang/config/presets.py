"""Presets: named starting points for a config (issue 4, DESIGN §3).

A preset is a TOML file in presets/ (shipped as the package ``policylang.presets``): a name, a
description, a version, a kind (``mode`` or ``posture``), optional ``extends``, ``[settings]`` with
the keys of ``[security]`` that describe behaviour, ``rules`` in the DSL, and ``[[examples]]`` that
``policylang check`` runs.  A mode preset and a posture preset combine; see
``config.load_config``.

This module is the package ``policylang.presets`` itself (presets/__init__.py): pyproject.toml maps
the top-level presets/ directory to that package so that the TOML files ship in the wheel, and a
module policylang/presets.py beside it would be shadowed by the package in an installed wheel.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from ..actions import Action, ActionError, Context, action_from_json
from ..diagnostics import Diagnostic, PolicyError
from ..settings import MODES
from ..source import Source, Span
from .tomldoc import TomlDocument, near_miss, parse_toml, schema_diagnostics
from ..verdict import Decision

PRESET_PACKAGE = "policylang.presets"
KINDS = ("mode", "posture")
_NAME = re.compile(r"[a-z][a-z0-9_-]*")


@dataclass(frozen=True, slots=True)
class PresetInfo:
    """What ``policylang presets`` lists."""

    name: str
    kind: str
    description: str
    version: str


@dataclass(frozen=True, slots=True)
class PresetExample:
    """One ``[[examples]]`` entry: an action and the decision the preset must give it."""

    action: Action
    decision: Decision
    context: Context
    span: Span  # where the example's action is written in the preset file
    text: str  # the action as written, for messages
    note: str = ""
    line_text: str = ""  # the preset file's line the example's action is on


@dataclass(frozen=True, slots=True)
class Preset:
    """A loaded, validated preset.

    ``settings`` is flat: dotted keys under ``[security]`` (``"mode"``, ``"sandbox.backend"``) to
    values, lists turned into tuples.
    """

    name: str
    kind: str
    description: str
    version: str
    extends: tuple[str, ...]
    settings: Mapping[str, Any]
    rules: str
    examples: tuple[PresetExample, ...]
    file: str  # the name it is reported under, e.g. "presets/strict.toml"
    rules_source: Source | None  # the rules as a policy source (layer "preset"), None when empty

    @property
    def info(self) -> PresetInfo:
        return PresetInfo(self.name, self.kind, self.description, self.version)


def preset_names() -> list[str]:
    """Names of the shipped presets, sorted."""
    root = resources.files(PRESET_PACKAGE)
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".toml") and _NAME.fullmatch(p.name[:-5]))


def list_presets() -> list[PresetInfo]:
    """Every shipped preset: name, kind, description, version; mode presets first, then posture."""
    presets = [load_preset(n) for n in preset_names()]

    def order(p: Preset) -> tuple[int, int, str]:
        mode = p.settings.get("mode")
        return (KINDS.index(p.kind), MODES.index(mode) if mode in MODES else len(MODES), p.name)

    return [p.info for p in sorted(presets, key=order)]


def unknown_preset_message(name: str) -> tuple[str, tuple[str, ...]]:
    """The message for an unknown preset name (with a near miss) and the names that exist."""
    names = tuple(preset_names())
    guess = near_miss(name, names)
    msg = f"unknown preset {name!r}" + (f" (did you mean {guess!r}?)" if guess else "")
    return msg, names


def load_preset(name: str) -> Preset:
    """Load and validate the shipped preset ``name``; raises PolicyError on an unknown name or a
    broken preset file (every error found)."""
    if not _NAME.fullmatch(name) or name not in preset_names():
        msg, names = unknown_preset_message(name)
        raise PolicyError([Diagnostic("error", "unknown-preset", msg, expected=() if "did you mean" in msg else names)])
    return _load_cached(name)


@lru_cache(maxsize=None)
def _load_cached(name: str) -> Preset:
    text = resources.files(PRESET_PACKAGE).joinpath(f"{name}.toml").read_text("utf-8")
    preset, diags = parse_preset(text, f"presets/{name}.toml", expect_name=name)
    if preset is None:
        raise PolicyError(diags)
    return preset


def parse_preset(text: str, file: str, *, expect_name: str | None = None) -> tuple[Preset | None, list[Diagnostic]]:
    """Parse and validate preset text; the Preset, or None and every error."""
    doc, diags = parse_toml(text, file)
    if doc.data is None:
        return None, diags
    diags = schema_diagnostics(doc, "preset")
    data = doc.data
    name = data.get("name")
    settings: dict[str, Any] = data["settings"] if isinstance(data.get("settings"), dict) else {}
    if expect_name is not None and isinstance(name, str) and name != expect_name:
        diags.append(doc.diagnostic("error", "invalid-value", f"name: {name!r} must match the file name {expect_name!r}",
                                    ("name",)))
    if data.get("kind") == "posture" and "mode" in settings:
        diags.append(doc.diagnostic("error", "invalid-value",
                                    "settings.mode: a posture preset must not set the mode (a mode preset does)",
                                    ("settings", "mode"), prefer="key"))
    extends = data.get("extends")
    if isinstance(extends, list) and name in extends:
        diags.append(doc.diagnostic("error", "invalid-value", f"extends: preset {name!r} cannot extend itself",
                                    ("extends",)))
    examples = _examples(doc, data.get("examples"), diags)
    if any(d.is_error for d in diags):
        return None, sorted(diags, key=lambda d: (d.span.line, d.span.column) if d.span else (0, 0))
    assert isinstance(name, str)
    rules: str = data.get("rules", "")
    source = embedded_source(doc, ("rules",), rules, layer="preset", fallback=f"<preset:{name}>") if rules.strip() else None
    return Preset(
        name=name,
        kind=data["kind"],
        description=data["description"],
        version=data["version"],
        extends=tuple(data.get("extends", ())),
        settings=MappingProxyType(flatten_settings(settings)),
        rules=rules,
        examples=tuple(examples),
        file=file,
        rules_source=source,
    ), []


def _examples(doc: TomlDocument, items: Any, diags: list[Diagnostic]) -> list[PresetExample]:
    """The ``[[examples]]`` that are well formed; an error for each action that is not an action."""
    out: list[PresetExample] = []
    if not isinstance(items, list):
        return out
    for i, ex in enumerate(items):
        if not isinstance(ex, dict) or "action" not in ex:
            continue
        where = ("examples", i, "action")
        if any(d.message.startswith(f"examples[{i}].action") for d in diags):
            continue  # the schema said what is wrong with it
        try:
            action = action_from_json(ex["action"])
        except ActionError as err:
            diags.append(doc.diagnostic("error", "invalid-value", f"examples[{i}].action: {err}", where))
            continue
        decision = ex.get("decision")
        ctx_data = ex.get("context")
        if not isinstance(decision, str) or decision.upper() not in Decision.__members__ or \
                not isinstance(ctx_data, (dict, type(None))):
            continue  # reported by the schema
        ctx_data = ctx_data or {}
        context = Context(principal=str(ctx_data.get("principal", "user")), role=str(ctx_data.get("role", "user")),
                          interactive=bool(ctx_data.get("interactive", True)))
        raw = ex["action"]
        shown = raw if isinstance(raw, str) else " ".join(f"{k}={v}" for k, v in raw.items())
        span = doc.locate(where)
        out.append(PresetExample(action, Decision.parse(decision), context, span, shown,
                                 str(ex.get("note", "")), doc.line_text(span.line)))
    return out


def flatten_settings(table: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"sandbox": {"backend": "x"}}`` -> ``{"sandbox.backend": "x"}``; lists become tuples."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten_settings(value, full + "."))
        elif isinstance(value, list):
            out[full] = tuple(value)
        else:
            out[full] = value
    return out


def expand(names: Sequence[str]) -> list[Preset]:
    """The presets ``names`` stand for, each preceded by those it extends (depth first, each once).
    Raises PolicyError on an unknown name or a cycle."""
    out: list[Preset] = []
    seen: set[str] = set()

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in chain:
            raise PolicyError([Diagnostic("error", "preset-cycle",
                                          "presets extend each other in a cycle: " + " -> ".join(chain + (name,)))])
        if name in seen:
            return
        preset = load_preset(name)
        for parent in preset.extends:
            visit(parent, chain + (name,))
        seen.add(name)
        out.append(preset)

    for n in names:
        visit(n, ())
    return out


def embedded_source(doc: TomlDocument, path: tuple[str | int, ...], text: str, *, layer: str, fallback: str) -> Source:
    """Policy text embedded in a TOML string as a Source whose lines and columns are those of the
    TOML file when the string is written without escapes (it is then padded with the newlines and
    spaces that precede it, so a DSL error points into the TOML file); otherwise a Source named
    ``fallback`` with positions relative to the string."""
    loc = doc.positions.get(path)
    if loc is not None and loc.value is not None:
        start, end = loc.value
        raw = doc.text[start:end]
        for delim in ('"""', "'''", '"', "'"):
            if raw.startswith(delim):
                begin = start + len(delim)
                if len(delim) == 3 and doc.text.startswith("\r\n", begin):
                    begin += 2
                elif len(delim) == 3 and doc.text.startswith("\n", begin):
                    begin += 1
                if doc.text[begin:begin + len(text)] == text:
                    span = doc.span_at(begin)
                    padded = "\n" * (span.line - 1) + " " * (span.column - 1) + text
                    return Source(doc.name, padded, layer)
                break
    return Source(fallback, text, layer)
