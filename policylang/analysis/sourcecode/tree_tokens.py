"""The tree-sitter front-end of the script languages data/treesitter.toml lists (today JavaScript).

Each listed language is parsed with its packaged grammar, and code that does not parse (a tree
with ERROR or MISSING nodes, :func:`parse_errors`) makes the findings opaque: never harmless.
With ``tokens = true`` the script analyser's tokens (``lexer.Tok``) come from the tree instead of
the hand-written lexer (:func:`tree_tokens`): each leaf is a token, each string a single token
whose text is decoded with the language's escapes (``strings``), each regex literal one token;
comments are dropped; the code inside interpolations comes as token lists of its own, analysed
after the source as the lexer's interpolated code is. The tree then decides what the lexer
guesses (whether a "/" divides or starts a regex, where a template substitution ends); on every
source of the test suite it reads the lexer's tokens, at about twice the lexer's cost, so node
keeps the lexer's tokens (docs/code-frontends.md has the figures). Work is bounded by the
budget's steps.
"""
from __future__ import annotations

import importlib
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

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
    tokens: bool = False  # the tokens come from the tree; else the lexer's, and the parse checks the code

    def actions(self) -> dict[str, int]:
        """What the walk does at a node of each type the tables list."""
        return _actions(self)


@dataclass(slots=True)
class TreeTokens:
    """The tokens of a source and of the code inside its interpolations; ``errors`` says where the
    source does not parse; ``truncated``: the budget ran out before every node was read."""

    toks: list[Tok]
    inner: list[list[Tok]]
    errors: list[str]
    truncated: bool = False


_KEYS = ("module", "tokens", "skip", "names", "numbers", "operators", "strings", "interpolations", "regexes")


def load_specs(data: Mapping[str, Any]) -> dict[str, TreeSpec]:
    """The grammar tables of ``data`` (treesitter.toml, parsed); ValueError when one is malformed."""
    out: dict[str, TreeSpec] = {}
    for lang, sec in data.items():
        if (
            not isinstance(sec, dict)
            or set(sec) - set(_KEYS)
            or not isinstance(sec.get("module"), str)
            or not isinstance(sec.get("tokens", False), bool)
        ):
            raise ValueError(f"treesitter.toml [{lang}]: a module, tokens and lists of node types ({', '.join(_KEYS[2:])})")
        lists: dict[str, frozenset[str]] = {}
        for key in _KEYS[2:]:
            value = sec.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise ValueError(f"treesitter.toml [{lang}].{key}: a list of node types")
            lists[key] = frozenset(value)
        out[lang] = TreeSpec(lang, sec["module"], **lists, tokens=sec.get("tokens", False))
    return out


@lru_cache(maxsize=1)
def tree_specs() -> Mapping[str, TreeSpec]:
    """The languages read through a tree-sitter grammar, and their node tables."""
    text = resources.files(__package__).joinpath("data").joinpath("treesitter.toml").read_text(encoding="utf-8")
    return load_specs(tomllib.loads(text))


@cache
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


def parse_errors(spec: TreeSpec, source: str) -> list[str]:
    """Where ``source`` does not parse (its first ERROR and MISSING nodes); empty when it parses."""
    src = source.encode("utf-8", "surrogatepass")
    root = _parser(spec.module).parse(src).root_node
    if not root.has_error:
        return []
    return _errors(root, src)


def _errors(root: tree_sitter.Node, src: bytes) -> list[str]:
    """Where a tree does not parse: its first ERROR and MISSING nodes, as line, column and text."""
    stack = [root]
    found: list[str] = []
    while stack and len(found) < 3:
        node = stack.pop()
        if node.is_missing or node.is_error:
            row, col = node.start_point
            shown = " ".join(src[node.start_byte : node.start_byte + 40].decode("utf-8", "replace").split())
            what = f"a missing {node.type!r}" if node.is_missing else f"`{shown}`" if shown else "the end"
            found.append(f"line {row + 1}, column {col + 1}: {what}")
        elif node.has_error:
            stack.extend(reversed(node.children))
    return found or ["the parser reports an error it does not place"]


