"""What a Python call's callee can be when it is not a plain name: the names it resolves to, or why not.

A call whose callee is a name chain (``os.system``, ``data.get``) is judged by its name. Any other
callee (``x['a'](1)``, ``f()()``, ``(a or b)(...)``, ``getattr(obj, name)(...)``, a name bound to
such a value, a parameter, a loop variable) is followed through what the source shows: literal
containers indexed by literals, both arms of a conditional, the values passed for a parameter at
every call of its function, the items a loop runs over, what a function defined here returns.
What cannot be followed to a name, or to code defined in the source, is opaque: it is never taken
as harmless. Code defined in the source (functions, classes, lambdas) is analysed where it stands,
so calling it adds nothing.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from .callee import HARMLESS, MAX_CALLEE_STEPS, Resolution, combine
from .collector import Out
from .python_fold import PythonScope
from .values import as_text

_BUILTINS = frozenset(dir(builtins))
# Builtins whose result, called, is a function that cannot be known from the call: reflection.
_REFLECTIVE_RESULTS = frozenset(
    {
        "getattr",
        "vars",
        "globals",
        "locals",
        "eval",
        "exec",
        "compile",
        "__import__",
        "importlib.import_module",
        "operator.methodcaller",
        "inspect.getattr_static",
    }
)
# Builtins whose result, called, is harmless: a proxy of the class being defined, a new object.
_CONSTRUCTOR_RESULTS = frozenset({"super", "object"})
_NO_CUT = 1 << 30  # the low-link of a walk that cut no cycle


class PythonCallees(PythonScope):
    """Resolution of callees that are not name chains (see the module's docstring)."""

    def __init__(self, source: str, out: Out, depth: int, parent: PythonScope | None) -> None:
        super().__init__(source, out, depth, parent)
        self.param_of: dict[int, ast.AST] = {}  # id(arg) -> the function or lambda it belongs to
        self.method_of: dict[int, ast.ClassDef] = {}  # id(function) -> the class it is a method of
        self.call_sites: dict[str, list[ast.Call]] = {}  # name -> the calls of that bare name
        self.name_uses: dict[str, int] = {}  # name -> how often it is read
        self.lambda_calls: dict[int, ast.Call] = {}  # id(lambda) -> the call that calls it at once
        self.lambda_names: dict[int, str] = {}  # id(lambda) -> the name it is assigned to
        self.decorated_by: dict[str, int] = {}  # name -> how many definitions it decorates
        self._callee_active: dict[tuple[int, bool], int] = {}  # callee being followed -> its depth
        self._callee_steps = MAX_CALLEE_STEPS
        # Results kept for callees whose walk cut no cycle at a callee above them (the low-link of
        # Tarjan's algorithm): what they resolve to does not depend on where the walk came from.
        self._callee_memo: dict[tuple[int, bool], Resolution] = {}
        self._callee_low = _NO_CUT
        self._return_values: dict[int, list[ast.expr]] = {}  # id(function) -> its return statements' values

    # -- the entry
    def callee(self, node: ast.expr, strict: bool = False) -> Resolution:
        """What the callee ``node`` can be. ``strict``: a name bound nowhere in the source and not
        a builtin is an unknown value (it is, when it is a part of a larger callee)."""
        return self._followed((id(node), strict), node, lambda: self._callee(node, strict))

    def _followed(self, key: tuple[int, bool], node: ast.AST, follow: Callable[[], Resolution],
                  counted: bool = True) -> Resolution:
        """``follow()``, once per key: a key met again while it is being followed is a cycle (it adds
        no value not reached another way). A ``counted`` step spends the budget, a known result too
        (it stands for the walk it saves, which would have cost at least that step), so the budget
        bounds the time and is never spent faster than without the memo."""
        active = self._callee_active.get(key)
        if active is not None:
            self._callee_low = min(self._callee_low, active)
            return HARMLESS  # a cycle adds no value that is not reached another way
        if counted:
            self._callee_steps -= 1
            if self._callee_steps < 0:
                return Resolution(opaque=f"too many values to follow for {self.snippet(node)}")
        known = self._callee_memo.get(key)
        if known is not None:
            return known
        depth = len(self._callee_active)
        self._callee_active[key] = depth
        outer, self._callee_low = self._callee_low, _NO_CUT
        try:
            found = follow()
        finally:
            del self._callee_active[key]
            low, self._callee_low = self._callee_low, min(outer, self._callee_low)
        if low >= depth and self._callee_steps >= 0:
            self._callee_memo[key] = found
        return found

    def _callee(self, node: ast.expr, strict: bool) -> Resolution:
        if isinstance(node, ast.Name):
            return self._name(node.id, node, strict)
        if isinstance(node, ast.Attribute):
            q = self.qualname(node)
            if q is not None:
                root: ast.expr = node
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name):
                    base = self._name(root.id, root, strict)
                    if base.opaque:
                        return base
                return Resolution((q,))
            reflective = self.reflective(node.value)
            if reflective:
                return Resolution(opaque=reflective)
            return HARMLESS  # a method of a value: judged by its name where it is called
        if isinstance(node, ast.Subscript):
            return self._item_callee(node)
        if isinstance(node, ast.Call):
            return self._call_result(node)
        if isinstance(node, ast.IfExp):
            return combine([self.callee(node.body, True), self.callee(node.orelse, True)])
        if isinstance(node, ast.BoolOp):
            return combine([self.callee(v, True) for v in node.values])
        if isinstance(node, ast.NamedExpr):
            return self.callee(node.value, strict)
        if isinstance(node, ast.Lambda):
            return HARMLESS  # its body is analysed where it stands
        if isinstance(
            node, (ast.Constant, ast.JoinedStr, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.ListComp, ast.DictComp)
        ):
            return HARMLESS  # not callable: calling it raises TypeError
        return Resolution(opaque=f"{self.snippet(node)} is a value known only at run time")

    def judged(self, name: str) -> bool:
        """Whether the tables say anything about a call of ``name``."""
        t = self.tables
        return name in t.known or any(name == p or name.startswith(p + ".") for p, _ in t.prefixes)

    # -- names
    def _name(self, name: str, node: ast.expr, strict: bool) -> Resolution:
        found = self._origins(name)
        if found is None:
            if name in _BUILTINS or not strict:
                return Resolution((self._normalise(name),))
            return Resolution(opaque=f"{name} is not defined in the code")
        origins, scope = found
        if scope is not self and isinstance(scope, PythonCallees):
            self._callee_low = -1  # the enclosing source's scope answers: nothing above is kept
            return scope._name(name, node, strict)
        return combine([self._origin(name, kind, what) for kind, what in origins])

    def _origin(self, name: str, kind: str, what: object) -> Resolution:
        if kind in ("import", "relimport"):
            return Resolution((self._normalise(str(what)),))
        if kind in ("def", "class"):
            return HARMLESS  # defined in the source: its body is analysed
        if kind == "value" and isinstance(what, ast.expr):
            return self.callee(what, True)
        if kind == "param" and isinstance(what, ast.arg):
            return self._param(what)
        if kind == "loop" and isinstance(what, ast.expr):
            return self._items(what, name)
        return Resolution(opaque=f"{name} is bound to a value known only at run time")

    def _items(self, iterable: ast.expr, name: str) -> Resolution:
        """What a loop variable can be: an item of a literal list, tuple or set."""
        node = self._literal(iterable)
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return combine([self.callee(e, True) for e in node.elts if not isinstance(e, ast.Starred)])
        if isinstance(node, ast.Dict):
            return HARMLESS  # a loop over a dict gives its keys: strings
        return Resolution(opaque=f"{name} takes the items of {self.snippet(iterable)}, known only at run time")

    def _literal(self, node: ast.expr) -> ast.expr:
        """The literal a name is bound to once (through names bound once), else the node."""
        for _ in range(20):
            if not isinstance(node, ast.Name):
                return node
            found = self._lookup(node.id)
            if found is None or not isinstance(found[0], tuple) or found[0][0] != "value":
                return node
            value = found[0][1]
            if not isinstance(value, ast.expr):
                return node
            node = value
        return node

    # -- parameters
    def _param(self, arg: ast.arg) -> Resolution:
        """What a parameter can be: the values passed for it at every call of its function."""
        return self._followed((id(arg), True), arg, lambda: self._param_values(arg), counted=False)

    def _param_values(self, arg: ast.arg) -> Resolution:
        fn = self.param_of.get(id(arg))
        shown = f"{arg.arg}, a parameter"
        if isinstance(fn, ast.Lambda):
            call = self.lambda_calls.get(id(fn))
            name = self.lambda_names.get(id(fn))
            sites: list[ast.Call | None] | None = [call] if call is not None else None
            if sites is None and name:
                sites = self._sites(name)
            if sites is None:
                return Resolution(opaque=f"{shown} of a lambda called where the code does not show")
            return self._passed(fn.args, arg, sites, shown)
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return Resolution(opaque=f"{shown}, is a value known only at run time")
        cls = self.method_of.get(id(fn))
        if cls is not None:
            positional = fn.args.posonlyargs + fn.args.args
            static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list)
            if positional and positional[0] is arg and not static:
                return HARMLESS  # self or cls: an instance of a class defined here, or the class
            return Resolution(opaque=f"{shown} of the method {cls.name}.{fn.name}, called where the code does not show")
        if fn.decorator_list:
            return Resolution(opaque=f"{shown} of {fn.name}, which is decorated: its callers are not known")
        sites = self._sites(fn.name)
        if sites is None:
            return Resolution(opaque=f"{shown} of {fn.name}, which is passed as a value: its callers are not known")
        return self._passed(fn.args, arg, sites, f"{shown} of {fn.name}")

    def _is_self(self, name: str) -> bool:
        """Whether a name is only ever the first parameter of methods (self, cls)."""
        found = self._origins(name)
        if found is None:
            return False
        for kind, what in found[0]:
            fn = self.param_of.get(id(what)) if kind == "param" else None
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or id(fn) not in self.method_of:
                return False
            positional = fn.args.posonlyargs + fn.args.args
            if not positional or positional[0] is not what:
                return False
        return True

    def _sites(self, name: str) -> list[ast.Call | None] | None:
        """The calls of a function bound to ``name``, None standing for each definition it
        decorates (``@name def f(): ...`` calls ``name(f)``); None when the name is also used
        otherwise (passed as a value, so it may be called with anything)."""
        sites: list[ast.Call | None] = list(self.call_sites.get(name, []))
        decorated = self.decorated_by.get(name, 0)
        if self.name_uses.get(name, 0) != len(sites) + decorated:
            return None
        return sites + [None] * decorated

    def _passed(self, args: ast.arguments, arg: ast.arg, sites: list[ast.Call | None], shown: str) -> Resolution:
        if arg is args.vararg or arg is args.kwarg:
            return Resolution(opaque=f"{shown}, collects arguments known only at run time")
        positional = args.posonlyargs + args.args
        index = next((i for i, a in enumerate(positional) if a is arg), None)
        default: ast.expr | None = None
        if index is not None:
            first_default = len(positional) - len(args.defaults)
            if index >= first_default:
                default = args.defaults[index - first_default]
        else:
            k = next((i for i, a in enumerate(args.kwonlyargs) if a is arg), None)
            if k is None:
                return Resolution(opaque=f"{shown}, is a value known only at run time")
            default = args.kw_defaults[k]
        parts: list[Resolution] = []
        for call in sites:
            if call is None:  # decorating a definition: the definition is the first argument
                if index != 0:
                    parts.append(self.callee(default, True) if default is not None else HARMLESS)
                continue
            if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
                return Resolution(opaque=f"{shown}, is given arguments known only at run time: {self.snippet(call)}")
            given: ast.expr | None = None
            if index is not None and index < len(call.args):
                given = call.args[index]
            else:
                given = next((k.value for k in call.keywords if k.arg == arg.arg), default)
            if given is not None:
                parts.append(self.callee(given, True))
        return combine(parts)

    # -- subscripts and call results
    def _item_callee(self, node: ast.Subscript) -> Resolution:
        q = self.qualname(node)
        if q is not None:
            return Resolution((q,))
        container = self._literal(node.value)
        if isinstance(container, (ast.List, ast.Tuple, ast.Dict)):
            key = self.const(node.slice)
            if isinstance(container, ast.Dict):
                keys = [as_text(self.const(k)) if k is not None else None for k in container.keys]
                if isinstance(key, str) and key in keys and None not in keys:
                    return self.callee(container.values[len(keys) - 1 - keys[::-1].index(key)], True)
                items = list(container.values)
            else:
                elts = container.elts
                if isinstance(key, int) and not isinstance(key, bool) and -len(elts) <= key < len(elts):
                    if not any(isinstance(e, ast.Starred) for e in elts):
                        return self.callee(elts[key], True)
                items = [e.value if isinstance(e, ast.Starred) else e for e in elts]
            return combine([self.callee(e, True) for e in items])
        reflective = self.reflective(node)
        if reflective:
            return Resolution(opaque=reflective)
        return Resolution(opaque=f"{self.snippet(node)} is looked up at run time")

    def reflective(self, node: ast.expr) -> str:
        """Why ``node`` is a module or function looked up by a name known only at run time
        (``sys.modules[name]``, ``vars(os)[k]``, ``globals()[k]``, ``os.__dict__[k]``); "" if it is not."""
        if not isinstance(node, ast.Subscript) or self.qualname(node) is not None:
            return ""
        if self.namespace(node.value):
            return f"{self.snippet(node)} looks up a name known only at run time"
        return ""

    def namespace(self, node: ast.expr) -> bool:
        """Whether ``node`` is a namespace, a mapping from names to modules or functions
        (``sys.modules``, ``vars(m)``, ``globals()``, ``locals()``, ``m.__dict__``, ``__builtins__``)."""
        node = self._literal(node)
        if isinstance(node, ast.Attribute):
            return node.attr == "__dict__" or self.qualname(node) == "sys.modules"
        if isinstance(node, ast.Name):
            return node.id == "__builtins__" and self._origins(node.id) is None
        if isinstance(node, ast.Call):
            return self.qualname(node.func) in ("vars", "globals", "locals")
        return False

    def _call_result(self, node: ast.Call) -> Resolution:
        """What the value a call returns can be, when it is called in turn."""
        q = self.qualname(node)
        if q is not None:  # getattr(m, "name"), __import__("m"), operator.attrgetter("a")(m)
            return Resolution((q,))
        func = node.func
        shown = self.snippet(node)
        if isinstance(func, ast.Lambda):
            return self.callee(func.body, True)  # (lambda: print)()
        fq = self.qualname(func)
        if fq == "getattr" and len(node.args) >= 2:
            attr = as_text(self.const(node.args[1]))
            if attr is None:
                return Resolution(opaque=f"{shown} gets an attribute whose name is known only at run time")
            base = self.callee(node.args[0], False)
            return base if base.opaque else HARMLESS  # a method of a value, like value.attr
        if fq in ("functools.partial", "functools.partialmethod") and node.args:
            wrapped = self.callee(node.args[0], True)
            if any(self.judged(n) for n in wrapped.names):  # where its arguments cannot be put together
                return Resolution(opaque=f"{shown} wraps {', '.join(wrapped.names)} with arguments given elsewhere")
            return wrapped
        if fq is not None and fq in _REFLECTIVE_RESULTS:
            return Resolution(opaque=f"{shown} returns a function known only at run time")
        if fq is not None and fq in _CONSTRUCTOR_RESULTS:
            return HARMLESS
        if fq == "type" and len(node.args) == 1:  # type(x)(...) makes another object of x's class
            of = self._literal(node.args[0])
            if isinstance(of, (ast.Constant, ast.List, ast.Tuple, ast.Dict, ast.Set, ast.JoinedStr)):
                return HARMLESS
            if isinstance(of, ast.Name) and self._is_self(of.id):
                return HARMLESS
            return Resolution(opaque=f"{shown} is the class of a value known only at run time")
        if fq == "type":
            return HARMLESS  # type(name, bases, namespace): a class whose methods are in the source
        if isinstance(func, ast.Attribute) and self.namespace(func.value):
            return Resolution(opaque=f"{shown} takes a function from a namespace by a name known only at run time")
        if isinstance(func, ast.Call) and self.qualname(func.func) in ("operator.itemgetter", "operator.attrgetter"):
            return Resolution(opaque=f"{shown} gets a value known only at run time")
        inner = self.callee(func, True)
        if inner.opaque:
            return Resolution(opaque=f"the function returned by {shown} is not known: {inner.opaque}")
        if not inner.names and not isinstance(func, ast.Attribute):
            return self._returns(func)  # code defined in the source
        if self._library(func):
            # what a library call returns (a model, a compiled function): an object of that library
            return Resolution(tuple(f"{n}()" for n in inner.names))
        if inner.names:
            return Resolution(opaque=f"{shown} returns a function known only at run time")
        return Resolution(opaque=f"what {shown} returns is known only at run time")

    def _library(self, func: ast.expr) -> bool:
        """Whether a callee is a library's: its receiver chain (``lib.f(x).to(y)``) starts at a
        name bound only by imports."""
        root = self._literal(func)
        for _ in range(100):
            if isinstance(root, ast.Attribute):
                root = self._literal(root.value)
            elif isinstance(root, ast.Call):
                root = self._literal(root.func)
            elif isinstance(root, ast.Subscript):
                root = self._literal(root.value)
            else:
                break
        if not isinstance(root, ast.Name):
            return False
        found = self._origins(root.id)
        return found is not None and all(kind in ("import", "relimport") for kind, _ in found[0])

    def _returns(self, func: ast.expr) -> Resolution:
        """What calling code defined in the source returns: a class gives an instance (its
        methods are analysed), a function what its return statements give."""
        node = self._literal(func)
        if isinstance(node, ast.Lambda):
            return self.callee(node.body, True)
        if isinstance(node, ast.Name):
            found = self._origins(node.id)
            if found is None:
                return Resolution(opaque=f"{node.id} is not defined in the code")
            parts: list[Resolution] = []
            for kind, what in found[0]:
                if kind == "class":
                    parts.append(HARMLESS)
                elif kind == "def" and isinstance(what, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    parts.append(self._returned(what))
                else:
                    parts.append(Resolution(opaque=f"what {node.id}() returns is not known"))
            return combine(parts)
        return Resolution(opaque=f"what {self.snippet(func)}() returns is not known")

    def _returned(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Resolution:
        values = self._return_values.get(id(fn))
        if values is None:  # found once per function
            values = []
            todo: list[ast.AST] = list(fn.body)
            while todo:
                stmt = todo.pop()
                if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                    continue
                if isinstance(stmt, ast.Return) and stmt.value is not None:
                    values.append(stmt.value)
                todo.extend(ast.iter_child_nodes(stmt))
            self._return_values[id(fn)] = values
        return combine([self.callee(v, True) for v in values])
