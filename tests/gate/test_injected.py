"""The gate catches injected regressions; the unmodified solvers pass.

Ground truth is the certified case (Example 1.1: hyperbola of minima and a
saddle at the origin), never the solver under test.  The baseline cells are the
committed ``ci/baseline/gate.json`` (same seed and budget as here, 64 runs per
cell).  Against all 64 baseline runs the comparison is unpaired (Fisher): 8 new
runs (16 before issue 16) catch a solver that always fails.  Against the same
runs of the baseline it is paired (McNemar), which names the runs that changed.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.gate.compare import CellStats, changed_runs, compare, load_cells
from harness.solvers.damped_newton import DampedNewton
from harness.solvers.newton_mr import NewtonMR
from harness.testing import GroundTruthFailure, assert_finds_ground_truth, run_records

from ._injected import EarlyStop, OneGammaDampedNewton, PlainMinresNewtonMR, ReturnsInitialPoint, ZeroStepNewtonMR

BASELINE = Path(__file__).resolve().parents[2] / "ci" / "baseline" / "gate.json"
CASE = "example-1.1"
RUNS, SEED, MAX_ITER = 16, 0, 200  # seed and budget of the gate's cell (ci/gate.py); fewer runs than the gate


def baseline_cell(case: str, solver: str) -> list[CellStats]:
    cells = [c for c in load_cells(BASELINE) if c.case == case and c.solver == solver]
    assert len(cells) == 1, f"baseline has no {case} x {solver} cell"
    return cells


def first_runs(cell: CellStats, n: int) -> CellStats:
    """The baseline cell restricted to its runs 0 .. n-1 (the same initial points as n new runs)."""
    rows = tuple(r for r in cell.per_run if r.run_index < n)
    crit = [r for r in rows if r.success]
    return dataclasses.replace(cell, runs=len(rows), successes=len(crit), per_run=rows,
                               correct=None if cell.correct is None else sum(bool(r.correct) for r in rows),
                               hvps_success=tuple(sorted(r.hvps for r in crit)))


def gate_records(solver: object) -> list[dict]:
    return run_records(solver, CASE, runs=RUNS, seed=SEED, max_iter=MAX_ITER)


def test_unmodified_newton_mr_passes_both_checks() -> None:
    recs = assert_finds_ground_truth(NewtonMR(), CASE, runs=RUNS, seed=SEED, max_iter=MAX_ITER, min_success=1.0)
    assert all(r["correct"] for r in recs)
    rep = compare(baseline_cell(CASE, "newton-mr"), recs)
    assert rep.ok, rep.format()
    (base,) = baseline_cell(CASE, "newton-mr")
    paired = compare([first_runs(base, RUNS)], recs)
    assert paired.ok and paired.cells[0].is_paired
    assert changed_runs(paired.cells[0]) == []  # the unchanged solver reproduces every baseline run's verdict


@pytest.mark.parametrize(
    ("broken", "runs"),
    [
        pytest.param(lambda: ZeroStepNewtonMR(), 8, id="zero-step-line-search"),
        pytest.param(lambda: ReturnsInitialPoint(NewtonMR()), 8, id="returns-initial-point"),
        pytest.param(lambda: EarlyStop(NewtonMR(), 1e-6), 16, id="stops-at-grad-1e-6"),
    ],
)
def test_injected_regression_fails_both_checks(broken, runs: int) -> None:
    """Caught unpaired against the 64-run baseline and paired against its same runs; changed runs named.

    Paired, k lost runs give p = 2^-k (McNemar), so the Holm threshold alpha/2 needs k >= 8:
    8 runs for the solvers that always fail, 16 for the early stop (10 of 16 runs stop early).
    """
    solver = broken()
    with pytest.raises(GroundTruthFailure) as info:
        assert_finds_ground_truth(solver, CASE, runs=runs, seed=SEED, max_iter=MAX_ITER)
    msg = str(info.value)
    assert f"case {CASE!r}" in msg and "run " in msg and "seed 0" in msg and "reproduce" in msg
    recs = info.value.records
    (base,) = baseline_cell(CASE, "newton-mr")
    rep = compare([base], recs)
    assert not rep.ok and rep.cells[0].tests[0].test == "Fisher"
    assert f"REGRESSION in: {CASE} x newton-mr" in rep.format()
    paired = compare([first_runs(base, runs)], recs)
    assert not paired.ok and paired.cells[0].tests[0].test == "McNemar", paired.format()
    failed = {r["run_index"] for r in recs if r["outcome"] != "critical"}
    assert {ch.before.run_index for ch in changed_runs(paired.cells[0])} == failed
    assert all(ch.before.success and not ch.after.success for ch in changed_runs(paired.cells[0]))


def test_early_stop_degrades_correctness_per_fig_3_3() -> None:
    """Stopping at ||grad L||^2 < 1e-6: the final points are scored at 1e-10, so fewer are critical/correct."""
    recs = gate_records(EarlyStop(NewtonMR(), 1e-6))
    stopped = [r for r in recs if r["outcome"] != "critical"]
    assert stopped, "no run stopped between 1e-10 and 1e-6"
    assert all(1e-10 <= r["final_grad_norm_sq"] <= 1e-6 and r["correct"] is False for r in stopped)


@pytest.mark.slow
def test_plain_minres_in_newton_mr_changes_no_score() -> None:
    """Measurement (not a requirement): plain MINRES instead of MINRES-QLP on the quick-suite cell.

    Measured on all three quick-suite cases (quartic, Example 1.1, DLAE k=4 p=2):
    identical success and correct counts; this test pins Example 1.1.
    """
    base, new = gate_records(NewtonMR()), gate_records(PlainMinresNewtonMR())
    assert compare(base, new).ok
    assert [r["outcome"] for r in base] == [r["outcome"] for r in new]


@dataclasses.dataclass(frozen=True)
class FirstGammaDampedNewton(DampedNewton):
    """Every candidate uses the *first* (largest) gamma: over-damped steps."""

    def candidates(self, fn, theta, g, args):  # noqa: ANN001, ANN201
        same = dataclasses.replace(self, gammas=(self.gammas[0],) * len(self.gammas))
        return DampedNewton.candidates(same, fn, theta, g, args)


@pytest.mark.slow
def test_one_gamma_damped_newton() -> None:
    """Reusing one gamma for every candidate.

    Reusing the *last* gamma (1e-6, the late-binding-closure bug) is measured
    harmless on the quick suite (same successes, costs within noise), so the
    gate cannot catch it; reusing the *first* gamma (1e-1) over-damps and the
    cost-per-success test catches it on the depth-3 deep linear net (median
    HVPs per success about 3.7x).
    """
    base = run_records(DampedNewton(), "deep-linear", runs=12, seed=SEED, max_iter=MAX_ITER)
    last = run_records(OneGammaDampedNewton(), "deep-linear", runs=12, seed=SEED, max_iter=MAX_ITER)
    first = run_records(FirstGammaDampedNewton(), "deep-linear", runs=12, seed=SEED, max_iter=MAX_ITER)
    assert compare(base, last).ok
    rep = compare(base, first)
    assert [t.metric for _, t in rep.regressions] == ["hvps/succ"], rep.format()
    assert "deep-linear x damped-newton" in rep.format()
