"""Judging one effect: its risk (the catalog's, and where a write or delete lands), the rules that
decide it, and the mode x risk table of DESIGN §3 for an effect no rule decides."""
from __future__ import annotations

import os
import threading
from typing import Any, Iterable, NamedTuple

from ..diagnostics import shown
from ..effects import Effect
from ..frozen import replace
from ..resolve import normalise_path
from ..settings import MOUNT_POINTS, SYSTEM_TREES, Settings
from ..verdict import ALLOW, ASK, CRITICAL, DENY, HIGH, LOW, MEDIUM, SANDBOX, UNKNOWN, Decision, Reason, Risk
from .matcher import CompiledRule, MatchContext, effect_path
from .pathsets import GlobError, PathSet, Roots, split_root, tree

# Devices that are safe to write: everything else under /dev is a disk, a terminal of another
# user, or kernel memory.
SAFE_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/stdout", "/dev/stderr", "/dev/stdin", "/dev/tty",
                          "/dev/random", "/dev/urandom", "/dev/full"})
SAFE_DEVICE_DIRS = ("/dev/fd/", "/dev/shm/", "/dev/pts/")
_FILE_KINDS = frozenset({"read", "write", "delete"})
# Effects a command has because of what the program is (its declared remote, the token it prints, the
# job it installs), as opposed to the files it is pointed at (read, write, delete, upload): an
# ``allow exec`` rule that decides the command covers them, within its risk ceiling (language.md §2).
_OWN_KINDS = frozenset({"network", "leak", "persist", "discard", "install"})
# A write or delete of an ordinary path outside the workspace is high risk, but asked rather than
# denied by default: the user may have named it (``rm -r /opt/build-cache``).  Protected classes
# (secrets, persistence, system and restricted paths, the home or root itself) are denied by their
# rules or by a critical risk (docs/language.md, "Judgment").
_OUTSIDE = "outside the workspace and the safe paths"
# The least risk of an effect of each kind, whatever the analysis says (docs/language.md §7).
_FLOOR = {"network": MEDIUM, "upload": MEDIUM, "leak": HIGH, "persist": HIGH, "discard": HIGH}


class Judged(NamedTuple):
    """One effect with its risk, the rules that matched it and the decision it got."""

    effect: Effect
    risk: Risk
    why: str
    decision: Decision
    reasons: tuple[Reason, ...]
    matched: tuple[CompiledRule, ...]
    deciding: tuple[CompiledRule, ...]


