"""Runners: the commands that run other commands (wrappers, shells, interpreters, eval, source, find,
xargs, parallel, watch, busybox) and the shell builtins that change its state (cd, trap, declare)."""
from __future__ import annotations

import shlex
from typing import Any, Mapping

from ...effects import Effect
from ...frozen import replace
from ...resolve import join_path
from ...verdict import Risk
from ..catalog import CommandModel, lookup, normalise_program, parse, risk_of
from .simple import Handler, SimpleCommands, _Call, _own_segment, _sub_via
from .state import (
    _OPAQUE,
    MAX_CWDS,
    MAX_PARALLEL_ARGS,
    Cwds,
    Stream,
    W,
    _env_variables,
    _lit,
    _Seg,
    _worst,
    _Wrap,
)
from .syntax import _assignment_name
from .words import _sub_word

_SHELL_VALUE_LONG = frozenset({"--rcfile", "--init-file"})


def _h_wrapper(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """sudo, doas, env, nice, nohup, timeout, stdbuf, ionice, chrt, taskset, time, command, builtin,
    exec, xargs-like wrappers: skip the wrapper's own options and analyse the command underneath."""
    spec: Mapping[str, Any] = model.options.get("wrapper", {})
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    start = p.stopped if p.stopped is not None else len(args)
    stop_flags = set(spec.get("no_command_flags", [])) | set(spec.get("lookup_flags", []))
    if p.flags & stop_flags:
        return a.generic(model, prog, words, call, p)
    inner_start = start
    wrap = call.wrap
    if spec.get("assignments"):
        while inner_start < len(args) and args[inner_start].static and _assignment_name(args[inner_start].text):
            name = _assignment_name(args[inner_start].text) or ""
            wrap = replace(wrap, path_changed=wrap.path_changed or name == "PATH", assigned=(*wrap.assigned, name))
            a.command_variables([(name, args[inner_start].orig.partition("=")[2])], call.cwds, call.depth, call.via)
            inner_start += 1
    skip = int(spec.get("skip_operands", 0))
    if skip and not (p.flags & set(spec.get("no_skip_flags", []))):
        inner_start += skip
    inner = list(args[inner_start:])
    for flag in spec.get("split_flags", []):
        for i, off in p.flag_values.get(flag, ()):
            w = args[i]
            if w.static:
                inner = [_lit(x) for x in w.text[off:].split()] + inner
    cwds = a.work_dirs(p, args, call.cwds) if model.cwd_flag else call.cwds
    if not inner:
        return a.generic(model, prog, words, call, p)
    risk, why = risk_of(p)
    operands = tuple(args[i].text for i in p.operands)
    effect = dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)), operands=operands,
                  flags=frozenset(p.flags), risk=risk, why="; ".join(why) or f"{prog} runs the command after it",
                  known=True)
    min_risk = spec.get("min_risk")
    risks = [risk] + ([Risk.parse(min_risk)] if isinstance(min_risk, str) else [])
    wrap = _Wrap(names=(*wrap.names, prog), effects=(*wrap.effects, effect), risks=(*wrap.risks, *risks),
                 why=(*wrap.why, *why), extra_unknown=wrap.extra_unknown or bool(spec.get("input_operands")),
                 path_changed=wrap.path_changed, assigned=wrap.assigned)
    inner_words = inner
    if spec.get("replace_flag"):
        repl = [v or "{}" for f in spec["replace_flag"] for v in p.values(f)]
        repl += ["{}" for f in spec["replace_flag"] if f in p.flags and not p.values(f)]
        if repl:
            inner_words = [W(w.text, False, False, w.text, "the input of xargs") if any(r in w.text for r in repl)
                           else w for w in inner]
            wrap = replace(wrap, extra_unknown=False)
    # Paths and hosts the wrapper itself touches (time -o FILE) go on the final segment too.
    own = _Seg(0, "", "", -1)
    own.program = prog
    a.emit_paths(own, p, args, call.cwds, False)
    a.emit_network(own, p, args)
    return a.simple(inner_words, text=call.text, cwds=cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                    stdin=call.stdin, redirects=(*call.redirects, *own.effects), assigns=(), wrap=wrap)


