"""Shell analysis: a command string becomes segments (one per simple command) and effects (DESIGN §5).

The string is parsed with tree-sitter-bash (or split on blanks by the fast path in tokenize.py when
it has no metacharacters).  The walker descends into lists, pipelines, substitutions, subshells,
groups, control flow and function bodies; every simple command goes through ``_Analyser._simple``,
which normalises the program name, unwraps wrappers (sudo, env, timeout, ``bash -c`` ...), parses
the arguments against the command catalog (commands.py) and emits the exec effect, the path effects
of its arguments and redirections, and network effects.

``analyse_command`` and ``analyse_argv`` never raise: a failure returns an Analysis whose ``error``
says what went wrong.  Both memoise their results exactly (``_Memo``: keyed by the input, cwd and
home, and checked against the values of every environment variable the analysis read).
tree-sitter is imported on the first string that needs it, so a plain command never loads it.  Work is bounded: inputs above ``MAX_INPUT`` characters are refused, nesting
deeper than ``MAX_DEPTH`` and more than ``MAX_SEGMENTS`` commands become opaque.
"""
from __future__ import annotations

import fnmatch
import functools
import shlex
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from ..catalog import CommandModel, Parsed, lookup, normalise_program, normalise_word, parse, risk_of
from ...effects import Analysis, Effect, Segment
from ...frozen import replace
from ...resolve import (
    UNICODE_SPACES, Lit, Part, Tilde, Unknown, Var, decode_ansi_c, expand, join_path, lex_word,
    normalise_path,
)
from .fastpath import is_plain, split_plain
from ...verdict import Risk, combine_risk

if TYPE_CHECKING:
    import tree_sitter

__all__ = ["MAX_DEPTH", "MAX_INPUT", "MAX_SEGMENTS", "analyse_argv", "analyse_command", "set_memo"]

MAX_INPUT = 65536  # characters; a longer command is refused (fail closed)
MAX_DEPTH = 64  # nesting of substitutions, groups, wrappers and re-analysed strings
MAX_SEGMENTS = 4096  # simple commands per analysis; the rest is opaque
MAX_CWDS = 4  # possible working directories tracked after cd; more is "unknown"
MAX_PARALLEL_ARGS = 16

_MASK = bytes(range(128)) + b"a" * 128  # non-ASCII bytes -> "a" (see _parse)
_LOCAL = threading.local()  # one Parser per thread: a Parser must not parse two texts at once


def _parser() -> tree_sitter.Parser:
    parser: tree_sitter.Parser | None = getattr(_LOCAL, "parser", None)
    if parser is None:
        parser = _LOCAL.parser = _new_parser()
        _LOCAL.sources = []
    return parser


@functools.lru_cache(maxsize=1)
def _language() -> tree_sitter.Language:
    # Imported on first use: a plain string (the fast path) never needs tree-sitter, and the
    # import is a good part of the cold start of ``policylang decide "git status"``.
    import tree_sitter
    import tree_sitter_bash

    return tree_sitter.Language(tree_sitter_bash.language())


def _new_parser() -> tree_sitter.Parser:
    import tree_sitter

    return tree_sitter.Parser(_language())


def _parse(source: bytes) -> tree_sitter.Tree:
    """Parse, with every non-ASCII byte shown to tree-sitter as "a".

    tree-sitter-bash 0.25 can crash the process on some characters outside the BMP (``{6`` followed
    by U+E0000).  For bash every non-ASCII character is a word character, so the mask keeps the
    syntax; it keeps byte offsets too, and node texts are read from the real source (``_src``).
    """
    return _parser().parse(source if source.isascii() else source.translate(_MASK))


if TYPE_CHECKING:
    Node = tree_sitter.Node
Cwds = tuple[str | None, ...]

_STATEMENTS = frozenset({
    "command", "redirected_statement", "pipeline", "list", "compound_statement", "subshell",
    "negated_command", "variable_assignment", "variable_assignments", "declaration_command",
    "unset_command", "function_definition", "if_statement", "while_statement", "for_statement",
    "c_style_for_statement", "case_statement", "test_command", "ERROR",
})
_SEQUENCES = frozenset({"program", "compound_statement", "do_group", "subshell", "else_clause",
                        "elif_clause", "case_item"})
_CONTROL = frozenset({"if_statement", "while_statement", "for_statement", "c_style_for_statement",
                      "case_statement"})
_SUBSTITUTIONS = frozenset({"command_substitution", "process_substitution"})
_SEPARATORS = frozenset({";", "&", "&&", "||", "|", "|&", ";;", "\n"})
_WRITE_OPS = frozenset({">", ">>", ">|", "&>", "&>>", ">&", "<>"})
_READ_OPS = frozenset({"<", "<>", "<&"})
_SHELL_VALUE_LONG = frozenset({"--rcfile", "--init-file"})
_AMBIGUOUS = "ntr"
_SIMPLE_WORD = frozenset("\\~{*?[")  # a plain ASCII word without these is its own value
_LEAVES = frozenset({"word", "number", "raw_string", "ansi_c_string", "variable_name", "file_descriptor",
                     "simple_expansion", "special_variable_name", "heredoc_start", "heredoc_end", "comment"})
_NOT_LITERAL = frozenset(" \t;&|<>()$`\\\"'{}[]*?~#!")
_TAINT_HINTS = ("=", "read", "for", "unset", "getopts", "mapfile", "let", "select", "printf")


# ---- small value types ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Stream:
    """Where a command's input or output comes from.

    kind: ``static`` (texts known), ``network`` (fetched, or derived from fetched data), ``file``
    (a file, ``path``), ``opaque`` (anything else).
    """

    kind: str
    texts: tuple[str, ...] = ()
    why: str = ""
    path: str | None = None


_OPAQUE = Stream("opaque")


def _worst(a: Stream | None, b: Stream | None) -> Stream | None:
    order = {"network": 3, "opaque": 2, "file": 1, "static": 0}
    if a is None:
        return b
    if b is None:
        return a
    return a if order[a.kind] >= order[b.kind] else b


@dataclass(slots=True)
class W:
    """One argument word after expansion."""

    text: str  # normalised value when static, else the source text
    static: bool = True
    glob: bool = False
    orig: str = ""  # the exact value the shell passes (no Unicode normalisation)
    reason: str = ""  # why it is not static
    stream: Stream | None = None  # what a $( ) or <( ) in it produces
    paths: tuple[tuple[str | None, bool, bool], ...] | None = None  # stand-in paths: find's {}


def _lit(text: str) -> W:
    return W(normalise_word(text), True, False, text)


class _Seg:
    """A segment under construction (frozen into ``Segment`` at the end)."""

    __slots__ = ("index", "text", "program", "argv", "effects", "risks", "why", "opaque",
                 "opaque_reason", "wrappers", "via", "pipeline", "known", "background")

    def __init__(self, index: int, text: str, via: str, pipeline: int) -> None:
        self.index = index
        self.text = text
        self.program: str | None = None
        self.argv: tuple[str, ...] = ()
        self.effects: list[Effect] = []
        self.risks: list[Risk] = []
        self.why: list[str] = []
        self.opaque = False
        self.opaque_reason = ""
        self.wrappers: tuple[str, ...] = ()
        self.via = via
        self.pipeline = pipeline
        self.known = True
        self.background = False

    def add(self, effect: Effect) -> None:
        if effect not in self.effects:
            self.effects.append(effect)

    def raise_risk(self, risk: Risk, why: str) -> None:
        """Raise the risk of the segment and of its exec effects (the engine judges effects)."""
        self.risks.append(risk)
        if why and why not in self.why:
            self.why.append(why)
        for k, e in enumerate(self.effects):
            if e.kind == "exec" and e.risk < risk and e.program == self.program:
                self.effects[k] = replace(e, risk=risk, why=why or e.why)

    def make_opaque(self, reason: str) -> None:
        self.opaque = True
        if not self.opaque_reason:
            self.opaque_reason = reason

    def freeze(self) -> Segment:
        risk = combine_risk(self.risks) if self.risks else Risk.UNKNOWN
        return Segment(
            text=self.text, program=self.program, argv=self.argv, effects=tuple(self.effects), risk=risk,
            why=tuple(self.why), opaque=self.opaque, opaque_reason=self.opaque_reason,
            wrappers=self.wrappers, via=self.via, pipeline=self.pipeline, known=self.known)


@dataclass(slots=True)
class _Wrap:
    """What the wrappers around a command contributed (sudo, env, nice ...)."""

    names: tuple[str, ...] = ()
    effects: tuple[dict[str, Any], ...] = ()  # exec effects of the wrappers, made on the final segment
    risks: tuple[Risk, ...] = ()
    why: tuple[str, ...] = ()
    extra_unknown: bool = False  # xargs: more operands come from the input
    path_changed: bool = False
    assigned: tuple[str, ...] = ()  # environment variables set for the command (FOO=1 cmd, env FOO=1 cmd)


_NO_WRAP = _Wrap()  # shared: a _Wrap is never changed in place (wrappers build a new one)


class _Limit(Exception):
    """The segment budget is spent."""


# ---- the analyser --------------------------------------------------------------------------------

