"""One front door: ``execute`` is called only by ``harness.run.runner.run``, and every entry point
(the runner, sweeps, reproductions, ``harness.testing``) goes through ``run``."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import numpy as np
import pytest

import harness
import harness.run.runner as runner

HARNESS = Path(harness.__file__).parent


def _callers_of(name: str) -> list[tuple[str, str]]:
    """``(file, enclosing function)`` of every call ``name(...)`` / ``x.name(...)`` in ``harness/``."""
    out = []
    for path in sorted(HARNESS.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))

        def visit(node: ast.AST, where: str) -> None:
            for child in ast.iter_child_nodes(node):
                here = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else where
                if isinstance(child, ast.Call):
                    f = child.func
                    called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                    if called == name:
                        out.append((str(path.relative_to(HARNESS.parent)), where))
                visit(child, here)

        visit(tree, "<module>")
    return out


def test_execute_is_called_only_by_the_front_door():
    assert _callers_of("execute") == [("harness/run/runner.py", "run")]


def test_the_ast_scan_sees_calls():  # a test of the test: it finds known calls
    assert ("harness/run/runner.py", "run_suite") in _callers_of("resolve")


@pytest.fixture
def spy(monkeypatch):
    """``harness.run.runner.run`` replaced by a spy that solves nothing (returns the stored records)."""
    calls = []

    def fake_run(cells, store, backend=None, **kwargs):
        calls.append([(c.case_label, c.solver_label, c.runs) for c in cells])
        return [list(c.stored) for c in cells]

    monkeypatch.setattr(runner, "run", fake_run)
    return calls


def test_run_suite_goes_through_run(spy, tmp_path):
    runner.run_suite([runner.RunSpec("quartic", {}, "newton-mr", {"forcing": 0.3}, 2, 0, max_iter=5)],
                     tmp_path / "out")
    assert spy == [[("quartic", "newton-mr", 2)]]


def test_testing_goes_through_run(spy):
    from harness.testing import run_records

    assert run_records("newton-mr", "quartic", runs=3, max_iter=5) == []
    assert spy == [[("quartic", "newton-mr", 3)]]


def test_reproductions_go_through_run(spy, tmp_path):
    from harness.reproduce._registry import Context
    from harness.reproduce._runs import run_points

    run_points(Context("quick", tmp_path), "quartic", {}, "newton-mr", {}, np.zeros((4, 2)), max_iter=5)
    assert spy == [[("quartic", "newton-mr", 4)]]


def test_sweeps_go_through_run(spy, tmp_path):
    from harness.sweep.run import run_sweep
    from harness.sweep.spec import parse_sweep

    sweep = parse_sweep(tomllib.loads("""
runs = 2
max_iter = 5
[[case]]
name = "quartic"
[[solver]]
name = "gnm"
"""))
    run_sweep(sweep, tmp_path / "sweep", client=object())  # the spy solves nothing: no Dask client is used
    assert spy == [[("quartic", "gnm", 2)]]


def test_a_plugin_is_described_once_per_critbench_run(tmp_path, monkeypatch, capsys):
    """``critbench run`` of a plug-in starts one describing worker (its options are typed there),
    not one for the CLI's option parsing and another for the cell."""
    import harness.run.pool as pool
    from harness.cli import main

    pool.shared_pool(1)._described.clear()
    calls = []
    real = pool.describe_in_worker
    monkeypatch.setattr(pool, "describe_in_worker", lambda *a, **k: calls.append(dict(a[0].options)) or real(*a, **k))
    out = tmp_path / "out"
    assert main(["run", "--case", "example-1.1", "--solver", "tests.scoring._helpers:GD", "--option", "lr=0.1",
                 "--runs", "1", "--max-iter", "5", "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert calls == [{"lr": "0.1"}]  # the strings as given, typed once by the plug-in's own worker
    import json

    (rec,) = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert rec["solver_options"] == {"lr": 0.1}
    assert json.loads((out / "meta.json").read_text())["specs"][0]["solver_options"] == {"lr": 0.1}