def _h_shell(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """bash, sh, zsh, dash, ksh, fish, su: ``-c STRING`` is re-analysed; a script or stdin runs code."""
    spec: Mapping[str, Any] = model.options.get("shell", {})
    args = words[1:]
    cmode = smode = False
    i = 0
    command: W | None = None
    value_c = bool(spec.get("command_flag_takes_value"))
    while i < len(args):
        w = args[i]
        t = w.text
        if not w.static or len(t) < 2 or t[0] not in "-+":
            if value_c:
                i += 1  # su USER: the user is an operand; keep looking for -c
                continue
            break
        if t == "--":
            i += 1
            break
        if t.startswith("--"):
            name = t.partition("=")[0]
            if name in ("--command",) and value_c:
                if "=" in t:
                    command = _sub_word(w, len(name) + 1)
                elif i + 1 < len(args):
                    command = args[i + 1]
                    i += 1
            elif name in _SHELL_VALUE_LONG and "=" not in t:
                i += 1
            i += 1
            continue
        letters = t[1:]
        if t[0] == "-" and "c" in letters:
            cmode = True
            if value_c:
                if letters[letters.index("c") + 1:]:
                    command = _sub_word(w, t.index("c") + 1)
                elif i + 1 < len(args):
                    command = args[i + 1]
                    i += 1
        if t[0] == "-" and "s" in letters:
            smode = True
        if any(ch in "oO" for ch in letters) and i + 1 < len(args):
            i += 1
        i += 1
    rest = args[i:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a._finish(seg, call.wrap, call.redirects)
    if cmode and command is None and not value_c and rest:
        command = rest[0]
    via = _sub_via(call, f"{prog} -c")
    out: Stream | None = _OPAQUE
    if cmode:
        a.note("runs a shell string")
        if command is None:
            return call.cwds, call.cwds, None
        if command.static:
            _, out = a.run_text(command.orig, call.cwds, call.depth + 1, via)
        elif command.stream is not None and command.stream.kind == "network":
            seg.raise_risk(Risk.CRITICAL, f"remote code run by {prog} -c")
        else:
            seg.make_opaque(f"{prog} -c runs a string that cannot be known statically ({command.reason})")
            for k, e in enumerate(seg.effects):
                if e.kind == "exec" and e.program == prog:
                    seg.effects[k] = replace(e, opaque=True)
        return call.cwds, call.cwds, out
    if rest and not smode:
        script = rest[0]
        if script.stream is not None and script.reason == "process substitution":
            a.feed(seg, script.stream, call.cwds, call.depth, _sub_via(call, f"{prog} <(...)"), None)
        else:
            for e in a.path_effects("read", script, call.cwds, False, seg.index, "script run by a shell"):
                seg.add(e)
            seg.raise_risk(Risk.MEDIUM, f"{prog} runs a script file")
        return call.cwds, call.cwds, _OPAQUE
    a.feed(seg, call.stdin, call.cwds, call.depth, _sub_via(call, f"{prog} <stdin>"), None)
    return call.cwds, call.cwds, _OPAQUE


def _h_interpreter(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
                   ) -> tuple[Cwds, Cwds, Stream | None]:
    """python -c, node -e, perl -e, ruby -e, php -r, deno eval: the source goes to code analysis."""
    spec: Mapping[str, Any] = model.options.get("interp", {})
    language = str(spec.get("language", prog))
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    cwds = a.work_dirs(p, args, call.cwds)
    a.emit_paths(seg, p, args, cwds, call.wrap.extra_unknown)
    a._finish(seg, call.wrap, call.redirects)
    code_flags = [f for f in spec.get("code_flags", []) if f in p.flag_values]
    subs = p.subcommands
    if code_flags or (subs and subs[0] in spec.get("code_subcommands", [])):
        if code_flags:
            pieces = [(i, off) for f in code_flags for i, off in p.flag_values[f]]
            via = _sub_via(call, f"{prog} {code_flags[0]}")
        else:
            pieces = [(p.operands[0], 0)] if p.operands else []
            via = _sub_via(call, f"{prog} {subs[0]}")
        texts = []
        for i, off in sorted(pieces):
            w = args[i]
            if not w.static:
                if w.stream is not None and w.stream.kind == "network":
                    seg.raise_risk(Risk.CRITICAL, f"remote code run by {prog}")
                else:
                    seg.make_opaque(f"{prog} runs code that cannot be known statically ({w.reason})")
                    seg.raise_risk(Risk.HIGH, f"{prog} runs code that cannot be known statically")
                return call.cwds, call.cwds, _OPAQUE
            texts.append(w.orig[off:] if off <= len(w.orig) else w.text[off:])
        if texts:
            a.code(seg, language, "\n".join(texts), cwds, call.depth, via)
        return call.cwds, call.cwds, _OPAQUE
    modules = [v for f in spec.get("module_flags", []) for v in p.values(f)]
    if modules:
        inner_prog = normalise_program(modules[0])
        inner_model = lookup(inner_prog)
        seg.why.append(f"runs the module {modules[0]}")
        if inner_model is not None and not inner_model.handler and p.flag_values:
            last = max(i for f in spec.get("module_flags", []) for i, _ in p.flag_values.get(f, ()))
            inner = [_lit(inner_prog)] + list(args[last + 1:])
            a.simple(inner, text=call.text, cwds=cwds, depth=call.depth + 1, via=_sub_via(call, f"{prog} -m"),
                     pipe=-1, stdin=None, redirects=(), assigns=())
        return call.cwds, call.cwds, _OPAQUE
    ops = [args[i] for i in p.operands]
    if ops and not (ops[0].static and ops[0].text == "-"):
        script = ops[0]
        if script.stream is not None and script.reason == "process substitution":
            a.feed(seg, script.stream, cwds, call.depth, _sub_via(call, f"{prog} <(...)"), language)
        else:
            for e in a.path_effects("read", script, cwds, False, seg.index, f"script run by {prog}"):
                seg.add(e)
        return call.cwds, call.cwds, _OPAQUE
    a.feed(seg, call.stdin, cwds, call.depth, _sub_via(call, f"{prog} <stdin>"), language)
    return call.cwds, call.cwds, _OPAQUE


def _h_eval(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """eval: the words joined by spaces are shell text, run in this shell."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    a.note("runs a shell string")
    if not args:
        return call.cwds, call.cwds, None
    if all(w.static for w in args):
        cwds, out = a.run_text(" ".join(w.orig for w in args), call.cwds, call.depth + 1, _sub_via(call, prog))
        return cwds, call.cwds, out
    worst = None
    for w in args:
        worst = _worst(worst, w.stream)
    if worst is not None and worst.kind == "network":
        seg.raise_risk(Risk.CRITICAL, f"{prog} runs fetched content")
    else:
        reason = next(w.reason for w in args if not w.static)
        seg.make_opaque(f"{prog} of a value that cannot be known statically ({reason})")
        for k, e in enumerate(seg.effects):
            if e.kind == "exec" and e.program == prog:
                seg.effects[k] = replace(e, opaque=True)
    return (None,), call.cwds, _OPAQUE


def _h_source(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
              ) -> tuple[Cwds, Cwds, Stream | None]:
    """source / . FILE: runs the file in this shell; ``. <(curl ...)`` is remote code."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    ops = [args[i] for i in p.operands]
    if not ops:
        return call.cwds, call.cwds, None
    script = ops[0]
    if script.reason == "process substitution" and script.stream is not None:
        a.feed(seg, script.stream, call.cwds, call.depth, _sub_via(call, f"{prog} <(...)"), None)
    else:
        for e in a.path_effects("read", script, call.cwds, False, seg.index, "script run in this shell"):
            seg.add(e)
        seg.raise_risk(Risk.MEDIUM, f"{prog} runs a script file in this shell")
    return (None,), call.cwds, _OPAQUE


def _h_find(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """find ROOTS... EXPR: reads its roots; -delete deletes what it finds; -exec CMD {} runs CMD."""
    spec: Mapping[str, Any] = model.options.get("find", {})
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    value_preds = set(model.value_flags)
    exec_preds = set(spec.get("exec", ["-exec", "-execdir", "-ok", "-okdir"]))
    name_preds = set(spec.get("names", ["-name", "-iname"]))
    write_preds = set(spec.get("writes", ["-fprint", "-fprint0", "-fprintf", "-fls"]))
    i = 0
    # Leading options (-H -L -P -D x -Ox) come before the roots.
    while i < len(args) and args[i].static and args[i].text in ("-H", "-L", "-P"):
        i += 1
    roots: list[W] = []
    while i < len(args) and not (args[i].static and (args[i].text[:1] in ("-", "(", "!", ")") and
                                                     args[i].text not in ("-",))):
        roots.append(args[i])
        i += 1
    if not roots:
        roots = [_lit(".")]
    names: list[str] = []
    actions: list[tuple[str, list[W]]] = []
    writes: list[W] = []
    delete = False
    while i < len(args):
        w = args[i]
        t = w.text if w.static else ""
        if t in exec_preds:
            j = i + 1
            while j < len(args) and not (args[j].static and args[j].text in (";", "+")):
                j += 1
            actions.append((t, list(args[i + 1:j])))
            i = j + 1
            continue
        if t in name_preds and i + 1 < len(args):
            names.append(args[i + 1].text if args[i + 1].static else "*")
            i += 2
            continue
        if t in write_preds and i + 1 < len(args):
            writes.append(args[i + 1])
            i += 2 if t != "-fprintf" else 3
            continue
        if t == "-delete":
            delete = True
        if t in value_preds:
            i += 1
        i += 1
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    found: list[tuple[str | None, bool, bool]] = []
    for r in roots:
        for cwd in call.cwds:
            root = join_path(cwd, r.text) if r.static else None
            if root is None:
                found.append((None, False, True))
            elif names:
                for n in names:
                    found.append((("" if root == "/" else root) + "/**/" + n, True, False))
            else:
                found.append((root, False, True))
        for e in a.path_effects("read", r, call.cwds, True, seg.index, "searched by find"):
            seg.add(e)
    stand_in = tuple(dict.fromkeys(found))
    if delete:
        for path, glob, rec in stand_in:
            seg.add(Effect("delete", path=path, glob=glob, recursive=rec, why="find -delete", segment=seg.index))
    for w in writes:
        for e in a.path_effects("write", w, call.cwds, False, seg.index, "written by find"):
            seg.add(e)
    a._finish(seg, call.wrap, call.redirects)
    for action, cmd in actions:
        if not cmd:
            continue
        inner = [W("{}", True, any(g for _, g, _ in stand_in), "{}", "", None, stand_in) if w.static and w.text == "{}"
                 else (W(w.text, False, False, w.text, "a file found by find") if w.static and "{}" in w.text else w)
                 for w in cmd]
        a.simple(inner, text=" ".join(w.orig for w in cmd), cwds=call.cwds, depth=call.depth + 1,
                 via=_sub_via(call, f"find {action}"), pipe=-1, stdin=None, redirects=(), assigns=())
    return call.cwds, call.cwds, _OPAQUE


def _h_parallel(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
                ) -> tuple[Cwds, Cwds, Stream | None]:
    """GNU parallel CMD ::: ARGS: each command line is run by a shell."""
    args, p, seg = _own_segment(a, model, prog, words, call)
    a.note("runs a shell string")
    rest = list(args[p.stopped:]) if p.stopped is not None else []
    seps = (":::", "::::", ":::+", "::::+")
    k = next((j for j, w in enumerate(rest) if w.static and w.text in seps), len(rest))
    template = rest[:k]
    values: list[W] = []
    from_files = False
    j = k
    while j < len(rest):
        if rest[j].static and rest[j].text in seps:
            from_files = from_files or rest[j].text.startswith("::::")
        else:
            values.append(rest[j])
        j += 1
    via = _sub_via(call, prog)
    unknown_input = k == len(rest) or from_files
    if len(values) > MAX_PARALLEL_ARGS:
        a.warnings.append(f"{prog}: only the first {MAX_PARALLEL_ARGS} arguments were analysed")
        values = values[:MAX_PARALLEL_ARGS]
    holder = '"$__policylang_input__"'
    if not template:
        for v in values:
            a.run_text(v.orig if v.static else holder, call.cwds, call.depth + 1, via)
        if unknown_input:
            seg.make_opaque(f"{prog} runs command lines read from its input")
        return call.cwds, call.cwds, _OPAQUE
    line = " ".join(w.orig if w.static else w.text for w in template)
    subs = [shlex.quote(v.orig) if v.static else holder for v in values]
    if unknown_input:
        subs.append(holder)
    for s in subs:
        if "{" in line and any(ph in line for ph in ("{}", "{.}", "{/}", "{//}", "{/.}")):
            text = line
            for ph in ("{}", "{.}", "{/}", "{//}", "{/.}"):
                text = text.replace(ph, s)
        else:
            text = f"{line} {s}"
        a.run_text(text, call.cwds, call.depth + 1, via)
    return call.cwds, call.cwds, _OPAQUE


def _h_watch(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """watch CMD: the words are joined and run by ``sh -c`` (or run directly with -x)."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    spec: Mapping[str, Any] = model.options.get("watch", {})
    rest = list(args[p.stopped:]) if p.stopped is not None else []
    if p.flags & set(spec.get("exec_flags", ["-x"])) and rest:
        wrap = replace(call.wrap, names=(*call.wrap.names, prog),
                       effects=(*call.wrap.effects, dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)),
                                                          operands=tuple(w.text for w in rest), risk=model.risk,
                                                          known=True)),
                       risks=(*call.wrap.risks, model.risk))
        return a.simple(rest, text=call.text, cwds=call.cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                        stdin=None, redirects=call.redirects, assigns=(), wrap=wrap)
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a._finish(seg, call.wrap, call.redirects)
    if rest:
        a.note("runs a shell string")
        a.run_text(" ".join(w.orig if w.static else w.text for w in rest), call.cwds, call.depth + 1,
                   _sub_via(call, prog))
    return call.cwds, call.cwds, _OPAQUE


def _h_busybox(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """busybox APPLET ARGS: the applet is the program."""
    args = words[1:]
    if not args or (args[0].static and args[0].text.startswith("-")):
        return a.generic(model, prog, words, call)
    wrap = replace(call.wrap, names=(*call.wrap.names, prog),
                   effects=(*call.wrap.effects, dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)),
                                                      operands=tuple(w.text for w in args), risk=model.risk,
                                                      known=True)),
                   risks=(*call.wrap.risks, model.risk))
    return a.simple(list(args), text=call.text, cwds=call.cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                    stdin=call.stdin, redirects=call.redirects, assigns=(), wrap=wrap)


def _h_cd(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
          ) -> tuple[Cwds, Cwds, Stream | None]:
    """cd / pushd / popd: the directory later commands of this shell run in."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    a.generic(model, prog, words, call, p)
    ops = [args[i] for i in p.operands]
    spec: Mapping[str, Any] = model.options.get("cd", {})
    if spec.get("unknown_target") or (not ops and spec.get("no_operand") != "home"):
        return (None,), call.cwds, None
    if not ops:
        target: str | None = a.env.get("HOME") or a.home
        return (target if target and target.startswith("/") else None,), call.cwds, None
    w = ops[0]
    if not w.static or w.text == "-":
        return (None,), call.cwds, None
    new = tuple(dict.fromkeys(join_path(c, w.text) for c in call.cwds))
    return new[:MAX_CWDS], call.cwds, None


def _h_trap(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """trap 'COMMANDS' SIGNALS: the commands run later in this shell."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    a.generic(model, prog, words, call, p)
    ops = [args[i] for i in p.operands]
    if len(ops) >= 2 and ops[0].text not in ("-", ""):
        a.note("runs a shell string")
        if ops[0].static:
            a.run_text(ops[0].orig, call.cwds, call.depth + 1, _sub_via(call, prog))
        else:
            a.opaque_seg(call.text, _sub_via(call, prog), -1, f"{prog} of a value that cannot be known statically")
    return call.cwds, call.cwds, None


def _h_xargs(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """xargs CMD: runs CMD with operands read from its input (unknown); default CMD is echo."""
    args = words[1:]
    p = parse(model, [w.text for w in args], [w.static for w in args])
    if p.stopped is None:
        words = [*words, _lit("echo")]
    return _h_wrapper(a, model, prog, words, call)


def _h_declare(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """export / declare / local / readonly / typeset: assigning PATH changes what later names run."""
    a.note("variable assignment")
    if any(w.static and w.text.startswith(("PATH=", "PATH+=")) for w in words[1:]):
        a.path_changed = True
    pairs = [(_assignment_name(w.orig) or "", w.orig.partition("=")[2] if w.static else None)
             for w in words[1:] if _assignment_name(w.orig if w.static else w.text)]
    a.command_variables(pairs, call.cwds, call.depth, call.via)
    result = a.generic(model, prog, words, call)
    risky = [n for n, _ in pairs if n in _env_variables("risky_variables")]
    if risky:
        a.segs[-1].raise_risk(Risk.HIGH, f"{prog} {', '.join(risky)}: later programs load other code")
    return result


HANDLERS: dict[str, Handler] = {
    "wrapper": _h_wrapper,
    "shell": _h_shell,
    "interpreter": _h_interpreter,
    "eval": _h_eval,
    "source": _h_source,
    "find": _h_find,
    "xargs": _h_xargs,
    "parallel": _h_parallel,
    "watch": _h_watch,
    "busybox": _h_busybox,
    "cd": _h_cd,
    "trap": _h_trap,
    "declare": _h_declare,
}
