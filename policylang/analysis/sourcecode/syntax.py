"""The syntax of each tokenizer language as data: LexerSpec and GrammarSpec records from syntax.toml.

The lexer and the script analyser read these records, validated when loaded.

A tokenizer language is added as data only: its interpreter names in ``code.toml``'s
``[languages]``, its call tables in ``code.toml`` and its section in ``syntax.toml``; the lexer and
the script analyser have no branch on a language's name. ``syntax.toml`` says what each feature
means. awk is tokenized by the same lexer (its section has a lexer table only) and read by an
analyser of its own; sed is not tokenized.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Iterable, Mapping, TypeVar

from .tables import AWK, PYTHON, SED, config


class SpecError(ValueError):
    """A syntax table that does not describe a language the analyser can read."""


@dataclass(frozen=True, slots=True)
class Quote:
    """How a string between two of one quote character is read."""

    token: str = "str"  # "str", or "cmd" for a command string
    interpolate: bool = False
    escapes: str = "all"  # "single": only \\ and \' (and the quote) are escapes
    nested_code: bool = False  # interpolations hold code whose quotes do not close the string


@dataclass(frozen=True, slots=True)
class Interpolation:
    """Where a run-time interpolation starts in an interpolating string: ``sigil`` then a
    character of ``then`` or a letter (``letters`` "alpha") or letter or digit ("alnum")."""

    sigil: str = ""
    then: str = ""
    letters: str = ""
    at_end: bool = False  # the sigil as the last character counts too


@dataclass(frozen=True, slots=True)
class CodeInterpolation:
    """An interpolation holding code (``${...}``): it starts after the "{" of ``open``."""

    open: str = ""
    prefix: str = ""  # put before the code


@dataclass(frozen=True, slots=True)
class DocBlock:
    """A block skipped from a line starting with ``start`` through the line after ``end``."""

    start: str = ""
    end: str = ""
    letter_after: bool = False


@dataclass(frozen=True, slots=True)
class Heredoc:
    opener: str = ""
    blank_after_opener: bool = False
    indent_marks: str = ""
    dedent_mark: str = ""
    bare_word: str = "capitalised"  # or "any"
    terminator_indented: bool = False
    terminator_prefix: bool = False


@dataclass(frozen=True, slots=True)
class Literal:
    """A quote-like literal (``qw(...)``, ``%x{...}``): what its body is."""

    kind: str = ""  # single string words command regex substitution
    text: str = ""  # the token's text (words, regex, substitution)
    plain_in_single_quotes: bool = False


@dataclass(frozen=True, slots=True)
class LexerSpec:
    """How source text becomes tokens."""

    open_tags: tuple[str, ...] = ()
    close_tag: str = ""
    reopen_tag: str = ""
    line_comments: tuple[str, ...] = ()
    line_comment_exceptions: tuple[str, ...] = ()
    block_comments: tuple[tuple[str, str], ...] = ()
    doc_blocks: tuple[DocBlock, ...] = ()
    end_markers: tuple[str, ...] = ()
    quotes: Mapping[str, Quote] = field(default_factory=dict)
    interpolation: tuple[Interpolation, ...] = ()
    code_interpolations: tuple[CodeInterpolation, ...] = ()
    octal_escapes: bool = False
    decimal_escapes: bool = False
    whitespace_escape: str = ""
    long_brackets: bool = False
    long_comments: tuple[str, ...] = ()
    heredoc: Heredoc | None = None
    var_sigils: str = ""
    hash_sigil: str = ""
    sigil_extras: tuple[str, ...] = ()
    deref_braces: bool = False
    scoped_vars: bool = False
    punctuation_vars: str = ""
    lone_sigils: str = ""
    quote_words: Mapping[str, Literal] = field(default_factory=dict)
    percent_literals: Mapping[str, Literal] = field(default_factory=dict)
    symbols: bool = False
    slash_regex: bool = False
    regex_keywords: tuple[str, ...] = ()
    regex_ends_at_newline: bool = False
    identifier_chars: str = ""
    namespace_separator: str = ""
    scoped_names: bool = False
    rooted_names: bool = False
    method_suffixes: str = ""
    colon_labels: bool = False


@dataclass(frozen=True, slots=True)
class GrammarSpec:
    """How tokens become names, values and calls."""

    member_ops: frozenset[str] = frozenset()
    concat_op: str = ""
    parenless_calls: bool = False
    statement_modifiers: bool = False
    comma_ends_assignment: bool = False
    arrow_functions: bool = False
    pair_args: bool = False
    colon_pairs: bool = False
    map_brackets: bool = False
    array_function: str = ""
    flat_lists: bool = False
    skip_unpaired_items: bool = False
    list_splats: tuple[str, ...] = ()
    array_sigil: str = ""
    declarators: tuple[str, ...] = ()
    reference_op: str = ""
    require_calls: tuple[str, ...] = ()
    constructor_keywords: tuple[str, ...] = ()
    variable_members: bool = False
    member_calls: bool = False
    index_brackets: bool = False
    template_tag: str = ""
    module_prefix: str = ""
    case_insensitive_names: bool = False
    callable_variables: str = ""
    callable_strings: bool = False
    code_deref: str = ""
    invoke_methods: tuple[str, ...] = ()
    block_program_calls: tuple[str, ...] = ()
    method_objects: bool = False
    import_statements: bool = False
    destructuring: tuple[str, ...] = ()
    string_calls: bool = False
    free_form: bool = False
    keywords: frozenset[str] = frozenset()
    statement_starts: frozenset[str] = frozenset()
    multiple_assignment: bool = False
    brace_tables: bool = False
    index_after_space: bool = False
    index_functions: tuple[str, ...] = ()
    escaping_functions: bool = False
    unknown_bindings: tuple[str, ...] = ()
    call_across_lines: bool = False


@dataclass(frozen=True, slots=True)
class Syntax:
    name: str
    lexer: LexerSpec
    grammar: GrammarSpec


_R = TypeVar("_R")
_LITERAL_KINDS = frozenset({"single", "string", "words", "command", "regex", "substitution"})
_NAMED_LITERALS = frozenset({"words", "regex", "substitution"})  # their token's text is shown


def _table(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise SpecError(f"{where}: a table is expected, not {value!r}")
    return value


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SpecError(f"{where}: a list of non-empty strings is expected, not {value!r}")
    return tuple(value)


def _records(cls: Callable[..., _R], value: object, where: str) -> tuple[_R, ...]:
    if not isinstance(value, list):
        raise SpecError(f"{where}: a list of tables is expected, not {value!r}")
    return tuple(_record(cls, item, f"{where}[{i}]") for i, item in enumerate(value))


def _keyed(cls: Callable[..., _R], value: object, where: str) -> dict[str, _R]:
    return {key: _record(cls, item, f"{where}.{key}") for key, item in _table(value, where).items()}


def _pairs(value: object, where: str) -> tuple[tuple[str, str], ...]:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(p, list) and len(p) == 2 for p in items):
        raise SpecError(f"{where}: a list of [open, close] pairs is expected, not {value!r}")
    return tuple((a, b) for a, b in (_strings(p, where) for p in items))


# how a TOML value becomes a field whose default does not say it (records and tables of records)
_READERS: dict[str, Callable[[object, str], object]] = {
    "block_comments": _pairs,
    "doc_blocks": lambda v, w: _records(DocBlock, v, w),
    "quotes": lambda v, w: _keyed(Quote, v, w),
    "interpolation": lambda v, w: _records(Interpolation, v, w),
    "code_interpolations": lambda v, w: _records(CodeInterpolation, v, w),
    "heredoc": lambda v, w: _record(Heredoc, v, w),
    "quote_words": lambda v, w: _keyed(Literal, v, w),
    "percent_literals": lambda v, w: _keyed(Literal, v, w),
}


def _record(cls: Callable[..., _R], value: object, where: str) -> _R:
    """A record of ``cls`` from a TOML table: every key a field, every value of the field's kind
    (that of its default, or read by ``_READERS``); absent keys keep their defaults."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, object] = {}
    for key, item in _table(value, where).items():
        f = known.get(key)
        if f is None:
            raise SpecError(f"{where}: unknown key {key!r}")
        at = f"{where}.{key}"
        default = f.default_factory() if callable(f.default_factory) else f.default
        reader = _READERS.get(key)
        if reader is not None:
            kwargs[key] = reader(item, at)
        elif isinstance(default, bool):
            if not isinstance(item, bool):
                raise SpecError(f"{at}: true or false is expected, not {item!r}")
            kwargs[key] = item
        elif isinstance(default, str):
            if not isinstance(item, str):
                raise SpecError(f"{at}: a string is expected, not {item!r}")
            kwargs[key] = item
        elif isinstance(default, frozenset):
            kwargs[key] = frozenset(_strings(item, at))
        elif isinstance(default, tuple):
            kwargs[key] = _strings(item, at)
        else:  # pragma: no cover - every field has a default or a reader
            raise SpecError(f"{at}: cannot be read")
    return cls(**kwargs)