class Judge:
    """The judgement of effects under one policy's settings (its restricted and safe path sets)."""

    __slots__ = ("settings", "_restricted", "_safe")

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._restricted = PathSet(tree(settings.restricted_paths))
        self._safe = PathSet(tree(settings.safe_paths))

    def judge(self, effect: Effect, mctx: MatchContext, find: Any) -> Judged:
        """The risk, the deciding rules and the decision of one effect.  A file effect on a path
        through a symbolic link is judged where the link leads too, and the stricter judgement wins
        (``cat link`` with ``link -> ~/.ssh/id_rsa`` reads the key)."""
        j = self._judge(effect, mctx, find)
        if effect.path is not None and effect.kind in _FILE_KINDS and not effect.glob:
            real = _realpath(effect.path)
            if real is not None and real != effect.path:
                k = self._judge(replace(effect, path=real, why=effect.why or f"{effect.path} links to {real}"),
                                mctx, find)
                if (k.decision, k.risk) > (j.decision, j.risk):
                    return k._replace(effect=effect, reasons=tuple(
                        replace(r, message=f"{r.message} (through the link {effect.path} -> {real})")
                        for r in k.reasons))
        return j

    def _judge(self, effect: Effect, mctx: MatchContext, find: Any) -> Judged:
        s = self.settings
        risk, why = self.effect_risk(effect, mctx.roots)
        matched = find(effect, mctx)
        deciding: list[CompiledRule] = []
        reasons: list[Reason] = []
        for rule in matched:
            if rule.decision <= SANDBOX:
                ceiling = rule.risk if rule.risk is not None else MEDIUM
                if risk > ceiling:
                    continue  # an allow rule never allows more risk than it declares
            deciding.append(rule)
        if deciding:
            decision = max(r.decision for r in deciding)
            described = effect.describe()
            for rule in deciding:
                if rule.decision is decision:
                    r_risk = rule.risk if rule.risk is not None else risk
                    reasons.append(Reason(rule.id, rule.message, decision, r_risk, rule.location,
                                          rule.alternative, described))
            if why and risk > max(r.risk for r in reasons):
                # the effect is worse than the rule that decided it says: keep that finding too
                reasons.append(Reason(f"default:{risk.label}", why, decision, risk, None, None, described))
            if decision is DENY and s.allow_admin_override and _is_admin(mctx.context):
                if all(r.layer != "admin" and (r.risk or risk) <= HIGH for r in deciding
                       if r.decision is DENY) and risk <= HIGH:
                    decision = ASK
                    reasons = [replace(r, decision=decision, message=r.message + " (admin override: ask)")
                               for r in reasons]
            risk = max(risk, max((r.risk for r in deciding if r.risk is not None and r.decision >= ASK),
                                 default=UNKNOWN))
        else:
            decision, rule_id, message = self.default_decision(effect, risk, why, mctx.context)
            if decision is ASK and s.sandbox_mode and s.sandbox_available and risk <= MEDIUM and risk is not UNKNOWN:
                # the default table's ask for medium risk runs isolated instead (DESIGN §3); an ask a
                # rule wrote stays an ask: its author wants a person to look
                decision = SANDBOX
                message += " (sandbox mode: run isolated)"
            reasons.append(Reason(rule_id, message, decision, risk, None, None, effect.describe()))
        return Judged(effect, risk, why, decision, tuple(reasons), tuple(matched), tuple(deciding))

    def default_decision(self, effect: Effect, risk: Risk, why: str, context: Any) -> tuple[Decision, str, str]:
        """The mode × risk table of DESIGN §3 for an effect no rule decides."""
        s = self.settings
        explain = s.mode == "explain_only"
        if effect.opaque:
            d = s.opaque_decision
            if explain:
                d = max(d, ASK)
            if risk >= HIGH and s.block_high_risk and d is not DENY:
                return self.default_decision(replace(effect, opaque=False), risk, why, context)
            return d, "default:opaque", f"cannot be known statically ({why or 'opaque'}): {s.posture} posture"
        if risk is HIGH and effect.kind in ("write", "delete") and why.endswith(_OUTSIDE) and not explain:
            return ASK, "default:outside-workspace", f"{why}: asked, not denied (a person may have named it)"
        if risk >= HIGH:
            if s.block_high_risk:
                if s.allow_admin_override and risk is HIGH and _is_admin(context):
                    return ASK, f"default:{risk.label}", f"{why or risk.label + ' risk'} (admin override: ask)"
                return DENY, f"default:{risk.label}", why or f"{risk.label} risk"
            return ASK, f"default:{risk.label}", why or f"{risk.label} risk"
        if effect.kind == "exec" and not effect.known or risk is UNKNOWN:
            d = s.unknown_decision
            if explain:
                d = max(d, ASK)
            what = f"unknown command {shown(effect.program or '?')}" if effect.kind == "exec" else \
                why if effect.kind == "install" and why else f"unclassified {effect.kind}"
            return d, "default:unknown", f"{what}: {s.posture} posture"
        if explain:
            return ASK, "default:explain-only", f"{risk.label} risk; explain_only mode asks for everything"
        if risk is MEDIUM:
            if s.mode == "approve" and s.require_approval_for_medium:
                return ASK, "default:medium", f"{why or 'medium risk'}: approval required for medium risk"
            return ALLOW, "default:medium", why or "medium risk"
        return ALLOW, "default:low", why or "low risk"

    # ---- risk of effects -------------------------------------------------------------------

    def effect_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        kind = effect.kind
        if kind in ("write", "delete"):
            risk, why = self.path_risk(effect, roots)
            if effect.risk > risk:
                return effect.risk, effect.why or why
            return risk, why
        if kind == "read":
            return max(effect.risk, LOW), effect.why or "read"
        if kind == "upload" and effect.path is not None:
            path, _ = effect_path(effect)
            ws = roots.workspace.rstrip("/") or "/"
            if not (path == ws or path.startswith(ws + "/") or self._safe.contains(path, roots, False)):
                return max(effect.risk, HIGH), f"sends {effect.path}, from outside the workspace, to " \
                                                f"{effect.host or 'a host known only at run time'}"
        floor = _FLOOR.get(kind)
        if floor is not None:
            return max(effect.risk, floor), effect.why or effect.describe()
        if kind in ("tool",):
            return effect.risk, effect.why
        if kind == "message":
            return max(effect.risk, LOW), effect.why
        return effect.risk, effect.why

    def path_risk(self, effect: Effect, roots: Roots) -> tuple[Risk, str]:
        """Risk of a write or delete by where it lands (DESIGN §2, issue 4 §5)."""
        verb = "deletes" if effect.kind == "delete" else "writes"
        if effect.path is None:
            if effect.kind == "delete" and effect.recursive:
                return HIGH, "recursive delete of a target that cannot be known statically"
            return MEDIUM, f"{verb} a path that cannot be known statically"
        path, recursive = effect_path(effect)
        return self._classify(path, recursive, effect, roots, verb)

    def _classify(self, path: str, recursive: bool, effect: Effect, roots: Roots, verb: str) -> tuple[Risk, str]:
        if path.startswith("/dev/"):
            if path in SAFE_DEVICES or path.startswith(SAFE_DEVICE_DIRS):
                return LOW, f"{verb} {path}"
            return CRITICAL, f"{verb} the device {path}"
        home = roots.home.rstrip("/") or "/"
        if recursive and (path == "/" or home == path or home.startswith(path.rstrip("/") + "/")):
            return CRITICAL, f"{verb} {path} recursively: the whole {'filesystem' if path == '/' else 'home directory'}"
        if path in ("/", home):
            return HIGH, f"{verb} {'the root directory' if path == '/' else 'the home directory'} {path} itself"
        if self._restricted.contains(path, roots, False):
            if recursive and _is_root_of_restricted(path, self.settings.restricted_paths, roots):
                return CRITICAL, f"{verb} the restricted directory {path} recursively"
            return HIGH, f"{verb} {path}, a restricted path"
        if recursive and self._restricted.contains(path, roots, True):
            return CRITICAL, f"{verb} {path} recursively, which holds restricted paths"
        ws = roots.workspace.rstrip("/") or "/"
        if (recursive and effect.kind == "delete" and not effect.glob and home != "/" and path != ws
                and path.rpartition("/")[0] == home and path != home + "/.cache"):
            # ~/Documents, ~/project: a whole tree of the user's own, even when the workspace is the
            # home; ~/.cache holds only what programs rebuild (the XDG base directory specification)
            return HIGH, f"{verb} {path} recursively, a whole directory at the top of the home directory"
        if path == ws or path.startswith(ws + "/"):
            if effect.kind == "delete" and effect.recursive and (
                    path == ws or effect.glob and _matches_everything_in(effect.path or "", ws)):
                return HIGH, f"{verb} the whole workspace {ws}"
            return MEDIUM, f"{verb} {path} in the workspace"
        if self._safe.contains(path, roots, False):
            if recursive and not effect.glob and _is_root_of_restricted(path, self.settings.safe_paths, roots):
                # the safe root itself (rm -rf /tmp) goes with its sockets and mount; its contents
                # (rm -rf /tmp/*) are what the safe path is for
                return HIGH, f"{verb} the safe path's root {path} itself, which counts as {_OUTSIDE}"
            return LOW, f"{verb} {path} in a safe path"
        if _in_system_tree(path, home):
            return HIGH, f"{verb} {path}, in the operating system's files or another user's home"
        return HIGH, f"{verb} {path}, {_OUTSIDE}"


