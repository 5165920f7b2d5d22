"""The analyser of each kind of action, behind one table: an action in, its segments and effects out.

A command goes to the shell analyser (policylang.analysis.shell), inline code to the code analyser
(policylang.analysis.sourcecode) and whatever it spawns back to the shell analyser; a file operation, a
fetch, a tool call and a message state their effects directly.
"""
from __future__ import annotations

from typing import Callable, Mapping

from ..diagnostics import shown
from ..actions import Action, Code, Command, Fetch, FileOp, Message, ToolCall, json_text
from ..effects import Analysis, Effect, Segment
from ..frozen import replace
from ..resolve import file_url_path, normalise_path
from ..verdict import HIGH, LOW, MEDIUM, UNKNOWN
from .secretscan.findings import add_secrets

# The shell analyser (and the command catalog under it) is imported by the analysers that need it:
# a process that decides one file read, write or fetch (an agent hook's Read or Edit) never loads it.

Analyser = Callable[..., Analysis]


def analyse(act: Action, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    """Turn any action into segments and effects."""
    analyser: Analyser | None = ANALYSERS.get(getattr(act, "kind", None))  # type: ignore[arg-type]
    if analyser is None:
        return Analysis((), (), error=f"unsupported action {type(act).__name__}")
    return add_secrets(act, analyser(act, cwd=cwd, env=env, home=home), env)


def analyse_command_action(act: Command, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    from .shell import analyse_argv, analyse_command

    if isinstance(act.command, str):
        return analyse_command(act.command, cwd=cwd, env=env, home=home)
    return analyse_argv(act.command, cwd=cwd, env=env, home=home)


def analyse_file(act: FileOp, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    path = literal_path(act.path, cwd=cwd, home=home)
    if path is None:
        return Analysis((), (), error=f"cannot use the path {shown(str(act.path))}: empty or with a NUL byte")
    if act.op == "exec":
        from .shell import analyse_argv

        return analyse_argv([path], cwd=cwd, env=env, home=home)
    kind = {"read": "read", "list": "read", "write": "write", "edit": "write", "delete": "delete"}[act.op]
    e = Effect(kind, path=path, why=f"{act.op} {path}")
    return Analysis((Segment(act.text, None, (), (e,)),), (e,))


def analyse_fetch(act: Fetch, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    try:
        from urllib.parse import urlsplit  # only fetches need it: not at import

        parts = urlsplit(act.url)
    except ValueError as exc:
        return Analysis((), (), error=f"bad URL {shown(str(act.url))}: {exc}")
    if parts.scheme == "file":
        path = file_url_path(act.url)
        if path is None:
            return Analysis((), (), error=f"a file URL that names no local path: {shown(str(act.url))}")
        e = Effect("read", path=path, why=f"fetch of a local file {path}")
    elif parts.scheme in ("http", "https") and parts.hostname:
        method = act.method.upper()
        e = Effect("network", host=parts.hostname, risk=MEDIUM, why=f"{method} {parts.scheme}://{parts.hostname}")
    else:
        return Analysis((), (), error=f"unsupported URL {shown(str(act.url))} (expected http, https or file)")
    return Analysis((Segment(act.text, None, (), (e,)),), (e,))


def analyse_code_action(act: Code, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    from .shell import analyse_argv, analyse_command
    from .sourcecode import analyse_code, code_language, finding_effects

    if code_language(act.language) == "shell":  # a shell cell is a command string
        return analyse_command(act.source, cwd=cwd, env=env, home=home)

    found = analyse_code(act.language, act.source)
    lang = act.language.casefold()
    code_effect = Effect("code", program=lang, text=act.source, risk=found.risk,
                         why="; ".join(found.why), opaque=found.opaque)
    segments: list[Segment] = [Segment(f"<{lang} code>", None, (), (code_effect,), risk=found.risk,
                                       why=tuple(found.why), opaque=found.opaque,
                                       opaque_reason=found.opaque_reason)]
    effects: list[Effect] = [code_effect]
    effects.extend(finding_effects(found.findings, 0))
    for kind, target, recursive in found.effects:
        if kind == "network":
            e = Effect("network", host=target, segment=0)
        elif kind == "discard":  # what a statement loses (DROP TABLE x), as the shell analyser says it
            text = target or f"{lang} code loses data"
            e = Effect("discard", text=text, risk=HIGH, why=text, segment=0)
        else:
            p = literal_path(target, cwd=cwd, home=home) if target else None
            e = Effect(kind, path=p, recursive=recursive, segment=0, risk=found.risk if recursive else UNKNOWN,
                       why="; ".join(found.why))
        effects.append(e)
    segments[0] = replace(segments[0], effects=tuple(effects))
    errors: list[str] = []
    for cmd in found.commands:
        sub = analyse_command(cmd, cwd=cwd, env=env, home=home) if isinstance(cmd, str) else \
            analyse_argv(cmd, cwd=cwd, env=env, home=home)
        if sub.error:
            errors.append(sub.error)
        base = len(segments)
        for seg in sub.segments:
            segments.append(replace(seg, via=f"{lang} code", effects=tuple(
                replace(e, segment=e.segment + base) for e in seg.effects)))
        effects.extend(replace(e, segment=e.segment + base) for e in sub.effects)
    return Analysis(tuple(segments), tuple(effects), opaque=found.opaque,
                    reasons=(found.opaque_reason,) if found.opaque_reason else (),
                    error="; ".join(errors) or None)


def analyse_tool(act: ToolCall, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    e = Effect("tool", program=act.name, text=json_text(dict(act.args)))
    return Analysis((Segment(act.text, None, (), (e,)),), (e,), structured=False)


def analyse_message(act: Message, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    e = Effect("message", text=act.text, risk=LOW)
    return Analysis((Segment("message", None, (), (e,)),), (e,))


ANALYSERS: dict[str, Analyser] = {
    "command": analyse_command_action,
    "file": analyse_file,
    "fetch": analyse_fetch,
    "code": analyse_code_action,
    "tool": analyse_tool,
    "message": analyse_message,
}


def literal_path(path: str, *, cwd: str, home: str) -> str | None:
    """A path given as data (a file tool's argument, a string in code): no shell expansion, only a
    leading ``~``; made absolute against cwd and normalised.  None for an empty path or a NUL byte."""
    if not path or "\x00" in path:
        return None
    path = expand_home(path, home)
    if not path.startswith("/"):
        path = cwd + "/" + path
    return normalise_path(path)


def expand_home(path: str, home: str) -> str:
    """A leading ``~`` or ``~/`` as ``home``."""
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return path


__all__ = ["ANALYSERS", "analyse", "expand_home", "literal_path"]