def _check(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise SpecError(f"{where}: {what}")


def _check_literals(table: Mapping[str, Literal], where: str, keys: str) -> None:
    for key, lit in table.items():
        at = f"{where}.{key}"
        if keys == "words":
            _check(key.isalpha(), at, "a quote word is a word of letters")
        else:
            _check(len(key) <= 1 and (not key or key.isalpha()), at, 'a percent literal is "" or one letter')
        _check(lit.kind in _LITERAL_KINDS, at, f"kind is one of {sorted(_LITERAL_KINDS)}")
        _check(lit.kind not in _NAMED_LITERALS or bool(lit.text), at, f"a {lit.kind} literal needs its text")
        _check(not lit.plain_in_single_quotes or lit.kind == "command", at, "only commands are plain in '...'")


def _check_lexer(lex: LexerSpec, where: str) -> None:
    for ch, quote in lex.quotes.items():
        at = f"{where}.quotes.{ch}"
        _check(len(ch) == 1, at, "a quote is one character")
        _check(quote.token in ("str", "cmd"), at, 'token is "str" or "cmd"')
        _check(quote.escapes in ("single", "all"), at, 'escapes is "single" or "all"')
    for i, rule in enumerate(lex.interpolation):
        at = f"{where}.interpolation[{i}]"
        _check(len(rule.sigil) == 1, at, "the sigil is one character")
        _check(rule.letters in ("", "alpha", "alnum"), at, 'letters is "alpha" or "alnum"')
    for i, code in enumerate(lex.code_interpolations):
        _check("{" in code.open, f"{where}.code_interpolations[{i}]", 'open holds the "{" the code starts after')
    for i, block in enumerate(lex.doc_blocks):
        _check(bool(block.start and block.end), f"{where}.doc_blocks[{i}]", "start and end are not empty")
    _check(bool(lex.close_tag) == bool(lex.reopen_tag), where, "close_tag and reopen_tag go together")
    if lex.heredoc is not None:
        hd = lex.heredoc
        _check(bool(hd.opener), f"{where}.heredoc", "opener is not empty")
        _check(hd.bare_word in ("capitalised", "any"), f"{where}.heredoc", 'bare_word is "capitalised" or "any"')
        _check(hd.dedent_mark in hd.indent_marks, f"{where}.heredoc", "the dedent mark is an indent mark")
    _check(all(len(s) == 1 for s in lex.sigil_extras), f"{where}.sigil_extras", "each is one character")
    _check(len(lex.hash_sigil) <= 1, f"{where}.hash_sigil", "one character")
    _check(len(lex.namespace_separator) <= 1, f"{where}.namespace_separator", "one character")
    _check(len(lex.whitespace_escape) <= 1, f"{where}.whitespace_escape", "one character")
    _check(not (lex.octal_escapes and lex.decimal_escapes), where, "octal_escapes and decimal_escapes exclude each other")
    _check(not lex.long_comments or lex.long_brackets, f"{where}.long_comments", "long comments need long_brackets")
    _check_literals(lex.quote_words, f"{where}.quote_words", "words")
    _check_literals(lex.percent_literals, f"{where}.percent_literals", "letters")


def load_syntaxes(
    data: Mapping[str, Any], languages: Iterable[str], lexer_only: Iterable[str] = ()
) -> dict[str, Syntax]:
    """The syntax of every language in ``data`` (syntax.toml, parsed); ``languages`` are those that
    must have one, and the only ones that may; those of ``lexer_only`` are read by an analyser of
    their own over the tokenizer and have a lexer table only. Raises :class:`SpecError` when the
    data does not validate."""
    wanted = list(languages)
    bare = frozenset(lexer_only)
    for lang in wanted:
        _check(lang in data, lang, "the language has no syntax section")
    out: dict[str, Syntax] = {}
    for lang, sec in data.items():
        _check(lang in wanted, lang, "a syntax section for a language that code.toml does not name")
        sec = _table(sec, lang)
        for key in sec:
            _check(key in ("lexer", "grammar"), lang, f"unknown table {key!r}")
        lexer = _record(LexerSpec, sec.get("lexer", {}), f"{lang}.lexer")
        grammar = _record(GrammarSpec, sec.get("grammar", {}), f"{lang}.grammar")
        _check_lexer(lexer, f"{lang}.lexer")
        if lang in bare:
            _check("grammar" not in sec, lang, "a language read by its own analyser has no grammar table")
        else:
            _check(bool(grammar.member_ops), f"{lang}.grammar", "member_ops is not empty")
            _check(bool(grammar.concat_op), f"{lang}.grammar", "concat_op is not empty")
        out[lang] = Syntax(lang, lexer, grammar)
    return out


@lru_cache(maxsize=1)
def syntaxes() -> Mapping[str, Syntax]:
    """The syntax of every language read by the tokenizer: every analysed language but Python and
    sed (awk's is a lexer only: its analyser is its own)."""
    text = resources.files(__package__).joinpath("data").joinpath("syntax.toml").read_text(encoding="utf-8")
    langs = [lang for lang in config().langs if lang not in (PYTHON, SED)]
    return load_syntaxes(tomllib.loads(text), langs, lexer_only=(AWK,))
