"""GNM (Algorithm 2) and BTLS-GNM (Wolfe line search on ||grad L||^2).

Ground truth is closed form: quadratic minimizers by numpy.linalg.solve; the
quartic f(x, y) = x^4/4 - 3x^2 + 9x + 0.9y^4 + 5y^2 + 40 (thesis Eq. 3.35) has its
gradient and Hessian written out by hand here, and its gradient-flat point
(sqrt 2, 0) (a local minimum of ||grad f||^2 = (9 - 4 sqrt 2)^2, not a critical
point) is known exactly.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from harness.solvers import CONVERGED, STALLED, Problem, SolverOptionError, get_solver
from harness.solvers.gnm import BTLSGNM, GNM
from tests.solvers._quartic import QUARTIC, quartic, quartic_grad, quartic_hess  # noqa: F401

jax.config.update("jax_enable_x64", True)

SQRT2 = np.sqrt(2.0)


def quadratic(theta, data):
    A, b = data
    return 0.5 * theta @ A @ theta - b @ theta




def _spd(seed, n=4):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = q @ np.diag(rng.uniform(1.0, 3.0, size=n)) @ q.T
    return (A + A.T) / 2, rng.normal(size=n), rng.normal(size=n)


@settings(max_examples=8)
@given(seed=st.integers(0, 2**31 - 1))
def test_gnm_and_btls_gnm_converge_to_quadratic_minimizer(seed):
    A, b, x0 = _spd(seed)
    prob = Problem(quadratic, (jnp.asarray(A), jnp.asarray(b)), 4)
    xstar = np.linalg.solve(A, b)
    for solver in (GNM(lr=0.1), BTLSGNM()):
        res = solver.solve(prob, x0[None], max_iter=2000, tol=1e-22)
        assert res.status[0] == CONVERGED, (solver.name, res.status)
        np.testing.assert_allclose(res.theta[0], xstar, atol=1e-9)


def test_gnm_converges_to_gradient_flat_point_of_quartic():
    x0 = np.array([[1.5, 0.1], [1.3, -0.2]])
    res = GNM(lr=0.005).solve(QUARTIC, x0, max_iter=600, tol=1e-10)
    np.testing.assert_allclose(res.theta, np.array([[SQRT2, 0.0]] * 2), atol=1e-7)
    assert np.all(res.status != CONVERGED)  # not a critical point
    final = res.trace["grad_norm_sq"][np.arange(2), res.n_iter]
    np.testing.assert_allclose(final, (9 - 4 * SQRT2) ** 2, rtol=1e-10)
    # ... and ||grad f||^2 there is a local minimum: H g = 0 in closed form.
    t = np.array([SQRT2, 0.0])
    assert np.linalg.norm(quartic_hess(t) @ quartic_grad(t)) < 1e-12


def test_btls_gnm_also_stops_at_gradient_flat_point():
    res = BTLSGNM().solve(QUARTIC, np.array([[1.5, 0.1]]), max_iter=500, tol=1e-10)
    assert res.status[0] != CONVERGED
    np.testing.assert_allclose(res.theta[0], [SQRT2, 0.0], atol=1e-6)


def _check_wolfe(theta, theta_new, alpha, c1, c2, strong):
    g = quartic_grad(theta)
    p = -quartic_hess(theta) @ g
    np.testing.assert_allclose(theta_new, theta + alpha * p, rtol=1e-12, atol=1e-14)
    phi0, dphi0 = g @ g, 2 * p @ quartic_hess(theta) @ g
    ga = quartic_grad(theta + alpha * p)
    phia, dphia = ga @ ga, 2 * p @ quartic_hess(theta + alpha * p) @ ga
    assert phia <= phi0 + c1 * alpha * dphi0 + 1e-12 * phi0
    assert dphia >= c2 * dphi0 - 1e-12 * abs(dphi0)
    if strong:
        assert abs(dphia) <= c2 * abs(dphi0) * (1 + 1e-12)


_STEP_CACHE = {}


def _jitted_step(solver):
    if solver not in _STEP_CACHE:
        _STEP_CACHE[solver] = jax.jit(lambda th, st: solver.step(quartic, th, None, jax.grad(quartic)(th, ()), st, ()))
    return _STEP_CACHE[solver]


@settings(max_examples=10)
@given(
    x=st.floats(-4.0, 4.0),
    y=st.floats(-2.0, 2.0),
    strong=st.booleans(),
)
def test_btls_gnm_accepted_steps_satisfy_wolfe(x, y, strong):
    solver = BTLSGNM(c1=1e-4, c2=0.9, strong=strong)
    step = _jitted_step(solver)
    theta = jnp.array([x, y])
    # at a critical point (e.g. the minimum (-3, 0)) there is nothing to accept
    assume(float(jnp.linalg.norm(jax.grad(quartic)(theta, ()))) > 1e-6)
    state = solver.init(quartic, theta, None, None, ())
    accepted = 0
    for _ in range(15):
        theta_new, state, info = step(theta, state)
        alpha = float(info.step_size)
        trials = int(info.grads)
        assert int(info.hvps) == 1 + trials  # documented cost: H g + (grad + HVP) per trial
        if alpha == 0.0:  # failed search: theta unchanged
            np.testing.assert_array_equal(np.asarray(theta_new), np.asarray(theta))
            break
        accepted += 1
        _check_wolfe(np.asarray(theta), np.asarray(theta_new), alpha, 1e-4, 0.9, strong)
        theta = theta_new
    assert accepted >= 1


def test_failed_line_search_leaves_theta_unchanged():
    theta0 = np.array([-2.5, 0.3])
    # Precondition (numpy): alpha = 1e3 violates sufficient decrease.
    g = quartic_grad(theta0)
    p = -quartic_hess(theta0) @ g
    ga = quartic_grad(theta0 + 1e3 * p)
    assert ga @ ga > g @ g
    res = BTLSGNM(alpha0=1e3, max_trials=1).solve(QUARTIC, theta0[None], max_iter=10, tol=1e-10)
    assert res.status[0] == STALLED
    assert res.n_iter[0] == 1
    np.testing.assert_array_equal(res.theta[0], theta0)
    assert res.trace["step_size"][0, 1] == 0.0
    assert res.hvps[0] == 2 and res.grads[0] == 3  # H g + 1 trial (HVP, grad); loop: 2 grads


def test_cost_counts_gnm():
    res = GNM(lr=0.005).solve(QUARTIC, np.array([[1.5, 0.1]]), max_iter=20, tol=1e-10)
    n = res.n_iter[0]
    assert n == 20
    assert res.hvps[0] == n and res.grads[0] == n + 1
    np.testing.assert_array_equal(np.diff(res.trace["hvps"][0, : n + 1]), 1)
    np.testing.assert_array_equal(np.diff(res.trace["grads"][0, : n + 1]), 1)


def test_cost_counts_btls_gnm_one_trial_step():
    A, b, x0 = _spd(7)
    prob = Problem(quadratic, (jnp.asarray(A), jnp.asarray(b)), 4)
    # phi(alpha) = ||g - alpha A A g||^2 is quadratic in alpha; half its minimizer satisfies
    # both Wolfe conditions (c2 = 0.9), so the first search must take exactly one trial.
    g = A @ x0 - b
    p = -A @ g
    alpha_star = -(g @ (A @ p)) / ((A @ p) @ (A @ p))
    res = BTLSGNM(alpha0=float(alpha_star / 2)).solve(prob, x0[None], max_iter=5, tol=0.0)
    h, gr = res.trace["hvps"][0], res.trace["grads"][0]
    assert h[1] == 2 and gr[1] == 3  # 1 (H g) + 1 trial HVP; initial + trial + new-iterate gradients
    np.testing.assert_allclose(res.trace["step_size"][0, 1], alpha_star / 2, rtol=1e-14)
    n = res.n_iter[0]
    dh, dg = np.diff(h[: n + 1]), np.diff(gr[: n + 1])
    np.testing.assert_array_equal(dh, dg)  # per step: 1 + trials HVPs, trials + 1 gradients
    assert np.all(dh >= 2)
    assert res.hvps[0] == h[n] and res.grads[0] == gr[n]


@pytest.mark.parametrize(
    "cls, opts, name",
    [
        (GNM, dict(lr=0.0), "lr"),
        (GNM, dict(lr=-1.0), "lr"),
        (BTLSGNM, dict(alpha0=0.0), "alpha0"),
        (BTLSGNM, dict(beta=1.0), "beta"),
        (BTLSGNM, dict(c1=0.0), "c1"),
        (BTLSGNM, dict(c1=0.5, c2=0.4), "c2"),
        (BTLSGNM, dict(c2=1.0), "c2"),
        (BTLSGNM, dict(max_trials=0), "max_trials"),
        (BTLSGNM, dict(max_trials=2.5), "max_trials"),
        (BTLSGNM, dict(strong="yes"), "strong"),
    ],
)
def test_bad_options_raise(cls, opts, name):
    with pytest.raises(SolverOptionError, match=name):
        cls(**opts)


def test_registry_builds_both():
    assert isinstance(get_solver("gnm", lr=0.01), GNM)
    s = get_solver("btls-gnm", c2=0.5, strong=True)
    assert isinstance(s, BTLSGNM) and s.c2 == 0.5 and s.strong is True
