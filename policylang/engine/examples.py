"""Examples: the ``example`` lines of a policy run against the compiled policy itself."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from ..actions import Action, Command, Fetch, FileOp
from ..diagnostics import Diagnostic

if TYPE_CHECKING:
    from ..lang.nodes import Example
    from .policy import Policy


def check_examples(policy: Policy, layers: Iterable[str] | None = None) -> list[Diagnostic]:
    """Run the ``example`` lines (of the given layers, or all); a verdict that differs is an error.

    Examples of the built-in and preset layers are run under the settings they were written for
    (the defaults, or the preset's own) by ``policylang check`` of those files, so callers
    checking a user's config pass ``layers=("user", "project", "admin")``.
    """
    out: list[Diagnostic] = []
    wanted = set(layers) if layers is not None else None
    for ex in policy.examples:
        if wanted is not None:
            src = policy.texts.get(ex.span.source)
            if src is None or src.layer not in wanted:
                continue
        act = example_action(ex)
        v = policy.decide(act)
        src = policy.texts.get(ex.span.source)
        line = src.line_text(ex.span.line) if src else ""
        if v.decision.label != ex.decision:
            why = "; ".join(f"{r.rule}: {r.message}" for r in v.reasons[:3])
            out.append(Diagnostic("error", "example-failed",
                                  f"example expected {ex.decision} but the policy decides {v.decision.label} ({why})",
                                  ex.span, line))
        elif ex.rule is not None and ex.rule not in v.matched:
            out.append(Diagnostic("error", "example-failed",
                                  f"example expected rule {ex.rule!r} to decide, but it did not match "
                                  f"(matched: {', '.join(v.matched) or 'none'})", ex.span, line))
    return out


def example_action(ex: Example) -> Action:
    """The action an example line describes."""
    if ex.kind == "command":
        return Command(ex.text)
    if ex.kind == "fetch":
        return Fetch(ex.text)
    return FileOp(ex.kind, ex.text)
