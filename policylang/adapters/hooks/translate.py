"""An agent's hook payload -> the policylang actions it stands for, by the agent's table (spec.py).

``read_payload`` reads stdin within its bound and decodes one JSON object; ``translate`` finds the
event, the tool and its arguments where the table says, and builds one action per tool call (or
one per URL for a fetch tool whose text names several).  Anything it cannot use raises
``PayloadError`` with a reason for the agent: the hook then blocks (fail closed).
"""
from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import IO, Any

from ...actions import Action, Command, Context, Fetch, FileOp, Message, ToolCall, json_text
from ...frozen import record
from .spec import Agent, Event, Tool

__all__ = ["Call", "PayloadError", "event_of", "read_payload", "translate"]

_MAX_URLS = 32  # fetches judged for one tool call; more is an error, never a partial check


class PayloadError(Exception):
    """A hook payload that cannot be decided: the reason is shown to the agent."""


@record
class Call:
    """One hook call: its event, the tool, the actions it stands for and the context."""

    event: Event
    tool: str
    actions: tuple[Action, ...]
    context: Context
    cwd: str


def read_payload(stream: IO[bytes]) -> dict[str, Any]:
    """The JSON object on ``stream``: bounded (MAX_HOOK_BYTES), UTF-8, at most MAX_NESTING deep."""
    from ...inputs import MAX_HOOK_BYTES, InputError, decode_utf8, read_stream

    try:
        text = decode_utf8(read_stream(stream, MAX_HOOK_BYTES), "<stdin>")
    except InputError as exc:
        raise PayloadError(f"the hook input cannot be read: {exc}") from None
    if not text.strip():
        raise PayloadError("the hook input is empty: expected one JSON object on stdin")
    value = _json(text, "the hook input")
    if not isinstance(value, dict):
        raise PayloadError(f"the hook input must be a JSON object, not {_type(value)}")
    return value


def event_of(agent: Agent, payload: Mapping[str, Any]) -> Event | None:
    """The event the payload names, when the table has it (to render an error in its form)."""
    name = _lookup(payload, agent.event_field)
    return agent.events.get(name) if isinstance(name, str) else None


def translate(agent: Agent, payload: Mapping[str, Any], fallback_cwd: str) -> Call:
    """The call ``payload`` stands for under ``agent``'s table; PayloadError when it cannot be used."""
    event_name = _string(payload, agent.event_field, "event name")
    event = agent.events.get(event_name)
    if event is None:
        raise PayloadError(f"{agent.title} sent the event {event_name!r}, which this hook does not handle "
                           f"(expected {', '.join(agent.events)})")
    cwd = _optional_string(payload, agent.cwd, "working directory")
    cwd = os.path.abspath(cwd) if cwd else fallback_cwd
    tool_name = _string(payload, event.tool, "tool name")
    args = _lookup(payload, event.input)
    if isinstance(args, str) and event.input != (".",):  # an MCP call's arguments may come as JSON text
        args = _json(args, f"the text of the arguments of {tool_name}")
    if not isinstance(args, dict):
        raise PayloadError(f"the arguments of {tool_name} ({'/'.join(event.input)}) must be a JSON object, "
                           f"not {_type(args)}")
    session = _optional_string(payload, agent.session, "session id")
    context = Context(principal=f"agent:{agent.name}", session=session)
    tool = agent.tools.get(tool_name)
    if tool is None:  # an MCP tool, or one the table does not know: the policy judges the named call
        return Call(event, tool_name, (ToolCall(tool_name, args),), context, cwd)
    return Call(event, tool_name, _actions(tool, args, cwd), context, cwd)


# ---- the actions of one tool -------------------------------------------------------------------

def _actions(tool: Tool, args: Mapping[str, Any], cwd: str) -> tuple[Action, ...]:
    kind = tool.kind
    if kind == "command":
        at = _resolve(cwd, _field(tool, args, "cwd", cwd))
        if tool.argv is not None:
            return (Command(tuple(_word(tool, args, w) for w in tool.argv), cwd=at),)
        return (Command(_text(tool, args, "command"), cwd=at),)
    if kind == "file":
        content = _field(tool, args, "content", None) if "content" in tool.fields else None
        assert tool.op is not None
        return (FileOp(tool.op, _text(tool, args, "path"), cwd=cwd, content=content),)
    if kind == "fetch":
        if "url" in tool.fields:
            return (Fetch(_text(tool, args, "url")),)
        urls = _urls(_text(tool, args, "urls_in"))
        if not urls:
            return (ToolCall(tool.name, args),)
        if len(urls) > _MAX_URLS:
            raise PayloadError(f"{tool.name} names {len(urls)} URLs; at most {_MAX_URLS} are judged in one call")
        return tuple(Fetch(u) for u in urls)
    if kind == "message":
        return (Message(_text(tool, args, "text", any_json=True), direction="out"),)
    return (ToolCall(tool.name, args),)


