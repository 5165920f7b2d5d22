"""Runners: what a command does with the typed slots its grammar filled (catalog/grammar.py).

One interpreter serves every command: an ``argv`` slot makes the command a wrapper of the command
in it (sudo, env, timeout, xargs, nsenter ...), a ``shell`` slot is re-analysed as shell text (bash
-c, su -c, flock -c, ssh HOST CMD, watch), ``code:LANG`` goes to the code analyser (python -c, perl
-e), a ``script`` is a file -- or the input -- run as code, ``kv`` values are typed by the model's
keys (git -c core.pager=..., ssh -o ProxyCommand=...).  What no slot can place makes the command
opaque.  A few commands need more than slots, and have a handler here: find's expression, xargs'
and parallel's input, cd's new directory, declare's assignments.
"""
from __future__ import annotations

import shlex
from typing import Any, Mapping, Sequence

from ...diagnostics import shown
from ...effects import Effect
from ...frozen import replace
from ...resolve import join_path
from ...verdict import Risk
from ..catalog import CommandModel, Parsed, concerns_of, lookup, normalise_program, risk_of
from ..catalog.model import Filled
from .simple import Handler, SimpleCommands, _Call, _remote_host, _sub_via, _url_host
from .state import _OPAQUE, MAX_CWDS, MAX_PARALLEL_ARGS, Cwds, Stream, W, _env_variables, _lit, _Seg, _worst, _Wrap
from .streams import output_stream, send_input
from .syntax import _assignment_name
from .words import _sub_word

# Where a script or code can come from the command's own input.
_STDIN_PATHS = frozenset({"-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"})


def _words(args: Sequence[W], f: Filled) -> list[W]:
    """The words of a filled slot; an option's value starts at its offset."""
    out = [args[i] for i in f.words]
    if f.offset and out:
        out[0] = _sub_word(out[0], f.offset)
    return out


def _text(words: Sequence[W]) -> W:
    """The words of a slot as one value (``shell...`` joins them with spaces, as sh -c would see them)."""
    if len(words) == 1:
        return words[0]
    if all(w.static for w in words):
        joined = " ".join(w.orig for w in words)
        return W(joined, True, False, joined)
    stream = None
    for w in words:
        stream = _worst(stream, w.stream)
    bad = next(w for w in words if not w.static)
    return W(" ".join(w.text for w in words), False, False, "", bad.reason, stream)


def _installs(a: SimpleCommands, words: Sequence[W], p: Parsed, wrap: _Wrap) -> list[dict[str, Any]]:
    """What an installer's command installs (analysis/supplychain): ``Effect`` arguments, judged by the
    package each names and where it comes from.  Only a table with ``installs`` pays for it."""
    setting = p.chain[-1].settings.get("installs")
    if setting is None:
        return []
    from ..supplychain.installs import install_effects

    variables: dict[str, str | None] = dict(a.variables)
    variables.update(wrap.values)
    return install_effects(setting, p, [w.static for w in words[1:]], variables)


