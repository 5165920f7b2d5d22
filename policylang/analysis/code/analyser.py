"""Inline code analysis: what a snippet of Python, JavaScript, Perl, Ruby or PHP does (DESIGN §7).

The shell analyser hands the source of interpreter one-liners (``python -c``, ``node -e``,
``perl -e``, ``ruby -e``, ``php -r``, heredocs fed to an interpreter) and the engine hands ``code``
actions to :func:`analyse_code`. It finds the commands the code spawns (so the same command policy
judges ``subprocess.run(["rm", "-rf", "/"])``), the paths it reads, writes and deletes, the hosts it
connects to, and the calls that run code the analysis cannot see (``eval`` of a run-time string,
deserialisers, native calls).

How each language is read:

* Python is parsed with :mod:`ast`. Calls are resolved through ``import x as y``,
  ``from x import y``, ``__import__("x")``, ``getattr(m, "name")`` and names assigned once;
  arguments are folded when they are literals, concatenations, f-strings, ``%``/``.format``
  with literal parts, ``os.path.join``, ``pathlib`` paths, or base64/hex decodings of literals.
* Node, Perl, Ruby and PHP are read by a careful tokenizer per language (strings with their
  escapes and interpolation, comments, regex and quote-like literals, heredocs), not by a full
  parser: calls are found as chains of names (``require('child_process').execSync``,
  ``$ua->get``, ``FileUtils.rm_rf``) followed by an argument list, in parentheses or, in Perl,
  Ruby and PHP, without them; names bound once by assignment, ``require``, ``import`` or
  destructuring are followed. Arguments are literal strings, arrays, hashes/objects and
  concatenations of literals; everything else is a run-time value.

What counts is data: ``policylang/data/code.toml`` says, per language, which calls spawn commands
and how their arguments become a command, which read, write or delete paths, which reach the
network and which are dangerous.

Findings are conservative: code that is never run (a function never called) is still reported,
and a call whose arguments are not literals makes the result opaque rather than silently
harmless. Work is bounded: sources above 256 KiB, nesting the parser cannot take, nested
``eval``/``exec`` strings beyond a depth and a total size, and constant folding beyond a size
budget all end in an opaque result that says why. :func:`analyse_code` never raises.
"""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import posixpath
import re
import shlex
import textwrap
import warnings
import tomllib
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Callable, Mapping, Union
from urllib.parse import urlsplit

from ...verdict import Risk, combine_risk

__all__ = ["CodeFindings", "analyse_code", "code_language", "MAX_SOURCE"]

MAX_SOURCE = 256 * 1024  # bytes of source analysed at all
_MAX_DEPTH = 4  # nested exec("...") / eval strings followed
_MAX_NESTED_CHARS = 1024 * 1024  # total source of nested strings analysed
_MAX_FOLD_CHARS = 4 * 1024 * 1024  # total characters built by constant folding
_MAX_VALUE = MAX_SOURCE  # longest single string constant folding builds
_MAX_STEPS = 4_000_000  # token-scan steps for the tokenizer-based languages
_MAX_COMMANDS = 200
_MAX_EFFECTS = 500
_MAX_WHY = 200
_MAX_VALUE_DEPTH = 40  # nesting of literals (lists of lists...) evaluated


@dataclass(frozen=True, slots=True)
class CodeFindings:
    """What a piece of inline code does.

    ``commands``: shell strings and argv tuples the code spawns, to be judged by the command policy.
    ``effects``: ``(kind, target, recursive)``; kind is ``read``/``write``/``delete`` with a path as
    written (``None`` when not a literal), or ``network`` with a host (``None`` when not a literal).
    ``risk``: LOW when nothing notable; else what the calls themselves imply (a recursive delete
    HIGH, a write or delete MEDIUM, a dangerous call HIGH, an opaque spawn UNKNOWN). Spawning a
    literal command adds only LOW: the command is judged on its own.
    ``why``: human-readable reasons. ``opaque``: the code does something that cannot be known
    statically; ``opaque_reason`` says what.
    """

    commands: tuple[str | tuple[str, ...], ...]
    effects: tuple[tuple[str, str | None, bool], ...]
    risk: Risk
    why: tuple[str, ...]
    opaque: bool
    opaque_reason: str = ""


def code_language(name: str) -> str | None:
    """The analyser a language or interpreter name goes to: ``python``, ``node``, ``perl``,
    ``ruby``, ``php`` or ``shell``; ``None`` when there is none. Versioned interpreter names
    (``python3.11``, ``/usr/bin/perl5.36``, ``php8.2``) are understood."""
    base = name.strip().rsplit("/", 1)[-1].lower()
    if base.endswith(".exe"):
        base = base[:-4]
    languages = _config().languages
    if base in languages:
        return languages[base]
    return languages.get(base.rstrip("0123456789.-"))


def analyse_code(language: str, source: str) -> CodeFindings:
    """Find what ``source``, written in ``language``, does. Never raises; bounded time.

    ``language`` is a language or interpreter name (see :func:`code_language`). Shell is not
    analysed here (the shell analyser owns it): it yields no findings. An unknown language is
    opaque.
    """
    try:
        lang = code_language(language) if isinstance(language, str) else None
        if lang == "shell":
            return CodeFindings((), (), Risk.LOW, (), False)
        if lang is None:
            return _opaque(f"no analyser for language {str(language)[:40]!r}")
        if not isinstance(source, str):
            return _opaque("the source is not text")
        if len(source) > MAX_SOURCE or len(source.encode("utf-8", "surrogatepass")) > MAX_SOURCE:
            return _opaque(f"the source is larger than {MAX_SOURCE // 1024} KiB")
        out = _Out(_Budget())
        _analyse_into(lang, source, out, 0, None)
        return out.finish()
    except RecursionError:
        return _opaque("the code is nested too deeply to analyse")
    except MemoryError:
        return _opaque("the code is too large to analyse")
    except Exception as exc:  # fail closed: an analyser bug must not let code through unexamined
        return _opaque(f"internal error while analysing the code: {type(exc).__name__}")


def _opaque(reason: str) -> CodeFindings:
    return CodeFindings((), (), Risk.UNKNOWN, (reason,), True, reason)


# --------------------------------------------------------------------------------------- tables


@dataclass(frozen=True, slots=True)
class _Tables:
    """The tables of one language, from code.toml."""

    spawn: Mapping[str, Mapping[str, Any]]
    files: Mapping[str, Mapping[str, Any]]
    network: Mapping[str, Mapping[str, Any]]
    dangerous: Mapping[str, Mapping[str, Any]]
    prefixes: tuple[tuple[str, Mapping[str, Any]], ...]  # dangerous "x.*" entries
    aliases: Mapping[str, str]
    transparent: Mapping[str, int]
    decoders: Mapping[str, str]
    wrappers: frozenset[str]
    fallback: Mapping[str, str]
    objects: Mapping[str, str]
    methods: Mapping[str, Mapping[str, Mapping[str, Any]]]
    loose: Mapping[str, tuple[str, str, Mapping[str, Any]]]  # method -> (table, full name, spec)
    any_receiver: frozenset[str]
    sensitive: frozenset[str]
    known: frozenset[str]  # every name any table lists
    last_names: frozenset[str]  # the last segment of every spawn/files/network/dangerous name


@dataclass(frozen=True, slots=True)
class _Config:
    risk: Mapping[str, Risk]
    langs: Mapping[str, _Tables]
    languages: Mapping[str, str]  # interpreter or language name -> analyser


@lru_cache(maxsize=1)
def _config() -> _Config:
    text = resources.files(__package__).joinpath("data").joinpath("code.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    risk = {k: Risk.parse(v) for k, v in data["risk"].items()}
    langs: dict[str, _Tables] = {}
    for lang in ("python", "node", "perl", "ruby", "php"):
        sec: Mapping[str, Any] = data[lang]
        dangerous = dict(sec.get("dangerous", {}))
        prefixes = tuple((k[:-2], v) for k, v in dangerous.items() if k.endswith(".*"))
        dangerous = {k: v for k, v in dangerous.items() if not k.endswith(".*")}
        loose: dict[str, tuple[str, str, Mapping[str, Any]]] = {}
        for table in ("spawn", "files", "network"):
            for name, spec in sec.get(table, {}).items():
                if spec.get("loose"):
                    loose[name.rsplit(".", 1)[-1]] = (table, name, spec)
        methods: dict[str, Mapping[str, Mapping[str, Any]]] = dict(sec.get("methods", {}))
        for kind, table_ in methods.items():
            for meth, spec in table_.items():
                if spec.get("loose"):
                    loose[meth] = ("method", kind, spec)
        aliases = dict(sec.get("aliases", {}))
        known = set(sec.get("spawn", {})) | set(sec.get("files", {})) | set(sec.get("network", {}))
        known |= set(dangerous) | set(sec.get("objects", {})) | set(sec.get("transparent", {}))
        known |= set(sec.get("decoders", {}))
        langs[lang] = _Tables(
            spawn=sec.get("spawn", {}),
            files=sec.get("files", {}),
            network=sec.get("network", {}),
            dangerous=dangerous,
            prefixes=prefixes,
            aliases=aliases,
            transparent=sec.get("transparent", {}),
            decoders=sec.get("decoders", {}),
            wrappers=frozenset(sec.get("wrappers", ())),
            fallback=sec.get("fallback", {}),
            objects=sec.get("objects", {}),
            methods=methods,
            loose=loose,
            any_receiver=frozenset(sec.get("any_receiver", ())),
            sensitive=frozenset(sec.get("sensitive_modules", ())),
            known=frozenset(known),
            last_names=frozenset(
                k.rsplit(".", 1)[-1]
                for table in (sec.get("spawn", {}), sec.get("files", {}), sec.get("network", {}), dangerous)
                for k in table
            ),
        )
    languages = {name: lang for lang, names in data["languages"].items() for name in names}
    return _Config(risk, langs, languages)


def _apply_aliases(name: str, aliases: Mapping[str, str]) -> str:
    """Rewrite the longest aliased prefix of a qualified name (segments joined by "." or "::")."""
    if not aliases:
        return name
    if name in aliases:
        return aliases[name] or name
    cuts = [i for i, ch in enumerate(name) if ch == "." or (ch == ":" and name.startswith("::", i))]
    for cut in reversed(cuts):
        key = name[:cut]
        if key in aliases:
            sep = "." if name[cut] == "." else "::"
            rest = name[cut + len(sep) :]
            value = aliases[key]
            return f"{value}{sep}{rest}" if value else rest
    return name


# --------------------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class _Unknown:
    """A value only known at run time; ``text`` renders it for messages."""

    text: str = "…"
    stringy: bool = False  # a string with run-time parts
    func: bool = False  # a function literal (a callback, not code text)


class _Missing:
    """An argument that is not there."""


_MISSING = _Missing()
_Value = Union[str, bytes, int, float, bool, None, "tuple[_Value, ...]", "dict[str, _Value]", _Unknown]


def _text(v: object) -> str | None:
    """The string a value stands for, or None when it is not a known string."""
    if isinstance(v, str):
        return v
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return None


def _render(v: object, limit: int = 80) -> str:
    if isinstance(v, _Unknown):
        s = v.text
    elif isinstance(v, (str, bytes)):
        s = repr(_text(v))
    elif isinstance(v, tuple):
        s = "[" + ", ".join(_render(x, limit) for x in v[:8]) + (", …" if len(v) > 8 else "") + "]"
    else:
        try:
            s = repr(v)
        except ValueError:  # an int too long to print
            s = "<a large number>"
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _truthy(v: object) -> bool | None:
    """Whether a literal option is set; None when it is not known."""
    if isinstance(v, _Unknown):
        return None
    return bool(v)


def _is_url(s: str) -> bool:
    head = s.split("://", 1)
    return len(head) == 2 and head[0].lower() in (
        "http",
        "https",
        "ftp",
        "ftps",
        "ws",
        "wss",
        "tcp",
        "udp",
        "ssl",
        "tls",
    )


def _host(v: object, style: str) -> str | None | _Missing:
    """The host an address value names; None when not a literal; _MISSING when it names no
    network peer (a Unix socket path)."""
    if isinstance(v, dict):
        for key in ("hostname", "host", "PeerAddr", "PeerHost", "url", "uri", "baseURL"):
            if key in v:
                return _host(v[key], "url" if key in ("url", "uri", "baseURL") else "host")
        return "localhost" if style in ("options", "port_host") else None
    if isinstance(v, tuple) and v:
        return _host(v[0], "host")
    s = _text(v)
    if s is None:
        return None
    s = s.strip()
    if style in ("address", "port_host", "host", "perl_socket") and (s.startswith("/") or s.startswith("\0")):
        return _MISSING
    if "://" in s:
        try:
            return urlsplit(s).hostname or None
        except ValueError:
            return None
    if style == "url" and s.startswith("//"):
        return s[2:].split("/", 1)[0].split(":", 1)[0] or None
    head = s.split("/", 1)[0]
    if head.startswith("["):
        return head[1:].split("]", 1)[0] or None
    if head.count(":") == 1:
        head = head.split(":", 1)[0]
    return head or None


def _decode(codec: str, v: _Value, extra: _Value | _Missing = _MISSING) -> _Value | None:
    """Decode a literal the way a decoder call would; None when it cannot be decoded."""
    data: bytes | None
    if isinstance(v, str):
        data = v.encode("utf-8", "surrogatepass")
    elif isinstance(v, bytes):
        data = v
    else:
        return None
    try:
        if codec == "buffer":
            enc = _text(extra) if not isinstance(extra, _Missing) else "utf8"
            codec = {"base64": "base64", "base64url": "base64url", "hex": "hex"}.get((enc or "").lower(), "")
            if not codec:
                return data if enc and enc.lower() in ("utf8", "utf-8", "latin1", "binary", "ascii") else None
        if codec == "base64":
            return base64.b64decode(data + b"=" * (-len(data) % 4))
        if codec == "base64url":
            return base64.urlsafe_b64decode(data + b"=" * (-len(data) % 4))
        if codec == "hex":
            return binascii.unhexlify(data.strip())
        if codec == "rot13":
            return codecs.decode(data.decode("latin-1"), "rot13")
        if codec == "reverse":
            return data[::-1].decode("utf-8", "replace")
        if codec == "url":
            from urllib.parse import unquote_to_bytes

            return unquote_to_bytes(data)
        wbits = {"zlib": 15, "inflate": -15, "gzip": 31}.get(codec)
        if wbits is None:
            return None
        d = zlib.decompressobj(wbits=wbits)
        out = d.decompress(data, _MAX_VALUE)
        return None if d.unconsumed_tail else out
    except (ValueError, binascii.Error, zlib.error, UnicodeError):
        return None


def _mode_writes(mode: str) -> bool:
    return any(c in mode for c in "wax+c>")


# ------------------------------------------------------------------------------------ collector


@dataclass(slots=True)
class _Budget:
    nested_chars: int = _MAX_NESTED_CHARS
    fold_chars: int = _MAX_FOLD_CHARS
    steps: int = _MAX_STEPS


@dataclass(slots=True)
class _Args:
    """The evaluated arguments of one call."""

    pos: list[_Value]
    kw: dict[str, _Value] = field(default_factory=dict)
    raw: list[str] = field(default_factory=list)  # source text of each positional argument
    recv: _Value | _Missing = _MISSING  # the receiver ("self") or the receiver chain's argument
    open_ended: bool = False  # a *args / splat: positions from len(pos) on are unknown
    kw_open: bool = False  # a **kwargs: any keyword may be set

    def get(self, index: int | str | None, keyword: str | None = None) -> _Value | _Missing:
        if isinstance(index, int):
            if -len(self.pos) <= index < len(self.pos):
                return self.pos[index]
            if self.open_ended and index >= 0:
                return _Unknown("*args")
        if keyword is not None:
            if keyword in self.kw:
                return self.kw[keyword]
            if self.kw_open:
                return _Unknown("**kwargs")
        return _MISSING

    def keyword(self, name: str) -> _Value | _Missing:
        if name in self.kw:
            return self.kw[name]
        return _Unknown("**kwargs") if self.kw_open else _MISSING


class _Out:
    """Collects findings across a source and the code nested in it."""

    def __init__(self, budget: _Budget) -> None:
        self.budget = budget
        self.config = _config()
        self.commands: list[str | tuple[str, ...]] = []
        self.effects: list[tuple[str, str | None, bool]] = []
        self.risks: list[Risk] = []
        self.why: list[str] = []
        self.opaque: list[str] = []
        self.prefix = ""
        self.nested_seen: set[tuple[str, str, str]] = set()
        self._seen_cmd: set[str | tuple[str, ...]] = set()
        self._seen_eff: set[tuple[str, str | None, bool]] = set()
        self._seen_why: set[str] = set()

    def note(self, why: str) -> None:
        why = self.prefix + why
        if why not in self._seen_why and len(self.why) < _MAX_WHY:
            self._seen_why.add(why)
            self.why.append(why)

    def make_opaque(self, reason: str, risk: Risk = Risk.UNKNOWN) -> None:
        reason = self.prefix + reason
        if reason not in self.opaque:
            self.opaque.append(reason)
        self.risks.append(risk)
        self.note(reason[len(self.prefix) :])

    def danger(self, why: str, opaque: bool = True) -> None:
        self.risks.append(self.config.risk["dangerous"])
        if opaque:
            self.make_opaque(why, self.config.risk["dangerous"])
        else:
            self.note(why)

    def command(self, cmd: str | tuple[str, ...], why: str) -> None:
        if cmd in self._seen_cmd:
            return
        if len(self.commands) >= _MAX_COMMANDS:
            self.make_opaque("the code spawns more commands than are analysed")
            return
        self._seen_cmd.add(cmd)
        self.commands.append(cmd)
        self.risks.append(self.config.risk["spawn"])
        self.note(why)

    def shell(self, name: str, v: _Value | _Missing) -> None:
        """``name`` runs ``v`` through a shell."""
        if isinstance(v, _Missing):
            return
        s = _text(v)
        if s is not None:
            if s.strip():
                self.command(s, f"{name} runs a shell command: {_render(s)}")
        elif isinstance(v, tuple):
            self.argv(name, list(v))
        else:
            self.make_opaque(f"{name} runs a command built at run time: {_render(v)}")

    def argv(self, name: str, items: list[_Value]) -> None:
        """``name`` runs the program ``items[0]`` with arguments ``items[1:]``, no shell."""
        out: list[str] = []
        for item in items:
            s = _text(item)
            if s is None and isinstance(item, (int, float)) and not isinstance(item, bool):
                s = _render(item)
            if s is None:
                shown = "[" + ", ".join(_render(x, 30) for x in items[:8]) + "]"
                self.make_opaque(f"{name} runs a command with arguments known only at run time: {shown}")
                return
            out.append(s)
        if out and out[0]:
            self.command(tuple(out), f"{name} runs {_render(tuple(out))}")

    def effect(self, kind: str, target: str | None, recursive: bool, why: str) -> None:
        eff = (kind, target, recursive)
        if eff in self._seen_eff:
            self.note(why)
            return
        if len(self.effects) >= _MAX_EFFECTS:
            self.make_opaque("the code has more effects than are analysed")
            return
        self._seen_eff.add(eff)
        self.effects.append(eff)
        key = "delete_recursive" if kind == "delete" and recursive else kind
        self.risks.append(self.config.risk.get(key, Risk.MEDIUM))
        self.note(why)

    def finish(self) -> CodeFindings:
        shells = [c for c in self.commands if _interactive_shell(c)]
        if shells:
            # A shell started without a script reads whatever input the code gave it.
            if any(kind == "network" for kind, _, _ in self.effects):
                self.risks.append(Risk.CRITICAL)
                self.why.append("starts a shell in code that also opens a network connection: a reverse shell")
            else:
                self.risks.append(Risk.HIGH)
                self.why.append("starts a shell whose input the code controls")
        risk = combine_risk(self.risks) if self.risks else Risk.LOW
        if risk is Risk.UNKNOWN and not self.opaque:
            risk = Risk.LOW
        reason = "; ".join(self.opaque[:3]) + ("; …" if len(self.opaque) > 3 else "")
        return CodeFindings(tuple(self.commands), tuple(self.effects), risk, tuple(self.why), bool(self.opaque), reason)


_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "ash", "busybox"})


