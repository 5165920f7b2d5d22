"""Semantic checks: names, references, globs, regexes, CEL, vocabulary, across files."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policylang.lang import nodes as ast
from policylang.diagnostics import Diagnostic
from policylang.lang.parse import parse_policy
from policylang.source import Source, Span
from policylang.lang.validate import (cel_error, check_host_glob, check_path_glob, regex_error, target_kind,
                                 validate)

CLEAN = """
let SYSTEM  = ["/etc/**", "/boot/**", "/usr/bin/**", "/bin/**", "/sbin/**"]
let SECRETS = ["~/.ssh/**", "~/.aws/credentials", "**/.env", "**/.env.*", "!**/.env.example"]
let SHELLS  = [sh, bash, zsh, dash]
let MORE    = [SHELLS, fish]

rule git.read-only: allow exec git {status, log, diff, show} ...
rule git.push:      ask   exec git push ...   risk medium
rule git.force-push: deny exec git push ... {--force, -f} ...
    risk high
    message "rewrites shared history"
    alt "git push --force-with-lease"
    unless exec git push ... --force-with-lease ...
rule rm.system:     deny exec rm ... -r ... in SYSTEM ...   risk critical
rule secrets.read:  deny read in SECRETS  risk high  message "credential file"
rule system.write:  deny write in SYSTEM + ["/usr/lib/**"]  risk high
rule tree.delete:   ask  delete recursive in ["$WORKSPACE", "$HOME/x", "$TMPDIR/**", "$CWD", "~", "/"]
rule py.sandbox:    sandbox exec {python, python3} ...  when cel "action.cwd.startsWith(env.WORKSPACE)"
rule curl.pipe:     deny exec {curl, wget} ... | exec MORE ...  risk critical  message "remote code piped to a shell"
rule net.internal:  ask  network to ["*.internal", "10.*", "!ok.internal", "[a-c].corp"]
rule code.eval:     deny code python matching re"\\beval\\("   risk high
rule tool.mcp:      ask  tool re"mcp__.*" matching re"delete"
rule msg.key:       deny message matching re"BEGIN [A-Z ]*PRIVATE KEY"
rule opaque.ask:    ask  opaque
rule echo.text:     deny exec matching re"^echo\\b"

example deny  "sudo rm -rf /"
example allow "git status"
example deny read "~/.ssh/id_rsa" by secrets.read
example ask fetch "https://x.internal/"

disable git.push
except  git.force-push unless exec git push ... origin "feature/*"
"""


def check(*texts: str, layers: tuple[str, ...] = ()) -> list[Diagnostic]:
    """Parse each text as file f0.policy, f1.policy, ...; assert they parse; return validate's output."""
    sources = [Source(f"f{i}.policy", t, layers[i] if i < len(layers) else "user") for i, t in enumerate(texts)]
    files = []
    for s in sources:
        f, diags = parse_policy(s)
        assert diags == [], [d.render() for d in diags]
        files.append(f)
    return validate(files, {s.name: s for s in sources})


def where(diags: list[Diagnostic]) -> list[tuple[str, str, int, int]]:
    return [(d.code, d.span.source, d.span.line, d.span.column) for d in diags if d.span]


def test_a_clean_policy_has_no_diagnostics() -> None:
    assert check(CLEAN) == []


