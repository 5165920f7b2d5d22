"""The evaluation behind data/treesitter.toml (docs/code-frontends.md): per language, the time of a
tree-sitter parse of the one-liners of tests/test_code.py against the lexer and the whole analysis,
and whether each grammar parses the evasions the analysis must read without an ERROR node.

Run: .venv/bin/python benchmarks/eval_tree_sitter.py
Grammars that are not installed (only tree-sitter-javascript is a dependency) are skipped with the
reason: pip install tree-sitter-ruby tree-sitter-php tree-sitter-perl to measure them. Nothing is
executed: every source is only parsed and analysed. Perl sources get a trailing line break: without
one, tree-sitter-perl 2.0.3 loops forever on an unterminated heredoc ending in a variable
(``print <<EOF;\\nhi $x``).
"""
from __future__ import annotations

import ast
import importlib
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from policylang.analysis.sourcecode import analyse_code
from policylang.analysis.sourcecode.collector import Budget
from policylang.analysis.sourcecode.lexer import Lexer
from policylang.analysis.sourcecode.syntax import syntaxes

GRAMMARS = {"node": ("tree_sitter_javascript", "language"), "ruby": ("tree_sitter_ruby", "language"),
            "php": ("tree_sitter_php", "language_php"), "perl": ("tree_sitter_perl", "language")}
EVASIONS = {
    "node": ["require('child_process').execSync('rm' + ' -rf /')", "const cp = require('child_process'); cp['exec']('id')",
             "const {execSync: x} = require('child_process'); x(`ls ${d}`)",
             "eval('require(\"child_process\").execSync(\"id\")')", "$`rm -rf /tmp/x`",
             "import('child_process').then(m => m.execSync('id'))", "const re = /execSync\\('x'\\)/; re.test(s)"],
    "ruby": ["%x{id}", "`rm -rf /`", "x = <<~CMD\n  rm -rf /\nCMD\nsystem(x)", "File.delete('/tmp/a')",
             "FileUtils.rm_rf %w[/a /b]", "Net::HTTP.get(URI('https://evil.com/p'))", "IO.popen(['ls', '-l'])",
             "Kernel.spawn('ls')", "send(:system, 'id')", 'puts "#{`id`}"', "system 'rm', '-rf', '/'"],
    "php": ["<?php echo `whoami`;", "<?php shell_exec('ls'); passthru(\"id\");",
            "<?php proc_open(['ls', '-l'], $d, $p); popen('ls', 'r');", "<?php $f = 'exec'; $f('ls');",
            "<?php echo \"{${system(\"id\")}}\";", "<?php echo <<<EOT\nsystem('x')\nEOT;\nsystem('real');",
            "<?php $c = 'rm -rf ' . '/x'; system($c);"],
    "perl": ["system 'rm', '-rf', '/x' or die", "my $o = qx{id};", "open(FH, 'ls |')", 'open FH, "| mail x"',
             "open(my $fh, '-|', 'ls', '-l')", "unlink '/tmp/a', '/tmp/b'", "eval \"system('id')\"",
             "print <<EOF;\nsystem('x')\nEOF\nsystem('id')", "system { 'sh' } 'bash', '-c', 'id'",
             "&{\\&CORE::system}('id')", "print 1;\n__END__\nsystem('id')"],
}


def rows(lang: str) -> list[str]:
    tree = ast.parse((Path(__file__).resolve().parent.parent / "tests" / "test_code.py").read_text(encoding="utf-8"))
    return [elt.elts[0].value for fn in tree.body if isinstance(fn, ast.FunctionDef) and fn.name == f"test_{lang}"
            for dec in fn.decorator_list if isinstance(dec, ast.Call) and len(dec.args) == 2
            for elt in dec.args[1].elts if isinstance(elt, ast.Tuple) and isinstance(elt.elts[0], ast.Constant)]


def best(f: Callable[[], Any], n: int = 200) -> float:
    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(n):
            f()
        runs.append((time.perf_counter() - t0) / n)
    return min(runs)


def prepare(lang: str, src: str) -> bytes:
    if lang == "php" and not src.lstrip().startswith("<?"):
        src = "<?php " + src
    if lang == "perl" and not src.endswith("\n"):
        src += "\n"
    return src.encode()


def main() -> None:
    import tree_sitter

    warnings.simplefilter("ignore", DeprecationWarning)  # tree-sitter-perl hands over an int
    def us(xs: list[float]) -> str:
        return f"{statistics.median(xs) * 1e6:6.1f}"

    print("| language | rows | median chars | whole analysis µs (as shipped) | lexer µs | tree-sitter parse µs "
          "| rows with parse errors | evasions with parse errors |")
    print("|---|---|---|---|---|---|---|---|")
    for lang, (module, function) in GRAMMARS.items():
        try:
            grammar = importlib.import_module(module)
        except ImportError:
            print(f"| {lang} | skipped: {module} is not installed | | | | | | |")
            continue
        parser = tree_sitter.Parser(tree_sitter.Language(getattr(grammar, function)()))
        srcs, spec = rows(lang), syntaxes()[lang].lexer
        whole = [best(lambda s=s, lang=lang: analyse_code(lang, s)) for s in srcs]
        lexed = [best(lambda s=s, spec=spec: Lexer(spec, s, Budget()).run()) for s in srcs]
        parsed = [best(lambda s=s, lang=lang, parser=parser: parser.parse(prepare(lang, s))) for s in srcs]
        broken = sum(parser.parse(prepare(lang, s)).root_node.has_error for s in srcs)
        evasions = sum(parser.parse(prepare(lang, s)).root_node.has_error for s in EVASIONS[lang])
        print(f"| {lang} | {len(srcs)} | {statistics.median(len(s) for s in srcs):.0f} | {us(whole)} | {us(lexed)} "
              f"| {us(parsed)} | {broken} | {evasions} of {len(EVASIONS[lang])} |")


if __name__ == "__main__":
    main()
