"""Word expansion: quoting, escapes, ``~``, variables, globs and substitutions inside an argument word."""
from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Sequence

from ...resolve import (
    UNICODE_SPACES,
    Lit,
    Part,
    Tilde,
    Unknown,
    Var,
    decode_ansi_c,
    expand,
    normalise_path,
)
from ..catalog import normalise_word

if TYPE_CHECKING:

    from .syntax import Node
from .state import _OPAQUE, MAX_DEPTH, Cwds, ShellState, Stream, W, _worst, secret_name
from .syntax import _AMBIGUOUS, _SUBSTITUTIONS, _literal_error, _src, _text

_SIMPLE_WORD = frozenset("\\~{*?[")  # a plain ASCII word without these is its own value




def _unescape_dq(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _tilde(parts: list[Part]) -> list[Part]:
    if not parts or not isinstance(parts[0], Lit) or parts[0].quoted or not parts[0].text.startswith("~"):
        return parts
    text = parts[0].text
    slash = text.find("/")
    if slash < 0 and len(parts) > 1:
        return parts
    user = text[1:] if slash < 0 else text[1:slash]
    if any(c in UNICODE_SPACES for c in user):
        return parts
    rest = [] if slash < 0 else [Lit(text[slash:], False)]
    return [Tilde(user), *rest, *parts[1:]]


def _sub_word(w: W, offset: int) -> W:
    return W(w.text[offset:], w.static, w.glob, w.orig[offset:] if len(w.orig) == len(w.text) else w.text[offset:],
             w.reason, w.stream, w.paths, w.secrets)


def _secret_vars(parts: Sequence[Part]) -> tuple[str, ...]:
    """Names of the variables a word expands whose names look like credentials ($GITHUB_TOKEN)."""
    out: list[str] = []
    for p in parts:
        if isinstance(p, Var):
            if secret_name(p.name):
                out.append(p.name)
            if p.arg:
                out.extend(_secret_vars(p.arg))
    return tuple(out)


def _dotdot_variants(path: str) -> list[str]:
    """A glob such as ``.*`` also matches ``..``: the directory it climbs to (conservatively)."""
    comps = path.split("/")
    out: list[str] = []
    for k, comp in enumerate(comps):
        # Only a pattern starting with a literal "." matches dot files; bash before 5.2 lets it match "..".
        if comp.startswith(".") and any(c in comp for c in "*?[") and fnmatch.fnmatchcase("..", comp):
            out.append(normalise_path("/".join(comps[:k]) + "/.."))
    return out


class Words(ShellState):
    """Word expansion: argument words into their static values, or why they have none."""

    def parts(self, node: Node, quoted: bool, depth: int, streams: list[Stream]) -> list[Part]:
        t = node.type
        if depth > MAX_DEPTH:
            return [Unknown("nesting too deep", quoted)]
        if t == "word":
            return self._word_parts(node, quoted)
        if t == "command_name":
            out: list[Part] = []
            for c in node.children:
                out.extend(self.parts(c, quoted, depth + 1, streams))
            return out
        if t == "raw_string":
            text = _text(node)
            if len(text) < 2 or not text.endswith("'"):
                return [Unknown("unterminated quote", quoted)]
            return [Lit(text[1:-1], True)]
        if t == "ansi_c_string":
            text = _text(node)
            return [Lit(decode_ansi_c(text[2:-1] if text.endswith("'") else text[2:]), True)]
        if t in ("string", "translated_string"):
            return self._string_parts(node, depth, streams)
        if t == "simple_expansion":
            name = _text(node)[1:]
            if name.isidentifier() and name.isascii():
                return [Var(name, quoted)]
            return [Unknown("$" + name, quoted)]
        if t == "expansion":
            return [self._expansion(node, quoted, depth, streams)]
        if t in _SUBSTITUTIONS:
            stream = self.streams.get((node.start_byte, node.end_byte)) or _OPAQUE
            streams.append(stream)
            if t == "process_substitution":
                return [Unknown("process substitution", quoted)]
            value = None
            if stream.kind == "static" and len(stream.texts) == 1:
                value = stream.texts[0].rstrip("\n")
            return [Unknown("command substitution", quoted, value)]
        if t == "arithmetic_expansion":
            return [Unknown("arithmetic expansion", quoted)]
        if t == "concatenation" or t == "variable_assignment":
            out = []
            for c in node.children:
                out.extend(self.parts(c, quoted, depth + 1, streams))
            return out
        if t == "ERROR" and _literal_error(node):
            return [Lit(_text(node), quoted)]
        if t in ("array", "ERROR"):
            return [Unknown(t, quoted)]
        if not node.is_named and t in ('"', "'"):
            return []
        return [Lit(_text(node), quoted)]

    def _word_parts(self, node: Node, quoted: bool) -> list[Part]:
        text = _text(node)
        if "\\" not in text:
            return [Lit(text, quoted)]
        out: list[Part] = []
        buf: list[str] = []
        i, n = 0, len(text)
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                d = text[i + 1]
                if buf:
                    out.append(Lit("".join(buf), quoted))
                    buf = []
                if d in _AMBIGUOUS and self.recording and i > 0:
                    # Inside a word only: a leading backslash (\rm) is the usual alias bypass.
                    self.ambiguous.append(node.start_byte + len(text[:i].encode("utf-8")))
                if d != "\n":
                    out.append(Lit(d, True))
                i += 2
            else:
                buf.append(c)
                i += 1
        if buf:
            out.append(Lit("".join(buf), quoted))
        return out

    def _string_parts(self, node: Node, depth: int, streams: list[Stream]) -> list[Part]:
        out: list[Part] = [Lit("", True)]
        src = _src(node)
        base = node.start_byte
        pos = base + (2 if node.type == "translated_string" else 1)
        end = node.end_byte - (1 if src.endswith(b'"') and len(src) > 1 else 0)
        for c in node.children:
            if not c.is_named:
                continue
            if c.start_byte > pos:
                out.append(Lit(_unescape_dq(src[pos - base:c.start_byte - base].decode("utf-8", "replace")), True))
            if c.type == "string_content":
                out.append(Lit(_unescape_dq(_text(c)), True))
            else:
                out.extend(self.parts(c, True, depth + 1, streams))
            pos = max(pos, c.end_byte)
        if end > pos:
            out.append(Lit(_unescape_dq(src[pos - base:end - base].decode("utf-8", "replace")), True))
        return out

    def _expansion(self, node: Node, quoted: bool, depth: int, streams: list[Stream]) -> Part:
        kids = node.children
        text = _text(node)
        if len(kids) < 3 or kids[0].type != "${" or kids[-1].type != "}":
            return Unknown(text, quoted)
        inner = kids[1:-1]
        if inner[0].type != "variable_name":
            return Unknown(text, quoted)
        name = _text(inner[0])
        if len(inner) == 1:
            return Var(name, quoted)
        op = inner[1].type if not inner[1].is_named else ""
        if op not in (":-", "-", ":=", "=", ":+", "+"):
            return Unknown(text, quoted)
        arg: list[Part] = []
        for c in inner[2:]:
            arg.extend(self.parts(c, quoted, depth + 1, streams))
        return Var(name, quoted, op, tuple(arg))

    def words(self, nodes: Sequence[Node | list[Node]], cwds: Cwds, depth: int) -> list[W]:
        """Expand argument nodes into words (after their substitutions have been walked).

        An item may be a list of adjacent nodes that form one shell word (tree-sitter sometimes
        splits a word, e.g. around an ERROR node)."""
        out: list[W] = []
        cwd = cwds[0] if len(cwds) == 1 else None
        for item in nodes:
            if isinstance(item, list):
                if len(item) != 1:
                    streams: list[Stream] = []
                    parts: list[Part] = []
                    for n in item:
                        parts.extend(self.parts(n, False, depth, streams))
                    raw = "".join(_text(n) for n in item)
                    self._expand_into(out, _tilde(parts), raw, streams, cwd)
                    continue
                node = item[0]
            else:
                node = item
            if node.type == "word" or node.type == "number":
                text = _text(node)
                if text.isascii() and _SIMPLE_WORD.isdisjoint(text) and not (
                        node.type == "word" and text.startswith("~")):
                    out.append(W(text, True, False, text))
                    continue
            streams = []
            self._expand_into(out, _tilde(self.parts(node, False, depth, streams)), _text(node), streams, cwd)
        return out

    def _expand_into(self, out: list[W], parts: list[Part], raw: str, streams: list[Stream],
                     cwd: str | None) -> None:
        stream = None
        for s in streams:
            stream = _worst(stream, s)
        if self.recording:
            self._note_word(parts)
        env, tainted = self.expansion_env()
        expanded = expand(parts, env=env, home=self.home, cwd=cwd, tainted=tainted)
        if expanded is None:
            reason = next((p.reason if isinstance(p, Unknown) else f"${p.name}" for p in parts
                           if isinstance(p, (Unknown, Var))), "a value that cannot be known")
            out.append(W(raw, False, False, raw, reason, stream, None, _secret_vars(parts)))
            return
        if self.recording and (len(expanded) != 1 or any(e.glob for e in expanded)):
            self.note("glob, brace expansion or word splitting")
        secrets = _secret_vars(parts)
        for e in expanded:
            out.append(W(normalise_word(e.text), True, e.glob, e.text, "", stream, None, secrets))

    def _note_word(self, parts: Sequence[Part]) -> None:
        for p in parts:
            if isinstance(p, (Var, Unknown)):
                self.note("variable or command expansion")
            elif isinstance(p, Tilde):
                self.note("tilde expansion")
            elif isinstance(p, Lit) and not p.quoted:
                if any(c in UNICODE_SPACES for c in p.text):
                    self.note("Unicode space between words")
