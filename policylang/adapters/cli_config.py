"""The configuration commands: ``presets``, ``policy show``, ``policy NAME``, and ``check`` of .toml files.

``register(subparsers)`` adds the commands to the main parser; each sets ``handler`` to a function
``handler(args, *, stdin, stdout, stderr) -> int`` that writes to the streams it is given and
returns an exit code: 0 ok, 1 errors, 2 usage.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import replace
from typing import Any, Sequence, TextIO

from ..config.discover import ENV_CONFIG
from ..diagnostics import Diagnostic, PolicyError

# The config machinery (TOML schemas, presets, tomlkit) is imported by the handlers that use it,
# not here: ``register`` runs for every command line, ``policylang decide`` included.

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add ``presets`` and ``policy`` to the main parser's subparsers."""
    p = subparsers.add_parser("presets", help="list the presets")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=cmd_presets)

    q = subparsers.add_parser(
        "policy", help="show the effective settings (policy show), or switch the config to a preset (policy NAME)",
        description="'policy show' prints the effective settings and the layer each came from; "
                    "'policy NAME' sets [security].preset of the config file to the preset NAME, keeping "
                    "everything else in the file as it is.")
    q.add_argument("name", metavar="show|PRESET")
    q.add_argument("--config", metavar="FILE",
                   help=f"the config file (default: ${ENV_CONFIG}, else the project's .policylang/config.toml, "
                        "else the user's ~/.config/policylang/config.toml; 'policy NAME' creates the project's "
                        "file when there is none)")
    q.add_argument("--preset", metavar="NAME", action="append", help="policy show: use these presets instead")
    q.add_argument("--mode", choices=["explain_only", "approve", "execute"], help="policy show: override the mode")
    q.add_argument("--format", choices=["text", "json"], default="text")
    q.set_defaults(handler=cmd_policy)


# ---- presets --------------------------------------------------------------------------------

def cmd_presets(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO,
                stderr: TextIO | None = None) -> int:
    """``policylang presets``: every preset with its kind, version and description."""
    from ..config.presets import list_presets

    infos = list_presets()
    if args.format == "json":
        stdout.write(json.dumps([{"name": i.name, "kind": i.kind, "version": i.version,
                                  "description": i.description} for i in infos], indent=2) + "\n")
        return EXIT_OK
    width = max(len(i.name) for i in infos)
    for kind in ("mode", "posture"):
        stdout.write(f"{kind} presets:\n")
        for i in infos:
            if i.kind == kind:
                stdout.write(f"  {i.name:<{width}}  {i.version:<6}  {i.description}\n")
    stdout.write('combine one of each: preset = ["approve", "strict"]\n')
    return EXIT_OK


# ---- policy show / policy NAME ---------------------------------------------------------------

def cmd_policy(args: argparse.Namespace, *, stdin: TextIO | None = None, stdout: TextIO,
               stderr: TextIO | None = None) -> int:
    """``policylang policy show`` or ``policylang policy NAME``."""
    err = stderr or stdout
    if args.name == "show":
        return _show(args, stdout, err)
    if args.preset or args.mode:
        err.write("policylang policy: --preset and --mode go with 'policy show' only\n")
        return EXIT_USAGE
    return _switch(args, stdout, err)


