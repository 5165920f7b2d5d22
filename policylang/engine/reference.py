"""The plain reference evaluator: every rule tried against every effect, no index, no cache.

It shares the engine's combining and defaults and differs only in how matching rules are found, so
a property test that both give the same verdicts checks the index (STYLE §7).
"""
from __future__ import annotations

from typing import Sequence

from ..effects import Effect
from .matcher import CompiledRule, MatchContext


def reference_matching(rules: Sequence[CompiledRule], effect: Effect, ctx: MatchContext) -> list[CompiledRule]:
    return [rule for rule in rules if rule.applies(effect, ctx)]