TABLE: list[tuple[str, list[tuple[str, int, int]]]] = [
    # undefined lists, with and without a near miss
    ("let SECRETS = [\"~/.x\"]\nrule r: deny read in SECRET", [("undefined-list", 2, 22)]),
    ("let SECRETS = [\"~/.x\"]\nrule r: deny read in secrets", [("undefined-list", 2, 22)]),
    ("rule r: deny exec make ALL", [("undefined-list", 1, 24)]),
    ("rule r: deny exec {a, LIST} ...", [("undefined-list", 1, 23)]),
    ("rule r: deny code {python, LANGS}", [("undefined-list", 1, 28)]),
    ("rule r: deny tool {Write, NAMES}", [("undefined-list", 1, 27)]),
    ("let A = [B]", [("undefined-list", 1, 10)]),
    ("rule r: deny exec rm in [X]", [("undefined-list", 1, 26)]),
    # duplicates
    ("rule a: deny opaque\nrule a: ask opaque", [("duplicate-rule", 2, 6)]),
    ("let A = [\"/a\"]\nlet A = [\"/b\"]", [("duplicate-list", 2, 5)]),
    # globs, in path sets wherever they come from
    ("rule r: deny read in [\"etc/passwd\"]", [("invalid-glob", 1, 23)]),
    ("let P = [\"/ok\", \"rel\"]\nrule r: deny read in P", [("invalid-glob", 1, 17)]),
    ("let P = [\"rel\"]\nlet Q = [P]\nrule r: deny read in Q", [("invalid-glob", 1, 10)]),
    ("rule r: deny exec rm in [\"***\"]", [("invalid-glob", 1, 26)]),
    ("rule r: deny write in [\"/a/[b\", \"/a/!b\", \"\", \"!\", \"!!/x\", \"$NOPE/x\", \"**x\"]",
     [("invalid-glob", 1, 24), ("invalid-glob", 1, 33), ("invalid-glob", 1, 42), ("invalid-glob", 1, 46),
      ("invalid-glob", 1, 51), ("invalid-glob", 1, 59), ("invalid-glob", 1, 70)]),
    ("let WORDS = [\"not a path\"]\nrule r: deny exec WORDS", []),  # a list used as words is not a glob
    ("rule r: ask network to [\"https://x.org/\"]", [("invalid-glob", 1, 25)]),
    # regexes and CEL
    ("rule r: deny exec grep re\"(a\"", [("invalid-regex", 1, 24)]),
    ("rule r: deny message matching re\"(?<=x)y\"", [("invalid-regex", 1, 31)]),
    ("rule r: deny code matching re\"\\\\1(\"", [("invalid-regex", 1, 28)]),
    ("rule r: deny exec matching re\"[\"", [("invalid-regex", 1, 28)]),
    ("rule r: deny tool re\"*\" matching re\"(\"", [("invalid-regex", 1, 19), ("invalid-regex", 1, 34)]),
    ("rule r: ask opaque when cel \"a +* b\"", [("invalid-cel", 1, 33)]),
    ("rule r: ask opaque when cel \"a.b(\"", [("invalid-cel", 1, 33)]),
    # vocabulary the grammar leaves open
    ("rule r: deny opaque risk hgh", [("unknown-risk", 1, 26)]),
    ("rule r: deny opaque risk unknown", []),
    ("example dney \"x\"", [("unknown-keyword", 1, 9)]),
    # unless of another kind
    ("rule r: deny read in [\"/a\"] unless write in [\"/a/b\"]", [("unless-kind", 1, 36)]),
    ("rule r: deny exec curl ... | exec sh unless exec curl ... --fail ...", []),  # pipe and exec: both exec
    ("rule r: deny read in [\"/a\"] unless exec cat ...", [("unless-kind", 1, 36)]),
    # references to rules
    ("disable nope", [("unknown-rule", 1, 9)]),
    ("except nope unless opaque", [("unknown-rule", 1, 8)]),
    ("example deny \"x\" by nope", [("unknown-rule", 1, 21)]),
    ("rule r: deny read in [\"/a\"]\nexcept r unless exec ls", [("unless-kind", 2, 17)]),
    # unreachable items and empty sets (warnings)
    ("rule r: deny exec rm ... ... -r", [("unreachable-pattern", 1, 26)]),
    ("rule r: deny exec rm ... | exec sh ... ...", [("unreachable-pattern", 1, 40)]),
    ("rule r: deny read in [\"!/a\"]", [("unreachable-pattern", 1, 22)]),
    ("rule r: deny read in []", [("unreachable-pattern", 1, 22)]),
    # list cycles
    ("let A = [B]\nlet B = [A]", [("list-cycle", 2, 10)]),
    ("let A = [A]", [("list-cycle", 1, 10)]),
]


@pytest.mark.parametrize("text,expected", TABLE)
def test_checks(text: str, expected: list[tuple[str, int, int]]) -> None:
    got = [(code, line, col) for code, _, line, col in where(check(text))]
    assert got == expected


def test_messages_and_hints() -> None:
    d = check("let SECRETS = [\"~/.x\"]\nrule r: deny read in secrets")[0]
    assert d.message == "undefined list `secrets`"
    assert d.hint == "list names are ALL-CAPS: did you mean SECRETS?"
    d = check("rule r: deny exec make ALL")[0]
    assert d.hint is not None and '"ALL"' in d.hint
    d = check("rule r: deny read in [\"etc/x\"]")[0]
    assert "relative path pattern" in d.message and "**/etc/x" in (d.hint or "")
    assert "$WORKSPACE" in (d.hint or "") and "$TMPDIR" in (d.hint or "") and "~/" in (d.hint or "")
    d = check("rule r: deny exec grep re\"(a\"")[0]
    assert d.message == "RE2 rejects this regex: missing ): (a"
    d = check("rule r: deny exec grep re\"(a)\\1\"")[0]
    assert d.hint == "RE2 matches in linear time and has no backreferences"
    d = check("rule r: ask opaque when cel \"a +* b\"")[0]
    assert d.message.startswith("CEL expression does not compile")
    d = check("rule r: deny opaque risk hgh")[0]
    assert d.message == "unknown risk level `hgh`" and (d.hint or "").startswith("did you mean `high`?")
    d = check("disable git.psuh\nrule git.push: ask opaque")[0]
    assert d.hint == "did you mean `git.push`?"
    d = check("let A = [B]\nlet B = [C]\nlet C = [A]")[0]
    assert d.message == "list `A` includes itself: A -> B -> C -> A"


