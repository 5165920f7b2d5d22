"""The install effects of an installer's command: one per package it names, judged by what it installs.

A catalog table whose command installs packages declares it with an ``installs`` table (the keys are
in catalog/data/README.md): the ecosystem, where its arguments name packages (operands, the program
of its argv, option values), the options and variables that point it at another registry, and
whether an install runs the packages' own scripts.  The shell analysis calls ``install_effects``
with the parsed arguments; each effect says what is installed (``text``: the name; ``program``: the
ecosystem; ``host``: where from) and its risk, with a reason that names the detector and the package:

| what | risk |
|---|---|
| a popular name from the default registry | low |
| a name that imitates a popular one (typosquatting, names.py) | high |
| a name that is not popular; an ecosystem without a list (crates, gems, Go modules) | medium |
| npm and yarn/pnpm: a package that is not popular, installed without ``--ignore-scripts`` | medium, "runs the package's install scripts" |
| a URL, a git repository, a local path, a third-party Homebrew tap; a file of requirements | medium |
| another registry (``--index-url``, ``--registry``, ``PIP_INDEX_URL=``, ``npm_config_registry=``), an extra index | medium |
| any of them over plain ``http://`` | high |
| a name only known at run time (``pip install $PKG``) | unknown: the posture decides |
| Debian's and Homebrew's own packages by name | low |
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...verdict import HIGH, LOW, MEDIUM, UNKNOWN, Risk
from ..catalog import Parsed
from .names import Ecosystem, ecosystems, index, normalise
from .specs import Spec, parse_spec, url_host

DETECTOR = "supply-chain"


def install_effects(setting: Mapping[str, Any], p: Parsed, static: Sequence[bool],
                    variables: Mapping[str, str | None]) -> list[dict[str, Any]]:
    """The install effects (``Effect`` keyword arguments, without the segment) of a command whose
    deepest catalog table has the ``installs`` setting.  ``static[i]``: whether ``p.args[i]`` is known
    statically; ``variables``: the variables the command sets for itself (``VAR=x cmd``, ``env``,
    ``export`` earlier in the same command; None for a value that cannot be known)."""
    words = setting.get("words")
    if words and (not p.sub_idx or p.args[p.sub_idx[-1]].casefold() not in words):
        return []
    eco = ecosystems()[setting["ecosystem"]]
    ctx = _Context(setting, p, eco, variables)
    out: list[dict[str, Any]] = []
    for i, off in _package_words(setting, p):
        word = p.args[i][off:]
        if i < len(static) and not static[i]:
            out.append(_effect(eco, word, word, None, UNKNOWN,
                               [f"a package named at run time ({word}): what it installs cannot be known"]))
            continue
        out.append(ctx.judge(word, parse_spec(eco.name, word)))
    for flag in setting.get("git_flags", ()):  # cargo install --git URL: a repository, whatever its spelling
        for value in p.values(flag):
            out.append(ctx.judge(value, Spec("git", "", value, url_host(value))))
    for flag in setting.get("file_flags", ()):
        for value in p.values(flag):
            out.append(_effect(eco, value, value, None, MEDIUM,
                               [f"installs what {value} lists, which the analysis does not read"]))
    return out


def _package_words(setting: Mapping[str, Any], p: Parsed) -> list[tuple[int, int]]:
    """(index in ``p.args``, offset of the value in it) of every word that names packages."""
    out: list[tuple[int, int]] = []
    for flag in setting.get("package_flags", ()):
        out.extend(p.flag_values.get(flag, ()))
    named = [v for flag in setting.get("from_flags", ()) for v in p.flag_values.get(flag, ())]
    out.extend(named)
    where = setting.get("packages", "operands")
    if where == "operands":
        out.extend((i, 0) for i in p.operands)
    elif where == "argv" and not named:  # npx -p PKG CMD: the command is PKG's program, not a package
        for f in p.filled:
            if f.type == "argv" and f.words:
                out.append((f.words[0], 0))
                break
    return out


class _Context:
    """Where a command's packages come from: its registry, extra indexes, whether scripts run."""

    def __init__(self, setting: Mapping[str, Any], p: Parsed, eco: Ecosystem, variables: Mapping[str, str | None]):
        self.eco = eco
        self.registry = eco.registry
        self.default = True
        self.notes: list[tuple[Risk, str]] = []
        folded = {k.casefold(): v for k, v in variables.items()}
        replaced: list[tuple[str | None, str]] = [(v, f"the option {f}") for f in setting.get("index_flags", ())
                                                  for v in p.values(f)]
        replaced += [(folded[n.casefold()], f"${n}") for n in setting.get("index_variables", ())
                     if n.casefold() in folded]
        extra: list[tuple[str | None, str]] = [(v, f"the option {f}") for f in setting.get("extra_index_flags", ())
                                               for v in p.values(f)]
        extra += [(folded[n.casefold()], f"${n}") for n in setting.get("extra_index_variables", ())
                  if n.casefold() in folded]
        mirrors = _mirrors(eco)
        for value, by in replaced:
            if value is None:
                self.default = False
                self.registry = "a registry known only at run time"
                self.notes.append((UNKNOWN, f"{by} names a registry known only at run time"))
                continue
            host = url_host(value) or value
            if host.lower() in mirrors:
                continue
            self.default = False
            self.registry = host
            self.notes.append(_away(value, host, f"from the registry {host} ({by}), not {eco.label}"))
        for value, by in extra:
            if value is None:
                self.notes.append((UNKNOWN, f"{by} adds a registry known only at run time"))
                continue
            extra_host = url_host(value)
            if extra_host is None:
                self.notes.append((MEDIUM, f"also from the local directory {value} ({by})"))
            elif extra_host.lower() not in mirrors:
                self.notes.append(_away(value, extra_host, f"also from {extra_host} ({by}): the installer takes the "
                                                           "highest version from either (dependency confusion)"))
        self.scripts = bool(setting.get("scripts")) and not (p.flags & setting.get("no_scripts_flags", frozenset()))

    def judge(self, word: str, spec: Spec) -> dict[str, Any]:
        eco = self.eco
        reasons: list[tuple[Risk, str]] = list(self.notes)
        name = spec.name
        if spec.kind == "unknown":
            try:
                ix = index(eco.name)
            except (OSError, ValueError, EOFError):
                ix = None  # the word is unreadable anyway: unknown
            imitation = ix.imitates(word) if ix is not None and not any(c.isspace() for c in word) else None
            if imitation is not None:  # not a valid name, but it looks like a popular one (Cyrillic letters)
                reasons.append((HIGH, (f"{word} imitates {imitation.target}, a popular {eco.label} package "
                                       f"({imitation.how}): typosquatting")))
            else:
                reasons.append((UNKNOWN, f"{word!r} is not a package name or source the analysis can read"))
        elif spec.kind in ("url", "git", "path", "tap"):
            what = {"url": "the URL", "git": "the git repository", "path": "the local path",
                    "tap": "the third-party tap"}[spec.kind]
            reasons.append(_away(spec.where, spec.host or "", f"from {what} {spec.where}, not {eco.label}"))
            if self.scripts:
                reasons.append((MEDIUM, "runs the package's install scripts"))
            if spec.kind == "path" and eco.name == "debian":
                reasons.append((MEDIUM, "a local package file: its maintainer scripts run as root"))
        else:
            reasons.extend(self._registry(name))
        risk = max((r for r, _ in reasons), default=LOW)
        if any(r is UNKNOWN for r, _ in reasons) and risk <= MEDIUM:
            risk = UNKNOWN  # what cannot be read is never low or plain medium: the posture decides
        text = word if spec.kind == "unknown" else normalise(eco, name) if name else spec.where or word
        host = spec.host if spec.kind in ("url", "git", "tap") else None if spec.kind == "path" else self.registry
        return _effect(eco, text, word, host, risk, [w for _, w in reasons])

    def _registry(self, name: str) -> list[tuple[Risk, str]]:
        eco = self.eco
        try:
            ix = index(eco.name)
        except (OSError, ValueError, EOFError) as exc:  # a damaged installation: never low, the posture decides
            return [(UNKNOWN, f"the list of popular {eco.label} names cannot be read ({exc}): {name} is not checked")]
        if ix is None:
            if eco.trusted and self.default:
                return [(LOW, f"{name} from {eco.label}")]
            return [(MEDIUM, f"{name} from {eco.label}, which has no list of popular names to check it against")]
        imitation = ix.imitates(name)
        if imitation is not None:
            return [(HIGH, (f"{name} imitates {imitation.target}, a popular {eco.label} package "
                            f"({imitation.how}): typosquatting"))]
        if not self.default:  # another registry's NAME is not the popular one: the registry note says it
            return [(MEDIUM, "runs the package's install scripts")] if self.scripts else []
        if ix.is_popular(name):
            return [(LOW, f"{name} is among the {len(ix.popular):,} most downloaded {eco.label} packages")]
        out = [(MEDIUM, (f"{name} is not among the {len(ix.popular):,} most downloaded {eco.label} packages: "
                         "nothing vouches for it"))]
        if self.scripts:
            out.insert(0, (MEDIUM, "runs the package's install scripts"))
        return out


def _mirrors(eco: Ecosystem) -> frozenset[str]:
    return frozenset((eco.registry, *eco.mirrors))


def _away(value: str, host: str, why: str) -> tuple[Risk, str]:
    """A source away from the default registry: medium, high over plain HTTP."""
    if value.lower().startswith(("http://", "git+http://", "git://")):
        return HIGH, why + ", over plain HTTP: anyone on the way can change what is installed"
    return MEDIUM, why


def _effect(eco: Ecosystem, text: str, word: str, host: str | None, risk: Risk, reasons: list[str]
            ) -> dict[str, Any]:
    return {"kind": "install", "program": eco.name, "text": text, "operands": (word,), "host": host, "risk": risk,
            "why": f"{DETECTOR}: " + "; ".join(dict.fromkeys(reasons))}


__all__ = ["DETECTOR", "install_effects"]
