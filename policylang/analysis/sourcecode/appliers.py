"""The table appliers: what a call's arguments (Args) do under its spawn/files/network/dangerous entries.

Shared by both analysers: how one call's evaluated arguments meet the entries of the spawn, files,
network and dangerous tables of its language, and what that adds to the findings."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .collector import Out
from .values import MISSING, Missing, Unknown, Value, as_text, host_of, is_url, mode_writes, render, truthy


@dataclass(slots=True)
class Args:
    """The evaluated arguments of one call."""

    pos: list[Value]
    kw: dict[str, Value] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)  # source text of each positional argument
    recv: Value | Missing = MISSING  # the receiver ("self") or the receiver chain's argument
    open_ended: bool = False  # a *args / splat: positions from len(pos) on are unknown
    kw_open: bool = False  # a **kwargs: any keyword may be set

    def get(self, index: int | str | None, keyword: str | None = None) -> Value | Missing:
        if isinstance(index, int):
            if -len(self.pos) <= index < len(self.pos):
                return self.pos[index]
            if self.open_ended and index >= 0:
                return Unknown("*args")
        if keyword is not None:
            if keyword in self.kw:
                return self.kw[keyword]
            if self.kw_open:
                return Unknown("**kwargs")
        return MISSING

    def keyword(self, name: str) -> Value | Missing:
        if name in self.kw:
            return self.kw[name]
        return Unknown("**kwargs") if self.kw_open else MISSING


def spread(v: Value, pos: list[Value], raw: list[str]) -> bool:
    """Add the items of a list spread into an argument list (``*args``, ``...list``) to the
    positional arguments and their texts; False when ``v`` is not a literal list."""
    if not isinstance(v, tuple):
        return False
    pos.extend(v)
    raw.extend(render(x) for x in v)
    return True


def dispatch(
    lang: str,
    name: str,
    args: Args,
    out: Out,
    run_code: Callable[[str, str], None],
    redispatch: Callable[[str, Args], bool],
) -> bool:
    """Apply every table entry for ``name``; True when one matched."""
    tables = out.config.langs[lang]
    hit = False
    spec = tables.spawn.get(name)
    if spec is not None:
        hit = True
        _spawn(name, spec, args, out, lang)
    spec = tables.network.get(name)
    if spec is not None:
        hit = True
        apply_network(name, spec, args, out)
    spec = tables.files.get(name)
    if spec is not None:
        hit = True
        apply_files(name, spec, args, out)
    spec = tables.dangerous.get(name)
    if spec is None:
        last = name.rsplit(".", 1)[-1]
        if last != name and last in tables.any_receiver:
            spec = tables.dangerous.get(last)
    if spec is not None:
        hit = True
        _dangerous(name, spec, args, out, run_code, redispatch)
    else:
        for prefix, pspec in tables.prefixes:
            if name == prefix or name.startswith(prefix + ".") or name.startswith(prefix + "::"):
                hit = True
                out.danger(str(pspec.get("why", f"{name} is dangerous")))
                break
    return hit


def _spawn(name: str, spec: Mapping[str, Any], args: Args, out: Out, lang: str) -> None:
    style = spec.get("style", "shell")
    arg = spec.get("arg", 0)
    if style == "shell":
        out.shell(name, args.get(arg, spec.get("keyword")))
    elif style == "subprocess":
        v = args.get(0, "args")
        if isinstance(v, Missing):
            return
        shell = args.keyword("shell")
        shell_on = False if isinstance(shell, Missing) else truthy(shell)
        exe = args.keyword("executable")
        if isinstance(v, tuple):
            if shell_on is not False and v:
                out.shell(name, v[0])  # with shell=True the first item is the shell command
                if shell_on is None:
                    out.argv(name, list(v))
                return
            items = list(v)
            if not isinstance(exe, Missing) and items:
                items[0] = exe
            out.argv(name, items)
            return
        s = as_text(v)
        if s is None or shell_on is not False:
            out.shell(name, v)
            return
        try:
            parts = shlex.split(s)
        except ValueError:
            parts = [s]
        if not isinstance(exe, Missing) and parts:
            parts[0] = as_text(exe) or ""
            if not parts[0]:
                out.make_opaque(f"{name} runs an executable known only at run time: {render(exe)}")
                return
        out.argv(name, list(parts))
    elif style == "argv":
        v = args.get(arg, spec.get("keyword"))
        if isinstance(v, tuple):
            out.argv(name, list(v))
        elif not isinstance(v, Missing):
            out.argv(name, [v])
    elif style == "list_or_shell":
        v = args.get(arg, spec.get("keyword"))
        if isinstance(v, dict):  # Bun.spawn({cmd: [...]}), Deno.run({cmd: [...]})
            v = v.get("cmd", Unknown(render(v)))
        if isinstance(v, tuple):
            if v and isinstance(v[0], dict):  # a leading env hash (Ruby IO.popen)
                v = v[1:]
            out.argv(name, list(v))
        else:
            out.shell(name, v)
    elif style == "argv_or_shell":
        vals = list(args.pos[arg:]) if isinstance(arg, int) else list(args.pos)
        hashes = [v for v in vals if isinstance(v, dict)]
        if vals and isinstance(vals[0], dict):
            vals = vals[1:]
        if vals and isinstance(vals[-1], dict):
            vals = vals[:-1]
        if not vals:
            if args.open_ended:
                out.make_opaque(f"{name} runs a command known only at run time")
            elif hashes:  # system({ dir => $x }): no command but a hash
                out.make_opaque(f"{name} runs a program taken from a hash: {render(hashes[0])}")
            return
        if args.open_ended:
            vals.append(Unknown("*args"))
        first = vals[0]
        if isinstance(first, tuple) and len(first) == 2 and len(vals) > 1:
            vals[0] = first[0]  # Ruby's [program, argv0] form
        if len(vals) == 1:
            if isinstance(first, tuple):
                out.argv(name, list(first))
            else:
                out.shell(name, first)
        else:
            out.argv(name, vals)
    elif style in ("exec_list", "exec_varargs", "varargs"):
        program: Value | Missing = args.get(spec.get("program", 0)) if style != "varargs" else MISSING
        if style == "exec_list":
            lst = args.get(arg)
            if isinstance(lst, Missing):
                lst = ()
            if not isinstance(lst, tuple):
                out.make_opaque(f"{name} runs a command with arguments known only at run time: {render(lst)}")
                return
            rest = list(lst) if spec.get("prepend_program") else list(lst[1:])
        else:
            rest = list(args.pos[arg:])
            if style == "exec_varargs" and spec.get("drop_last") and rest:
                rest = rest[:-1]
            if args.open_ended:
                rest.append(Unknown("*args"))
        if style == "varargs":
            out.argv(name, rest)
        elif not isinstance(program, Missing):
            out.argv(name, [program, *rest])
    elif style == "program_args":
        program = args.get(0)
        if isinstance(program, Missing):
            return
        second = args.get(1)
        rest_v: Value = second if isinstance(second, (tuple, Unknown)) else ()
        opts = second if isinstance(second, dict) else args.get(2)
        shell = opts.get("shell") if isinstance(opts, dict) else None
        if not isinstance(rest_v, tuple):
            out.make_opaque(f"{name} runs {render(program)} with arguments known only at run time: {render(rest_v)}")
            return
        if shell is not None and truthy(shell) is not False:
            texts = [as_text(x) for x in (program, *rest_v)]
            if all(t is not None for t in texts):
                out.shell(name, " ".join(t for t in texts if t is not None))
            else:
                out.make_opaque(f"{name} runs a shell command built at run time")
            return
        out.argv(name, [program, *rest_v])
    elif style == "fork":
        module = args.get(0)
        lst2 = args.get(1)
        rest2: list[Value] = list(lst2) if isinstance(lst2, tuple) else []
        if isinstance(lst2, Unknown):
            rest2 = [lst2]
        if not isinstance(module, Missing):
            out.argv(name, ["node", module, *rest2])
    elif style == "pipe_open":
        _pipe_open(name, str(spec.get("pipe", lang)), args, out)


def _pipe_open(name: str, flavour: str, args: Args, out: Out) -> None:
    """Perl open / Ruby Kernel#open: a pipe runs a command, anything else opens a file."""
    vals = args.pos
    if flavour == "perl":
        if len(vals) >= 3:
            mode = as_text(vals[1])
            if mode is None:
                out.make_opaque(f"{name} with a mode known only at run time may run a command")
                return
            mode = mode.strip()
            target = vals[2]
            if mode.startswith(("-|", "|-")):
                rest = list(vals[2:])
                if args.open_ended:
                    rest.append(Unknown("@args"))
                if len(rest) == 1:
                    out.shell(name, rest[0])
                else:
                    out.argv(name, rest)
                return
            kind = "write" if mode.startswith((">", "+")) else "read"
            _file_target(name, kind, target, False, out, f"opens for {'writing' if kind == 'write' else 'reading'}")
            return
        if len(vals) == 2:
            spec = as_text(vals[1])
            if spec is None:
                out.make_opaque(
                    f"2-argument {name} of a string known only at run time may run a command: {render(vals[1])}"
                )
                return
            spec = spec.strip()
            if spec.endswith("|"):
                out.shell(name, spec[:-1].strip())
            elif spec.startswith("|"):
                out.shell(name, spec[1:].strip())
            elif spec.startswith((">", "+")):
                _file_target(name, "write", spec.lstrip("+<>").strip(), False, out, "opens for writing")
            elif spec not in ("-", "<-", ">-"):
                _file_target(name, "read", spec.lstrip("<").strip(), False, out, "opens for reading")
        return
    # Ruby Kernel#open
    if not vals:
        return
    s = as_text(vals[0])
    if s is None:
        if isinstance(vals[0], Unknown):
            out.make_opaque(f"{name} of a string known only at run time may run a command: {render(vals[0])}")
        return
    if s.startswith("|"):
        out.shell(name, s[1:].strip())
        return
    if is_url(s):
        _record_network(name, host_of(s, "url"), out)
        return
    mode = as_text(vals[1]) if len(vals) > 1 else "r"
    kind = "write" if mode is None or mode_writes(mode) else "read"
    _file_target(name, kind, s, False, out, "opens for writing" if kind == "write" else "opens for reading")