class _Analyser:
    def __init__(self, env: Mapping[str, str], home: str, fast: bool = True) -> None:
        self.env = env
        self.home = home
        self.fast = fast  # use the fast path for plain strings (tests turn it off to compare)
        self.segs: list[_Seg] = []
        self.warnings: list[str] = []
        self.unstructured: list[str] = []
        self.recording = True  # structural reasons are recorded for the top-level reading only
        self.tainted: frozenset[str] = frozenset()
        self.functions: set[str] = set()
        self.path_changed = False
        self.next_pipeline = 0
        self.top_argv: tuple[str, ...] | None = None
        self.top_commands = 0
        self.repaired: set[int] = set()
        self.ambiguous: list[int] = []
        self.streams: dict[tuple[int, int], Stream] = {}

    # -- bookkeeping -------------------------------------------------------------------------

    def note(self, reason: str) -> None:
        if self.recording and reason not in self.unstructured:
            self.unstructured.append(reason)

    def new_seg(self, text: str, via: str, pipe: int) -> _Seg:
        if len(self.segs) >= MAX_SEGMENTS:
            raise _Limit()
        seg = _Seg(len(self.segs), text, via, pipe)
        self.segs.append(seg)
        return seg

    def past_limit(self, text: str) -> None:
        """Past the segment budget: one more (opaque) segment says so."""
        seg = _Seg(len(self.segs), text[:200], "", -1)
        reason = f"more than {MAX_SEGMENTS} commands: the rest was not analysed"
        seg.make_opaque(reason)
        seg.known = False
        seg.add(Effect("exec", program=None, opaque=True, known=False, why=reason, segment=seg.index))
        self.segs.append(seg)
        self.recording = True
        self.note("too many commands")

    def opaque_seg(self, text: str, via: str, pipe: int, reason: str) -> _Seg:
        seg = self.new_seg(text, via, pipe)
        seg.make_opaque(reason)
        seg.known = False
        seg.add(Effect("exec", program=None, opaque=True, known=False, why=reason, segment=seg.index))
        return seg

    # -- entry points ----------------------------------------------------------------------------

    def run_text(self, text: str, cwds: Cwds, depth: int, via: str, stdin: Stream | None = None
                 ) -> tuple[Cwds, Stream | None]:
        """Analyse a shell string (top level, or re-analysed from bash -c, eval ...)."""
        if depth > MAX_DEPTH:
            self.opaque_seg(text[:200], via, -1, f"nesting deeper than {MAX_DEPTH} levels")
            return cwds, _OPAQUE
        if self.fast and is_plain(text):
            words = split_plain(text)
            if words is not None:
                ok, fail, out = self.plain(words, text.strip(" \t"), cwds, depth, via, stdin)
                return _union(ok, fail), out
        source = text.encode("utf-8", "replace")
        tree = _parse(source)
        root = tree.root_node
        _LOCAL.sources.append(source)
        try:
            return self._run_tree(text, source, root, cwds, depth, via, stdin)
        finally:
            _LOCAL.sources.pop()

    def _run_tree(self, text: str, source: bytes, root: Node, cwds: Cwds, depth: int, via: str,
                  stdin: Stream | None) -> tuple[Cwds, Stream | None]:
        if any(k in text for k in _TAINT_HINTS):
            self.tainted = self.tainted | _prescan_taint(root)
        skipped = _first_skipped(root, source)
        if skipped is not None:
            # tree-sitter dropped part of the text without an ERROR node ("- 1=" parses as "1=").
            words = split_plain(text) if is_plain(text) else None
            if words:
                ok, fail, out = self.plain(words, text.strip(" \t"), cwds, depth, via, stdin)
                return _union(ok, fail), out
            snippet = source[skipped:skipped + 40].decode("utf-8", "replace")
            self.opaque_seg(text[:200], via, -1, f"cannot parse the shell text near byte {skipped}: {snippet!r}")
            self.note("parse error")
        saved = self.repaired
        self.repaired = set()
        try:
            ok, fail, out = self.sequence(root, cwds, depth, via, -1, stdin)
            if root.has_error:
                bad = _error_nodes(root, self.repaired)
                if bad:
                    where = bad[0]
                    snippet = _text(where)[:40]
                    reason = (f"cannot parse the shell text near byte {where.start_byte}"
                              f"{': ' + repr(snippet) if snippet else ''}")
                    self.opaque_seg(text[:200], via, -1, reason)
                    self.note("parse error")
        finally:
            self.repaired = saved
        return _union(ok, fail), out

    def plain(self, words: list[str], text: str, cwds: Cwds, depth: int, via: str, stdin: Stream | None,
              pipe: int = -1) -> tuple[Cwds, Cwds, Stream | None]:
        """The fast path: literal words, no shell syntax."""
        k = 0
        pairs: list[tuple[str, str | None]] = []
        while k < len(words) and _assignment_name(words[k]) is not None:
            pairs.append((_assignment_name(words[k]) or "", words[k].partition("=")[2]))
            k += 1
        if k:
            self.note("variable assignment")
        if k == len(words):
            if any(n == "PATH" for n, _ in pairs):
                self.path_changed = True
            return cwds, cwds, None
        ws = [_lit(w) for w in words[k:]]
        if not via and self.recording:
            self.top_commands += 1
            self.top_argv = tuple(w.orig for w in ws) if self.top_commands == 1 else None
        return self.simple(ws, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin,
                           redirects=[], assigns=pairs)

    # -- statements ------------------------------------------------------------------------------

    def stmt(self, node: Node, cwds: Cwds, depth: int, via: str, pipe: int = -1,
             stdin: Stream | None = None) -> tuple[Cwds, Cwds, Stream | None]:
        """Walk one statement; returns (cwds if it succeeds, cwds if it fails, its output)."""
        if depth > MAX_DEPTH:
            self.opaque_seg(_text(node)[:200], via, pipe, f"nesting deeper than {MAX_DEPTH} levels")
            return cwds, cwds, _OPAQUE
        t = node.type
        if t in ("command", "ERROR", "variable_assignment", "variable_assignments", "declaration_command",
                 "unset_command"):
            text = _text(node)
            if is_plain(text) and text.strip(" \t"):
                # No shell syntax in it: its words are its blank-separated parts, whatever
                # tree-sitter's error recovery made of them (it splits "a=1 b:c" oddly).
                words = split_plain(text)
                if words is not None:
                    if node.has_error:
                        self.repaired.update(n.start_byte for n in _error_nodes(node, set()))
                    if t == "ERROR":
                        self.repaired.add(node.start_byte)
                    return self.plain(words, text.strip(" \t"), cwds, depth, via, stdin, pipe)
            if t == "command":
                return self.command(node, [], cwds, depth, via, pipe, stdin, text)
        if t == "redirected_statement":
            return self.redirected(node, cwds, depth, via, pipe, stdin)
        if t == "pipeline":
            return self.chain(_pipeline_items(node), cwds, depth, via, stdin)
        if t == "list":
            return self.chain(_list_items(node), cwds, depth, via, stdin)
        if t == "subshell":
            self.note("subshell")
            self.sequence(node, cwds, depth + 1, via, pipe, stdin)
            return cwds, cwds, _OPAQUE
        if t in _SEQUENCES:
            if t == "compound_statement":
                self.note("group")
            return self.sequence(node, cwds, depth + 1, via, pipe, stdin)
        if t == "negated_command":
            ok, fail, out = cwds, cwds, None
            for child in _named(node):
                ok, fail, out = self.stmt(child, cwds, depth + 1, via, pipe, stdin)
            return fail, ok, out
        if t == "variable_assignment" and not _valid_assignment(node):
            # "1a=b" is not an assignment in bash: it is a command name.
            ws = self.words([node], cwds, depth)
            if not via and self.recording:
                self.top_commands += 1
                self.top_argv = tuple(w.orig for w in ws) if self.top_commands == 1 else None
            return self.simple(ws, text=_text(node), cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin,
                               redirects=(), assigns=())
        if t in ("variable_assignment", "variable_assignments"):
            self.note("variable assignment")
            self.substitutions(node, cwds, depth, via)
            if any(_assignment_node_name(a) == "PATH" for a in _assignments(node)):
                self.path_changed = True
            return cwds, cwds, None
        if t in ("declaration_command", "unset_command"):
            return self.declaration(node, cwds, depth, via, pipe)
        if t == "function_definition":
            self.function(node, cwds, depth, via)
            return cwds, cwds, None
        if t in _CONTROL:
            self.note("control flow")
            return self.control(node, cwds, depth, via)
        if t == "test_command":
            return self.test(node, cwds, depth, via, pipe)
        if t == "comment":
            return cwds, cwds, None
        if t == "ERROR":
            self.note("parse error")
            return self.sequence(node, cwds, depth + 1, via, pipe, stdin)
        # Anything else (arithmetic, expressions): only its substitutions run.
        self.substitutions(node, cwds, depth, via)
        return cwds, cwds, None

    def sequence(self, node: Node, cwds: Cwds, depth: int, via: str, pipe: int,
                 stdin: Stream | None) -> tuple[Cwds, Cwds, Stream | None]:
        """Statements run one after another (a script, a group, a body)."""
        state = cwds
        ok, fail, out = cwds, cwds, None
        before = cwds
        start = len(self.segs)
        count = 0
        for item in _adjacent_groups(node):
            child = item[0]
            if not child.is_named and len(item) > 1:
                word = _span(child.start_byte, item[-1].end_byte).decode("utf-8", "replace")
                done = self.brace_word(word, state, depth, via, pipe)
                if done is not None:
                    ok, fail, out = done
                    state = _union(ok, fail)
                    continue
            if not child.is_named:
                if child.type == "&":
                    self.note("background job")
                    for s in self.segs[start:]:
                        s.background = True
                    state = before
                    ok = fail = before
                continue
            if len(item) == 1 and child.type not in _STATEMENTS and child.type not in _SEQUENCES:
                if child.type in ("comment", "heredoc_body", "heredoc_start", "heredoc_end"):
                    continue
                self.substitutions(child, state, depth, via)
                continue
            count += 1
            if count == 2:
                self.note("several commands")
            before = state
            start = len(self.segs)
            if len(item) > 1:
                # Statements with no separator between them are one command that tree-sitter's
                # error recovery split ("1@0" -> ERROR "1", command "@0").
                text = _span(item[0].start_byte, item[-1].end_byte).decode("utf-8", "replace")
                words = split_plain(text) if is_plain(text) else None
                if words:
                    for n in item:
                        self.repaired.update(e.start_byte for e in _error_nodes(n, set()))
                    ok, fail, out = self.plain(words, text.strip(" \t"), state, depth, via,
                                               stdin if count == 1 else None, pipe)
                    state = _union(ok, fail)
                    continue
                for n in item:
                    ok, fail, out = self.stmt(n, state, depth, via, pipe, None)
                    state = _union(ok, fail)
                continue
            ok, fail, out = self.stmt(child, state, depth, via, pipe, stdin if count == 1 else None)
            state = _union(ok, fail)
        return ok, fail, out

    def brace_word(self, word: str, cwds: Cwds, depth: int, via: str, pipe: int
                   ) -> tuple[Cwds, Cwds, Stream | None] | None:
        """A lone word such as ``{rm,-rf,/}``: its brace expansion is the command."""
        if any(c in word for c in " \t\n;&|<>()`$"):
            return None
        parts = lex_word(word)
        if parts is None:
            return None
        words = expand(parts, env=self.env, home=self.home, cwd=cwds[0] if len(cwds) == 1 else None,
                       tainted=self.tainted)
        if not words:
            return None
        self.note("glob, brace expansion or word splitting")
        ws = [W(normalise_word(e.text), True, e.glob, e.text) for e in words]
        return self.simple(ws, text=word, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=None,
                           redirects=(), assigns=())

    def chain(self, items: list[tuple[str | None, Any]], cwds: Cwds, depth: int, via: str,
              stdin: Stream | None) -> tuple[Cwds, Cwds, Stream | None]:
        """Items joined by operators: ``|`` groups stages into pipelines, then && || ; & in order.

        An item is a Node or a callable ``(cwds, pipe, stdin) -> (ok, fail, out)``.
        """
        groups: list[tuple[str | None, list[Any]]] = []
        for op, item in items:
            if op in ("|", "|&") and groups:
                groups[-1][1].append(item)
            else:
                groups.append((op, [item]))
        ok, fail, out = cwds, cwds, None
        first = True
        for op, stages in groups:
            if first:
                inp = cwds
            elif op == "&&":
                inp = ok
            elif op == "||":
                inp = fail
            else:
                inp = _union(ok, fail)
            if op in ("&&", "||"):
                self.note("list (&&, ||)")
            elif op is not None:
                self.note("several commands")
            r_ok, r_fail, r_out = self.pipeline(stages, inp, depth, via, stdin if first else None)
            if first:
                ok, fail = r_ok, r_fail
            elif op == "&&":
                ok, fail = r_ok, _union(fail, r_fail)
            elif op == "||":
                ok, fail = _union(ok, r_ok), r_fail
            else:
                ok, fail = r_ok, r_fail
            out = r_out
            first = False
        return ok, fail, out

    def pipeline(self, stages: list[Any], cwds: Cwds, depth: int, via: str, stdin: Stream | None
                 ) -> tuple[Cwds, Cwds, Stream | None]:
        if len(stages) == 1:
            return self.run_item(stages[0], cwds, depth, via, -1, stdin)
        self.note("pipeline")
        pipe = self.next_pipeline
        self.next_pipeline += 1
        stream = stdin
        for stage in stages:
            _, _, stream = self.run_item(stage, cwds, depth, via, pipe, stream)
            if stream is None:
                stream = _OPAQUE
        return cwds, cwds, stream  # every stage runs in a subshell: cd does not persist

    def run_item(self, item: Any, cwds: Cwds, depth: int, via: str, pipe: int, stdin: Stream | None
                 ) -> tuple[Cwds, Cwds, Stream | None]:
        if not callable(item):  # a tree-sitter Node (nodes are not callable)
            return self.stmt(item, cwds, depth, via, pipe, stdin)
        result: tuple[Cwds, Cwds, Stream | None] = item(cwds, pipe, stdin)
        return result

    def control(self, node: Node, cwds: Cwds, depth: int, via: str) -> tuple[Cwds, Cwds, Stream | None]:
        """if / while / until / for / case: every part may run; the cwd afterwards is any of theirs."""
        state: Cwds = cwds
        out: Stream | None = None
        if node.type == "for_statement":
            for child in node.children:
                if child.type == "variable_name":
                    continue
                if child.is_named and child.type not in _STATEMENTS and child.type not in _SEQUENCES:
                    self.substitutions(child, cwds, depth, via)
        for child in _named(node):
            if child.type in _STATEMENTS or child.type in _SEQUENCES:
                ok, fail, out = self.stmt(child, cwds, depth + 1, via)
                state = _union(state, _union(ok, fail))
            elif node.type != "for_statement":
                self.substitutions(child, cwds, depth, via)
        return state, state, out

    def function(self, node: Node, cwds: Cwds, depth: int, via: str) -> None:
        self.note("function definition")
        name_node = node.child_by_field_name("name")
        name = normalise_program(_text(name_node)) if name_node is not None else ""
        if name:
            self.functions.add(name)
        body = node.child_by_field_name("body")
        if body is None:
            return
        start = len(self.segs)
        where = f"function {name}"
        self.stmt(body, cwds, depth + 1, f"{via} > {where}" if via else where)
        # A function that runs itself in a pipeline or in the background multiplies without end.
        calls = [s for s in self.segs[start:] if s.program == name and s.via.endswith(where)]
        if any(s.pipeline >= 0 or s.background for s in calls):
            for s in calls:
                s.raise_risk(Risk.CRITICAL, f"fork bomb: the function {name} starts copies of itself")

    def test(self, node: Node, cwds: Cwds, depth: int, via: str, pipe: int) -> tuple[Cwds, Cwds, Stream | None]:
        self.substitutions(node, cwds, depth, via)
        text = _text(node)
        prog = "[[" if text.startswith("[[") else "["
        seg = self.new_seg(text, via, pipe)
        seg.program = prog
        seg.argv = (prog,)
        seg.risks.append(Risk.LOW)
        seg.add(Effect("exec", program=prog, argv=(prog,), risk=Risk.LOW, known=True, segment=seg.index))
        self._count_top(via)
        return cwds, cwds, None

    def declaration(self, node: Node, cwds: Cwds, depth: int, via: str, pipe: int
                    ) -> tuple[Cwds, Cwds, Stream | None]:
        """export / declare / local / readonly / typeset / unset: a builtin with assignments."""
        self.substitutions(node, cwds, depth, via)
        keyword = node.children[0].type if node.children else "export"
        ws = [_lit(keyword)] + self.words(_named(node), cwds, depth)
        text = _text(node)
        if not via and self.recording:
            self.top_commands += 1
            self.top_argv = tuple(w.orig for w in ws) if self.top_commands == 1 else None
        return self.simple(ws, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=None,
                           redirects=(), assigns=())

    def _count_top(self, via: str) -> None:
        if not via and self.recording:
            self.top_commands += 1
            self.top_argv = None

    # -- substitutions ---------------------------------------------------------------------------

    def substitutions(self, node: Node, cwds: Cwds, depth: int, via: str) -> None:
        """Walk every command or process substitution inside ``node`` (not inside nested ones)."""
        if node.type in _LEAVES:
            return
        stack = [node]
        while stack:
            n = stack.pop()
            if n.type in _LEAVES:
                continue
            if n.type in _SUBSTITUTIONS:
                self.subst(n, cwds, depth + 1, via)
                continue
            if n.type in _STATEMENTS and n is not node:
                self.stmt(n, cwds, depth + 1, via)
                continue
            if n.type == "ERROR" and not _literal_error(n):
                self.note("parse error")
            if n.type == "heredoc_redirect":
                # Statements inside are the rest of the command line (walked by the caller).
                stack.extend(reversed([c for c in n.children if c.type not in _STATEMENTS]))
                continue
            stack.extend(reversed(n.children))

    def subst(self, node: Node, cwds: Cwds, depth: int, via: str) -> Stream | None:
        key = (node.start_byte, node.end_byte)
        if key in self.streams:
            return self.streams[key]
        text = _text(node)
        if node.type == "process_substitution":
            self.note("process substitution")
            where = text[:2] + "...)"
        else:
            self.note("command substitution")
            where = "$(...)" if text.startswith("$(") else "`...`"
        sub_via = f"{via} > {where}" if via else where
        if depth > MAX_DEPTH:
            self.opaque_seg(text[:200], sub_via, -1, f"nesting deeper than {MAX_DEPTH} levels")
            self.streams[key] = _OPAQUE
            return _OPAQUE
        if text.startswith("`") and "\\" in text:
            # Inside backquotes \` \\ and \$ are escapes: the body is re-read as shell text.
            body = text[1:-1] if text.endswith("`") and len(text) > 1 else text[1:]
            body = body.replace("\\\\", "\x00").replace("\\`", "`").replace("\\$", "$").replace("\x00", "\\")
            _, out = self.run_text(body, cwds, depth + 1, sub_via)
        else:
            _, _, out = self.sequence(node, cwds, depth + 1, sub_via, -1, None)
        if node.type == "process_substitution" and text.startswith(">("):
            out = _OPAQUE
        result = out if out is not None else _OPAQUE
        self.streams[key] = result
        return result

    # -- words -----------------------------------------------------------------------------------

    def parts(self, node: Node, quoted: bool, depth: int, streams: list[Stream]) -> list[Part]:
        t = node.type
        if depth > MAX_DEPTH:
            return [Unknown("nesting too deep", quoted)]
        if t == "word":
            return self._word_parts(node, quoted)
        if t == "command_name":
            out: list[Part] = []
            for c in node.children:
                out.extend(self.parts(c, quoted, depth + 1, streams))
            return out
        if t == "raw_string":
            text = _text(node)
            if len(text) < 2 or not text.endswith("'"):
                return [Unknown("unterminated quote", quoted)]
            return [Lit(text[1:-1], True)]
        if t == "ansi_c_string":
            text = _text(node)
            return [Lit(decode_ansi_c(text[2:-1] if text.endswith("'") else text[2:]), True)]
        if t in ("string", "translated_string"):
            return self._string_parts(node, depth, streams)
        if t == "simple_expansion":
            name = _text(node)[1:]
            if name.isidentifier() and name.isascii():
                return [Var(name, quoted)]
            return [Unknown("$" + name, quoted)]
        if t == "expansion":
            return [self._expansion(node, quoted, depth, streams)]
        if t in _SUBSTITUTIONS:
            stream = self.streams.get((node.start_byte, node.end_byte)) or _OPAQUE
            streams.append(stream)
            if t == "process_substitution":
                return [Unknown("process substitution", quoted)]
            value = None
            if stream.kind == "static" and len(stream.texts) == 1:
                value = stream.texts[0].rstrip("\n")
            return [Unknown("command substitution", quoted, value)]
        if t == "arithmetic_expansion":
            return [Unknown("arithmetic expansion", quoted)]
        if t == "concatenation" or t == "variable_assignment":
            out = []
            for c in node.children:
                out.extend(self.parts(c, quoted, depth + 1, streams))
            return out
        if t == "ERROR" and _literal_error(node):
            return [Lit(_text(node), quoted)]
        if t in ("array", "ERROR"):
            return [Unknown(t, quoted)]
        if not node.is_named and t in ('"', "'"):
            return []
        return [Lit(_text(node), quoted)]

    def _word_parts(self, node: Node, quoted: bool) -> list[Part]:
        text = _text(node)
        if "\\" not in text:
            return [Lit(text, quoted)]
        out: list[Part] = []
        buf: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                d = text[i + 1]
                if buf:
                    out.append(Lit("".join(buf), quoted))
                    buf = []
                if d in _AMBIGUOUS and self.recording and i > 0:
                    # Inside a word only: a leading backslash (\rm) is the usual alias bypass.
                    self.ambiguous.append(node.start_byte + len(text[:i].encode("utf-8")))
                if d != "\n":
                    out.append(Lit(d, True))
                i += 2
            else:
                buf.append(c)
                i += 1
        if buf:
            out.append(Lit("".join(buf), quoted))
        return out

    def _string_parts(self, node: Node, depth: int, streams: list[Stream]) -> list[Part]:
        out: list[Part] = [Lit("", True)]
        src = _src(node)
        base = node.start_byte
        pos = base + (2 if node.type == "translated_string" else 1)
        end = node.end_byte - (1 if src.endswith(b'"') and len(src) > 1 else 0)
        for c in node.children:
            if not c.is_named:
                continue
            if c.start_byte > pos:
                out.append(Lit(_unescape_dq(src[pos - base:c.start_byte - base].decode("utf-8", "replace")), True))
            if c.type == "string_content":
                out.append(Lit(_unescape_dq(_text(c)), True))
            else:
                out.extend(self.parts(c, True, depth + 1, streams))
            pos = max(pos, c.end_byte)
        if end > pos:
            out.append(Lit(_unescape_dq(src[pos - base:end - base].decode("utf-8", "replace")), True))
        return out

    def _expansion(self, node: Node, quoted: bool, depth: int, streams: list[Stream]) -> Part:
        kids = node.children
        text = _text(node)
        if len(kids) < 3 or kids[0].type != "${" or kids[-1].type != "}":
            return Unknown(text, quoted)
        inner = kids[1:-1]
        if inner[0].type != "variable_name":
            return Unknown(text, quoted)
        name = _text(inner[0])
        if len(inner) == 1:
            return Var(name, quoted)
        op = inner[1].type if not inner[1].is_named else ""
        if op not in (":-", "-", ":=", "=", ":+", "+"):
            return Unknown(text, quoted)
        arg: list[Part] = []
        for c in inner[2:]:
            arg.extend(self.parts(c, quoted, depth + 1, streams))
        return Var(name, quoted, op, tuple(arg))

    def words(self, nodes: Sequence[Node | list[Node]], cwds: Cwds, depth: int) -> list[W]:
        """Expand argument nodes into words (after their substitutions have been walked).

        An item may be a list of adjacent nodes that form one shell word (tree-sitter sometimes
        splits a word, e.g. around an ERROR node)."""
        out: list[W] = []
        cwd = cwds[0] if len(cwds) == 1 else None
        for item in nodes:
            if isinstance(item, list):
                if len(item) != 1:
                    streams: list[Stream] = []
                    parts: list[Part] = []
                    for n in item:
                        parts.extend(self.parts(n, False, depth, streams))
                    raw = "".join(_text(n) for n in item)
                    self._expand_into(out, _tilde(parts), raw, streams, cwd)
                    continue
                node = item[0]
            else:
                node = item
            if node.type == "word" or node.type == "number":
                text = _text(node)
                if text.isascii() and _SIMPLE_WORD.isdisjoint(text) and not (
                        node.type == "word" and text.startswith("~")):
                    out.append(W(text, True, False, text))
                    continue
            streams = []
            self._expand_into(out, _tilde(self.parts(node, False, depth, streams)), _text(node), streams, cwd)
        return out

    def _expand_into(self, out: list[W], parts: list[Part], raw: str, streams: list[Stream],
                     cwd: str | None) -> None:
        stream = None
        for s in streams:
            stream = _worst(stream, s)
        if self.recording:
            self._note_word(parts)
        expanded = expand(parts, env=self.env, home=self.home, cwd=cwd, tainted=self.tainted)
        if expanded is None:
            reason = next((p.reason if isinstance(p, Unknown) else f"${p.name}" for p in parts
                           if isinstance(p, (Unknown, Var))), "a value that cannot be known")
            out.append(W(raw, False, False, raw, reason, stream))
            return
        if self.recording and (len(expanded) != 1 or any(e.glob for e in expanded)):
            self.note("glob, brace expansion or word splitting")
        for e in expanded:
            out.append(W(normalise_word(e.text), True, e.glob, e.text, "", stream))

    def _note_word(self, parts: Sequence[Part]) -> None:
        for p in parts:
            if isinstance(p, (Var, Unknown)):
                self.note("variable or command expansion")
            elif isinstance(p, Tilde):
                self.note("tilde expansion")
            elif isinstance(p, Lit) and not p.quoted:
                if any(c in UNICODE_SPACES for c in p.text):
                    self.note("Unicode space between words")

    # -- simple commands -------------------------------------------------------------------------

    def command(self, node: Node, redirects: list[Node], cwds: Cwds, depth: int, via: str, pipe: int,
                stdin: Stream | None, text: str, gap: Sequence[str] = ()) -> tuple[Cwds, Cwds, Stream | None]:
        assigns: list[Node] = []
        groups: list[list[Node]] = []  # adjacent nodes form one shell word
        redirs = list(redirects)
        last_end = -1
        for child in node.children:
            t = child.type
            if t == "variable_assignment" and not groups and _valid_assignment(child):
                assigns.append(child)
            elif t.endswith("_redirect"):
                redirs.append(child)
            elif child.is_named and t != "comment":
                if t == "ERROR":
                    if _literal_error(child):
                        self.repaired.add(child.start_byte)
                    else:
                        self.note("parse error")
                if groups and child.start_byte == last_end:
                    groups[-1].append(child)
                else:
                    groups.append([child])
                last_end = child.end_byte
        # Words after a redirection target belong to the command: "git >/dev/null reset --hard".
        tails: list[tuple[str, str, int]] = []
        for r in redirs:
            if r.type == "file_redirect":
                extra, tail = _redirect_extra(r)
                groups.extend([n] for n in extra)
                if tail is not None:
                    tails.append(tail)
                    self.repaired.add(tail[2])
        word_nodes = groups
        for n in assigns + [n for g in groups for n in g] + redirs:
            self.substitutions(n, cwds, depth, via)
        pairs = [(_assignment_node_name(a) or "", self._assigned_value(a, cwds, depth)) for a in assigns]
        if assigns:
            self.note("variable assignment")
        if redirs:
            self.note("redirection")
        ws = self.words(word_nodes[:1], cwds, depth) + [_lit(g) for g in gap] + self.words(word_nodes[1:], cwds, depth) \
            if gap and word_nodes else self.words(word_nodes, cwds, depth)
        redirect_effects, in_stream = self.redirections(redirs, cwds, depth)
        if in_stream is not None:
            stdin = in_stream
        if ws and not via and self.recording:
            self.top_commands += 1
            self.top_argv = tuple(w.orig for w in ws) if self.top_commands == 1 else None
        result = self.simple(ws, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin,
                             redirects=redirect_effects, assigns=pairs)
        for op, tail_text, _ in tails:
            self.note("several commands")
            self.run_text(tail_text, cwds, depth + 1, via, result[2] if op in ("|", "|&") else None)
        return result

    def _assigned_value(self, node: Node, cwds: Cwds, depth: int) -> str | None:
        """The static value of ``NAME=value``, or None when it cannot be known."""
        value = node.child_by_field_name("value")
        if value is None:
            return ""
        ws = self.words([value], cwds, depth)
        return ws[0].orig if len(ws) == 1 and ws[0].static else None

    def redirected(self, node: Node, cwds: Cwds, depth: int, via: str, pipe: int, stdin: Stream | None
                   ) -> tuple[Cwds, Cwds, Stream | None]:
        body = node.child_by_field_name("body")
        redirs: list[Node] = []
        continuation: list[tuple[str | None, Node]] = []
        for child in node.children:
            if child.type.endswith("_redirect"):
                redirs.append(child)
                if child.type == "heredoc_redirect":
                    continuation.extend(_heredoc_continuation(child))
                    for sub in child.children:
                        if sub.type.endswith("_redirect"):
                            redirs.append(sub)
        if body is None:
            for n in redirs:
                self.substitutions(n, cwds, depth, via)
            effects, _ = self.redirections(redirs, cwds, depth)
            seg = self.new_seg(_text(node), via, pipe)
            seg.risks.append(Risk.LOW)
            for e in effects:
                seg.add(_at(e, seg.index))
            self.note("redirection")
            return cwds, cwds, None
        text = _text(node)
        if continuation:
            text = _text(body) + " " + " ".join(
                _text(r) for r in redirs if r.type != "heredoc_redirect")

        gap = _body_gap_words(node, body)

        def head(c: Cwds, p: int, s: Stream | None) -> tuple[Cwds, Cwds, Stream | None]:
            if body.type == "command":
                return self.command(body, redirs, c, depth, via, p, s, text.strip(), gap)
            self.note("redirection")
            start = len(self.segs)
            for n in redirs:
                self.substitutions(n, c, depth, via)
            result = self.stmt(body, c, depth + 1, via, p, s)
            effects, _ = self.redirections(redirs, c, depth)
            if effects:
                own = [s2 for s2 in self.segs[start:] if s2.via == via] or self.segs[start:]
                if own:
                    target = own[-1]
                else:
                    target = self.new_seg(text, via, p)
                    target.risks.append(Risk.LOW)
                for e in effects:
                    target.add(_at(e, target.index))
            return result

        if not continuation:
            return head(cwds, pipe, stdin)
        items: list[tuple[str | None, Any]] = [(None, head)]
        for op, n in continuation:
            items.extend(_flatten(op, n))
        return self.chain(items, cwds, depth, via, stdin)

    def redirections(self, redirs: Sequence[Node], cwds: Cwds, depth: int) -> tuple[list[Effect], Stream | None]:
        """Path effects of redirections (segment 0: re-indexed by the caller) and the stdin they give."""
        effects: list[Effect] = []
        stdin: Stream | None = None
        for r in redirs:
            t = r.type
            if t == "file_redirect":
                op = ""
                target: Node | None = None
                for c in r.children:
                    if not c.is_named and c.type not in ("(", ")"):
                        if not op:
                            op = c.type
                    elif c.type == "ERROR":
                        break
                    elif c.is_named and c.type != "file_descriptor" and target is None:
                        target = c
                if target is None:
                    continue
                ws = self.words([target], cwds, depth)
                if op in (">&", "<&", ">&-", "<&-") and all(w.static and (w.text.isdigit() or w.text == "-")
                                                             for w in ws):
                    continue  # duplicates a file descriptor
                roles = []
                if op in _WRITE_OPS:
                    roles.append("write")
                if op in _READ_OPS:
                    roles.append("read")
                for role in roles:
                    for w in ws:
                        effects.extend(self.path_effects(role, w, cwds, False, 0, f"redirection {op}"))
                if op == "<" and ws and ws[0].static:
                    stdin = Stream("file", path=join_path(cwds[0], ws[0].text) if cwds else None)
            elif t == "herestring_redirect":
                self.note("here-string")
                content = [c for c in r.children if c.is_named]
                ws = self.words(content, cwds, depth) if content else []
                if ws and all(w.static for w in ws):
                    stdin = Stream("static", (" ".join(w.orig for w in ws) + "\n",), "here-string")
                else:
                    worst = None
                    for w in ws:
                        worst = _worst(worst, w.stream)
                    stdin = worst if worst is not None and worst.kind == "network" else _OPAQUE
            elif t == "heredoc_redirect":
                self.note("heredoc")
                start = r.children[1] if len(r.children) > 1 else None
                quoted_delim = start is not None and any(q in _text(start) for q in "'\"\\")
                body = next((c for c in r.children if c.type == "heredoc_body"), None)
                text = _text(body) if body is not None else ""
                if body is not None and not quoted_delim:
                    streams: list[Stream] = []
                    for c in body.children:
                        if c.type in _SUBSTITUTIONS:
                            s = self.streams.get((c.start_byte, c.end_byte))
                            if s is not None:
                                streams.append(s)
                    if any(s.kind == "network" for s in streams):
                        stdin = Stream("network", why="heredoc with fetched content")
                        continue
                stdin = Stream("static", (text,), "heredoc")
        return effects, stdin

    def simple(self, words: list[W], *, text: str, cwds: Cwds, depth: int, via: str, pipe: int,
               stdin: Stream | None, redirects: Sequence[Effect], assigns: Sequence[tuple[str, str | None]],
               wrap: _Wrap | None = None) -> tuple[Cwds, Cwds, Stream | None]:
        """One simple command: normalise, unwrap, look up, emit effects.  Returns (ok, fail, output)."""
        if wrap is None:
            wrap = _NO_WRAP
        if assigns:
            names = [n for n, _ in assigns]
            wrap = replace(wrap, path_changed=wrap.path_changed or "PATH" in names, assigned=(*wrap.assigned, *names))
            self.command_variables(assigns, cwds, depth, via)
        if not words:
            if redirects or wrap.names:
                seg = self.new_seg(text, via, pipe)
                seg.risks.append(Risk.LOW)
                self._finish(seg, wrap, redirects)
            return cwds, cwds, None
        w0 = words[0]
        if depth > MAX_DEPTH:
            self.opaque_seg(text, via, pipe, f"nesting deeper than {MAX_DEPTH} levels")
            return cwds, cwds, _OPAQUE
        if not w0.static:
            seg = self.new_seg(text, via, pipe)
            seg.argv = tuple(w.text for w in words)
            reason = f"the program name comes from {w0.reason}"
            seg.make_opaque(reason)
            seg.known = False
            if w0.stream is not None and w0.stream.kind == "network":
                seg.add(Effect("exec", program=None, argv=seg.argv, risk=Risk.CRITICAL, known=False,
                               why="runs a program named by fetched content", segment=seg.index))
                seg.risks.append(Risk.CRITICAL)
            else:
                seg.add(Effect("exec", program=None, argv=seg.argv, opaque=True, known=False, why=reason,
                               segment=seg.index))
            self._finish(seg, wrap, redirects)
            return cwds, cwds, _OPAQUE
        prog = normalise_program(w0.text)
        if prog in self.functions:
            seg = self.new_seg(text, via, pipe)
            seg.program = prog
            seg.argv = (prog, *(w.text for w in words[1:]))
            seg.risks.append(Risk.LOW)
            seg.add(Effect("exec", program=prog, argv=seg.argv, operands=seg.argv[1:], risk=Risk.LOW,
                           why=f"calls the shell function {prog} defined in this command", segment=seg.index))
            self._finish(seg, wrap, redirects)
            return cwds, cwds, _OPAQUE
        model = lookup(prog)
        if model is None:
            seg = self.new_seg(text, via, pipe)
            seg.program = prog
            seg.argv = (prog, *(w.text for w in words[1:]))
            seg.known = False
            seg.risks.append(Risk.UNKNOWN)
            seg.add(Effect("exec", program=prog, argv=seg.argv, operands=tuple(w.text for w in words[1:]),
                           risk=Risk.UNKNOWN, known=False, why=f"{prog} is not in the command catalog",
                           segment=seg.index))
            self._finish(seg, wrap, redirects)
            return cwds, cwds, _OPAQUE
        handler = _HANDLERS.get(model.handler)
        if handler is not None:
            return handler(self, model, prog, words, _Call(text, cwds, depth, via, pipe, stdin, redirects, wrap))
        return self.generic(model, prog, words, _Call(text, cwds, depth, via, pipe, stdin, redirects, wrap))

    def command_variables(self, assigns: Sequence[tuple[str, str | None]], cwds: Cwds, depth: int, via: str) -> None:
        """``GIT_SSH_COMMAND='...' git fetch``: a variable whose value the program runs as a command."""
        for name, value in assigns:
            if name not in _env_variables("command_variables"):
                continue
            where = f"{via} > ${name}" if via else f"${name}"
            if value is None:
                self.opaque_seg(f"{name}=...", where, -1, f"${name} is a command that cannot be known statically")
            elif value.strip():
                self.note("runs a shell string")
                self.run_text(value, cwds, depth + 1, where)

    def generic(self, model: CommandModel, prog: str, words: list[W], call: "_Call",
                parsed: Parsed | None = None) -> tuple[Cwds, Cwds, Stream | None]:
        """A catalog command without a special handler: risk rules, path rules, network rules."""
        args = words[1:]
        p = parsed or parse(model, [w.text for w in args], [w.static for w in args])
        seg = self.new_seg(call.text, call.via, call.pipe)
        self.exec_effect(seg, model, prog, words, p)
        cwds = self.work_dirs(p, args, call.cwds)
        self.emit_paths(seg, p, args, cwds, call.wrap.extra_unknown)
        self.emit_network(seg, p, args)
        self._finish(seg, call.wrap, call.redirects)
        return call.cwds, call.cwds, _stdout(model, prog, p, args, call.stdin)

    def exec_effect(self, seg: _Seg, model: CommandModel, prog: str, words: Sequence[W], p: Parsed) -> Effect:
        """The exec effect of a catalog command (its why: the rules that raised its risk, or what it is)."""
        args = words[1:]
        risk, why = risk_of(p)
        argv = (prog, *[w.text for w in args])
        if p.sub_idx:
            operands = tuple([args[i].text.casefold() for i in p.sub_idx] + [args[i].text for i in p.operands])
        else:
            operands = tuple([args[i].text for i in p.operands])
        seg.program = prog
        seg.argv = argv
        seg.risks.append(risk)
        if why:
            seen = seg.why
            for w in why:
                if w not in seen:
                    seen.append(w)
            text = "; ".join(why)
        else:
            text = f"{prog}: {p.model.summary or model.summary}"
        effect = Effect("exec", program=prog, argv=argv, operands=operands, flags=frozenset(p.flags), risk=risk,
                        why=text, known=True, segment=seg.index)
        seg.add(effect)
        return effect

    def _finish(self, seg: _Seg, wrap: _Wrap, redirects: Sequence[Effect]) -> None:
        """Attach the wrappers' exec effects and risks and the redirections to the final segment."""
        if wrap.names:
            seg.wrappers = wrap.names
            for spec in wrap.effects:
                seg.add(Effect(**spec, segment=seg.index))
            seg.risks.extend(wrap.risks)
            seg.why.extend(w for w in wrap.why if w not in seg.why)
        if wrap.path_changed or self.path_changed:
            if seg.program is not None and not seg.program.startswith(("/", ".")):
                seg.known = False
                note = f"PATH is changed: {seg.program} may not be the system's {seg.program}"
                seg.why.append(note)
                for k, e in enumerate(seg.effects):
                    if e.kind == "exec" and e.program == seg.program:
                        seg.effects[k] = replace(e, known=False, why="; ".join(filter(None, (e.why, note))))
        for e in redirects:
            seg.add(_at(e, seg.index))
        risky = [n for n in wrap.assigned if n in _env_variables("risky_variables")]
        if risky:
            seg.raise_risk(Risk.HIGH, f"{', '.join(risky)} makes the program load or run other code")

    def work_dirs(self, p: Parsed, args: Sequence[W], cwds: Cwds) -> Cwds:
        """The directories a command works in: its cwd, or the value of a flag like ``git -C``."""
        out = cwds
        for m in p.chain:
            for flag in m.cwd_flag:
                for i, off in p.flag_values.get(flag, ()):
                    w = args[i]
                    if not w.static:
                        out = (None,)
                        continue
                    value = w.text[off:]
                    out = tuple(dict.fromkeys(join_path(c, value) if c is not None or value.startswith("/")
                                              else None for c in out))
        return out

    def path_effects(self, role: str, w: W | None, cwds: Cwds, recursive: bool, segment: int,
                     why: str = "") -> list[Effect]:
        """The effects of one path argument, resolved against every possible cwd."""
        if w is None:
            return [Effect(role, path=None, recursive=recursive, why=why, segment=segment)]
        if w.paths is not None:
            return [Effect(role, path=path, glob=glob, recursive=recursive or rec, why=why, segment=segment)
                    for path, glob, rec in w.paths]
        if not w.static:
            if w.reason == "process substitution":
                return []
            return [Effect(role, path=None, recursive=recursive, why=why or f"path from {w.reason}",
                           segment=segment)]
        if w.text == "-" or not w.text:
            return []
        out: list[Effect] = []
        for cwd in cwds:
            path = join_path(cwd, w.text)
            if path is None:
                out.append(Effect(role, path=None, recursive=recursive, why=why or "relative to an unknown directory",
                                  segment=segment))
                continue
            out.append(Effect(role, path=path, recursive=recursive, glob=w.glob, why=why, segment=segment))
            if w.text == "~" or w.text.startswith("~/"):
                # A ~ inside a word (curl -d @~/.aws/credentials, of=~/x) is not expanded by the shell,
                # but it is what the author meant: judge the home path too.
                home_path = normalise_path(self.home + w.text[1:])
                if home_path != path:
                    out.append(Effect(role, path=home_path, recursive=recursive, glob=w.glob,
                                      why=why or f"{w.text} as the home directory", segment=segment))
            if w.glob:
                for alt in _dotdot_variants(path):
                    out.append(Effect(role, path=alt, recursive=True, why=f"{w.text} also matches ..",
                                      segment=segment))
        return out

    def emit_paths(self, seg: _Seg, p: Parsed, args: Sequence[W], cwds: Cwds, extra_unknown: bool) -> None:
        unknown_args = extra_unknown or any(not a.static for a in args)
        for m in p.chain:
            for rule in m.paths:
                if not rule.when.holds(p):
                    continue
                rec = rule.recursive or bool(rule.recursive_flags & p.flags) or (
                    unknown_args and bool(rule.recursive_flags))
                targets: list[W | None] = []
                src = rule.source
                if src == "operands":
                    ops = p.operands
                    if rule.after_dashdash:
                        ops = ops[p.dashdash:] if p.dashdash is not None else []
                    for i in ops[rule.start:rule.stop]:
                        w = args[i]
                        if rule.local_only and w.static and _is_remote(w.text):
                            continue
                        if rule.after:
                            if not w.static or rule.after not in w.text:
                                continue
                            w = _sub_word(w, w.text.index(rule.after) + len(rule.after))
                        targets.append(w)
                    if extra_unknown and rule.stop is None:
                        targets.append(None)
                elif src == "flag":
                    for flag in rule.flags_from:
                        for i, off in p.flag_values.get(flag, ()):
                            w = args[i]
                            if not w.static:
                                targets.append(None)
                                continue
                            value = w.text[off:]
                            if rule.after:
                                if rule.after not in value:
                                    continue
                                value = value[value.index(rule.after) + len(rule.after):]
                            targets.append(_sub_word(w, len(w.text) - len(value)))
                elif src == "kv":
                    for i in p.operands:
                        w = args[i]
                        key, eq, _ = w.text.partition("=")
                        if eq and key in rule.keys:
                            targets.append(_sub_word(w, len(key) + 1) if w.static else None)
                elif src == "cwd":
                    targets.append(_lit("."))
                elif src == "none":
                    targets.append(None)
                elif src == "url_basename":
                    for i in p.operands:
                        w = args[i]
                        if not w.static:
                            targets.append(None)
                            continue
                        base = _url_basename(w.text)
                        if base is not None:
                            targets.append(_lit(base) if base else None)
                for t in targets:
                    for e in self.path_effects(rule.role, t, cwds, rec, seg.index):
                        seg.add(e)

    def emit_network(self, seg: _Seg, p: Parsed, args: Sequence[W]) -> None:
        for m in p.chain:
            for rule in m.network:
                if not rule.when.holds(p):
                    continue
                hosts: list[str | None] = []
                src = rule.source
                if src == "fixed":
                    hosts.append(rule.host)
                elif src == "unknown":
                    hosts.append(None)
                elif src == "flag":
                    for flag in rule.flags_from:
                        for v in p.values(flag):
                            hosts.append(_url_host(v))
                else:
                    ops = [args[i] for i in p.operands]
                    if src == "host":
                        ops = ops[:1]
                    for w in ops:
                        if not w.static:
                            hosts.append(None)
                        elif src == "urls":
                            h = _url_host(w.text)
                            if h is not None:
                                hosts.append(h)
                        elif src == "host":
                            hosts.append(_plain_host(w.text))
                        elif src == "remote" and _is_remote(w.text):
                            hosts.append(_remote_host(w.text))
                        elif src == "socat":
                            h = _socat_host(w.text)
                            if h is not None:
                                hosts.append(h)
                    if not hosts and rule.host is not None:
                        hosts.append(rule.host or None)  # "": a host the arguments do not name
                for h in dict.fromkeys(hosts):
                    seg.add(Effect("network", host=h, risk=Risk.MEDIUM, why=f"{seg.program} connects to {h or 'a host'}",
                                   segment=seg.index))

    # -- code ------------------------------------------------------------------------------------

    def code(self, seg: _Seg, language: str, source: str, cwds: Cwds, depth: int, via: str) -> None:
        """Send inline source to the code analyser; emit its effects and analyse what it runs."""
        try:
            from .. import code as code_analysis
        except ImportError:
            seg.add(Effect("code", program=language, text=source, opaque=True,
                           why="the code analyser is not available", segment=seg.index))
            seg.make_opaque("the code analyser is not available")
            return
        try:
            found = code_analysis.analyse_code(language, source)
        except Exception as exc:  # the analyser promises not to raise; fail closed if it does
            seg.add(Effect("code", program=language, text=source, opaque=True, segment=seg.index,
                           why=f"code analysis failed: {type(exc).__name__}"))
            seg.make_opaque("code analysis failed")
            return
        why = "; ".join(found.why)
        seg.add(Effect("code", program=language, text=source, risk=found.risk, why=why, opaque=found.opaque,
                       segment=seg.index))
        seg.risks.append(found.risk)
        seg.why.extend(w for w in found.why if w not in seg.why)
        if found.opaque:
            seg.make_opaque(getattr(found, "opaque_reason", "") or f"{language} code that cannot be known statically")
        for kind, target, recursive in found.effects:
            if kind == "network":
                seg.add(Effect("network", host=target, risk=Risk.MEDIUM, why=why, segment=seg.index))
                continue
            if kind not in ("read", "write", "delete"):
                continue
            risk = found.risk if recursive else Risk.UNKNOWN
            if target is None:
                seg.add(Effect(kind, path=None, recursive=recursive, risk=risk, why=why, segment=seg.index))
                continue
            literal: str | None = target
            if target == "~" or target.startswith("~/"):
                home = self.env.get("HOME") or self.home
                literal = home + target[1:] if home.startswith("/") else None
            for cwd in cwds:
                seg.add(Effect(kind, path=join_path(cwd, literal) if literal is not None else None,
                               recursive=recursive, risk=risk, why=why, segment=seg.index))
        for cmd in found.commands:
            if isinstance(cmd, str):
                self.run_text(cmd, cwds, depth + 1, via)
            else:
                ws = [_lit(a) for a in cmd if isinstance(a, str)]
                if ws:
                    self.simple(ws, text=shlex.join(w.orig for w in ws), cwds=cwds, depth=depth + 1, via=via,
                                pipe=-1, stdin=None, redirects=(), assigns=())

    def feed(self, seg: _Seg, stream: Stream | None, cwds: Cwds, depth: int, via: str, language: str | None
             ) -> None:
        """A shell (language None) or an interpreter runs the program text it reads from ``stream``."""
        what = "a shell" if language is None else language
        if stream is None:
            return
        if stream.kind == "static":
            for t in stream.texts:
                if language is None:
                    self.note("runs a shell string")
                    self.run_text(t, cwds, depth + 1, via)
                else:
                    self.code(seg, language, t, cwds, depth + 1, via)
        elif stream.kind == "network":
            seg.raise_risk(Risk.CRITICAL, f"remote code piped to {what}")
        elif stream.kind == "file":
            if stream.path is not None:
                seg.add(Effect("read", path=stream.path, why="script read from its input", segment=seg.index))
            seg.raise_risk(Risk.MEDIUM, "runs a script file")
        else:
            seg.make_opaque(f"{what} runs code from its input, which cannot be known statically")
            seg.raise_risk(Risk.HIGH, f"{what} runs code from its input, which cannot be known statically")