def tree_tokens(spec: TreeSpec, lexer: LexerSpec, source: str, steps: int) -> TreeTokens:
    """The tokens of ``source``, read from its tree-sitter parse; at most ``steps`` nodes are read."""
    src = source.encode("utf-8", "surrogatepass")
    tree = _parser(spec.module).parse(src)
    return _Walk(spec, lexer, src, steps).run(tree.root_node)


# what the walk does at a node of each type (TreeSpec.actions)
_SKIP, _STRING, _REGEX, _NUMBER, _OPERATOR, _NAME = range(6)


class _Walk:
    """One walk over a parse tree, in source order, into token lists."""

    def __init__(self, spec: TreeSpec, lexer: LexerSpec, src: bytes, steps: int) -> None:
        self.spec = spec
        self.actions = spec.actions()
        self.lexer = lexer
        self.src = src
        self.steps = steps
        self.out = TreeTokens([], [], [])

    def text(self, a: int, b: int) -> str:
        return self.src[a:b].decode("utf-8", "surrogatepass")

    def run(self, root: tree_sitter.Node) -> TreeTokens:
        if root.has_error:
            self.out.errors = _errors(root, self.src)
        self.walk(root, self.out.toks)
        return self.out

    def walk(self, top: tree_sitter.Node, toks: list[Tok]) -> None:
        """Append the tokens of ``top`` and everything under it to ``toks``."""
        src, actions, text = self.src, self.actions, self.text
        last = top.start_byte  # where the previous token or comment ended
        cursor = top.walk()
        while True:
            self.steps -= 1
            if self.steps < 0:
                self.out.truncated = True
                return
            node = cursor.node
            if node is None:  # a cursor on a tree always has a node: nothing to read otherwise
                return
            action = actions.get(node.type)
            descend = False
            if action == _SKIP:
                last = node.end_byte
            elif action == _STRING or action == _REGEX or node.child_count == 0:
                a, b = node.start_byte, node.end_byte
                if b > a:
                    gap = src[last:a] if toks else b""
                    if action == _STRING:
                        tok = self.string(node)
                    elif action == _REGEX:
                        tok = Tok("regex", "/")
                    else:
                        word = text(a, b)
                        if action == _NUMBER:
                            tok = Tok("num", word)
                        elif action == _OPERATOR:
                            tok = Tok("op", word)
                        elif action == _NAME or node.is_named or word.isidentifier():
                            tok = Tok("id", word)  # a name, a keyword, or a named leaf no table lists
                        else:
                            tok = Tok("op", word)
                    tok.space = bool(gap)
                    tok.nl = b"\n" in gap or b"\r" in gap
                    toks.append(tok)
                    last = b
            else:
                descend = True
            if descend and cursor.goto_first_child():
                continue
            while not cursor.goto_next_sibling():
                if not cursor.goto_parent():  # the cursor never leaves ``top``
                    return

    def string(self, node: tree_sitter.Node) -> Tok:
        """One str token for a string; the code of its interpolations as token lists of their own."""
        children = node.children
        if len(children) < 2 or children[0].is_named:
            # a string without its delimiters: not a string the analysis can read
            if len(self.out.errors) < 3:
                shown = self.text(node.start_byte, node.end_byte)[:40]
                self.out.errors.append(f"a string the parser could not read: {shown}")
            return Tok("str", "", True)
        a, b = children[0].end_byte, children[-1].start_byte
        body = self.text(a, b)
        interpolations = [c for c in children if c.type in self.spec.interpolations]
        if interpolations:
            for part in interpolations[: max(0, MAX_INNER - len(self.out.inner))]:
                inner: list[Tok] = []
                self.out.inner.append(inner)
                for child in part.children:
                    if child.is_named or child.type not in ("${", "}", "#{", "{"):
                        self.walk(child, inner)
            return Tok("str", body, True)
        quote = self.lexer.quotes.get(self.text(node.start_byte, a)[-1:])
        single = quote is not None and quote.escapes == "single"
        return Tok("str", unescape(body, single, self.lexer))


@cache
def _actions(spec: TreeSpec) -> dict[str, int]:
    table: dict[str, int] = {}
    for action, types in ((_NAME, spec.names), (_OPERATOR, spec.operators), (_NUMBER, spec.numbers),
                          (_REGEX, spec.regexes), (_STRING, spec.strings), (_SKIP, spec.skip)):
        table.update(dict.fromkeys(types, action))
    return table
