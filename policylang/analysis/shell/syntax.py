"""The shell syntax: tree-sitter-bash parsing (imported on first use) and helpers over its nodes."""
from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any, Sequence

from .fastpath import is_plain

if TYPE_CHECKING:
    import tree_sitter

if TYPE_CHECKING:
    Node = tree_sitter.Node

_NOT_LITERAL = frozenset(" \t;&|<>()$`\\\"'{}[]*?~#!")


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


# Words that only a parser error puts at the start of a simple command: bash reads them as syntax.
RESERVED = frozenset({"{", "}", "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
                      "esac", "in", "select", "function", "[[", "]]"})
# Keywords tree-sitter-bash reads as a command's name when a compound command follows them
# (``time { ...; }``, ``! if ...``, ``coproc NAME { ...; }``), and the words that open one.
_PREFIXES = frozenset({"time", "coproc"})
_COMPOUND = frozenset({"{", "(", "((", "if", "for", "while", "until", "case", "select", "[[", "function"})


def repair_keywords(root: Node, source: bytes) -> bytes | None:
    """The source with ``time``, ``!`` and ``coproc [NAME]`` blanked where a compound command follows
    them (they change neither what runs nor its effects), so that it parses as bash reads it; None
    when there is nothing to repair."""
    spans: list[tuple[int, int]] = []
    stack = [root]
    while stack:
        n = stack.pop()
        stack.extend(n.children)
        if n.type == "negated_command":
            inner = next((c for c in n.children if c.is_named), None)
            if inner is not None and inner.type == "command" and _name(inner, source) in _COMPOUND:
                spans.append((n.start_byte, inner.start_byte))
            continue
        if n.type != "command" or _name(n, source) not in _PREFIXES:
            continue
        words = [c for c in n.children if c.is_named]
        k = 1
        if _name(n, source) == "time":
            while k < len(words) and source[words[k].start_byte:words[k].end_byte] in (b"-p", b"--"):
                k += 1
        elif (k + 1 < len(words) and source[words[k + 1].start_byte:words[k + 1].end_byte] in (b"{", b"(")
              and source[words[k].start_byte:words[k].end_byte].decode("utf-8", "replace").isidentifier()):
            k += 1  # coproc NAME { ...; }
        if k < len(words) and source[words[k].start_byte:words[k].end_byte].decode("utf-8", "replace") in _COMPOUND:
            spans.append((n.start_byte, words[k].start_byte))
    if not spans:
        return None
    out = bytearray(source)
    for a, b in spans:
        out[a:b] = b" " * (b - a)
    return bytes(out)


def _name(command: Node, source: bytes) -> str:
    name = command.child_by_field_name("name")
    return source[name.start_byte:name.end_byte].decode("utf-8", "replace") if name is not None else ""


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


_AMBIGUOUS = "ntr"


_LEAVES = frozenset({"word", "number", "raw_string", "ansi_c_string", "variable_name", "file_descriptor",
                     "simple_expansion", "special_variable_name", "heredoc_start", "heredoc_end", "comment"})


_TAINT_HINTS = ("=", "read", "for", "unset", "getopts", "mapfile", "let", "select", "printf")


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
