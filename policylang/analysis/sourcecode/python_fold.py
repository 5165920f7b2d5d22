"""Python names and constant folding: what a name is bound to and the value of literal expressions.

Names are followed through imports, ``__import__``, ``getattr`` and names assigned once;
expressions made of literals are folded (concatenations, f-strings, ``%``/``.format``,
``os.path.join``, ``pathlib`` paths, decodings)."""

from __future__ import annotations

import ast
import base64
import binascii
import codecs
import posixpath
import shlex
import zlib
from typing import Callable, Mapping

from .collector import Out
from .findings import MAX_VALUE
from .tables import apply_aliases
from .values import AMBIGUOUS, Unknown, Value, as_text, size_of

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


class PythonScope:
    """The names bound in one Python source (its enclosing source's scope behind it) and the
    values of its expressions, folded when they are made of literals."""

    def __init__(self, source: str, out: Out, depth: int, parent: PythonScope | None) -> None:
        self.source = source
        self.out = out
        self.depth = depth
        self.parent = parent
        self.tables = out.config.langs["python"]
        self.bindings: dict[str, object] = {}  # name -> ("import", qual) | ("value", expr) | AMBIGUOUS
        # every binding of a name, with what bound it: ("import", qual), ("value", expr), ("def", node),
        # ("class", node), ("param", arg), ("loop", iterable), ("relimport", qual) or ("opaque", None)
        self.origins: dict[str, list[tuple[str, object]]] = {}
        self.star: list[str] = []
        self.lines: list[str] = []
        self._const_memo: dict[int, Value] = {}
        self._active: set[int] = set()
        self.decoded = False  # set when folding decoded base64/hex/zlib

    # -- names
    def _bind(self, name: str, value: object, origin: tuple[str, object] | None = None) -> None:
        if origin is None:
            origin = value if isinstance(value, tuple) else ("opaque", None)
        self.origins.setdefault(name, []).append(origin)
        old = self.bindings.get(name)
        if old is None:
            self.bindings[name] = value
        elif old is not AMBIGUOUS and not (
            isinstance(old, tuple) and isinstance(value, tuple) and old[0] == "import" and old == value
        ):
            self.bindings[name] = AMBIGUOUS

    def _bind_target(
        self, target: ast.expr, value: ast.expr | None, origin: tuple[str, object] | None = None
    ) -> None:
        """Bind the names of an assignment target; ``origin`` says what binds a bare name target
        when there is no value expression (a loop's iterable)."""
        if isinstance(target, ast.Name):
            self._bind(target.id, ("value", value) if value is not None else AMBIGUOUS, origin)
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

    def _origins(self, name: str) -> tuple[list[tuple[str, object]], PythonScope] | None:
        """Every binding of a name, in the innermost source that binds it."""
        scope: PythonScope | None = self
        while scope is not None:
            if name in scope.origins:
                return scope.origins[name], scope
            scope = scope.parent
        return None

    def _lookup(self, name: str) -> tuple[object, PythonScope] | None:
        scope: PythonScope | None = self
        while scope is not None:
            if name in scope.bindings:
                return scope.bindings[name], scope
            scope = scope.parent
        return None

    def _normalise(self, name: str) -> str:
        name = apply_aliases(name, self.tables.aliases)
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
            if binding is AMBIGUOUS or not isinstance(binding, tuple):
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
                mod = as_text(self.const(node.args[0]))
                if mod is None:
                    return None
                if func == "__import__" and len(node.args) < 4 and not any(k.arg == "fromlist" for k in node.keywords):
                    return mod.split(".", 1)[0]
                return mod
            if func == "getattr" and len(node.args) >= 2:
                attr = as_text(self.const(node.args[1]))
                base = self.qualname(node.args[0])
                return f"{base}.{attr}" if base and attr else None
            inner = node.func
            if (  # operator.attrgetter("system")(os) is os.system
                isinstance(inner, ast.Call)
                and self.qualname(inner.func) == "operator.attrgetter"
                and len(inner.args) == 1
                and len(node.args) == 1
                and not node.keywords
            ):
                attr = as_text(self.const(inner.args[0]))
                base = self.qualname(node.args[0])
                return f"{base}.{attr}" if base and attr else None
            return None
        if isinstance(node, ast.Subscript):
            key = as_text(self.const(node.slice))
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
            if isinstance(inner, ast.Attribute) and self.qualname(inner) == "sys.modules":
                return key  # sys.modules["os"] is the module os
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

    def const(self, node: ast.expr | None) -> Value:
        """The value of an expression when it is made of literals; else an Unknown."""
        if node is None:
            return Unknown()
        key = id(node)
        if key in self._const_memo:
            return self._const_memo[key]
        if key in self._active:
            return Unknown(self.snippet(node))
        self._active.add(key)
        try:
            value = self._const(node)
        finally:
            self._active.discard(key)
        if isinstance(value, (str, bytes)) and len(value) > 1024:
            if len(value) > MAX_VALUE or len(value) > self.out.budget.fold_chars:
                value = Unknown(self.snippet(node), stringy=True)
            else:
                self.out.budget.fold_chars -= len(value)
        self._const_memo[key] = value
        return value

    def _unknown(self, node: ast.expr, stringy: bool = False) -> Unknown:
        return Unknown(self.snippet(node), stringy=stringy)

    def _const(self, node: ast.expr) -> Value:
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
            items: list[Value] = []
            for elt in node.elts:
                if isinstance(elt, ast.Starred):
                    inner = self.const(elt.value)
                    if isinstance(inner, tuple):
                        items.extend(inner)
                        continue
                    items.append(Unknown(self.snippet(elt)))
                    continue
                items.append(self.const(elt))
            return tuple(items)
        if isinstance(node, ast.Dict):
            out: dict[str, Value] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                ks = as_text(self.const(key_node)) if key_node is not None else None
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
            base = as_text(self.const(node.value))
            return posixpath.dirname(base.rstrip("/")) or "." if base is not None else self._unknown(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.const(node.operand)
            if isinstance(operand, (int, float)) and not isinstance(operand, bool):
                return -operand if isinstance(node.op, ast.USub) else operand
        return self._unknown(node)

    def _fstring(self, node: ast.JoinedStr) -> Value:
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
            if isinstance(v, Unknown) or isinstance(v, dict):
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
            if sum(len(p) for p in parts) > MAX_VALUE:
                return self._unknown(node, stringy=True)
        if dynamic:
            return self._unknown(node, stringy=True)
        return "".join(parts)

    def _binop(self, node: ast.BinOp) -> Value:
        if isinstance(node.op, ast.Add):
            operands: list[ast.expr] = []
            cur: ast.expr = node
            while isinstance(cur, ast.BinOp) and isinstance(cur.op, ast.Add):
                operands.append(cur.right)
                cur = cur.left
            operands.append(cur)
            operands.reverse()
            values = [self.const(o) for o in operands]
            if sum(size_of(v) for v in values) > MAX_VALUE:
                return self._unknown(node, stringy=True)
            if all(isinstance(v, str) for v in values):
                return self._bounded("".join(v for v in values if isinstance(v, str)), node)
            if all(isinstance(v, bytes) for v in values):
                return self._bounded(b"".join(v for v in values if isinstance(v, bytes)), node)
            if all(isinstance(v, tuple) for v in values):
                return tuple(x for v in values if isinstance(v, tuple) for x in v)
            stringy = any(isinstance(v, (str, bytes)) or (isinstance(v, Unknown) and v.stringy) for v in values)
            return self._unknown(node, stringy=stringy)
        left = self.const(node.left)
        if isinstance(node.op, ast.Div) and self.obj_kind(node.left) == "path":
            right_text = as_text(self.const(node.right))
            base = as_text(left)
            if base is None or right_text is None:
                return self._unknown(node, stringy=True)
            return posixpath.join(base, right_text)
        if isinstance(node.op, ast.Mod) and isinstance(left, (str, bytes)):
            right = self.const(node.right)
            items = right if isinstance(right, tuple) else (right,)
            if (
                (as_text(left) or "").count("%") * max((size_of(x) for x in items), default=0) + len(left) > MAX_VALUE
                or not _spec_is_safe(as_text(left) or "")
                or isinstance(right, Unknown)
                or (isinstance(right, tuple) and any(isinstance(x, Unknown) for x in right))
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
                if len(seq) * count > MAX_VALUE:
                    return self._unknown(node, stringy=isinstance(seq, (str, bytes)))
                return seq * count
        return self._unknown(node)

    def _bounded(self, v: Value, node: ast.expr) -> Value:
        if isinstance(v, (str, bytes)) and len(v) > MAX_VALUE:
            return self._unknown(node, stringy=True)
        return v

    def _subscript(self, node: ast.Subscript) -> Value:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            if self.qualname(node.value) == "os.environ":
                key = as_text(self.const(node.slice))
                return "~" if key == "HOME" else self._unknown(node, stringy=True)
        base = self.const(node.value)
        if isinstance(base, Unknown):
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

    def _call_value(self, node: ast.Call) -> Value:
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
                parts = [as_text(self.const(a)) for a in args]
                if any(p is None for p in parts):
                    return self._unknown(node, stringy=True)
                return posixpath.join(*[p for p in parts if p is not None]) if parts else "."
            if name == "os.path.join" and args:
                parts = [as_text(self.const(a)) for a in args]
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
                return v if isinstance(v, (str, bytes)) or name != "str" or isinstance(v, Unknown) else str(v)
            if name in ("os.getcwd", "os.getcwdb") and not args:
                return "."
            if name in ("os.getenv", "os.environ.get") and args:
                return "~" if as_text(self.const(args[0])) == "HOME" else self._unknown(node, stringy=True)
            if name == "os.path.dirname" and len(args) == 1:
                v = as_text(self.const(args[0]))
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
                base = as_text(self.const(func.value))
                if base is None:
                    return self._unknown(node, stringy=True)
                if func.attr == "joinpath":
                    parts = [as_text(self.const(a)) for a in args]
                    if any(p is None for p in parts):
                        return self._unknown(node, stringy=True)
                    return posixpath.join(base, *[p for p in parts if p is not None])
                if func.attr in ("expanduser", "resolve", "absolute"):
                    return base
                return self._unknown(node, stringy=True)
            if func.attr in _STR_METHODS:
                return self._str_method(node, func)
        return self._unknown(node)

    def _str_method(self, node: ast.Call, func: ast.Attribute) -> Value:
        recv = self.const(func.value)
        if not isinstance(recv, (str, bytes)):
            return self._unknown(node, stringy=isinstance(recv, Unknown) and recv.stringy)
        args = [self.const(a) for a in node.args]
        kwargs = {k.arg: self.const(k.value) for k in node.keywords if k.arg}
        if any(isinstance(a, Unknown) for a in args) or any(isinstance(v, Unknown) for v in kwargs.values()):
            return self._unknown(node, stringy=True)
        if func.attr == "format" and (not _spec_is_safe(as_text(recv) or "") or len(node.keywords) != len(kwargs)):
            return self._unknown(node, stringy=True)
        if func.attr in ("replace", "join", "format") and not self._method_fits(recv, func.attr, args, kwargs):
            return self._unknown(node, stringy=True)
        if func.attr in ("center", "ljust", "rjust", "zfill") and any(
            isinstance(a, int) and a > MAX_VALUE for a in args
        ):
            return self._unknown(node, stringy=True)
        if func.attr == "decode" or func.attr == "encode":
            codec = as_text(args[0]) if args else "utf-8"
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
    def _method_fits(recv: str | bytes, method: str, args: list[Value], kwargs: Mapping[str, Value]) -> bool:
        """Whether replace/join/format would build a string within the size bound."""
        if method == "replace":
            if len(args) < 2 or not isinstance(args[0], (str, bytes)):
                return True
            count = recv.count(args[0]) if args[0] else len(recv) + 1  # type: ignore[arg-type]
            return len(recv) + count * size_of(args[1]) <= MAX_VALUE
        if method == "join":
            items = args[0] if args else ()
            n = len(items) if isinstance(items, tuple) else 0
            return size_of(items) + n * len(recv) <= MAX_VALUE
        values = list(args) + list(kwargs.values())
        if any(isinstance(v, int) and abs(v) > 10_000 for v in values):  # '{:>{}}'.format('x', 10**9)
            return False
        braces = recv.count("{") if isinstance(recv, str) else 0
        return len(recv) + braces * max((size_of(v) for v in values), default=0) <= MAX_VALUE

    def _decode(self, node: ast.Call, fn: Callable[..., bytes], arg: ast.expr) -> Value:
        v = self.const(arg)
        if not isinstance(v, (str, bytes)):
            return self._unknown(node, stringy=True)
        try:
            result = fn(v)
        except (ValueError, TypeError, binascii.Error):
            return self._unknown(node, stringy=True)
        self.decoded = True
        return result

    def _codec(self, node: ast.Call, name: str) -> Value:
        v = self.const(node.args[0])
        codec = as_text(self.const(node.args[1])) if len(node.args) > 1 else "utf-8"
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

    def _decompress(self, node: ast.Call, name: str, arg: ast.expr) -> Value:
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
            result = d.decompress(v, MAX_VALUE)
        except zlib.error:
            return self._unknown(node, stringy=True)
        if d.unconsumed_tail:
            return self._unknown(node, stringy=True)
        self.decoded = True
        return result

