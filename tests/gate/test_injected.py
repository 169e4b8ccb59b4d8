"""The gate catches injected regressions; the unmodified solvers pass.

Ground truth is the certified case (Example 1.1: hyperbola of minima and a
saddle at the origin), never the solver under test.  The baseline cells are the
committed ``ci/baseline/gate.json`` (same seed, runs and budget as here).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.compare import compare, load_cells
from harness.solvers.damped_newton import DampedNewton
from harness.solvers.newton_mr import NewtonMR
from harness.testing import GroundTruthFailure, assert_finds_ground_truth, run_records

from ._injected import EarlyStop, OneGammaDampedNewton, PlainMinresNewtonMR, ReturnsInitialPoint, ZeroStepNewtonMR

BASELINE = Path(__file__).resolve().parents[2] / "ci" / "baseline" / "gate.json"
CASE = "example-1.1"
RUNS, SEED, MAX_ITER = 16, 0, 200  # the gate's settings for this cell (ci/gate.py)


def baseline_cell(case: str, solver: str) -> list:
    cells = [c for c in load_cells(BASELINE) if c.case == case and c.solver == solver]
    assert len(cells) == 1, f"baseline has no {case} x {solver} cell"
    return cells


def gate_records(solver: object) -> list[dict]:
    return run_records(solver, CASE, runs=RUNS, seed=SEED, max_iter=MAX_ITER)


def test_unmodified_newton_mr_passes_both_checks() -> None:
    recs = assert_finds_ground_truth(NewtonMR(), CASE, runs=RUNS, seed=SEED, max_iter=MAX_ITER, min_success=1.0)
    assert all(r["correct"] for r in recs)
    rep = compare(baseline_cell(CASE, "newton-mr"), recs)
    assert rep.ok, rep.format()


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(lambda: ZeroStepNewtonMR(), id="zero-step-line-search"),
        pytest.param(lambda: ReturnsInitialPoint(NewtonMR()), id="returns-initial-point"),
        pytest.param(lambda: EarlyStop(NewtonMR(), 1e-6), id="stops-at-grad-1e-6"),
    ],
)
def test_injected_regression_fails_both_checks(broken) -> None:
    solver = broken()
    with pytest.raises(GroundTruthFailure) as info:
        assert_finds_ground_truth(solver, CASE, runs=RUNS, seed=SEED, max_iter=MAX_ITER)
    msg = str(info.value)
    assert f"case {CASE!r}" in msg and "run " in msg and "seed 0" in msg and "reproduce" in msg
    rep = compare(baseline_cell(CASE, "newton-mr"), info.value.records)
    assert not rep.ok
    assert f"REGRESSION in: {CASE} x newton-mr" in rep.format()


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