def run_slots(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
              ) -> tuple[Cwds, Cwds, Stream | None]:
    """The generic interpretation of a catalog command: its slots, its rules, its effects."""
    args = words[1:]
    inner = [f for f in p.filled if f.type in ("argv", "module", "split")]
    if inner:
        return _wrapped(a, model, prog, words, call, p, _inner_words(args, inner), call.wrap.extra_unknown)
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    for spec in _installs(a, words, p, call.wrap):
        seg.add(Effect(**spec, segment=seg.index))
        seg.risks.append(spec["risk"])
    cwds = a.work_dirs(p, args, call.cwds)
    a.emit_paths(seg, p, args, cwds, call.wrap.extra_unknown)
    a.emit_network(seg, p, args)
    if model.settings.get("sends_input") or p.model.settings.get("sends_input"):
        send_input(seg, call.stdin)
    a.bind_uploads(seg)
    a.leak_secrets(seg, model, words, p, call.redirects)
    if model.fetches:  # curl -o x URL: x holds fetched content (running it later runs remote code)
        for e in seg.effects:
            if e.kind == "write" and e.path is not None and not e.glob:
                a.files[e.path] = Stream("network", why=f"fetched by {prog}")
    a._finish(seg, call.wrap, call.redirects)
    if p.unplaced:
        seg.make_opaque("; ".join(p.unplaced))
    out_cwds = call.cwds
    ran = False
    code: dict[str, list[W]] = {}
    vias: dict[str, str] = {}
    for f in p.filled:
        t = f.type
        if t == "shell":
            ran = True
            value = _text(_words(args, f))
            new = _shell(a, seg, prog, value, cwds, call, _via(call, prog, p, f))
            if model.settings.get("in_shell"):
                out_cwds = new
        elif t.startswith("code:"):
            ran = True
            code.setdefault(t[5:], []).extend(_words(args, f))
            vias.setdefault(t[5:], _via(call, prog, p, f))
        elif t == "script":
            ran = True
            _script(a, seg, _language(p), prog, _words(args, f)[0], cwds, call, _unseen(p))
            if model.settings.get("in_shell"):
                out_cwds = (None,)  # a sourced script may change the directory
        elif t == "filter":
            _shell(a, seg, prog, _text(_words(args, f)), cwds, call, _via(call, prog, p, f), _OPAQUE)
        elif t == "program":
            _program(a, seg, prog, _words(args, f)[0], cwds, call, _via(call, prog, p, f))
        elif t == "excmd":
            ran = True
            _excmd(a, seg, prog, _words(args, f)[0], cwds, call)
        elif t == "kv":
            _kv(a, seg, _keys(p), prog, _words(args, f)[0], cwds, call)
        elif t == "opaque":
            w = _words(args, f)[0]
            seg.make_opaque(f"{prog} {_label(p, f)}{w.text}: what it runs cannot be known statically")
    for language, pieces in code.items():
        via = vias[language]
        if not all(w.static for w in pieces):
            _not_static(seg, prog, pieces, "code")
            continue
        a.code(seg, language, "\n".join(w.orig for w in pieces), cwds, call.depth, via)
    if not ran and p.stdin:
        a.feed(seg, call.stdin, cwds, call.depth, _sub_via(call, f"{prog} <stdin>"),
               None if p.stdin == "shell" else p.stdin[5:], _unseen(p))
    return out_cwds, call.cwds, output_stream(model, prog, p, args, call.stdin, seg)


def _label(p: Parsed, f: Filled) -> str:
    """How a slot was given, for the segment's ``via``: the option before its value (the last letter
    of a cluster: ``-lc`` gave ``-c``), else the subcommand that takes it (``deno eval``)."""
    i = f.words[0]
    if f.offset:
        return p.args[i][:f.offset].rstrip("=")
    prev = p.args[i - 1] if i > 0 else ""
    if prev.startswith("--") or prev in p.model.options:
        return prev
    if len(prev) > 1 and prev[0] == "-" and prev[1:].isalpha():
        return "-" + prev[-1]  # a cluster: -lc gave -c
    return " ".join(p.subcommands)


def _via(call: _Call, prog: str, p: Parsed, f: Filled) -> str:
    label = _label(p, f)
    return _sub_via(call, f"{prog} {label}" if label else prog)


def _not_static(seg: _Seg, prog: str, words: Sequence[W], what: str) -> None:
    """A slot whose value is run but not known: fetched content is critical, anything else opaque."""
    stream = None
    for w in words:
        stream = _worst(stream, w.stream)
    if stream is not None and stream.kind == "network":
        seg.raise_risk(Risk.CRITICAL, f"{prog} runs fetched content as {what}")
        return
    reason = next((w.reason for w in words if not w.static), "")
    seg.make_opaque(f"{prog} runs {what} that cannot be known statically ({reason})")
    seg.raise_risk(Risk.HIGH, f"{prog} runs {what} that cannot be known statically")