def _interactive_shell(command: str | tuple[str, ...]) -> bool:
    """A shell run with no command string or script: ``/bin/sh -i``, ``bash``, ``"sh"``."""
    argv = command.split() if isinstance(command, str) else list(command)
    if not argv or argv[0].rsplit("/", 1)[-1] not in _SHELLS:
        return False
    return all(a.startswith("-") and "c" not in a.lstrip("-") for a in argv[1:]) and "-c" not in argv


def _analyse_into(lang: str, source: str, out: _Out, depth: int, parent: object) -> None:
    if lang == "python":
        _Python(source, out, depth, parent if isinstance(parent, _Python) else None).run()
    elif lang in ("node", "perl", "ruby", "php"):
        _Script(lang, source, out, depth, parent if isinstance(parent, _Script) else None).run()


def _nested(out: _Out, lang: str, code: str, via: str, depth: int, parent: object) -> None:
    """Analyse a literal string run as code (``exec("...")``, ``eval '...'``)."""
    if depth + 1 > _MAX_DEPTH:
        out.make_opaque(f"{via} runs code nested more than {_MAX_DEPTH} levels deep")
        return
    key = (lang, out.prefix + via, code)
    if key in out.nested_seen:
        return  # the same string run again: its findings are already in
    out.nested_seen.add(key)
    if len(code) > out.budget.nested_chars:
        out.make_opaque(f"{via} runs more nested code than is analysed")
        return
    out.budget.nested_chars -= len(code)
    saved = out.prefix
    out.prefix = f"{saved}{via}: "
    try:
        _analyse_into(lang, code, out, depth + 1, parent)
    finally:
        out.prefix = saved


# ------------------------------------------------------------------------- shared table appliers


