"""The shared loop keeps each run's maximally flat iterate (thesis Fig. 3.6D).

``SolveResult.max_r_theta`` / ``max_r_iter`` / ``max_r_value``: the iterate ``theta_k``
whose Newton step reported the largest finite ``r`` (trace entry ``k + 1``).  Checked
here against quantities recomputed independently: the argmax of the stored ``r``
trace (NumPy, not the loop's running maximum), and the iterate ``k`` itself, obtained
by re-running the same start with ``max_iter = k`` (the run then ends at iterate ``k``).

Tolerance of the re-run: a one-run batch may round differently from the full batch
(``tests/solvers/test_refill.py``: <= 3e-17 on the quartic); ``rtol=1e-9, atol=1e-14``.
"""

import numpy as np
import pytest

from harness.solvers import MAX_ITER, Problem, get_solver

MAX_ITER_BUDGET = 60
RUNS = 8


def _quartic():
    from cases import get_case

    c = get_case("quartic")
    return Problem(c.loss_fn, c.data, c.dim), c.initial_points(0, RUNS)


@pytest.fixture(scope="module")
def solved():
    problem, th = _quartic()
    return problem, th, get_solver("newton-mr").solve(problem, th, max_iter=MAX_ITER_BUDGET, tol=1e-10)


def test_max_r_iterate_is_the_argmax_of_the_stored_r_trace(solved):
    _, _, res = solved
    assert res.max_r_theta.shape == res.theta.shape and res.max_r_iter.shape == res.status.shape
    its = []
    for row in range(RUNS):
        r = res.trace["r"][row]
        assert np.isfinite(r).any()  # Newton-MR reports r on every step
        j = int(np.nanargmax(r))  # first maximal entry; entry j is the step from iterate j - 1
        its.append(j - 1)
        assert int(res.max_r_iter[row]) == j - 1
        assert res.max_r_value[row] == r[j]
        assert int(res.n_iter[row]) >= j  # the step was taken within the run
    assert len(set(its)) > 2  # not always the first or the last iterate
    assert any(0 <= it < int(n) - 1 for it, n in zip(its, res.n_iter))  # some maximum lies inside the run


def test_max_r_theta_is_the_iterate_at_max_r_iter(solved):
    problem, th, res = solved
    solver = get_solver("newton-mr")
    for row in range(RUNS):
        k = int(res.max_r_iter[row])
        again = solver.solve(problem, th[row:row + 1], max_iter=k, tol=1e-10)
        assert int(again.n_iter[0]) == k and (k == 0 or int(again.status[0]) == MAX_ITER)
        np.testing.assert_allclose(res.max_r_theta[row], again.theta[0], rtol=1e-9, atol=1e-14)
        if k > 0:  # and it is not the final iterate of a run that went on
            assert k == int(res.n_iter[row]) or not np.allclose(res.max_r_theta[row], res.theta[row])


def test_solver_without_r_leaves_the_max_r_iterate_unset():
    problem, th = _quartic()
    res = get_solver("gnm").solve(problem, th, max_iter=5, tol=1e-10)
    assert np.isnan(res.trace["r"]).all()
    assert (res.max_r_iter == -1).all() and np.isnan(res.max_r_value).all() and np.isnan(res.max_r_theta).all()
