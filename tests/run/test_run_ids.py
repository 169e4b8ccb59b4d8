"""One run id, one result (issue 20; docs/design.md).

A sweep cell and ``critbench run`` of the same cell get the same run ids and the
same results; what changes a run's result (its budget and the number of vmapped
lanes it is solved in) is part of its run id, and what does not (lane-mates,
refilling versus lockstep, the other runs of the cell) leaves it bit for bit.
Ground truth here is a second execution path, never a number from the first.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from cases import get_case
from harness.cli import main
from harness.results.store import load_arrays
from harness.run.initial_points import initial_points
from harness.run.keys import run_id, solver_key
from harness.run.cell import resolve
from harness.run.pool import InlineBackend
from harness.run.plan import solve_lanes
from harness.run.runner import run_spec
from harness.run.spec import RunSpec
from harness.solvers import Problem, get_solver
from harness.sweep.run import run_sweep
from harness.sweep.spec import Sweep, parse_sweep

#: Fields of a record that define a run's result (timings, batch ids and provenance do not).
RESULT_FIELDS = ("run_id", "run_index", "status", "n_iter", "hvps", "grads", "outcome", "final_loss",
                 "final_grad_norm_sq")
RUNS, MAX_ITER = 6, 60


def _sweep_cell(text: str) -> RunSpec:
    (cell,) = parse_sweep(tomllib.loads(text)).cells
    return cell


SWEEP = f"""
runs = {RUNS}
max_iter = {MAX_ITER}
[[case]]
name = "quartic"
params = {{ angle = 0 }}
[[solver]]
name = "newton-mr"
options = {{ forcing = 0 }}
"""


def _cli_records(out: Path) -> tuple[list[dict], dict[int, np.ndarray]]:
    recs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    theta = {}
    for bid in {r["batch_id"] for r in recs}:
        arrs = load_arrays(out, bid)
        theta.update({int(i): arrs["theta"][j] for j, i in enumerate(arrs["run_index"])})
    return sorted(recs, key=lambda r: r["run_index"]), theta


def _keys(spec: RunSpec):
    """The cell's plan (keys, lanes) as the pipeline makes it, for any entry point."""
    return resolve(spec, backend=InlineBackend())


def _sweep_records(text: str, out: Path) -> tuple[list[dict], dict[int, np.ndarray]]:
    """The sweep run on Dask (an in-process cluster: quick) into ``out``."""
    from dask.distributed import Client, LocalCluster

    sweep: Sweep = parse_sweep(tomllib.loads(text))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        outcome = run_sweep(sweep, out, client=client)
    assert outcome.failed == 0 and outcome.failed_runs == 0
    return _cli_records(out)


def test_sweep_cell_and_critbench_run_share_run_ids_and_records(tmp_path, capsys):
    """`forcing = 0` in a sweep file and `--option forcing=0.0` on the command line: one cell,
    one set of run ids, identical results (theta bit for bit)."""
    out = tmp_path / "run"
    assert main(["run", "--case", "quartic", "--param", "angle=0.0", "--solver", "newton-mr", "--option",
                 "forcing=0.0", "--runs", str(RUNS), "--max-iter", str(MAX_ITER), "--out", str(out),
                 "--quiet"]) == 0
    capsys.readouterr()
    cli, cli_theta = _cli_records(out)
    cell = _sweep_cell(SWEEP)
    meta_spec = json.loads((out / "meta.json").read_text())["specs"][0]
    assert meta_spec["solver_options"] == cell.solver_options and meta_spec["case_params"] == cell.case_params

    rs = _keys(cell)
    assert [r["run_id"] for r in cli] == [run_id(rs.case_key, rs.solver_key, 0, i) for i in range(RUNS)]
    sweep, sweep_theta = _sweep_records(SWEEP, tmp_path / "sweep")
    assert [{k: r[k] for k in RESULT_FIELDS} for r in sweep] == [{k: r[k] for k in RESULT_FIELDS} for r in cli]
    for i in range(RUNS):
        assert cli_theta[i].tobytes() == sweep_theta[i].tobytes(), f"run {i}: theta differs"


def test_typed_values_give_one_solver_key():
    """The issue's example: the sweep's int 0 and the CLI's 0.0 used to hash apart."""
    cell = _sweep_cell(SWEEP)
    cli = RunSpec("quartic", {"angle": 0.0}, "newton-mr", {"forcing": 0.0}, RUNS, 0, max_iter=MAX_ITER)
    assert cell == cli
    assert _keys(cell).solver_key == _keys(cli).solver_key
    assert _keys(cell).case_key == _keys(cli).case_key


