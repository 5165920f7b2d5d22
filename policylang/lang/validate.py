"""Semantic checks over parsed policy files: names, references, globs, regexes, CEL, vocabulary.

``validate`` looks at every loaded file together (rule ids and list names are global across
layers) and reports every problem it finds; it never raises on a bad policy.  The checks that need
the engine (shadowed rules, example verdicts) live with the compiler.
"""
from __future__ import annotations

import bisect
import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import re2  # type: ignore[import-untyped]

from ..diagnostics import Diagnostic
from ..source import Source, Span
from .clause_words import clause_word_findings
from .nodes import (
    DECISIONS,
    EXAMPLE_KINDS,
    RISK_LEVELS,
    Alternatives,
    AnyArgs,
    ArgItem,
    Cel,
    CodeTarget,
    Disable,
    Example,
    Except,
    ExecTarget,
    Let,
    ListRef,
    MessageTarget,
    ConcernTarget,
    NetworkTarget,
    OpaqueTarget,
    PathIn,
    PathSet,
    PathTarget,
    PipeTarget,
    PolicyFile,
    Regex,
    Rule,
    StringItem,
    Target,
    ToolTarget,
)

__all__ = ["validate", "check_path_glob", "check_host_glob", "check_package_glob", "regex_error", "cel_error", "target_kind"]

PATH_ROOTS = ("$WORKSPACE", "$HOME", "$TMPDIR", "$CWD")
# Spellings the path compiler accepts as the same roots.
_ROOT_ALIASES = ("${WORKSPACE}", "${HOME}", "${TMPDIR}", "${CWD}", "$PWD", "${PWD}")
_ALLOWED_ROOTS = "/…, ~/…, $WORKSPACE, $HOME, $TMPDIR, $CWD, or **/… for a name anywhere"
_VAR_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
_SPACES_RE = re.compile(r"[ \t\f\r\n]+")
_WORD_CHAR_RE = re.compile(r"[^\s{}\[\],|#\"']")
_DECLARATION_RE = re.compile(r"^(let|rule)[ \t]+([A-Za-z_][A-Za-z0-9._-]*)", re.MULTILINE)


def _is_word_at(text: str, at: int, length: int) -> bool:
    """Whether ``text[at:at+length]`` is a whole bare word (not part of a longer one)."""
    before = at > 0 and _WORD_CHAR_RE.match(text, at - 1) is not None
    after = at + length < len(text) and _WORD_CHAR_RE.match(text, at + length) is not None
    return not before and not after


# ---- single-pattern checks, usable on their own -------------------------------------------------

def _brackets_error(body: str) -> str | None:
    """The same bracket rules the path compiler applies: `[...]`, `[!...]`, `[^...]`, non-empty."""
    i = body.find("[")
    while i >= 0:
        j = body.find("]", i + 2 if body.startswith(("[!", "[^"), i) else i + 1)
        if j < 0:
            return "unbalanced `[`: a character class needs its closing `]`"
        if body[i + 1:j] in ("", "!", "^"):
            return "empty character class `[]`"
        i = body.find("[", j + 1)
    return None


def check_path_glob(value: str) -> tuple[str, str | None] | None:
    """Why ``value`` is not a valid path glob, as (message, hint), or None when it is valid."""
    if value == "":
        return "empty path pattern", f"a path pattern starts with {_ALLOWED_ROOTS}"
    negated = value.startswith("!")
    body = value[1:] if negated else value
    if body == "":
        return "`!` alone negates nothing", "write `!` followed by a pattern, e.g. \"!**/.env.example\""
    if body.startswith("!"):
        return "double negation `!!`", "`!` negates a whole pattern once; remove the extra `!`"
    if "***" in body:
        return "`***` is not a glob", "use `**` for any depth of directories, `*` within one name"
    bracket = _brackets_error(body)
    if bracket:
        return bracket, "write `[abc]`, `[a-z]` or `[!abc]`"
    if "/!" in body:
        return ("`!` in the middle of a pattern", f"`!` negates a whole pattern and must be its first character: "
                                                  f"\"!{body.replace('/!', '/', 1)}\"")
    if body.startswith("/"):
        return None
    if body == "~" or body.startswith("~/"):
        return None
    if body.startswith("~"):
        return "`~user` paths are not supported", "use `~/…` for the agent's home, or an absolute path"
    if body == "**" or body.startswith("**/"):
        return None
    if body.startswith("**"):
        return ("`**` must be a whole path segment", f"write \"**/*{body[2:].lstrip('*')}\" for a name anywhere")
    for root in PATH_ROOTS + _ROOT_ALIASES:
        if body == root or body.startswith(root + "/"):
            return None
    if body.startswith("$"):
        m = _VAR_RE.match(body)
        var = m.group(0) if m else body
        return (f"unknown variable `{var}` in a path pattern", f"a path may start with {', '.join(PATH_ROOTS)}")
    return (f"relative path pattern `{body}`", f"a path pattern starts with {_ALLOWED_ROOTS}: "
                                               f"write \"**/{body}\" to match it anywhere, or \"$WORKSPACE/{body}\"")


