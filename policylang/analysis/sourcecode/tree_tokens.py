"""Tokens from a tree-sitter parse, for the languages data/treesitter.toml lists (today JavaScript).

The script analyser reads tokens (``lexer.Tok``); for a language with a packaged tree-sitter
grammar they come from the parse tree instead of the hand-written lexer: each leaf is a token,
each string a single token whose text is decoded with the language's escapes (``strings``), each
regex literal one token; comments are dropped. The parse tree decides what the lexer guesses
(whether a "/" divides or starts a regex, where a template literal's substitution ends), and the
code inside interpolations comes as token lists of its own, analysed after the source as the
lexer's interpolated code is. A tree with ERROR or MISSING nodes makes the findings opaque: code
that does not parse is never harmless. Work is bounded by the budget's steps.
"""

from __future__ import annotations

import importlib
import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Mapping

from .lexer import Tok
from .strings import unescape
from .syntax import LexerSpec

if TYPE_CHECKING:
    import tree_sitter

MAX_INNER = 50  # interpolations analysed per source, as for the lexer's interpolated code


@dataclass(frozen=True, slots=True)
class TreeSpec:
    """The node types of one grammar (data/treesitter.toml)."""

    lang: str
    module: str
    skip: frozenset[str]
    names: frozenset[str]
    numbers: frozenset[str]
    operators: frozenset[str]
    strings: frozenset[str]
    interpolations: frozenset[str]
    regexes: frozenset[str]


@dataclass(slots=True)
class TreeTokens:
    """The tokens of a source and of the code inside its interpolations; ``errors`` says where the
    source does not parse; ``truncated``: the budget ran out before every node was read."""

    toks: list[Tok]
    inner: list[list[Tok]]
    errors: list[str]
    truncated: bool = False


_KEYS = ("module", "skip", "names", "numbers", "operators", "strings", "interpolations", "regexes")


def load_specs(data: Mapping[str, Any]) -> dict[str, TreeSpec]:
    """The grammar tables of ``data`` (treesitter.toml, parsed); ValueError when one is malformed."""
    out: dict[str, TreeSpec] = {}
    for lang, sec in data.items():
        if not isinstance(sec, dict) or set(sec) - set(_KEYS) or not isinstance(sec.get("module"), str):
            raise ValueError(f"treesitter.toml [{lang}]: a module and lists of node types ({', '.join(_KEYS[1:])})")
        lists: dict[str, frozenset[str]] = {}
        for key in _KEYS[1:]:
            value = sec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"treesitter.toml [{lang}].{key}: a list of node types")
            lists[key] = frozenset(value)
        out[lang] = TreeSpec(lang, sec["module"], **lists)
    return out


@lru_cache(maxsize=1)
def tree_specs() -> Mapping[str, TreeSpec]:
    """The languages read through a tree-sitter grammar, and their node tables."""
    text = resources.files(__package__).joinpath("data").joinpath("treesitter.toml").read_text(encoding="utf-8")
    return load_specs(tomllib.loads(text))


@lru_cache(maxsize=None)
def _language(module: str) -> tree_sitter.Language:
    # imported on first use: a command with no one-liner of the language never loads its grammar
    import tree_sitter

    return tree_sitter.Language(importlib.import_module(module).language())


_LOCAL = threading.local()  # one Parser per thread and grammar: a Parser must not parse two texts at once


def _parser(module: str) -> tree_sitter.Parser:
    parsers: dict[str, tree_sitter.Parser] | None = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    parser = parsers.get(module)
    if parser is None:
        import tree_sitter

        parser = parsers[module] = tree_sitter.Parser(_language(module))
    return parser


def tree_tokens(spec: TreeSpec, lexer: LexerSpec, source: str, steps: int) -> TreeTokens:
    """The tokens of ``source``, read from its tree-sitter parse; at most ``steps`` nodes are read."""
    src = source.encode("utf-8", "surrogatepass")
    tree = _parser(spec.module).parse(src)
    return _Walk(spec, lexer, src, steps).run(tree.root_node)


