"""Exact Newton (Algorithm 4) and pseudo-inverse Newton (Algorithms 5/9), dense Hessian.

Ground truth: numpy.linalg.solve / numpy.linalg.pinv on the known Hessian of a
quadratic; hand-written gradient and Hessian of the quartic (Eq. 3.35).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.solvers import CONVERGED, DIVERGED, STALLED, Problem, SolverOptionError, get_solver
from harness.solvers.exact_newton import ExactNewton, PseudoInverseNewton
from tests.solvers._quartic import QUARTIC, quartic, quartic_grad, quartic_hess  # noqa: F401

jax.config.update("jax_enable_x64", True)

SQRT2 = np.sqrt(2.0)
N = 5


def quadratic(theta, data):
    A, b = data
    return 0.5 * theta @ A @ theta + b @ theta


def first_coordinate_squared(theta, data):
    return theta[0] ** 2


def _sym(seed, n_zero):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(N, N)))
    ev = rng.uniform(0.5, 4.0, size=N) * rng.choice([-1.0, 1.0], size=N)
    ev[:n_zero] = 0.0
    A = q @ np.diag(ev) @ q.T
    return (A + A.T) / 2, q, rng


def _stats(H, g, p):
    hf = np.linalg.norm(H)
    res = H @ p + g
    rn = np.linalg.norm(res)
    r_H = np.linalg.norm(H @ res) / (hf * rn) if rn > 0 else 0.0
    return rn / (hf * np.linalg.norm(p) + np.linalg.norm(g)), r_H


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1))
def test_exact_newton_solves_nondegenerate_quadratic_in_one_step(seed):
    A, _, rng = _sym(seed, 0)  # indefinite, |eigenvalues| >= 0.5
    b, x0 = rng.normal(size=N), rng.normal(size=N)
    prob = Problem(quadratic, (jnp.asarray(A), jnp.asarray(b)), N)
    res = ExactNewton().solve(prob, x0[None], max_iter=5, tol=1e-18)
    assert res.status[0] == CONVERGED and res.n_iter[0] == 1
    np.testing.assert_allclose(res.theta[0], np.linalg.solve(A, -b), atol=1e-10)
    assert res.hvps[0] == N  # one dense Hessian counted as dim HVPs
    assert res.hfro_method == "exact"
    np.testing.assert_allclose(res.trace["hfro"][0, 1], np.linalg.norm(A), rtol=1e-12)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**31 - 1), n_zero=st.integers(1, 3))
def test_pinv_newton_takes_min_norm_step_on_incompatible_singular_quadratic(seed, n_zero):
    A, q, rng = _sym(seed, n_zero)
    # b with a kernel component of norm exactly 3, so g = A x + b is never in
    # range(A): the system is incompatible with residual ||P_ker g|| = 3.
    K = q[:, :n_zero]
    z = rng.normal(size=N)
    b = z - K @ (K.T @ z) + 3.0 * q[:, 0]
    x0 = rng.normal(size=N)
    g = A @ x0 + b
    Apinv = np.linalg.pinv(A, rcond=1e-10)
    p = -Apinv @ g
    assert np.linalg.norm(A @ p + g) > 1.0  # precondition: incompatible
    prob = Problem(quadratic, (jnp.asarray(A), jnp.asarray(b)), N)
    res = PseudoInverseNewton().solve(prob, x0[None], max_iter=1, tol=0.0)
    np.testing.assert_allclose(res.theta[0], x0 + p, atol=1e-10)
    r, r_H = _stats(A, g, p)
    np.testing.assert_allclose(res.trace["r"][0, 1], r, rtol=1e-8)
    np.testing.assert_allclose(res.trace["r_H"][0, 1], r_H, atol=1e-12)
    # The residual of the min-norm step lies in ker A: r_H ~ 0.
    assert res.trace["r_H"][0, 1] < 1e-12
    # Step size option scales the same step.
    res2 = PseudoInverseNewton(alpha=0.5).solve(prob, x0[None], max_iter=1, tol=0.0)
    np.testing.assert_allclose(res2.theta[0], x0 + 0.5 * p, atol=1e-10)


def test_pinv_newton_flatness_at_gradient_flat_point_of_quartic():
    prob = Problem(quartic, (), 2)
    t = np.array([SQRT2, 0.0])
    res = PseudoInverseNewton().solve(prob, t[None], max_iter=3, tol=1e-10)
    assert res.status[0] == STALLED  # p = 0: H^+ g = 0 since g lies in ker H
    np.testing.assert_allclose(res.trace["r"][0, 1], 1.0, rtol=1e-12)
    assert res.trace["r_H"][0, 1] < 1e-12
    # Closed-form check that (sqrt 2, 0) is gradient-flat: g != 0, H g = 0.
    assert np.linalg.norm(quartic_grad(t)) > 3 and np.linalg.norm(quartic_hess(t) @ quartic_grad(t)) < 1e-12


# First point: H_xx ~ 8.5e-9 is below rcond * H_yy, so pinv drops it (incompatible system).
@pytest.mark.parametrize("t", [[SQRT2 + 1e-9, 0.5], [-2.0, 0.5], [0.3, -1.2]])
def test_pinv_newton_flatness_matches_dense_numpy(t):
    t = np.asarray(t)
    prob = Problem(quartic, (), 2)
    res = PseudoInverseNewton().solve(prob, t[None], max_iter=1, tol=0.0)
    H, g = quartic_hess(t), quartic_grad(t)
    p = -np.linalg.pinv(H, rcond=1e-7) @ g
    np.testing.assert_allclose(res.theta[0], t + p, rtol=1e-10)
    r, r_H = _stats(H, g, p)
    np.testing.assert_allclose(res.trace["r"][0, 1], r, rtol=1e-8, atol=1e-14)
    if r > 1e-8:  # r_H of a round-off residual is meaningless
        np.testing.assert_allclose(res.trace["r_H"][0, 1], r_H, rtol=1e-6, atol=1e-14)
    else:
        assert res.trace["r"][0, 1] < 1e-12
    np.testing.assert_allclose(res.trace["hfro"][0, 1], np.linalg.norm(H), rtol=1e-12)


def test_exact_newton_on_singular_hessian_diverges_and_keeps_last_finite_iterate():
    # L = theta_0^2 in R^2: H = diag(2, 0) exactly singular, g = (2 theta_0, 0).
    prob = Problem(first_coordinate_squared, (), 2)
    t0 = np.array([[1.0, 2.0]])
    res = ExactNewton().solve(prob, t0, max_iter=5, tol=1e-20)
    assert res.status[0] == DIVERGED
    np.testing.assert_array_equal(res.theta[0], t0[0])
    # Pseudo-inverse Newton handles it: the min-norm step goes straight to (0, 2).
    res = PseudoInverseNewton().solve(prob, t0, max_iter=5, tol=1e-20)
    assert res.status[0] == CONVERGED
    np.testing.assert_allclose(res.theta[0], [0.0, 2.0], atol=1e-14)


@pytest.mark.parametrize(
    "opts, name",
    [(dict(rcond=-1e-3), "rcond"), (dict(rcond=1.0), "rcond"), (dict(alpha=0.0), "alpha"), (dict(alpha=1.5), "alpha")],
)
def test_bad_options_raise(opts, name):
    with pytest.raises(SolverOptionError, match=name):
        PseudoInverseNewton(**opts)


def test_registry():
    assert isinstance(get_solver("exact-newton"), ExactNewton)
    assert get_solver("pinv-newton", rcond=1e-9).rcond == 1e-9