def cover_own_effects(judged: list[Judged]) -> list[Judged]:
    """An ``allow``/``sandbox`` rule that decides a command's exec effect also decides the effects the
    command has of its own -- network, leak, persist, discard, install -- that no rule decided and whose
    risk is within the rule's ceiling: ``allow exec git push ...`` allows the push's connection to
    the remote.  Path effects stay with the path rules; a deny or ask rule on the effect still wins."""
    allowed: dict[int, CompiledRule] = {}
    for j in judged:
        e = j.effect
        if e.kind == "exec" and not e.opaque and j.deciding and j.decision <= SANDBOX:
            allowed.setdefault(e.segment, j.deciding[0])
    if not allowed:
        return judged
    out = []
    for j in judged:
        e = j.effect
        rule = allowed.get(e.segment)
        if (rule is not None and e.kind in _OWN_KINDS and not j.deciding and not e.opaque
                and j.risk <= (rule.risk if rule.risk is not None else MEDIUM) and j.decision > rule.decision):
            reason = Reason(rule.id, f"{rule.message}: it covers the command's own {e.kind} effect",
                            rule.decision, j.risk, rule.location, rule.alternative, e.describe())
            j = j._replace(decision=rule.decision, reasons=(reason,), deciding=(rule,))
        out.append(j)
    return out