@dataclass(slots=True)
class _Call:
    """The context of one simple command, passed to handlers."""

    text: str
    cwds: Cwds
    depth: int
    via: str
    pipe: int
    stdin: Stream | None
    redirects: Sequence[Effect]
    wrap: _Wrap


def _sub_via(call: _Call, what: str) -> str:
    return f"{call.via} > {what}" if call.via else what


def _own_segment(a: "_Analyser", model: CommandModel, prog: str, words: list[W], call: "_Call"
                 ) -> tuple[list[W], Parsed, "_Seg"]:
    """The start every runner handler shares: parse the arguments, open the command's own segment
    with its exec effect, and finish it (wrappers, redirections)."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a._finish(seg, call.wrap, call.redirects)
    return args, p, seg


# ---- handlers: the special kinds of command a catalog entry can declare ---------------------------

def _h_wrapper(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """sudo, doas, env, nice, nohup, timeout, stdbuf, ionice, chrt, taskset, time, command, builtin,
    exec, xargs-like wrappers: skip the wrapper's own options and analyse the command underneath."""
    spec: Mapping[str, Any] = model.options.get("wrapper", {})
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    start = p.stopped if p.stopped is not None else len(args)
    stop_flags = set(spec.get("no_command_flags", [])) | set(spec.get("lookup_flags", []))
    if p.flags & stop_flags:
        return a.generic(model, prog, words, call, p)
    inner_start = start
    wrap = call.wrap
    if spec.get("assignments"):
        while inner_start < len(args) and args[inner_start].static and _assignment_name(args[inner_start].text):
            name = _assignment_name(args[inner_start].text) or ""
            wrap = replace(wrap, path_changed=wrap.path_changed or name == "PATH", assigned=(*wrap.assigned, name))
            a.command_variables([(name, args[inner_start].orig.partition("=")[2])], call.cwds, call.depth, call.via)
            inner_start += 1
    skip = int(spec.get("skip_operands", 0))
    if skip and not (p.flags & set(spec.get("no_skip_flags", []))):
        inner_start += skip
    inner = list(args[inner_start:])
    for flag in spec.get("split_flags", []):
        for i, off in p.flag_values.get(flag, ()):
            w = args[i]
            if w.static:
                inner = [_lit(x) for x in w.text[off:].split()] + inner
    cwds = a.work_dirs(p, args, call.cwds) if model.cwd_flag else call.cwds
    if not inner:
        return a.generic(model, prog, words, call, p)
    risk, why = risk_of(p)
    operands = tuple(args[i].text for i in p.operands)
    effect = dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)), operands=operands,
                  flags=frozenset(p.flags), risk=risk, why="; ".join(why) or f"{prog} runs the command after it",
                  known=True)
    min_risk = spec.get("min_risk")
    risks = [risk] + ([Risk.parse(min_risk)] if isinstance(min_risk, str) else [])
    wrap = _Wrap(names=(*wrap.names, prog), effects=(*wrap.effects, effect), risks=(*wrap.risks, *risks),
                 why=(*wrap.why, *why), extra_unknown=wrap.extra_unknown or bool(spec.get("input_operands")),
                 path_changed=wrap.path_changed, assigned=wrap.assigned)
    inner_words = inner
    if spec.get("replace_flag"):
        repl = [v or "{}" for f in spec["replace_flag"] for v in p.values(f)]
        repl += ["{}" for f in spec["replace_flag"] if f in p.flags and not p.values(f)]
        if repl:
            inner_words = [W(w.text, False, False, w.text, "the input of xargs") if any(r in w.text for r in repl)
                           else w for w in inner]
            wrap = replace(wrap, extra_unknown=False)
    # Paths and hosts the wrapper itself touches (time -o FILE) go on the final segment too.
    own = _Seg(0, "", "", -1)
    own.program = prog
    a.emit_paths(own, p, args, call.cwds, False)
    a.emit_network(own, p, args)
    return a.simple(inner_words, text=call.text, cwds=cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                    stdin=call.stdin, redirects=(*call.redirects, *own.effects), assigns=(), wrap=wrap)


