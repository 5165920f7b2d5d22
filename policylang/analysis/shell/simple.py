"""Simple commands: normalise the program, look it up in the catalog, parse its arguments and emit
its exec, path and network effects; inline code goes to the code analyser."""
from __future__ import annotations

import shlex
from typing import Callable, Mapping, Sequence

from ...diagnostics import shown
from ...effects import Effect
from ...frozen import frozen, replace
from ...resolve import file_url_path, join_path, normalise_path
from ...verdict import Risk
from ..catalog import CommandModel, Parsed, concerns_of, has_invisible, lookup, normalise_program, parse, risk_of
from .state import (
    _NO_WRAP,
    _OPAQUE,
    MAX_DEPTH,
    Cwds,
    Stream,
    W,
    _at,
    _env_variables,
    _lit,
    _Seg,
    _Wrap,
    secret_name,
)
from .syntax import RESERVED
from .words import Words, _dotdot_variants, _sub_word


@frozen
class _Call:
    """The context of one simple command, passed to handlers."""

    text: str
    cwds: Cwds
    depth: int
    via: str
    pipe: int
    stdin: Stream | None
    redirects: Sequence[Effect]
    wrap: _Wrap


# A runner: (analyser, model, program, words, call, parsed arguments) -> (cwds on success, cwds on
# failure, output).
Handler = Callable[["SimpleCommands", CommandModel, str, list[W], _Call, Parsed],
                   tuple[Cwds, Cwds, "Stream | None"]]


_PATH_SLOTS = frozenset({"path:read", "path:write", "path:delete", "path:upload"})
_MAX_SPECULATIONS = 4  # arguments of an unknown program analysed as what they might run


def _mount_source(value: str) -> str | None:
    """The host path of a container mount (``SRC:DST[:opts]``, ``type=bind,source=SRC,target=DST``),
    or None for a named volume or a mount of no host path (tmpfs)."""
    if "=" in value.partition(":")[0]:
        fields = dict(kv.partition("=")[::2] for kv in value.split(","))
        if fields.get("type", "bind") not in ("bind", ""):
            return None
        source = fields.get("source") or fields.get("src")
    else:
        source = value.split(":", 1)[0] if ":" in value else value
    if not source or not source.startswith(("/", ".", "~", "$")):
        return None
    return source


def _sub_via(call: _Call, what: str) -> str:
    return f"{call.via} > {what}" if call.via else what


def _is_remote(text: str) -> bool:
    if "://" in text:
        return True
    if text.startswith(("/", "./", "../", "~")):
        return False
    head = text.split("/", 1)[0]
    return ":" in head


def _remote_host(text: str) -> str | None:
    if "://" in text:
        return _url_host(text)
    head = text.split(":", 1)[0]
    return head.rpartition("@")[2] or None


def _plain_host(text: str) -> str | None:
    if "://" in text:
        return _url_host(text)
    host = text.rpartition("@")[2]
    if host.startswith("["):
        return host[1:].partition("]")[0] or None
    return host.partition(":")[0] or None


def _url_host(text: str) -> str | None:
    if "://" not in text:
        head = text.split("/", 1)[0]
        if "." in head and not text.startswith(("-", ".", "/")) and " " not in head:
            return head.rpartition("@")[2].partition(":")[0] or None
        return None
    from urllib.parse import (
        urlsplit,  # not at import: a plain command's cold start never needs it
    )

    try:
        host = urlsplit(text).hostname
    except ValueError:
        return None
    return host or None


def _url_basename(text: str) -> str | None:
    if "://" not in text:
        return None
    from urllib.parse import urlsplit

    try:
        path = urlsplit(text).path
    except ValueError:
        return ""
    base = path.rstrip("/").rpartition("/")[2]
    return base or "index.html"


def _carries_data(w: W) -> bool:
    """A host word that joins a command's output to literal text (``$(cat key | base64).evil.example``):
    the name itself carries the output.  A word that is only the substitution (``$(cat host.txt)``)
    names a host; one with a variable names a host the environment holds."""
    if w.static or w.reason != "command substitution":
        return False
    raw = w.text.strip("\"'")
    whole = (raw.startswith("$(") and raw.endswith(")") and raw.count("$(") == 1) or (
        raw.startswith("`") and raw.endswith("`") and raw.count("`") == 2)
    return not whole


