"""Plug-in solvers: the NumPy adapter and the two documented examples.

Problem: thesis Eq. 3.35, ``f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40``,
whose only critical point is ``(-3, 0)``; from ``x0 < -sqrt(2)`` second-order
methods stay in its basin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from harness.solvers import CONVERGED, DIVERGED, MAX_ITER, TRACE_FIELDS, Problem, get_solver
from harness.solvers.numpy_adapter import NumpySolver, NumpySolverError, numpy_solver

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples.jax_solver import NewtonCG  # noqa: E402
from examples.numpy_solver import trust_krylov_gnm  # noqa: E402

X0 = np.array([[-5.0, 1.0], [-2.0, -0.5], [-1.6, 2.0], [-10.0, 3.0]])  # all x0 < -sqrt(2)
CRIT = np.array([-3.0, 0.0])


def quartic(theta, data):
    x, y = theta[0], theta[1]
    return x**4 / 4 - 3 * x**2 + 9 * x + 0.9 * y**4 + 5 * y**2 + 40


def grad_sq(theta: np.ndarray) -> float:
    x, y = theta
    return float((x**3 - 6 * x + 9) ** 2 + (3.6 * y**3 + 10 * y) ** 2)


PROBLEM = Problem(quartic, None, 2)


def _check_result(res, max_iter: int, tol: float) -> None:
    B = X0.shape[0]
    assert res.theta.shape == (B, 2) and res.status.shape == (B,)
    assert np.all(res.status == CONVERGED), res.status
    np.testing.assert_allclose(res.theta, np.tile(CRIT, (B, 1)), atol=1e-6)
    assert all(grad_sq(t) <= tol for t in res.theta)
    assert np.all(res.hvps > 0) and np.all(res.grads > 0) and np.all(res.n_iter > 0)
    assert set(res.trace) == set(TRACE_FIELDS)
    for key, arr in res.trace.items():
        assert arr.shape == (B, max_iter + 1), key
    rows = np.arange(B)
    np.testing.assert_allclose(res.trace["grad_norm_sq"][rows, res.n_iter], [grad_sq(t) for t in res.theta],
                               rtol=1e-6, atol=1e-18)
    np.testing.assert_allclose(res.trace["grad_norm_sq"][:, 0], [grad_sq(t) for t in X0], rtol=1e-12)
    np.testing.assert_array_equal(res.trace["hvps"][rows, res.n_iter], res.hvps)
    assert np.all(res.snapshot_iter[:, -1] >= 0)  # every run reached ||g||^2 < 1e-10


@pytest.mark.parametrize("solver", [trust_krylov_gnm(), NewtonCG(cg_iters=5)], ids=["numpy-scipy", "jax"])
def test_examples_converge_to_the_critical_point(solver) -> None:
    res = solver.solve(PROBLEM, X0, max_iter=60, tol=1e-16)
    _check_result(res, 60, 1e-16)


def test_numpy_example_resolves_through_registry_with_options() -> None:
    solver = get_solver("examples.numpy_solver:trust_krylov_gnm", initial_trust_radius=0.5)
    assert isinstance(solver, NumpySolver) and solver.name == "example-trust-krylov-gnm"
    assert solver.options() == {"initial_trust_radius": 0.5, "method": "trust-krylov"}
    _check_result(solver.solve(PROBLEM, X0, max_iter=60, tol=1e-16), 60, 1e-16)


def test_jax_example_resolves_through_registry() -> None:
    solver = get_solver("examples.jax_solver:NewtonCG", cg_iters=3)
    assert isinstance(solver, NewtonCG) and solver.cg_iters == 3


def test_minimal_plain_function_defaults() -> None:
    """A bare ``theta``-returning function: counts from the oracles, final loss/grad filled."""

    @numpy_solver(name="plain-newton")
    def newton(oracles, theta0, max_iter, tol, *, damping: float = 0.0):
        theta = theta0
        for _ in range(max_iter):
            g = oracles.grad(theta)
            if g @ g <= tol:
                break
            H = np.column_stack([oracles.hvp(theta, e) for e in np.eye(theta.size)])
            theta = theta - np.linalg.solve(H + damping * np.eye(theta.size), g)
        return theta

    res = newton().solve(PROBLEM, X0[:2], max_iter=40, tol=1e-20)
    assert np.all(res.status == CONVERGED)
    assert np.all(res.hvps == 2 * (res.grads - 1))  # two HVPs per Newton step, one grad per check
    n = res.n_iter
    assert np.all(np.isfinite(res.trace["loss"][[0, 1], n])) and np.all(np.isnan(res.trace["r"]))
    assert np.all(res.trace["krylov_iters"] == -1)


def test_nan_run_is_diverged_not_raised() -> None:
    @numpy_solver
    def blow_up(oracles, theta0, max_iter, tol):
        if theta0[0] < -3:
            return np.full_like(theta0, np.nan)
        raise FloatingPointError("overflow")

    res = blow_up().solve(PROBLEM, X0[:2], max_iter=10, tol=1e-10)
    assert blow_up().name == "blow-up"
    assert list(res.status) == [DIVERGED, DIVERGED]
    assert np.all(np.isfinite(res.theta))  # keeps a finite point (the start) like the JAX loop
    assert np.all(res.snapshot_iter == -1)


def test_unconverged_run_is_max_iter() -> None:
    res = NumpySolver(lambda o, t, m, tol: t + 0.1, name="nudge").solve(PROBLEM, X0[:1], max_iter=3, tol=1e-10)
    assert list(res.status) == [MAX_ITER] and res.hvps[0] == 0


def test_user_exception_names_the_solver() -> None:
    def broken(oracles, theta0, max_iter, tol):
        raise KeyError("oops")

    with pytest.raises(NumpySolverError, match=r"solver 'broken-one' failed on batch row 0: KeyError") as exc:
        NumpySolver(broken, name="broken-one").solve(PROBLEM, X0, max_iter=5, tol=1e-10)
    # Every row ran and is reported; the harness maps rows to global run indices.
    assert set(exc.value.row_rejections) == set(range(len(X0)))
    assert exc.value.row_rejections[0] == ("error", "KeyError: 'oops'")
    assert exc.value.partial is not None and exc.value.partial.theta.shape == X0.shape


def test_bad_trace_and_options_are_rejected() -> None:
    long = NumpySolver(lambda o, t, m, tol: (t, {"loss": [0.0] * (m + 2)}), name="long")
    with pytest.raises(NumpySolverError, match="at most max_iter"):
        long.solve(PROBLEM, X0[:1], max_iter=3, tol=1e-10)
    with pytest.raises(TypeError, match="unknown option"):
        trust_krylov_gnm(radius=2.0)
    with pytest.raises(TypeError, match="needs a default"):
        numpy_solver(lambda oracles, theta0, max_iter, tol, step: theta0)


def test_numpy_example_can_stop_at_the_gradient_flat_point() -> None:
    """Minimising ||grad f||^2 from x0 > sqrt(2) ends at the strict gradient-flat point (sqrt(2), 0)."""
    res = trust_krylov_gnm().solve(PROBLEM, np.array([[1.0, 0.5], [2.0, -1.0]]), max_iter=100, tol=1e-10)
    assert np.all(res.status == MAX_ITER)
    np.testing.assert_allclose(res.theta[:, 0], np.sqrt(2), atol=1e-5)
    np.testing.assert_allclose([grad_sq(t) for t in res.theta], (9 - 4 * np.sqrt(2)) ** 2, rtol=1e-8)


def test_options_include_defaults_and_oracles_are_reused() -> None:
    assert trust_krylov_gnm().options() == trust_krylov_gnm(method="trust-krylov").options()
    assert trust_krylov_gnm().options()["initial_trust_radius"] == 1.0
    seen = []

    def spy(oracles, theta0, max_iter, tol):
        seen.append(oracles)
        return theta0

    solver = NumpySolver(spy, name="spy")
    solver.solve(PROBLEM, X0[:2], max_iter=1, tol=1e-10)
    solver.solve(PROBLEM, X0[:2], max_iter=1, tol=1e-10)
    assert seen[0] is seen[-1]  # one compiled set of oracles per problem
