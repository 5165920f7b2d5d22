"""Framework-neutral events for a security analyzer (docs/analyzer.md): actions, observations,
messages, confirmation requests and answers, and the in-memory stream that carries them.

The shapes follow the agent frameworks that have security analyzers (OpenHands and its like)
without depending on any of them: an action event carries a policylang action, or a dict in the
framework's own form (``{"action": "run", "command": "ls"}``) that ``to_action`` maps through
``data/framework_actions.toml``, or the JSON form of ``decide --jsonl`` (``{"kind": ...}``).
"""
from __future__ import annotations

import enum
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..actions import Action, ActionError, Code, Command, Fetch, FileOp, Message, ToolCall, action_from_json
from ..verdict import Verdict

ACTION_TYPES = (Command, FileOp, Fetch, Code, ToolCall, Message)


class ActionSecurityRisk(enum.IntEnum):
    """The risk a framework reads from its analyzer; UNKNOWN is never LOW."""

    UNKNOWN = -1
    LOW = 0
    MEDIUM = 1
    HIGH = 2


class ActionConfirmationStatus(str, enum.Enum):
    """What became of an action event: it may run, it may not, or it waits for a person."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    AWAITING_CONFIRMATION = "awaiting_confirmation"


class EventSource:
    """Who added an event (plain strings, as frameworks write them)."""

    AGENT = "agent"
    USER = "user"
    ENVIRONMENT = "environment"
    ANALYZER = "analyzer"


@dataclass(eq=False, kw_only=True)
class Event:
    """One event of a stream; the stream gives it its id and time when it is added."""

    id: int = -1
    timestamp: float = 0.0
    source: str = EventSource.ENVIRONMENT


@dataclass(eq=False)
class ActionEvent(Event):
    """An action the agent wants to take.  The analyzer fills in the last five fields."""

    action: Action | Mapping[str, Any]
    thought: str = ""
    source: str = field(default=EventSource.AGENT, kw_only=True)
    security_risk: ActionSecurityRisk = ActionSecurityRisk.UNKNOWN
    confirmation_state: ActionConfirmationStatus | None = None  # None: not acted on yet
    verdict: Verdict | None = None
    rejection_reason: str | None = None  # "rule-id: message" of what rejected it
    decision_id: str | None = None  # the audit record of the verdict, when the analyzer keeps an audit log

    @property
    def may_run(self) -> bool:
        """Whether the action was confirmed (a sandbox verdict must still run isolated)."""
        return self.confirmation_state is ActionConfirmationStatus.CONFIRMED


@dataclass(eq=False)
class ObservationEvent(Event):
    """What running an action (``cause``: its event id) or the environment produced."""

    content: str
    cause: int | None = None
    observation: str = "run"


@dataclass(eq=False)
class MessageEvent(Event):
    """A message to the agent (from the user by default); the agent's own messages are actions."""

    text: str
    source: str = field(default=EventSource.USER, kw_only=True)


@dataclass(eq=False)
class ConfirmationRequest(Event):
    """The analyzer asks a person to confirm or reject the action event ``action_id``."""

    action_id: int
    security_risk: ActionSecurityRisk
    action_text: str  # the verdict's action text: secrets already redacted
    reasons: tuple[str, ...] = ()
    source: str = field(default=EventSource.ANALYZER, kw_only=True)


@dataclass(eq=False)
class UserConfirmation(Event):
    """A person's answer to a confirmation request."""

    action_id: int
    confirmed: bool
    reason: str = ""
    source: str = field(default=EventSource.USER, kw_only=True)


Subscriber = Callable[[Event], None]


class EventStream:
    """An in-memory event stream: ``add_event`` numbers an event and hands it to every subscriber,
    in the order they subscribed, on the calling thread.

    No lock is held while subscribers run, so a subscriber may wait for an event another thread
    adds (the analyzer waiting for a person's confirmation).  The stream keeps the last
    ``max_events`` events (``dropped`` counts those let go).  A subscriber that raises does not keep
    the event from the others; the first exception is raised again to whoever added the event.
    """

    def __init__(self, max_events: int = 1000) -> None:
        if max_events < 1:
            raise ValueError("max_events must be at least 1")
        self._lock = threading.Lock()
        self._subscribers: dict[int, Subscriber] = {}
        self._next_token = 0
        self._next_id = 0
        self._events: deque[Event] = deque(maxlen=max_events)
        self.dropped = 0

    def subscribe(self, callback: Subscriber) -> int:
        """Deliver every later event to ``callback``; the token ``unsubscribe`` takes."""
        with self._lock:
            token = self._next_token
            self._next_token += 1
            self._subscribers[token] = callback
            return token

    def unsubscribe(self, token: int) -> bool:
        """Stop delivering to the subscriber of ``token``; False when it was not subscribed."""
        with self._lock:
            return self._subscribers.pop(token, None) is not None

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def add_event(self, event: Event, source: str | None = None) -> int:
        """Number the event, keep it and deliver it; its id."""
        if not isinstance(event, Event):
            raise TypeError(f"not an event: {type(event).__name__}")
        with self._lock:
            event.id = self._next_id
            self._next_id += 1
            event.timestamp = time.time()
            if source is not None:
                event.source = source
            if len(self._events) == self._events.maxlen:
                self.dropped += 1
            self._events.append(event)
            subscribers = list(self._subscribers.values())
        first: BaseException | None = None
        for callback in subscribers:
            try:
                callback(event)
            except Exception as exc:  # noqa: BLE001 -- the others still get the event
                first = first or exc
        if first is not None:
            raise first
        return event.id

    def get_events(self) -> list[Event]:
        """The events kept, oldest first."""
        with self._lock:
            return list(self._events)

    def get_event(self, event_id: int) -> Event | None:
        with self._lock:
            return next((e for e in self._events if e.id == event_id), None)


# ---- framework actions as policylang actions ------------------------------------------------

@lru_cache(maxsize=1)
def framework_actions() -> dict[str, dict[str, Any]]:
    """The table of ``data/framework_actions.toml`` by action name and alias."""
    import tomllib
    from importlib.resources import files

    data = tomllib.loads(files(__package__).joinpath("data/framework_actions.toml").read_text("utf-8"))
    out: dict[str, dict[str, Any]] = {}
    for name, spec in data.items():
        for alias in (name, *spec.get("aliases", ())):
            out[alias] = spec
    return out


def to_action(value: Any) -> Action:
    """The policylang action of an action event's payload.  Raises ActionError saying what is wrong."""
    if isinstance(value, ACTION_TYPES):
        return value
    if not isinstance(value, Mapping):
        raise ActionError(f"an action event carries a policylang action or a dict, not {type(value).__name__}")
    if "kind" in value:
        return action_from_json(dict(value))
    name = value.get("action")
    if not isinstance(name, str):
        raise ActionError("an action dict names its action with 'action' (run, read, write, edit, browse, "
                          "run_ipython, call_tool_mcp, message) or its policylang kind with 'kind'")
    spec = framework_actions().get(name)
    if spec is None:
        raise ActionError(f"unknown framework action {name!r}")
    out: dict[str, Any] = {"kind": spec["kind"], **spec.get("set", {})}
    for target, names in spec.get("fields", {}).items():
        for source in ([names] if isinstance(names, str) else names):
            if value.get(source) is not None:
                out[target] = value[source]
                break
    if out["kind"] == "tool" and "args" not in out:
        out["args"] = {}
    return action_from_json(out)