KIND_WORDS = {"read": "reads", "write": "writes", "delete": "deletes", "network": "connects to"}


def _file_target(name: str, kind: str, v: Value | Missing, recursive: bool, out: Out, what: str | None) -> None:
    if isinstance(v, Missing) or v is None or isinstance(v, bool) or isinstance(v, (int, float)):
        return  # absent, or a file descriptor
    if isinstance(v, tuple):
        for item in v:
            _file_target(name, kind, item, recursive, out, what)
        return
    verb = what or ("deletes a tree" if kind == "delete" and recursive else KIND_WORDS.get(kind, kind))
    s = as_text(v)
    if s is None:
        out.effect(kind, None, recursive, f"{name} {verb} a path known only at run time: {render(v)}")
    else:
        out.effect(kind, s, recursive, f"{name} {verb}: {s}")


def _record_network(name: str, host: str | None | Missing, out: Out, shown: str = "") -> None:
    if isinstance(host, Missing):
        return
    if host is None:
        out.effect("network", None, False, f"{name} connects to an address known only at run time{shown}")
    else:
        out.effect("network", host, False, f"{name} connects to {host}")


def apply_files(name: str, spec: Mapping[str, Any], args: Args, out: Out) -> None:
    for eff in spec.get("effects", [spec]):
        arg = eff.get("arg", 0)
        kind = str(eff["kind"])
        if arg == "all":
            targets: list[Value] = []
            recursive = bool(eff.get("recursive"))
            for v in args.pos:
                if isinstance(v, dict):
                    continue  # an options hash
                if eff.get("skip_flags") and isinstance(v, str) and v.startswith("-"):
                    recursive = recursive or "r" in v.lower()
                    continue
                targets.append(v)
            if args.open_ended:
                targets.append(Unknown("*args"))
        else:
            got = args.recv if arg in ("self", "recv") else args.get(arg, eff.get("keyword"))
            if isinstance(got, Missing):
                if "default" not in eff:
                    continue
                got = str(eff["default"])
            targets = [got]
            recursive = bool(eff.get("recursive"))
        if not recursive and "recursive_option" in eff:
            opts = args.get(eff.get("options", 1))
            if isinstance(opts, dict):
                recursive = truthy(opts.get(str(eff["recursive_option"]), False)) is not False
            elif isinstance(opts, Unknown):
                recursive = True  # options known only at run time: assume the worst
        what = eff.get("what")
        for target in targets:
            s = as_text(target)
            if kind == "open":
                mode_v = args.get(eff.get("mode_arg", 1), eff.get("mode_keyword"))
                mode = str(eff.get("default_mode", "r")) if isinstance(mode_v, Missing) else as_text(mode_v)
                actual = "write" if mode is None or mode_writes(mode) else "read"
                what_open = "opens for writing" if actual == "write" else "opens for reading"
            else:
                actual, what_open = kind, what
            if s is not None and eff.get("pipe_ok") and s.startswith("|"):
                out.shell(name, s[1:].strip())
                continue
            if s is not None and eff.get("url_ok") and is_url(s):
                _record_network(name, host_of(s, "url"), out)
                continue
            _file_target(name, actual, target, recursive, out, what_open)


