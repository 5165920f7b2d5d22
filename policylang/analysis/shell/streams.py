"""What a simple command writes to its output (the pipeline and substitution rules read it), and
what a program that sends its input to a host uploads.

The output is a :class:`~.state.Stream`: known text (``echo``, ``printf``, a decoder of known text),
fetched data (a program that fetches, or anything derived from fetched data), or opaque.  An opaque
output carries the files it was derived from (``cat a b |``, ``tar c dir |``, ``base64 < a |``): a
program that sends its input to a host (``sends_input`` in the catalog: nc, ssh, ``openssl
s_client``) uploads each of them.
"""
from __future__ import annotations

from typing import Sequence

from ...effects import Effect
from ...resolve import decode_ansi_c
from ..catalog import CommandModel, Parsed
from .decode import decode
from .state import _OPAQUE, Stream, W, _Seg

MAX_SOURCES = 64  # files an output is known to carry


def output_stream(model: CommandModel, prog: str, p: Parsed, args: Sequence[W], stdin: Stream | None,
                  seg: _Seg) -> Stream | None:
    """What the command of ``seg`` writes to its output, with the files an opaque output carries."""
    out = _stdout(model, prog, p, args, stdin)
    if out is not None and out.kind == "opaque" and not out.sources:
        carried = stdin.sources if stdin is not None else ()
        read = (e.path for e in seg.effects if e.kind == "read" and e.path is not None)
        sources = tuple(dict.fromkeys((*carried, *read)))
        if sources:
            out = Stream("opaque", why=f"output of {prog}", sources=sources[:MAX_SOURCES])
    return out


def send_input(seg: _Seg, stdin: Stream | None) -> None:
    """A program that sends what it reads to the host it connects to (``nc host < F``,
    ``cat F | nc host``, ``ssh host < F``): an upload of each file its input carries (bound to the
    command's hosts by ``bind_uploads``)."""
    if stdin is None:
        return
    paths = stdin.sources or ((stdin.path,) if stdin.kind == "file" and stdin.path is not None else ())
    for path in paths:
        seg.add(Effect("upload", path=path, why=f"{seg.program or '?'} sends its input, {path}", segment=seg.index))


def _stdout(model: CommandModel, prog: str, p: Parsed, args: Sequence[W], stdin: Stream | None) -> Stream | None:
    """What a command writes to its output, for the pipeline and substitution rules."""
    if model.fetches:
        return Stream("network", why=f"output of {prog}")
    if model.decodes and ("*" in model.decodes or p.flags.intersection(model.decodes)):
        return _decoded(model, prog, p, args, stdin)
    output = model.settings.get("output")
    if output == "echo":
        return _echo_output(args)
    if output == "printf":
        return _printf_output(args)
    if model.passthrough and not p.operands:
        return stdin if stdin is not None else _OPAQUE
    if stdin is not None and stdin.kind == "network":
        return Stream("network", why=f"{prog} of fetched data")
    return _OPAQUE


def _decoded(model: CommandModel, prog: str, p: Parsed, args: Sequence[W], stdin: Stream | None) -> Stream:
    """The output of a decoder: known when its input is known text and its codec is one that can
    be applied here (base64, base32, hex, reverse, tr); fetched when its input was; else unknown."""
    if p.operands and not (len(p.operands) <= 2 and model.settings.get("codec") == "tr"):
        return _OPAQUE  # it decodes files: what they hold is not known
    if stdin is None or stdin.kind != "static":
        return Stream("network", why=f"{prog} of fetched data") if stdin is not None and stdin.kind == "network" \
            else _OPAQUE
    codec = model.settings.get("codec")
    if not isinstance(codec, str) or not all(w.static for w in args):
        return _OPAQUE
    texts = decode(codec, stdin.texts, [w.orig for w in args])
    return _OPAQUE if texts is None else Stream("static", texts, f"decoded by {prog}")


def _echo_output(args: Sequence[W]) -> Stream:
    if not all(w.static for w in args):
        return _OPAQUE
    k = 0
    newline, escapes = True, False
    while k < len(args) and len(args[k].orig) > 1 and args[k].orig[0] == "-" and set(args[k].orig[1:]) <= set("neE"):
        opts = args[k].orig[1:]
        newline = newline and "n" not in opts
        escapes = "e" in opts or (escapes and "E" not in opts)
        k += 1
    text = " ".join(w.orig for w in args[k:])
    texts = [text]
    if "\\" in text:
        decoded = decode_ansi_c(text.split("\\c", 1)[0])
        texts = [decoded] if escapes else [text, decoded]
    end = "\n" if newline else ""
    return Stream("static", tuple(t + end for t in texts), "echo")


def _printf_output(args: Sequence[W]) -> Stream:
    if not args or not all(w.static for w in args):
        return _OPAQUE
    fmt = decode_ansi_c(args[0].orig)
    values = [w.orig for w in args[1:]]
    out: list[str] = []
    rounds = 0
    while True:
        i = 0
        used = 0
        while i < len(fmt):
            c = fmt[i]
            if c != "%":
                out.append(c)
                i += 1
                continue
            d = fmt[i + 1] if i + 1 < len(fmt) else ""
            if d == "%":
                out.append("%")
            elif d in ("s", "b", "d", "i", "u"):
                v = values[used] if used < len(values) else ""
                out.append(decode_ansi_c(v) if d == "b" else v)
                used += 1
            else:
                return _OPAQUE
            i += 2
        values = values[used:]
        rounds += 1
        if not values or used == 0 or rounds > 64:
            break
    return Stream("static", ("".join(out),), "printf")