def check_host_glob(value: str) -> tuple[str, str | None] | None:
    """Why ``value`` is not a valid host glob (``*.example.com``, ``10.*``), or None."""
    if value == "":
        return "empty host pattern", "write a host name or a glob such as \"*.example.com\""
    body = value[1:] if value.startswith("!") else value
    if body == "":
        return "`!` alone negates nothing", "write `!` followed by a host pattern"
    if "://" in body or "/" in body:
        host = body.split("://", 1)[-1].split("/", 1)[0]
        return "a host pattern is a host name, not a URL", f"write just the host: \"{host}\""
    if any(c.isspace() for c in body):
        return "a host pattern cannot contain spaces", None
    if "***" in body:
        return "`***` is not a glob", "use `*` for any part of a host name"
    bracket = _brackets_error(body)
    if bracket:
        return bracket, None
    return None


def check_package_glob(value: str) -> tuple[str, str | None] | None:
    """Why ``value`` is not a valid package-name glob (``requests``, ``@acme/*``, ``npm:left-pad``), or None."""
    from ..analysis.supplychain.names import ecosystems

    body = value.removeprefix("!")
    if body == "":
        return "empty package pattern", "write a package name, a glob such as \"@acme/*\", or ECOSYSTEM:NAME"
    head, colon, name = body.partition(":")
    if colon and "/" not in head and not head.startswith("@"):
        if head not in ecosystems():
            known = ", ".join(e + ":" for e in ecosystems())
            return f"unknown ecosystem `{head}`", f"a package pattern may start with one of {known}"
        body = name
    if body == "" or any(c.isspace() for c in body):
        return "a package pattern is one name, without spaces", None
    if "://" in body:
        return "a package pattern is a name, not a URL", "name the host with `to [\"HOST\"]`"
    return None


def _re2_options() -> re2.Options:
    opts = re2.Options()
    opts.log_errors = False
    return opts


_RE2_OPTIONS = _re2_options()


@functools.lru_cache(maxsize=4096)
def regex_error(pattern: str) -> str | None:
    """RE2's message when it rejects ``pattern``, else None."""
    try:
        re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as err:
        msg = err.args[0] if err.args else str(err)
        return msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    except Exception as err:  # e.g. a lone surrogate that cannot be encoded
        return f"{type(err).__name__}: {err}"
    return None


@functools.lru_cache(maxsize=1024)
def cel_error(expr: str) -> tuple[str, int | None, int | None] | None:
    """(message, line, column) from cel-python when ``expr`` does not compile, else None."""
    import celpy  # imported here: loading cel-python costs more than parsing a whole policy

    try:
        celpy.Environment().compile(expr)
    except Exception as err:
        line = getattr(err, "line", None)
        column = getattr(err, "column", None)
        text = str(err).strip()
        lines = text.splitlines()
        # cel-python's parse errors are the expression and a caret line; keep any real message
        if len(lines) == 2 and lines[1].strip() == "^":
            text = "syntax error"
        return text or type(err).__name__, line if isinstance(line, int) else None, \
            column if isinstance(column, int) else None
    return None


