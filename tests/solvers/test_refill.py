"""Refilling batches (harness.solvers.iterate_refill): per-run results equal solving each run alone.

Stated tolerance: integer outputs (status, iterations, HVP/gradient counts,
Krylov iterations and flags, snapshot iterations) are compared exactly; float
outputs to ``rtol=1e-9, atol=1e-14``.  XLA's batched (vmapped) kernels may
round differently from a one-run batch (measured on the quartic: at most
2.7e-17 absolute); a run's control flow, and so every count, is identical
here.  (A run started next to a basin boundary can amplify such a rounding
difference into a different trajectory; that holds for any batched solve,
lockstep or refilling, and is why the comparison uses the harness's points.)
"""

import numpy as np
import pytest

from harness.solvers import STALLED, get_solver, iterate_refill, lockstep_utilization
from harness.solvers.newton_mr import NewtonMR

from ._quartic import QUARTIC as HAND_QUARTIC  # noqa: F401  (the hook test uses the case's loss too)


def _problem():
    from cases import get_case
    from harness.solvers import Problem

    c = get_case("quartic")
    return Problem(c.loss_fn, c.data, c.dim)


QUARTIC = _problem()

RUNS = 20
MAX_ITER = 200
INT_KEYS = ("status", "n_iter", "hvps", "grads", "snapshot_iter", "max_r_iter")


def _starts(n=RUNS, seed=0):
    # the harness's own initial points of the quartic case (scale of the thesis's Fig. 3.3 study)
    from cases import get_case

    return get_case("quartic").initial_points(seed, n)


@pytest.fixture(scope="module")
def alone():
    solver = get_solver("newton-mr")
    th = _starts()
    return [solver.solve(QUARTIC, th[i:i + 1], max_iter=MAX_ITER, tol=1e-10) for i in range(RUNS)]


def _assert_run_equal(res, row, ref):
    for key in INT_KEYS:
        np.testing.assert_array_equal(np.asarray(getattr(res, key))[row], np.asarray(getattr(ref, key))[0], err_msg=key)
    np.testing.assert_allclose(res.theta[row], ref.theta[0], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(res.snapshots[row], ref.snapshots[0], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(res.max_r_theta[row], ref.max_r_theta[0], rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(res.max_r_value[row], ref.max_r_value[0], rtol=1e-9, atol=1e-14)
    for key, arr in ref.trace.items():
        if arr.dtype.kind == "i":
            np.testing.assert_array_equal(res.trace[key][row], arr[0], err_msg=key)
        else:
            np.testing.assert_allclose(res.trace[key][row], arr[0], rtol=1e-9, atol=1e-14, err_msg=key)


@pytest.mark.parametrize("lanes", [1, 7, 20])
def test_refill_matches_solving_each_run_alone(alone, lanes):
    solver = get_solver("newton-mr")
    res = iterate_refill(solver, QUARTIC, _starts(), max_iter=MAX_ITER, tol=1e-10, lanes=lanes)
    assert res.lanes == lanes
    assert len({int(n) for n in res.n_iter}) > 3  # runs of different lengths: lanes really refill
    for row in range(RUNS):
        _assert_run_equal(res, row, alone[row])


def test_refill_does_not_solve_pad_rows_and_keeps_shapes(alone):
    solver = get_solver("newton-mr")
    th = np.concatenate([_starts()[:5], np.repeat(_starts()[4:5], 3, axis=0)])  # 5 runs + 3 pad rows
    res = iterate_refill(solver, QUARTIC, th, max_iter=MAX_ITER, tol=1e-10, lanes=7, runs=5)
    for row in range(5):
        _assert_run_equal(res, row, alone[row])
    assert (res.n_iter[5:] == res.n_iter[4]).all() and (res.theta[5:] == res.theta[4]).all()
    assert res.lane_utilization < 1.0 or res.n_iter[:5].min() == res.n_iter[:5].max()


def test_lane_utilization_is_useful_over_total_iterations():
    solver = get_solver("newton-mr")
    th = _starts(9, seed=3)
    # all lanes start together and none refills: exactly the lockstep figure sum(n) / (lanes * max(n))
    res = iterate_refill(solver, QUARTIC, th, max_iter=MAX_ITER, tol=1e-10, lanes=9)
    assert res.lane_utilization == pytest.approx(lockstep_utilization(res.n_iter))
    assert res.lane_utilization < 1.0  # unequal run lengths
    one = iterate_refill(solver, QUARTIC, th, max_iter=MAX_ITER, tol=1e-10, lanes=1)
    assert one.lane_utilization == 1.0
    # the lockstep solve reports the same figure
    assert solver.solve(QUARTIC, th, max_iter=MAX_ITER, tol=1e-10).lane_utilization == pytest.approx(
        lockstep_utilization(res.n_iter))


def test_terminate_hook_stops_the_run_with_the_reported_status():
    th = np.array([[4.0, 1.0]])
    base = get_solver("newton-mr").solve(QUARTIC, th, max_iter=MAX_ITER, tol=1e-10)
    losses = base.trace["loss"][0]
    assert base.n_iter[0] > 3
    limit = float(losses[2])

    class _StopBelow(NewtonMR):
        """Newton-MR that reports STALLED through the terminate hook once the loss is <= limit."""

        def terminate(self, fn, theta, f, g, state, info, args):
            import jax.numpy as jnp

            return jnp.where(f <= limit, STALLED, -1)

    hooked = _StopBelow().solve(QUARTIC, th, max_iter=MAX_ITER, tol=1e-10)
    first = int(np.argmax(losses <= limit))
    assert 0 < first < base.n_iter[0]
    assert int(hooked.status[0]) == STALLED and int(hooked.n_iter[0]) == first
