"""The module-level import graph of ``harness/`` and ``cases/`` has no cycles (issue 20).

The graph is built from the source with :mod:`ast`: an edge ``a -> b`` for every import
of ``b`` that runs when ``a`` is imported (module and class bodies, ``if``/``try``
blocks; not function bodies and not ``if TYPE_CHECKING:`` blocks).  ``from p import x``
is an edge to ``p.x`` when that is a module of the tree, else to the package ``p``.
The same graph with function-local imports added must be acyclic too: a cycle hidden
in a function is still two modules that cannot be read apart.  Cycles are the
strongly connected components with more than one module (or a self-import).  Run as a script to print them: ``python tests/test_import_graph.py``.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "cases")

#: Edges exempted from the cycle check (none: keep it that way).
KNOWN_EDGES: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[module_name(path)] = path
    return out


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _statements(body: list[ast.stmt], functions: bool) -> Iterator[ast.stmt]:
    """Statements that run on import (``functions=False``) or anywhere (``True``), minus ``TYPE_CHECKING`` blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if functions:
                yield from _statements(node.body, functions)
            continue
        if isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _statements(node.body, functions)
            yield from _statements(node.orelse, functions)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _statements(block, functions)
        elif isinstance(node, (ast.With, ast.ClassDef, ast.For, ast.While)):
            yield from _statements(node.body, functions)
            if functions and isinstance(node, (ast.For, ast.While)):
                yield from _statements(node.orelse, functions)
        else:
            yield node


def imports_of(name: str, path: Path, known: dict[str, Path], functions: bool = False) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in _statements(tree.body, functions):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in known:
                    out.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            target = _from_target(node, package)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in known:
                    out.add(sub)
                elif target in known:
                    out.add(target)
    out.discard(name) if path.name == "__init__.py" else None
    return out



def _from_target(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` names (relative levels resolved against ``package``)."""
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))

def import_graph(functions: bool = False) -> dict[str, set[str]]:
    """``module -> modules it imports`` at import time, or also inside functions (``functions=True``)."""
    known = modules()
    return {name: imports_of(name, path, known, functions) for name, path in known.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with a cycle (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(max(10000, sys.getrecursionlimit()))

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(out)


def test_cycle_finder_finds_a_planted_cycle() -> None:
    """The finder itself can fail: a two-module cycle and a three-module cycle are reported."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c", "a"}, "f": {"a"}}
    assert cycles(graph) == [["a", "b"], ["c", "d", "e"]]


def test_graph_sees_relative_and_absolute_imports() -> None:
    assert "harness.perf.bench" in import_graph(functions=True)["harness.cli"]  # local import
    graph = import_graph()
    assert "harness.reproduce._registry" in graph["harness.reproduce.table31"]  # `from ._registry import ...`
    assert "cases.registry" in graph["cases.dlae"]
    assert "cases._registry" in graph["harness.solvers.registry"]  # `from cases._registry import ...`


def _top_level_names(tree: ast.Module) -> set[str] | None:
    """Names a module defines at import time (``None``: it has a ``from x import *``)."""
    names: set[str] = set()

    def walk(body: list[ast.stmt]) -> bool:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    for n in ast.walk(t):
                        if isinstance(n, ast.Name):
                            names.add(n.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        return False
                    names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, ast.If):
                if not (walk(node.body) and walk(node.orelse)):
                    return False
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                    if not walk(block):
                        return False
            elif isinstance(node, ast.With):
                if not walk(node.body):
                    return False
        return True

    return names if walk(tree.body) else None


def dangling_imports() -> list[str]:
    """``from harness.x import y`` (anywhere, function bodies included) where ``harness.x``
    neither defines ``y`` nor has a submodule ``y`` -- dead code that fails only when run
    (e.g. the sweep's former ``from harness.jitcache.compile_cache import enable``).  A module
    with a PEP 562 ``__getattr__`` must at least name ``y`` in a string (its export table)."""
    known = modules()
    trees = {name: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for name, path in known.items()}
    defined = {name: _top_level_names(tree) for name, tree in trees.items()}
    strings = {name: {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
               for name, tree in trees.items()}
    out = []
    for name, tree in trees.items():
        package = name if known[name].name == "__init__.py" else name.rpartition(".")[0]
        for node in _statements(tree.body, functions=True):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = _from_target(node, package)
            if target not in known or defined[target] is None:
                continue
            for alias in node.names:
                ok = (alias.name == "*" or f"{target}.{alias.name}" in known or alias.name in defined[target]
                      or ("__getattr__" in defined[target] and alias.name in strings[target]))
                if not ok:
                    out.append(f"{name}: from {target} import {alias.name}")
    return sorted(out)


def test_dangling_import_finder_sees_a_planted_one(tmp_path: Path) -> None:
    tree = ast.parse("from os import path\nx = 1\ndef f():\n    from . import y\nif True:\n    z = 2\n")
    assert _top_level_names(tree) == {"path", "x", "f", "z"}
    assert _top_level_names(ast.parse("from os import *\n")) is None


def test_no_import_of_a_name_that_does_not_exist() -> None:
    found = dangling_imports()
    assert not found, f"imports of names their module does not define: {found}"


def _pruned(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    return {a: {b for b in bs if (a, b) not in KNOWN_EDGES} for a, bs in graph.items()}


def test_no_module_level_import_cycles() -> None:
    found = cycles(_pruned(import_graph()))
    assert not found, f"module-level import cycles: {found}"


def test_no_cycles_hidden_in_function_local_imports() -> None:
    """A cycle closed by an import inside a function (e.g. a registry that imports the modules
    that register themselves with it) is still a cycle: the two modules cannot be read apart."""
    found = cycles(_pruned(import_graph(functions=True)))
    assert not found, f"import cycles (counting function-local imports): {found}"


if __name__ == "__main__":
    for label, fn in (("module-level", False), ("with function-local imports", True)):
        for comp in cycles(import_graph(fn)):
            print(f"{label}: {' <-> '.join(comp)}")
    for line in dangling_imports():
        print(f"dangling: {line}")