def apply_network(name: str, spec: Mapping[str, Any], args: Args, out: Out) -> None:
    if "when_arg" in spec:
        idx = int(spec["when_arg"])
        if idx >= len(args.raw) or args.raw[idx].strip().lstrip("\\") != spec.get("when_equals"):
            return
    arg = spec.get("arg", 0)
    style = str(spec.get("style", "url"))
    v = args.recv if arg in ("self", "recv") else args.get(arg, spec.get("keyword"))
    if style == "port_host":
        first = args.get(0)
        if isinstance(first, (int, float)) and not isinstance(first, bool):
            host_v = args.get(1)
            v = "localhost" if isinstance(host_v, Missing) or isinstance(host_v, dict) else host_v
    if isinstance(v, Missing):
        return
    _record_network(name, host_of(v, style), out, f": {render(v)}")


def _dangerous(
    name: str,
    spec: Mapping[str, Any],
    args: Args,
    out: Out,
    run_code: Callable[[str, str], None],
    redispatch: Callable[[str, Args], bool],
) -> None:
    style = spec.get("style", "always")
    if style == "always":
        out.danger(str(spec.get("why", f"{name} is dangerous")))
        return
    v = args.get(spec.get("arg", 0), spec.get("keyword"))
    if isinstance(v, Missing):
        return
    if style in ("code", "code_if_string"):
        s = as_text(v)
        if s is not None:
            run_code(s, name)
        elif isinstance(v, Unknown) and not v.func and (style == "code" or v.stringy):
            out.danger(f"{name} runs code built at run time: {render(v)}")
        elif isinstance(v, Unknown) and v.func and spec.get("reader"):
            out.danger(f"{name} runs the code a function returns: {render(v)}")
    elif style == "import":
        if isinstance(v, Unknown):
            out.danger(f"{name} loads a module whose name is computed at run time: {render(v)}")
    elif style == "send":
        target = as_text(v)
        if target is None:
            if isinstance(v, Unknown) and not v.func:
                out.danger(f"{name} calls a method whose name is computed at run time: {render(v)}")
            return
        rest = list(args.pos[1:])
        if spec.get("unknown_args"):
            rest = [Unknown("an item of a list")]
        elif spec.get("spread"):
            rest = list(rest[0]) if rest and isinstance(rest[0], tuple) else [Unknown("args")]
        sub = Args(rest, dict(args.kw), list(args.raw[1:]), MISSING, args.open_ended, args.kw_open)
        redispatch(target.lstrip(":"), sub)
    elif style == "preg_e":
        pattern = as_text(v)
        if pattern and pattern[0] not in "\\ " and not pattern[0].isalnum():
            close = {"(": ")", "[": "]", "{": "}", "<": ">"}.get(pattern[0], pattern[0])
            end = pattern.rfind(close)
            if end > 0 and "e" in pattern[end + 1 :]:
                out.danger(f"{name} with the /e modifier evaluates its replacement as code")

