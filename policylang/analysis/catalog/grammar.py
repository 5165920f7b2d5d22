"""The argv grammar of a command, as data: its options (getopt/argparse style) and its typed slots.

An option is declared by one string: its spellings, then optionally its value::

    "-f --force"                  a flag; the first spelling is its canonical name
    "-C --directory =path:cwd"    a required value: "-Cdir", "-C dir", "--directory=dir", "--directory dir"
    "--color =?data"              an optional value, only attached: "--color", "--color=auto"
    "-l =?number"                 an optional attached number: "-l", "-l0", and "-le" is -l -e
    "-fprintf =path:write,data"   two values, the second in the next word
    "("                           a word of its own that is an operator (find's expression)

or by a table when it needs more: ``{ names = "-a --archive", implies = "-r" }`` (cp -a is also
-r), ``{ names = "-D", means = "--delete --force" }`` (git branch -D is those two, not a flag of its
own), ``{ names = "-c", value = "code:python", then = "data..." }`` (after ``python -c CODE`` the
options end and the remaining words are data).

Operands are typed by position: ``operands = ["path:read...", "path:write"]`` -- a type, ``...``
for a run of them, ``?`` when it may be absent.  ``forms`` choose another operand list when a
condition holds (``bash -c`` takes a shell string).  A slot type says what a word is:

    data                 nothing the analysis needs (a pattern, a number, a name)
    path:read|write|delete|cwd   a file it reads, writes or deletes, or the directory it works in
    path:upload                  a file it reads and sends to the hosts it connects to
    mount                a host directory given to a container: SRC:DST[:opts] or type=bind,source=SRC,...
                         (the container may write anything under SRC)
    url, host            where it connects
    argv                 the rest of the words are a command it runs (sudo, env, timeout, xargs)
    argv;                (an option's value) the words up to ";" (or "{} +") are a command (find -exec)
    split                a string split into words that begin the command it runs (env -S)
    program              a program it runs with arguments and input of its own choosing (rg --pre,
                         sort --compress-program, diff --diff-program): judged with unknown operands
    filter               a shell string it runs with its own data on the input (tar --to-command,
                         split --filter, tar -I)
    shell                a string a shell runs (bash -c, su -c, flock -c); "shell..." joins the rest
    code:LANG            source code in LANG (python -c, perl -e, node -e)
    script               a file (or "-", /dev/stdin, <(...)) it runs as code in its language
    module               a module it runs, then its arguments (python -m)
    assign               NAME=VALUE words, the environment of the command (env)
    kv                   KEY=VALUE whose key the model's ``keys`` table types (git -c, ssh -o)
    alias                (a key's value) "!cmd" is a shell string; anything else is the program's own
                         arguments (git -c alias.x='push --force')
    excmd                an editor command (vim -c, +CMD): "!cmd" is a shell string
    opaque               a value that makes the command impossible to know statically (make --eval)
"""
from __future__ import annotations

from typing import Any, Mapping

from .model import SLOT_TYPES, CatalogError, CommandModel, Option, Slot, flag_key

def slot(spec: str, where: str) -> Slot:
    """``"path:read..."`` -> Slot("path:read", repeat=True)."""
    if not isinstance(spec, str):
        raise CatalogError(f"{where}: a slot is a string, not {spec!r}")
    text, repeat, optional = spec, False, False
    if text.endswith("..."):
        text, repeat = text[:-3], True
    elif text.endswith("?"):
        text, optional = text[:-1], True
    if text not in SLOT_TYPES and not (text.startswith("code:") and len(text) > 5):
        raise CatalogError(f"{where}: unknown slot type {text!r} (expected one of {', '.join(sorted(SLOT_TYPES))}"
                           ", or code:LANG)")
    return Slot(text, repeat, optional)