def _h_shell(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """bash, sh, zsh, dash, ksh, fish, su: ``-c STRING`` is re-analysed; a script or stdin runs code."""
    spec: Mapping[str, Any] = model.options.get("shell", {})
    args = words[1:]
    cmode = smode = False
    i = 0
    command: W | None = None
    value_c = bool(spec.get("command_flag_takes_value"))
    while i < len(args):
        w = args[i]
        t = w.text
        if not w.static or len(t) < 2 or t[0] not in "-+":
            if value_c:
                i += 1  # su USER: the user is an operand; keep looking for -c
                continue
            break
        if t == "--":
            i += 1
            break
        if t.startswith("--"):
            name = t.partition("=")[0]
            if name in ("--command",) and value_c:
                if "=" in t:
                    command = _sub_word(w, len(name) + 1)
                elif i + 1 < len(args):
                    command = args[i + 1]
                    i += 1
            elif name in _SHELL_VALUE_LONG and "=" not in t:
                i += 1
            i += 1
            continue
        letters = t[1:]
        if t[0] == "-" and "c" in letters:
            cmode = True
            if value_c:
                if letters[letters.index("c") + 1:]:
                    command = _sub_word(w, t.index("c") + 1)
                elif i + 1 < len(args):
                    command = args[i + 1]
                    i += 1
        if t[0] == "-" and "s" in letters:
            smode = True
        if any(ch in "oO" for ch in letters) and i + 1 < len(args):
            i += 1
        i += 1
    rest = args[i:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a._finish(seg, call.wrap, call.redirects)
    if cmode and command is None and not value_c and rest:
        command = rest[0]
    via = _sub_via(call, f"{prog} -c")
    out: Stream | None = _OPAQUE
    if cmode:
        a.note("runs a shell string")
        if command is None:
            return call.cwds, call.cwds, None
        if command.static:
            _, out = a.run_text(command.orig, call.cwds, call.depth + 1, via)
        elif command.stream is not None and command.stream.kind == "network":
            seg.raise_risk(Risk.CRITICAL, f"remote code run by {prog} -c")
        else:
            seg.make_opaque(f"{prog} -c runs a string that cannot be known statically ({command.reason})")
            for k, e in enumerate(seg.effects):
                if e.kind == "exec" and e.program == prog:
                    seg.effects[k] = replace(e, opaque=True)
        return call.cwds, call.cwds, out
    if rest and not smode:
        script = rest[0]
        if script.stream is not None and script.reason == "process substitution":
            a.feed(seg, script.stream, call.cwds, call.depth, _sub_via(call, f"{prog} <(...)"), None)
        else:
            for e in a.path_effects("read", script, call.cwds, False, seg.index, "script run by a shell"):
                seg.add(e)
            seg.raise_risk(Risk.MEDIUM, f"{prog} runs a script file")
        return call.cwds, call.cwds, _OPAQUE
    a.feed(seg, call.stdin, call.cwds, call.depth, _sub_via(call, f"{prog} <stdin>"), None)
    return call.cwds, call.cwds, _OPAQUE


def _h_interpreter(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
                   ) -> tuple[Cwds, Cwds, Stream | None]:
    """python -c, node -e, perl -e, ruby -e, php -r, deno eval: the source goes to code analysis."""
    spec: Mapping[str, Any] = model.options.get("interp", {})
    language = str(spec.get("language", prog))
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    cwds = a.work_dirs(p, args, call.cwds)
    a.emit_paths(seg, p, args, cwds, call.wrap.extra_unknown)
    a._finish(seg, call.wrap, call.redirects)
    code_flags = [f for f in spec.get("code_flags", []) if f in p.flag_values]
    subs = p.subcommands
    if code_flags or (subs and subs[0] in spec.get("code_subcommands", [])):
        if code_flags:
            pieces = [(i, off) for f in code_flags for i, off in p.flag_values[f]]
            via = _sub_via(call, f"{prog} {code_flags[0]}")
        else:
            pieces = [(p.operands[0], 0)] if p.operands else []
            via = _sub_via(call, f"{prog} {subs[0]}")
        texts = []
        for i, off in sorted(pieces):
            w = args[i]
            if not w.static:
                if w.stream is not None and w.stream.kind == "network":
                    seg.raise_risk(Risk.CRITICAL, f"remote code run by {prog}")
                else:
                    seg.make_opaque(f"{prog} runs code that cannot be known statically ({w.reason})")
                    seg.raise_risk(Risk.HIGH, f"{prog} runs code that cannot be known statically")
                return call.cwds, call.cwds, _OPAQUE
            texts.append(w.orig[off:] if off <= len(w.orig) else w.text[off:])
        if texts:
            a.code(seg, language, "\n".join(texts), cwds, call.depth, via)
        return call.cwds, call.cwds, _OPAQUE
    modules = [v for f in spec.get("module_flags", []) for v in p.values(f)]
    if modules:
        inner_prog = normalise_program(modules[0])
        inner_model = lookup(inner_prog)
        seg.why.append(f"runs the module {modules[0]}")
        if inner_model is not None and not inner_model.handler and p.flag_values:
            last = max(i for f in spec.get("module_flags", []) for i, _ in p.flag_values.get(f, ()))
            inner = [_lit(inner_prog)] + list(args[last + 1:])
            a.simple(inner, text=call.text, cwds=cwds, depth=call.depth + 1, via=_sub_via(call, f"{prog} -m"),
                     pipe=-1, stdin=None, redirects=(), assigns=())
        return call.cwds, call.cwds, _OPAQUE
    ops = [args[i] for i in p.operands]
    if ops and not (ops[0].static and ops[0].text == "-"):
        script = ops[0]
        if script.stream is not None and script.reason == "process substitution":
            a.feed(seg, script.stream, cwds, call.depth, _sub_via(call, f"{prog} <(...)"), language)
        else:
            for e in a.path_effects("read", script, cwds, False, seg.index, f"script run by {prog}"):
                seg.add(e)
        return call.cwds, call.cwds, _OPAQUE
    a.feed(seg, call.stdin, cwds, call.depth, _sub_via(call, f"{prog} <stdin>"), language)
    return call.cwds, call.cwds, _OPAQUE


def _h_eval(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """eval: the words joined by spaces are shell text, run in this shell."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    a.note("runs a shell string")
    if not args:
        return call.cwds, call.cwds, None
    if all(w.static for w in args):
        cwds, out = a.run_text(" ".join(w.orig for w in args), call.cwds, call.depth + 1, _sub_via(call, prog))
        return cwds, call.cwds, out
    worst = None
    for w in args:
        worst = _worst(worst, w.stream)
    if worst is not None and worst.kind == "network":
        seg.raise_risk(Risk.CRITICAL, f"{prog} runs fetched content")
    else:
        reason = next(w.reason for w in args if not w.static)
        seg.make_opaque(f"{prog} of a value that cannot be known statically ({reason})")
        for k, e in enumerate(seg.effects):
            if e.kind == "exec" and e.program == prog:
                seg.effects[k] = replace(e, opaque=True)
    return (None,), call.cwds, _OPAQUE


def _h_source(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
              ) -> tuple[Cwds, Cwds, Stream | None]:
    """source / . FILE: runs the file in this shell; ``. <(curl ...)`` is remote code."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    ops = [args[i] for i in p.operands]
    if not ops:
        return call.cwds, call.cwds, None
    script = ops[0]
    if script.reason == "process substitution" and script.stream is not None:
        a.feed(seg, script.stream, call.cwds, call.depth, _sub_via(call, f"{prog} <(...)"), None)
    else:
        for e in a.path_effects("read", script, call.cwds, False, seg.index, "script run in this shell"):
            seg.add(e)
        seg.raise_risk(Risk.MEDIUM, f"{prog} runs a script file in this shell")
    return (None,), call.cwds, _OPAQUE


def _h_find(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """find ROOTS... EXPR: reads its roots; -delete deletes what it finds; -exec CMD {} runs CMD."""
    spec: Mapping[str, Any] = model.options.get("find", {})
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    value_preds = set(model.value_flags)
    exec_preds = set(spec.get("exec", ["-exec", "-execdir", "-ok", "-okdir"]))
    name_preds = set(spec.get("names", ["-name", "-iname"]))
    write_preds = set(spec.get("writes", ["-fprint", "-fprint0", "-fprintf", "-fls"]))
    i = 0
    # Leading options (-H -L -P -D x -Ox) come before the roots.
    while i < len(args) and args[i].static and args[i].text in ("-H", "-L", "-P"):
        i += 1
    roots: list[W] = []
    while i < len(args) and not (args[i].static and (args[i].text[:1] in ("-", "(", "!", ")") and
                                                     args[i].text not in ("-",))):
        roots.append(args[i])
        i += 1
    if not roots:
        roots = [_lit(".")]
    names: list[str] = []
    actions: list[tuple[str, list[W]]] = []
    writes: list[W] = []
    delete = False
    while i < len(args):
        w = args[i]
        t = w.text if w.static else ""
        if t in exec_preds:
            j = i + 1
            while j < len(args) and not (args[j].static and args[j].text in (";", "+")):
                j += 1
            actions.append((t, list(args[i + 1:j])))
            i = j + 1
            continue
        if t in name_preds and i + 1 < len(args):
            names.append(args[i + 1].text if args[i + 1].static else "*")
            i += 2
            continue
        if t in write_preds and i + 1 < len(args):
            writes.append(args[i + 1])
            i += 2 if t != "-fprintf" else 3
            continue
        if t == "-delete":
            delete = True
        if t in value_preds:
            i += 1
        i += 1
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    found: list[tuple[str | None, bool, bool]] = []
    for r in roots:
        for cwd in call.cwds:
            root = join_path(cwd, r.text) if r.static else None
            if root is None:
                found.append((None, False, True))
            elif names:
                for n in names:
                    found.append((("" if root == "/" else root) + "/**/" + n, True, False))
            else:
                found.append((root, False, True))
        for e in a.path_effects("read", r, call.cwds, True, seg.index, "searched by find"):
            seg.add(e)
    stand_in = tuple(dict.fromkeys(found))
    if delete:
        for path, glob, rec in stand_in:
            seg.add(Effect("delete", path=path, glob=glob, recursive=rec, why="find -delete", segment=seg.index))
    for w in writes:
        for e in a.path_effects("write", w, call.cwds, False, seg.index, "written by find"):
            seg.add(e)
    a._finish(seg, call.wrap, call.redirects)
    for action, cmd in actions:
        if not cmd:
            continue
        inner = [W("{}", True, any(g for _, g, _ in stand_in), "{}", "", None, stand_in) if w.static and w.text == "{}"
                 else (W(w.text, False, False, w.text, "a file found by find") if w.static and "{}" in w.text else w)
                 for w in cmd]
        a.simple(inner, text=" ".join(w.orig for w in cmd), cwds=call.cwds, depth=call.depth + 1,
                 via=_sub_via(call, f"find {action}"), pipe=-1, stdin=None, redirects=(), assigns=())
    return call.cwds, call.cwds, _OPAQUE


def _h_parallel(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
                ) -> tuple[Cwds, Cwds, Stream | None]:
    """GNU parallel CMD ::: ARGS: each command line is run by a shell."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    a.note("runs a shell string")
    rest = list(args[p.stopped:]) if p.stopped is not None else []
    seps = (":::", "::::", ":::+", "::::+")
    k = next((j for j, w in enumerate(rest) if w.static and w.text in seps), len(rest))
    template = rest[:k]
    values: list[W] = []
    from_files = False
    j = k
    while j < len(rest):
        if rest[j].static and rest[j].text in seps:
            from_files = from_files or rest[j].text.startswith("::::")
        else:
            values.append(rest[j])
        j += 1
    via = _sub_via(call, prog)
    unknown_input = k == len(rest) or from_files
    if len(values) > MAX_PARALLEL_ARGS:
        a.warnings.append(f"{prog}: only the first {MAX_PARALLEL_ARGS} arguments were analysed")
        values = values[:MAX_PARALLEL_ARGS]
    holder = '"$__policylang_input__"'
    if not template:
        for v in values:
            a.run_text(v.orig if v.static else holder, call.cwds, call.depth + 1, via)
        if unknown_input:
            seg.make_opaque(f"{prog} runs command lines read from its input")
        return call.cwds, call.cwds, _OPAQUE
    line = " ".join(w.orig if w.static else w.text for w in template)
    subs = [shlex.quote(v.orig) if v.static else holder for v in values]
    if unknown_input:
        subs.append(holder)
    for s in subs:
        if "{" in line and any(ph in line for ph in ("{}", "{.}", "{/}", "{//}", "{/.}")):
            text = line
            for ph in ("{}", "{.}", "{/}", "{//}", "{/.}"):
                text = text.replace(ph, s)
        else:
            text = f"{line} {s}"
        a.run_text(text, call.cwds, call.depth + 1, via)
    return call.cwds, call.cwds, _OPAQUE


def _h_watch(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """watch CMD: the words are joined and run by ``sh -c`` (or run directly with -x)."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    spec: Mapping[str, Any] = model.options.get("watch", {})
    rest = list(args[p.stopped:]) if p.stopped is not None else []
    if p.flags & set(spec.get("exec_flags", ["-x"])) and rest:
        wrap = replace(call.wrap, names=(*call.wrap.names, prog),
                       effects=(*call.wrap.effects, dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)),
                                                          operands=tuple(w.text for w in rest), risk=model.risk,
                                                          known=True)),
                       risks=(*call.wrap.risks, model.risk))
        return a.simple(rest, text=call.text, cwds=call.cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                        stdin=None, redirects=call.redirects, assigns=(), wrap=wrap)
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a._finish(seg, call.wrap, call.redirects)
    if rest:
        a.note("runs a shell string")
        a.run_text(" ".join(w.orig if w.static else w.text for w in rest), call.cwds, call.depth + 1,
                   _sub_via(call, prog))
    return call.cwds, call.cwds, _OPAQUE


def _h_busybox(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """busybox APPLET ARGS: the applet is the program."""
    args = words[1:]
    if not args or (args[0].static and args[0].text.startswith("-")):
        return a.generic(model, prog, words, call)
    wrap = replace(call.wrap, names=(*call.wrap.names, prog),
                   effects=(*call.wrap.effects, dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)),
                                                      operands=tuple(w.text for w in args), risk=model.risk,
                                                      known=True)),
                   risks=(*call.wrap.risks, model.risk))
    return a.simple(list(args), text=call.text, cwds=call.cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                    stdin=call.stdin, redirects=call.redirects, assigns=(), wrap=wrap)


