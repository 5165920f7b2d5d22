"""An agent's hook format as data: the tables in ``data/AGENT.toml``, read and checked here.

Each table says, for one agent (data/README.md describes every key):
  - where the event name, the working directory and the session are in the payload;
  - per event: where the tool's name and arguments are, the JSON printed for a verdict, and which
    decisions the event cannot express;
  - per tool: the action it becomes and which payload fields fill which action fields;
  - how each decision is rendered, the exit code of a payload that cannot be used;
  - where ``policylang hook install`` writes the agent's settings entry.

Adding an agent is adding a table; the code below knows no agent by name.  A table that breaks
these rules is an internal error (a test loads every shipped table), never a silent allow.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...frozen import record

__all__ = ["Agent", "Event", "Install", "SpecError", "Tool", "agent_names", "fill", "load_agent"]

KINDS = ("command", "file", "fetch", "tool", "message")
DECISIONS = ("allow", "ask", "sandbox", "deny")
FILE_OPS = ("read", "write", "edit", "delete", "list", "exec")
# The action fields a tool table may fill from the payload, per kind.
FIELDS = {"command": ("command", "cwd"), "file": ("path", "content"), "fetch": ("url", "urls_in"),
          "tool": (), "message": ("text",)}


class SpecError(Exception):
    """A hook table that breaks the rules of data/README.md."""


@record
class Tool:
    """What one tool's call becomes: an action ``kind``; ``fields`` maps an action field to the
    payload fields that may hold it (the first present wins; ``=TEXT`` is the literal TEXT);
    ``argv`` is an argv template of ``{field}`` or ``{field|other}`` words; ``defaults`` give the
    value of a payload field that is absent (any other absent field is an error)."""

    name: str
    kind: str
    op: str | None
    fields: Mapping[str, tuple[str, ...]]
    argv: tuple[str, ...] | None
    defaults: Mapping[str, str]


@record
class Event:
    name: str
    tool: tuple[str, ...]  # where the tool's name is (``=NAME``: the event is that tool)
    input: tuple[str, ...]  # where its arguments are (``.``: the payload itself)
    output: Any  # the JSON printed for a verdict: strings may hold {decision} and {reason}
    decisions: Mapping[str, str]  # decision -> the agent's word, for this event


@record
class Install:
    project: str
    user: str
    defaults: Mapping[str, Any]  # top-level keys set when the file lacks them
    entries: tuple[tuple[tuple[str, ...], Any], ...]  # (the path of the list, the entry appended to it)


@record
class Agent:
    name: str
    title: str
    reference: str
    event_field: tuple[str, ...]
    cwd: tuple[str, ...]
    session: tuple[str, ...]
    events: Mapping[str, Event]
    error_exit: int
    tools: Mapping[str, Tool]
    install: Install


def agent_names() -> list[str]:
    """The agents with a table, in name order."""
    return sorted(name[:-5] for name, _ in _tables())


_LOADED: dict[str, Agent] = {}
_CACHE_FORMAT = "hook-agent-1"


def load_agent(name: str) -> Agent:
    """The table of agent ``name``; KeyError when there is none, SpecError when it is malformed.

    From the private cache (cache.py) while the table's text is unchanged: a hook call then never
    imports ``tomllib``."""
    agent = _LOADED.get(name)
    if agent is not None:
        return agent
    text = dict(_tables()).get(f"{name}.toml")
    if text is None:
        raise KeyError(name)
    from ... import cache

    layout = repr([(c.__name__, getattr(c, "__record_fields__"))  # noqa: B009 -- set by @record, unknown to mypy
                   for c in (Agent, Event, Tool, Install)])
    key = cache.key_of(_CACHE_FORMAT, layout, name, text)
    hit = cache.load("hook-agent", key)
    if isinstance(hit, Agent) and hit.name == name:
        agent = hit
    else:
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"data/{name}.toml: {exc}") from None
        agent = _agent(name, data)
        cache.store("hook-agent", key, agent)
    _LOADED[name] = agent
    return agent


def _tables() -> list[tuple[str, str]]:
    """(file name, text) of every data/*.toml.  Read through the directory next to this module (the
    package's own in any installation); ``importlib.resources`` (about 10 ms of imports) only for a
    package that is not on a file system."""
    import os

    try:
        d = os.path.join(os.path.dirname(__file__), "data")
        out = []
        for entry in sorted(os.listdir(d)):
            if entry.endswith(".toml"):
                with open(os.path.join(d, entry), encoding="utf-8") as fh:
                    out.append((entry, fh.read()))
        return out
    except OSError:
        from importlib.resources import files

        root = files(__package__) / "data"
        return [(p.name, p.read_text(encoding="utf-8"))
                for p in sorted(root.iterdir(), key=lambda p: p.name) if p.name.endswith(".toml")]


# ---- checking a table --------------------------------------------------------------------------

def _keys(where: str, table: Any, allowed: set[str], required: frozenset[str] | set[str] = frozenset()) -> Mapping[str, Any]:
    if not isinstance(table, dict):
        raise SpecError(f"{where}: expected a table")
    unknown = set(table) - allowed
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    missing = required - set(table)
    if missing:
        raise SpecError(f"{where}: missing key(s) {', '.join(sorted(missing))}")
    return table


def _refs(where: str, value: Any) -> tuple[str, ...]:
    refs = (value,) if isinstance(value, str) else value
    if not isinstance(refs, (list, tuple)) or not refs or not all(isinstance(r, str) and r for r in refs):
        raise SpecError(f"{where}: expected a field name or a non-empty list of them")
    return tuple(refs)


def _decisions(where: str, table: Any, *, complete: bool) -> dict[str, str]:
    out = dict(_keys(where, table, set(DECISIONS), set(DECISIONS) if complete else set()))
    for decision, word in out.items():
        if not isinstance(word, str) or not word:
            raise SpecError(f"{where}.{decision}: expected the agent's word for it")
    if complete and out["deny"] == out["allow"]:
        raise SpecError(f"{where}: deny and allow must differ")
    return out


def _agent(name: str, data: Any) -> Agent:
    where = f"data/{name}.toml"
    top = _keys(where, data, {"name", "title", "reference", "payload", "events", "decisions", "error", "tools",
                              "install"}, {"name", "title", "reference", "payload", "events", "decisions", "error",
                                           "install"})
    if top["name"] != name:
        raise SpecError(f"{where}: name {top['name']!r} is not the file's name")
    payload = _keys(f"{where} [payload]", top["payload"], {"event", "cwd", "session"}, {"event", "cwd"})
    decisions = _decisions(f"{where} [decisions]", top["decisions"], complete=True)
    if decisions["sandbox"] == decisions["allow"]:
        raise SpecError(f"{where} [decisions]: sandbox cannot be allowed (the agent has no sandbox)")
    events = {}
    for ev_name, ev in _keys(f"{where} [events]", top["events"], set(top["events"])).items():
        ev = _keys(f"{where} [events.{ev_name}]", ev, {"tool", "input", "output", "decisions"},
                   {"tool", "input", "output"})
        words = dict(decisions)
        words.update(_decisions(f"{where} [events.{ev_name}.decisions]", ev.get("decisions", {}), complete=False))
        if words["sandbox"] == words["allow"] or words["ask"] == words["allow"] or words["deny"] == words["allow"]:
            raise SpecError(f"{where} [events.{ev_name}]: only allow may be rendered as the agent's allow")
        _check_template(f"{where} [events.{ev_name}].output", ev["output"], ("decision", "reason"))
        events[ev_name] = Event(ev_name, _refs(f"{where} events.{ev_name}.tool", ev["tool"]),
                                _refs(f"{where} events.{ev_name}.input", ev["input"]), ev["output"], words)
    if not events:
        raise SpecError(f"{where}: no events")
    error = _keys(f"{where} [error]", top["error"], {"exit"}, {"exit"})
    if not isinstance(error["exit"], int) or error["exit"] == 0:
        raise SpecError(f"{where} [error]: exit must be the agent's non-zero blocking exit code")
    tools = {t: _tool(f"{where} [tools.{t}]", t, table) for t, table in dict(top.get("tools", {})).items()}
    return Agent(name, str(top["title"]), str(top["reference"]), _refs(f"{where} payload.event", payload["event"]),
                 _refs(f"{where} payload.cwd", payload["cwd"]),
                 _refs(f"{where} payload.session", payload.get("session", "=")), events, error["exit"], tools,
                 _install(f"{where} [install]", top["install"]))


def _check_template(where: str, template: Any, names: tuple[str, ...]) -> None:
    """A template holds JSON values; a string with a brace is exactly one of the placeholders ``names``."""
    if isinstance(template, dict):
        for k, v in template.items():
            _check_template(f"{where}.{k}", v, names)
    elif isinstance(template, list):
        for v in template:
            _check_template(where, v, names)
    elif isinstance(template, str) and ("{" in template or "}" in template) and \
            template not in {"{" + n + "}" for n in names}:
        shown = " or ".join("{" + n + "}" for n in names)
        raise SpecError(f"{where}: {template!r}: a placeholder is a whole string, {shown}")
    elif not isinstance(template, (str, bool, int, float)):
        raise SpecError(f"{where}: not a JSON value")


def fill(template: Any, values: Mapping[str, str]) -> Any:
    """``template`` with each string that is a placeholder (``{name}``) replaced by its value; every
    other string is literal (the tables are checked: no other string has a brace)."""
    if isinstance(template, str):
        if template.startswith("{") and template.endswith("}"):
            return values[template[1:-1]]
        return template
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def _tool(where: str, name: str, table: Any) -> Tool:
    kind = table.get("kind") if isinstance(table, dict) else None
    if kind not in KINDS:
        raise SpecError(f"{where}: kind must be one of {', '.join(KINDS)}")
    allowed = {"kind", "defaults", *FIELDS[kind]} | ({"op"} if kind == "file" else set()) | \
        ({"argv"} if kind == "command" else set())
    _keys(where, table, allowed)
    op = table.get("op")
    if kind == "file" and op not in FILE_OPS:
        raise SpecError(f"{where}: op must be one of {', '.join(FILE_OPS)}")
    fields = {f: _refs(f"{where}.{f}", table[f]) for f in FIELDS[kind] if f in table}
    argv = table.get("argv")
    if argv is not None and (not isinstance(argv, list) or not argv or not all(isinstance(w, str) for w in argv)):
        raise SpecError(f"{where}.argv: expected a list of words")
    need = {"command": ("command",) if argv is None else (), "file": ("path",), "message": ("text",),
            "fetch": (), "tool": ()}[kind]
    if kind == "command" and (argv is None) == ("command" not in fields):
        raise SpecError(f"{where}: a command tool has either command or argv")
    if kind == "fetch" and len(fields) != 1:
        raise SpecError(f"{where}: a fetch tool has either url or urls_in")
    for f in need:
        if f not in fields:
            raise SpecError(f"{where}: missing key {f}")
    defaults = table.get("defaults", {})
    if not isinstance(defaults, dict) or not all(isinstance(v, str) for v in defaults.values()):
        raise SpecError(f"{where}.defaults: expected a table of strings")
    return Tool(name, kind, op, fields, tuple(argv) if argv is not None else None, dict(defaults))


def _install(where: str, table: Any) -> Install:
    t = _keys(where, table, {"project", "user", "defaults", "entries"}, {"project", "user", "entries"})
    entries = []
    for i, e in enumerate(t["entries"] if isinstance(t["entries"], list) else [None]):
        e = _keys(f"{where} entries[{i}]", e, {"at", "entry"}, {"at", "entry"})
        _check_template(f"{where} entries[{i}].entry", e["entry"], ("command",))
        entries.append((_refs(f"{where} entries[{i}].at", e["at"]), e["entry"]))
    defaults = t.get("defaults", {})
    if not isinstance(defaults, dict):
        raise SpecError(f"{where}.defaults: expected a table")
    return Install(str(t["project"]), str(t["user"]), dict(defaults), tuple(entries))
