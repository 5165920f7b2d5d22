"""Actions: what is about to happen (DESIGN §2), and the context it happens in."""
from __future__ import annotations

from types import MappingProxyType
from typing import Any, ClassVar, Mapping, Union

from .frozen import record

FILE_OPS = ("read", "write", "edit", "delete", "list", "exec")


@record
class Context:
    """Who acts and how: an admin principal may override high-risk denies; headless turns ask into deny."""

    principal: str = "user"
    role: str = "user"  # "admin" enables allow_admin_override
    interactive: bool = True
    session: str | None = None


@record
class Command:
    """A shell string, or an argv list run without a shell."""

    command: str | tuple[str, ...]
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    kind: ClassVar[str] = "command"

    @property
    def text(self) -> str:
        if isinstance(self.command, str):
            return self.command
        import shlex

        return shlex.join(self.command)


@record
class FileOp:
    op: str  # read | write | edit | delete | list | exec
    path: str
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    content: str | None = None  # what a write or edit puts in the file (scanned for secrets)
    kind: ClassVar[str] = "file"

    @property
    def text(self) -> str:
        return f"{self.op} {self.path}"


@record
class Fetch:
    url: str
    method: str = "GET"
    headers: Mapping[str, str] | None = None
    body: str | None = None
    kind: ClassVar[str] = "fetch"

    @property
    def text(self) -> str:
        return f"{self.method} {self.url}"


@record
class Code:
    language: str
    source: str
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    kind: ClassVar[str] = "code"

    @property
    def text(self) -> str:
        return self.source


@record
class ToolCall:
    name: str
    args: Mapping[str, Any] = MappingProxyType({})
    kind: ClassVar[str] = "tool"

    @property
    def text(self) -> str:
        return f"{self.name} {json_text(self.args)}"


@record
class Message:
    text: str
    direction: str = "out"  # out: the agent emits it; in: the agent receives it
    kind: ClassVar[str] = "message"


Action = Union[Command, FileOp, Fetch, Code, ToolCall, Message]


def json_text(value: Any) -> str:
    """Canonical JSON of a tool call's arguments (sorted keys; what JSON cannot hold as its str)."""
    import json  # only tool calls need it; a command's cold start does not

    return json.dumps(value, sort_keys=True, default=str)


class ActionError(ValueError):
    """A JSON action description that cannot be turned into an Action."""


def _str(obj: Mapping[str, Any], key: str, *, required: bool = True) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise ActionError(f"missing field {key!r}")
        return None
    if not isinstance(value, str):
        raise ActionError(f"field {key!r} must be a string, not {type(value).__name__}")
    return value


def _env(obj: Mapping[str, Any]) -> Mapping[str, str] | None:
    env = obj.get("env")
    if env is None:
        return None
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise ActionError("field 'env' must be an object of strings")
    return dict(env)


def action_from_json(value: Any) -> Action:
    """Build an Action from the JSON form used by ``decide --jsonl`` and the hook.

    A bare string is a shell command.  Raises ActionError saying what is wrong.
    """
    if isinstance(value, str):
        return Command(value)
    if not isinstance(value, dict):
        raise ActionError(f"expected a string or an object, got {type(value).__name__}")
    kind = value.get("kind", "command" if "command" in value else None)
    if kind == "command":
        cmd = value.get("command", value.get("argv"))
        if isinstance(cmd, list):
            if not cmd or not all(isinstance(a, str) for a in cmd):
                raise ActionError("field 'command' as a list must be a non-empty list of strings")
            cmd = tuple(cmd)
        elif not isinstance(cmd, str):
            raise ActionError("field 'command' must be a string or a list of strings")
        return Command(cmd, cwd=_str(value, "cwd", required=False), env=_env(value))
    if kind == "file":
        op = _str(value, "op")
        if op not in FILE_OPS:
            raise ActionError(f"field 'op' must be one of {', '.join(FILE_OPS)}, not {op!r}")
        return FileOp(op, _str(value, "path") or "", cwd=_str(value, "cwd", required=False), env=_env(value),
                      content=_str(value, "content", required=False))
    if kind == "fetch":
        headers = value.get("headers")
        if headers is not None and not (isinstance(headers, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in headers.items())):
            raise ActionError("field 'headers' must be an object of strings")
        return Fetch(_str(value, "url") or "", method=_str(value, "method", required=False) or "GET",
                     headers=headers, body=_str(value, "body", required=False))
    if kind == "code":
        return Code(_str(value, "language") or "", _str(value, "source") or "",
                    cwd=_str(value, "cwd", required=False), env=_env(value))
    if kind == "tool":
        args = value.get("args", {})
        if not isinstance(args, dict):
            raise ActionError("field 'args' must be an object")
        return ToolCall(_str(value, "name") or "", args)
    if kind == "message":
        return Message(_str(value, "text") or "", direction=_str(value, "direction", required=False) or "out")
    raise ActionError(f"unknown action kind {kind!r} (expected command, file, fetch, code, tool or message)")