def _dispatch(
    lang: str,
    name: str,
    args: _Args,
    out: _Out,
    run_code: Callable[[str, str], None],
    redispatch: Callable[[str, _Args], bool],
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
        _network(name, spec, args, out)
    spec = tables.files.get(name)
    if spec is not None:
        hit = True
        _files(name, spec, args, out)
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


def _spawn(name: str, spec: Mapping[str, Any], args: _Args, out: _Out, lang: str) -> None:
    style = spec.get("style", "shell")
    arg = spec.get("arg", 0)
    if style == "shell":
        out.shell(name, args.get(arg, spec.get("keyword")))
    elif style == "subprocess":
        v = args.get(0, "args")
        if isinstance(v, _Missing):
            return
        shell = args.keyword("shell")
        shell_on = False if isinstance(shell, _Missing) else _truthy(shell)
        exe = args.keyword("executable")
        if isinstance(v, tuple):
            if shell_on is not False and v:
                out.shell(name, v[0])  # with shell=True the first item is the shell command
                if shell_on is None:
                    out.argv(name, list(v))
                return
            items = list(v)
            if not isinstance(exe, _Missing) and items:
                items[0] = exe
            out.argv(name, items)
            return
        s = _text(v)
        if s is None or shell_on is not False:
            out.shell(name, v)
            return
        try:
            parts = shlex.split(s)
        except ValueError:
            parts = [s]
        if not isinstance(exe, _Missing) and parts:
            parts[0] = _text(exe) or ""
            if not parts[0]:
                out.make_opaque(f"{name} runs an executable known only at run time: {_render(exe)}")
                return
        out.argv(name, list(parts))
    elif style == "argv":
        v = args.get(arg, spec.get("keyword"))
        if isinstance(v, tuple):
            out.argv(name, list(v))
        elif not isinstance(v, _Missing):
            out.argv(name, [v])
    elif style == "list_or_shell":
        v = args.get(arg, spec.get("keyword"))
        if isinstance(v, dict):  # Bun.spawn({cmd: [...]}), Deno.run({cmd: [...]})
            v = v.get("cmd", _Unknown(_render(v)))
        if isinstance(v, tuple):
            if v and isinstance(v[0], dict):  # a leading env hash (Ruby IO.popen)
                v = v[1:]
            out.argv(name, list(v))
        else:
            out.shell(name, v)
    elif style == "argv_or_shell":
        vals = list(args.pos[arg:]) if isinstance(arg, int) else list(args.pos)
        if vals and isinstance(vals[0], dict):
            vals = vals[1:]
        if vals and isinstance(vals[-1], dict):
            vals = vals[:-1]
        if not vals:
            if args.open_ended:
                out.make_opaque(f"{name} runs a command known only at run time")
            return
        if args.open_ended:
            vals.append(_Unknown("*args"))
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
        program: _Value | _Missing = args.get(spec.get("program", 0)) if style != "varargs" else _MISSING
        if style == "exec_list":
            lst = args.get(arg)
            if isinstance(lst, _Missing):
                lst = ()
            if not isinstance(lst, tuple):
                out.make_opaque(f"{name} runs a command with arguments known only at run time: {_render(lst)}")
                return
            rest = list(lst) if spec.get("prepend_program") else list(lst[1:])
        else:
            rest = list(args.pos[arg:])
            if style == "exec_varargs" and spec.get("drop_last") and rest:
                rest = rest[:-1]
            if args.open_ended:
                rest.append(_Unknown("*args"))
        if style == "varargs":
            out.argv(name, rest)
        elif not isinstance(program, _Missing):
            out.argv(name, [program, *rest])
    elif style == "program_args":
        program = args.get(0)
        if isinstance(program, _Missing):
            return
        second = args.get(1)
        rest_v: _Value = second if isinstance(second, (tuple, _Unknown)) else ()
        opts = second if isinstance(second, dict) else args.get(2)
        shell = opts.get("shell") if isinstance(opts, dict) else None
        if not isinstance(rest_v, tuple):
            out.make_opaque(f"{name} runs {_render(program)} with arguments known only at run time: {_render(rest_v)}")
            return
        if shell is not None and _truthy(shell) is not False:
            texts = [_text(x) for x in (program, *rest_v)]
            if all(t is not None for t in texts):
                out.shell(name, " ".join(t for t in texts if t is not None))
            else:
                out.make_opaque(f"{name} runs a shell command built at run time")
            return
        out.argv(name, [program, *rest_v])
    elif style == "fork":
        module = args.get(0)
        lst2 = args.get(1)
        rest2: list[_Value] = list(lst2) if isinstance(lst2, tuple) else []
        if isinstance(lst2, _Unknown):
            rest2 = [lst2]
        if not isinstance(module, _Missing):
            out.argv(name, ["node", module, *rest2])
    elif style == "pipe_open":
        _pipe_open(name, str(spec.get("pipe", lang)), args, out)


def _pipe_open(name: str, flavour: str, args: _Args, out: _Out) -> None:
    """Perl open / Ruby Kernel#open: a pipe runs a command, anything else opens a file."""
    vals = args.pos
    if flavour == "perl":
        if len(vals) >= 3:
            mode = _text(vals[1])
            if mode is None:
                out.make_opaque(f"{name} with a mode known only at run time may run a command")
                return
            mode = mode.strip()
            target = vals[2]
            if mode.startswith(("-|", "|-")):
                rest = list(vals[2:])
                if args.open_ended:
                    rest.append(_Unknown("@args"))
                if len(rest) == 1:
                    out.shell(name, rest[0])
                else:
                    out.argv(name, rest)
                return
            kind = "write" if mode.startswith((">", "+")) else "read"
            _file_target(name, kind, target, False, out, f"opens for {'writing' if kind == 'write' else 'reading'}")
            return
        if len(vals) == 2:
            spec = _text(vals[1])
            if spec is None:
                out.make_opaque(
                    f"2-argument {name} of a string known only at run time may run a command: {_render(vals[1])}"
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
    s = _text(vals[0])
    if s is None:
        if isinstance(vals[0], _Unknown):
            out.make_opaque(f"{name} of a string known only at run time may run a command: {_render(vals[0])}")
        return
    if s.startswith("|"):
        out.shell(name, s[1:].strip())
        return
    if _is_url(s):
        _record_network(name, _host(s, "url"), out)
        return
    mode = _text(vals[1]) if len(vals) > 1 else "r"
    kind = "write" if mode is None or _mode_writes(mode) else "read"
    _file_target(name, kind, s, False, out, "opens for writing" if kind == "write" else "opens for reading")


_KIND_WORDS = {"read": "reads", "write": "writes", "delete": "deletes", "network": "connects to"}


def _file_target(name: str, kind: str, v: _Value | _Missing, recursive: bool, out: _Out, what: str | None) -> None:
    if isinstance(v, _Missing) or v is None or isinstance(v, bool) or isinstance(v, (int, float)):
        return  # absent, or a file descriptor
    if isinstance(v, tuple):
        for item in v:
            _file_target(name, kind, item, recursive, out, what)
        return
    verb = what or ("deletes a tree" if kind == "delete" and recursive else _KIND_WORDS.get(kind, kind))
    s = _text(v)
    if s is None:
        out.effect(kind, None, recursive, f"{name} {verb} a path known only at run time: {_render(v)}")
    else:
        out.effect(kind, s, recursive, f"{name} {verb}: {s}")


def _record_network(name: str, host: str | None | _Missing, out: _Out, shown: str = "") -> None:
    if isinstance(host, _Missing):
        return
    if host is None:
        out.effect("network", None, False, f"{name} connects to an address known only at run time{shown}")
    else:
        out.effect("network", host, False, f"{name} connects to {host}")


def _files(name: str, spec: Mapping[str, Any], args: _Args, out: _Out) -> None:
    for eff in spec.get("effects", [spec]):
        arg = eff.get("arg", 0)
        kind = str(eff["kind"])
        if arg == "all":
            targets: list[_Value] = []
            recursive = bool(eff.get("recursive"))
            for v in args.pos:
                if isinstance(v, dict):
                    continue  # an options hash
                if eff.get("skip_flags") and isinstance(v, str) and v.startswith("-"):
                    recursive = recursive or "r" in v.lower()
                    continue
                targets.append(v)
            if args.open_ended:
                targets.append(_Unknown("*args"))
        else:
            got = args.recv if arg in ("self", "recv") else args.get(arg, eff.get("keyword"))
            if isinstance(got, _Missing):
                if "default" not in eff:
                    continue
                got = str(eff["default"])
            targets = [got]
            recursive = bool(eff.get("recursive"))
        if not recursive and "recursive_option" in eff:
            opts = args.get(eff.get("options", 1))
            if isinstance(opts, dict):
                recursive = _truthy(opts.get(str(eff["recursive_option"]), False)) is not False
            elif isinstance(opts, _Unknown):
                recursive = True  # options known only at run time: assume the worst
        what = eff.get("what")
        for target in targets:
            s = _text(target)
            if kind == "open":
                mode_v = args.get(eff.get("mode_arg", 1), eff.get("mode_keyword"))
                mode = str(eff.get("default_mode", "r")) if isinstance(mode_v, _Missing) else _text(mode_v)
                actual = "write" if mode is None or _mode_writes(mode) else "read"
                what_open = "opens for writing" if actual == "write" else "opens for reading"
            else:
                actual, what_open = kind, what
            if s is not None and eff.get("pipe_ok") and s.startswith("|"):
                out.shell(name, s[1:].strip())
                continue
            if s is not None and eff.get("url_ok") and _is_url(s):
                _record_network(name, _host(s, "url"), out)
                continue
            _file_target(name, actual, target, recursive, out, what_open)


def _network(name: str, spec: Mapping[str, Any], args: _Args, out: _Out) -> None:
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
            v = "localhost" if isinstance(host_v, _Missing) or isinstance(host_v, dict) else host_v
    if isinstance(v, _Missing):
        return
    _record_network(name, _host(v, style), out, f": {_render(v)}")


def _dangerous(
    name: str,
    spec: Mapping[str, Any],
    args: _Args,
    out: _Out,
    run_code: Callable[[str, str], None],
    redispatch: Callable[[str, _Args], bool],
) -> None:
    style = spec.get("style", "always")
    if style == "always":
        out.danger(str(spec.get("why", f"{name} is dangerous")))
        return
    v = args.get(spec.get("arg", 0), spec.get("keyword"))
    if isinstance(v, _Missing):
        return
    if style in ("code", "code_if_string"):
        s = _text(v)
        if s is not None:
            run_code(s, name)
        elif isinstance(v, _Unknown) and not v.func and (style == "code" or v.stringy):
            out.danger(f"{name} runs code built at run time: {_render(v)}")
    elif style == "import":
        if isinstance(v, _Unknown):
            out.danger(f"{name} loads a module whose name is computed at run time: {_render(v)}")
    elif style == "send":
        target = _text(v)
        if target is None:
            if isinstance(v, _Unknown) and not v.func:
                out.danger(f"{name} calls a method whose name is computed at run time: {_render(v)}")
            return
        rest = list(args.pos[1:])
        if spec.get("unknown_args"):
            rest = [_Unknown("an item of a list")]
        elif spec.get("spread"):
            rest = list(rest[0]) if rest and isinstance(rest[0], tuple) else [_Unknown("args")]
        sub = _Args(rest, dict(args.kw), list(args.raw[1:]), _MISSING, args.open_ended, args.kw_open)
        redispatch(target.lstrip(":"), sub)
    elif style == "preg_e":
        pattern = _text(v)
        if pattern and pattern[0] not in "\\ " and not pattern[0].isalnum():
            close = {"(": ")", "[": "]", "{": "}", "<": ">"}.get(pattern[0], pattern[0])
            end = pattern.rfind(close)
            if end > 0 and "e" in pattern[end + 1 :]:
                out.danger(f"{name} with the /e modifier evaluates its replacement as code")


# ---------------------------------------------------------------------------------------- python

_AMBIGUOUS = object()  # a name bound more than once, or to something that is not followed
_DECODERS: dict[str, Callable[..., bytes]] = {
    "base64.b64decode": base64.b64decode,
    "base64.standard_b64decode": base64.standard_b64decode,
    "base64.urlsafe_b64decode": base64.urlsafe_b64decode,
    "base64.b32decode": base64.b32decode,
    "base64.b16decode": base64.b16decode,
    "base64.a85decode": base64.a85decode,
    "base64.b85decode": base64.b85decode,
    "base64.decodebytes": base64.decodebytes,
    "binascii.a2b_base64": binascii.a2b_base64,
    "binascii.unhexlify": binascii.unhexlify,
    "binascii.a2b_hex": binascii.a2b_hex,
    "bytes.fromhex": bytes.fromhex,
}
_SAFE_CODECS = frozenset(
    "rot13 rot_13 base64 base_64 hex hex_codec base64_codec zlib zlib_codec utf-8 utf8 latin-1 latin1 "
    "ascii utf-16".split()
)
_PATH_RETURNING = frozenset(
    "joinpath expanduser resolve absolute with_name with_suffix with_stem relative_to parent home cwd".split()
)
_STR_METHODS = frozenset(
    "strip lstrip rstrip lower upper replace decode encode join format split removeprefix "
    "removesuffix title capitalize casefold swapcase zfill center ljust rjust".split()
)


def _size(v: object) -> int:
    """The length of a string or sequence value (its items' lengths for a sequence)."""
    if isinstance(v, (str, bytes)):
        return len(v)
    if isinstance(v, tuple):
        return len(v) + sum(len(x) for x in v if isinstance(x, (str, bytes)))
    return 24


def _spec_is_safe(spec: str) -> bool:
    """A format spec or %-format that cannot make a huge string (no width of 5+ digits)."""
    if "*" in spec:  # '%*d': the width comes from the arguments
        return False
    run = 0
    for ch in spec:
        run = run + 1 if ch.isdigit() else 0
        if run >= 5:
            return False
    return True


_INDEXED = frozenset(
    {
        ast.Call,
        ast.Attribute,
        ast.Name,
        ast.Assign,
        ast.AnnAssign,
        ast.NamedExpr,
        ast.Import,
        ast.ImportFrom,
        ast.AugAssign,
        ast.For,
        ast.AsyncFor,
        ast.comprehension,
        ast.withitem,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.arg,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        ast.MatchMapping,
    }
)  # the node types _Python._index looks at


class _Python:
    """Analysis of Python source with the ast module."""

    def __init__(self, source: str, out: _Out, depth: int, parent: "_Python | None") -> None:
        self.source = source
        self.out = out
        self.depth = depth
        self.parent = parent
        self.tables = out.config.langs["python"]
        self.bindings: dict[str, object] = {}  # name -> ("import", qual) | ("value", expr) | _AMBIGUOUS
        self.star: list[str] = []
        self.lines: list[str] = []
        self._const_memo: dict[int, _Value] = {}
        self._active: set[int] = set()
        self.decoded = False  # set when folding decoded base64/hex/zlib
        self._references: list[ast.expr] = []

    # -- entry
    def run(self) -> None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarnings about the analysed code are not ours
                tree = ast.parse(self.source)
        except SyntaxError as exc:
            where = f" (line {exc.lineno})" if exc.lineno else ""
            self.out.make_opaque(f"python source does not parse: {exc.msg}{where}")
            return
        except (ValueError, TypeError) as exc:
            self.out.make_opaque(f"python source does not parse: {exc}")
            return
        except (RecursionError, MemoryError):
            self.out.make_opaque("python source is nested too deeply to parse")
            return
        self.lines = re.split(r"\r\n|\r|\n", self.source)  # the line breaks ast counts
        try:
            for node in self._index(tree):
                self._call(node)
            for ref in self._references:
                self._reference(ref)
        except RecursionError:
            self.out.make_opaque("python source is nested too deeply to analyse")

    # -- names
    def _bind(self, name: str, value: object) -> None:
        old = self.bindings.get(name)
        if old is None:
            self.bindings[name] = value
        elif old is not _AMBIGUOUS and not (
            isinstance(old, tuple) and isinstance(value, tuple) and old[0] == "import" and old == value
        ):
            self.bindings[name] = _AMBIGUOUS

    def _bind_target(self, target: ast.expr, value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, ("value", value) if value is not None else _AMBIGUOUS)
        elif isinstance(target, (ast.Tuple, ast.List)):
            values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
            if (
                values is not None
                and len(values) == len(target.elts)
                and not any(isinstance(e, ast.Starred) for e in target.elts)
            ):
                for t, v in zip(target.elts, values, strict=True):
                    self._bind_target(t, v)
            else:
                for t in target.elts:
                    self._bind_target(t.value if isinstance(t, ast.Starred) else t, None)
        elif isinstance(target, ast.Starred):
            self._bind_target(target.value, None)

    def _index(self, tree: ast.AST) -> list[ast.Call]:
        """Record every binding of a name; return the calls, in walk order. Also collect the
        names of table functions used as values (``map(os.remove, files)``)."""
        calls: list[ast.Call] = []
        inner: set[int] = set()  # nodes that are a call's function, an attribute's base, or a bound value
        refs: list[ast.expr] = []
        last_names = self.tables.last_names
        for node in ast.walk(tree):
            if type(node) not in _INDEXED:
                continue
            if isinstance(node, ast.Call):
                calls.append(node)
                inner.add(id(node.func))
            elif isinstance(node, ast.Attribute):
                inner.add(id(node.value))
                if node.attr in last_names and isinstance(node.ctx, ast.Load):
                    refs.append(node)
            elif isinstance(node, ast.Name):
                if node.id in last_names and isinstance(node.ctx, ast.Load):
                    refs.append(node)
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
                inner.add(id(node.value))
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self._bind(alias.asname, ("import", alias.name))
                    else:
                        top = alias.name.split(".", 1)[0]
                        self._bind(top, ("import", top))
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                for alias in node.names:
                    if alias.name == "*":
                        if not node.level:
                            self.star.append(module)
                        continue
                    local = alias.asname or alias.name
                    if node.level:
                        self._bind(local, _AMBIGUOUS)
                    else:
                        self._bind(local, ("import", f"{module}.{alias.name}" if module else alias.name))
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    self._bind_target(target, node.value if len(node.targets) == 1 else None)
                if len(node.targets) > 1:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.bindings[target.id] = _AMBIGUOUS
            elif isinstance(node, ast.AnnAssign):
                self._bind_target(node.target, node.value)
            elif isinstance(node, ast.NamedExpr):
                self._bind_target(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                self._bind_target(node.target, None)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind_target(node.target, None)
            elif isinstance(node, ast.withitem):
                if node.optional_vars is not None:
                    self._bind_target(node.optional_vars, node.context_expr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._bind(node.name, _AMBIGUOUS)
            elif isinstance(node, ast.arg):
                self._bind(node.arg, _AMBIGUOUS)
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self._bind(node.name, _AMBIGUOUS)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self._bind(node.name, _AMBIGUOUS)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self._bind(node.rest, _AMBIGUOUS)
        self._references = [r for r in refs if id(r) not in inner]
        return calls

    def _lookup(self, name: str) -> tuple[object, "_Python"] | None:
        scope: _Python | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name], scope
            scope = scope.parent
        return None

    def _normalise(self, name: str) -> str:
        name = _apply_aliases(name, self.tables.aliases)
        for prefix in ("builtins.", "__builtins__.", "__builtin__."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
        return name

    def qualname(self, node: ast.expr) -> str | None:
        """The qualified name an expression refers to (``os.system``), normalised; or None."""
        key = id(node)
        if key in self._active:
            return None
        self._active.add(key)
        try:
            q = self._qualname(node)
        finally:
            self._active.discard(key)
        return self._normalise(q) if q is not None else None

    def _qualname(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            found = self._lookup(node.id)
            if found is None:
                for module in self.star:
                    candidate = self._normalise(f"{module}.{node.id}")
                    if candidate in self.tables.known:
                        return candidate
                return node.id
            binding, scope = found
            if binding is _AMBIGUOUS or not isinstance(binding, tuple):
                return None
            if binding[0] == "import":
                return str(binding[1])
            value = binding[1]
            return scope.qualname(value) if isinstance(value, ast.expr) else None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            func = self.qualname(node.func)
            if func in ("__import__", "importlib.import_module") and node.args:
                mod = _text(self.const(node.args[0]))
                if mod is None:
                    return None
                if func == "__import__" and len(node.args) < 4 and not any(k.arg == "fromlist" for k in node.keywords):
                    return mod.split(".", 1)[0]
                return mod
            if func == "getattr" and len(node.args) >= 2:
                attr = _text(self.const(node.args[1]))
                base = self.qualname(node.args[0])
                return f"{base}.{attr}" if base and attr else None
            return None
        if isinstance(node, ast.Subscript):
            key = _text(self.const(node.slice))
            if key is None:
                return None
            inner = node.value
            if isinstance(inner, ast.Attribute) and inner.attr == "__dict__":
                base = self.qualname(inner.value)
                return f"{base}.{key}" if base else None
            if isinstance(inner, ast.Call) and self.qualname(inner.func) == "vars" and len(inner.args) == 1:
                base = self.qualname(inner.args[0])
                return f"{base}.{key}" if base else None
            if isinstance(inner, ast.Name) and inner.id == "__builtins__":
                return key
            if isinstance(inner, ast.Call) and self.qualname(inner.func) == "globals":
                return self._qualname(ast.Name(id=key, ctx=ast.Load()))
            return None
        return None

    def obj_kind(self, node: ast.expr) -> str | None:
        """The kind of object (``path``, ``socket``...) an expression evaluates to, if known."""
        key = id(node)
        if key in self._active:
            return None
        self._active.add(key)
        try:
            if isinstance(node, ast.Call):
                q = self.qualname(node.func)
                if q is not None and q in self.tables.objects:
                    return self.tables.objects[q]
                if isinstance(node.func, ast.Attribute) and node.func.attr in _PATH_RETURNING:
                    return "path" if self.obj_kind(node.func.value) == "path" else None
                return None
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                return "path" if self.obj_kind(node.left) == "path" else None
            if isinstance(node, ast.Attribute) and node.attr == "parent":
                return "path" if self.obj_kind(node.value) == "path" else None
            if isinstance(node, ast.Name):
                found = self._lookup(node.id)
                if found is not None:
                    binding, scope = found
                    if isinstance(binding, tuple) and binding[0] == "value" and isinstance(binding[1], ast.expr):
                        return scope.obj_kind(binding[1])
            return None
        finally:
            self._active.discard(key)

    # -- constant folding
    def snippet(self, node: ast.AST) -> str:
        lineno = getattr(node, "lineno", None)
        end = getattr(node, "end_lineno", None)
        col = getattr(node, "col_offset", 0)
        end_col = getattr(node, "end_col_offset", None)
        if lineno is None or end is None or end_col is None or not (1 <= lineno <= len(self.lines)):
            return "…"
        if lineno == end:
            text = self.lines[lineno - 1][col:end_col]
        else:
            text = self.lines[lineno - 1][col:] + " …"
        return str(text) if len(text) <= 80 else str(text[:79]) + "…"

    def const(self, node: ast.expr | None) -> _Value:
        """The value of an expression when it is made of literals; else an _Unknown."""
        if node is None:
            return _Unknown()
        key = id(node)
        if key in self._const_memo:
            return self._const_memo[key]
        if key in self._active:
            return _Unknown(self.snippet(node))
        self._active.add(key)
        try:
            value = self._const(node)
        finally:
            self._active.discard(key)
        if isinstance(value, (str, bytes)) and len(value) > 1024:
            if len(value) > _MAX_VALUE or len(value) > self.out.budget.fold_chars:
                value = _Unknown(self.snippet(node), stringy=True)
            else:
                self.out.budget.fold_chars -= len(value)
        self._const_memo[key] = value
        return value

    def _unknown(self, node: ast.expr, stringy: bool = False) -> _Unknown:
        return _Unknown(self.snippet(node), stringy=stringy)

    def _const(self, node: ast.expr) -> _Value:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, (str, bytes, int, float, bool)) or v is None:
                return v
            return self._unknown(node)
        if isinstance(node, ast.JoinedStr):
            return self._fstring(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            items: list[_Value] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.const(elt.value)
                    if isinstance(inner, tuple):
                        items.extend(inner)
                        continue
                    items.append(_Unknown(self.snippet(elt)))
                    continue
                items.append(self.const(elt))
            return tuple(items)
        if isinstance(node, ast.Dict):
            out: dict[str, _Value] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                ks = _text(self.const(key_node)) if key_node is not None else None
                if ks is None:
                    return self._unknown(node)
                out[ks] = self.const(value_node)
            return out
        if isinstance(node, ast.Name):
            found = self._lookup(node.id)
            if found is not None:
                binding, scope = found
                if isinstance(binding, tuple) and binding[0] == "value" and isinstance(binding[1], ast.expr):
                    return scope.const(binding[1])
            return self._unknown(node)
        if isinstance(node, ast.Call):
            return self._call_value(node)
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Attribute) and node.attr == "parent" and self.obj_kind(node.value) == "path":
            base = _text(self.const(node.value))
            return posixpath.dirname(base.rstrip("/")) or "." if base is not None else self._unknown(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.const(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
        return self._unknown(node)

    def _fstring(self, node: ast.JoinedStr) -> _Value:
        parts: list[str] = []
        dynamic = False
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                parts.append(value.value)
                continue
            if not isinstance(value, ast.FormattedValue):
                dynamic = True
                continue
            v = self.const(value.value)
            spec = ""
            if value.format_spec is not None:
                spec_v = self.const(value.format_spec)
                if not isinstance(spec_v, str) or not _spec_is_safe(spec_v):
                    dynamic = True
                    continue
                spec = spec_v
            if isinstance(v, _Unknown) or isinstance(v, dict):
                dynamic = True
                continue
            try:
                if value.conversion == ord("r"):
                    v = repr(v)
                elif value.conversion == ord("a"):
                    v = ascii(v)
                elif value.conversion == ord("s"):
                    v = str(v)
                parts.append(format(v, spec))
            except (ValueError, TypeError):
                dynamic = True
            if sum(len(p) for p in parts) > _MAX_VALUE:
                return self._unknown(node, stringy=True)
        if dynamic:
            return self._unknown(node, stringy=True)
        return "".join(parts)

    def _binop(self, node: ast.BinOp) -> _Value:
        if isinstance(node.op, ast.Add):
            operands: list[ast.expr] = []
            cur: ast.expr = node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Add):
                operands.append(cur.right)
                cur = cur.left
            operands.append(cur)
            operands.reverse()
            values = [self.const(o) for o in operands]
            if sum(_size(v) for v in values) > _MAX_VALUE:
                return self._unknown(node, stringy=True)
            if all(isinstance(v, str) for v in values):
                return self._bounded("".join(v for v in values if isinstance(v, str)), node)
            if all(isinstance(v, bytes) for v in values):
                return self._bounded(b"".join(v for v in values if isinstance(v, bytes)), node)
            if all(isinstance(v, tuple) for v in values):
                return tuple(x for v in values if isinstance(v, tuple) for x in v)
            stringy = any(isinstance(v, (str, bytes)) or (isinstance(v, _Unknown) and v.stringy) for v in values)
            return self._unknown(node, stringy=stringy)
        left = self.const(node.left)
        if isinstance(node.op, ast.Div) and self.obj_kind(node.left) == "path":
            right_text = _text(self.const(node.right))
            base = _text(left)
            if base is None or right_text is None:
                return self._unknown(node, stringy=True)
            return posixpath.join(base, right_text)
        if isinstance(node.op, ast.Mod) and isinstance(left, (str, bytes)):
            right = self.const(node.right)
            items = right if isinstance(right, tuple) else (right,)
            if (
                (_text(left) or "").count("%") * max((_size(x) for x in items), default=0) + len(left) > _MAX_VALUE
                or not _spec_is_safe(_text(left) or "")
                or isinstance(right, _Unknown)
                or (isinstance(right, tuple) and any(isinstance(x, _Unknown) for x in right))
            ):
                return self._unknown(node, stringy=True)
            try:
                formatted: str | bytes = left % right
                return self._bounded(formatted, node)
            except (TypeError, ValueError, KeyError, OverflowError):
                return self._unknown(node, stringy=True)
        if isinstance(node.op, ast.Mult):
            right = self.const(node.right)
            seq, count = (left, right) if isinstance(left, (str, bytes, tuple)) else (right, left)
            if isinstance(seq, (str, bytes, tuple)) and isinstance(count, int) and not isinstance(count, bool):
                if count <= 0:
                    return seq[:0]
                if len(seq) * count > _MAX_VALUE:
                    return self._unknown(node, stringy=isinstance(seq, (str, bytes)))
                return seq * count
        return self._unknown(node)

    def _bounded(self, v: _Value, node: ast.expr) -> _Value:
        if isinstance(v, (str, bytes)) and len(v) > _MAX_VALUE:
            return self._unknown(node, stringy=True)
        return v

    def _subscript(self, node: ast.Subscript) -> _Value:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            if self.qualname(node.value) == "os.environ":
                key = _text(self.const(node.slice))
                return "~" if key == "HOME" else self._unknown(node, stringy=True)
        base = self.const(node.value)
        if isinstance(base, _Unknown):
            return self._unknown(node)
        if isinstance(node.slice, ast.Slice):
            parts = [
                self.const(p) if p is not None else None for p in (node.slice.lower, node.slice.upper, node.slice.step)
            ]
            if any(p is not None and not isinstance(p, int) for p in parts) or not isinstance(
                base, (str, bytes, tuple)
            ):
                return self._unknown(node)
            lo, hi, step = (p if isinstance(p, int) else None for p in parts)
            if step == 0:
                return self._unknown(node)
            return base[lo:hi:step]
        index = self.const(node.slice)
        try:
            if isinstance(base, dict) and isinstance(index, str):
                return base[index]
            if isinstance(base, (str, bytes, tuple)) and isinstance(index, int) and not isinstance(index, bool):
                item = base[index]
                return item
        except (IndexError, KeyError):
            pass
        return self._unknown(node)

    def _call_value(self, node: ast.Call) -> _Value:
        func = node.func
        name = self.qualname(func)
        args = node.args
        if any(isinstance(a, ast.Starred) for a in args):
            return self._unknown(node)
        if name is not None:
            if name in self.tables.transparent:
                idx = int(self.tables.transparent[name])
                return self.const(args[idx]) if idx < len(args) else self._unknown(node)
            if self.tables.objects.get(name) == "path":
                if name.endswith(".home"):
                    return "~"
                if name.endswith(".cwd"):
                    return "."
                parts = [_text(self.const(a)) for a in args]
                if any(p is None for p in parts):
                    return self._unknown(node, stringy=True)
                return posixpath.join(*[p for p in parts if p is not None]) if parts else "."
            if name == "os.path.join" and args:
                parts = [_text(self.const(a)) for a in args]
                if any(p is None for p in parts):
                    return self._unknown(node, stringy=True)
                return posixpath.join(*[p for p in parts if p is not None])
            if (
                name
                in (
                    "os.path.expanduser",
                    "os.path.abspath",
                    "os.path.normpath",
                    "os.path.realpath",
                    "os.fspath",
                    "str",
                    "os.path.expandvars",
                )
                and len(args) == 1
            ):
                v = self.const(args[0])
                if name == "os.path.normpath" and isinstance(v, str):
                    return posixpath.normpath(v)
                return v if isinstance(v, (str, bytes)) or name != "str" or isinstance(v, _Unknown) else str(v)
            if name in ("os.getcwd", "os.getcwdb") and not args:
                return "."
            if name in ("os.getenv", "os.environ.get") and args:
                return "~" if _text(self.const(args[0])) == "HOME" else self._unknown(node, stringy=True)
            if name == "os.path.dirname" and len(args) == 1:
                v = _text(self.const(args[0]))
                return posixpath.dirname(v) if v is not None else self._unknown(node, stringy=True)
            if name == "chr" and len(args) == 1:
                v = self.const(args[0])
                if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 0x110000:
                    return chr(v)
                return self._unknown(node, stringy=True)
            if name == "bytes" and len(args) == 1:
                v = self.const(args[0])
                if isinstance(v, tuple) and all(
                    isinstance(x, int) and not isinstance(x, bool) and 0 <= x < 256 for x in v
                ):
                    return bytes(x for x in v if isinstance(x, int))
                return v if isinstance(v, bytes) else self._unknown(node)
            if name == "shlex.join" and len(args) == 1:
                v = self.const(args[0])
                if isinstance(v, tuple) and all(isinstance(x, str) for x in v):
                    return shlex.join(x for x in v if isinstance(x, str))
                return self._unknown(node, stringy=True)
            if name in _DECODERS and args:
                return self._decode(node, _DECODERS[name], args[0])
            if name in ("codecs.decode", "codecs.encode") and args:
                return self._codec(node, name)
            if name in ("zlib.decompress", "gzip.decompress", "bz2.decompress", "lzma.decompress") and args:
                return self._decompress(node, name, args[0])
        if isinstance(func, ast.Attribute):
            if func.attr in _PATH_RETURNING and self.obj_kind(func.value) == "path":
                base = _text(self.const(func.value))
                if base is None:
                    return self._unknown(node, stringy=True)
                if func.attr == "joinpath":
                    parts = [_text(self.const(a)) for a in args]
                    if any(p is None for p in parts):
                        return self._unknown(node, stringy=True)
                    return posixpath.join(base, *[p for p in parts if p is not None])
                if func.attr in ("expanduser", "resolve", "absolute"):
                    return base
                return self._unknown(node, stringy=True)
            if func.attr in _STR_METHODS:
                return self._str_method(node, func)
        return self._unknown(node)

    def _str_method(self, node: ast.Call, func: ast.Attribute) -> _Value:
        recv = self.const(func.value)
        if not isinstance(recv, (str, bytes)):
            return self._unknown(node, stringy=isinstance(recv, _Unknown) and recv.stringy)
        args = [self.const(a) for a in node.args]
        kwargs = {k.arg: self.const(k.value) for k in node.keywords if k.arg}
        if any(isinstance(a, _Unknown) for a in args) or any(isinstance(v, _Unknown) for v in kwargs.values()):
            return self._unknown(node, stringy=True)
        if func.attr == "format" and (not _spec_is_safe(_text(recv) or "") or len(node.keywords) != len(kwargs)):
            return self._unknown(node, stringy=True)
        if func.attr in ("replace", "join", "format") and not self._method_fits(recv, func.attr, args, kwargs):
            return self._unknown(node, stringy=True)
        if func.attr in ("center", "ljust", "rjust", "zfill") and any(
            isinstance(a, int) and a > _MAX_VALUE for a in args
        ):
            return self._unknown(node, stringy=True)
        if func.attr == "decode" or func.attr == "encode":
            codec = _text(args[0]) if args else "utf-8"
            if codec is None or codec.lower() not in _SAFE_CODECS:
                return self._unknown(node, stringy=True)
        try:
            result = getattr(recv, func.attr)(*args, **kwargs)
        except (TypeError, ValueError, AttributeError, LookupError, UnicodeError, IndexError, KeyError, OverflowError):
            return self._unknown(node, stringy=True)
        if isinstance(result, list):
            return tuple(result)
        if isinstance(result, (str, bytes)):
            return self._bounded(result, node)
        return self._unknown(node)

    @staticmethod
    def _method_fits(recv: str | bytes, method: str, args: list[_Value], kwargs: Mapping[str, _Value]) -> bool:
        """Whether replace/join/format would build a string within the size bound."""
        if method == "replace":
            if len(args) < 2 or not isinstance(args[0], (str, bytes)):
                return True
            count = recv.count(args[0]) if args[0] else len(recv) + 1  # type: ignore[arg-type]
            return len(recv) + count * _size(args[1]) <= _MAX_VALUE
        if method == "join":
            items = args[0] if args else ()
            n = len(items) if isinstance(items, tuple) else 0
            return _size(items) + n * len(recv) <= _MAX_VALUE
        values = list(args) + list(kwargs.values())
        if any(isinstance(v, int) and abs(v) > 10_000 for v in values):  # '{:>{}}'.format('x', 10**9)
            return False
        braces = recv.count("{") if isinstance(recv, str) else 0
        return len(recv) + braces * max((_size(v) for v in values), default=0) <= _MAX_VALUE

    def _decode(self, node: ast.Call, fn: Callable[..., bytes], arg: ast.expr) -> _Value:
        v = self.const(arg)
        if not isinstance(v, (str, bytes)):
            return self._unknown(node, stringy=True)
        try:
            result = fn(v)
        except (ValueError, TypeError, binascii.Error):
            return self._unknown(node, stringy=True)
        self.decoded = True
        return result

    def _codec(self, node: ast.Call, name: str) -> _Value:
        v = self.const(node.args[0])
        codec = _text(self.const(node.args[1])) if len(node.args) > 1 else "utf-8"
        if not isinstance(v, (str, bytes)) or codec is None or codec.lower() not in _SAFE_CODECS:
            return self._unknown(node, stringy=True)
        if codec.lower().startswith("zlib"):
            return self._decompress(node, "zlib.decompress", node.args[0])
        try:
            coder: Callable[..., object] = codecs.decode if name == "codecs.decode" else codecs.encode
            result = coder(v, codec)
        except (ValueError, TypeError, LookupError, binascii.Error):
            return self._unknown(node, stringy=True)
        if codec.lower() not in ("utf-8", "utf8", "latin-1", "latin1", "ascii"):
            self.decoded = True
        return result if isinstance(result, (str, bytes)) else self._unknown(node)

    def _decompress(self, node: ast.Call, name: str, arg: ast.expr) -> _Value:
        v = self.const(arg)
        if not isinstance(v, bytes):
            return self._unknown(node, stringy=True)
        try:
            if name == "zlib.decompress":
                d = zlib.decompressobj()
            elif name == "gzip.decompress":
                d = zlib.decompressobj(wbits=31)
            else:
                return self._unknown(node, stringy=True)
            result = d.decompress(v, _MAX_VALUE)
        except zlib.error:
            return self._unknown(node, stringy=True)
        if d.unconsumed_tail:
            return self._unknown(node, stringy=True)
        self.decoded = True
        return result

    # -- calls
    def _args(self, node: ast.Call, recv: _Value | _Missing = _MISSING) -> _Args:
        pos: list[_Value] = []
        raw: list[str] = []
        open_ended = False
        for a in node.args:
            if isinstance(a, ast.Starred):
                v = self.const(a.value)
                if isinstance(v, tuple):
                    pos.extend(v)
                    raw.extend(_render(x) for x in v)
                    continue
                open_ended = True
                break
            pos.append(self.const(a))
            raw.append(self.snippet(a))
        kw: dict[str, _Value] = {}
        kw_open = False
        for k in node.keywords:
            if k.arg is None:
                extra = self.const(k.value)
                if isinstance(extra, dict):
                    kw.update(extra)
                else:
                    kw_open = True
            else:
                kw[k.arg] = self.const(k.value)
        return _Args(pos, kw, raw, recv, open_ended, kw_open)

    def _run_code(self, code: str, via: str) -> None:
        _nested(self.out, "python", code, f"{via}()", self.depth, self)

    def _redispatch(self, name: str, args: _Args) -> bool:
        return _dispatch("python", self._normalise(name), args, self.out, self._run_code, self._redispatch)

    def _call(self, node: ast.Call) -> None:
        func = node.func
        name = self.qualname(func)
        if name is not None and self._special(name, node):
            return
        if name in ("exec", "eval") and node.args and self._compiled(node.args[0]):
            return  # exec(compile("...")): the compile() call is analysed on its own
        if name is not None and (
            name in self.tables.known or any(name == p or name.startswith(p + ".") for p, _ in self.tables.prefixes)
        ):
            self.decoded = False
            args = self._args(node)
            _dispatch("python", name, args, self.out, self._run_code, self._redispatch)
            if self.decoded and name in ("exec", "eval", "compile"):
                self.out.danger(f"{name}() runs decoded (base64/hex/compressed) code", opaque=False)
            return
        if isinstance(func, ast.Attribute):
            kind = self.obj_kind(func.value)
            spec: Mapping[str, Any] | None = None
            if kind is not None:
                spec = self.tables.methods.get(kind, {}).get(func.attr)
            else:
                loose = self.tables.loose.get(func.attr)
                if loose is not None and loose[0] == "method" and (name is None or name not in self.tables.known):
                    spec = loose[2]
            if spec is not None:
                label = f"{kind or 'path'}.{func.attr}"
                args = self._args(node, self.const(func.value))
                if spec.get("kind") == "network":
                    _network(label, spec, args, self.out)
                else:
                    _files(label, spec, args, self.out)

    def _reference(self, node: ast.expr) -> None:
        """A table function used as a value (a callback, a thread target): its arguments cannot
        be seen, so what it does is known only in kind."""
        name = self.qualname(node)
        if name is None:
            return
        t = self.tables
        if name in t.spawn:
            self.out.make_opaque(f"{name} is passed as a value; the commands it runs are not known")
        elif name in t.dangerous or any(name.startswith(p + ".") for p, _ in t.prefixes):
            self.out.danger(f"{name} is passed as a value; what it runs is not known")
        elif name in t.files:
            for eff in t.files[name].get("effects", [t.files[name]]):
                kind = "read" if eff["kind"] == "open" else str(eff["kind"])
                recursive = bool(eff.get("recursive"))
                verb = eff.get("what") or ("deletes a tree" if kind == "delete" and recursive else _KIND_WORDS[kind])
                self.out.effect(kind, None, recursive, f"{name} is passed as a value: it {verb} paths not known")
        elif name in t.network:
            self.out.effect("network", None, False, f"{name} is passed as a value: it connects to hosts not known")

    def _compiled(self, node: ast.expr) -> bool:
        """Whether an expression is the result of a compile() call (through names bound once)."""
        for _ in range(20):
            if isinstance(node, ast.Call):
                return self.qualname(node.func) == "compile"
            if not isinstance(node, ast.Name):
                return False
            found = self._lookup(node.id)
            if found is None or not isinstance(found[0], tuple) or found[0][0] != "value":
                return False
            value = found[0][1]
            if not isinstance(value, ast.expr):
                return False
            node = value
        return False

    def _special(self, name: str, node: ast.Call) -> bool:
        """Reflection the tables cannot express: getattr on a sensitive module with a computed name."""
        if name == "getattr" and len(node.args) >= 2:
            attr = self.const(node.args[1])
            if isinstance(attr, _Unknown):
                base = self.qualname(node.args[0])
                if base is not None and base.split(".", 1)[0] in self.tables.sensitive:
                    self.out.danger(f"getattr on {base} with a name computed at run time: {self.snippet(node.args[1])}")
                    return True
        return False


# --------------------------------------------------------------------------- tokenizer languages


@dataclass(slots=True)
class _Tok:
    kind: str  # id var str cmd num op words regex
    text: str
    dyn: bool = False  # str/cmd: has run-time interpolation
    words: tuple[str, ...] = ()
    space: bool = False  # whitespace before the token
    nl: bool = False  # a newline between the previous token and this one


_OPS = sorted(
    [
        "===",
        "!==",
        "**=",
        "...",
        "<=>",
        "&&=",
        "||=",
        "??=",
        ">>>",
        "<<=",
        ">>=",
        "?->",
        "//=",
        "=>",
        "==",
        "!=",
        "<=",
        ">=",
        "&&",
        "||",
        "??",
        "?.",
        "->",
        "::",
        "+=",
        "-=",
        "*=",
        "/=",
        ".=",
        "%=",
        "|=",
        "&=",
        "^=",
        "++",
        "--",
        "**",
        "<<",
        ">>",
        "=~",
        "!~",
        "&.",
        "//",
        "..",
    ],
    key=len,
    reverse=True,
)
_OPS_BY_CHAR: dict[str, tuple[str, ...]] = {}
for _op in _OPS:
    _OPS_BY_CHAR[_op[0]] = _OPS_BY_CHAR.get(_op[0], ()) + (_op,)
_OPENERS = {"(": ")", "[": "]", "{": "}", "<": ">"}
_VALUE_END_OPS = frozenset({")", "]", "}"})
_REGEX_KEYWORDS = frozenset(
    "return typeof case do else in of new delete void throw instanceof yield await and or not if "
    "unless while until split grep map join when x lt gt le ge eq ne cmp puts print my our local "
    "state say die warn elsif".split()
)
_SIMPLE_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "v": "\v",
    "e": "\x1b",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "$": "$",
    "@": "@",
    "/": "/",
    "#": "#",
    "{": "{",
    "}": "}",
}


def _unescape(body: str, single: bool, lang: str) -> str:
    """Decode the escapes of a string literal's body (\\n, \\xHH, \\u{...}, octal...)."""
    if "\\" not in body:
        return body
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch != "\\" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if single:
            if nxt in ("\\", "'"):
                out.append(nxt)
                i += 2
            else:
                out.append(ch)
                i += 1
            continue
        if nxt == "x":
            if i + 2 < n and body[i + 2] == "{":
                end = body.find("}", i + 3)
                digits = body[i + 3 : end] if end != -1 else ""
                i = end + 1 if end != -1 else n
            else:
                j = i + 2
                while j < n and j < i + 4 and body[j] in "0123456789abcdefABCDEF":
                    j += 1
                digits = body[i + 2 : j]
                i = j
            try:
                out.append(chr(int(digits, 16)))
            except (ValueError, OverflowError):
                out.append("")
            continue
        if nxt == "u":
            if i + 2 < n and body[i + 2] == "{":
                end = body.find("}", i + 3)
                digits = body[i + 3 : end] if end != -1 else ""
                i = end + 1 if end != -1 else n
            else:
                digits = body[i + 2 : i + 6]
                i += 6
            try:
                out.append(chr(int(digits, 16)))
            except (ValueError, OverflowError):
                out.append("")
            continue
        if nxt in "01234567" and lang != "node":
            j = i + 1
            while j < n and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i + 1 : j], 8)))
            i = j
            continue
        out.append(_SIMPLE_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def _interpolates(body: str, lang: str) -> bool:
    """Whether a double-quoted string body has run-time interpolation."""
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == "\\":
            i += 2
            continue
        nxt = body[i + 1] if i + 1 < n else ""
        if lang == "ruby" and ch == "#" and nxt in "{@$":
            return True
        if lang == "perl" and ch in "$@" and (nxt.isalnum() or nxt in "_{:$&`'+!") and not (ch == "@" and nxt == ""):
            return True
        if lang == "php" and ((ch == "$" and (nxt.isalpha() or nxt in "_{")) or (ch == "{" and nxt == "$")):
            return True
        if lang == "node" and ch == "$" and nxt == "{":
            return True
        i += 1
    return False


def _interpolated_code(body: str, lang: str) -> list[str]:
    """The code inside ``#{...}`` (Ruby), ``${...}`` (JS templates), ``@{[...]}``/``${\\...}`` (Perl)
    and ``{${...}}`` (PHP) interpolations, to be analysed as code too."""
    starts = {"ruby": ("#{",), "node": ("${",), "perl": ("@{", "${"), "php": ("${", "{$")}[lang]
    found: list[str] = []
    i, n = 0, len(body)
    while i < n and len(found) < 50:
        if body[i] == "\\":
            i += 2
            continue
        if any(body.startswith(s, i) for s in starts):
            j = i + 2 if body[i + 1] in "{" else i + 1
            depth = 1
            k = j
            while k < n and depth:
                c = body[k]
                if c == "\\":
                    k += 1
                elif c == "{":
                    depth += 1
                elif c == "}":
                    depth -= 1
                k += 1
            inner = body[j : k - 1] if depth == 0 else body[j:]
            if lang == "php" and body.startswith("{$", i):
                inner = "$" + inner
            if inner.strip():
                found.append(inner)
            i = k
            continue
        i += 1
    return found


class _Lexer:
    """A tokenizer for JavaScript, Perl, Ruby or PHP, careful about strings, comments, regex and
    quote-like literals, and heredocs; not a parser."""

    def __init__(self, lang: str, src: str, budget: _Budget) -> None:
        self.lang = lang
        self.src = src
        self.n = len(src)
        self.budget = budget
        self.toks: list[_Tok] = []
        self.inner_code: list[str] = []  # interpolated code to analyse as well
        # token, terminator, terminator may be indented, interpolating, strip common indentation
        self.heredocs: list[tuple[_Tok, str, bool, bool, bool]] = []
        self.space = False
        self.newline = False
        self.truncated = False

    def emit(self, tok: _Tok) -> _Tok:
        tok.space = self.space
        tok.nl = self.newline
        self.space = self.newline = False
        self.toks.append(tok)
        return tok

    def prev_is_value(self) -> bool:
        if not self.toks:
            return False
        t = self.toks[-1]
        if t.kind in ("str", "num", "var", "cmd", "words", "regex"):
            return True
        if t.kind == "id":
            return t.text not in _REGEX_KEYWORDS
        return t.text in _VALUE_END_OPS

    def add_string(self, body: str, interp: bool, single: bool, kind: str = "str") -> _Tok:
        dyn = interp and _interpolates(body, self.lang)
        if dyn:
            self.inner_code.extend(_interpolated_code(body, self.lang))
        text = body if dyn else _unescape(body, single, self.lang)
        return self.emit(_Tok(kind, text, dyn))

    def scan_quoted(self, i: int, close: str, open_: str = "") -> tuple[str, int]:
        """From just after an opening delimiter: the body and the index after the closer
        (bracket delimiters nest)."""
        depth = 1
        j = i
        src, n = self.src, self.n
        while j < n:
            c = src[j]
            if c == "\\":
                j += 2
                continue
            if open_ and c == open_:
                depth += 1
            elif c == close:
                depth -= 1
                if depth == 0:
                    return src[i:j], j + 1
            j += 1
        return src[i:n], n

    def scan_interpolated(self, i: int, close: str) -> tuple[str, int]:
        """A string from after its opening ``close`` quote, in a language whose interpolations
        (``${...}`` in JS templates, ``#{...}`` in Ruby, ``{$...}``/``${...}`` in PHP) may hold
        code with quotes and strings of their own."""
        src, n = self.src, self.n
        openers = {"node": ("${",), "ruby": ("#{",), "php": ("{$", "${")}.get(self.lang, ())
        interpolating = {"node": "`", "ruby": '"`', "php": '"'}.get(self.lang, "")
        stack: list[str] = [close]  # a quote: inside a string closed by it; "{": inside code
        j = i
        while j < n and stack:
            c = src[j]
            top = stack[-1]
            if c == "\\":
                j += 2
                continue
            if top == "{":
                if c == "{":
                    stack.append("{")
                elif c == "}":
                    stack.pop()
                elif c in "'\"`":
                    stack.append(c if c in interpolating else c + "!")
            elif top.endswith("!"):  # a string without interpolation inside code
                if c == top[0]:
                    stack.pop()
            elif c == top:
                stack.pop()
            else:
                for op in openers:
                    if src.startswith(op, j):
                        stack.append("{")
                        j += len(op) - 1 if op != "{$" else 0
                        break
            j += 1
        body = src[i : j - 1] if not stack else src[i:n]
        return body, j

    def run(self) -> list[_Tok]:
        src, n, lang = self.src, self.n, self.lang
        i = 0
        if src.startswith("#!"):
            i = src.find("\n")
            i = n if i == -1 else i
        if lang == "php":
            stripped = src.lstrip()
            if stripped.startswith("<?php"):
                i = n - len(stripped) + 5
            elif stripped.startswith("<?="):
                i = n - len(stripped) + 3
        steps = 0
        while i < n:
            steps += 1
            if steps > self.budget.steps:
                self.truncated = True
                break
            c = src[i]
            if c == "\n":
                self.newline = True
                i += 1
                if self.heredocs:
                    i = self.read_heredocs(i)
                continue
            if c in " \t\r\f\v":
                self.space = True
                i += 1
                continue
            nxt = src[i + 1] if i + 1 < n else ""
            # comments
            at_line_start = i == 0 or src[i - 1] == "\n"
            if (c == "#" and lang in ("perl", "ruby")) or (c == "#" and lang == "php" and nxt != "["):
                i = self.skip_line(i)
                continue
            if c == "/" and nxt == "/" and lang in ("node", "php"):
                i = self.skip_line(i)
                continue
            if c == "/" and nxt == "*" and lang in ("node", "php"):
                end = src.find("*/", i + 2)
                i = n if end == -1 else end + 2
                self.space = True
                continue
            if at_line_start and c == "=" and lang == "perl" and nxt.isalpha():
                end = src.find("\n=cut", i)
                i = n if end == -1 else self.skip_line(end + 1)
                continue
            if at_line_start and lang == "ruby" and src.startswith("=begin", i):
                end = src.find("\n=end", i)
                i = n if end == -1 else self.skip_line(end + 1)
                continue
            if (
                at_line_start
                and lang in ("perl", "ruby")
                and (src.startswith("__END__", i) or src.startswith("__DATA__", i))
            ):
                break
            if lang == "php" and c == "?" and nxt == ">":
                end = src.find("<?php", i)
                i = n if end == -1 else end + 5
                self.emit(_Tok("op", ";"))
                continue
            # strings
            if c in "'\"":
                if c == '"' and lang in ("ruby", "php"):
                    body, i = self.scan_interpolated(i + 1, c)
                else:
                    body, i = self.scan_quoted(i + 1, c)
                single = c == "'" and lang != "node"
                self.add_string(body, interp=c == '"' and lang != "node", single=single)
                continue
            if c == "`":
                if lang == "node":
                    body, i = self.scan_interpolated(i + 1, "`")
                    dyn = "${" in body and _interpolates(body, "node")
                    if dyn:
                        self.inner_code.extend(_interpolated_code(body, "node"))
                    self.emit(_Tok("str", body if dyn else _unescape(body, False, lang), dyn))
                else:
                    body, i = self.scan_interpolated(i + 1, "`") if lang == "ruby" else self.scan_quoted(i + 1, "`")
                    self.add_string(body, interp=True, single=False, kind="cmd")
                continue
            # heredocs
            if c == "<" and nxt == "<" and lang in ("perl", "ruby", "php"):
                j = self.try_heredoc(i)
                if j is not None:
                    i = j
                    continue
            # variables
            if (
                c in "$@"
                and lang in ("perl", "ruby", "php")
                or (c == "%" and lang == "perl" and not self.prev_is_value() and (nxt.isalpha() or nxt in "_{$"))
            ):
                j = self.scan_var(i)
                if j > i + 1 or (lang == "perl" and c == "$"):
                    self.emit(_Tok("var", src[i:j]))
                    i = max(j, i + 1)
                    continue
            # quote-like literals
            if lang == "perl" and (c.isalpha()):
                j = self.try_perl_quote(i)
                if j is not None:
                    i = j
                    continue
            if lang == "ruby" and c == "%" and (not self.prev_is_value() or (self.space and nxt not in " =")):
                j = self.try_ruby_percent(i)
                if j is not None:
                    i = j
                    continue
            if (
                lang == "ruby"
                and c == ":"
                and nxt != ":"
                and (nxt.isalpha() or nxt == "_" or nxt in "'\"")
                and not self.prev_is_value_tight()
            ):
                if nxt in "'\"":
                    body, i = self.scan_quoted(i + 2, nxt)
                    self.add_string(body, interp=nxt == '"', single=nxt == "'")
                else:
                    j = i + 1
                    while j < n and (src[j].isalnum() or src[j] == "_"):
                        j += 1
                    if j < n and src[j] in "?!=" and not src.startswith("==", j) and not src.startswith("=>", j):
                        j += 1
                    self.emit(_Tok("str", src[i + 1 : j]))
                    i = j
                continue
            # regex literals
            if c == "/" and lang in ("node", "perl", "ruby") and not self.prev_is_value():
                i = self.skip_regex(i + 1, "/")
                self.emit(_Tok("regex", "/"))
                continue
            # numbers
            if c.isdigit():
                j = i + 1
                while j < n and (src[j].isalnum() or src[j] in "._") and not src.startswith("..", j):
                    j += 1
                self.emit(_Tok("num", src[i:j]))
                i = j
                continue
            # identifiers
            if (
                c.isalpha()
                or c == "_"
                or (c == "$" and lang == "node")
                or (c == "\\" and lang == "php" and (nxt.isalpha() or nxt == "_"))
            ):
                i = self.scan_ident(i)
                continue
            if (
                c == ":"
                and nxt == ":"
                and lang in ("ruby", "php")
                and i + 2 < n
                and (src[i + 2].isalpha() or src[i + 2] == "_")
            ):
                i = self.scan_ident(i + 2)  # ::File is File
                continue
            # operators
            for op in _OPS_BY_CHAR.get(c, ()):
                if src.startswith(op, i):
                    self.emit(_Tok("op", op))
                    i += len(op)
                    break
            else:
                self.emit(_Tok("op", c))
                i += 1
        return self.toks

    def prev_is_value_tight(self) -> bool:
        return self.prev_is_value() and not self.space

    def skip_line(self, i: int) -> int:
        end = self.src.find("\n", i)
        return self.n if end == -1 else end

    def skip_regex(self, i: int, close: str) -> int:
        src, n = self.src, self.n
        in_class = False
        while i < n:
            c = src[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n" and self.lang == "node":
                return i
            if c == "[":
                in_class = True
            elif c == "]":
                in_class = False
            elif c == close and not in_class:
                i += 1
                while i < n and src[i].isalpha():
                    i += 1
                return i
            i += 1
        return n

    def scan_var(self, i: int) -> int:
        src, n = self.src, self.n
        j = i + 1
        if self.lang == "ruby" and j < n and src[j] == "@":
            j += 1
        if self.lang == "perl" and j < n and src[j] == "#":
            j += 1
        if self.lang in ("perl", "php") and j < n and src[j] == "$":
            j += 1
        if j < n and src[j] == "{" and self.lang == "perl":
            return j  # ${ ... } / @{ ... }: a dereference, the braces follow as tokens
        start = j
        while j < n and (src[j].isalnum() or src[j] == "_" or (self.lang == "perl" and src.startswith("::", j))):
            j += 2 if src.startswith("::", j) else 1
        if j == start and self.lang == "perl" and j < n and src[j] in "_&`'+!0/\\,;.":
            j += 1
        if j == start and self.lang == "ruby" and j < n and src[j] in '~*$?!@/\\;,.=:<>"0':
            j += 1
        return j

    def scan_ident(self, i: int) -> int:
        src, n, lang = self.src, self.n, self.lang
        j = i
        if lang == "php" and src[j] == "\\":
            j += 1
        while j < n:
            c = src[j]
            if c.isalnum() or c == "_" or (c == "$" and lang == "node"):
                j += 1
            elif c == "\\" and lang == "php" and j + 1 < n and (src[j + 1].isalpha() or src[j + 1] == "_"):
                j += 1
            elif (
                c == ":"
                and lang in ("perl", "ruby", "php")
                and src.startswith("::", j)
                and j + 2 < n
                and (src[j + 2].isalpha() or src[j + 2] == "_")
            ):
                j += 2
            else:
                break
        if (
            lang == "ruby"
            and j < n
            and src[j] in "?!"
            and not src.startswith("!=", j)
            and not src.startswith("?:", j)
            and not src.startswith("!~", j)
        ):
            j += 1
        word = src[i:j].lstrip("\\") if lang == "php" else src[i:j]
        if (
            lang == "ruby"
            and j < n
            and src[j] == ":"
            and not src.startswith("::", j)
            and (j + 1 >= n or src[j + 1] in " \t\n")
        ):
            # `key: value` in a hash or keyword arguments
            self.emit(_Tok("str", word))
            self.space = False
            self.emit(_Tok("op", "=>"))
            return j + 1
        self.emit(_Tok("id", word))
        return j

    def try_perl_quote(self, i: int) -> int | None:
        src, n = self.src, self.n
        j = i
        while j < n and src[j].isalpha():
            j += 1
        word = src[i:j]
        if word not in ("q", "qq", "qw", "qx", "m", "s", "tr", "y", "qr"):
            return None
        if i > 0 and (src[i - 1].isalnum() or src[i - 1] in "_$@%&>" or src.startswith("->", i - 2)):
            return None
        k = j
        while k < n and src[k] in " \t":
            k += 1
        if k >= n or src[k].isalnum() or src[k] in "_,;=)" or (src[k] == "=" and src.startswith("=>", k)):
            return None
        if k > j and src[k] == "#":
            return None
        delim = src[k]
        close = _OPENERS.get(delim, delim)
        opener = delim if delim in _OPENERS else ""
        body, end = self.scan_quoted(k + 1, close, opener)
        if word in ("s", "tr", "y"):
            if opener:
                m = end
                while m < n and src[m] in " \t\n":
                    m += 1
                if m < n:
                    d2 = src[m]
                    _, end = self.scan_quoted(m + 1, _OPENERS.get(d2, d2), d2 if d2 in _OPENERS else "")
            else:
                _, end = self.scan_quoted(end, close)
            while end < n and src[end].isalpha():
                end += 1
            self.emit(_Tok("regex", word))
            return end
        if word in ("m", "qr"):
            while end < n and src[end].isalpha():
                end += 1
            self.emit(_Tok("regex", word))
            return end
        if word == "qw":
            self.emit(_Tok("words", "qw", words=tuple(body.split())))
        elif word == "qx":
            self.add_string(body, interp=delim != "'", single=delim == "'", kind="cmd")
        else:
            self.add_string(body, interp=word == "qq", single=word == "q")
        return end

    def try_ruby_percent(self, i: int) -> int | None:
        src, n = self.src, self.n
        j = i + 1
        kind = ""
        if j < n and src[j] in "qQwWiIxrs":
            kind = src[j]
            j += 1
        if j >= n or src[j].isalnum() or src[j] in " \t\n=":
            return None
        delim = src[j]
        close = _OPENERS.get(delim, delim)
        body, end = self.scan_quoted(j + 1, close, delim if delim in _OPENERS else "")
        if kind in ("w", "W", "i", "I"):
            self.emit(_Tok("words", "%w", words=tuple(body.split())))
        elif kind == "x":
            self.add_string(body, interp=True, single=False, kind="cmd")
        elif kind == "r":
            while end < n and src[end].isalpha():
                end += 1
            self.emit(_Tok("regex", "%r"))
        else:
            self.add_string(body, interp=kind != "q" and kind != "s", single=kind in ("q", "s"))
        return end

    def try_heredoc(self, i: int) -> int | None:
        src, n, lang = self.src, self.n, self.lang
        j = i + 2
        if lang == "php":
            if j >= n or src[j] != "<":
                return None
            j += 1
            while j < n and src[j] in " \t":
                j += 1
        indented = squiggly = False
        if lang in ("ruby", "perl") and j < n and src[j] in "~-":
            indented = True
            squiggly = src[j] == "~"
            j += 1
        quote = ""
        if j < n and src[j] in "'\"`":
            quote = src[j]
            j += 1
        k = j
        while k < n and (src[k].isalnum() or src[k] == "_"):
            k += 1
        word = src[j:k]
        if not word or (not quote and not indented and lang != "php" and not (word[0].isupper() or word[0] == "_")):
            return None
        if quote:
            if k >= n or src[k] != quote:
                return None
            k += 1
        kind = "cmd" if quote == "`" else "str"
        tok = self.emit(_Tok(kind, ""))
        self.heredocs.append((tok, word, indented or lang == "php", quote != "'", squiggly))
        return k

    def read_heredocs(self, i: int) -> int:
        src, n = self.src, self.n
        for tok, word, indented, interp, squiggly in self.heredocs:
            lines: list[str] = []
            while i < n:
                end = src.find("\n", i)
                end = n if end == -1 else end
                line = src[i:end]
                i = min(end + 1, n)
                check = line.strip() if indented else line.rstrip("\r")
                if check == word or (
                    self.lang == "php" and check.startswith(word) and not check[len(word) : len(word) + 1].isalnum()
                ):
                    break
                lines.append(line)
            body = "\n".join(lines)
            if squiggly:
                body = textwrap.dedent(body)
            dyn = interp and _interpolates(body, self.lang)
            if dyn:
                self.inner_code.extend(_interpolated_code(body, self.lang))
            tok.text = body if dyn else _unescape(body, not interp, self.lang)
            tok.dyn = dyn
        self.heredocs = []
        return i


_STATEMENT_KEYWORDS = frozenset("if unless while until or and do then rescue foreach for".split())
_MEMBER_OPS = {
    "node": frozenset({".", "?."}),
    "perl": frozenset({"->"}),
    "ruby": frozenset({".", "&.", "::"}),
    "php": frozenset({"->", "?->", "::"}),
}
_CONCAT_OPS = {"node": "+", "perl": ".", "ruby": "+", "php": "."}
_PARENLESS = frozenset({"perl", "ruby", "php"})
_LITERAL_IDS = {
    "true": True,
    "false": False,
    "null": None,
    "undefined": None,
    "nil": None,
    "TRUE": True,
    "FALSE": False,
    "NULL": None,
    "True": True,
    "False": False,
}


@dataclass(slots=True)
class _Chain:
    """A name chain: ("name", text) | ("require", module) | ("dynreq", args) | ("call", args) |
    ("index", slice) | ("tmpl", token) parts."""

    parts: list[tuple[str, Any]]
    end: int
    starts: list[int] = field(default_factory=list)  # token index where each part starts


@dataclass(slots=True)
class _Resolved:
    name: str | None
    pending_call: bool = False  # the chain ended with a call (its result, not the function)
    recv: _Value | _Missing = _MISSING  # the first argument of the last call in the chain
    const: _Value | _Missing = _MISSING  # the name is a variable holding a literal


class _Script:
    """Analysis of Node, Perl, Ruby or PHP source from its tokens."""

    def __init__(self, lang: str, source: str, out: _Out, depth: int, parent: "_Script | None") -> None:
        self.lang = lang
        self.source = source
        self.out = out
        self.depth = depth
        self.parent = parent
        self.tables = out.config.langs[lang]
        self.members = _MEMBER_OPS[lang]
        self.concat = _CONCAT_OPS[lang]
        self.toks: list[_Tok] = []
        self.match: list[int] = []
        self.bindings: dict[str, object] = {}  # name -> (a, b) slice | ("qual", str) | _AMBIGUOUS
        self.modules: set[str] = set()  # modules required/imported anywhere
        self._memo: dict[str, _Resolved] = {}
        self._active: set[str] = set()
        self.decoded = False  # set when a decoder call on a literal was folded

    # -- entry
    def run(self) -> None:
        lexer = _Lexer(self.lang, self.source, self.out.budget)
        toks = lexer.run()
        self.out.budget.steps -= len(toks)
        if lexer.truncated:
            self.out.make_opaque(f"{self.lang} source is too complex to analyse in full")
        pending = lexer.inner_code  # code interpolated into strings, itself maybe interpolating
        k = 0
        while k < len(pending) and k < 50:
            sub = _Lexer(self.lang, pending[k], self.out.budget)
            k += 1
            sub_toks = sub.run()
            pending.extend(sub.inner_code[: max(0, 50 - len(pending))])
            if sub_toks:
                toks.append(_Tok("op", ";"))
                toks.extend(sub_toks)
        self.toks = self._statements(toks)
        self.match = self._brackets()
        try:
            self._scan_bindings()
            self._scan_calls()
        except RecursionError:
            self.out.make_opaque(f"{self.lang} source is nested too deeply to analyse")

    def _statements(self, toks: list[_Tok]) -> list[_Tok]:
        """Turn line breaks that end a statement into ";" (continuation lines stay joined)."""
        out: list[_Tok] = []
        depth = 0
        cont_after = frozenset(
            {
                ",",
                "=",
                "+",
                "-",
                "*",
                "/",
                ".",
                "->",
                "?.",
                "&&",
                "||",
                "and",
                "or",
                "=>",
                "(",
                "[",
                "{",
                "?",
                ":",
                "\\",
                "|",
                "&",
                "::",
                "..",
                "&.",
                "??",
            }
        )
        cont_before = frozenset({".", "?.", "->", "&.", "+", "=>", ")", "]", "}", ",", "&&", "||", "?", ":", "::"})
        for tok in toks:
            if tok.nl and depth == 0 and out and out[-1].text != ";":
                prev = out[-1]
                joined = (prev.kind == "op" and prev.text in cont_after) or (
                    tok.kind == "op" and tok.text in cont_before
                )
                if not joined:
                    out.append(_Tok("op", ";", space=True))
            if tok.kind == "op":
                if tok.text in ("(", "["):
                    depth += 1
                elif tok.text in (")", "]") and depth:
                    depth -= 1
            out.append(tok)
        return out

    def _brackets(self) -> list[int]:
        """For each opening bracket the index of its closer (len(toks) when unclosed)."""
        n = len(self.toks)
        match = [-1] * n
        stack: list[int] = []
        pairs = {")": "(", "]": "[", "}": "{"}
        for i, t in enumerate(self.toks):
            if t.kind != "op":
                continue
            if t.text in ("(", "[", "{"):
                stack.append(i)
            elif t.text in pairs:
                while stack and self.toks[stack[-1]].text != pairs[t.text]:
                    match[stack.pop()] = i  # a stray closer: close what is open
                if stack:
                    match[stack.pop()] = i
        for i in stack:
            match[i] = n
        return match

    def _close(self, i: int) -> int:
        m = self.match[i]
        return m if m >= 0 else len(self.toks)

    # -- slices
    def _split(self, a: int, b: int, seps: frozenset[str]) -> list[tuple[int, int]]:
        """Split toks[a:b] at top-level separators."""
        parts: list[tuple[int, int]] = []
        start = i = a
        while i < b:
            t = self.toks[i]
            if t.kind == "op" and t.text in ("(", "[", "{"):
                i = self._close(i) + 1
                continue
            if t.kind == "op" and t.text in seps:
                parts.append((start, i))
                start = i + 1
            i += 1
        parts.append((start, min(b, len(self.toks))))
        self.out.budget.steps -= b - a
        return parts

    def _stmt_end(self, a: int, stop_comma: bool) -> int:
        """Where the expression starting at toks[a] ends."""
        n = len(self.toks)
        i = a
        while i < n:
            t = self.toks[i]
            if t.kind == "op":
                if t.text in ("(", "[", "{"):
                    i = self._close(i) + 1
                    continue
                if t.text in (";", ")", "]", "}") or (stop_comma and t.text == ","):
                    return i
            elif t.kind == "id" and t.text in _STATEMENT_KEYWORDS and i > a and self.lang in ("perl", "ruby"):
                return i
            i += 1
            self.out.budget.steps -= 1
            if self.out.budget.steps < 0:
                return i
        return n

    def _slice_text(self, a: int, b: int) -> str:
        parts: list[str] = []
        for t in self.toks[a : min(b, a + 30)]:
            if t.kind == "str":
                parts.append(repr(t.text) if not t.dyn else f'"{t.text}"')
            elif t.kind == "cmd":
                parts.append(f"`{t.text}`")
            else:
                parts.append(t.text)
        text = " ".join(parts)
        return text if len(text) <= 80 and b - a <= 30 else text[:79] + "…"

    # -- values
    def value(self, a: int, b: int, depth: int = 0) -> _Value:
        """The value of the expression toks[a:b] when it is made of literals."""
        toks = self.toks
        if a >= b:
            return _Unknown("")
        if depth > _MAX_VALUE_DEPTH:
            return _Unknown(self._slice_text(a, b))
        t = toks[a]
        if t.kind == "op" and t.text == "(" and self._close(a) == b - 1:
            items = self._split(a + 1, b - 1, frozenset({","}))
            if len(items) > 1:
                return self._list(items, depth)
            return self.value(a + 1, b - 1, depth + 1)
        parts = self._split(a, b, frozenset({self.concat}))
        if len(parts) > 1:
            values = [self.value(x, y, depth + 1) for x, y in parts]
            if sum(_size(v) for v in values) > _MAX_VALUE:
                return _Unknown(self._slice_text(a, b), stringy=True)
            if all(isinstance(v, (str, bytes)) for v in values):
                joined = "".join(_text(v) or "" for v in values)
                return joined if len(joined) <= _MAX_VALUE else _Unknown(self._slice_text(a, b), stringy=True)
            if all(isinstance(v, tuple) for v in values):
                return tuple(x for v in values if isinstance(v, tuple) for x in v)
            stringy = any(isinstance(v, str) or (isinstance(v, _Unknown) and v.stringy) for v in values)
            return _Unknown(self._slice_text(a, b), stringy=stringy)
        if b - a == 1:
            return self._atom(t)
        if (
            self.lang == "node"
            and any(tk.kind == "op" and tk.text == "=>" for tk in toks[a:b])
            or (t.kind == "id" and t.text in ("function", "async", "lambda", "proc", "sub", "fn"))
        ):
            return _Unknown(self._slice_text(a, b), func=True)
        if t.kind == "op" and t.text == "[" and self._close(a) == b - 1:
            items = self._split(a + 1, b - 1, frozenset({","}))
            if self.lang == "php" and any(self._has_arrow(x, y) for x, y in items):
                return self._dict(items, depth)
            return self._list(items, depth)
        if t.kind == "op" and t.text == "{" and self._close(a) == b - 1:
            return self._dict(self._split(a + 1, b - 1, frozenset({","})), depth)
        if (
            t.kind == "id"
            and t.text.lower() == "array"
            and self.lang == "php"
            and b - a >= 3
            and toks[a + 1].text == "("
            and self._close(a + 1) == b - 1
        ):
            items = self._split(a + 2, b - 1, frozenset({","}))
            if any(self._has_arrow(x, y) for x, y in items):
                return self._dict(items, depth)
            return self._list(items, depth)
        if t.kind == "id" and t.text in ("my", "our", "local") and self.lang == "perl":
            return _Unknown(self._slice_text(a, b))
        if t.kind == "op" and t.text == "\\" and self.lang == "perl":
            return self.value(a + 1, b, depth + 1)
        chain = self._chain(a, b)
        if chain is not None and chain.end == b and chain.parts and chain.parts[-1][0] == "call":
            args = chain.parts[-1][1]
            if len(chain.parts) >= 3 and chain.parts[-2] == ("name", "toString") and not args:
                inner = self.value(a, chain.starts[-2], depth + 1)  # Buffer.from(...).toString()
                return _text(inner) if isinstance(inner, bytes) else inner
            res = self.resolve(chain.parts[:-1])
            if res.name is not None and res.name in self.tables.transparent:
                idx = int(self.tables.transparent[res.name])
                return (
                    self.value(args[idx][0], args[idx][1], depth + 1)
                    if idx < len(args)
                    else _Unknown(self._slice_text(a, b))
                )
            if res.name is not None and res.name in self.tables.decoders and args:
                first = self.value(args[0][0], args[0][1], depth + 1)
                extra = self.value(args[1][0], args[1][1], depth + 1) if len(args) > 1 else _MISSING
                decoded = _decode(self.tables.decoders[res.name], first, extra)
                if decoded is None:
                    return _Unknown(self._slice_text(a, b), stringy=True)
                if self.tables.decoders[res.name] != "buffer" or _text(extra) not in (None, "utf8", "utf-8"):
                    self.decoded = True
                return decoded
        if t.kind == "op" and t.text == "-" and b - a == 2 and toks[a + 1].kind == "num":
            v = self._atom(toks[a + 1])
            return -v if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        return _Unknown(self._slice_text(a, b))

    def _has_arrow(self, a: int, b: int) -> bool:
        return len(self._split(a, b, frozenset({"=>"}))) > 1

    def _list(self, items: list[tuple[int, int]], depth: int) -> _Value:
        out: list[_Value] = []
        for x, y in items:
            if x >= y:
                continue
            if self.toks[x].kind == "op" and self.toks[x].text in ("...", "*", "@") and self.lang in ("node", "ruby"):
                inner = self.value(x + 1, y, depth + 1)
                if isinstance(inner, tuple):
                    out.extend(inner)
                else:
                    out.append(_Unknown(self._slice_text(x, y)))
                continue
            v = self.value(x, y, depth + 1)
            if isinstance(v, tuple) and self.lang == "perl":
                out.extend(v)  # Perl lists flatten
            else:
                out.append(v)
        return tuple(out)

    def _dict(self, items: list[tuple[int, int]], depth: int) -> _Value:
        out: dict[str, _Value] = {}
        for x, y in items:
            if x >= y:
                continue
            pair = self._split(x, y, frozenset({"=>"}))
            if len(pair) == 1 and self.lang == "node":
                pair = self._split(x, y, frozenset({":"}))
            if len(pair) != 2:
                kt = self.toks[x]
                if y - x == 1 and kt.kind == "id":  # JS shorthand { recursive }
                    out[kt.text] = self._atom(kt)
                    continue
                if self.lang == "perl" and len(pair) == 1:
                    continue
                out["…"] = _Unknown(self._slice_text(x, y))
                continue
            (ka, kb), (va, vb) = pair
            if kb - ka == 1 and self.toks[ka].kind in ("id", "str", "num") and not self.toks[ka].dyn:
                key = self.toks[ka].text
            else:
                kv = self.value(ka, kb, depth + 1)
                key_text = _text(kv)
                if key_text is None:
                    continue
                key = key_text
            out[key] = self.value(va, vb, depth + 1)
        return out

    def _atom(self, t: _Tok) -> _Value:
        if t.kind == "str":
            return _Unknown(f'"{t.text}"'[:80], stringy=True) if t.dyn else t.text
        if t.kind == "cmd":
            return _Unknown(f"`{t.text}`"[:80], stringy=True)
        if t.kind == "words":
            return tuple(t.words)
        if t.kind == "num":
            text = t.text.replace("_", "")
            try:
                return int(text, 0)
            except ValueError:
                try:
                    return float(text)
                except ValueError:
                    return _Unknown(t.text)
        if t.kind in ("id", "var"):
            if t.kind == "id" and t.text in _LITERAL_IDS:
                return _LITERAL_IDS[t.text]
            res = self._binding(t.text)
            if not isinstance(res.const, _Missing):
                return res.const
            return _Unknown(t.text)
        return _Unknown(t.text)

    # -- chains and names
    def _chain(self, i: int, limit: int | None = None) -> _Chain | None:
        toks = self.toks
        n = len(toks) if limit is None else min(limit, len(toks))
        t = toks[i]
        parts: list[tuple[str, Any]] = []
        starts: list[int] = [i]
        if (
            t.kind == "id"
            and t.text in ("require", "import", "_load")
            and self.lang == "node"
            and i + 1 < n
            and toks[i + 1].text == "("
        ):
            close = self._close(i + 1)
            args = self._split(i + 2, close, frozenset({","}))
            mod = _text(self.value(*args[0])) if args and args[0][0] < args[0][1] else None
            parts.append(("require", mod) if mod is not None else ("dynreq", args))
            i = close + 1
        elif t.kind in ("id", "var"):
            if (
                t.kind == "id"
                and t.text in ("new",)
                and self.lang in ("node", "php")
                and i + 1 < n
                and toks[i + 1].kind == "id"
            ):
                i += 1
                t = toks[i]
            parts.append(("name", t.text))
            i += 1
        else:
            return None
        while i < n:
            t = toks[i]
            if len(starts) < len(parts) + 1:
                starts.append(i)
            else:
                starts[len(parts)] = i
            if t.kind == "op" and t.text in self.members and i + 1 < n:
                nxt = toks[i + 1]
                if nxt.kind == "id":
                    parts.append(("name", nxt.text))
                    i += 2
                    continue
                if nxt.kind == "var" and self.lang == "php":
                    parts.append(("index", (i + 1, i + 2)))
                    i += 2
                    continue
                if nxt.kind == "op" and nxt.text == "[" and t.text == "?.":
                    i += 1
                    continue
                if nxt.kind == "op" and nxt.text == "(" and self.lang == "perl":  # $code->(...)
                    i += 1
                    continue
                break
            if t.kind == "op" and t.text == "(":
                close = self._close(i)
                parts.append(("call", self._split(i + 1, close, frozenset({","})) if close > i + 1 else []))
                i = close + 1
                continue
            if t.kind == "op" and t.text == "[" and not t.space and self.lang in ("node", "ruby", "php"):
                close = self._close(i)
                parts.append(("index", (i + 1, close)))
                i = close + 1
                continue
            if t.kind == "str" and self.lang == "node" and not t.space and parts[-1] == ("name", "$"):
                parts.append(("tmpl", t))
                i += 1
                continue
            break
        return _Chain(parts, i, starts[: len(parts)])

    def _normalise(self, name: str) -> str:
        if self.lang == "node" and name.startswith("node:"):
            name = name[5:]
        if self.lang == "php":
            name = name.lower().lstrip("\\")
        if self.lang in ("ruby", "php") and name.startswith("::"):
            name = name[2:]
        return _apply_aliases(name, self.tables.aliases)

    def _lookup_name(self, name: str) -> str:
        """The table entry a normalised name stands for (fs-extra falls back to fs)."""
        if name in self.tables.known:
            return name
        for mod, base in self.tables.fallback.items():
            if name.startswith(mod + "."):
                alt = base + name[len(mod) :]
                if alt in self.tables.known:
                    return alt
        return name

    def _binding(self, name: str) -> _Resolved:
        """What a bound name refers to: a qualified name, or a literal value."""
        if name in self._memo:
            return self._memo[name]
        if name in self._active:
            return _Resolved(None)
        scope: _Script | None = self
        binding: object = None
        while scope is not None:
            if name in scope.bindings:
                binding = scope.bindings[name]
                break
            scope = scope.parent
        if scope is None:
            res = _Resolved(name if name[:1] not in "$@%" else None)
            self._memo[name] = res
            return res
        self._active.add(name)
        try:
            if binding is _AMBIGUOUS or scope is None:
                res = _Resolved(None)
            elif isinstance(binding, tuple) and binding[0] == "qual":
                res = _Resolved(str(binding[1]))
            elif isinstance(binding, tuple) and len(binding) == 2 and isinstance(binding[0], int):
                a, b = binding
                chain = scope._chain(a, b) if a < b else None
                if chain is not None and chain.end == b and not (len(chain.parts) == 1 and scope.toks[a].kind == "var"):
                    # an alias of a module or function, or the result of a call (whose value may
                    # be known: a decoder or a transparent wrapper of a literal)
                    res = scope.resolve(chain.parts)
                    wrapped = scope._unwrap(chain)
                    if wrapped is not None:
                        res = wrapped
                    elif res.name is None or chain.parts[-1][0] == "call":
                        res = _Resolved(res.name, res.pending_call, res.recv, scope.value(a, b))
                else:
                    res = _Resolved(None, const=scope.value(a, b))
            else:
                res = _Resolved(None)
        finally:
            self._active.discard(name)
        self._memo[name] = res
        return res

    def _unwrap(self, chain: _Chain) -> _Resolved | None:
        """``util.promisify(cp.exec)`` is ``cp.exec`` (the wrappers of the language's table)."""
        if len(chain.parts) < 2 or chain.parts[-1][0] != "call" or not chain.parts[-1][1]:
            return None
        outer = self.resolve(chain.parts[:-1])
        if outer.name is None or outer.name not in self.tables.wrappers or outer.pending_call:
            return None
        a, b = chain.parts[-1][1][0]
        inner = self._chain(a, b) if a < b else None
        if inner is None or inner.end != b:
            return None
        res = self.resolve(inner.parts)
        return res if res.name is not None else None

    def resolve(self, parts: list[tuple[str, Any]]) -> _Resolved:
        """The qualified name a chain prefix refers to."""
        if not parts:
            return _Resolved(None)
        kind, val = parts[0]
        pending = False
        recv: _Value | _Missing = _MISSING
        if kind == "require":
            q: str | None = self._normalise(str(val))
        elif kind == "name":
            res = self._binding(str(val))
            q, pending, recv = res.name, res.pending_call, res.recv
            if q is None and self.lang == "php" and isinstance(res.const, str):
                q = res.const  # $f = 'system'; $f(...)
        else:
            return _Resolved(None)
        if q is None:
            return _Resolved(None)
        for kind, val in parts[1:]:
            if kind == "name":
                q = f"{q}.{val}"
                pending = False
            elif kind == "index":
                key = _text(self.value(*val))
                if key is None:
                    return _Resolved(None)
                q = f"{q}.{key}"
                pending = False
            elif kind == "call":
                if pending:
                    q = f"{q}()"
                pending = True
                recv = self.value(*val[0]) if val and val[0][0] < val[0][1] else _MISSING
            else:
                return _Resolved(None)
        return _Resolved(self._normalise(q), pending, recv)

    # -- bindings
    def _scan_bindings(self) -> None:
        toks, n = self.toks, len(self.toks)
        for i, t in enumerate(toks):
            prev = toks[i - 1] if i else None
            if (
                self.lang == "node"
                and t.kind == "id"
                and t.text == "import"
                and (i + 1 < n and toks[i + 1].text != "(")
                and (prev is None or prev.text in (";", "{", "}"))
            ):
                self._import_statement(i)
                continue
            if (
                t.kind == "id"
                and t.text in ("require", "import")
                and i + 2 < n
                and toks[i + 1].text == "("
                and toks[i + 2].kind == "str"
            ):
                self.modules.add(self._normalise(toks[i + 2].text))
            if (
                self.lang == "node"
                and t.kind == "id"
                and t.text in ("const", "let", "var")
                and i + 1 < n
                and toks[i + 1].text in ("{", "[")
            ):
                self._destructure(i + 1)
                continue
            if t.kind not in ("id", "var") or i + 1 >= n:
                continue
            if prev is not None and prev.kind == "op" and (prev.text in self.members or prev.text in ("[", "{", "...")):
                continue
            op = toks[i + 1]
            if op.kind != "op":
                continue
            if op.text == "=":
                end = self._stmt_end(i + 2, stop_comma=self.lang == "node")
                self._bind(t.text, (i + 2, end))
            elif (
                op.text.endswith("=") and op.text not in ("==", "===", "!=", "!==", "<=", ">=", "=>", "=~")
            ) or op.text in ("++", "--"):
                self._bind(t.text, _AMBIGUOUS)

    def _bind(self, name: str, value: object) -> None:
        if name in self.bindings:
            self.bindings[name] = _AMBIGUOUS
        else:
            self.bindings[name] = value

    def _import_statement(self, i: int) -> None:
        """import X from 'm' / import * as X from 'm' / import { a as b } from 'm' / import 'm'."""
        toks, n = self.toks, len(self.toks)
        end = i + 1
        while end < n and toks[end].text != ";" and not (toks[end].kind == "str" and toks[end - 1].text == "from"):
            end += 1
        if end >= n or toks[end].kind != "str":
            if end < n and toks[end].kind == "str":
                self.modules.add(self._normalise(toks[end].text))
            elif i + 1 < n and toks[i + 1].kind == "str":
                self.modules.add(self._normalise(toks[i + 1].text))
            return
        module = self._normalise(toks[end].text)
        self.modules.add(module)
        j = i + 1
        while j < end - 1:
            t = toks[j]
            if t.kind == "op" and t.text == "*" and j + 2 < end and toks[j + 1].text == "as":
                self._bind(toks[j + 2].text, ("qual", module))
                j += 3
            elif t.kind == "op" and t.text == "{":
                close = self._close(j)
                for a, b in self._split(j + 1, close, frozenset({","})):
                    names = [tk.text for tk in toks[a:b] if tk.kind in ("id", "str")]
                    if not names:
                        continue
                    local = names[-1] if len(names) >= 3 and names[1] == "as" else names[0]
                    self._bind(local, ("qual", f"{module}.{names[0]}" if names[0] != "default" else module))
                j = close + 1
            elif t.kind == "id" and t.text not in ("from", "type", "as"):
                self._bind(t.text, ("qual", module))
                j += 1
            else:
                j += 1

    def _destructure(self, i: int) -> None:
        """const { a, b: c, d = 1 } = <chain> / const [a, b] = ..."""
        toks, n = self.toks, len(self.toks)
        close = self._close(i)
        if close + 1 >= n or toks[close + 1].text != "=":
            return
        end = self._stmt_end(close + 2, stop_comma=True)
        names: list[tuple[str, str]] = []
        if toks[i].text == "{":
            for a, b in self._split(i + 1, close, frozenset({","})):
                if a >= b or toks[a].kind not in ("id", "str"):
                    continue
                key = toks[a].text
                local = key
                if b - a >= 3 and toks[a + 1].text == ":" and toks[a + 2].kind == "id":
                    local = toks[a + 2].text
                names.append((key, local))
        else:
            for a, b in self._split(i + 1, close, frozenset({","})):
                if a < b and toks[a].kind == "id":
                    self._bind(toks[a].text, _AMBIGUOUS)
            return
        chain = self._chain(close + 2, end) if close + 2 < end else None
        base = self.resolve(chain.parts).name if chain is not None and chain.end == end else None
        for key, local in names:
            self._bind(local, ("qual", f"{base}.{key}") if base else _AMBIGUOUS)

    # -- calls
    def _starts_expression(self, t: _Tok) -> bool:
        if t.kind in ("str", "cmd", "var", "words", "num"):
            return True
        if t.kind == "id":
            return t.text not in _STATEMENT_KEYWORDS and t.text not in (
                "x",
                "eq",
                "ne",
                "lt",
                "gt",
                "le",
                "ge",
                "cmp",
                "else",
                "elsif",
                "end",
                "in",
                "then",
            )
        return t.kind == "op" and t.text in ("[", "\\", "::") and t.space

    def _scan_calls(self) -> None:
        toks = self.toks
        for i, t in enumerate(toks):
            if self.out.budget.steps < 0:
                self.out.make_opaque(f"{self.lang} source is too complex to analyse in full")
                return
            self.out.budget.steps -= 1
            if t.kind == "cmd":
                what = "backticks"
                if t.dyn:
                    self.out.make_opaque(f"{what} run a command built at run time: `{_render(t.text)[:70]}`")
                elif t.text.strip():
                    self.out.command(t.text.strip(), f"{what} run a shell command: {_render(t.text)}")
                continue
            if t.kind not in ("id", "var"):
                continue
            prev = toks[i - 1] if i else None
            if prev is not None and prev.kind == "op" and prev.text in self.members:
                continue
            if prev is not None and prev.kind == "id" and prev.text in ("function", "def", "sub", "class", "module"):
                continue
            chain = self._chain(i)
            if chain is None:
                continue
            self._chain_calls(chain, i)

    def _chain_calls(self, chain: _Chain, start: int) -> None:
        parts = chain.parts
        if parts[0][0] == "dynreq":
            self.out.danger(
                f"require() of a module whose name is computed at run time: {self._slice_text(start, chain.end)}"
            )
        for k in range(1, len(parts)):
            kind, val = parts[k]
            if kind == "call":
                self._call(parts[:k], val, start)
            elif kind == "tmpl" and parts[:k] == [("name", "$")]:
                tok = val
                if tok.dyn:
                    self.out.make_opaque(f"zx $`...` runs a command built at run time: `{_render(tok.text)[:70]}`")
                elif tok.text.strip():
                    self.out.command(tok.text.strip(), f"zx $`...` runs a shell command: {_render(tok.text)}")
        if self.lang in _PARENLESS and parts[-1][0] == "name":
            nxt = self.toks[chain.end] if chain.end < len(self.toks) else None
            with_args = nxt is not None and self._starts_expression(nxt) and not nxt.nl
            if with_args or len(parts) > 1:  # `system 'ls'`, and `Pathname.new(p).rmtree` with no arguments
                res = self.resolve(parts)
                name = self._lookup_name(res.name) if res.name else None
                if name is not None and (
                    name in self.tables.known
                    or self._prefix_hit(name)
                    or name.rsplit(".", 1)[-1] in self.tables.any_receiver
                ):
                    end = self._stmt_end(chain.end, stop_comma=False) if with_args else chain.end
                    self._call(parts, self._split(chain.end, end, frozenset({","})) if with_args else [], start)

    def _prefix_hit(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") or name.startswith(p + "::") for p, _ in self.tables.prefixes)

    def _args(self, slices: list[tuple[int, int]], recv: _Value | _Missing) -> _Args:
        pos: list[_Value] = []
        raw: list[str] = []
        pairs: dict[str, _Value] = {}
        open_ended = False
        for a, b in slices:
            if a >= b:
                continue
            t = self.toks[a]
            if self.lang in ("ruby", "perl", "php") and self._has_arrow(a, b):
                d = self._dict([(a, b)], 0)
                if isinstance(d, dict):
                    pairs.update(d)
                continue
            if t.kind == "op" and t.text in ("*", "...", "**") and b - a > 1:
                v = self.value(a + 1, b)
                if isinstance(v, tuple):
                    pos.extend(v)
                    raw.extend(_render(x) for x in v)
                    continue
                open_ended = True
                break
            v = self.value(a, b)
            if self.lang == "perl" and isinstance(v, tuple):
                pos.extend(v)  # Perl flattens lists into the argument list
                raw.extend(_render(x) for x in v)
                continue
            if self.lang == "perl" and t.kind == "var" and t.text.startswith("@") and isinstance(v, _Unknown):
                open_ended = True
                break
            pos.append(v)
            raw.append(" ".join(tk.text for tk in self.toks[a:b]))
        kw: dict[str, _Value] = {}
        if pairs:
            pos.append(pairs)
            raw.append("{…}")
            kw = dict(pairs)
        elif pos and isinstance(pos[-1], dict):
            kw = dict(pos[-1])
        return _Args(pos, kw, raw, recv, open_ended, False)

    def _run_code(self, code: str, via: str) -> None:
        _nested(self.out, self.lang, code, via, self.depth, self)

    def _redispatch(self, name: str, args: _Args) -> bool:
        return _dispatch(
            self.lang, self._lookup_name(self._normalise(name)), args, self.out, self._run_code, self._redispatch
        )

    def _call(self, callee: list[tuple[str, Any]], slices: list[tuple[int, int]], start: int) -> None:
        res = self._unwrap(_Chain(callee, 0)) or self.resolve(callee)
        if res.name is None:
            if (
                self.lang == "php"
                and callee
                and callee[0][0] == "name"
                and str(callee[0][1]).startswith("$")
                and len(callee) == 1
            ):
                b = self._binding(str(callee[0][1]))
                if not (isinstance(b.const, _Unknown) and b.const.func):
                    self.out.make_opaque(f"{callee[0][1]}(...) calls a function whose name is known only at run time")
            return
        name = self._lookup_name(res.name)
        if self.lang == "ruby" and name.endswith("method.call") and isinstance(res.recv, str):
            name = self._lookup_name(self._normalise(res.recv))  # method(:system).call(...)
        recv = res.recv
        known = (
            name in self.tables.known or self._prefix_hit(name) or name.rsplit(".", 1)[-1] in self.tables.any_receiver
        )
        if not known and "." in name:
            method = name.rsplit(".", 1)[-1]
            loose = self.tables.loose.get(method)
            if loose is not None and loose[0] != "method":
                module = loose[1].rsplit(".", 1)[0]
                if module in self.modules or any(m.startswith(module) for m in self.modules):
                    name = loose[1]
                    known = True
        if not known:
            return
        self.decoded = False
        args = self._args(slices, recv)
        _dispatch(self.lang, name, args, self.out, self._run_code, self._redispatch)
        spec = self.tables.dangerous.get(name)
        if self.decoded and spec is not None and spec.get("style") in ("code", "code_if_string"):
            self.out.danger(f"{name} runs decoded (base64/hex/compressed) code", opaque=False)
