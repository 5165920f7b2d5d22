"""An action's secrets: the detector run over every text the action carries, each finding turned into a
``secret`` effect (its format, where it is, where it goes) and a redaction pair (value -> marker).

Where a secret goes decides its risk: sent to the network (a command of the same pipeline connects
somewhere, a fetch) it is high; in a message, a written file, a tool call's arguments, code or a
command line it is medium.  The effect names the format and the location -- argument index, header
name, JSON key, offset -- and never the value.
"""
from __future__ import annotations

import fnmatch
import re
from typing import Any, Iterable, Mapping, Sequence

from ...effects import Analysis, Effect, Segment
from ...verdict import HIGH, MEDIUM
from .detector import MIN_TEXT, Finding, redaction_marker, scan

# Names of environment variables whose values are credentials (shell globs over the upper-cased name).
SECRET_ENV_NAMES = ("*_TOKEN", "*_TOKEN_*", "*_KEY", "*_KEY_*", "*SECRET*", "*PASSWORD*", "*PASSWD*",
                    "*CREDENTIAL*", "*APIKEY*", "*API_KEY*", "*_PAT", "*AUTH*TOKEN*")
_NETWORK_KINDS = ("network", "upload")
_HEADER_FLAGS = frozenset({"-H", "--header", "--proxy-header"})


_ENV_NAME_RE: list[re.Pattern[str]] = []  # compiled on the first variable (about 2 ms: not every action has one)
_ENV_NAMES: dict[str, bool] = {}


def secret_env_name(name: str) -> bool:
    """Does the variable's name say its value is a credential?  (Memoised: environments repeat.)"""
    known = _ENV_NAMES.get(name)
    if known is None:
        if not _ENV_NAME_RE:
            _ENV_NAME_RE.append(re.compile("|".join(fnmatch.translate(g) for g in SECRET_ENV_NAMES)))
        known = _ENV_NAME_RE[0].match(name.upper()) is not None
        if len(_ENV_NAMES) < 65536:
            _ENV_NAMES[name] = known
    return known


def add_secrets(act: Any, analysis: Analysis, env: Mapping[str, str] | None) -> Analysis:
    """The analysis with a ``secret`` effect per credential the action carries and the pairs that
    redact them (and the values of secret-named variables the action's text may expand)."""
    kind = act.kind
    if kind == "command":  # the hot path: a short command without ``$`` holds nothing to redact
        command = act.command
        if type(command) is str and len(command) < MIN_TEXT and "$" not in command and "`" not in command:
            return analysis
    effects: list[Effect] = []
    pairs: dict[str, str] = {}
    for text, place in _texts(act):
        for f in scan(text):
            pairs.setdefault(f.value, f.marker)
            effects.append(_effect(act, kind, f, text, place, analysis))
    if env is not None and kind in ("command", "code") and _may_expand(act):
        text = act.text
        for name, value in env.items():
            # only a variable the text names can be expanded into what a verdict shows
            if len(value) >= 4 and secret_env_name(name) and name in text and value not in pairs:
                pairs[value] = redaction_marker(f"env:{name}", value)
    if not effects and not pairs:
        return analysis
    _add_escaped(pairs)
    segments = analysis.segments
    if effects and not segments:
        segments = (Segment(f"<{kind}>", None, (), ()),)
    return Analysis(segments, analysis.effects + tuple(effects), analysis.opaque, analysis.reasons, analysis.error,
                    analysis.structured, analysis.argv, analysis.warnings,
                    tuple(sorted(pairs.items(), key=lambda kv: -len(kv[0]))))


def secret_pairs(act: Any) -> tuple[tuple[str, str], ...]:
    """(value, marker) for every secret in the action's texts, without an analysis (a failed decision)."""
    pairs: dict[str, str] = {}
    try:
        for text, _ in _texts(act):
            for f in scan(text):
                pairs.setdefault(f.value, f.marker)
    except Exception:  # the texts of an odd object: nothing to redact from them
        return ()
    _add_escaped(pairs)
    return tuple(sorted(pairs.items(), key=lambda kv: -len(kv[0])))


def _add_escaped(pairs: dict[str, str]) -> None:
    """A value as JSON spells it too (a tool call's text is JSON: a key's newlines are ``\\n`` there)."""
    import json

    for value, marker in list(pairs.items()):
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            pairs.setdefault(escaped, marker)