def _shell(a: SimpleCommands, seg: _Seg, prog: str, value: W, cwds: Cwds, call: _Call, via: str,
           stdin: Stream | None = None) -> Cwds:
    """A string a shell runs (with ``stdin`` on its input): analysed as shell text when it is known."""
    a.note("runs a shell string")
    if not value.static:
        _not_static(seg, prog, [value], "a shell string")
        return (None,)
    new, _ = a.run_text(value.orig, cwds, call.depth + 1, via, stdin)
    return new


def _program(a: SimpleCommands, seg: _Seg, prog: str, w: W, cwds: Cwds, call: _Call, via: str) -> None:
    """A program the command runs with arguments and input of its own choosing: judged as that
    program given operands and input that cannot be known."""
    if not w.static:
        _not_static(seg, prog, [w], "a program")
        return
    try:
        words = [_lit(x) for x in shlex.split(w.orig)]
    except ValueError:
        seg.make_opaque(f"{prog} runs {shown(w.orig, 60)}, which does not split into words")
        return
    if not words:
        return
    name = normalise_program(words[0].text)
    if lookup(name) is None:
        # a program the catalog does not know, run by a tool read as harmless (rg --pre, diff
        # --diff-program) on every file: not the same as running it by name
        seg.make_opaque(f"{prog} runs {words[0].text}, a program the catalog does not know, on what it reads")
    wrap = replace(_Wrap(), extra_unknown=True)
    a.simple(words, text=w.orig, cwds=cwds, depth=call.depth + 1, via=via, pipe=-1, stdin=_OPAQUE, redirects=(),
             assigns=(), wrap=wrap, bypass_functions=True)


def _language(p: Parsed) -> str | None:
    """The language of the scripts a command runs: its deepest (sub)command's that names one; None: shell."""
    found = next((m.language for m in reversed(p.chain) if m.language), "")
    return None if found in ("", "shell") else found


def _unseen(p: Parsed) -> Risk | None:
    """The risk of a script the command runs from a file the analysis cannot see, when its model says
    (``script_risk``: a database's statements are unknown, not the medium of a program's script)."""
    return next((m.settings["script_risk"] for m in reversed(p.chain) if "script_risk" in m.settings), None)


def _keys(p: Parsed) -> Mapping[str, str]:
    """The types of a kv slot's keys: its deepest (sub)command's that declares them."""
    return next((m.keys for m in reversed(p.chain) if m.keys), {})


def _script(a: SimpleCommands, seg: _Seg, language: str | None, prog: str, w: W, cwds: Cwds, call: _Call,
            unseen: Risk | None = None) -> None:
    """A file a shell or an interpreter runs: its input when it names the input, a file written earlier
    in this command, a URL (fetched and run), else a file read."""
    if w.stream is not None and w.reason == "process substitution":
        a.feed(seg, w.stream, cwds, call.depth, _sub_via(call, f"{prog} <(...)"), language)
        return
    if not w.static:
        _not_static(seg, prog, [w], "a script")
        return
    if w.text in _STDIN_PATHS or w.text.startswith(("/dev/fd/", "/proc/")):
        if w.text in _STDIN_PATHS and call.stdin is not None:
            a.feed(seg, call.stdin, cwds, call.depth, _sub_via(call, f"{prog} <stdin>"), language, unseen)
        else:
            seg.make_opaque(f"{prog} runs code from {w.text}, which cannot be known statically")
        return
    if "://" in w.text:
        seg.raise_risk(Risk.CRITICAL, f"{prog} runs a script fetched from {w.text[:80]}")
        return
    for e in a.path_effects("read", w, cwds, False, seg.index, f"script run by {prog}"):
        seg.add(e)
    known = a.written_text(w, cwds)
    if known is not None:
        a.feed(seg, known, cwds, call.depth, _sub_via(call, f"{prog} {w.text}"), language)
        return
    a.unseen_script(seg, language, unseen, f"{prog} runs a script file" if unseen is None
                    else f"{prog} runs the script file {w.text}")


