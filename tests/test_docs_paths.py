"""The docs cite only what exists: every ``harness/...`` and ``cases/...`` path and every dotted
``harness.x.y`` / ``cases.x.y`` name in ``README.md`` and ``docs/*.md`` is in the tree, and the
README's "Layout" table names every package folder of ``harness/``.

Citations are read from the docs when the tests run (no list kept here), so a file moved or
renamed without updating the docs that cite it fails here.  A dotted name is checked without
importing anything: its longest prefix that is a module of the tree must define the rest's first
name at module level (a ``def``, ``class``, assignment or import, or a key of the module's
lazy-export table).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: ``harness/...`` or ``cases/...`` not preceded by a path or word character (so not ``mycases/``, ``.ci/``).
PATH = re.compile(r"(?<![\w./-])((?:harness|cases)/[\w./-]*\w)")
#: ``harness/x.py::name``: a name in a file.
PATH_NAME = re.compile(r"(?<![\w./-])((?:harness|cases)/[\w/]+\.py)::(\w+)")
#: ``harness.a.b`` / ``cases.a.b`` inside backticks (code spans), up to a call, an index or the span's end.
DOTTED = re.compile(r"`((?:harness|cases)(?:\.[A-Za-z_]\w*)+)(?=[`(\[])")


def _citations(pattern: re.Pattern[str]) -> list[tuple[str, int, str]]:
    out = []
    for doc in DOCS:
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
            out.extend((doc.name, n, m.group(0) if pattern.groups > 1 else m.group(1)) for m in pattern.finditer(line))
    return out


def test_cited_paths_exist():
    cited = _citations(PATH)
    assert cited, "no harness/ or cases/ path found in the docs: the pattern is broken"
    missing = [f"{doc}:{n}: {path}" for doc, n, path in cited if not (ROOT / path.rstrip(".")).exists()]
    assert not missing, "the docs cite paths that are not in the repository:\n" + "\n".join(missing)


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@cache
def _top_level_names(path: Path) -> frozenset[str]:
    """Names a module defines at top level, plus the string keys of its dict literals (lazy exports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            names.update(k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "fromkeys" and node.args:
            lst = node.args[0]
            if isinstance(lst, (ast.List, ast.Tuple)):
                names.update(e.value for e in lst.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(t.id for t in ast.walk(target) if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return frozenset(names)


def _dangling(dotted: str) -> str | None:
    """Why ``dotted`` names nothing in the tree, or ``None`` if it does."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        path = _module_file(".".join(parts[:i]))
        if path is None:
            continue
        if i == len(parts):
            return None
        name = parts[i]
        if name in _top_level_names(path) or (path.parent / name).is_dir():
            return None
        return f"{'.'.join(parts[:i])} defines no {name!r}"
    return "no such module"


def test_cited_file_names_exist():
    """``harness/x.py::name``: the file defines ``name`` at module level."""
    bad = []
    for doc, n, cite in _citations(PATH_NAME):
        path, name = cite.split("::")
        if not (ROOT / path).is_file() or name not in _top_level_names(ROOT / path):
            bad.append(f"{doc}:{n}: {cite}")
    assert not bad, "the docs cite names that are not in the files named:\n" + "\n".join(bad)


def test_cited_dotted_names_exist():
    cited = _citations(DOTTED)
    assert cited, "no dotted harness./cases. name found in the docs: the pattern is broken"
    bad = [f"{doc}:{n}: {name} ({why})" for doc, n, name in cited if (why := _dangling(name)) is not None]
    assert not bad, "the docs cite names that are not in the tree:\n" + "\n".join(bad)


def _layout_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    assert match, "README.md has no '## Layout' section"
    return match.group(1)


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in (ROOT / "harness").glob("*/__init__.py")))
def test_readme_layout_names_every_harness_folder(folder):
    assert f"`harness/{folder}/`" in _layout_section(), f"README 'Layout' does not list harness/{folder}/"


def test_the_checks_catch_a_dangling_citation():
    """The checks themselves: a moved file and a moved function are reported."""
    assert PATH.findall("see `harness/solvers/_gone.py` and mycases/x.py") == ["harness/solvers/_gone.py"]
    assert not (ROOT / "harness/solvers/_gone.py").exists()
    assert _dangling("harness.scoring.judge.score_run") is None
    assert _dangling("harness.scoring.judge.no_such_function") is not None
    assert _dangling("harness.no_such_module.f") is not None
    assert _dangling("nothing_here.f") == "no such module"
    assert DOTTED.findall("`harness.solvers._base.iterate` and `cases.get_case(name)`") == [
        "harness.solvers._base.iterate", "cases.get_case"]
    assert _dangling("harness.solvers._base.iterate") is not None