class _Walk:
    """One walk over a parse tree, in source order, into token lists."""

    def __init__(self, spec: TreeSpec, lexer: LexerSpec, src: bytes, steps: int) -> None:
        self.spec = spec
        self.lexer = lexer
        self.src = src
        self.steps = steps
        self.out = TreeTokens([], [], [])
        self.ends: dict[int, int] = {}  # id of a token list -> where its last token or comment ended

    def text(self, a: int, b: int) -> str:
        return self.src[a:b].decode("utf-8", "surrogatepass")

    def emit(self, toks: list[Tok], tok: Tok, start: int, end: int) -> None:
        key = id(toks)
        gap = self.src[self.ends.get(key, start) : start] if toks else b""
        tok.space = bool(gap)
        tok.nl = b"\n" in gap or b"\r" in gap
        toks.append(tok)
        self.ends[key] = end

    def error(self, node: tree_sitter.Node) -> None:
        if len(self.out.errors) >= 3:
            return
        row, col = node.start_point
        shown = " ".join(self.text(node.start_byte, node.start_byte + 40).split())
        what = f"a missing {node.type!r}" if node.is_missing else f"`{shown}`" if shown else "the end"
        self.out.errors.append(f"line {row + 1}, column {col + 1}: {what}")

    def run(self, root: tree_sitter.Node) -> TreeTokens:
        spec = self.spec
        stack: list[tuple[tree_sitter.Node, list[Tok]]] = [(root, self.out.toks)]
        while stack:
            node, toks = stack.pop()
            self.steps -= 1
            if self.steps < 0:
                self.out.truncated = True
                break
            kind = node.type
            if node.is_missing or kind == "ERROR":
                self.error(node)
            if kind in spec.skip:
                self.ends[id(toks)] = node.end_byte
            elif kind in spec.strings:
                self.string(node, toks, stack)
            elif kind in spec.regexes:
                self.emit(toks, Tok("regex", "/"), node.start_byte, node.end_byte)
            elif node.child_count:
                stack.extend((child, toks) for child in reversed(node.children))
            elif node.end_byte > node.start_byte:
                self.leaf(node, toks)
        return self.out

    def leaf(self, node: tree_sitter.Node, toks: list[Tok]) -> None:
        spec = self.spec
        kind = node.type
        text = self.text(node.start_byte, node.end_byte)
        if kind in spec.numbers:
            tok = Tok("num", text)
        elif kind in spec.operators:
            tok = Tok("op", text)
        elif node.is_named or text.isidentifier():
            tok = Tok("id", text)  # a name, a keyword, or a named leaf no table lists: read as a name
        else:
            tok = Tok("op", text)
        self.emit(toks, tok, node.start_byte, node.end_byte)

    def string(self, node: tree_sitter.Node, toks: list[Tok], stack: list[tuple[tree_sitter.Node, list[Tok]]]) -> None:
        """One str token for a string; the code of its interpolations as token lists of their own."""
        children = node.children
        if len(children) < 2 or children[0].is_named:
            self.error(node)  # a string without its delimiters: not a string the analysis can read
            self.emit(toks, Tok("str", "", True), node.start_byte, node.end_byte)
            return
        a, b = children[0].end_byte, children[-1].start_byte
        body = self.text(a, b)
        quote = self.lexer.quotes.get(self.text(node.start_byte, a)[-1:])
        interpolations = [c for c in children if c.type in self.spec.interpolations]
        if interpolations:
            self.emit(toks, Tok("str", body, True), node.start_byte, node.end_byte)
            parts: list[tuple[tree_sitter.Node, list[Tok]]] = []
            for part in interpolations[: max(0, MAX_INNER - len(self.out.inner))]:
                inner: list[Tok] = []
                self.out.inner.append(inner)
                parts.extend((c, inner) for c in part.children if c.is_named or c.type not in ("${", "}", "#{", "{"))
            stack.extend(reversed(parts))
            return
        single = quote is not None and quote.escapes == "single"
        self.emit(toks, Tok("str", unescape(body, single, self.lexer)), node.start_byte, node.end_byte)