def _h_cd(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
          ) -> tuple[Cwds, Cwds, Stream | None]:
    """cd / pushd / popd: the directory later commands of this shell run in."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    a.generic(model, prog, words, call, p)
    ops = [args[i] for i in p.operands]
    spec: Mapping[str, Any] = model.options.get("cd", {})
    if spec.get("unknown_target") or (not ops and spec.get("no_operand") != "home"):
        return (None,), call.cwds, None
    if not ops:
        target: str | None = a.env.get("HOME") or a.home
        return (target if target and target.startswith("/") else None,), call.cwds, None
    w = ops[0]
    if not w.static or w.text == "-":
        return (None,), call.cwds, None
    new = tuple(dict.fromkeys(join_path(c, w.text) for c in call.cwds))
    return new[:MAX_CWDS], call.cwds, None


def _h_trap(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """trap 'COMMANDS' SIGNALS: the commands run later in this shell."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    a.generic(model, prog, words, call, p)
    ops = [args[i] for i in p.operands]
    if len(ops) >= 2 and ops[0].text not in ("-", ""):
        a.note("runs a shell string")
        if ops[0].static:
            a.run_text(ops[0].orig, call.cwds, call.depth + 1, _sub_via(call, prog))
        else:
            a.opaque_seg(call.text, _sub_via(call, prog), -1, f"{prog} of a value that cannot be known statically")
    return call.cwds, call.cwds, None