def _excmd(a: SimpleCommands, seg: _Seg, prog: str, w: W, cwds: Cwds, call: _Call) -> None:
    """An editor command (vim -c, +CMD): ``!cmd`` runs a shell; a line number or a setting is data."""
    if not w.static:
        _not_static(seg, prog, [w], "an editor command")
        return
    text = w.orig.lstrip(": ")
    if not text or text.isdigit() or text.startswith(("set ", "se ", "/", "?", "syntax ", "colo")):
        return
    for bang in ("!", "r !", "r!", "w !", "w!", "read !", "write !"):
        if text.startswith(bang):
            a.note("runs a shell string")
            a.run_text(text[len(bang):], cwds, call.depth + 1, _sub_via(call, f"{prog} !"))
            return
    seg.make_opaque(f"{prog} runs the editor command {shown(text, 60)}, which is not analysed")


def _kv(a: SimpleCommands, seg: _Seg, keys: Mapping[str, str], prog: str, w: W, cwds: Cwds, call: _Call) -> None:
    """``KEY=VALUE`` (git -c, ssh -o): the model's keys table says what the value is."""
    if not w.static:
        seg.make_opaque(f"{prog}: a setting that cannot be known statically ({w.reason})")
        return
    key, eq, value = w.orig.partition("=")
    if not eq and " " in key:  # ssh -o "ProxyCommand cmd"
        key, _, value = key.partition(" ")
    typ = _key_type(keys, key.strip().casefold())
    if typ is None or typ == "data":
        return
    vw = W(value, True, False, value)
    if typ == "alias" and not value.startswith("!"):
        try:
            inner = [_lit(prog), *(_lit(x) for x in shlex.split(value))]
        except ValueError:
            seg.make_opaque(f"{prog} {key}: an alias that does not split into words")
            return
        a.simple(inner, text=f"{prog} {value}", cwds=cwds, depth=call.depth + 1,
                 via=_sub_via(call, f"{prog} {key}"), pipe=-1, stdin=None, redirects=(), assigns=(),
                 bypass_functions=True)
    elif typ in ("shell", "alias"):
        _shell(a, seg, prog, W(value[1:], True, False, value[1:]) if typ == "alias" else vw, cwds, call,
               _sub_via(call, f"{prog} {key}"))
    elif typ.startswith("path:"):
        role = typ[5:]
        if role in ("read", "write", "delete"):
            for e in a.path_effects(role, _lit(value), cwds, False, seg.index, f"{prog} {key}"):
                seg.add(e)
    elif typ == "opaque":
        seg.make_opaque(f"{prog} {key}: a setting whose effect cannot be known statically")


def _key_type(keys: Mapping[str, str], key: str) -> str | None:
    typ = keys.get(key)
    if typ is not None:
        return typ
    head = key
    while "." in head:
        head = head.rpartition(".")[0]
        typ = keys.get(head + ".*")
        if typ is not None:
            return typ
    return keys.get("*")


def _inner_words(args: Sequence[W], inner: Sequence[Filled]) -> list[W]:
    """The command a wrapper runs: ``env -S 'a b'`` words first, then the argv (or ``-m MODULE``) rest."""
    out: list[W] = []
    for f in inner:
        ws = _words(args, f)
        if f.type == "split":
            w = ws[0]
            if not w.static:
                out.append(W(w.text, False, False, w.text, w.reason, w.stream))
                continue
            try:
                out.extend(_lit(x) for x in shlex.split(w.orig))
            except ValueError:
                out.append(W(w.text, False, False, w.text, "a string that does not split into words"))
        else:
            out.extend(ws)
    return out


