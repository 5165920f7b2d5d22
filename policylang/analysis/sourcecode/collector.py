"""The findings collector (Out) shared by a source and the code nested in it, and the work budget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...verdict import Risk, combine_risk
from .findings import (
    MAX_COMMANDS,
    MAX_DEPTH,
    MAX_EFFECTS,
    MAX_FOLD_CHARS,
    MAX_NESTED_CHARS,
    MAX_STEPS,
    MAX_WHY,
    CodeFindings,
)
from .tables import config
from .values import Missing, Value, as_text, render


@dataclass(slots=True)
class Budget:
    nested_chars: int = MAX_NESTED_CHARS
    fold_chars: int = MAX_FOLD_CHARS
    steps: int = MAX_STEPS


# (language, source, collector, depth, the analyser of the enclosing source or None): analyses
# a source into the collector; the entry module gives it, so that nested code can be analysed here
# without this module knowing the analysers.
AnalyseInto = Callable[[str, str, "Out", int, object], None]


class Out:
    """Collects findings across a source and the code nested in it."""

    def __init__(self, budget: Budget, analyse_into: AnalyseInto) -> None:
        self.budget = budget
        self.analyse_into = analyse_into
        self.config = config()
        self.commands: list[str | tuple[str, ...]] = []
        self.effects: list[tuple[str, str | None, bool]] = []
        self.risks: list[Risk] = []
        self.why: list[str] = []
        self.opaque: list[str] = []
        self.prefix = ""
        self.nested_seen: set[tuple[str, str, str]] = set()
        self._seen_cmd: set[str | tuple[str, ...]] = set()
        self._seen_eff: set[tuple[str, str | None, bool]] = set()
        self._seen_why: set[str] = set()

    def note(self, why: str) -> None:
        why = self.prefix + why
        if why not in self._seen_why and len(self.why) < MAX_WHY:
            self._seen_why.add(why)
            self.why.append(why)

    def make_opaque(self, reason: str, risk: Risk = Risk.UNKNOWN) -> None:
        reason = self.prefix + reason
        if reason not in self.opaque:
            self.opaque.append(reason)
        self.risks.append(risk)
        self.note(reason[len(self.prefix) :])

    def danger(self, why: str, opaque: bool = True) -> None:
        self.risks.append(self.config.risk["dangerous"])
        if opaque:
            self.make_opaque(why, self.config.risk["dangerous"])
        else:
            self.note(why)

    def command(self, cmd: str | tuple[str, ...], why: str) -> None:
        if cmd in self._seen_cmd:
            return
        if len(self.commands) >= MAX_COMMANDS:
            self.make_opaque("the code spawns more commands than are analysed")
            return
        self._seen_cmd.add(cmd)
        self.commands.append(cmd)
        self.risks.append(self.config.risk["spawn"])
        self.note(why)

    def shell(self, name: str, v: Value | Missing) -> None:
        """``name`` runs ``v`` through a shell."""
        if isinstance(v, Missing):
            return
        s = as_text(v)
        if s is not None:
            if s.strip():
                self.command(s, f"{name} runs a shell command: {render(s)}")
        elif isinstance(v, tuple):
            self.argv(name, list(v))
        else:
            self.make_opaque(f"{name} runs a command built at run time: {render(v)}")

    def argv(self, name: str, items: list[Value]) -> None:
        """``name`` runs the program ``items[0]`` with arguments ``items[1:]``, no shell."""
        out: list[str] = []
        for item in items:
            s = as_text(item)
            if s is None and isinstance(item, (int, float)) and not isinstance(item, bool):
                s = render(item)
            if s is None:
                shown = "[" + ", ".join(render(x, 30) for x in items[:8]) + "]"
                self.make_opaque(f"{name} runs a command with arguments known only at run time: {shown}")
                return
            out.append(s)
        if out and out[0]:
            self.command(tuple(out), f"{name} runs {render(tuple(out))}")

    def effect(self, kind: str, target: str | None, recursive: bool, why: str) -> None:
        eff = (kind, target, recursive)
        if eff in self._seen_eff:
            self.note(why)
            return
        if len(self.effects) >= MAX_EFFECTS:
            self.make_opaque("the code has more effects than are analysed")
            return
        self._seen_eff.add(eff)
        self.effects.append(eff)
        key = "delete_recursive" if kind == "delete" and recursive else kind
        self.risks.append(self.config.risk.get(key, Risk.MEDIUM))
        self.note(why)

    def nested(self, lang: str, code: str, via: str, depth: int, parent: object) -> None:
        """Analyse a literal string run as code (``exec("...")``, ``eval '...'``)."""
        if depth + 1 > MAX_DEPTH:
            self.make_opaque(f"{via} runs code nested more than {MAX_DEPTH} levels deep")
            return
        key = (lang, self.prefix + via, code)
        if key in self.nested_seen:
            return  # the same string run again: its findings are already in
        self.nested_seen.add(key)
        if len(code) > self.budget.nested_chars:
            self.make_opaque(f"{via} runs more nested code than is analysed")
            return
        self.budget.nested_chars -= len(code)
        saved = self.prefix
        self.prefix = f"{saved}{via}: "
        try:
            self.analyse_into(lang, code, self, depth + 1, parent)
        finally:
            self.prefix = saved

    def finish(self) -> CodeFindings:
        shells = [c for c in self.commands if _interactive_shell(c)]
        if shells:
            # A shell started without a script reads whatever input the code gave it.
            if any(kind == "network" for kind, _, _ in self.effects):
                self.risks.append(Risk.CRITICAL)
                self.why.append("starts a shell in code that also opens a network connection: a reverse shell")
            else:
                self.risks.append(Risk.HIGH)
                self.why.append("starts a shell whose input the code controls")
        risk = combine_risk(self.risks) if self.risks else Risk.LOW
        if risk is Risk.UNKNOWN and not self.opaque:
            risk = Risk.LOW
        reason = "; ".join(self.opaque[:3]) + ("; …" if len(self.opaque) > 3 else "")
        return CodeFindings(tuple(self.commands), tuple(self.effects), risk, tuple(self.why), bool(self.opaque), reason)


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "ash", "busybox"})


def _interactive_shell(command: str | tuple[str, ...]) -> bool:
    """A shell run with no command string or script: ``/bin/sh -i``, ``bash``, ``"sh"``."""
    argv = command.split() if isinstance(command, str) else list(command)
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELLS:
        return False
    return all(a.startswith("-") and "c" not in a.lstrip("-") for a in argv[1:]) and "-c" not in argv