def test_duplicates_across_files_point_at_both() -> None:
    diags = check("rule git.push: ask opaque", "rule git.push: deny opaque", layers=("preset", "user"))
    assert where(diags) == [("duplicate-rule", "f1.policy", 1, 6)]
    (note,) = diags[0].notes
    assert (note.severity, note.span.source, note.span.line, note.span.column) == ("note", "f0.policy", 1, 6)
    assert note.line_text == "rule git.push: ask opaque"
    assert "f0.policy:1:6: note: `git.push` is first defined here" in diags[0].render()
    assert diags[0].to_json()["notes"][0]["file"] == "f0.policy"
    diags = check("let A = [x]", "let A = [y]")
    assert where(diags) == [("duplicate-list", "f1.policy", 1, 5)]
    assert diags[0].notes[0].span.source == "f0.policy"


def test_names_are_shared_across_files() -> None:
    lower = "let SECRETS = [\"~/.ssh/**\"]\nrule secrets.read: deny read in SECRETS"
    assert check(lower, "rule r: deny write in SECRETS\ndisable secrets.read\n"
                        "except secrets.read unless read in [\"~/.ssh/known_hosts\"]") == []
    # an exception of the wrong kind names the rule it belongs to, in the other file
    diags = check(lower, "except secrets.read unless write in [\"~/.ssh/x\"]")
    assert where(diags) == [("unless-kind", "f1.policy", 1, 28)]
    assert diags[0].notes[0].span.source == "f0.policy"


def test_diagnostics_are_ordered_by_file_and_position() -> None:
    diags = check("rule b: deny opaque risk zz\nrule a: deny exec X", "disable nope\nrule c: deny read in [\"x\"]")
    assert [(d.span.source, d.span.line) for d in diags] == [
        ("f0.policy", 1), ("f0.policy", 2), ("f1.policy", 1), ("f1.policy", 2)]


def test_no_cascade_from_statements_that_did_not_parse() -> None:
    text = "let SYSTEM = [\"/etc/**\"\nrule r: deny write in SYSTEM\nrule x: dney opaque\ndisable x"
    src = Source("t.policy", text)
    f, parse_diags = parse_policy(src)
    assert len(parse_diags) == 2
    assert validate([f], {"t.policy": src}) == []


def test_missing_source_loses_only_the_line_text() -> None:
    f, _ = parse_policy(Source("gone.policy", "disable nope"))
    (d,) = validate([f], {})
    assert (d.code, d.line_text, str(d.span)) == ("unknown-rule", "", "gone.policy:1:1")


def test_asts_from_elsewhere_are_checked_too() -> None:
    """validate also serves ASTs built from config.toml: decisions and kinds are free strings there."""
    sp = Span("<config>", 1, 1, 0, 1, 1, 2)
    rule = ast.Rule("r", "forbid", ast.OpaqueTarget(sp), "severe", None, None, (), None, sp, sp)
    ex = ast.Example("permit", "shell", "x", None, sp)
    diags = validate([ast.PolicyFile("<config>", "user", (rule, ex))], {})
    assert [(d.code, d.message) for d in diags] == [
        ("unknown-keyword", "unknown decision `forbid`"),
        ("unknown-risk", "unknown risk level `severe`"),
        ("unknown-keyword", "unknown decision `permit` in an example"),
        ("unknown-keyword", "unknown example kind `shell`"),
    ]


# ---- single checks --------------------------------------------------------------------------

PATH_GLOBS = [
    ("/etc/**", True), ("/", True), ("~", True), ("~/.ssh/id_*", True), ("**/.env", True), ("**", True),
    ("!**/.env.example", True), ("$WORKSPACE", True), ("$WORKSPACE/**", True), ("$HOME/.aws/*", True),
    ("$TMPDIR/x", True), ("$CWD/build/**", True), ("${HOME}/x", True), ("/a/[abc]/b", True),
    ("/a/[!abc]", True), ("/a/[]x]", False), ("/x/?.txt", True), ("/a/b!c", True),
    ("", False), ("!", False), ("!!/a", False), ("***", False), ("/a/***", False), ("/a/[b", False),
    ("/a/[]", False), ("/a/!b", False), ("etc/x", False), ("./x", False), ("../x", False), ("*.txt", False),
    ("**.txt", False), ("$WORKSPACEX", False), ("$FOO/x", False), ("~bob/x", False), ("x", False),
]