def _wrapped(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed,
             inner: list[W], extra_unknown: bool) -> tuple[Cwds, Cwds, Stream | None]:
    """A command that runs another: its own exec effect, paths and risk go onto the final segment,
    which is the command it runs."""
    args = words[1:]
    wrap = call.wrap
    for f in p.filled:
        if f.type == "assign":
            for w in _words(args, f):
                name = _assignment_name(w.text) or ""
                value = w.orig.partition("=")[2] if w.static else None
                wrap = replace(wrap, path_changed=wrap.path_changed or name == "PATH", assigned=(*wrap.assigned, name),
                               values=(*wrap.values, (name, value)))
                a.command_variables([(name, value)], call.cwds, call.depth, call.via)
    risk, why = risk_of(p)
    operands = tuple(args[i].text for i in p.operands)
    effect = dict(kind="exec", program=prog, argv=(prog, *(w.text for w in args)), operands=operands,
                  flags=frozenset(p.flags), risk=risk, why="; ".join(why) or f"{prog} runs the command after it",
                  known=True)
    unplaced = wrap.unplaced + tuple(f"{prog}: {u}" for u in p.unplaced)
    own_effects = concerns_of(p)
    line = " ".join([prog, *(w.text for w in args)])
    concerns = tuple(dict(kind=k, program=prog, text=line, risk=r, why=w) for k, r, w in own_effects)
    installs = tuple(_installs(a, words, p, wrap))  # npx PKG, uvx PKG, uv run --with PKG
    wrap = _Wrap(names=(*wrap.names, prog), effects=(*wrap.effects, effect, *concerns, *installs),
                 risks=(*wrap.risks, risk, *(r for _, r, _ in own_effects), *(i["risk"] for i in installs)),
                 why=(*wrap.why, *why), extra_unknown=extra_unknown, path_changed=wrap.path_changed,
                 assigned=wrap.assigned, unplaced=unplaced, values=wrap.values)
    # Paths and hosts the wrapper itself touches (time -o FILE) go on the final segment too.
    own = _Seg(0, "", "", -1)
    own.program = prog
    a.emit_paths(own, p, args, call.cwds, False)
    a.emit_network(own, p, args)
    cwds = a.work_dirs(p, args, call.cwds)
    if not inner:
        return a.simple([], text=call.text, cwds=cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                        stdin=call.stdin, redirects=(*call.redirects, *own.effects), assigns=(), wrap=wrap)
    return a.simple(inner, text=call.text, cwds=cwds, depth=call.depth + 1, via=call.via, pipe=call.pipe,
                    stdin=call.stdin, redirects=(*call.redirects, *own.effects), assigns=(), wrap=wrap,
                    bypass_functions=True)


# ---- handlers: what needs more than slots -----------------------------------------------------------

