"""The Python analyser: walks a source's ast and applies the tables to its calls and references.

It parses the source with :mod:`ast`, indexes its bindings and calls, and applies the tables to
every call whose name resolves to a table entry, and to table functions passed as values.
"""

from __future__ import annotations

import ast
import re
import warnings
from typing import Any, Mapping

from .appliers import KIND_WORDS, Args, apply_files, apply_network, dispatch, spread
from .collector import Out
from .python_callee import PythonCallees
from .values import AMBIGUOUS, MISSING, Missing, Unknown, Value, as_text

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
        ast.Lambda,
    }
)  # the node types PythonAnalyser._index looks at


class PythonAnalyser(PythonCallees):
    """Analysis of Python source with the ast module."""

    def __init__(self, source: str, out: Out, depth: int, parent: PythonAnalyser | None) -> None:
        super().__init__(source, out, depth, parent)
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
            calls = self._index(tree)
            for node in calls:
                self._call(node)
            for ref in self._references:
                self._reference(ref)
            for node in calls:
                self._passed_lookups(node)
        except RecursionError:
            self.out.make_opaque("python source is nested too deeply to analyse")

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
                if isinstance(node.func, ast.Name):
                    self.call_sites.setdefault(node.func.id, []).append(node)
                elif isinstance(node.func, ast.Lambda):
                    self.lambda_calls[id(node.func)] = node
            elif isinstance(node, ast.Attribute):
                inner.add(id(node.value))
                if node.attr in last_names and isinstance(node.ctx, ast.Load):
                    refs.append(node)
            elif isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.name_uses[node.id] = self.name_uses.get(node.id, 0) + 1
                    if node.id in last_names:
                        refs.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                a = node.args
                for arg in (*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg):
                    if arg is not None:
                        self.param_of[id(arg)] = node
                if not isinstance(node, ast.Lambda):
                    for deco in node.decorator_list:
                        if isinstance(deco, ast.Name):
                            self.decorated_by[deco.id] = self.decorated_by.get(deco.id, 0) + 1
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                        self.method_of[id(stmt)] = node
                for deco in node.decorator_list:
                    if isinstance(deco, ast.Name):
                        self.decorated_by[deco.id] = self.decorated_by.get(deco.id, 0) + 1
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
                    if node.level:  # a module of the package the code belongs to
                        self._bind(local, AMBIGUOUS, ("relimport", f"{'.' * node.level}{module}.{alias.name}"))
                    else:
                        self._bind(local, ("import", f"{module}.{alias.name}" if module else alias.name))
            elif isinstance(node, ast.Assign):
                if len(node.targets) == 1 and isinstance(node.value, ast.Lambda):
                    first = node.targets[0]
                    if isinstance(first, ast.Name):
                        self.lambda_names[id(node.value)] = first.id
                for target in node.targets:
                    if len(node.targets) == 1:
                        self._bind_target(target, node.value)
                    else:
                        self._bind_target(target, None, ("value", node.value))
                if len(node.targets) > 1:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.bindings[target.id] = AMBIGUOUS
            elif isinstance(node, ast.AnnAssign):
                self._bind_target(node.target, node.value)
            elif isinstance(node, ast.NamedExpr):
                self._bind_target(node.target, node.value)
            elif isinstance(node, ast.AugAssign):
                self._bind_target(node.target, None)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self._bind_target(node.target, None, ("loop", node.iter))
            elif isinstance(node, ast.withitem):
                if node.optional_vars is not None:
                    self._bind_target(node.optional_vars, node.context_expr)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self._bind(node.name, AMBIGUOUS, ("class" if isinstance(node, ast.ClassDef) else "def", node))
            elif isinstance(node, ast.arg):
                self._bind(node.arg, AMBIGUOUS, ("param", node))
            elif isinstance(node, ast.ExceptHandler) and node.name:
                self._bind(node.name, AMBIGUOUS)
            elif isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
                self._bind(node.name, AMBIGUOUS)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self._bind(node.rest, AMBIGUOUS)
        self._references = [r for r in refs if id(r) not in inner]
        return calls

    # -- calls
    def _args(self, node: ast.Call, recv: Value | Missing = MISSING) -> Args:
        pos: list[Value] = []
        raw: list[str] = []
        open_ended = False
        for a in node.args:
            if isinstance(a, ast.Starred):
                if spread(self.const(a.value), pos, raw):
                    continue
                open_ended = True
                break
            pos.append(self.const(a))
            raw.append(self.snippet(a))
        kw: dict[str, Value] = {}
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
        return Args(pos, kw, raw, recv, open_ended, kw_open)

    def _run_code(self, code: str, via: str) -> None:
        self.out.nested("python", code, f"{via}()", self.depth, self)

    def _redispatch(self, name: str, args: Args) -> bool:
        return dispatch("python", self._normalise(name), args, self.out, self._run_code, self._redispatch)

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
            dispatch("python", name, args, self.out, self._run_code, self._redispatch)
            if self.decoded and name in ("exec", "eval", "compile"):
                self.out.danger(f"{name}() runs decoded (base64/hex/compressed) code", opaque=False)
            return
        if name is None and self._unresolved(node):
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
                    apply_network(label, spec, args, self.out)
                else:
                    apply_files(label, spec, args, self.out)

    def _unresolved(self, node: ast.Call) -> bool:
        """A call whose callee is not a name chain: judge the names it resolves to, or make the
        finding opaque when it cannot be resolved; True when the call is dealt with."""
        func = node.func
        shown = self.snippet(func)
        if not isinstance(func, (ast.Name, ast.Attribute, ast.Call, ast.Subscript)):
            shown = f"({shown})"
        if isinstance(func, ast.Attribute):  # a method of a value: judged by its name...
            reflective = self.reflective(func.value)  # ...unless the value is looked up by name
            if reflective:
                self.out.make_opaque(f"{shown}(...) cannot be resolved to a known function: {reflective}")
                return True
            return self._bound_more_than_once(node, func)
        if isinstance(func, ast.Call) and self.qualname(func.func) == "operator.methodcaller" and func.args:
            method = as_text(self.const(func.args[0]))
            base = self.qualname(node.args[0]) if len(node.args) == 1 and not node.keywords else None
            if method is None or base is None:
                self.out.make_opaque(f"{self.snippet(node)} calls a method known only at run time")
            else:  # operator.methodcaller("system", "id")(os) is os.system("id")
                given = ast.Call(func=func.func, args=func.args[1:], keywords=func.keywords)
                self._redispatch(f"{base}.{method}", self._args(given))
            return True
        target = self._literal(func)
        if (
            isinstance(target, ast.Call)
            and self.qualname(target.func) in ("functools.partial", "functools.partialmethod")
            and target.args
            and not isinstance(target.args[0], ast.Starred)
        ):  # functools.partial(f, a, k=v)(b) is f(a, b, k=v)
            whole = ast.Call(
                func=target.args[0], args=target.args[1:] + node.args, keywords=target.keywords + node.keywords
            )
            self._call(ast.copy_location(whole, node))
            return True
        res = self.callee(func)
        if res.opaque:
            self.out.make_opaque(f"{shown}(...) cannot be resolved to a known function: {res.opaque}")
            return True
        for name in res.names:
            if self.judged(name):
                self._redispatch(name, self._args(node))
        return True

    def _bound_more_than_once(self, node: ast.Call, func: ast.Attribute) -> bool:
        """``m.system(...)`` where ``m`` is bound more than once (``import os as m`` in one branch,
        ``import posix as m`` in another, ``m = os if c else shutil``): the call of every module
        it may be; True when one of them is a call the tables list."""
        attrs: list[str] = []
        root: ast.expr = func
        while isinstance(root, ast.Attribute):
            attrs.append(root.attr)
            root = root.value
        if not isinstance(root, ast.Name):
            return False
        base = self.callee(root)
        hit = False
        for qual in base.names:
            name = self._normalise(".".join([qual, *reversed(attrs)]))
            if self.judged(name):
                self._redispatch(name, self._args(node))
                hit = True
        return hit

    def _passed_lookups(self, node: ast.Call) -> None:
        """A function looked up by a name known only at run time, passed as an argument (a
        callback, a thread target: ``Thread(target=vars(os)[k])``): what it runs is not known."""
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            value = arg.value if isinstance(arg, ast.Starred) else arg
            if isinstance(value, ast.Attribute):
                value = value.value
            reflective = self.reflective(value)
            if reflective:
                self.out.make_opaque(f"{self.snippet(arg)} is passed as a value: {reflective}")

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
                verb = eff.get("what") or ("deletes a tree" if kind == "delete" and recursive else KIND_WORDS[kind])
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
            if isinstance(attr, Unknown):
                base = self.qualname(node.args[0])
                if base is not None and base.split(".", 1)[0] in self.tables.sensitive:
                    self.out.danger(f"getattr on {base} with a name computed at run time: {self.snippet(node.args[1])}")
                    return True
        return False
