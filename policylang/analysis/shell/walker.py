"""The tree walker: statements, lists, pipelines, control flow, functions, substitutions and
redirections of a parsed shell string, down to simple commands."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ...diagnostics import shown
from ...effects import Effect
from ...resolve import expand, join_path, lex_word
from ...verdict import Risk
from ..catalog import normalise_program, normalise_word
from .fastpath import is_plain, split_plain

if TYPE_CHECKING:

    from .syntax import Node
from .simple import SimpleCommands
from .state import _OPAQUE, MAX_DEPTH, Cwds, Stream, W, _at, _lit, _union, _worst
from .syntax import (
    _CONTROL,
    _LEAVES,
    _LOCAL,
    _READ_OPS,
    _SEQUENCES,
    _STATEMENTS,
    _SUBSTITUTIONS,
    _TAINT_HINTS,
    _WRITE_OPS,
    _adjacent_groups,
    _assignment_name,
    _assignment_node_name,
    _assignments,
    _body_gap_words,
    _error_nodes,
    _first_skipped,
    _flatten,
    _heredoc_continuation,
    _list_items,
    _literal_error,
    _named,
    _parse,
    _pipeline_items,
    _prescan_taint,
    _redirect_extra,
    _span,
    _text,
    _valid_assignment,
    repair_keywords,
)


class Walker(SimpleCommands):
    """The tree walker: statements, lists, pipelines, control flow, substitutions, redirections."""

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
        for _ in range(4):  # "! time { ...; }": each pass lets the next keyword be seen
            repaired = repair_keywords(tree.root_node, source)
            if repaired is None:
                break
            source = repaired
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
            self.opaque_seg(text[:200], via, -1, f"cannot parse the shell text near byte {skipped}: {shown(snippet)}")
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
            self.assign_variables(pairs)
            return cwds, cwds, None
        ws = [_lit(w) for w in words[k:]]
        if not via and self.recording:
            self.top_commands += 1
            self.top_argv = tuple(w.orig for w in ws) if self.top_commands == 1 else None
        return self.simple(ws, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin,
                           redirects=[], assigns=pairs)

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
            saved = self.scope()
            try:
                self.sequence(node, cwds, depth + 1, via, pipe, stdin)
            finally:
                self.restore(saved)
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
            pairs = [(_assignment_node_name(a) or "", self._assigned_value(a, cwds, depth)) for a in _assignments(node)]
            if any(name == "PATH" for name, _ in pairs):
                self.path_changed = True
            self.assign_variables(pairs)
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
        env, tainted = self.expansion_env()
        words = expand(parts, env=env, home=self.home, cwd=cwds[0] if len(cwds) == 1 else None, tainted=tainted)
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
        certain = self.certain
        try:
            return self._chain(groups, cwds, depth, via, stdin)
        finally:
            self.certain = certain

    def _chain(self, groups: list[tuple[str | None, list[Any]]], cwds: Cwds, depth: int, via: str,
               stdin: Stream | None) -> tuple[Cwds, Cwds, Stream | None]:
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
                self.certain = False  # from here on, a command runs only if an earlier one succeeded or failed
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
            saved = self.scope()  # every stage runs in a subshell
            try:
                _, _, stream = self.run_item(stage, cwds, depth, via, pipe, stream)
            finally:
                self.restore(saved)
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
        certain = self.certain
        self.certain = False  # a branch or a loop body may run or not, once or many times
        try:
            return self._control(node, cwds, depth, via)
        finally:
            self.certain = certain

    def _control(self, node: Node, cwds: Cwds, depth: int, via: str) -> tuple[Cwds, Cwds, Stream | None]:
        state: Cwds = cwds
        out: Stream | None = None
        if node.type == "for_statement":
            for child in node.children:
                if child.type == "variable_name":
                    self.variables[_text(child)] = None
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
        certain = self.certain
        self.certain = False  # the body runs when (and if) the function is called
        try:
            self.stmt(body, cwds, depth + 1, f"{via} > {where}" if via else where)
        finally:
            self.certain = certain
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

    def command(self, node: Node, redirects: list[Node], cwds: Cwds, depth: int, via: str, pipe: int,
                stdin: Stream | None, text: str, gap: Sequence[str] = ()) -> tuple[Cwds, Cwds, Stream | None]:
        assigns: list[Node] = []
        groups: list[list[Node]] = []  # adjacent nodes form one shell word
        redirs = list(redirects)
        # "sh 0< f": tree-sitter-bash reads the 0 as a word of the command, but a number touching a
        # redirection operator is that redirection's file descriptor
        starts = {r.start_byte for r in redirs} | {c.start_byte for c in node.children if c.type.endswith("_redirect")}
        last_end = -1
        for child in node.children:
            t = child.type
            if t == "number" and child.end_byte in starts:
                continue
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
        writes = self.pending_writes
        result = self.simple(ws, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin,
                             redirects=redirect_effects, assigns=pairs)
        self.record_output(writes, result[2])
        for op, tail_text, _ in tails:
            self.note("several commands")
            self.run_text(tail_text, cwds, depth + 1, via, result[2] if op in ("|", "|&") else None)
        return result

    def record_output(self, writes: Sequence[tuple[str, str]], out: Stream | None) -> None:
        """Remember what the files a command's output went to hold (``echo ... > x.sh``), so that
        running or sourcing one later in this command is analysed as what it is."""
        for op, path in writes:
            held = out if out is not None and out.kind in ("static", "network") else _OPAQUE
            if op == ">>":
                before = self.files.get(path)
                if before is None or before.kind != "static" or held.kind != "static":
                    held = _worst(before, held) or _OPAQUE
                else:
                    held = Stream("static", tuple(a + b for a in before.texts for b in held.texts)[:4], "appended")
            self.files[path] = held

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
            self.record_output(self.pending_writes, result[2])
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
        """Path effects of redirections (segment 0: re-indexed by the caller) and the stdin they give.

        Files the command's output goes to are noted in ``self.pending_writes`` (op, path), for
        ``record_output`` to remember what they hold once the command has run."""
        effects: list[Effect] = []
        stdin: Stream | None = None
        self.pending_writes = []
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
                    fd = next((c for c in r.children if c.type == "file_descriptor"), None)
                    if (fd is None or _text(fd) == "1") and len(ws) == 1 and ws[0].static and len(cwds) == 1:
                        path = join_path(cwds[0], ws[0].text)
                        if path is not None:
                            self.pending_writes.append((op, path))
                if op in _READ_OPS:
                    roles.append("read")
                for role in roles:
                    for w in ws:
                        effects.extend(self.path_effects(role, w, cwds, False, 0, f"redirection {op}"))
                if op == "<" and ws and ws[0].static:
                    stdin = self.files.get(join_path(cwds[0], ws[0].text) or "") if len(cwds) == 1 else None
                    if stdin is None:
                        stdin = Stream("file", path=join_path(cwds[0], ws[0].text) if cwds else None)
                elif op in ("<", "<>") and ws and ws[0].stream is not None:
                    stdin = ws[0].stream  # < <(cmd): the input is what cmd writes
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