@pytest.mark.parametrize("value,ok", PATH_GLOBS)
def test_path_globs(value: str, ok: bool) -> None:
    assert (check_path_glob(value) is None) == ok


HOST_GLOBS = [
    ("*.internal", True), ("10.*", True), ("example.com", True), ("!ok.example.com", True), ("h[0-9].x", True),
    ("", False), ("!", False), ("https://x.com", False), ("x.com/path", False), ("a b", False), ("a.***", False),
    ("h[0-9.x", False),
]


@pytest.mark.parametrize("value,ok", HOST_GLOBS)
def test_host_globs(value: str, ok: bool) -> None:
    assert (check_host_glob(value) is None) == ok


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("/~$!*[]?^.ab-_{}") + ["$HOME", "$WORKSPACE", "**/", "$TMPDIR"]),
                max_size=12).map("".join))
def test_a_glob_validate_accepts_is_one_the_path_compiler_accepts(value: str) -> None:
    from policylang.engine.pathsets import compile_pattern

    if check_path_glob(value) is None:
        compile_pattern(value)


@pytest.mark.parametrize("pattern,ok", [
    ("a+", True), ("^echo\\b", True), ("(?i)rm", True), ("[a-z]{1,3}", True),
    ("(a", False), ("(a)\\1", False), ("(?=x)", False), ("a{2,1}", False), ("[z-a]", False),
])
def test_regex_error(pattern: str, ok: bool) -> None:
    assert (regex_error(pattern) is None) == ok


@pytest.mark.parametrize("expr,ok", [
    ("true", True), ("action.cwd.startsWith(env.WORKSPACE)", True), ("size(x) > 2 && y in ['a']", True),
    ("a +* b", False), ("a.b(", False), ("", False), ("'unterminated", False),
])
def test_cel_error(expr: str, ok: bool) -> None:
    assert (cel_error(expr) is None) == ok


@pytest.mark.parametrize("text,kind", [
    ("rule r: deny exec ls", "exec"), ("rule r: deny exec a | exec b", "exec"),
    ("rule r: deny read in X", "read"), ("rule r: deny write in X", "write"),
    ("rule r: deny delete recursive in X", "delete"), ("rule r: deny network", "network"),
    ("rule r: deny code", "code"), ("rule r: deny tool x", "tool"), ("rule r: deny message matching re\"x\"", "message"),
    ("rule r: deny opaque", "opaque"),
])
def test_target_kind(text: str, kind: str) -> None:
    f, _ = parse_policy(Source("t", text))
    rule = f.statements[0]
    assert isinstance(rule, ast.Rule) and target_kind(rule.target) == kind


# ---- robustness ---------------------------------------------------------------------------------

_FRAGMENTS = ["rule ", "let ", "example ", "disable ", "except ", "r", "A", "B", ":", " ", "\n", "\n  ",
              "deny ", "exec ", "read ", "in ", "[", "]", ",", '"/a"', '"rel"', '"***"', "...", "risk ", "zz ",
              "unless ", "write ", "when cel ", '"a("', 're"(a"', "by ", "x", "{", "}", "|", "+ "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_FRAGMENTS), max_size=20).map("".join), min_size=1, max_size=3))
def test_validate_never_raises(texts: list[str]) -> None:
    sources = [Source(f"f{i}", t) for i, t in enumerate(texts)]
    files = [parse_policy(s)[0] for s in sources]
    for d in validate(files, {s.name: s for s in sources}):
        assert d.span is not None and d.code and d.message
        d.render()


def test_long_list_chains_and_many_names_stay_cheap() -> None:
    chain = "\n".join(f"let L{i} = [L{i + 1}]" for i in range(3000)) + '\nlet L3000 = ["rel"]\nrule r: deny read in L0'
    diags = check(chain)
    assert where(diags) == [("invalid-glob", "f0.policy", 3001, 14)]
    many = "\n".join(f'let N{i} = ["/x"]' for i in range(2000)) + "\n" + "\n".join(
        f"rule r{i}: deny read in N{i}X" for i in range(300))
    diags = check(many)
    assert len(diags) == 300 and all(d.code == "undefined-list" for d in diags)
    assert diags[0].hint == "did you mean N0?"