def test_lanes_are_part_of_the_key():
    base = solver_key("newton-mr", {"forcing": 0.5}, 100, 1e-10, lanes=1)
    assert base != solver_key("newton-mr", {"forcing": 0.5}, 100, 1e-10, lanes=2)
    assert base == solver_key("newton-mr", {"forcing": 0.5}, 100, 0.0 + 1e-10, lanes=1)
    assert solver_key("newton-mr", {}, 100, 0, lanes=3) == solver_key("newton-mr", {}, 100, 0.0, lanes=3)
    with pytest.raises(ValueError, match="lanes"):
        solver_key("newton-mr", {}, 100, 0.0, lanes=0)


@pytest.mark.parametrize("runs, batch, lanes", [(6, None, 6), (40, None, 32), (6, 4, 4), (3, 8, 3), (6, 1, 1)])
def test_run_and_sweep_use_one_layout(runs, batch, lanes):
    """The sweep solves a cell in the lanes its key names, the same as `critbench run`."""
    spec = RunSpec("quartic", {}, "newton-mr", {}, runs, 0, max_iter=10, batch_size=batch)
    case = get_case("quartic")
    assert solve_lanes(spec, case) == lanes
    assert _keys(spec).solver_key == solver_key("newton-mr", _keys(spec).facts.options, 10, 1e-10, lanes=lanes)


def test_different_lanes_different_run_ids(tmp_path):
    """Lanes change results (docs/design.md), so two lane counts never share a run id."""
    one = run_spec(RunSpec("quartic", {}, "newton-mr", {}, 3, 0, max_iter=40, batch_size=1), tmp_path)
    three = run_spec(RunSpec("quartic", {}, "newton-mr", {}, 3, 0, max_iter=40), tmp_path)
    assert not {r["run_id"] for r in one} & {r["run_id"] for r in three}
    assert len({r["run_id"] for r in [*one, *three]}) == 6  # both stored, neither resumed from the other


def test_large_case_default_layout_is_shared(monkeypatch):
    """The thesis DLAE on a CPU runs one lane per run by default (runner heuristics); the sweep follows."""
    import harness.run.plan as plan  # the CPU heuristics live in the plan (harness.run.runner re-exports them)

    spec = RunSpec("quartic", {}, "newton-mr", {}, 8, 0, max_iter=10)
    monkeypatch.setattr(plan, "_large_on_cpu", lambda case: True)
    assert solve_lanes(spec, get_case("quartic")) == 1
    assert _keys(spec).solver_key == solver_key("newton-mr", _keys(spec).facts.options, 10, 1e-10, lanes=1)


def test_within_one_lane_count_result_is_independent_of_lane_mates_and_refill():
    """What the key leaves out must not change a result: with L lanes, a run solved in lockstep
    beside some runs and in refilling lanes beside others is identical bit for bit."""
    case = get_case("quartic")
    solver = get_solver("newton-mr")
    problem = Problem(case.loss_fn, case.data, case.dim)
    x = initial_points(case, 0, range(8))
    L = 3
    refill = solver.solve_refill(problem, x, max_iter=MAX_ITER, tol=1e-10, lanes=L)
    for rows in ([0, 1, 2], [5, 3, 7], [6, 4, 0]):
        lock = solver.solve(problem, x[rows], max_iter=MAX_ITER, tol=1e-10)
        for j, i in enumerate(rows):
            assert lock.theta[j].tobytes() == refill.theta[i].tobytes(), (rows, i)
            assert (lock.n_iter[j], lock.hvps[j], lock.status[j]) == (refill.n_iter[i], refill.hvps[i],
                                                                       refill.status[i])


@pytest.mark.parametrize("large", [False, True])
@pytest.mark.parametrize("runs", [6, 40])
def test_given_points_key_the_lanes_a_runspec_of_them_would(monkeypatch, runs, large):
    """A cell of given points (``Points(lanes_in_key=True)``, the reproductions) names in its key the lanes
    that ``critbench run`` of the same runs would use: one layout (:func:`harness.run.plan.layout`), not a
    second formula."""
    import harness.run.plan as plan
    from harness.run.cell import CaseRef, Points, SolverRef

    if large:
        monkeypatch.setattr(plan, "_large_on_cpu", lambda case: True)
    spec = RunSpec("quartic", {}, "newton-mr", {}, runs, 0, max_iter=10)
    theta0 = initial_points(get_case("quartic"), 0, list(range(runs)))
    cell = resolve(Points(CaseRef("quartic"), SolverRef("newton-mr"), theta0, 0, max_iter=10, lanes_in_key=True),
                   backend=InlineBackend())
    assert cell.solver_key == _keys(spec).solver_key
    assert cell.solver_key == solver_key("newton-mr", cell.facts.options, 10, 1e-10, lanes=solve_lanes(spec, get_case("quartic")))
    assert resolve(Points(CaseRef("quartic"), SolverRef("newton-mr"), theta0, 0, max_iter=10),
                   backend=InlineBackend()).solver_key == solver_key("newton-mr", cell.facts.options, 10, 1e-10)
