"""Folders only import downward: the declared floors of ``harness/`` and ``cases/`` (issue 31).

:data:`FLOORS` lists the floors bottom to top; each floor holds rooms, each room a set of
module prefixes.  An *arrow* ``a -> b`` is any way module ``a`` reaches module ``b``:

* an ``import`` / ``from ... import`` anywhere in ``a`` (module level, function bodies,
  class bodies, ``TYPE_CHECKING`` blocks: a type from a higher room is still knowledge of it);
* ``importlib.import_module("b")`` or ``__import__("b")`` with a literal string;
* a string constant that names a module of the tree, ``"pkg.mod"`` or ``"pkg.mod:attr"``:
  the lazy-export tables (:func:`cases._registry.lazy_exports`), the registries'
  ``"module:attr"`` references and the CLI's ``_delegate("harness.x", ...)`` tables all
  import ``b`` on first use, so they are imports spelled as strings.  (A bare one-word string
  such as ``"cases"`` is not counted: it is usually a name, not a reference.)

The rule: ``a -> b`` is allowed iff ``b``'s floor is lower than ``a``'s, or ``a`` and ``b`` are in
the same room.  Sideways arrows between two rooms of one floor are forbidden: peers are read
apart (none is needed today; :data:`SIDEWAYS` would list a justified one, and is empty).

Where each room sits, and why (the first picture put report, site, leaderboard, reproduce and sweep on one
floor above ``run``; the code shows a finer order):

* The top-level helper modules: ``harness._shadow`` (is the ``cases`` package on ``sys.path``
  ours?), ``harness._terminal`` (plain-text tables), ``harness._format`` (number formats) and
  ``harness.stats`` (intervals and paired tests) import nothing of critbench (the standard
  library, NumPy, SciPy) and are read from every floor above, the column table in ``results``
  included, so they form the ground floor, below ``cases``, ``results`` and ``jitcache``.
* ``harness.jitcache`` (the exported-executable cache and JAX's persistent compilation cache) is a
  bottom room: the solvers, the scoring oracles, the runner and the pytest plugin all use it, and
  it uses none of them.
* The presentation rooms are not one floor but three, because the code shows an honest order:
  ``report`` (HTML and the shared plot helpers, e.g. :func:`harness.report._figures.plot_ecdf`)
  is read by the leaderboard, the reproductions, the performance history and the site; the
  ``site`` publishes the leaderboard (it cannot be built without ranking), so it sits above
  ``leaderboard``.  ``sweep`` and the test helpers (``harness.testing``,
  ``harness.strategies``, ``harness.pytest_plugin``: one room, the plugin loads the other two)
  drive the runner and sit beside ``report``.
* ``harness.perf`` (solver roofline bench, asv history, store benchmark) runs solvers, reads
  stores and renders report pages: it sits with the leaderboard and the reproductions.
* ``harness.cli`` is the top room; above it only the root package ``harness/__init__``, whose
  lazy table re-exports the public API of every room.  Arrows *to* the root package itself
  (``import harness`` for its ``__file__``, ``from harness import __version__``) are allowed from
  anywhere: importing any ``harness.x`` runs that ``__init__`` anyway, and at import time it
  imports only ``harness._shadow``.

Run as a script to print every upward arrow: ``python tests/test_layers.py``.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.test_import_graph import _from_target, modules

#: Floors, bottom to top: ``{room name: module prefixes}``.
FLOORS: tuple[dict[str, tuple[str, ...]], ...] = (
    {"_shadow": ("harness._shadow",), "_terminal": ("harness._terminal",), "_format": ("harness._format",),
     "stats": ("harness.stats",)},
    {"cases": ("cases",), "results": ("harness.results",), "jitcache": ("harness.jitcache",)},
    {"solvers": ("harness.solvers",), "scoring": ("harness.scoring",), "gate": ("harness.gate",)},
    {"run": ("harness.run",)},
    {"report": ("harness.report",), "sweep": ("harness.sweep",),
     "testing": ("harness.testing", "harness.strategies", "harness.pytest_plugin")},
    {"leaderboard": ("harness.leaderboard",), "reproduce": ("harness.reproduce",), "perf": ("harness.perf",)},
    {"site": ("harness.site",)},
    {"cli": ("harness.cli",)},
    {"harness": ("harness",)},
)

#: The root package: every module may import it (see the module docstring).
ROOT_PACKAGE = "harness"

#: Justified sideways arrows between peer rooms, ``(from room, to room)``: none.
SIDEWAYS: frozenset[tuple[str, str]] = frozenset()

_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?::[\w.]+)?|[A-Za-z_]\w*:[A-Za-z_][\w.]*")


@dataclass(frozen=True)
class Arrow:
    """Module ``src`` reaches module ``dst`` at ``line`` (``how``: import, importlib or string)."""

    src: str
    dst: str
    line: int
    how: str

    def __str__(self) -> str:
        return f"{self.src}:{self.line} -> {self.dst} ({self.how})"


def room_of(module: str) -> tuple[int, str]:
    """``(floor, room)`` of ``module``: the room whose prefix matches it longest."""
    best: tuple[int, int, str] | None = None
    for floor, rooms in enumerate(FLOORS):
        for room, prefixes in rooms.items():
            for p in prefixes:
                if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                    best = (len(p), floor, room)
    if best is None:
        raise KeyError(f"{module} is in no declared room: add it to FLOORS in {__file__}")
    return best[1], best[2]


def _known_ancestor(name: str, known: Iterable[str]) -> str | None:
    known = set(known)
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_import_module(func: ast.expr) -> bool:
    return ((isinstance(func, ast.Attribute) and func.attr == "import_module")
            or (isinstance(func, ast.Name) and func.id in ("import_module", "__import__")))


def arrows_in(name: str, source: str, is_package: bool, known: Iterable[str]) -> list[Arrow]:
    """Every arrow from module ``name`` (its ``source``) to a module of ``known``."""
    known = set(known)
    tree = ast.parse(source)
    package = name if is_package else name.rpartition(".")[0]
    out: list[Arrow] = []
    literal_calls: set[int] = set()  # string nodes already counted as importlib arguments

    def add(target: str | None, node: ast.AST, how: str) -> None:
        target = _known_ancestor(target, known) if target else None
        if target is not None and target != name:
            out.append(Arrow(name, target, getattr(node, "lineno", 0), how))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node, "import")
        elif isinstance(node, ast.ImportFrom):
            base = _from_target(node, package)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in known else base, node, "import")
        elif isinstance(node, ast.Call) and _is_import_module(node.func) and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                literal_calls.add(id(arg))
                add(arg.value, node, "importlib")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in literal_calls
                and _DOTTED.fullmatch(node.value)):
            mod = node.value.partition(":")[0]
            if mod in known:  # exactly a module's name: a reference, not prose
                add(mod, node, "string")
    return out


def upward(arrows: Iterable[Arrow]) -> list[Arrow]:
    """The arrows that break the floors: to a higher floor, or sideways to a peer room."""
    bad = []
    for a in arrows:
        if a.dst == ROOT_PACKAGE:
            continue
        (fs, rs), (fd, rd) = room_of(a.src), room_of(a.dst)
        if rs == rd or fd < fs:
            continue
        if fd == fs and (rs, rd) in SIDEWAYS:
            continue
        bad.append(a)
    return sorted(set(bad), key=lambda a: (a.src, a.line, a.dst, a.how))


def tree_arrows(sources: Mapping[str, Path] | None = None) -> list[Arrow]:
    """Every arrow in ``harness/`` and ``cases/`` (or in the modules ``sources`` names)."""
    if sources is None:
        return list(_tree_arrows())
    out: list[Arrow] = []
    for name, path in sources.items():
        out += arrows_in(name, path.read_text(encoding="utf-8"), path.name == "__init__.py", sources)
    return out


@functools.lru_cache(maxsize=1)
def _tree_arrows() -> tuple[Arrow, ...]:
    return tuple(tree_arrows(modules()))


# --------------------------------------------------------------------------- the rule on the tree


def test_every_module_is_in_a_declared_room() -> None:
    missing = []
    for name in modules():
        try:
            room_of(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"modules in no room of FLOORS: {missing}"


def test_folders_only_import_downward() -> None:
    bad = upward(tree_arrows())
    assert not bad, "imports that point up or sideways:\n" + "\n".join(map(str, bad))


def test_cases_import_nothing_of_harness() -> None:
    bad = [a for a in tree_arrows() if a.src.split(".")[0] == "cases" and a.dst.split(".")[0] == "harness"]
    assert not bad, bad


# --------------------------------------------------------------------------- tests of the test
KNOWN = ("harness", "harness.results", "harness.results.records", "harness.scoring", "harness.scoring.score",
         "harness.run", "harness.run.execute", "harness.cli", "harness.report", "harness.leaderboard.rank",
         "harness.site.build", "harness.sweep.run", "cases", "cases.dlae")


def _planted(name: str, source: str) -> list[Arrow]:
    return upward(arrows_in(name, source, False, KNOWN))


@pytest.mark.parametrize("source", [
    "from harness.scoring.score import summarize\n",
    "import harness.scoring.score\n",
    "def f():\n    from ..scoring import score\n",
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from harness.scoring.score import x\n",
])
def test_checker_reports_a_planted_upward_import(source: str) -> None:
    """A results module importing scoring (one floor up), at module level, relatively in a function,
    or for types only, is reported."""
    bad = _planted("harness.results.records", source)
    assert [(a.src, a.dst, a.how) for a in bad] == [("harness.results.records", "harness.scoring.score", "import")]


def test_checker_reports_a_planted_importlib_literal() -> None:
    source = "import importlib\ndef f():\n    return importlib.import_module('harness.cli').main\n"
    bad = _planted("harness.run.execute", source)
    assert [(a.dst, a.how, a.line) for a in bad] == [("harness.cli", "importlib", 3)]


def test_checker_reports_lazy_tables_and_registry_strings() -> None:
    source = ('_EXPORTS = {"summarize": "harness.scoring.score"}\n'
              'REF = "harness.run.execute:execute"\n'
              'DOC = "see harness.scoring.score for the rules"\n')  # prose: not a reference
    bad = _planted("harness.results.records", source)
    assert sorted((a.dst, a.how, a.line) for a in bad) == [("harness.run.execute", "string", 2),
                                                           ("harness.scoring.score", "string", 1)]


def test_checker_reports_sideways_and_allows_downward() -> None:
    assert [a.dst for a in _planted("harness.site.build", "from harness.leaderboard import rank\n")] == []
    assert [a.dst for a in _planted("harness.leaderboard.rank", "from harness.site import build\n")] == [
        "harness.site.build"]
    assert [a.dst for a in _planted("harness.report", "import harness.sweep.run\n")] == ["harness.sweep.run"]
    assert _planted("harness.scoring.score", "import cases.dlae\nfrom harness.results import records\n"
                                             "from harness import __version__\n") == []
    assert [a.dst for a in _planted("harness.scoring.score", "from harness.run import execute\n")] == [
        "harness.run.execute"]


def test_checker_sees_the_tree() -> None:
    """The arrows of the real tree include a string table and a function-local import."""
    arrows = tree_arrows()
    assert any(a.src == "harness.solvers" and a.how == "string" for a in arrows)  # lazy_exports table
    assert any(a.src == "harness.cli" and a.dst == "harness.perf.bench" for a in arrows)  # local import


if __name__ == "__main__":
    for arrow in upward(tree_arrows()):
        print(arrow)
