"""Shell analysis entry points: a command string or an argv becomes segments and effects (DESIGN §5).

The string is parsed with tree-sitter-bash (or split on blanks by the fast path in fastpath.py when
it has no metacharacters).  The walker (walker.py) descends into lists, pipelines, substitutions,
subshells, groups, control flow and function bodies; every simple command goes through
``SimpleCommands.simple`` (simple.py), which normalises the program name, unwraps wrappers (sudo,
env, timeout, ``bash -c`` ...: runners.py), parses the arguments against the command catalog and
emits the exec effect, the path effects of its arguments and redirections, and network effects.

``analyse_command`` and ``analyse_argv`` never raise: a failure returns an Analysis whose ``error``
says what went wrong.  Both memoise their results exactly (memo.py: keyed by the input, cwd and
home, and checked against the values of every environment variable the analysis read).
tree-sitter is imported on the first string that needs it, so a plain command never loads it.
Work is bounded: inputs above ``MAX_INPUT`` characters are refused, nesting deeper than
``MAX_DEPTH`` and more than ``MAX_SEGMENTS`` commands become opaque.
"""
from __future__ import annotations

import shlex
from typing import Mapping, Sequence

from ...effects import Analysis
from ...resolve import normalise_path
from .memo import _ARGV_MEMO, _COMMAND_MEMO, _MEMO_TEXT
from .runners import HANDLERS
from .state import MAX_INPUT, Cwds, _Limit, _lit
from .syntax import _ambiguous_readings
from .walker import Walker


class Analyser(Walker):
    """The shell analyser: the walker with the catalog's runners."""

    handlers = HANDLERS


def _sanitise(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _result(a: Analyser) -> Analysis:
    segments = tuple([s.freeze() for s in a.segs])
    if len(segments) == 1:
        effects = segments[0].effects
    else:
        effects = tuple([e for s in segments for e in s.effects])
    opaque = False
    reasons: list[str] = []
    for s in segments:
        if s.opaque:
            opaque = True
            if s.opaque_reason and s.opaque_reason not in reasons:
                reasons.append(s.opaque_reason)
    structured = not a.unstructured and a.top_commands == 1 and a.top_argv is not None and not opaque
    if not structured:
        why = list(a.unstructured)
        if a.top_commands == 0 and not why:
            why.append("no command")
        elif a.top_commands > 1 and "several commands" not in why:
            why.append("several commands")
        if opaque and not why:
            why.append("opaque")
        reasons.extend(f"not a single simple command: {w}" for w in why)
    return Analysis(
        segments=segments, effects=effects, opaque=opaque, reasons=tuple(reasons), structured=structured,
        argv=a.top_argv if structured else None, warnings=tuple(dict.fromkeys(a.warnings)) if a.warnings else ())


def analyse_command(text: str, *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    """Segments and effects of a shell command string.  Never raises.

    Paths are resolved against ``cwd`` (tracking ``cd``), ``~`` and ``$HOME`` against ``home`` (or
    ``env["HOME"]``), other variables against ``env``.  A string with no shell metacharacters takes
    the fast path (no tree-sitter); both paths give the same Analysis.  Results are memoised (see
    ``_Memo``): a repeated command with the same cwd, home and values of the variables it reads
    costs a dictionary look-up.
    """
    try:
        if not isinstance(text, str):
            return Analysis((), (), opaque=True, error=f"expected a string, got {type(text).__name__}")
        if len(text) > MAX_INPUT:
            return Analysis((), (), opaque=True,
                            error=f"the command is {len(text)} characters long; the limit is {MAX_INPUT}")
        if len(text) > _MEMO_TEXT:
            return _analyse(text, cwd, env, home)
        return _COMMAND_MEMO.get_or_run(text, cwd, env, home, _analyse)
    except RecursionError:
        return Analysis((), (), opaque=True, error="the command is nested too deeply to analyse")
    except Exception as exc:  # fail closed: an analysis bug must not become an allow
        return Analysis((), (), opaque=True, error=f"internal error in shell analysis: {type(exc).__name__}: {exc}")


def _analyse(text: str, cwd: str, env: Mapping[str, str], home: str, fast: bool = True) -> Analysis:
    """The analysis itself (may raise; the public functions catch).  ``fast=False`` sends even a
    plain string through tree-sitter (the tests compare both paths)."""
    text = _sanitise(text)
    a = Analyser(env, home, fast)
    if "\x00" in text:
        # A NUL cannot be part of an argument; bash drops it.  "r\0m" is read as rm.
        text = text.replace("\x00", "")
        a.note("NUL character")
        a.warnings.append("the command contains NUL characters; it was analysed without them")
    cwds: Cwds = (_norm_cwd(cwd) if isinstance(cwd, str) else None,)
    try:
        a.run_text(text, cwds, 0, "")
    except _Limit:
        a.past_limit(text)
    if a.ambiguous:
        a.note("ambiguous escape")
        a.recording = False
        a.warnings.append("an unquoted backslash escape (\\n, \\t or \\r) may be read as whitespace by the "
                          "agent's transport: the command was also analysed that way")
        for alt in _ambiguous_readings(text, a.ambiguous):
            try:
                a.run_text(alt, cwds, 0, "")
            except _Limit:
                a.past_limit(alt)
                break
    return _result(a)


def _norm_cwd(cwd: str) -> str | None:
    """The working directory, normalised; None (unknown) unless it is absolute."""
    if not cwd.startswith("/"):
        return None
    if "//" not in cwd and "/." not in cwd and (cwd == "/" or not cwd.endswith("/")):
        return cwd
    return normalise_path(cwd)


def analyse_argv(argv: Sequence[str], *, cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    """Segments and effects of an argv run without a shell (no expansion of any kind).  Never raises.

    Memoised like ``analyse_command``.
    """
    try:
        if isinstance(argv, str) or not all(isinstance(x, str) for x in argv):
            return Analysis((), (), opaque=True, error="argv must be a sequence of strings")
        if not argv:
            return Analysis((), (), opaque=True, error="empty argv")
        size = sum(len(x) for x in argv)
        if size > MAX_INPUT:
            return Analysis((), (), opaque=True, error=f"the argv is longer than {MAX_INPUT} characters")
        if size > _MEMO_TEXT:
            return _analyse_argv(tuple(argv), cwd, env, home)
        return _ARGV_MEMO.get_or_run(tuple(argv), cwd, env, home, _analyse_argv)
    except RecursionError:
        return Analysis((), (), opaque=True, error="the command is nested too deeply to analyse")
    except Exception as exc:
        return Analysis((), (), opaque=True, error=f"internal error in shell analysis: {type(exc).__name__}: {exc}")


def _analyse_argv(argv: tuple[str, ...], cwd: str, env: Mapping[str, str], home: str) -> Analysis:
    """The analysis of an argv (may raise; ``analyse_argv`` catches)."""
    a = Analyser(env, home)
    cwds: Cwds = (_norm_cwd(cwd) if isinstance(cwd, str) else None,)
    if any("\x00" in x for x in argv):
        a.note("NUL character")
        a.warnings.append("an argument contains NUL characters; it was analysed without them")
    ws = [_lit(_sanitise(x).replace("\x00", "")) for x in argv]
    a.top_commands = 1
    a.top_argv = argv
    try:
        a.simple(ws, text=shlex.join(argv), cwds=cwds, depth=0, via="", pipe=-1, stdin=None, redirects=(),
                 assigns=())
    except _Limit:
        a.past_limit(shlex.join(argv))
    return _result(a)