def _may_expand(act: Any) -> bool:
    text = act.text
    return "$" in text or "`" in text or "environ" in text or "getenv" in text or "ENV" in text


def _texts(act: Any) -> Iterable[tuple[str, str]]:
    """(text, where) for every text an action carries."""
    kind = act.kind
    if kind == "command":
        yield act.text, ""
    elif kind == "file":
        content = getattr(act, "content", None)
        if content:
            yield content, "the content"
    elif kind == "fetch":
        yield act.url, "the URL"
        for name, value in (getattr(act, "headers", None) or {}).items():
            yield f"{name}: {value}", f"the header {name}"
        body = getattr(act, "body", None)
        if body:
            yield body, "the body"
    elif kind == "tool":
        yield from _leaves(act.args, "")
    elif kind == "message":
        yield act.text, "the message"
    elif kind == "code":
        yield act.source, "the code"


def _leaves(value: Any, path: str, depth: int = 0) -> Iterable[tuple[str, str]]:
    """The strings of a tool call's JSON arguments, each with its key path (``body.headers.auth``)."""
    if isinstance(value, str):
        yield value, f"the argument {path or '?'}"
    elif depth > 32:
        return
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]", depth + 1)


def _effect(act: Any, kind: str, f: Finding, text: str, place: str, analysis: Analysis) -> Effect:
    where = place or "the command"
    host: str | None = None
    path: str | None = None
    channel = {"message": "message", "tool": "tool", "code": "code", "file": "file", "fetch": "network"}.get(kind,
                                                                                                          "command")
    segment = 0
    if kind == "command":
        segment, where = _command_location(f, analysis.segments)
        channel, host, path = _destination(segment, analysis)
    elif kind == "fetch":
        host = next((e.host for e in analysis.effects if e.kind == "network"), None)
    elif kind == "file":
        path = next((e.path for e in analysis.effects if e.path is not None), None)
    elif kind == "code" and any(e.kind in _NETWORK_KINDS for e in analysis.effects):
        channel = "network"
        host = next((e.host for e in analysis.effects if e.kind == "network" and e.host), None)
    if kind in ("message", "code", "file") or kind == "fetch" and place == "the body":
        line = text.count("\n", 0, f.start) + 1
        where = f"{where}, line {line}" if "\n" in text else f"{where}, offset {f.start}"
    dest = {"network": f", sent to {host or 'a host known only at run time'}", "file": f", written to {path}",
            "message": ", in a message", "tool": ", in a tool call"}.get(channel, "")
    why = f"a {f.name} ({f.format}) in {where}{dest}"
    return Effect("secret", program=channel, operands=(where,), text=f.format, host=host, path=path,
                  risk=HIGH if channel == "network" else MEDIUM, why=why, segment=segment)


def _command_location(f: Finding, segments: Sequence[Segment]) -> tuple[int, str]:
    """The segment holding the secret and where in it: ``argument 3 of curl (header Authorization)``."""
    value = f.value
    for i, seg in enumerate(segments):
        argv = seg.argv
        for k, arg in enumerate(argv):
            if value in arg:
                prog = seg.program or (argv[0] if argv else "?")
                if k == 0:
                    return i, f"the program name {prog}"
                what = f"argument {k} of {prog}"
                if argv[k - 1] in _HEADER_FLAGS or arg.startswith(("-H", "--header=")):
                    name = arg.split(":", 1)[0].removeprefix("--header=").removeprefix("-H").strip()
                    what += f" (header {name})"
                return i, what
        if value in seg.text:
            return i, f"the command {seg.program or '?'}"
    return 0, f"the command text, offset {f.start}"


def _destination(segment: int, analysis: Analysis) -> tuple[str, str | None, str | None]:
    """Where the secret of a segment goes: the network (its pipeline connects), a file (it writes
    one), or nowhere but the command line."""
    segs = analysis.segments
    group = {segment}
    if 0 <= segment < len(segs) and segs[segment].pipeline >= 0:
        pipe = segs[segment].pipeline
        group = {i for i, s in enumerate(segs) if s.pipeline == pipe}
    for e in analysis.effects:
        if e.segment in group and e.kind in _NETWORK_KINDS:
            return "network", e.host, None
    for e in analysis.effects:
        if e.segment in group and e.kind == "write" and e.path is not None:
            return "file", None, e.path
    return "command", None, None


__all__ = ["SECRET_ENV_NAMES", "add_secrets", "secret_env_name", "secret_pairs"]
