"""The package's layout (docs/architecture.md): module size, no import cycles, no module named after
a standard-library module, every module's docstring, and which package may import which."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "policylang"
MAX_LINES = 800

# The value types and small shared services at the top of the package: every stage uses them.
TOP = {"actions", "cache", "diagnostics", "effects", "frozen", "inputs", "lazy", "regex", "resolve", "settings", "source",
       "verdict", "_version"}
# What each part may import (besides the top-level modules and itself), outside TYPE_CHECKING.
MAY_IMPORT = {
    "top": set(),
    "analysis": set(),
    "engine": {"analysis"},
    "lang": {"analysis", "engine"},
    "config": {"analysis", "engine", "lang", "sandbox"},
    "sandbox": set(),
    "audit": {"engine"},
    "adapters": {"analysis", "engine", "lang", "config", "audit", "sandbox"},
    "root": {"analysis", "engine", "lang", "config", "adapters", "audit", "sandbox"},  # policylang/__init__.py, __main__.py
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _part(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in ("__main__",):
        return "root"
    if parts[1] in TOP:
        return "top"
    return parts[1]


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING")


def _imports(module: str) -> set[str]:
    """The policylang modules (and third-party top names) a module imports at run time, anywhere in
    its body (function-level imports included, TYPE_CHECKING blocks excluded)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for sub in child.orelse:
                    visit(sub)
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:  # "from . import x": x may be a module, else a name of target
                    sub = f"{target}.{alias.name}"
                    found.add(sub if sub in MODULES else target)
            visit(child)

    visit(tree)
    return found


def _edges(m: str) -> set[str]:
    """The modules ``m`` imports, less its own packages (which Python has imported before ``m``)."""
    return {i for i in _imports(m) if i in MODULES and i != m and not m.startswith(i + ".")}


GRAPH = {m: _edges(m) for m in MODULES}


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_over_800_lines(module: str) -> None:
    n = len(MODULES[module].read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{module} has {n} lines"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_or_package_is_named_after_a_standard_library_module(module: str) -> None:
    for name in module.split(".")[1:]:
        assert name not in sys.stdlib_module_names, f"{module}: {name!r} is a standard-library module"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_owns(module: str) -> None:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert module.endswith("_version") or doc and doc.strip(), f"{module} has no docstring"


def test_there_is_no_import_cycle() -> None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(GRAPH[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n):] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                walk(n)
        stack.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            walk(m)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_part_imports_only_what_docs_architecture_allows(module: str) -> None:
    part = _part(module)
    allowed = MAY_IMPORT[part] | {"top", part}
    for target in GRAPH[module]:
        if target == "policylang":
            continue
        assert _part(target) in allowed, f"{module} ({part}) imports {target} ({_part(target)})"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _part(m) in ("engine", "analysis", "top")))
def test_the_runtime_never_imports_the_parser(module: str) -> None:
    for target in _imports(module):
        assert target.split(".")[0] != "lark", f"{module} imports {target}"
        assert not target.startswith("policylang.lang"), f"{module} imports {target}"