@functools.lru_cache(maxsize=1024)
def cel_cost_error(expr: str) -> str | None:
    """Why ``expr`` (which compiles) is too costly to evaluate (lang/cel_cost.py), else None."""
    import celpy

    from .cel_cost import static_problem

    return static_problem(celpy.Environment().compile(expr))


def target_kind(target: Target) -> str:
    """The effect kind a target matches: exec, read, write, delete, network, code, tool, message, leak,
    upload, persist, discard, secret, finding, opaque."""
    if isinstance(target, (ExecTarget, PipeTarget)):
        return "exec"
    if isinstance(target, PathTarget):
        return target.kind
    if isinstance(target, NetworkTarget):
        return "network"
    if isinstance(target, CodeTarget):
        return "code"
    if isinstance(target, ToolTarget):
        return "tool"
    if isinstance(target, MessageTarget):
        return "message"
    if isinstance(target, ConcernTarget):
        return target.kind
    return "opaque"


# ---- the validator --------------------------------------------------------------------------------

def _did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    # only names of a similar length can be close; this keeps the search cheap with many names
    pool = [c for c in candidates if abs(len(c) - len(word)) <= max(2, len(word) // 2)]
    by_upper = {c.upper(): c for c in pool}
    if word.upper() in by_upper and by_upper[word.upper()] != word:
        return by_upper[word.upper()]
    close = difflib.get_close_matches(word, pool, n=1, cutoff=0.6)
    if close:
        return close[0]
    close = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=0.6)
    return by_upper[close[0]] if close else None


@dataclass
class _Validator:
    files: Sequence[PolicyFile]
    sources: Mapping[str, Source]
    out: list[Diagnostic] = field(default_factory=list)
    lets: dict[str, Let] = field(default_factory=dict)
    rules: dict[str, Rule] = field(default_factory=dict)
    # names declared by statements that did not parse: the syntax error is already reported, so a
    # reference to one of them is not reported again
    unparsed_lists: set[str] = field(default_factory=set)
    unparsed_rules: set[str] = field(default_factory=set)
    _lines: dict[str, list[str]] = field(default_factory=dict)
    _line_starts: dict[str, list[int]] = field(default_factory=dict)
    _globs_done: set[tuple[str, int, str]] = field(default_factory=set)

    # -- output --

    def line_text(self, span: Span) -> str:
        lines = self._lines.get(span.source)
        if lines is None:
            src = self.sources.get(span.source)
            lines = [ln.rstrip("\r") for ln in src.text.split("\n")] if src is not None else []
            self._lines[span.source] = lines
        return lines[span.line - 1] if 0 < span.line <= len(lines) else ""

    def diag(self, code: str, message: str, span: Span, hint: str | None = None, *,
             severity: str = "error", notes: tuple[Diagnostic, ...] = ()) -> None:
        self.out.append(Diagnostic(severity, code, message, span, self.line_text(span), (), hint, notes))

    def note(self, message: str, span: Span) -> Diagnostic:
        return Diagnostic("note", "", message, span, self.line_text(span))

    def word_span(self, span: Span, word: str, after: int | None = None, keyword: str | None = None) -> Span:
        """The span of the bare word ``word`` inside statement ``span`` (from offset ``after``; right
        after ``keyword`` when given), else ``span`` itself."""
        src = self.sources.get(span.source)
        if src is None or not word:
            return span
        text, end = src.text, span.end
        at = span.start if after is None else after
        while True:
            at = text.find(keyword if keyword else word, at, end)
            if at < 0:
                return span
            if keyword:
                ws = _SPACES_RE.match(text, at + len(keyword))
                found = ws.end() if ws and ws.end() > at + len(keyword) and _is_word_at(text, at, len(keyword)) \
                    and text.startswith(word, ws.end()) else -1
                if found >= 0 and _is_word_at(text, found, len(word)):
                    return self.span_at(src, found, found + len(word))
            elif _is_word_at(text, at, len(word)):
                return self.span_at(src, at, at + len(word))
            at += 1

    def span_at(self, src: Source, start: int, end: int) -> Span:
        """A span of ``src`` by offsets (a line index per source keeps this cheap on big files)."""
        starts = self._line_starts.get(src.name)
        if starts is None:
            starts = [0] + [m.end() for m in re.finditer("\n", src.text)]
            self._line_starts[src.name] = starts
        line = bisect.bisect_right(starts, start)
        end_line = bisect.bisect_right(starts, end)
        return Span(src.name, line, start - starts[line - 1] + 1, start, end, end_line, end - starts[end_line - 1] + 1)

    # -- the passes --

    def run(self) -> list[Diagnostic]:
        self.collect_names()
        self.collect_unparsed_names()
        self.check_list_cycles()
        for f in self.files:
            for st in f.statements:
                if isinstance(st, Rule):
                    self.check_rule(st)
                elif isinstance(st, Let):
                    self.check_let(st)
                elif isinstance(st, Example):
                    self.check_example(st)
                elif isinstance(st, Disable):
                    self.check_rule_ref(st.rule, st.span, "disable")
                elif isinstance(st, Except):
                    rule = self.check_rule_ref(st.rule, st.span, "except")
                    for t in st.unless:
                        if rule is not None:
                            self.check_unless_kind(t, rule, note=True)
                        self.check_target(t)
        order = {f.name: i for i, f in enumerate(self.files)}
        self.out.sort(key=lambda d: (order.get(d.span.source, len(order)) if d.span else len(order),
                                     d.span.start if d.span else 0))
        return self.out

    def collect_names(self) -> None:
        for f in self.files:
            for st in f.statements:
                if isinstance(st, Let):
                    first = self.lets.get(st.name)
                    if first is None:
                        self.lets[st.name] = st
                    else:
                        here = self.word_span(st.span, st.name)
                        self.diag("duplicate-list", f"list `{st.name}` is already defined", here,
                                  "list names are shared by every loaded file; rename one of them",
                                  notes=(self.note(f"`{st.name}` is first defined here",
                                                   self.word_span(first.span, st.name)),))
                elif isinstance(st, Rule):
                    first_rule = self.rules.get(st.id)
                    if first_rule is None:
                        self.rules[st.id] = st
                    else:
                        self.diag("duplicate-rule", f"rule id `{st.id}` is already defined", st.id_span,
                                  "rule ids are shared by every loaded file and must be unique; to change "
                                  f"a lower layer's rule, `disable {st.id}` and add a rule with a new id",
                                  notes=(self.note(f"`{st.id}` is first defined here", first_rule.id_span),))

    def collect_unparsed_names(self) -> None:
        """Names that a source declares at the start of a line but its parsed file does not hold."""
        for f in self.files:
            src = self.sources.get(f.name)
            if src is None:
                continue
            for m in _DECLARATION_RE.finditer(src.text):
                kind, name = m.group(1), m.group(2)
                if kind == "let" and name not in self.lets:
                    self.unparsed_lists.add(name)
                elif kind == "rule" and name not in self.rules:
                    self.unparsed_rules.add(name)

    def check_list_cycles(self) -> None:
        state: dict[str, int] = {}  # 1: on the current path, 2: done
        for root in self.lets:
            if root in state:
                continue
            path: list[str] = [root]
            iters = [iter(self._refs(root))]
            state[root] = 1
            while iters:
                nxt = next(iters[-1], None)
                if nxt is None:
                    state[path.pop()] = 2
                    iters.pop()
                    continue
                ref_name = nxt.name
                if ref_name not in self.lets:
                    continue
                mark = state.get(ref_name)
                if mark == 1:
                    cycle = path[path.index(ref_name):] + [ref_name]
                    self.diag("list-cycle", f"list `{ref_name}` includes itself: {' -> '.join(cycle)}", nxt.span,
                              "a list may include other lists, but not itself through them")
                elif mark is None:
                    state[ref_name] = 1
                    path.append(ref_name)
                    iters.append(iter(self._refs(ref_name)))

    def _refs(self, name: str) -> list[ListRef]:
        return [i for i in self.lets[name].value.items if isinstance(i, ListRef)]

    # -- statements --

    def check_let(self, let: Let) -> None:
        for item in let.value.items:
            if isinstance(item, ListRef):
                self.check_list_ref(item)

    def check_rule(self, rule: Rule) -> None:
        if rule.decision not in DECISIONS:
            guess = _did_you_mean(rule.decision, DECISIONS)
            self.diag("unknown-keyword", f"unknown decision `{rule.decision}`",
                      self.word_span(rule.span, rule.decision, rule.id_span.end),
                      f"did you mean `{guess}`?" if guess else "a decision is allow, sandbox, ask or deny")
        if rule.risk is not None and rule.risk not in RISK_LEVELS:
            guess = _did_you_mean(rule.risk.lower(), RISK_LEVELS)
            span = self.word_span(rule.span, rule.risk, rule.id_span.end, keyword="risk")
            self.diag("unknown-risk", f"unknown risk level `{rule.risk}`", span,
                      (f"did you mean `{guess}`? " if guess else "")
                      + "the levels are unknown, low, medium, high, critical")
        self.check_target(rule.target)
        for t in rule.unless:
            self.check_unless_kind(t, rule)
            self.check_target(t)
        if rule.when is not None:
            self.check_cel(rule.when)

    def check_example(self, ex: Example) -> None:
        if ex.decision not in DECISIONS:
            guess = _did_you_mean(ex.decision, DECISIONS)
            self.diag("unknown-keyword", f"unknown decision `{ex.decision}` in an example",
                      self.word_span(ex.span, ex.decision),
                      f"did you mean `{guess}`?" if guess else "a decision is allow, sandbox, ask or deny")
        if ex.kind not in EXAMPLE_KINDS:
            guess = _did_you_mean(ex.kind, EXAMPLE_KINDS)
            self.diag("unknown-keyword", f"unknown example kind `{ex.kind}`", self.word_span(ex.span, ex.kind),
                      (f"did you mean `{guess}`? " if guess else "")
                      + "the kinds are command, read, write, edit, delete, list, fetch")
        if ex.rule is not None:
            self.check_rule_ref(ex.rule, ex.span, "by", after_keyword=True)

    def check_rule_ref(self, rule_id: str, span: Span, keyword: str, after_keyword: bool = False) -> Rule | None:
        rule = self.rules.get(rule_id)
        if rule is None and rule_id not in self.unparsed_rules:
            guess = _did_you_mean(rule_id, self.rules)
            where = self.word_span(span, rule_id, keyword=keyword)
            what = {"disable": "cannot disable", "except": "cannot add an exception to",
                    "by": "the example names"}[keyword]
            self.diag("unknown-rule", f"{what} rule `{rule_id}`: no loaded file defines it", where,
                      f"did you mean `{guess}`?" if guess else
                      "rule ids are defined by `rule ID: ...` in this or a lower layer's file")
        return rule

    def check_unless_kind(self, t: Target, rule: Rule, note: bool = False) -> None:
        want, got = target_kind(rule.target), target_kind(t)
        if want != got:
            self.diag("unless-kind",
                      f"this `unless` matches `{got}` effects, but rule `{rule.id}` matches `{want}` effects",
                      t.span, f"an exception can only narrow its rule: write `unless {want} ...`, "
                              "or make a separate rule for the other kind",
                      notes=(self.note(f"rule `{rule.id}` is defined here", rule.id_span),) if note else ())

    # -- targets --

    def check_target(self, t: Target) -> None:
        if isinstance(t, ExecTarget):
            self.check_argv(t)
        elif isinstance(t, PipeTarget):
            for stage in t.stages:
                self.check_argv(stage)
        elif isinstance(t, PathTarget):
            self.check_pathset(t.paths, "path")
        elif isinstance(t, NetworkTarget):
            if t.hosts is not None:
                self.check_pathset(t.hosts, "host")
        elif isinstance(t, CodeTarget):
            for lang in t.languages:
                if isinstance(lang, ListRef):
                    self.check_list_ref(lang)
            if t.pattern is not None:
                self.check_regex(t.pattern)
        elif isinstance(t, ToolTarget):
            for name in t.names:
                if isinstance(name, ListRef):
                    self.check_list_ref(name)
                elif isinstance(name, Regex):
                    self.check_regex(name)
            if t.pattern is not None:
                self.check_regex(t.pattern)
        elif isinstance(t, MessageTarget):
            self.check_regex(t.pattern)
        elif isinstance(t, ConcernTarget):
            self.check_concern(t)
        elif not isinstance(t, OpaqueTarget):
            raise TypeError(f"unknown target {type(t).__name__}")

    def check_concern(self, t: ConcernTarget) -> None:
        if t.place is not None and t.kind != "secret":
            prep = "to" if t.place == "network" else "in"
            self.diag("concern-scope", f"`{t.kind}` cannot go `{prep} {t.place}`: only `secret` can",
                      t.span, "`secret in message`, `secret in tool`, `secret to network` name where a "
                              "credential goes")
        if t.kind not in ("upload", "secret", "install") and (t.paths is not None or t.hosts is not None):
            self.diag("concern-scope", f"`{t.kind}` has no paths or hosts: only `upload`, `secret` and `install` take "
                                       "`in` and `to`",
                      t.span, f"write `{t.kind}` or `{t.kind} matching re\"...\"`; "
                              "`upload in PATHS to HOSTS` names the files sent and where")
        if t.paths is not None:
            self.check_pathset(t.paths, "package" if t.kind == "install" else "path")
        if t.hosts is not None:
            self.check_pathset(t.hosts, "host")
        if t.pattern is not None:
            self.check_regex(t.pattern)

    def check_argv(self, t: ExecTarget) -> None:
        src = self.sources.get(t.span.source)
        if src is not None:
            for f in clause_word_findings(t, src.text):
                self.diag(f.code, f.message, f.span, f.hint, severity=f.severity)
        prev: ArgItem | None = None
        for item in t.argv:
            if isinstance(item, AnyArgs) and isinstance(prev, AnyArgs):
                self.diag("unreachable-pattern", "`...` right after `...` adds nothing", item.span,
                          "the first `...` already matches any number of arguments; remove one",
                          severity="warning")
            self.check_arg(item)
            prev = item
        if t.text is not None:
            self.check_regex(t.text)

    def check_arg(self, item: ArgItem) -> None:
        if isinstance(item, ListRef):
            self.check_list_ref(item, literal_hint=True)
        elif isinstance(item, Regex):
            self.check_regex(item)
        elif isinstance(item, Alternatives):
            for alt in item.items:
                self.check_arg(alt)
        elif isinstance(item, PathIn):
            self.check_pathset(item.paths, "path")

    def check_list_ref(self, ref: ListRef, literal_hint: bool = False) -> bool:
        if ref.name in self.lets:
            return True
        if ref.name in self.unparsed_lists:
            return False
        guess = _did_you_mean(ref.name, self.lets)
        if guess is not None:
            hint = f"did you mean {guess}?"
            if ref.name != ref.name.upper() and guess == ref.name.upper():
                hint = f"list names are ALL-CAPS: did you mean {guess}?"
        elif literal_hint:
            hint = f'an ALL-CAPS word names a list; to match the literal word, quote it: "{ref.name}"'
        elif ref.name != ref.name.upper():
            hint = (f"list names are ALL-CAPS (`let {ref.name.upper()} = [...]`); a path goes in a list: "
                    f'["**/{ref.name}"]')
        else:
            hint = "declare it with `let " + ref.name + " = [...]`, or write the items in place: [\"...\"]"
        self.diag("undefined-list", f"undefined list `{ref.name}`", ref.span, hint)
        return False

    def check_pathset(self, ps: PathSet, mode: str) -> None:
        items: list[StringItem] = []
        complete = True
        for part in ps.parts:
            if isinstance(part, ListRef):
                complete &= self.check_list_ref(part)
                complete &= self._expand(part.name, items, set())
            else:
                for item in part.items:
                    if isinstance(item, ListRef):
                        complete &= self.check_list_ref(item)
                        complete &= self._expand(item.name, items, set())
                    else:
                        items.append(item)
        for item in items:
            key = (item.span.source, item.span.start, mode)
            if key in self._globs_done:
                continue
            self._globs_done.add(key)
            problem = check_path_glob(item.value) if mode == "path" else check_host_glob(item.value) \
                if mode == "host" else check_package_glob(item.value)
            if problem is not None:
                message, hint = problem
                self.diag("invalid-glob", f"invalid {mode} pattern: {message}", item.span, hint)
        if not complete:
            return
        if not items:
            self.diag("unreachable-pattern", f"this {mode} set is empty, so it matches nothing", ps.span,
                      severity="warning")
        elif all(i.value.startswith("!") for i in items):
            self.diag("unreachable-pattern", f"every pattern in this {mode} set is a negation, so it matches nothing",
                      ps.span, "a `!pattern` removes paths from the set's other patterns; add a positive pattern",
                      severity="warning")

    def _expand(self, name: str, out: list[StringItem], seen: set[str]) -> bool:
        """Append the string items of list ``name`` (following its list refs, in order); False if
        a list it needs is not defined.  Iterative: a chain of lists may be arbitrarily long."""
        ok = True
        todo: list[StringItem | ListRef] = [ListRef(name, Span("", 0, 0, 0, 0))]
        while todo:
            item = todo.pop()
            if isinstance(item, StringItem):
                out.append(item)
                continue
            let = self.lets.get(item.name)
            if let is None:
                ok = False
            elif item.name not in seen:  # a list seen before is a cycle (reported elsewhere) or a repeat
                seen.add(item.name)
                todo.extend(reversed(let.value.items))
        return ok

    def check_regex(self, rx: Regex) -> None:
        message = regex_error(rx.pattern)
        if message is None:
            return
        hint = None
        if re.search(r"\\[1-9]", rx.pattern):
            hint = "RE2 matches in linear time and has no backreferences"
        elif re.search(r"\(\?<?[=!]", rx.pattern):
            hint = "RE2 matches in linear time and has no lookahead or lookbehind"
        self.diag("invalid-regex", f"RE2 rejects this regex: {message}", rx.span, hint)

    def check_cel(self, cel: Cel) -> None:
        problem = cel_error(cel.expr)
        if problem is None:
            costly = cel_cost_error(cel.expr)
            if costly is not None:
                self.diag("costly-cel", f"CEL expression is too costly: {costly}", cel.span,
                          "range over one list at a time, or over a list literal")
            self.check_cel_names(cel)
            return
        message, line, column = problem
        span = cel.span
        src = self.sources.get(span.source)
        where = ""
        if line is not None and column is not None:
            where = f" at line {line}, column {column} of the expression" if "\n" in cel.expr else \
                f" at column {column} of the expression"
            # point into the string when its text is the expression verbatim (no escapes)
            if src is not None and line == 1 and src.text[span.start + 1:span.end - 1] == cel.expr:
                at = min(span.start + column, span.end - 1)
                span = self.span_at(src, at, at + 1)
        self.diag("invalid-cel", f"CEL expression does not compile: {message}{where}", span,
                  "CEL is C-like: action.cwd.startsWith(env.WORKSPACE) && context.interactive; "
                  "use a single-quoted string for an expression with double quotes in it")


    def check_cel_names(self, cel: Cel) -> None:
        """Unknown variables and fields in a condition that compiles (lang/cel_names.py)."""
        from .cel_names import name_problems

        src = self.sources.get(cel.span.source)
        verbatim = src is not None and src.text[cel.span.start + 1:cel.span.end - 1] == cel.expr
        for p in name_problems(cel.expr):
            span = cel.span
            if verbatim and src is not None and p.line == 1:
                at = cel.span.start + p.column
                span = self.span_at(src, at, at + len(p.name))
            self.diag("unknown-name", p.message, span, p.hint)


def validate(files: Sequence[PolicyFile], sources: Mapping[str, Source]) -> list[Diagnostic]:
    """Check ``files`` (lowest layer first) together; ``sources`` maps a source name to its text.

    Returns every problem found, errors and warnings, ordered by file and position.  A file or a
    source missing from ``sources`` only loses the source line in its diagnostics.  Never raises:
    an internal failure is returned as an error, so a policy is never accepted unchecked.
    """
    v = _Validator(files, sources)
    try:
        return v.run()
    except Exception as exc:
        span = next((st.span for f in files for st in f.statements), None)
        return v.out + [Diagnostic("error", "internal", f"internal validator error: {type(exc).__name__}: {exc}",
                                   span, v.line_text(span) if span else "",
                                   hint="please report this with the policy that caused it")]
