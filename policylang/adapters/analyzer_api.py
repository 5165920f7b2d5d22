"""The security analyzer's request/response API (docs/analyzer.md): the user-layer policy, the
analyzer settings and the trace, framework-neutral (method, path, JSON body -> status, JSON body).

  GET  /policy     the user-layer policy text set through the API, and the layers under it
  POST /policy     {"policy": TEXT}: compiled on top of the loaded layers; 400 with the
                   diagnostics (file:line:col) when it does not compile or its examples fail
  GET  /settings   analyzer, confirmation_mode, risk_threshold, mode (and the config's values)
  POST /settings   some of them: all applied or none
  GET  /trace      the trace (``PolicylangAnalyzer.export_trace``)

A path may carry the ``/api/security`` prefix frameworks mount analyzers under.  A change that
would loosen what the configuration (with its admin file) sets is refused with 403 and the reason:
a setting judged by the loader's own tightening order (config/loader.py ``SETTING_KEYS``), a
``disable`` or ``except`` of a loaded rule that does not allow, or a rule that would allow, sandbox
or ask for what an admin rule denies (the admin rule would win anyway: such a rule only misleads).
That last test is lang/shadow.py's: it reports only the overlaps it can prove (one rule's target
covers the other's, paths written the same way), so a refusal is certain and an acceptance is not
a guarantee -- which is safe, because an admin deny wins whatever the user layer says.
Choosing another analyzer is the configuration's business: 409.  Errors have the CLI's JSON error
form (``adapters/cli_codes.error_json``).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..diagnostics import PolicyError, render_all
from ..inputs import MAX_NESTING, MAX_POLICY_BYTES
from ..lang import nodes as ast
from ..settings import MODES
from ..source import Source
from ..verdict import ALLOW, DENY, Risk
from .cli_codes import error_json

if TYPE_CHECKING:
    from ..engine.matcher import CompiledRule
    from .analyzer import PolicylangAnalyzer

POLICY_NAME = "<analyzer:policy>"  # the name diagnostics give the API's policy text
PREFIX = "/api/security"
MAX_BODY_BYTES = 2 * MAX_POLICY_BYTES  # a policy file's limit, with room for JSON's escapes
SETTINGS = {"analyzer": "security_analyzer", "confirmation_mode": "confirmation_mode",
            "risk_threshold": "risk_threshold", "mode": "mode"}  # API name -> setting key
THRESHOLDS = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    body: str | bytes | Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any] = field(default_factory=dict)

    def json(self) -> str:
        return json.dumps(self.body, sort_keys=True)


class _Refused(Exception):
    def __init__(self, status: int, kind: str, message: str, reasons: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.status, self.kind, self.reasons = status, kind, reasons


def _error(status: int, kind: str, message: str, reasons: tuple[str, ...] = (), diagnostics: Any = ()) -> ApiResponse:
    body = error_json(kind, message, diagnostics)
    if reasons:
        body["error"]["reasons"] = list(reasons)
    return ApiResponse(status, body)


def handle(analyzer: PolicylangAnalyzer, request: ApiRequest | Mapping[str, Any]) -> ApiResponse:
    """The response to one request; never raises (an internal error is a 500 and changes nothing)."""
    try:
        req = _request(request)
    except _Refused as r:
        return _error(r.status, r.kind, str(r))
    if analyzer.closed:
        return _error(503, "closed", "the analyzer is closed")
    path = req.path.split("?", 1)[0]
    if path.startswith(PREFIX + "/"):
        path = path[len(PREFIX):]
    route = ROUTES.get(path.rstrip("/"))
    if route is None:
        return _error(404, "not-found", f"no route {path!r} (routes: {', '.join(sorted(ROUTES))})")
    handler = route.get(req.method.upper())
    if handler is None:
        return _error(405, "method", f"{req.method.upper()} {path}: use {' or '.join(sorted(route))}")
    try:
        with analyzer.api_lock:
            return handler(analyzer, req)
    except _Refused as r:
        return _error(r.status, r.kind, str(r), r.reasons)
    except PolicyError as err:
        response = _error(400, "policy", "the policy is refused", diagnostics=err.diagnostics)
        response.body["error"]["rendered"] = render_all(err.diagnostics)  # file:line:col, the line, a caret
        return response
    except Exception as exc:  # noqa: BLE001 -- nothing was changed
        return _error(500, "internal", f"internal error: {type(exc).__name__}: {exc}")


def _request(request: ApiRequest | Mapping[str, Any]) -> ApiRequest:
    if isinstance(request, ApiRequest):
        req = request
    elif isinstance(request, Mapping):
        req = ApiRequest(request.get("method", ""), request.get("path", ""), request.get("body"))
    else:
        raise _Refused(400, "usage", f"a request is an ApiRequest or a mapping, not {type(request).__name__}")
    if not isinstance(req.method, str) or not isinstance(req.path, str) or not req.path.startswith("/"):
        raise _Refused(400, "usage", "a request needs a method and a path starting with '/'")
    return req


def _body(req: ApiRequest) -> Mapping[str, Any]:
    """The request's JSON object (bounded in size and nesting)."""
    raw = req.body
    if raw is None or raw == "" or raw == b"":
        raise _Refused(400, "usage", "the request needs a JSON object body")
    if isinstance(raw, Mapping):
        return raw
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if not isinstance(raw, bytes):
        raise _Refused(400, "usage", f"a body is JSON text or a mapping, not {type(raw).__name__}")
    if len(raw) > MAX_BODY_BYTES:
        raise _Refused(413, "usage", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise _Refused(400, "usage", f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _Refused(400, "usage", f"the body must be a JSON object, not {type(value).__name__}")
    if _depth(value) > MAX_NESTING:
        raise _Refused(400, "usage", f"the body nests deeper than {MAX_NESTING} levels")
    return value


def _depth(value: Any, level: int = 1) -> int:
    if level > MAX_NESTING:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


# ---- the routes -----------------------------------------------------------------------------

def get_policy(analyzer: PolicylangAnalyzer, req: ApiRequest) -> ApiResponse:
    layers = [{"name": getattr(s, "name", ""), "layer": s.layer} for s in analyzer.layers.sources]
    return ApiResponse(200, {"ok": True, "policy": analyzer.user_policy, "name": POLICY_NAME, "layers": layers,
                             "rules": len(analyzer.policy.rules)})


def post_policy(analyzer: PolicylangAnalyzer, req: ApiRequest) -> ApiResponse:
    from ..config.precompiled import link_layers
    from ..lang.parse import parse_policy

    body = _body(req)
    _only(body, ("policy",))
    text = body.get("policy")
    if not isinstance(text, str):
        raise _Refused(400, "usage", "'policy' must be a string (the user-layer policy text)")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_POLICY_BYTES:
        raise _Refused(413, "usage", f"the policy is larger than {MAX_POLICY_BYTES} bytes")
    source = Source(POLICY_NAME, text, layer="user")
    tree, diagnostics = parse_policy(source)
    if any(d.is_error for d in diagnostics):
        raise PolicyError(diagnostics)
    base = analyzer.base_rules
    refusals = _loosening_statements(tree, base)
    if refusals:
        raise _Refused(403, "forbidden", "the policy would loosen what the configuration forbids", refusals)
    sources = list(analyzer.layers.sources)
    at = next((i for i, s in enumerate(sources) if s.layer in ("project", "admin")), len(sources))
    sources.insert(at, source)
    policy, _ = link_layers(analyzer.layers, sources, analyzer.policy.settings)
    refusals = _against_admin(policy.rules, base)
    if refusals:
        raise _Refused(403, "forbidden", "the policy would allow what the admin layer denies (the admin rule "
                       "wins anyway)", refusals)
    analyzer.install(policy, text)
    warnings = [d.to_json() for d in policy.diagnostics if d.span is not None and d.span.source == POLICY_NAME]
    return ApiResponse(200, {"ok": True, "policy": text, "rules": len(policy.rules), "warnings": warnings})


def _loosening_statements(tree: ast.PolicyFile, base: tuple[CompiledRule, ...]) -> tuple[str, ...]:
    """A ``disable`` or ``except`` of a loaded rule that does not simply allow loosens it."""
    by_id = {r.id: r for r in base}
    out = []
    for st in tree.statements:
        if isinstance(st, (ast.Disable, ast.Except)):
            rule = by_id.get(st.rule)
            if rule is not None and rule.decision is not ALLOW:
                verb = "disable" if isinstance(st, ast.Disable) else "add an exception to"
                out.append(f"{st.span}: would {verb} rule {rule.id!r} ({rule.decision.label}, {rule.layer} layer, "
                           f"{rule.location})")
    return tuple(out)


def _against_admin(rules: tuple[CompiledRule, ...], base: tuple[CompiledRule, ...]) -> tuple[str, ...]:
    """A rule of the API's text that allows, sandboxes or asks for what an admin rule denies: one
    covers the other (lang/shadow.py's conservative test, both ways)."""
    from ..lang.shadow import covers

    admin = [r for r in base if r.layer == "admin" and r.decision is DENY]
    out = []
    for rule in rules:
        if rule.decision is DENY or not rule.location.startswith(POLICY_NAME + ":"):
            continue
        for a in admin:
            a_plain, r_plain = not a.unless and a.when is None, not rule.unless and rule.when is None
            if (a_plain and covers(a, rule)) or (r_plain and covers(rule, a)):
                out.append(f"{rule.location}: rule {rule.id!r} ({rule.decision.label}) overlaps admin rule {a.id!r} "
                           f"(deny, {a.location}); the admin rule wins")
                break
    return tuple(out)


def settings_view(settings: Any) -> dict[str, Any]:
    return {"analyzer": settings.security_analyzer, "confirmation_mode": settings.confirmation_mode,
            "risk_threshold": settings.risk_threshold.label, "mode": settings.mode}


def get_settings(analyzer: PolicylangAnalyzer, req: ApiRequest) -> ApiResponse:
    return ApiResponse(200, {"ok": True, "settings": settings_view(analyzer.policy.settings),
                             "config": settings_view(analyzer.layers.settings)})


def post_settings(analyzer: PolicylangAnalyzer, req: ApiRequest) -> ApiResponse:
    from ..config.loader import SETTING_KEYS, show_value

    body = _body(req)
    _only(body, tuple(SETTINGS))
    config = analyzer.layers.settings
    changes: dict[str, Any] = {}
    refusals = []
    for name, raw in body.items():
        key = SETTINGS[name]
        value = _setting_value(name, raw)
        configured = getattr(config, key)
        if name == "analyzer":
            if value != configured:
                raise _Refused(409, "conflict", f"analyzer: the configuration chooses the analyzer "
                                                f"({configured!r}); this one is {analyzer.name!r}")
            continue
        if SETTING_KEYS[key].tighten(configured, value) != value:  # the loader's own order
            refusals.append(f"{name}: {show_value(key, value)!r} would loosen the configuration's "
                            f"{show_value(key, configured)!r}")
        changes[key] = value
    if refusals:
        raise _Refused(403, "forbidden", "the change would loosen what the configuration sets", tuple(refusals))
    if changes:
        analyzer.apply_settings(changes)
    return ApiResponse(200, {"ok": True, "settings": settings_view(analyzer.policy.settings)})


def _setting_value(name: str, raw: Any) -> Any:
    if name == "confirmation_mode":
        if not isinstance(raw, bool):
            raise _Refused(400, "usage", "confirmation_mode must be true or false")
        return raw
    if name == "risk_threshold":
        labels = [r.label for r in THRESHOLDS]
        if raw not in labels:
            raise _Refused(400, "usage", f"risk_threshold must be one of {', '.join(labels)}")
        return Risk.parse(raw)
    if name == "mode":
        if raw not in MODES:
            raise _Refused(400, "usage", f"mode must be one of {', '.join(MODES)}")
        return raw
    if not isinstance(raw, str) or not raw:
        raise _Refused(400, "usage", "analyzer must be a non-empty string")
    return raw


def _only(body: Mapping[str, Any], names: tuple[str, ...]) -> None:
    unknown = sorted(k for k in body if k not in names)
    if unknown:
        raise _Refused(400, "usage", f"unknown field {unknown[0]!r} (expected {', '.join(names)})")


def get_trace(analyzer: PolicylangAnalyzer, req: ApiRequest) -> ApiResponse:
    return ApiResponse(200, {"ok": True, **analyzer.export_trace()})


Handler = Callable[[Any, ApiRequest], ApiResponse]
ROUTES: dict[str, dict[str, Handler]] = {
    "/policy": {"GET": get_policy, "POST": post_policy},
    "/settings": {"GET": get_settings, "POST": post_settings},
    "/trace": {"GET": get_trace},
}