def _presets_arg(values: Sequence[str] | None) -> list[str] | None:
    if not values:
        return None
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def _show(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ..config.discover import find_config
    from ..config.loader import SETTING_KEYS, load_config_report, show_value
    from ..source import Source

    choice = find_config(args.config)
    report = load_config_report(choice.argument, preset=_presets_arg(args.preset), mode=args.mode)
    if report.config is None:  # a policy error: exit 5, and JSON on stdout when JSON was asked for
        raise PolicyError(report.diagnostics)
    loaded = report.config
    admin = [report.admin_document.name] if report.admin_document is not None else []
    rows = [(key, show_value(key, _value(loaded.settings, spec.attr)), loaded.origins.get(key, "default"))
            for key, spec in SETTING_KEYS.items()]
    sources = [(s.layer, s.name if isinstance(s, Source) else f"{s.name} (allowlist/denylist patterns)")
               for s in loaded.sources]
    if args.format == "json":
        out.write(json.dumps({
            "config": loaded.config_path,
            "config_origin": choice.origin,
            "admin_config": admin[0] if admin else None,
            "presets": list(loaded.settings.presets),
            "settings": {k: {"value": v, "from": o} for k, v, o in rows},
            "sources": [{"layer": layer, "name": name} for layer, name in sources],
            "diagnostics": [diagnostic_json(d) for d in loaded.diagnostics],
        }, indent=2) + "\n")
        return EXIT_OK
    out.write(choice.describe(admin, looked=True) + "\n")
    out.write(f"presets: {', '.join(loaded.settings.presets) or 'none'}\n")
    out.write("settings ([security]):\n")
    shown = [(k, _toml_value(v), o) for k, v, o in rows]
    width = min(48, max(len(k) + len(v) + 3 for k, v, _ in shown))
    for key, value, origin in shown:
        line = f"{key} = {value}"
        out.write(f"  {line:<{width}}  # {origin}\n")
    out.write("policy sources (lowest layer first):\n")
    for layer, name in sources:
        out.write(f"  {layer:<8} {name}\n")
    for d in loaded.diagnostics:
        out.write(d.render() + "\n")
    return EXIT_OK


def _value(obj: Any, attr: str) -> Any:
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


def _toml_value(value: Any) -> str:
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _switch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import tomllib

    from ..config.discover import PROJECT, describe_origin, write_target
    from ..config.edit import edit_config, edit_preset_text
    from ..config.presets import load_preset

    target = write_target(args.config)
    path = target.path or ""
    try:
        load_preset(args.name)
    except PolicyError as exc:
        for d in exc.diagnostics:
            err.write(f"policylang policy: {d.message}\n")
        return EXIT_USAGE

    try:
        if target.origin == PROJECT:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        existed, new_text, notes = edit_config(path, lambda text: edit_preset_text(text, args.name, file=path))
    except (OSError, UnicodeDecodeError) as exc:
        err.write(f"policylang policy: cannot edit {path}: {exc}\n")
        return EXIT_USAGE
    preset_value = tomllib.loads(new_text).get("security", {}).get("preset")
    out.write(f"{path}: preset = {_toml_value(preset_value)} ({describe_origin(target.origin)}"
              + ("" if existed else ", a new file") + ")\n")
    for note in notes:
        out.write(f"  {note}\n")
    for note in _overridden(new_text, args.name):
        out.write(f"  note: {note}\n")
    return EXIT_OK


def _overridden(text: str, name: str) -> list[str]:
    """Keys written in [security] that override a setting the preset sets."""
    import tomllib

    from ..config.presets import load_preset

    security = tomllib.loads(text).get("security", {})
    preset = load_preset(name)
    notes = []
    for key in preset.settings:
        head, _, rest = key.partition(".")
        value: Any = security.get(head)
        if rest and isinstance(value, dict):
            for part in rest.split("."):
                value = value.get(part) if isinstance(value, dict) else None
        elif rest:
            value = None
        if value is not None and value != _plain(preset.settings[key]):
            notes.append(f"security.{key} = {_toml_value(value)} in the config overrides the preset's "
                         f"{_toml_value(_plain(preset.settings[key]))}")
    return notes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# ---- check ----------------------------------------------------------------------------------

def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    """A diagnostic's JSON form, with its source line (so a reader can render the caret)."""
    out = d.to_json()
    out["line_text"] = d.line_text
    if d.span is not None:
        out["end_column"] = d.span.end_column or None
    return out


def check_config(path: str, strict: bool, out: TextIO, fmt: str) -> int:
    """``policylang check FILE.toml``: a config (schema, sources, hardening lint) or a preset file
    (schema, and its examples decided by the engine).  ``strict`` turns warnings into errors.
    Writes the diagnostics as text or JSON (``fmt``) and returns 1 when there is an error, else 0."""
    kind, diags = config_diagnostics(path, strict)
    n_err = sum(1 for d in diags if d.is_error)
    n_warn = len(diags) - n_err
    if fmt == "json":
        out.write(json.dumps({"file": path, "kind": kind, "ok": n_err == 0, "errors": n_err, "warnings": n_warn,
                              "diagnostics": [diagnostic_json(d) for d in diags]}, indent=2) + "\n")
    else:
        for d in diags:
            out.write(d.render() + "\n")
        out.write(f"{'ok' if n_err == 0 else 'failed'}: {path}: {n_err} error(s), {n_warn} warning(s)\n")
    return EXIT_FAIL if n_err else EXIT_OK


def config_diagnostics(path: str, strict: bool = False) -> tuple[str, list[Diagnostic]]:
    """("preset" or "config", every diagnostic) for a TOML file: a preset's schema and examples, or a
    config's schema, sources and hardening lint.  ``strict`` turns warnings into errors."""
    from ..config.lint import lint_config

    kind = _toml_kind(path)
    if kind == "preset":
        diags = _check_preset_file(path)
        if strict:
            diags = [d if d.is_error else replace(d, severity="error") for d in diags]
    else:
        diags = lint_config(path, strict=strict)
    return kind, diags


def _toml_kind(path: str) -> str:
    """"preset" for a preset file (top-level name/kind/examples and no [security]), else "config"."""
    import tomllib

    from ..inputs import MAX_TOML_BYTES, read_text

    try:
        data = tomllib.loads(read_text(path, MAX_TOML_BYTES))
    except (OSError, tomllib.TOMLDecodeError, RecursionError):
        return "config"  # the config checks report what is wrong, with its position
    if "security" not in data and ("examples" in data or "kind" in data):
        return "preset"
    return "config"


def _check_preset_file(path: str) -> list[Diagnostic]:
    from ..config.loader import check_preset_examples
    from ..config.presets import parse_preset

    from ..inputs import MAX_TOML_BYTES, read_text

    try:
        text = read_text(path, MAX_TOML_BYTES)
    except OSError as exc:
        return [Diagnostic("error", "missing-file", f"cannot read {path}: {exc.strerror or exc}")]
    preset, diags = parse_preset(text, path)
    if preset is None:
        return list(diags)
    try:
        return check_preset_examples(preset)
    except PolicyError as exc:
        return list(exc.diagnostics)