def slots(specs: Any, where: str) -> tuple[Slot, ...]:
    if isinstance(specs, str):
        specs = [specs]
    if not isinstance(specs, list):
        raise CatalogError(f"{where}: expected a list of slot types, not {specs!r}")
    out = tuple(slot(s, where) for s in specs)
    for s in out[:-1]:
        if s.rest:
            raise CatalogError(f"{where}: {s.type} takes every remaining word, so it must be the last slot")
    return out


def _is_spelling(word: str) -> bool:
    return len(word) >= 2 and word[0] in "-+" or word in ("-", "+", "(", ")", "!", ",", ";")


def option(spec: Any, where: str) -> Option:
    """Parse one option declaration (a string or a table; see the module docstring)."""
    implies: tuple[str, ...] = ()
    means: tuple[str, ...] = ()
    then: tuple[Slot, ...] | None = None
    if isinstance(spec, dict):
        extra = set(spec) - {"names", "value", "implies", "means", "then"}
        if extra:
            raise CatalogError(f"{where}: unknown key(s) {', '.join(sorted(extra))} in option {spec!r}")
        names_text = spec.get("names")
        if not isinstance(names_text, str):
            raise CatalogError(f"{where}: an option table needs names = \"-x --long\"")
        value_text = spec.get("value", "")
        text = names_text + (f" ={value_text}" if value_text else "")
        imp = spec.get("implies", ())
        implies = tuple(imp.split()) if isinstance(imp, str) else tuple(imp)
        mean = spec.get("means", ())
        means = tuple(mean.split()) if isinstance(mean, str) else tuple(mean)
        if "then" in spec:
            then = slots(spec["then"], f"{where}: then")
    elif isinstance(spec, str):
        text = spec
    else:
        raise CatalogError(f"{where}: an option is a string or a table, not {spec!r}")
    words = text.split()
    value, optional = "", False
    more: tuple[str, ...] = ()
    if words and words[-1].startswith("=") and len(words[-1]) > 1:
        value, *rest = words.pop()[1:].split(",")
        if value.startswith("?"):
            value, optional = value[1:], True
        for v in (value, *rest):
            value_slot = slot(v, where)
            if value_slot.repeat or value_slot.optional:
                raise CatalogError(f"{where}: an option's value is one word: {text!r}")
        more = tuple(rest)
    if not words or not all(_is_spelling(w) for w in words):
        raise CatalogError(f"{where}: an option is its spellings (-x, --long, -long, +x, or an operator word "
                           f"such as '(') then =TYPE: {text!r}")
    names = tuple(flag_key(w) for w in words)
    canon = (*means,) if means else (names[0], *implies)
    return Option(names, frozenset(flag_key(c) for c in canon), value, optional, more=more, then=then)


def options(specs: Any, where: str) -> dict[str, Option]:
    """Every spelling of every option -> its Option.  A spelling given twice is an error."""
    if not isinstance(specs, list):
        raise CatalogError(f"{where}: options must be a list")
    out: dict[str, Option] = {}
    for k, spec in enumerate(specs):
        opt = option(spec, f"{where}.options[{k}]")
        for name in opt.names:
            if name in out:
                raise CatalogError(f"{where}: the option {name} is declared twice")
            out[name] = opt
    return out


def runs_something(operands: tuple[Slot, ...], opts: Mapping[str, Option], stdin: str,
                   forms: tuple[Any, ...]) -> bool:
    """Does a model run anything it is given (a command, a shell string, code, a script)?"""
    if stdin or any(s.runs for s in operands):
        return True
    for o in opts.values():
        if (o.value and slot(o.value, "").runs) or (o.then and any(s.runs for s in o.then)):
            return True
    return any(f.stdin or any(s.runs for s in f.operands) for f in forms)


def help_command(model: CommandModel) -> tuple[str, ...] | None:
    """The arguments that make the program print its options (``help = ["--help"]`` in the data), for
    checking the grammar against the installed program; None when the model names none."""
    value = model.settings.get("help")
    return tuple(value) if isinstance(value, (tuple, list)) else None