def _is_admin(context: Any) -> bool:
    return getattr(context, "role", None) == "admin"


def _in_system_tree(path: str, home: str) -> bool:
    """Is ``path`` in one of the operating system's trees (settings.SYSTEM_TREES) or a mount point
    itself, and not in the user's home?"""
    if path == home or path.startswith(home + "/") and home != "/":
        return False
    if path in MOUNT_POINTS:
        return True
    return any(path == t or path.startswith(t + "/") for t in SYSTEM_TREES)


def _is_root_of_restricted(path: str, restricted: Iterable[str], roots: Roots) -> bool:
    """Is ``path`` one of these directories (restricted or safe ones) itself, or an ancestor of one?"""
    for r in restricted:
        try:
            root, rest = split_root(r)
        except GlobError:
            continue
        value = roots.value(root)
        if value is None:
            continue  # "**/x": anywhere, no single directory to be the root of
        base = (value + rest).rstrip("/") or "/"
        if path == base or base.startswith(path.rstrip("/") + "/"):
            return True
    return False


def _matches_everything_in(glob: str, directory: str) -> bool:
    """``D/*``, ``D/.*``, ``D/**``: a glob that stands for all of D's contents (not ``D/**/*.txt``)."""
    rest = glob[len(directory):] if glob.startswith(directory + "/") else ""
    return bool(rest) and set(rest) <= {"/", "*", "."}


def _realpath(path: str) -> str | None:
    """Where a file effect on ``path`` really lands: symbolic links resolved in every component that
    exists, the rest kept as written.  None if it cannot be resolved.

    The C library's realpath(3) resolves an existing path in one call; for a path that does not
    exist (a file about to be written) the deepest existing ancestor is resolved and the rest
    appended -- what ``os.path.realpath`` does, at a fraction of its cost.  Loading it (ctypes) costs
    more than a few hundred ``os.path.realpath`` calls, so a process (a CLI or hook call deciding one
    action) uses ``os.path.realpath`` for its first ``_WARM`` paths and the C library after."""
    global _CALLS
    resolve = None
    if _CALLS >= _WARM:
        resolve = _libc_realpath()
    else:
        _CALLS += 1
    if resolve is None or "\x00" in path:
        try:
            return os.path.realpath(path)
        except (OSError, ValueError):
            return None
    head, tail = path, ""
    while True:
        real = resolve(head)
        if real is not None:
            return normalise_path(real + tail) if tail else real
        if head in ("", "/"):
            return path
        head, _, name = head.rpartition("/")
        tail = "/" + name + tail
        head = head or "/"


_RESOLVE: Any = None
_CALLS = 0
_WARM = 256


def _libc_realpath() -> Any:
    """realpath(3) through ctypes, or None where it is not there (then os.path.realpath is used)."""
    global _RESOLVE
    if _RESOLVE is None:
        _RESOLVE = False
        try:
            import ctypes

            try:  # the symbols the process already has (libc's among them): no ctypes.util, no ldconfig run
                fn = ctypes.CDLL(None, use_errno=True).realpath
            except (OSError, AttributeError):
                import ctypes.util

                fn = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True).realpath
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
            fn.restype = ctypes.c_char_p
            buf = ctypes.create_string_buffer(4097)
            lock = threading.Lock()

            def resolve(p: str) -> str | None:
                data = os.fsencode(p)
                with lock:  # one buffer, shared
                    out = fn(data, buf)
                return None if out is None else os.fsdecode(out)

            if resolve("/") == "/":
                _RESOLVE = resolve
        except (ImportError, OSError, AttributeError):
            _RESOLVE = False
    return _RESOLVE or None
