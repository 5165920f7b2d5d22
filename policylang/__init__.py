"""policylang: decide whether an agent's action is allowed, sandboxed, asked or denied.

Compile once, decide many::

    import policylang
    policy = policylang.load()                      # the safe built-in default
    policy = policylang.load("config.toml")         # a [security] table, presets, .policy files
    verdict = policy.decide(policylang.Command("rm -rf build", cwd="/home/me/project"))
    verdict.decision, verdict.risk, verdict.reasons

A compiled Policy is immutable and safe to share between threads.

The public names are imported on first use (PEP 562): ``import policylang`` costs next to nothing,
so a process that only decides (the CLI, a hook) never loads the policy parser or the config
validator unless it compiles a policy.
"""
from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, Sequence

from ._version import __version__

if TYPE_CHECKING:
    from .actions import Action, Code, Command, Context, Fetch, FileOp, Message, ToolCall, action_from_json
    from .lang.compile import compile_policy
    from .diagnostics import Diagnostic, PolicyError
    from .engine.policy import Explanation, Policy
    from .audit.writer import AuditLog
    from .adapters.executor import Outcome, run
    from .settings import Settings
    from .source import Source, Span
    from .verdict import Decision, Reason, Risk, SegmentVerdict, Verdict

__all__ = [
    "Action", "Code", "Command", "Context", "Decision", "Diagnostic", "Explanation", "Fetch", "FileOp",
    "Message", "Outcome", "Policy", "PolicyError", "Reason", "Risk", "SegmentVerdict", "Settings", "Source", "Span",
    "ToolCall", "Verdict", "__version__", "action_from_json", "compile_policy", "from_text", "load", "run",
]

# public name -> the submodule that defines it
_LAZY = {
    **dict.fromkeys(("Action", "Code", "Command", "Context", "Fetch", "FileOp", "Message", "ToolCall",
                     "action_from_json"), "actions"),
    "compile_policy": "lang.compile",
    "Diagnostic": "diagnostics", "PolicyError": "diagnostics",
    "Explanation": "engine.policy", "Policy": "engine.policy",
    "Outcome": "adapters.executor", "run": "adapters.executor",
    "Settings": "settings",
    "Source": "source", "Span": "source",
    **dict.fromkeys(("Decision", "Reason", "Risk", "SegmentVerdict", "Verdict"), "verdict"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load(config: str | os.PathLike[str] | None = None, *, preset: str | Sequence[str] | None = None,
         mode: str | None = None, policy_files: Sequence[str | os.PathLike[str]] = (),
         check_examples: bool = True, audit: bool | AuditLog = False) -> Policy:
    """Load and compile a policy: built-in layer, presets, a config.toml and extra .policy files.

    With no arguments (and no POLICYLANG_CONFIG in the environment) this is the built-in default:
    approve mode; read-only low-risk commands allowed, medium risk asked, high risk denied.  It does
    not look for a project's or the user's config file as the CLI does
    (``policylang.config.discover.find_config``).

    The ``example`` lines of the config's and the files' policy (user, project and admin layers)
    are decided by the policy just compiled, and one that fails raises PolicyError naming it
    (``file:line:col``, what it expected, what it got): a policy that does not do what its own
    examples say is not loaded.  ``check_examples=False`` skips that, for an embedder that loads
    often and checks its files in CI (``policylang check``) instead.

    ``audit=True`` records every decision in the audit log ``[security.audit]`` describes, when
    its ``enabled`` is true (docs/audit.md); an ``AuditLog`` records into that log.  Off by default:
    an embedder opts in.
    """
    from .config.precompiled import compile_uncached

    policy = compile_uncached(config, preset, mode, policy_files)
    if check_examples:
        policy = _checked(policy)
    if audit is False:
        return policy
    from .audit.audited import audited

    return audited(policy, None if audit is True else audit)


def from_text(text: str, settings: Settings | None = None, *, name: str = "<policy>",
              builtin: bool = True, check_examples: bool = True) -> Policy:
    """Compile policy text (user layer), on top of the built-in layer unless ``builtin=False``.

    Its ``example`` lines must hold, as with ``load`` (``check_examples=False`` skips them)."""
    from .config.builtin import builtin_source
    from .lang.compile import compile_policy
    from .source import Source

    sources = [builtin_source()] if builtin else []
    sources.append(Source(name, text, layer="user"))
    policy = compile_policy(sources, settings)
    return _checked(policy) if check_examples else policy


def _checked(policy: Policy) -> Policy:
    """``policy`` when the examples of its user, project and admin layers hold; else PolicyError."""
    from .diagnostics import PolicyError

    failed = policy.check_examples(("user", "project", "admin"))
    if failed:
        raise PolicyError(failed)
    return policy