def _socat_host(text: str) -> str | None:
    kind, sep, rest = text.partition(":")
    if not sep:
        return None
    k = kind.casefold()
    if k.startswith(("tcp", "udp", "sctp", "openssl", "ssl", "proxy", "socks")):
        host = rest.split(":", 1)[0].split(",", 1)[0]
        return host or None
    return None


class SimpleCommands(Words):
    """Simple commands: the program looked up in the catalog, its exec, path and network effects."""

    # The runners of the catalog's handler kinds (runners.py), set by the final class.
    handlers: Mapping[str, Handler] = {}

    def simple(self, words: list[W], *, text: str, cwds: Cwds, depth: int, via: str, pipe: int,
               stdin: Stream | None, redirects: Sequence[Effect], assigns: Sequence[tuple[str, str | None]],
               wrap: _Wrap | None = None, bypass_functions: bool = False) -> tuple[Cwds, Cwds, Stream | None]:
        """One simple command: normalise, unwrap, look up, emit effects.  Returns (ok, fail, output).

        ``bypass_functions``: the words are run by a program (sudo, env, xargs, find -exec), which
        never sees this shell's functions."""
        if wrap is None:
            wrap = _NO_WRAP
        if assigns:
            wrap = replace(wrap, path_changed=wrap.path_changed or any(n == "PATH" for n, _ in assigns),
                           assigned=(*wrap.assigned, *(n for n, _ in assigns)), values=(*wrap.values, *assigns))
            self.command_variables(assigns, cwds, depth, via)
        if not words:
            if redirects or wrap.names:
                seg = self.new_seg(text, via, pipe)
                seg.risks.append(Risk.LOW)
                self._finish(seg, wrap, redirects)
            return cwds, cwds, None
        w0 = words[0]
        if depth > MAX_DEPTH:
            self.opaque_seg(text, via, pipe, f"nesting deeper than {MAX_DEPTH} levels")
            return cwds, cwds, _OPAQUE
        if not w0.static:
            seg = self.new_seg(text, via, pipe)
            seg.argv = tuple(w.text for w in words)
            reason = f"the program name comes from {w0.reason}"
            seg.make_opaque(reason)
            seg.known = False
            if w0.stream is not None and w0.stream.kind == "network":
                seg.add(Effect("exec", program=None, argv=seg.argv, risk=Risk.CRITICAL, known=False,
                               why="runs a program named by fetched content", segment=seg.index))
                seg.risks.append(Risk.CRITICAL)
            else:
                seg.add(Effect("exec", program=None, argv=seg.argv, opaque=True, known=False, why=reason,
                               segment=seg.index))
            self._finish(seg, wrap, redirects)
            return cwds, cwds, _OPAQUE
        prog = normalise_program(w0.text)
        if prog in RESERVED and w0.orig == w0.text:
            # a keyword where a program's name should be: the text did not parse as bash reads it
            wrap = replace(wrap, unplaced=(*wrap.unplaced, f"{shown(prog)} is shell syntax, not a program: the text "
                                                           "could not be read as bash reads it"))
        if has_invisible(w0.orig or w0.text):
            wrap = replace(wrap, unplaced=(*wrap.unplaced, f"the program name {shown(w0.orig)} has characters that show "
                                                           f"nothing: it reads as {prog}, but may not be"))
        if not bypass_functions and prog in self.aliases:
            self.expand_alias(prog, words, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe, stdin=stdin)
            if lookup(prog) is None:  # aliases may be off (a script): then the catalog's program runs
                return cwds, cwds, _OPAQUE
        if prog in self.hashed:
            prog = normalise_program(self.hashed[prog])
        if "/" in prog:
            held = self.file_held(w0, cwds)
            if held is not None:
                return self.run_written(prog, held, words, text=text, cwds=cwds, depth=depth, via=via, pipe=pipe,
                                        redirects=redirects, wrap=wrap)
        if not bypass_functions and self.is_function(prog, w0):
            seg = self.new_seg(text, via, pipe)
            seg.program = prog
            seg.argv = (prog, *(w.text for w in words[1:]))
            seg.risks.append(Risk.LOW)
            seg.add(Effect("exec", program=prog, argv=seg.argv, operands=seg.argv[1:], risk=Risk.LOW,
                           why=f"calls the shell function {prog} defined in this command", segment=seg.index))
            self._finish(seg, wrap, redirects)
            return cwds, cwds, _OPAQUE
        model = lookup(prog)
        if model is None:
            seg = self.new_seg(text, via, pipe)
            seg.program = prog
            seg.argv = (prog, *(w.text for w in words[1:]))
            seg.known = False
            seg.risks.append(Risk.UNKNOWN)
            seg.add(Effect("exec", program=prog, argv=seg.argv, operands=tuple(w.text for w in words[1:]),
                           risk=Risk.UNKNOWN, known=False, why=f"{prog} is not in the command catalog",
                           segment=seg.index))
            self.leak_secrets(seg, None, words, None, redirects)
            self._finish(seg, wrap, redirects)
            self.speculate(prog, words[1:], cwds, depth, via)
            return cwds, cwds, _OPAQUE
        args = words[1:]
        p = parse(model, [w.text for w in args], [w.static for w in args])
        call = _Call(text, cwds, depth, via, pipe, stdin, redirects, wrap)
        return self.handlers[model.handler](self, model, prog, words, call, p)

    def expand_alias(self, name: str, words: list[W], *, text: str, cwds: Cwds, depth: int, via: str, pipe: int,
                     stdin: Stream | None) -> None:
        """An alias defined earlier in this command: its text, then the words after the name."""
        rest = " ".join(shlex.quote(w.orig) if w.static else w.text for w in words[1:])
        self.run_text(f"{self.aliases[name]} {rest}".strip(), cwds, depth + 1, f"{via} > alias {name}" if via
                      else f"alias {name}", stdin)

    def file_held(self, word: W, cwds: Cwds) -> Stream | None:
        """What the file a program word names holds, when this command wrote it earlier."""
        return self.written_text(word, cwds)

    def run_written(self, prog: str, held: Stream, words: list[W], *, text: str, cwds: Cwds, depth: int, via: str,
                    pipe: int, redirects: Sequence[Effect], wrap: _Wrap) -> tuple[Cwds, Cwds, Stream | None]:
        """Running a file this command wrote earlier (``curl -o x URL && chmod +x x && ./x``): it runs
        what it holds, in the language its ``#!`` line names (a shell by default)."""
        seg = self.new_seg(text, via, pipe)
        seg.program = prog
        seg.argv = (prog, *(w.text for w in words[1:]))
        seg.risks.append(Risk.MEDIUM)
        seg.add(Effect("exec", program=prog, argv=seg.argv, operands=seg.argv[1:], risk=Risk.MEDIUM,
                       why=f"runs {prog}, which this command wrote", segment=seg.index))
        self._finish(seg, wrap, redirects)
        language: str | None = None
        if held.kind == "static" and held.texts and held.texts[0].startswith("#!"):
            line = held.texts[0].split("\n", 1)[0][2:].split()
            if line and line[0].endswith("/env") and len(line) > 1:
                line = line[1:]
            interpreter = lookup(normalise_program(line[0])) if line else None
            if interpreter is None and line:
                seg.make_opaque(f"{prog} runs with the interpreter {line[0]}, which the catalog does not know")
                return cwds, cwds, _OPAQUE
            if interpreter is not None and interpreter.language not in ("", "shell"):
                language = interpreter.language
        self.feed(seg, held, cwds, depth, f"{via} > {prog}" if via else prog, language)
        return cwds, cwds, _OPAQUE

    def speculate(self, prog: str, args: Sequence[W], cwds: Cwds, depth: int, via: str) -> None:
        """The arguments of a program the catalog does not know, read as what they might run: a word
        that is shell text (``tool 'rm -rf ~'``), or the words from a known program's name on
        (``tool rm -rf ~``).  What this finds is marked speculative: the engine asks when it would deny
        it, and ignores it otherwise."""
        if depth >= MAX_DEPTH // 2 or self.speculating:
            return
        self.speculating = True
        recording, self.recording = self.recording, False
        where = f"{via} > argument of {prog}" if via else f"argument of {prog}"
        try:
            runs = 0
            for k, w in enumerate(args):
                if not w.static or runs >= _MAX_SPECULATIONS:
                    continue
                if any(c in w.orig for c in " \t\n;|&`$()<>") and len(w.orig) < 4096:
                    runs += 1
                    self.run_text(w.orig, cwds, depth + 1, where)
                elif not w.text.startswith("-") and lookup(normalise_program(w.text)) is not None:
                    runs += 1
                    self.simple(list(args[k:]), text=" ".join(a.orig or a.text for a in args[k:]), cwds=cwds,
                                depth=depth + 1, via=where, pipe=-1, stdin=None, redirects=(), assigns=(),
                                bypass_functions=True)
        finally:
            self.speculating = False
            self.recording = recording

    def command_variables(self, assigns: Sequence[tuple[str, str | None]], cwds: Cwds, depth: int, via: str) -> None:
        """``GIT_SSH_COMMAND='...' git fetch``: a variable whose value the program runs as a command."""
        for name, value in assigns:
            if name not in _env_variables("command_variables"):
                continue
            where = f"{via} > ${name}" if via else f"${name}"
            if value is None:
                self.opaque_seg(f"{name}=...", where, -1, f"${name} is a command that cannot be known statically")
            elif value.strip():
                self.note("runs a shell string")
                self.run_text(value, cwds, depth + 1, where)

    def exec_effect(self, seg: _Seg, model: CommandModel, prog: str, words: Sequence[W], p: Parsed) -> Effect:
        """The exec effect of a catalog command (its why: the rules that raised its risk, or what it is)."""
        args = words[1:]
        risk, why = risk_of(p)
        argv = (prog, *[w.text for w in args])
        if p.sub_idx:
            operands = tuple([args[i].text.casefold() for i in p.sub_idx] + [args[i].text for i in p.operands])
        else:
            operands = tuple([args[i].text for i in p.operands])
        seg.program = prog
        seg.argv = argv
        seg.risks.append(risk)
        if why:
            seen = seg.why
            for w in why:
                if w not in seen:
                    seen.append(w)
            text = "; ".join(why)
        else:
            text = f"{prog}: {p.model.summary or model.summary}"
        effect = Effect("exec", program=prog, argv=argv, operands=operands, flags=frozenset(p.flags), risk=risk,
                        why=text, known=True, segment=seg.index)
        seg.add(effect)
        for kind, c_risk, c_why in concerns_of(p):
            seg.add(Effect(kind, program=prog, text=" ".join(argv), risk=c_risk, why=c_why, segment=seg.index))
            seg.risks.append(c_risk)
            if c_why not in seg.why:
                seg.why.append(c_why)
        return effect

    def bind_uploads(self, seg: _Seg) -> None:
        """Files a command sends (``curl -T F``, ``scp F host:``): each is a read of the file and an
        upload of it to every host the command connects to (a host known only at run time: None).
        Without a connection (``rsync a b``, both local) it is a read only."""
        ups = [e for e in seg.effects if e.kind == "upload" and e.host is None]
        if not ups:
            return
        hosts = list(dict.fromkeys(e.host for e in seg.effects if e.kind == "network"))
        seg.effects = [e for e in seg.effects if not (e.kind == "upload" and e.host is None)]
        prog = seg.program or "?"
        for e in ups:
            seg.add(replace(e, kind="read"))
            for h in hosts:
                seg.add(replace(e, host=h, risk=Risk.MEDIUM, why=f"{prog} sends {e.path or 'a file'} to "
                                                                 f"{h or 'a host known only at run time'}"))

    def leak_secrets(self, seg: _Seg, model: CommandModel | None, words: Sequence[W], p: Parsed | None,
                     redirects: Sequence[Effect]) -> None:
        """A leak effect for credentials in the arguments: a variable whose name looks secret expanded
        into a word (``echo $AWS_SECRET_ACCESS_KEY``, ``curl -d "$TOKEN" URL``), or named to a program
        that prints variables (``printenv GITHUB_TOKEN``).  Printed where the agent reads it, or sent
        to a host, it is high; passed to a local program, or printed into a pipe or a file, medium."""
        names = [n for w in words[1:] for n in w.secrets]
        output = model.settings.get("output") if model is not None else None
        if output == "variables" and p is not None:
            names += [words[1 + i].text for i in p.operands if words[1 + i].static and secret_name(words[1 + i].text)]
        if not names:
            return
        shown = ", ".join("$" + n for n in dict.fromkeys(names))
        prog = seg.program or "?"
        hosts = [e.host for e in seg.effects if e.kind == "network"]
        if hosts:
            for h in dict.fromkeys(hosts):
                seg.add(Effect("leak", program=prog, host=h, text=shown, risk=Risk.HIGH, segment=seg.index,
                               why=f"{prog} sends {shown} to {h or 'a host known only at run time'}"))
        elif output in ("echo", "printf", "variables"):
            onward = seg.pipeline >= 0 or any(e.kind == "write" for e in redirects)
            seg.add(Effect("leak", program=prog, text=shown, risk=Risk.MEDIUM if onward else Risk.HIGH,
                           segment=seg.index, why=f"{prog} prints {shown}" + (
                               " into a pipe or a file" if onward else ", where the agent reads it")))
        else:
            seg.add(Effect("leak", program=prog, text=shown, risk=Risk.MEDIUM, segment=seg.index,
                           why=f"{shown} is passed to {prog} (visible to it and in the process list)"))

    def _finish(self, seg: _Seg, wrap: _Wrap, redirects: Sequence[Effect]) -> None:
        """Attach the wrappers' exec effects and risks and the redirections to the final segment."""
        if wrap.unplaced:
            seg.make_opaque("; ".join(wrap.unplaced))
        if wrap.names:
            seg.wrappers = wrap.names
            for spec in wrap.effects:
                seg.add(Effect(**spec, segment=seg.index))
            seg.risks.extend(wrap.risks)
            seg.why.extend(w for w in wrap.why if w not in seg.why)
        if wrap.path_changed or self.path_changed:
            if seg.program is not None and not seg.program.startswith(("/", ".")):
                seg.known = False
                note = f"PATH is changed: {seg.program} may not be the system's {seg.program}"
                seg.why.append(note)
                for k, e in enumerate(seg.effects):
                    if e.kind == "exec" and e.program == seg.program:
                        seg.effects[k] = replace(e, known=False, why="; ".join(filter(None, (e.why, note))))
        for e in redirects:
            seg.add(_at(e, seg.index))
        risky = [n for n in wrap.assigned if n in _env_variables("risky_variables")]
        if risky:
            seg.raise_risk(Risk.HIGH, f"{', '.join(risky)} makes the program load or run other code")
        guard = [n for n in wrap.assigned if n in _env_variables("guard_variables")]
        if guard:
            seg.raise_risk(Risk.HIGH, f"{', '.join(guard)} changes what policylang, the guard, loads or approves")
        configs = [n for n in wrap.assigned if n in _env_variables("config_variables")]
        if configs:
            self.unseen_script(seg, "options", Risk.UNKNOWN, f"{', '.join(configs)} makes {seg.program or 'it'} "
                                                               "read options or code from a file")

    def work_dirs(self, p: Parsed, args: Sequence[W], cwds: Cwds) -> Cwds:
        """The directories a command works in: its cwd, or the value of a ``path:cwd`` option (git -C)."""
        out = cwds
        for f in p.filled:
            if f.type != "path:cwd":
                continue
            w = args[f.words[0]]
            if not w.static:
                out = (None,)
                continue
            value = w.text[f.offset:]
            out = tuple(dict.fromkeys(join_path(c, value) if c is not None or value.startswith("/")
                                      else None for c in out))
        return out

    def path_effects(self, role: str, w: W | None, cwds: Cwds, recursive: bool, segment: int,
                     why: str = "") -> list[Effect]:
        """The effects of one path argument, resolved against every possible cwd."""
        if w is None:
            return [Effect(role, path=None, recursive=recursive, why=why, segment=segment)]
        if w.paths is not None:
            return [Effect(role, path=path, glob=glob, recursive=recursive or rec, why=why, segment=segment)
                    for path, glob, rec in w.paths]
        if not w.static:
            if w.reason == "process substitution":
                return []
            return [Effect(role, path=None, recursive=recursive, why=why or f"path from {w.reason}",
                           segment=segment)]
        if w.text == "-" or not w.text:
            return []
        out: list[Effect] = []
        for cwd in cwds:
            path = join_path(cwd, w.text)
            if path is None:
                out.append(Effect(role, path=None, recursive=recursive, why=why or "relative to an unknown directory",
                                  segment=segment))
                continue
            out.append(Effect(role, path=path, recursive=recursive, glob=w.glob, why=why, segment=segment))
            if w.text == "~" or w.text.startswith("~/"):
                # A ~ inside a word (curl -d @~/.aws/credentials, of=~/x) is not expanded by the shell,
                # but it is what the author meant: judge the home path too.
                home_path = normalise_path(self.home + w.text[1:])
                if home_path != path:
                    out.append(Effect(role, path=home_path, recursive=recursive, glob=w.glob,
                                      why=why or f"{w.text} as the home directory", segment=segment))
            if w.glob:
                for alt in _dotdot_variants(path):
                    out.append(Effect(role, path=alt, recursive=True, why=f"{w.text} also matches ..",
                                      segment=segment))
        return out

    def emit_paths(self, seg: _Seg, p: Parsed, args: Sequence[W], cwds: Cwds, extra_unknown: bool) -> None:
        unknown_args = extra_unknown or any(not a.static for a in args)
        for m in p.chain:
            for rule in m.paths:
                if not rule.when.holds(p):
                    continue
                rec = rule.recursive or bool(rule.recursive_flags & p.flags) or (
                    unknown_args and bool(rule.recursive_flags))
                targets: list[W | None] = []
                src = rule.source
                if src == "operands":
                    ops = p.operands
                    if rule.after_dashdash:
                        ops = ops[p.dashdash:] if p.dashdash is not None else []
                    for i in ops[rule.start:rule.stop]:
                        w = args[i]
                        if rule.local_only and w.static and _is_remote(w.text):
                            continue
                        if rule.after:
                            if not w.static or rule.after not in w.text:
                                continue
                            w = _sub_word(w, w.text.index(rule.after) + len(rule.after))
                        targets.append(w)
                    if extra_unknown and rule.stop is None:
                        targets.append(None)
                elif src == "flag":
                    for flag in rule.flags_from:
                        for i, off in p.flag_values.get(flag, ()):
                            w = args[i]
                            if not w.static:
                                targets.append(None)
                                continue
                            value = w.text[off:]
                            if rule.after:
                                if rule.after not in value:
                                    continue
                                value = value[value.index(rule.after) + len(rule.after):]
                            targets.append(_sub_word(w, len(w.text) - len(value)))
                elif src == "kv":
                    for i in p.operands:
                        w = args[i]
                        key, eq, _ = w.text.partition("=")
                        if eq and key in rule.keys:
                            targets.append(_sub_word(w, len(key) + 1) if w.static else None)
                elif src == "cwd":
                    targets.append(_lit("."))
                elif src == "none":
                    targets.append(None)
                elif src == "url_basename":
                    for i in p.operands:
                        w = args[i]
                        if not w.static:
                            targets.append(None)
                            continue
                        base = _url_basename(w.text)
                        if base is not None:
                            targets.append(_lit(base) if base else None)
                for t in targets:
                    for e in self.path_effects(rule.role, t, cwds, rec, seg.index):
                        seg.add(e)
        for f in p.filled:
            if f.type == "mount":
                w = args[f.words[0]]
                source = _mount_source(w.text[f.offset:]) if w.static else None
                if w.static and source is None:
                    continue  # a named volume, not a host path
                for e in self.path_effects("write", _lit(source) if source is not None else None, cwds, True,
                                           seg.index, "mounted into a container, which may write anything under it"):
                    seg.add(e)
            elif f.type in _PATH_SLOTS:
                w = args[f.words[0]]
                for e in self.path_effects(f.type[5:], _sub_word(w, f.offset) if f.offset else w, cwds, False,
                                           seg.index):
                    seg.add(e)

    def emit_network(self, seg: _Seg, p: Parsed, args: Sequence[W]) -> None:
        slotted: list[str | None] = []
        carriers: list[W] = []  # host words built from a command's output
        for f in p.filled:
            if f.type in ("url", "host"):
                w = args[f.words[0]]
                value = w.text[f.offset:]
                if f.type == "url" and w.static and self.file_url(seg, value):
                    continue
                slotted.append(None if not w.static else _url_host(value) if f.type == "url" else _plain_host(value))
                if _carries_data(w):
                    carriers.append(w)
        for h in dict.fromkeys(slotted):
            seg.add(Effect("network", host=h, risk=Risk.MEDIUM, why=f"{seg.program} connects to {h or 'a host'}",
                           segment=seg.index))
        for m in p.chain:
            for rule in m.network:
                if not rule.when.holds(p):
                    continue
                hosts: list[str | None] = []
                src = rule.source
                if src == "fixed":
                    hosts.append(rule.host)
                elif src == "unknown":
                    hosts.append(None)
                elif src == "flag":
                    for flag in rule.flags_from:
                        for v in p.values(flag):
                            hosts.append(_url_host(v))
                else:
                    ops = [args[i] for i in p.operands]
                    if src == "host":
                        ops = ops[:1]
                    for w in ops:
                        if not w.static:
                            hosts.append(None)
                            if src in ("host", "urls") and _carries_data(w):
                                carriers.append(w)
                        elif src == "urls":
                            if self.file_url(seg, w.text):
                                continue
                            h = _url_host(w.text)
                            if h is not None:
                                hosts.append(h)
                        elif src == "host":
                            hosts.append(_plain_host(w.text))
                        elif src == "remote" and _is_remote(w.text):
                            hosts.append(_remote_host(w.text))
                        elif src == "socat":
                            h = _socat_host(w.text)
                            if h is not None:
                                hosts.append(h)
                    if not hosts and rule.host is not None:
                        hosts.append(rule.host or None)  # "": a host the arguments do not name
                for h in dict.fromkeys(hosts):
                    seg.add(Effect("network", host=h, risk=Risk.MEDIUM, why=f"{seg.program} connects to {h or 'a host'}",
                                   segment=seg.index))
        for raw in dict.fromkeys(c.text for c in carriers):
            seg.add(Effect("network", host=None, risk=Risk.HIGH, segment=seg.index,
                           why=f"{seg.program} looks up or connects to {raw[:80]}: a host name built from a command's "
                               "output sends that output to whoever answers for the domain (exfiltration)"))

    def file_url(self, seg: _Seg, text: str) -> bool:
        """A ``file:`` URL is a read of the local file it names (percent-decoded), not a connection."""
        if not text[:5].casefold() == "file:":
            return False
        path = file_url_path(text)
        seg.add(Effect("read", path=path, why=f"reads the file URL {text[:80]}", segment=seg.index))
        return True

    def code(self, seg: _Seg, language: str, source: str, cwds: Cwds, depth: int, via: str) -> None:
        """Send inline source to the code analyser; emit its effects and analyse what it runs."""
        try:
            from .. import sourcecode as code_analysis
        except ImportError:
            seg.add(Effect("code", program=language, text=source, opaque=True,
                           why="the code analyser is not available", segment=seg.index))
            seg.make_opaque("the code analyser is not available")
            return
        try:
            found = code_analysis.analyse_code(language, source)
        except Exception as exc:  # the analyser promises not to raise; fail closed if it does
            seg.add(Effect("code", program=language, text=source, opaque=True, segment=seg.index,
                           why=f"code analysis failed: {type(exc).__name__}"))
            seg.make_opaque("code analysis failed")
            return
        why = "; ".join(found.why)
        seg.add(Effect("code", program=language, text=source, risk=found.risk, why=why, opaque=found.opaque,
                       segment=seg.index))
        seg.risks.append(found.risk)
        seg.why.extend(w for w in found.why if w not in seg.why)
        seg.effects.extend(code_analysis.finding_effects(found.findings, seg.index, language))
        if found.opaque:
            seg.make_opaque(getattr(found, "opaque_reason", "") or f"{language} code that cannot be known statically")
        for kind, target, recursive in found.effects:
            if kind == "network":
                seg.add(Effect("network", host=target, risk=Risk.MEDIUM, why=why, segment=seg.index))
                continue
            if kind == "discard":  # a statement that loses data (DROP TABLE, DELETE without WHERE)
                text = target or f"{language} code loses data"
                seg.add(Effect("discard", program=seg.program, text=text, risk=Risk.HIGH, why=text,
                               segment=seg.index))
                if text not in seg.why:
                    seg.why.append(text)
                continue
            if kind not in ("read", "write", "delete"):
                continue
            risk = found.risk if recursive else Risk.UNKNOWN
            if target is None:
                seg.add(Effect(kind, path=None, recursive=recursive, risk=risk, why=why, segment=seg.index))
                continue
            literal: str | None = target
            if target == "~" or target.startswith("~/"):
                home = self.env.get("HOME") or self.home
                literal = home + target[1:] if home.startswith("/") else None
            for cwd in cwds:
                seg.add(Effect(kind, path=join_path(cwd, literal) if literal is not None else None,
                               recursive=recursive, risk=risk, why=why, segment=seg.index))
        for cmd in found.commands:
            if isinstance(cmd, str):
                self.run_text(cmd, cwds, depth + 1, via)
            else:
                ws = [_lit(a) for a in cmd if isinstance(a, str)]
                if ws:
                    self.simple(ws, text=shlex.join(w.orig for w in ws), cwds=cwds, depth=depth + 1, via=via,
                                pipe=-1, stdin=None, redirects=(), assigns=())

    def unseen_script(self, seg: _Seg, language: str | None, unseen: Risk | None, why: str) -> None:
        """A script in a file the analysis cannot see: medium (a program's script), or the risk its model
        gives (``script_risk``); unknown is a code effect of unknown risk, so the posture decides."""
        if unseen is None:
            seg.raise_risk(Risk.MEDIUM, why)
        elif unseen is Risk.UNKNOWN:
            note = f"{why}, which the analysis cannot see"
            seg.add(Effect("code", program=language or "shell", text="", risk=Risk.UNKNOWN, why=note,
                           segment=seg.index))
            if note not in seg.why:
                seg.why.append(note)
        else:
            seg.raise_risk(unseen, why)

    def feed(self, seg: _Seg, stream: Stream | None, cwds: Cwds, depth: int, via: str, language: str | None,
             unseen: Risk | None = None) -> None:
        """A shell (language None) or an interpreter runs the program text it reads from ``stream``;
        ``unseen``: the risk of a script it cannot see, when its model gives one (``script_risk``)."""
        what = "a shell" if language is None else language
        if stream is None:
            return
        if stream.kind == "static":
            for t in stream.texts:
                if language is None:
                    self.note("runs a shell string")
                    self.run_text(t, cwds, depth + 1, via)
                else:
                    self.code(seg, language, t, cwds, depth + 1, via)
        elif stream.kind == "network":
            seg.raise_risk(Risk.CRITICAL, f"remote code piped to {what}")
        elif stream.kind == "file":
            if stream.path is not None:
                seg.add(Effect("read", path=stream.path, why="script read from its input", segment=seg.index))
            self.unseen_script(seg, language, unseen, "runs a script file" if unseen is None
                               else f"runs the script file {stream.path or '?'} from its input")
        elif unseen is not None:
            seg.make_opaque(f"{what} runs statements from its input, which cannot be known statically")
            self.unseen_script(seg, language, unseen, f"{what} runs statements from its input")
        else:
            seg.make_opaque(f"{what} runs code from its input, which cannot be known statically")
            seg.raise_risk(Risk.HIGH, f"{what} runs code from its input, which cannot be known statically")