def _h_xargs(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """xargs CMD: runs CMD with operands read from its input (unknown); default CMD is echo."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    if p.stopped is None:
        words = [*words, _lit("echo")]
    return _h_wrapper(a, model, prog, words, call)


def _h_declare(a: _Analyser, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """export / declare / local / readonly / typeset: assigning PATH changes what later names run."""
    a.note("variable assignment")
    if any(w.static and w.text.startswith(("PATH=", "PATH+=")) for w in words[1:]):
        a.path_changed = True
    pairs = [(_assignment_name(w.orig) or "", w.orig.partition("=")[2] if w.static else None)
             for w in words[1:] if _assignment_name(w.orig if w.static else w.text)]
    a.command_variables(pairs, call.cwds, call.depth, call.via)
    result = a.generic(model, prog, words, call)
    risky = [n for n, _ in pairs if n in _env_variables("risky_variables")]
    if risky:
        a.segs[-1].raise_risk(Risk.HIGH, f"{prog} {', '.join(risky)}: later programs load other code")
    return result


_HANDLERS: dict[str, Callable[[_Analyser, CommandModel, str, list[W], _Call], tuple[Cwds, Cwds, Stream | None]]] = {
    "wrapper": _h_wrapper,
    "shell": _h_shell,
    "interpreter": _h_interpreter,
    "eval": _h_eval,
    "source": _h_source,
    "find": _h_find,
    "xargs": _h_xargs,
    "parallel": _h_parallel,
    "watch": _h_watch,
    "busybox": _h_busybox,
    "cd": _h_cd,
    "trap": _h_trap,
    "declare": _h_declare,
}


# ---- helpers -------------------------------------------------------------------------------------

def _span(start: int, end: int) -> bytes:
    """Bytes of the source being parsed (the real text, not the masked one tree-sitter saw)."""
    return _LOCAL.sources[-1][start:end]  # type: ignore[no-any-return]


def _src(node: Node) -> bytes:
    return _span(node.start_byte, node.end_byte)


def _text(node: Node | None) -> str:
    if node is None:
        return ""
    return _span(node.start_byte, node.end_byte).decode("utf-8", "replace")


def _named(node: Node) -> list[Node]:
    return [c for c in node.children if c.is_named]


def _union(a: Cwds, b: Cwds) -> Cwds:
    if a == b:
        return a
    out = tuple(dict.fromkeys((*a, *b)))
    return out if len(out) <= MAX_CWDS else (None,)


def _at(effect: Effect, segment: int) -> Effect:
    return effect if effect.segment == segment else replace(effect, segment=segment)


def _assignment_name(word: str) -> str | None:
    name, eq, _ = word.partition("=")
    if not eq:
        return None
    if name.endswith("+"):
        name = name[:-1]
    if name and (name[0].isalpha() or name[0] == "_") and name.isascii() and name.replace("_", "a").isalnum():
        return name
    return None


_ATOMIC = frozenset({"word", "command_name", "string", "raw_string", "ansi_c_string", "translated_string", "number", "comment",
                     "heredoc_body", "heredoc_start", "heredoc_end", "concatenation", "expansion",
                     "simple_expansion", "arithmetic_expansion", "regex", "extglob_pattern", "variable_name",
                     "file_descriptor", "test_operator", "special_variable_name", "brace_expression"})


def _body_gap_words(stmt: Node, body: Node | None) -> list[str]:
    """Plain words between a command and its first redirection that tree-sitter left out of both
    (``python3 - <<EOF`` parses as ``python3`` with a heredoc: the ``-`` is in no node)."""
    if body is None:
        return []
    nxt = next((c for c in stmt.children if c.start_byte >= body.end_byte and c is not body), None)
    end = nxt.start_byte if nxt is not None else stmt.end_byte
    gap = _span(body.end_byte, end).decode("utf-8", "replace")
    if not gap.strip(" \t") or not is_plain(gap):
        return []
    return gap.split()


def _first_skipped(root: Node, data: bytes) -> int | None:
    """The offset of the first non-blank byte that no node of the tree covers, or None."""
    if _all_covered(root, data):
        return None
    return _skipped_walk(root, data)


def _all_covered(root: Node, data: bytes) -> bool:
    """A quick test that makes ``_skipped_walk`` unnecessary in the usual case: True when every
    byte outside the leaves (childless or atomic nodes) is a space, tab or newline.

    Children lie inside their parent and siblings do not overlap, so a byte that ``_skipped_walk``
    finds between two children of some node is covered by no leaf; when all such bytes are blank
    it finds nothing.  False sends the text to the full walk (which also excuses some gaps).
    """
    pos = 0
    stack = [root]
    budget = 200000
    while stack:
        budget -= 1
        if not budget:
            return False
        n = stack.pop()
        if n.child_count == 0 or n.type in _ATOMIC:
            start = n.start_byte
            if start > pos and data[pos:start].strip(b" \t\r\n"):
                return False
            end = n.end_byte
            if end > pos:
                pos = end
            continue
        stack.extend(reversed(n.children))  # popped in document order (never reverse in place: cached)
    return not data[pos:].strip(b" \t\r\n")


def _skipped_walk(root: Node, data: bytes) -> int | None:
    continued = b"\\\n" in data

    def blank(a: int, b: int) -> bool:
        if b <= a:
            return True
        gap = data[a:b]
        if continued:
            gap = gap.replace(b"\\\n", b"")
        return not gap.strip(b" \t\r\n")

    if not blank(0, root.start_byte):
        return 0
    if not blank(root.end_byte, len(data)):
        return root.end_byte
    stack = [root]
    budget = 200000
    while stack and budget:
        budget -= 1
        n = stack.pop()
        if n.type in _ATOMIC or n.child_count == 0:
            continue
        pos = n.start_byte
        body = n.child_by_field_name("body") if n.type == "redirected_statement" else None
        for c in n.children:
            if not blank(pos, c.start_byte) and not (body is not None and pos == body.end_byte
                                                     and _body_gap_words(n, body)):
                return pos
            pos = max(pos, c.end_byte)
            stack.append(c)
        if not blank(pos, n.end_byte):
            return pos
    return None


def _adjacent_groups(parent: Node) -> list[list[Node]]:
    """Children in order; statements with only blanks between them (no separator: tree-sitter's
    error recovery split one command) are grouped."""
    out: list[list[Node]] = []
    for c in parent.children:
        if out and c.is_named and out[-1][-1].is_named and (c.type == "ERROR" or out[-1][-1].type == "ERROR"):
            gap = _span(out[-1][-1].end_byte, c.start_byte)
            if not gap.strip(b" \t"):
                out[-1].append(c)
                continue
        if out and c.is_named and out[-1] and out[-1][-1].type == "{" and out[-1][-1].end_byte == c.start_byte:
            out[-1].append(c)  # "{rm,-rf,/}": a brace expansion that tree-sitter read as a group
            continue
        out.append([c])
    return out


def _literal_error(node: Node) -> bool:
    """An ERROR node that is only word characters (tree-sitter mis-split a word such as https://x)."""
    text = _text(node)
    return bool(text) and text.isascii() and text.isprintable() and not any(c in _NOT_LITERAL for c in text)


def _valid_assignment(node: Node) -> bool:
    name = _assignment_node_name(node)
    return name is not None and _assignment_name(name + "=") is not None


def _assignment_node_name(node: Node) -> str | None:
    n = node.child_by_field_name("name")
    return _text(n) if n is not None else None


def _assignments(node: Node) -> list[Node]:
    if node.type == "variable_assignment":
        return [node]
    return [c for c in node.children if c.type == "variable_assignment"]


def _unescape_dq(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tilde(parts: list[Part]) -> list[Part]:
    if not parts or not isinstance(parts[0], Lit) or parts[0].quoted or not parts[0].text.startswith("~"):
        return parts
    text = parts[0].text
    slash = text.find("/")
    if slash < 0 and len(parts) > 1:
        return parts
    user = text[1:] if slash < 0 else text[1:slash]
    if any(c in UNICODE_SPACES for c in user):
        return parts
    rest = [] if slash < 0 else [Lit(text[slash:], False)]
    return [Tilde(user), *rest, *parts[1:]]


def _sub_word(w: W, offset: int) -> W:
    return W(w.text[offset:], w.static, w.glob, w.orig[offset:] if len(w.orig) == len(w.text) else w.text[offset:],
             w.reason, w.stream, w.paths)


def _dotdot_variants(path: str) -> list[str]:
    """A glob such as ``.*`` also matches ``..``: the directory it climbs to (conservatively)."""
    comps = path.split("/")
    out: list[str] = []
    for k, comp in enumerate(comps):
        # Only a pattern starting with a literal "." matches dot files; bash before 5.2 lets it match "..".
        if comp.startswith(".") and any(c in comp for c in "*?[") and fnmatch.fnmatchcase("..", comp):
            out.append(normalise_path("/".join(comps[:k]) + "/.."))
    return out


def _is_remote(text: str) -> bool:
    if "://" in text:
        return True
    if text.startswith(("/", "./", "../", "~")):
        return False
    head = text.split("/", 1)[0]
    return ":" in head


def _remote_host(text: str) -> str | None:
    if "://" in text:
        return _url_host(text)
    head = text.split(":", 1)[0]
    return head.rpartition("@")[2] or None


def _plain_host(text: str) -> str | None:
    if "://" in text:
        return _url_host(text)
    host = text.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0] or None
    return host.partition(":")[0] or None


def _url_host(text: str) -> str | None:
    if "://" not in text:
        head = text.split("/", 1)[0]
        if "." in head and not text.startswith(("-", ".", "/")) and " " not in head:
            return head.rpartition("@")[2].partition(":")[0] or None
        return None
    from urllib.parse import urlsplit  # not at import: a plain command's cold start never needs it

    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host or None


def _url_basename(text: str) -> str | None:
    if "://" not in text:
        return None
    from urllib.parse import urlsplit

    try:
        path = urlsplit(text).path
    except ValueError:
        return ""
    base = path.rstrip("/").rpartition("/")[2]
    return base or "index.html"


def _socat_host(text: str) -> str | None:
    kind, sep, rest = text.partition(":")
    if not sep:
        return None
    k = kind.casefold()
    if k.startswith(("tcp", "udp", "sctp", "openssl", "ssl", "proxy", "socks")):
        host = rest.split(":", 1)[0].split(",", 1)[0]
        return host or None
    return None


def _stdout(model: CommandModel, prog: str, p: Parsed, args: Sequence[W], stdin: Stream | None) -> Stream | None:
    """What a command writes to its output, for the pipeline and substitution rules."""
    if model.fetches:
        return Stream("network", why=f"output of {prog}")
    output = model.options.get("output")
    if output == "echo":
        return _echo_output(args)
    if output == "printf":
        return _printf_output(args)
    if model.passthrough and not p.operands:
        return stdin if stdin is not None else _OPAQUE
    if stdin is not None and stdin.kind == "network":
        return Stream("network", why=f"{prog} of fetched data")
    return _OPAQUE


def _echo_output(args: Sequence[W]) -> Stream:
    if not all(w.static for w in args):
        return _OPAQUE
    k = 0
    newline, escapes = True, False
    while k < len(args) and len(args[k].orig) > 1 and args[k].orig[0] == "-" and set(args[k].orig[1:]) <= set("neE"):
        opts = args[k].orig[1:]
        newline = newline and "n" not in opts
        escapes = "e" in opts or (escapes and "E" not in opts)
        k += 1
    text = " ".join(w.orig for w in args[k:])
    texts = [text]
    if "\\" in text:
        decoded = decode_ansi_c(text.split("\\c", 1)[0])
        texts = [decoded] if escapes else [text, decoded]
    end = "\n" if newline else ""
    return Stream("static", tuple(t + end for t in texts), "echo")


def _printf_output(args: Sequence[W]) -> Stream:
    if not args or not all(w.static for w in args):
        return _OPAQUE
    fmt = decode_ansi_c(args[0].orig)
    values = [w.orig for w in args[1:]]
    out: list[str] = []
    rounds = 0
    while True:
        i = 0
        used = 0
        while i < len(fmt):
            c = fmt[i]
            if c != "%":
                out.append(c)
                i += 1
                continue
            d = fmt[i + 1] if i + 1 < len(fmt) else ""
            if d == "%":
                out.append("%")
            elif d in ("s", "b", "d", "i", "u"):
                v = values[used] if used < len(values) else ""
                out.append(decode_ansi_c(v) if d == "b" else v)
                used += 1
            else:
                return _OPAQUE
            i += 2
        values = values[used:]
        rounds += 1
        if not values or used == 0 or rounds > 64:
            break
    return Stream("static", ("".join(out),), "printf")


def _redirect_extra(r: Node) -> tuple[list[Node], tuple[str, str, int] | None]:
    """Words after the target of a redirection (they are arguments), and a command that tree-sitter
    folded into it after a separator (``cat <<EOF > f; ls``): (operator, text, error byte)."""
    extra: list[Node] = []
    seen_target = False
    for c in r.children:
        if c.type == "ERROR":
            sep = _text(c).strip()
            if sep in _SEPARATORS:
                tail = _span(c.end_byte, r.end_byte).decode("utf-8", "replace")
                return extra, (sep, tail, c.start_byte)
            return extra, None
        if not c.is_named or c.type == "file_descriptor":
            continue
        if not seen_target:
            seen_target = True
            continue
        extra.append(c)
    return extra, None


def _heredoc_continuation(r: Node) -> list[tuple[str | None, Node]]:
    """The rest of a command line that tree-sitter puts inside a heredoc redirect."""
    out: list[tuple[str | None, Node]] = []
    op: str | None = None
    for c in r.children:
        if not c.is_named:
            if c.type in _SEPARATORS:
                op = c.type
            continue
        if c.type == "pipeline" and c.children and not c.children[0].is_named and c.children[0].type in ("|", "|&"):
            for inner in _named(c):
                out.append(("|", inner))
            op = None
        elif c.type in _STATEMENTS and c.type != "ERROR":
            out.append((op or ";", c))
            op = None
    return out


def _flatten(op: str | None, node: Node) -> list[tuple[str | None, Any]]:
    if node.type == "list":
        items = _list_items(node)
        if items:
            items[0] = (op, items[0][1])
        return items
    if node.type == "pipeline":
        items = _pipeline_items(node)
        if items:
            items[0] = (op, items[0][1])
        return items
    return [(op, node)]


def _list_items(node: Node) -> list[tuple[str | None, Any]]:
    items: list[tuple[str | None, Any]] = []
    op: str | None = None
    for c in node.children:
        if not c.is_named:
            if c.type in _SEPARATORS:
                op = c.type
            continue
        if c.type == "comment":
            continue
        if c.type in ("list", "pipeline"):
            items.extend(_flatten(op, c))
        else:
            items.append((op, c))
        op = None
    return items


def _pipeline_items(node: Node) -> list[tuple[str | None, Any]]:
    items: list[tuple[str | None, Any]] = []
    op: str | None = None
    for c in node.children:
        if not c.is_named:
            if c.type in ("|", "|&"):
                op = c.type
            continue
        if c.type == "comment":
            continue
        items.append((op, c))
        op = None
    return items


def _error_nodes(root: Node, repaired: set[int]) -> list[Node]:
    out: list[Node] = []
    stack = [root]
    budget = 200000
    while stack and budget:
        budget -= 1
        n = stack.pop()
        if n.is_error or n.is_missing:
            if n.start_byte not in repaired:
                out.append(n)
                if len(out) > 8:
                    break
            continue
        if n.has_error:
            stack.extend(reversed(n.children))
    return out


def _prescan_taint(root: Node) -> frozenset[str]:
    """Variables this script assigns (not as a command prefix): their values cannot be known."""
    names: set[str] = set()
    stack = [root]
    budget = 200000
    while stack and budget:
        budget -= 1
        n = stack.pop()
        t = n.type
        if t == "variable_assignment":
            parent = n.parent
            if parent is None or parent.type != "command":
                name = _assignment_node_name(n)
                if name:
                    names.add(name)
        elif t == "for_statement":
            v = n.child_by_field_name("variable")
            if v is not None:
                names.add(_text(v))
        elif t in ("declaration_command", "unset_command"):
            for c in n.children:
                if c.type in ("variable_name", "word"):
                    names.add(_text(c))
        elif t == "command":
            name_node = n.child_by_field_name("name")
            prog = _text(name_node)
            if prog in ("read", "mapfile", "readarray", "getopts", "printf", "export", "declare", "local",
                        "typeset", "readonly", "unset", "let"):
                for c in _named(n):
                    if c is not name_node:
                        word = _text(c).partition("=")[0]
                        if word.isidentifier():
                            names.add(word)
        stack.extend(n.children)
    return frozenset(names)


def _ambiguous_readings(source: str, offsets: Sequence[int]) -> list[str]:
    """The command read with unquoted ``\\n``/``\\t``/``\\r`` as whitespace (and ``\\n`` as a newline)."""
    data = source.encode("utf-8", "replace")
    spaced = bytearray()
    lined = bytearray()
    last = 0
    has_n = False
    for off in sorted(set(offsets)):
        if off < last or data[off:off + 1] != b"\\" or off + 1 >= len(data):
            continue
        letter = data[off + 1:off + 2]
        spaced += data[last:off] + b" "
        lined += data[last:off] + (b"\n" if letter == b"n" else b" ")
        has_n = has_n or letter == b"n"
        last = off + 2
    spaced += data[last:]
    lined += data[last:]
    out = [spaced.decode("utf-8", "replace")]
    if has_n:
        out.append(lined.decode("utf-8", "replace"))
    return out


def _sanitise(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _result(a: _Analyser) -> Analysis:
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


# ---- public API ----------------------------------------------------------------------------------

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


_MISSING: Any = object()  # an environment variable that is not set


class _RecordingEnv(Mapping[str, str]):
    """The environment as the analysis sees it, recording every variable it reads.

    Reads through ``get``, ``[]`` and ``in`` are recorded with the value seen (``_MISSING`` when
    unset).  Anything that looks at the whole environment (iteration, ``len``, ``keys`` ...) marks
    the analysis as depending on all of it: such a result is not memoised.
    """

    __slots__ = ("_env", "reads", "whole")

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self.reads: dict[str, Any] = {}
        self.whole = False

    def _read(self, key: str) -> Any:
        value = self._env.get(key, _MISSING)
        if key not in self.reads:
            self.reads[key] = value
        return value

    def __getitem__(self, key: str) -> str:
        value = self._read(key)
        if value is _MISSING:
            raise KeyError(key)
        result: str = value
        return result

    def get(self, key: str, default: Any = None) -> Any:
        value = self._read(key)
        return default if value is _MISSING else value

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            self.whole = True
            return key in self._env
        return self._read(key) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        self.whole = True
        return iter(self._env)

    def __len__(self) -> int:
        self.whole = True
        return len(self._env)


_MEMO_SIZE = 4096  # keys (command, cwd, home, $HOME) kept; the oldest goes first when full
_MEMO_PER_KEY = 8  # results kept per key (one per combination of the variables it reads)
_MEMO_WEIGHT = 200_000  # segments + effects held in all, so memory stays bounded on hostile input
_MEMO_TEXT = 4096  # longer commands are analysed every time

_MemoKey = tuple[Any, str, str, Any]
# One memoised result: the (variable, value) pairs it read, the Analysis, and its weight.
_MemoEntry = tuple[tuple[tuple[str, Any], ...], Analysis, int]


class _Memo:
    """Exact memo of an analysis function of (input, cwd, env, home).

    The key is (input, cwd, home, env["HOME"]); each key holds a few results, each with the
    environment variables its analysis read and their values, and a result is reused only when
    the current environment has the same values for all of them.  A result whose analysis looked
    at the whole environment, or read a value that is not a string, is not kept.

    Reads take no lock: a key's entries are an immutable tuple that a writer replaces whole.
    Writers hold a lock; when the memo holds ``size`` keys, or results of more than ``weight``
    segments and effects in all, the oldest keys are dropped (first in, first out).
    """

    def __init__(self, size: int = _MEMO_SIZE, per_key: int = _MEMO_PER_KEY, weight: int = _MEMO_WEIGHT) -> None:
        self.size = size
        self.per_key = per_key
        self.weight = weight
        self.enabled = True
        self._data: dict[_MemoKey, tuple[_MemoEntry, ...]] = {}
        self._weights: dict[_MemoKey, int] = {}
        self._total = 0
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every result."""
        with self._lock:
            self._data.clear()
            self._weights.clear()
            self._total = 0

    def __len__(self) -> int:
        return sum(len(v) for v in tuple(self._data.values()))

    def get_or_run(self, item: Any, cwd: str, env: Mapping[str, str], home: str,
                   run: Callable[[Any, str, Mapping[str, str], str], Analysis]) -> Analysis:
        """The memoised ``run(item, cwd, env, home)``; ``item`` must be hashable (a str or a tuple of str)."""
        if not self.enabled or type(cwd) is not str or type(home) is not str:
            return run(item, cwd, env, home)
        env_home = env.get("HOME")
        if env_home is not None and type(env_home) is not str:
            return run(item, cwd, env, home)
        key = (item, cwd, home, env_home)
        entries = self._data.get(key)
        if entries is not None:
            for reads, result, _ in entries:
                for name, value in reads:
                    if env.get(name, _MISSING) != value:
                        break
                else:
                    return result
        recorder = _RecordingEnv(env)
        result = run(item, cwd, recorder, home)
        if recorder.whole or any(v is not _MISSING and type(v) is not str for v in recorder.reads.values()):
            return result
        weight = 1 + len(result.segments) + len(result.effects)
        if weight * 4 > self.weight:
            return result
        entry: _MemoEntry = (tuple(recorder.reads.items()), result, weight)
        with self._lock:
            data, weights = self._data, self._weights
            kept = (entry, *data.pop(key, ())[:self.per_key - 1])
            self._total -= weights.pop(key, 0)
            key_weight = sum(e[2] for e in kept)
            while data and (len(data) >= self.size or self._total + key_weight > self.weight):
                oldest = next(iter(data))
                del data[oldest]
                self._total -= weights.pop(oldest, 0)
            data[key] = kept
            weights[key] = key_weight
            self._total += key_weight
        return result


_COMMAND_MEMO = _Memo()
_ARGV_MEMO = _Memo()


def set_memo(enabled: bool) -> None:
    """Turn the analysis memos on or off (benchmarks measure uncached analysis); off also clears them."""
    for memo in (_COMMAND_MEMO, _ARGV_MEMO):
        memo.enabled = enabled
        memo.clear()


def _analyse(text: str, cwd: str, env: Mapping[str, str], home: str, fast: bool = True) -> Analysis:
    """The analysis itself (may raise; the public functions catch).  ``fast=False`` sends even a
    plain string through tree-sitter (the tests compare both paths)."""
    text = _sanitise(text)
    a = _Analyser(env, home, fast)
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


@functools.lru_cache(maxsize=4)
def _env_variables(kind: str) -> frozenset[str]:
    """Environment variables that make a program run other code (the catalog's env entry lists them):
    ``risky_variables`` load code (LD_PRELOAD), ``command_variables`` hold a command (GIT_SSH_COMMAND)."""
    env = lookup("env")
    spec = env.options.get("wrapper", {}) if env is not None else {}
    return frozenset(spec.get(kind, ()))


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
    a = _Analyser(env, home)
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
