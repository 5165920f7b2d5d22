"""The entry of inline code analysis: analyse_code and code_language pick a language's analyser.

The shell analyser hands the source of interpreter one-liners (``python -c``, ``node -e``,
``perl -e``, ``ruby -e``, ``php -r``, ``lua -e``, awk programs and sed scripts, heredocs fed to an
interpreter) and the engine hands ``code``
actions to :func:`analyse_code`. It finds the commands the code spawns (so the same command policy
judges ``subprocess.run(["rm", "-rf", "/"])``), the paths it reads, writes and deletes, the hosts it
connects to, and the calls that run code the analysis cannot see (``eval`` of a run-time string,
deserialisers, native calls).

How each language is read:

* Python is parsed with :mod:`ast` (``python_calls``, ``python_fold``). Calls are resolved through
  ``import x as y``, ``from x import y``, ``__import__("x")``, ``getattr(m, "name")`` and names
  assigned once; arguments are folded when they are literals, concatenations, f-strings,
  ``%``/``.format`` with literal parts, ``os.path.join``, ``pathlib`` paths, or base64/hex
  decodings of literals.
* Node, Perl, Ruby, PHP and Lua are read by one tokenizer (``lexer``) driven by each language's
  syntax (``data/syntax.toml``): strings with their escapes and interpolation, long brackets,
  comments, regex and quote-like literals, heredocs; not by a full parser (``script_calls``,
  ``script_values``): calls are found as chains of names (``require('child_process').execSync``,
  ``$ua->get``, ``FileUtils.rm_rf``, ``os.execute``) followed by an argument list, in parentheses
  or, in Perl, Ruby and PHP, without them (Lua: a string or a table); names bound once by
  assignment, ``require``, ``import`` or destructuring are followed. Arguments are literal
  strings, arrays, hashes/objects and concatenations of literals; everything else is a run-time
  value. JavaScript is also parsed with its tree-sitter grammar (``tree_tokens``,
  ``data/treesitter.toml``): code that does not parse is opaque.
* awk is tokenized by the same lexer and read by ``awk_program`` (``system()``, print and getline
  redirections); sed scripts are parsed by ``sed_script`` (``e``, ``w``, ``r`` and the ``e`` and
  ``w`` flags of ``s``).
* Database statements (SQL of PostgreSQL, MySQL and SQLite with their clients' own commands, Redis
  commands, the mongo shell) are classified by ``queries`` and ``queries_mongo`` from the tables of
  ``data/queries.toml``: a statement that loses data adds a ``discard`` effect.

What counts is data: ``data/code.toml`` says, per language, which calls spawn commands and how
their arguments become a command, which read, write or delete paths, which reach the network and
which are dangerous (``tables``, applied by ``appliers``).

Findings are conservative: code that is never run (a function never called) is still reported,
and a call whose arguments are not literals makes the result opaque rather than silently
harmless. So does a call whose callee cannot be resolved to a name (``x['a'](1)``, ``f()()``,
``getattr(o, name)(...)``, ``cp[x](...)``, ``&$m(...)``): what the source shows of a callee that
is not a name chain is followed (``python_callee``, ``script_callee``), and what cannot be
followed to a name or to code defined in the source is opaque, never harmless. Code that does
not parse is opaque too. Work is bounded (``findings``). :func:`analyse_code` never raises.

Python code is also checked by bandit's plugins, in-process (``bandit_checks``): each finding it
counts (``data/bandit.toml``) is a ``Finding`` of the result, judged as a ``finding`` effect.
"""

from __future__ import annotations

from ...verdict import Risk
from .collector import Budget, Out
from .findings import MAX_SOURCE, CodeFindings, opaque_findings
from .awk_program import AwkAnalyser
from .bandit_checks import add_bandit
from .python_calls import PythonAnalyser
from .queries import DIALECTS, QueryAnalyser, query_dialect
from .script_calls import ScriptAnalyser
from .sed_script import SedAnalyser
from .syntax import syntaxes
from .tables import AWK, PYTHON, SED, SHELL, config

__all__ = ["CodeFindings", "analyse_code", "code_language", "MAX_SOURCE"]


def code_language(name: str) -> str | None:
    """The analyser a language or interpreter name goes to: ``python``, ``node``, ``perl``,
    ``ruby``, ``php``, ``lua``, ``awk``, ``sed``, ``shell`` or a database dialect (``postgresql``,
    ``mysql``, ``sqlite``, ``redis``, ``mongo``); ``None`` when there is none. Versioned interpreter names
    (``python3.11``, ``/usr/bin/perl5.36``, ``php8.2``) are understood."""
    base = name.strip().rsplit("/", 1)[-1].lower()
    if base.endswith(".exe"):
        base = base[:-4]
    languages = config().languages
    if base in languages:
        return languages[base]
    found = languages.get(base.rstrip("0123456789.-"))
    return found if found is not None else query_dialect(base)


def analyse_code(language: str, source: str) -> CodeFindings:
    """Find what ``source``, written in ``language``, does. Never raises; bounded time.

    ``language`` is a language or interpreter name (see :func:`code_language`). Shell is not
    analysed here (the shell analyser owns it): it yields no findings. An unknown language is
    opaque.
    """
    try:
        lang = code_language(language) if isinstance(language, str) else None
        if lang == SHELL:
            return CodeFindings((), (), Risk.LOW, (), False)
        if lang is None:
            return opaque_findings(f"no analyser for language {str(language)[:40]!r}")
        if not isinstance(source, str):
            return opaque_findings("the source is not text")
        if len(source) > MAX_SOURCE or len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE:
            return opaque_findings(f"the source is larger than {MAX_SOURCE // 1024} KiB")
        out = Out(Budget(), _analyse_into)
        _analyse_into(lang, source, out, 0, None)
        found = out.finish()
        return add_bandit(found, source) if lang == PYTHON else found
    except RecursionError:
        return opaque_findings("the code is nested too deeply to analyse")
    except MemoryError:
        return opaque_findings("the code is too large to analyse")
    except Exception as exc:  # fail closed: an analyser bug must not let code through unexamined
        return opaque_findings(f"internal error while analysing the code: {type(exc).__name__}")


def _analyse_into(lang: str, source: str, out: Out, depth: int, parent: object) -> None:
    """Analyse ``source`` into ``out`` with the analyser of ``lang``; ``parent`` is the analyser of
    the source it is nested in (its names are seen from the nested code), or None."""
    if lang == PYTHON:
        PythonAnalyser(source, out, depth, parent if isinstance(parent, PythonAnalyser) else None).run()
        return
    if lang == SED:
        SedAnalyser(source, out).run()
        return
    if lang in DIALECTS:
        QueryAnalyser(lang, source, out).run()
        return
    syntax = syntaxes().get(lang)
    if lang == AWK and syntax is not None:
        AwkAnalyser(syntax.lexer, source, out).run()
    elif syntax is not None:
        ScriptAnalyser(syntax, source, out, depth, parent if isinstance(parent, ScriptAnalyser) else None).run()