def _h_find(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """find ROOTS... EXPR: reads its roots; -delete deletes what it finds (narrowed by -name); -exec
    and friends run a command for each file found, ``{}`` standing for the files."""
    spec: Mapping[str, Any] = model.settings.get("find", {})
    args = words[1:]
    name_preds = set(spec.get("names", ["-name", "-iname"]))
    roots = [args[i] for i in p.operands] or [_lit(".")]
    names = [v for f in name_preds for v in p.values(f)]
    if any(not args[i].static for f in name_preds for i, _ in p.flag_values.get(f, ())):
        names = []
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
    if "-delete" in p.flags:
        for path, glob, rec in stand_in:
            seg.add(Effect("delete", path=path, glob=glob, recursive=rec, why="find -delete", segment=seg.index))
    a.emit_paths(seg, p, args, call.cwds, False)
    a._finish(seg, call.wrap, call.redirects)
    if p.unplaced:
        seg.make_opaque("; ".join(p.unplaced))
    for f in p.filled:
        if f.type != "argv;":
            continue
        cmd = _words(args, f)
        if not cmd:
            continue
        inner = [W("{}", True, any(g for _, g, _ in stand_in), "{}", "", None, stand_in) if w.static and w.text == "{}"
                 else (W(w.text, False, False, w.text, "a file found by find") if w.static and "{}" in w.text else w)
                 for w in cmd]
        a.simple(inner, text=" ".join(w.orig for w in cmd), cwds=call.cwds, depth=call.depth + 1,
                 via=_via(call, "find", p, f), pipe=-1, stdin=None, redirects=(), assigns=(),
                 bypass_functions=True)
    return call.cwds, call.cwds, _OPAQUE


def _h_xargs(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """xargs CMD: runs CMD with operands read from its input (unknown); the default CMD is echo.  With
    -I R (or -i) the words holding R are the input instead."""
    args = words[1:]
    argv = [f for f in p.filled if f.type == "argv"]
    inner = _inner_words(args, argv) if argv else [_lit("echo")]
    spec: Mapping[str, Any] = model.settings.get("xargs", {})
    repl = [v or "{}" for f in spec.get("replace_flag", []) for v in p.values(f)]
    repl += ["{}" for f in spec.get("replace_flag", []) if f in p.flags and not p.values(f)]
    if repl:
        inner = [W(w.text, False, False, w.text, "the input of xargs") if any(r in w.text for r in repl) else w
                 for w in inner]
    return _wrapped(a, model, prog, words, call, p, inner, not repl)


def _h_parallel(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
                ) -> tuple[Cwds, Cwds, Stream | None]:
    """GNU parallel CMD ::: ARGS: each command line is run by a shell."""
    args = words[1:]
    seg = a.new_seg(call.text, call.via, call.pipe)
    a.exec_effect(seg, model, prog, words, p)
    a.emit_paths(seg, p, args, call.cwds, False)
    a._finish(seg, call.wrap, call.redirects)
    if p.unplaced:
        seg.make_opaque("; ".join(p.unplaced))
    a.note("runs a shell string")
    rest = _words(args, next(f for f in p.filled if f.type == "argv")) if any(
        f.type == "argv" for f in p.filled) else []
    seps = (":::", "::::", ":::+", "::::+")
    k = next((j for j, w in enumerate(rest) if w.static and w.text in seps), len(rest))
    template = rest[:k]
    values: list[W] = []
    from_files = False
    for w in rest[k:]:
        if w.static and w.text in seps:
            from_files = from_files or w.text.startswith("::::")
        else:
            values.append(w)
    via = _sub_via(call, prog)
    unknown_input = k == len(rest) or from_files
    if len(values) > MAX_PARALLEL_ARGS:
        seg.make_opaque(f"{prog}: more than {MAX_PARALLEL_ARGS} arguments; the rest were not analysed")
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


def _h_cd(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
          ) -> tuple[Cwds, Cwds, Stream | None]:
    """cd / pushd / popd: the directory later commands of this shell run in."""
    args = words[1:]
    run_slots(a, model, prog, words, call, p)
    ops = [args[i] for i in p.operands]
    spec: Mapping[str, Any] = model.settings.get("cd", {})
    if spec.get("unknown_target") or (not ops and spec.get("no_operand") != "home"):
        return (None,), call.cwds, None
    if not ops:
        target: str | None = a.env.get("HOME") or a.home
        return (target if target and target.startswith("/") else None,), call.cwds, None
    w = ops[0]
    if not w.static or w.text == "-":
        return (None,), call.cwds, None
    new = tuple(dict.fromkeys(join_path(c, w.text) for c in call.cwds))
    if not w.text.startswith(("/", "./", "../")) and w.text not in (".", "..") and a.cdpath():
        new = (*new, None)  # CDPATH may send a relative name elsewhere
    return new[:MAX_CWDS] if len(new) <= MAX_CWDS else (None,), call.cwds, None


def _h_declare(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
               ) -> tuple[Cwds, Cwds, Stream | None]:
    """export / declare / local / readonly / typeset: assigning PATH changes what later names run."""
    a.note("variable assignment")
    if any(w.static and w.text.startswith(("PATH=", "PATH+=")) for w in words[1:]):
        a.path_changed = True
    pairs = [(_assignment_name(w.orig) or "", w.orig.partition("=")[2] if w.static else None)
             for w in words[1:] if _assignment_name(w.orig if w.static else w.text)]
    a.command_variables(pairs, call.cwds, call.depth, call.via)
    a.assign_variables(pairs)
    if words[0].text == "unset":
        names = [words[1 + i].text for i in p.operands]
        if "-f" in p.flags:
            a.functions.difference_update(names)
        else:
            a.assign_variables([(n, None) for n in names])
    result = run_slots(a, model, prog, words, call, p)
    risky = [n for n, _ in pairs if n in _env_variables("risky_variables")]
    if risky:
        a.segs[-1].raise_risk(Risk.HIGH, f"{prog} {', '.join(risky)}: later programs load other code")
    guard = [n for n, _ in pairs if n in _env_variables("guard_variables")]
    if guard:
        a.segs[-1].raise_risk(Risk.HIGH, f"{prog} {', '.join(guard)}: changes what policylang, the guard, loads "
                                         "or approves")
    return result


def _h_alias(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
             ) -> tuple[Cwds, Cwds, Stream | None]:
    """alias NAME=TEXT: later uses of NAME in this command run TEXT (analysed where they are used)."""
    args = words[1:]
    for i in p.operands:
        w = args[i]
        name, eq, value = w.orig.partition("=")
        if eq and w.static:
            a.aliases[name] = value
        elif eq:
            a.aliases[name] = '"$__policylang_unknown_alias__"'  # a name that runs what cannot be known
    return run_slots(a, model, prog, words, call, p)


def _h_hash(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
            ) -> tuple[Cwds, Cwds, Stream | None]:
    """hash -p PATH NAME: later uses of NAME in this command run PATH."""
    args = words[1:]
    paths = p.values("-p")
    names = [args[i].text for i in p.operands]
    if paths and names:
        path = args[p.flag_values["-p"][0][0]]
        for name in names:
            a.hashed[name] = path.text if path.static else "$__policylang_unknown_program__"
    return run_slots(a, model, prog, words, call, p)


def _h_git(a: SimpleCommands, model: CommandModel, prog: str, words: list[W], call: _Call, p: Parsed
           ) -> tuple[Cwds, Cwds, Stream | None]:
    """git: its slots; and ``git push NAME`` where an earlier ``git remote add NAME URL`` of this command
    added NAME connects to URL's host -- with --all, --branches or --mirror it sends the whole
    repository to a URL the command itself named (high)."""
    first = len(a.segs)
    result = run_slots(a, model, prog, words, call, p)
    if p.subcommands[:1] != ("push",) or first >= len(a.segs) or not p.operands:
        return result
    remote = words[1 + p.operands[0]]
    url = _added_remote(a, first, remote.text) if remote.static else None
    if url is None:
        return result
    seg = a.segs[first]
    host = _url_host(url) or _remote_host(url)
    why = f"git push {remote.text}: a remote this command added ({url[:80]})"
    seg.effects = [replace(e, host=host, why=f"git pushes to {host or url[:80]}, {why}")
                   if e.kind in ("network", "upload") and e.host is None else e for e in seg.effects]
    if p.flags & {"--all", "--branches", "--mirror"}:
        seg.raise_risk(Risk.HIGH, f"{why}: every branch of the repository is sent to it")
    return result


def _added_remote(a: SimpleCommands, before: int, name: str) -> str | None:
    """The URL an earlier ``git remote add [OPTIONS] NAME URL`` of this command gave NAME."""
    for seg in reversed(a.segs[:before]):
        if seg.program != "git" or "remote" not in seg.argv:
            continue
        rest = list(seg.argv[seg.argv.index("remote") + 1:])
        if not rest or rest[0] not in ("add", "set-url"):
            continue
        ops = [w for i, w in enumerate(rest[1:]) if not w.startswith("-")
               and not (i > 0 and rest[i] in ("-t", "-m", "--track", "--master"))]
        if len(ops) >= 2 and ops[0] == name:
            return ops[-1]
    return None


HANDLERS: dict[str, Handler] = {
    "": run_slots,
    "find": _h_find,
    "xargs": _h_xargs,
    "parallel": _h_parallel,
    "cd": _h_cd,
    "declare": _h_declare,
    "alias": _h_alias,
    "hash": _h_hash,
    "git": _h_git,
}
