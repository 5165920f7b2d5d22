"""The policy parser: source text -> AST, spans, syntax diagnostics, robustness.

Tables pin what each construct parses to; hypothesis checks that generated policies round-trip to
the AST they were generated from, that our contextual lexer and LALR driver agree with Lark's own
on arbitrary text, and that no input makes the parser raise.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

import policylang.lang.parse as P
from policylang.lang.nodes import ExecTarget, PolicyFile, Rule
from policylang.lang.parse import parse_policy
from policylang.source import Source, Span


# ---- helpers: ASTs without spans ------------------------------------------------------------

def strip(node: Any) -> Any:
    """A node as nested tuples, spans dropped: ("Word", "git"), ("Rule", id, decision, ...)."""
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            strip(getattr(node, f.name)) for f in dataclasses.fields(node) if f.name not in ("span", "id_span"))
    if isinstance(node, tuple):
        return tuple(strip(x) for x in node)
    return node


def W(v: str) -> Any: return ("Word", v)
def L(n: str) -> Any: return ("ListRef", n)
def R(p: str) -> Any: return ("Regex", p)
def S(v: str) -> Any: return ("StringItem", v)
def ALT(*items: Any) -> Any: return ("Alternatives", items)
def LIT(*items: Any) -> Any: return ("ListLiteral", items)
def PS(*parts: Any) -> Any: return ("PathSet", parts)
def IN(*parts: Any) -> Any: return ("PathIn", PS(*parts))
def EXEC(*argv: Any, text: Any = None) -> Any: return ("ExecTarget", argv, text)
def PIPE(*stages: Any) -> Any: return ("PipeTarget", stages)
def PATH(kind: str, ps: Any, recursive: bool = False) -> Any: return ("PathTarget", kind, ps, recursive)
def NET(ps: Any = None) -> Any: return ("NetworkTarget", ps)
def CODE(langs: tuple[Any, ...] = (), pattern: Any = None) -> Any: return ("CodeTarget", langs, pattern)
def TOOL(names: tuple[Any, ...], pattern: Any = None) -> Any: return ("ToolTarget", names, pattern)
def MSG(p: str) -> Any: return ("MessageTarget", R(p))
def CONCERN(kind: str, paths: Any = None, hosts: Any = None, pattern: Any = None, place: Any = None) -> Any:
    return ("ConcernTarget", kind, paths, hosts, pattern, place)
def CEL(e: str) -> Any: return ("Cel", e)


ONE = ("AnyOne",)
ANY = ("AnyArgs",)
OPAQUE = ("OpaqueTarget",)


def RULE(id_: str, decision: str, target: Any, risk: str | None = None, message: str | None = None,
         alt: str | None = None, unless: tuple[Any, ...] = (), when: Any = None) -> Any:
    return ("Rule", id_, decision, target, risk, message, alt, unless, when)


def LET(name: str, *items: Any) -> Any: return ("Let", name, LIT(*items))
def EX(decision: str, kind: str, text: str, rule: str | None = None) -> Any: return ("Example", decision, kind, text, rule)


def parse(text: str, name: str = "t.policy") -> tuple[PolicyFile, list[Any]]:
    return parse_policy(Source(name, text))


def parse_one(text: str) -> Any:
    f, diags = parse(text)
    assert diags == [], [d.render() for d in diags]
    assert len(f.statements) == 1
    return f.statements[0]


# ---- every construct ---------------------------------------------------------------------------

CONSTRUCTS = [
    ('let SYSTEM = ["/etc/**", "/boot/**"]', LET("SYSTEM", S("/etc/**"), S("/boot/**"))),
    ("let SHELLS  = [sh, bash, zsh, dash]", LET("SHELLS", S("sh"), S("bash"), S("zsh"), S("dash"))),
    ('let ALL = [SHELLS, "fish", \'raw\\path\',]', LET("ALL", L("SHELLS"), S("fish"), S("raw\\path"))),
    ("let EMPTY = []", LET("EMPTY")),
    ('let X = [\n  "a",\n  "b",\n]', LET("X", S("a"), S("b"))),
    ('let X = [\n"a",\n]', LET("X", S("a"))),
    ("rule git.read-only: allow exec git {status, log, diff, show} ...",
     RULE("git.read-only", "allow", EXEC(W("git"), ALT(W("status"), W("log"), W("diff"), W("show")), ANY))),
    ("rule git.push: ask exec git push ...   risk medium",
     RULE("git.push", "ask", EXEC(W("git"), W("push"), ANY), risk="medium")),
    ('rule git.force-push: deny exec git push ... {--force, -f} ...\n'
     '    risk high\n    message "rewrites shared history"\n    alt "git push --force-with-lease"\n'
     '    unless exec git push ... --force-with-lease ...',
     RULE("git.force-push", "deny", EXEC(W("git"), W("push"), ANY, ALT(W("--force"), W("-f")), ANY), risk="high",
          message="rewrites shared history", alt="git push --force-with-lease",
          unless=(EXEC(W("git"), W("push"), ANY, W("--force-with-lease"), ANY),))),
    ("rule rm.system: deny exec rm ... -r ... in SYSTEM ...   risk critical",
     RULE("rm.system", "deny", EXEC(W("rm"), ANY, W("-r"), ANY, IN(L("SYSTEM")), ANY), risk="critical")),
    ('rule secrets.read: deny read in SECRETS  risk high  message "credential file"',
     RULE("secrets.read", "deny", PATH("read", PS(L("SECRETS"))), risk="high", message="credential file")),
    ('rule system.write: deny write in SYSTEM + ["/usr/lib/**"]  risk high',
     RULE("system.write", "deny", PATH("write", PS(L("SYSTEM"), LIT(S("/usr/lib/**")))), risk="high")),
    ('rule tree.delete: ask delete recursive in ["$WORKSPACE"]',
     RULE("tree.delete", "ask", PATH("delete", PS(LIT(S("$WORKSPACE"))), recursive=True))),
    ('rule py.sandbox: sandbox exec {python, python3} ...  when cel "action.cwd.startsWith(env.WORKSPACE)"',
     RULE("py.sandbox", "sandbox", EXEC(ALT(W("python"), W("python3")), ANY),
          when=CEL("action.cwd.startsWith(env.WORKSPACE)"))),
    ("rule cel.raw: ask exec touch ... when cel 'action.cwd == \"/tmp\"'",
     RULE("cel.raw", "ask", EXEC(W("touch"), ANY), when=CEL('action.cwd == "/tmp"'))),
    ('rule curl.pipe: deny exec {curl, wget} ... | exec SHELLS ...  risk critical  message "remote code piped to a shell"',
     RULE("curl.pipe", "deny", PIPE(EXEC(ALT(W("curl"), W("wget")), ANY), EXEC(L("SHELLS"), ANY)),
          risk="critical", message="remote code piped to a shell")),
    ("rule p3: deny exec a | exec b | exec c ?", RULE("p3", "deny", PIPE(EXEC(W("a")), EXEC(W("b")), EXEC(W("c"), ONE)))),
    ('rule net.internal: ask network to ["*.internal", "10.*"]',
     RULE("net.internal", "ask", NET(PS(LIT(S("*.internal"), S("10.*")))))),
    ("rule net.any: ask network", RULE("net.any", "ask", NET())),
    ("rule leak.any: deny leak", RULE("leak.any", "deny", CONCERN("leak"))),
    ('rule leak.aws: deny leak matching re"AWS_"', RULE("leak.aws", "deny", CONCERN("leak", pattern=R("AWS_")))),
    ('rule up: ask upload in SECRETS to ["*.example.com"] risk high',
     RULE("up", "ask", CONCERN("upload", PS(L("SECRETS")), PS(LIT(S("*.example.com")))), risk="high")),
    ("rule up.any: ask upload", RULE("up.any", "ask", CONCERN("upload"))),
    ("rule up.to: ask upload to HOSTS", RULE("up.to", "ask", CONCERN("upload", hosts=PS(L("HOSTS"))))),
    ("rule s.net: deny secret to network", RULE("s.net", "deny", CONCERN("secret", place="network"))),
    ("rule s.msg: ask secret in message message \"m\"",
     RULE("s.msg", "ask", CONCERN("secret", place="message"), message="m")),
    ('rule s.f: ask secret in ["**"] matching re"^aws-"',
     RULE("s.f", "ask", CONCERN("secret", PS(LIT(S("**"))), pattern=R("^aws-")))),
    ("rule keep: deny persist", RULE("keep", "deny", CONCERN("persist"))),
    ('rule lose: ask discard matching re"history" unless discard matching re"stash"',
     RULE("lose", "ask", CONCERN("discard", pattern=R("history")), unless=(CONCERN("discard", pattern=R("stash")),))),
    ('rule code.eval: deny code python matching re"\\beval\\("   risk high',
     RULE("code.eval", "deny", CODE((W("python"),), R("\\beval\\(")), risk="high")),
    ("rule code.any: ask code", RULE("code.any", "ask", CODE())),
    ('rule code.some: ask code {python, node, LANGS} matching re"os\\.system"',
     RULE("code.some", "ask", CODE((W("python"), W("node"), L("LANGS")), R("os\\.system")))),
    ('rule tool.mcp: ask tool re"mcp__.*"', RULE("tool.mcp", "ask", TOOL((R("mcp__.*"),)))),
    ('rule tool.bash: deny tool Bash matching re"rm -rf"', RULE("tool.bash", "deny", TOOL((W("Bash"),), R("rm -rf")))),
    ('rule tool.set: ask tool {Write, "Edit", re"mcp__.*"}',
     RULE("tool.set", "ask", TOOL((W("Write"), W("Edit"), R("mcp__.*"))))),
    ('rule msg.key: deny message matching re"BEGIN [A-Z ]*PRIVATE KEY"',
     RULE("msg.key", "deny", MSG("BEGIN [A-Z ]*PRIVATE KEY"))),
    ("rule opaque.ask: ask opaque", RULE("opaque.ask", "ask", OPAQUE)),
    ('rule echo.text: deny exec matching re"^echo\\b"', RULE("echo.text", "deny", EXEC(text=R("^echo\\b")))),
    ('rule git.text: deny exec git ... matching re"--force"',
     RULE("git.text", "deny", EXEC(W("git"), ANY, text=R("--force")))),
    # quoting: a quoted word is always a literal Word, even a keyword or an ALL-CAPS word
    ('rule q: deny exec echo "risk" "in" "..." "?" "ALL" \'raw\' "a\\"b\\\\c\\n\\t"',
     RULE("q", "deny", EXEC(W("echo"), W("risk"), W("in"), W("..."), W("?"), W("ALL"), W("raw"), W('a"b\\c\n\t')))),
    ("rule bare: deny exec git push origin/main *.txt --x=1 a:b -- -",
     RULE("bare", "deny", EXEC(W("git"), W("push"), W("origin/main"), W("*.txt"), W("--x=1"), W("a:b"), W("--"), W("-")))),
    ('rule rx: deny exec grep re"a\\"b" {re"x+", y}', RULE("rx", "deny", EXEC(W("grep"), R('a\\"b'), ALT(R("x+"), W("y"))))),
    ("rule words: deny exec riskier messages inn reread", RULE("words", "deny", EXEC(W("riskier"), W("messages"), W("inn"), W("reread")))),
    ('rule many: deny opaque unless exec a unless exec b when cel "true" alt "x"',
     RULE("many", "deny", OPAQUE, alt="x", unless=(EXEC(W("a")), EXEC(W("b"))), when=CEL("true"))),
    ('example deny  "sudo rm -rf /"', EX("deny", "command", "sudo rm -rf /")),
    ('example allow "git status"', EX("allow", "command", "git status")),
    ('example deny read "~/.ssh/id_rsa" by secrets.read', EX("deny", "read", "~/.ssh/id_rsa", "secrets.read")),
    ('example ask fetch "https://x.internal/"', EX("ask", "fetch", "https://x.internal/")),
    ("example sandbox command 'python3 x.py'", EX("sandbox", "command", "python3 x.py")),
    ('example deny list "/etc"', EX("deny", "list", "/etc")),
    ('example dney "x"', EX("dney", "command", "x")),  # the vocabulary is validate's job
    ("disable git.push", ("Disable", "git.push")),
    ('except git.force-push unless exec git push ... origin "feature/*"',
     ("Except", "git.force-push", (EXEC(W("git"), W("push"), ANY, W("origin"), W("feature/*")),))),
    ("except r unless read in X unless write in Y",
     ("Except", "r", (PATH("read", PS(L("X"))), PATH("write", PS(L("Y")))))),
    ("rule r: deny read in secrets", RULE("r", "deny", PATH("read", PS(L("secrets"))))),  # validate: undefined
    ("rule r: deny risk in X", None),  # `risk` is not a target
]


@pytest.mark.parametrize("text,expected", [c for c in CONSTRUCTS if c[1] is not None])
def test_constructs(text: str, expected: Any) -> None:
    assert strip(parse_one(text)) == expected


def test_whole_example_file_parses_without_diagnostics() -> None:
    text = "\n".join(c[0] for c in CONSTRUCTS if c[1] is not None)
    f, diags = parse(text)
    assert diags == []
    assert [strip(s) for s in f.statements] == [c[1] for c in CONSTRUCTS if c[1] is not None]


def test_layer_and_name_come_from_the_source() -> None:
    f, _ = parse_policy(Source("proj.policy", "disable x", layer="project"))
    assert (f.name, f.layer) == ("proj.policy", "project")


# ---- layout: statements, continuation lines, comments, brackets --------------------------------

LAYOUT = [
    # (text, number of statements, number of diagnostics)
    ("rule a: deny opaque\nrule b: deny opaque", 2, 0),
    ("rule a: deny exec rm\n    -rf\n\trisk high", 1, 0),  # spaces and tabs both continue
    ("rule a: deny exec rm\n\n    -rf\n", 1, 0),  # a blank line does not end a statement
    ("# head\n\nrule a: deny opaque  # tail\n# between\nrule b: ask opaque\n", 2, 0),
    ("rule a: deny exec rm\n# column-1 comment\n    risk high", 1, 0),
    ("let X = [\n  \"a\", # a comment inside a list\n  \"b\"\n]\nrule a: deny read in X", 2, 0),
    ("let X = [\n\"a\",\n\"b\"\n]", 1, 0),  # inside an open bracket a column-1 line continues
    ("let X = [\"a\",\nrule a: deny opaque", 1, 1),  # ...but not one that starts a statement
    ("rule a: deny exec rm\r\n    -rf\r\nrule b: ask opaque\r\n", 2, 0),
    ("\ufeffrule a: deny opaque", 1, 0),
    ("", 0, 0),
    ("\n\n   \n# only comments\n", 0, 0),
    ("   indented before anything\nrule a: deny opaque", 1, 1),
    ("rule a: deny opaque\nbroken line\nrule b: deny opaque", 2, 1),
]


@pytest.mark.parametrize("text,count,ndiags", LAYOUT)
def test_layout(text: str, count: int, ndiags: int) -> None:
    f, diags = parse(text)
    assert (len(f.statements), len(diags)) == (count, ndiags), [d.render() for d in diags]


def test_a_comment_ends_the_argv() -> None:
    f, diags = parse("rule a: deny exec git push  # no force here\n    --force\n")
    assert f.statements  # the statement is kept, with the error reported
    assert [(d.code, d.span.line, d.span.column) for d in diags] == [("syntax", 2, 5)]
    assert "comment" in diags[0].message
    # a comment before a clause or a pipe is fine
    assert parse("rule a: deny exec git push  # c\n    risk high\n")[1] == []
    assert parse("rule a: deny exec curl ... # c\n    | exec sh\n")[1] == []


# ---- spans -----------------------------------------------------------------------------------------

def test_spans_of_a_rule() -> None:
    text = "# c\nrule git.push:  ask exec git push ...\n    risk medium\n"
    rule = parse_one(text)
    assert isinstance(rule, Rule)
    assert rule.id_span == Span("t.policy", 2, 6, 9, 17, 2, 14)
    assert rule.span == Span("t.policy", 2, 1, 4, len(text) - 1, 3, 16)
    target = rule.target
    assert isinstance(target, ExecTarget)
    assert target.span == Span("t.policy", 2, 21, 24, 41, 2, 38)
    assert [(a.span.line, a.span.column, text[a.span.start:a.span.end]) for a in target.argv] == [
        (2, 26, "git"), (2, 30, "push"), (2, 35, "...")]


def test_spans_count_tabs_as_one_column() -> None:
    rule = parse_one("rule a:\tdeny\texec\trm")
    assert isinstance(rule, Rule) and isinstance(rule.target, ExecTarget)
    assert rule.target.argv[0].span.column == 19


def test_every_span_slices_its_own_text() -> None:
    text = "\n".join(c[0] for c in CONSTRUCTS if c[1] is not None)
    f, _ = parse(text)

    def walk(node: Any) -> None:
        if dataclasses.is_dataclass(node) and not isinstance(node, type):
            for fld in dataclasses.fields(node):
                value = getattr(node, fld.name)
                if isinstance(value, Span):
                    assert value.source == "t.policy"
                    lines = text.split("\n")
                    assert text[value.start:value.end].strip() != ""
                    assert sum(len(x) + 1 for x in lines[:value.line - 1]) + value.column - 1 == value.start
                else:
                    walk(value)
        elif isinstance(node, tuple):
            for x in node:
                walk(x)

    walk(f.statements)


# ---- syntax errors -------------------------------------------------------------------------------

ERRORS = [
    # (text, code, line, column, message fragment, hint fragment)
    ("rule a: dney exec rm", "unknown-keyword", 1, 9, "unknown decision `dney`", "did you mean `deny`?"),
    ("rule a: Deny exec rm", "unknown-keyword", 1, 9, "`Deny`", "`deny`"),
    ("rule b deny exec rm", "syntax", 1, 7, "missing `:` after the rule id", "rule ID: DECISION"),
    ("deny exec rm -rf /", "syntax", 1, 1, "cannot start with `deny`", "rule some.id: deny"),
    ("rlue a: deny opaque", "unknown-keyword", 1, 1, "unknown statement `rlue`", "did you mean `rule`?"),
    ("risk high", "syntax", 1, 1, "unexpected `risk`", "indent a line to continue"),
    ("rule c: deny exce rm", "unknown-keyword", 1, 14, "unknown target `exce`", "did you mean `exec`?"),
    ("rule c: deny exec rm rsk high", None, 0, 0, "", ""),  # `rsk` is just an argument
    ("rule d: deny exec echo risk", "syntax", 1, 28, "unexpected end", 'quote it: "risk"'),
    ("rule d: deny exec echo message", "syntax", 1, 31, "unexpected end", 'quote it: "message"'),
    ("rule d: deny exec echo unless", "syntax", 1, 30, "unexpected end", 'quote it: "unless"'),
    ("rule d: deny exec echo in", "syntax", 1, 26, "unexpected end", 'quote it: "in"'),
    ('rule e: deny exec echo "abc', "unterminated-string", 1, 24, "unterminated string", "same line"),
    ('rule e: deny exec grep re"abc', "unterminated-string", 1, 24, "unterminated regex", "same line"),
    ("rule e: deny exec echo 'abc", "unterminated-string", 1, 24, "unterminated string", "cannot contain '"),
    ('rule f: deny read in ["/a", "/b"', "syntax", 1, 33, "unexpected end", "line 1, column 22 is not closed"),
    ('rule g: deny opaque risk high risk low', "syntax", 1, 31, "a second `risk` clause", "at most one"),
    ('rule g: deny opaque message "a" message "b"', "syntax", 1, 33, "a second `message` clause", "only `unless`"),
    ("rule l: deny opaque foo", "syntax", 1, 21, "unexpected `foo`", "clauses"),
    ("rule k: deny exec git {..., -f}", "syntax", 1, 24, "`...` cannot be an alternative", 'quote it: "..."'),
    ("let lower = [a]", "syntax", 1, 5, "not ALL-CAPS", "let LOWER"),
    ('example "deny" "x"', "syntax", 1, 9, 'unexpected string "deny"', "example deny"),
    ('example deny reed "x"', "unknown-keyword", 1, 14, "unknown example kind `reed`", "`read`"),
    ("except k", "syntax", 1, 9, "unexpected end", "except RULE-ID unless TARGET"),
    ('rule m: deny code {python, re"x"}', "syntax", 1, 28, "a language is a name", "code {python, node}"),
    ('rule n: deny exec echo "\\d"', "syntax", 1, 25, "unknown escape `\\d`", "raw string"),
    ("rule o: deny exec matching", "syntax", 1, 27, "unexpected end", 'matching re"..."'),
    ("rule p: deny network to", "syntax", 1, 24, "unexpected end", "list name or a list"),
    ("rule q: deny tool", "syntax", 1, 18, "unexpected end", "tool NAME"),
    ("rule r: deny risk high", "syntax", 1, 14, "unexpected `risk`", "names its target"),
    ("rule u: deny exec ls | opaque", "syntax", 1, 24, "unexpected `opaque`", None),
    ("rule v: deny read recursive [\"/x\"]", "syntax", 1, 29, "unexpected `[`", None),
    ("rule w: deny exec ls \x0b", "syntax", 1, 22, "unexpected character U+000B", None),
    ("rule x: deny exec", "syntax", 1, 18, "unexpected end", None),
    ("rule y:", "syntax", 1, 8, "unexpected end", None),
    ("rule 9z: deny opaque", "syntax", 1, 6, "unexpected `9z:`", "a rule id is letters"),
    ("let X = [a b]", "syntax", 1, 12, "unexpected `b`", None),
    ("rule z: deny exec rm\n    -rf # c\n    /", "syntax", 3, 5, "argument after a comment", "line 2"),
]


@pytest.mark.parametrize("text,code,line,column,message,hint", ERRORS)
def test_syntax_errors(text: str, code: str | None, line: int, column: int, message: str, hint: str | None) -> None:
    f, diags = parse(text)
    if code is None:
        assert diags == []
        return
    assert len(diags) == 1, [d.render() for d in diags]
    d = diags[0]
    assert (d.code, d.span.line, d.span.column) == (code, line, column), d.render()
    assert message in d.message
    if hint is not None:
        assert d.hint is not None and hint in d.hint, d.render()
    assert d.line_text == text.split("\n")[line - 1]


def test_expected_words_are_readable() -> None:
    _, diags = parse("rule a:")
    assert diags[0].expected == ("a decision (allow, sandbox, ask, deny)",)
    _, diags = parse("rule a: deny")
    assert diags[0].expected == ("a target (exec, read, write, delete, network, code, tool, message, leak, upload, "
                                 "persist, discard, secret, install, finding, opaque)",)
    _, diags = parse("rule a: deny opaque 5")
    assert diags[0].expected == ("a clause (risk, message, alt, unless, when)", "the end of the statement")
    _, diags = parse("bogus")
    assert diags[0].expected == ("a statement (rule, let, example, disable, except)",)
    _, diags = parse("rule a: deny exec")
    assert diags[0].expected == ('an argument (a word, a "string", {a, b}, ?, ..., in LIST, re"...")', "`matching`")
    _, diags = parse("rule a: deny opaque risk")
    assert diags[0].expected == ("a risk level (unknown, low, medium, high, critical)",)


def test_every_statement_error_is_collected_and_the_rest_is_kept() -> None:
    text = "\n".join([
        "rule a: dney opaque",
        "rule ok1: deny opaque",
        "rule b deny opaque",
        "rule ok2: deny opaque",
        'rule c: deny exec echo "x',
        "rule ok3: deny opaque",
    ])
    f, diags = parse(text)
    assert [d.span.line for d in diags] == [1, 3, 5]
    assert [s.id for s in f.statements if isinstance(s, Rule)] == ["ok1", "ok2", "ok3"]


def test_too_large_and_too_many_errors_are_bounded() -> None:
    f, diags = parse("x" * (P.MAX_SOURCE_CHARS + 1))
    assert f.statements == () and len(diags) == 1 and "too large" in diags[0].message
    f, diags = parse("bad\n" * (P.MAX_DIAGNOSTICS + 50))
    assert len(diags) == P.MAX_DIAGNOSTICS + 1
    assert "too many errors" in diags[-1].message


# ---- generated policies round-trip ---------------------------------------------------------------

ARGV_KEYWORDS = {"in", "matching", "risk", "message", "alt", "unless", "when", "...", "?", "+"}
_bare = st.from_regex(r"[a-z0-9_./:=@%*+-][a-z0-9_./:=@%*+!-]{0,7}", fullmatch=True).filter(
    lambda w: w not in ARGV_KEYWORDS)
# invisible characters (NUL, zero-width, bidirectional controls) are an error anywhere in a policy
_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r" + P.INVISIBLE_CHARACTERS),
                max_size=12)
_raw_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="'\n\r" + P.INVISIBLE_CHARACTERS),
                    max_size=12)
_list_name = st.from_regex(r"[A-Z][A-Z0-9_]{0,5}", fullmatch=True)
_rule_id = st.from_regex(r"[a-z][a-z0-9]{0,4}(?:[.-][a-z0-9_]{1,4}){0,2}", fullmatch=True)
_regex_body = st.lists(st.one_of(
    st.sampled_from(list("abc.*+?()[]^$| ")),
    st.characters(blacklist_categories=("Cs",), blacklist_characters='"\\\n\r' + P.INVISIBLE_CHARACTERS),
    st.builds(lambda c: "\\" + c, st.characters(blacklist_categories=("Cs",),
                                                blacklist_characters="\n\r" + P.INVISIBLE_CHARACTERS)),
), max_size=8).map("".join)
_sep = st.sampled_from([" ", "  ", "\t", "\n    ", "\n\t", " \n  "])


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


@st.composite
def word(draw: Any) -> tuple[Any, str]:
    kind = draw(st.sampled_from(["bare", "quoted", "raw"]))
    if kind == "bare":
        w = draw(_bare)
        return W(w), w
    if kind == "quoted":
        s = draw(_text)
        return W(s), _quote(s)
    s = draw(_raw_text)
    return W(s), "'" + s + "'"


@st.composite
def regex(draw: Any) -> tuple[Any, str]:
    body = draw(_regex_body)
    return R(body), 're"' + body + '"'


@st.composite
def alternatives(draw: Any, regexes: bool = True) -> tuple[Any, str]:
    kinds = [word(), st.builds(lambda n: (L(n), n), _list_name)] + ([regex()] if regexes else [])
    items = draw(st.lists(st.one_of(*kinds), min_size=1, max_size=3))
    comma = draw(st.sampled_from([", ", ",", " , ", ",\n  "]))
    trailing = draw(st.sampled_from(["", ","]))
    return ALT(*(i[0] for i in items)), "{" + comma.join(i[1] for i in items) + trailing + "}"


@st.composite
def list_literal(draw: Any) -> tuple[Any, str]:
    item = st.one_of(
        st.builds(lambda s: (S(s), _quote(s)), _text),
        st.builds(lambda s: (S(s), "'" + s + "'"), _raw_text),
        st.builds(lambda w: (S(w), w), _bare.filter(lambda w: w != "+")),
        st.builds(lambda n: (L(n), n), _list_name),
    )
    items = draw(st.lists(item, max_size=3))
    trailing = draw(st.sampled_from(["", ","])) if items else ""
    return LIT(*(i[0] for i in items)), "[" + ", ".join(i[1] for i in items) + trailing + "]"


@st.composite
def pathset(draw: Any) -> tuple[Any, str]:
    parts = draw(st.lists(st.one_of(list_literal(), st.builds(lambda n: (L(n), n), _list_name)), min_size=1, max_size=3))
    return PS(*(p[0] for p in parts)), " + ".join(p[1] for p in parts)


@st.composite
def arg_item(draw: Any) -> tuple[Any, str]:
    return draw(st.one_of(
        word(), regex(), st.builds(lambda n: (L(n), n), _list_name), st.just((ONE, "?")), st.just((ANY, "...")),
        alternatives(), st.builds(lambda ps: (("PathIn", ps[0]), "in " + ps[1]), pathset()),
    ))


@st.composite
def exec_target(draw: Any) -> tuple[Any, str]:
    items = draw(st.lists(arg_item(), max_size=5))
    text = draw(st.one_of(st.none(), regex())) if items else draw(regex())
    src = "exec " + " ".join(i[1] for i in items)
    if text is not None:
        src += (" " if items else "") + "matching " + text[1]
    return EXEC(*(i[0] for i in items), text=text[0] if text else None), src


@st.composite
def target(draw: Any) -> tuple[Any, str]:
    kind = draw(st.sampled_from(["exec", "pipe", "path", "network", "code", "tool", "message", "concern",
                                 "opaque"]))
    if kind == "exec":
        return draw(exec_target())
    if kind == "pipe":
        stages = draw(st.lists(exec_target(), min_size=2, max_size=3))
        return PIPE(*(s[0] for s in stages)), " | ".join(s[1] for s in stages)
    if kind == "path":
        k, rec, ps = draw(st.sampled_from(["read", "write", "delete"])), draw(st.booleans()), draw(pathset())
        return PATH(k, ps[0], rec), f"{k} {'recursive ' if rec else ''}in {ps[1]}"
    if kind == "network":
        ps = draw(st.one_of(st.none(), pathset()))
        return (NET(ps[0]), "network to " + ps[1]) if ps else (NET(), "network")
    if kind == "code":
        langs = draw(st.one_of(
            st.just(((), "")), st.builds(lambda w: ((W(w),), w), _bare),
            st.builds(lambda a: (a[0][1], a[1]), alternatives(regexes=False))))
        pattern = draw(st.one_of(st.none(), regex()))
        src = "code" + (" " + langs[1] if langs[1] else "") + (" matching " + pattern[1] if pattern else "")
        return CODE(langs[0], pattern[0] if pattern else None), src
    if kind == "tool":
        names = draw(st.one_of(
            st.builds(lambda w: ((w[0],), w[1]), word()), st.builds(lambda r: ((r[0],), r[1]), regex()),
            st.builds(lambda a: (a[0][1], a[1]), alternatives())))
        pattern = draw(st.one_of(st.none(), regex()))
        return TOOL(names[0], pattern[0] if pattern else None), \
            "tool " + names[1] + (" matching " + pattern[1] if pattern else "")
    if kind == "message":
        r = draw(regex())
        return ("MessageTarget", r[0]), "message matching " + r[1]
    if kind == "concern":
        k = draw(st.sampled_from(["leak", "upload", "persist", "discard", "secret"]))
        paths = draw(st.one_of(st.none(), pathset())) if k in ("upload", "secret") else None
        hosts = draw(st.one_of(st.none(), pathset())) if k in ("upload", "secret") else None
        place = None
        if k == "secret" and draw(st.booleans()):
            place = draw(st.sampled_from(["message", "tool", "network"]))
            if place == "network":
                hosts = None
            else:
                paths = None
        pattern = draw(st.one_of(st.none(), regex()))
        src = k + (" in " + paths[1] if paths else "") + (" in " + place if place and place != "network" else "") \
            + (" to " + hosts[1] if hosts else "") + (" to network" if place == "network" else "") \
            + (" matching " + pattern[1] if pattern else "")
        return CONCERN(k, paths[0] if paths else None, hosts[0] if hosts else None,
                       pattern[0] if pattern else None, place), src
    return OPAQUE, "opaque"


@st.composite
def rule(draw: Any) -> tuple[Any, str]:
    rid, decision = draw(_rule_id), draw(st.sampled_from(["allow", "sandbox", "ask", "deny"]))
    t = draw(target())
    clauses: list[tuple[str, Any, str]] = []
    if draw(st.booleans()):
        level = draw(st.sampled_from(["unknown", "low", "medium", "high", "critical"]))
        clauses.append(("risk", level, "risk " + level))
    for key in ("message", "alt"):
        if draw(st.booleans()):
            s = draw(_text)
            clauses.append((key, s, f"{key} {_quote(s)}"))
    if draw(st.booleans()):
        e = draw(_raw_text)
        clauses.append(("when", CEL(e), f"when cel '{e}'"))
    for u in draw(st.lists(target(), max_size=2)):
        clauses.append(("unless", u[0], "unless " + u[1]))
    order = draw(st.permutations(clauses))
    seps = [draw(_sep) for _ in range(len(order) + 1)]
    src = f"rule {rid}:{seps[0]}{decision} {t[1]}" + "".join(s + c[2] for s, c in zip(seps[1:], order))
    found = {c[0]: c[1] for c in clauses if c[0] != "unless"}
    unless = tuple(c[1] for c in order if c[0] == "unless")
    return RULE(rid, decision, t[0], found.get("risk"), found.get("message"), found.get("alt"), unless,
                found.get("when")), src


@st.composite
def statement(draw: Any) -> tuple[Any, str]:
    kind = draw(st.sampled_from(["rule", "rule", "rule", "let", "example", "disable", "except"]))
    if kind == "rule":
        return draw(rule())
    if kind == "let":
        name, lit = draw(_list_name), draw(list_literal())
        return ("Let", name, lit[0]), f"let {name} = {lit[1]}"
    if kind == "example":
        decision = draw(st.sampled_from(["allow", "sandbox", "ask", "deny"]))
        ex_kind = draw(st.sampled_from([None, "command", "read", "write", "edit", "delete", "list", "fetch"]))
        text = draw(_text)
        by = draw(st.one_of(st.none(), _rule_id))
        src = f"example {decision} " + (ex_kind + " " if ex_kind else "") + _quote(text) + (f" by {by}" if by else "")
        return EX(decision, ex_kind or "command", text, by), src
    if kind == "disable":
        rid = draw(_rule_id)
        return ("Disable", rid), "disable " + rid
    rid = draw(_rule_id)
    targets = draw(st.lists(target(), min_size=1, max_size=2))
    return ("Except", rid, tuple(t[0] for t in targets)), f"except {rid} " + " ".join("unless " + t[1] for t in targets)


GEN = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GEN
@given(st.lists(statement(), min_size=1, max_size=6), st.lists(st.sampled_from(["", "\n", "# c\n", "\n  \n"]), min_size=6, max_size=6))
def test_generated_policies_round_trip(stmts: list[tuple[Any, str]], gaps: list[str]) -> None:
    text = "".join(src + "\n" + gap for (_, src), gap in zip(stmts, gaps))
    f, diags = parse(text)
    assert diags == [], "\n".join(d.render() for d in diags) + "\n---\n" + text
    assert [strip(s) for s in f.statements] == [expected for expected, _ in stmts]


# ---- our lexer and driver against Lark's own ----------------------------------------------------

class _ToTok:
    """Lark post-lexer: Lark tokens as our token class, so the same transformer builds the AST."""

    always_accept = ()

    def process(self, stream: Any) -> Any:
        for t in stream:
            yield P._Tok(t.type, str(t), t.start_pos, t.end_pos, t.line, t.column)


_reference: dict[str, Lark] = {}


def reference(kind: str) -> Lark:
    """Lark's LALR driver with Lark's contextual lexer: 'tokens' builds a tree, 'ast' our AST."""
    if kind not in _reference:
        opts: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}
        if kind == "ast":
            opts.update(transformer=P._Builder(), postlex=_ToTok())
        _reference[kind] = Lark(P._grammar_text(), **opts)
    return _reference[kind]


def ours_tokens(text: str) -> tuple[list[tuple[str, str, int]], Any]:
    """Our lexer + driver on ``text`` as one statement: the tokens consumed and where it failed."""
    m = P._get_machine()
    ctx = P._Ctx("t", text, [0] + [i + 1 for i, c in enumerate(text) if c == "\n"])
    token = P._CTX.set(ctx)
    toks: list[tuple[str, str, int]] = []
    stack, values = [m.start_state], []  # type: ignore[var-annotated]
    try:
        for tok in m.lexer.tokens(ctx, len(text), m.states, stack):
            m._feed(tok, stack, values)
            toks.append((tok.type, tok.value, tok.start_pos))
        at = toks[-1][2] if toks else 0
        m._feed(P._Tok("$END", "", at, at, 1, 1), stack, values)
        return toks, None
    except P._LexError as err:
        return toks, ("at", err.pos)
    except P._ParseFailure as err:
        return toks, ("eof",) if err.token is not None and err.token.type == "$END" else ("at", err.pos)
    finally:
        P._CTX.reset(token)


def lark_tokens(text: str) -> tuple[list[tuple[str, str, int]], Any]:
    ip = reference("tokens").parse_interactive(text)
    toks: list[Any] = []
    try:
        for tok in ip.iter_parse():
            toks.append(tok)
        ip.feed_eof()
        failure = None
    except UnexpectedToken as err:
        if toks and err.token is toks[-1]:
            toks.pop()
        failure = ("eof",) if err.token.type == "$END" else ("at", err.token.start_pos)
    except UnexpectedCharacters as err:
        failure = ("at", err.pos_in_stream)
    return [(t.type, str(t), t.start_pos) for t in toks], failure


_FRAGMENTS = ["rule ", "let ", "example ", "disable ", "except ", "x", "X", "Ab", ":", " ", "  ", "\n", "\n  ",
              "\t", "allow ", "deny ", "exec ", "read ", "write", "network ", "to ", "code ", "tool ", "message ",
              "opaque", "in ", "in", "recursive ", "matching ", "risk ", "high", "alt ", "unless ", "when ",
              "cel ", "by ", "...", "?", "{", "}", "[", "]", ",", "|", "+", "=", '"', "'", 're"', '"s"', "'r'",
              're"x"', "#", "-r", "\\", "a.b-c", "9", "é", "\x0b", "command ", "fetch "]
_policyish = st.lists(st.sampled_from(_FRAGMENTS), max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_policyish, statement().map(lambda s: s[1])))
def test_lexer_and_driver_agree_with_lark(text: str) -> None:
    assert ours_tokens(text) == lark_tokens(text)


@GEN
@given(statement())
def test_ast_agrees_with_lark_driver(stmt: tuple[Any, str]) -> None:
    _, text = stmt
    ctx = P._Ctx("t.policy", text, [0] + [i + 1 for i, c in enumerate(text) if c == "\n"])
    token = P._CTX.set(ctx)
    try:
        expected = reference("ast").parse(text)
    finally:
        P._CTX.reset(token)
    f, diags = parse(text)
    assert diags == []
    assert f.statements == (expected,)  # spans included


# ---- nothing makes the parser raise ----------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.one_of(_policyish, st.text(max_size=200)))
def test_random_text_never_raises(text: str) -> None:
    f, diags = parse(text)
    n_lines = text.count("\n") + 1
    for d in diags:
        assert d.severity == "error" and d.code != "internal", d.render()
        assert d.span is not None and 1 <= d.span.line <= n_lines and 0 <= d.span.start <= len(text)
        d.render()


def test_parser_is_built_once() -> None:
    assert P._get_machine() is P._get_machine()


# ---- the language reference -------------------------------------------------------------------------

def test_every_example_in_the_language_reference_parses() -> None:
    """docs/language.md promises that its ```policy examples parse; the one deliberate mistake in
    them is the comment that ends an argument list."""
    import textwrap
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    blocks = [b.split("\n", 1)[1] for b in doc.split("```")[1::2] if b.startswith("policy\n")]
    assert len(blocks) >= 20
    for body in blocks:
        f, diags = parse(textwrap.dedent(body))
        if "# the flag follows on the next line" in body:
            assert [d.code for d in diags] == ["syntax"]
        else:
            assert diags == [], body + "\n" + "\n".join(d.render() for d in diags)
            assert f.statements, body


def test_fast_span_constructor_builds_ordinary_spans() -> None:
    made = P._make_span("f", 1, 2, 3, 4, 5, 6)
    assert made == Span("f", 1, 2, 3, 4, 5, 6) and hash(made) == hash(Span("f", 1, 2, 3, 4, 5, 6))
    assert type(made) is Span and str(made) == "f:1:2"
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.line = 9  # type: ignore[misc]
