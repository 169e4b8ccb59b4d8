"""``tol = NO_EARLY_STOP`` (0): runs use their whole budget, the flag is recorded with the run, and the
snapshots at every cutoff -- the first iterate below 1e-10 included -- are stored with it (thesis
Figs. 3.2-3.3 measured on the same runs)."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from harness.reproduce._registry import Context
from harness.reproduce._runs import arrays_of, row, run_cell
from harness.results.outcomes import SNAPSHOT_CUTOFFS
from harness.solvers._loop import NO_EARLY_STOP

#: A small DLAE (dim 8, exact covariance): Newton-MR reaches ||grad L||^2 ~ 1e-12 .. 1e-26 in a few
#: iterations, never an exactly zero gradient, so without the stop the runs go on to the budget.
CASE = {"k": 4, "p": 1, "n": 50, "exact": True}

ITERS = 30


def test_no_early_stop_runs_the_budget_and_stores_every_snapshot(tmp_path: Path) -> None:
    ctx = Context("quick", tmp_path)
    from cases import get_case

    case = get_case("dlae", **CASE)
    full = run_cell(ctx, "dlae", CASE, "newton-mr", {"forcing": 0.0}, runs=4, max_iter=ITERS, tol=NO_EARLY_STOP)
    stop = run_cell(ctx, "dlae", CASE, "newton-mr", {"forcing": 0.0}, runs=4, max_iter=ITERS, tol=1e-10)
    assert {r["tol"] for r in full} == {0.0} and {r["tol"] for r in stop} == {1e-10}
    assert {r["solver_key"] for r in full}.isdisjoint(r["solver_key"] for r in stop)  # the flag is in the key
    af, as_ = arrays_of(ctx, full), arrays_of(ctx, stop)
    i10 = SNAPSHOT_CUTOFFS.index(1e-10)
    reached = 0
    for rf, rs in zip(sorted(full, key=lambda r: r["run_index"]), sorted(stop, key=lambda r: r["run_index"])):
        snap_it = row(af, rf, "snapshot_iter")
        if rs["outcome"] != "critical":
            continue
        reached += 1
        # the early-stopping run ends at its first iterate below 1e-10; the full run goes on past it
        assert rs["n_iter"] == snap_it[i10] < rf["n_iter"]
        # with tol = 0 a run ends early only when it cannot move (stalled) or its gradient is exactly 0
        assert (rf["status"] == "stalled" or (rf["status"] == "max_iter" and rf["n_iter"] == ITERS)
                or (rf["status"] == "converged" and rf["final_grad_norm_sq"] == 0.0)), rf["status"]
        assert np.all(snap_it >= 0) and np.all(np.diff(snap_it) >= 0)  # every cutoff stored, in order
        snaps = row(af, rf, "snapshots")
        for c, eps in enumerate(SNAPSHOT_CUTOFFS):  # the stored point is below its cutoff (hand gradient)
            g = np.asarray(jax.grad(case.loss_fn)(jnp.asarray(snaps[c]), case.data))
            assert g @ g < eps
        np.testing.assert_allclose(snaps[i10], row(as_, rs, "theta"), rtol=1e-9, atol=1e-12)
    assert reached >= 3
