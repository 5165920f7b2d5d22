"""Examples: the ``example`` lines of a policy run against the compiled policy itself, and what
blocked an example that did not get its decision (``blocked_by``), in words."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ..actions import Action, Command, Context, Fetch, FileOp
from ..diagnostics import Diagnostic, shown
from ..verdict import ALLOW, MEDIUM, SANDBOX, Decision
from .judge import _OWN_KINDS  # what an allow exec rule covers within its ceiling: judge.py's own set

if TYPE_CHECKING:
    from ..lang.nodes import Example
    from .judge import Judged
    from .policy import Explanation, Policy


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
            blame = blocked_by(policy, act, ex.decision)
            out.append(Diagnostic("error", "example-failed",
                                  f"example expected {ex.decision} but the policy decides {v.decision.label} ({why})",
                                  ex.span, line, hint=blame))
        elif ex.rule is not None and ex.rule not in v.matched:
            out.append(Diagnostic("error", "example-failed",
                                  f"example expected rule {shown(ex.rule)} to decide, but it did not match "
                                  f"(matched: {', '.join(v.matched) or 'none'})", ex.span, line))
    return out


def example_action(ex: Example) -> Action:
    """The action an example line describes."""
    if ex.kind == "command":
        return Command(ex.text)
    if ex.kind == "fetch":
        return Fetch(ex.text)
    return FileOp(ex.kind, ex.text)


def blocked_by(policy: Policy, action: Action, expected: str, context: Context | None = None) -> str | None:
    """In plain words, what kept ``action`` from the decision ``expected``: for each effect decided
    more strictly, the allow rule whose risk ceiling the effect's risk exceeded, the rule that
    decided it, or that no rule decided it and what the default gave.  None when nothing did
    (``expected`` is not a decision, or the action gets it)."""
    try:
        want = Decision.parse(expected)
    except KeyError:
        return None
    ex = policy.explain(action, context)
    parts = [text for j, text in blocking(ex, policy.settings) if j.decision > want]
    return "; ".join(dict.fromkeys(parts)) or None


def blocking(ex: Explanation, settings: Any) -> list[tuple[Judged, str]]:
    """Every effect of the explanation ``ex`` that was decided more strictly than allow, with what
    decided it in plain words (what ``explain`` prints under such an effect)."""
    allowing = _segment_allow_rules(ex.judged)
    return [(j, _why_effect(j, allowing.get(j.effect.segment), settings)) for j in ex.judged
            if j.decision > ALLOW]


def _segment_allow_rules(judged: Iterable[Judged]) -> dict[int, Any]:
    """The allow or sandbox rule that decided each segment's exec effect, by segment."""
    out: dict[int, Any] = {}
    for j in judged:
        if j.effect.kind == "exec":
            for rule in j.deciding:
                if rule.decision <= SANDBOX:
                    out.setdefault(j.effect.segment, rule)
    return out


def _ceiling(rule: Any) -> Any:
    return rule.risk if rule.risk is not None else MEDIUM


def _why_effect(j: Judged, seg_rule: Any, settings: Any) -> str:
    """Why one effect got its (stricter) decision."""
    what = j.effect.describe()
    why = f" ({j.why})" if j.why and j.why not in what else ""
    decided = j.decision.label
    stricter = [r for r in j.deciding if r.decision > SANDBOX]
    if stricter:
        rules = ", ".join(f"{r.id} [{r.location}]" for r in stricter)
        return f"{what} is decided {decided} by {rules}"
    over = [r for r in j.matched if r.decision <= SANDBOX and r not in j.deciding]
    if over:
        r = over[0]
        return (f"rule {r.id} [{r.location}] matches {what} but allows at most risk {_ceiling(r).label} "
                f"(its ceiling{'' if r.risk is not None else ', the default when a rule gives no risk'}), "
                f"and this effect's risk is {j.risk.label}{why}: it gets {decided}; raise the rule's risk "
                f"to {j.risk.label} if that is meant")
    if seg_rule is not None and j.effect.kind in _OWN_KINDS and j.risk > _ceiling(seg_rule):
        return (f"rule {seg_rule.id} [{seg_rule.location}] allows the command, and covers its own effects only "
                f"up to its ceiling, risk {_ceiling(seg_rule).label}; {what} has risk {j.risk.label}{why}, so no "
                f"rule decides it and the default gives {decided}")
    default = j.reasons[0].message if j.reasons else f"risk {j.risk.label}"
    if seg_rule is not None and j.effect.kind not in _OWN_KINDS and j.effect.kind != "exec":
        return (f"rule {seg_rule.id} [{seg_rule.location}] allows the command, but the paths a command touches "
                f"are decided by path rules; no rule decides {what}: by default (mode {settings.mode}, risk "
                f"{j.risk.label}) it gets {decided}: {default}")
    return (f"no rule decides {what}: by default (mode {settings.mode}, risk {j.risk.label}) it gets "
            f"{decided}: {default}")