def _text(tool: Tool, args: Mapping[str, Any], field: str, *, any_json: bool = False) -> str:
    value = _field(tool, args, field, None, any_json=any_json)
    if value is None:
        raise PayloadError(f"{tool.name}: missing the argument {' or '.join(tool.fields[field])}")
    if not value and field in _NOT_EMPTY:
        raise PayloadError(f"{tool.name}: the argument {' or '.join(tool.fields[field])} must not be empty")
    return value


_NOT_EMPTY = frozenset(("command", "path", "url", "w"))  # "w": an argv template's word


def _field(tool: Tool, args: Mapping[str, Any], field: str, default: str | None, *,
           any_json: bool = False) -> str | None:
    """The value of action field ``field``: the first of its payload fields present (a literal for
    ``=TEXT``), else the table's default for it, else ``default``."""
    refs = tool.fields.get(field)
    if refs is None:
        return default
    for ref in refs:
        if ref.startswith("="):
            return ref[1:]
        value = _path_value(args, ref, tool.name)
        if value is None:
            continue
        if isinstance(value, str):
            return value
        if any_json:
            return json_text(value)
        raise PayloadError(f"{tool.name}: the argument {ref} must be a string, not {_type(value)}")
    for ref in refs:
        if ref in tool.defaults:
            return tool.defaults[ref]
    return default


def _word(tool: Tool, args: Mapping[str, Any], word: str) -> str:
    """One argv word of the template: ``{a|b}`` is the first of a, b present (or its default)."""
    if not (word.startswith("{") and word.endswith("}")):
        return word
    refs = word[1:-1].split("|")
    probe = Tool(tool.name, "command", None, {"w": tuple(refs)}, None, tool.defaults)
    return _text(probe, args, "w")


def _path_value(args: Mapping[str, Any], ref: str, tool: str) -> Any:
    """``a.b`` (nested), ``list[].key`` (each element's key, one per line); None when absent."""
    if "[]." in ref:
        head, _, key = ref.partition("[].")
        items = _lookup(args, (head,))
        if items is None:
            return None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise PayloadError(f"{tool}: the argument {head} must be a list of objects")
        texts = [i.get(key) for i in items]
        if not all(isinstance(t, str) for t in texts):
            raise PayloadError(f"{tool}: every {head} element needs a string {key}")
        return "\n".join(t for t in texts if isinstance(t, str))
    return _lookup(args, (ref,))


def _resolve(cwd: str, path: str | None) -> str:
    if not path:
        return cwd
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(path) if path.startswith("~") else path))


def _urls(text: str) -> list[str]:
    """The http and https URLs a text names, in order, without repeats and trailing punctuation."""
    import re

    found = (m.group(0).rstrip(".,;:!?)]}'\"") for m in re.finditer(r"(?i)\bhttps?://[^\s<>\"'`]+", text))
    return list(dict.fromkeys(found))


# ---- the payload's fields ------------------------------------------------------------------------

def _lookup(obj: Any, refs: Sequence[str]) -> Any:
    """The value at the first of ``refs`` present: ``.`` is ``obj`` itself, ``a.b.0`` walks objects
    and lists, ``=TEXT`` is TEXT; None when none is present."""
    for ref in refs:
        if ref == ".":
            return obj
        if ref.startswith("="):
            return ref[1:]
        value = obj
        for part in ref.split("."):
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
            if value is None:
                break
        if value is not None:
            return value
    return None


def _string(payload: Mapping[str, Any], refs: Sequence[str], what: str) -> str:
    value = _lookup(payload, refs)
    if value is None:
        raise PayloadError(f"the hook input has no {what} (field {' or '.join(refs)})")
    if not isinstance(value, str) or not value:
        raise PayloadError(f"the {what} ({' or '.join(refs)}) must be a non-empty string, not {_type(value)}")
    return value


def _optional_string(payload: Mapping[str, Any], refs: Sequence[str], what: str) -> str | None:
    value = _lookup(payload, refs)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise PayloadError(f"the {what} ({' or '.join(refs)}) must be a string, not {_type(value)}")
    return value


def _json(text: str, what: str) -> Any:
    """The JSON value ``text`` holds (at most MAX_NESTING deep, no lone surrogate); PayloadError."""
    import json

    from ..cli_batch import value_problem

    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"{what} is not JSON: {exc}") from None
    problem = value_problem(value)
    if problem is not None:
        raise PayloadError(f"{what} cannot be used: {problem}")
    return value


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)
