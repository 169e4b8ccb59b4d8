"""Newton-MR (Algorithm 13) on closed-form cases: quartic Eq. 3.35 and a small DLAE."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.solvers import CONVERGED, DIVERGED, STALLED, Problem, SolverOptionError, get_solver
from harness.solvers.newton_mr import NewtonMR

jax.config.update("jax_enable_x64", True)

SQRT2 = np.sqrt(2.0)


def quartic(t, data):
    """Thesis Eq. 3.35: only critical point (-3, 0); strict gradient-flat points (±√2, 0)."""
    x, y = t[0], t[1]
    return x**4 / 4 - 3 * x**2 + 9 * x + 0.9 * y**4 + 5 * y**2 + 40


def quartic_nan(t, data):
    # identical to the quartic for x > -100, NaN (loss and gradient) below
    return quartic(t, data) + 0.0 * jnp.sqrt(t[0] + 100.0)


QUARTIC = Problem(quartic, (), 2)


def test_quartic_reaches_minimum():
    starts = np.array([[-4.0, 1.0], [-2.0, -0.5], [-1.5, 2.0]])  # all x0 < -√2
    res = NewtonMR().solve(QUARTIC, starts, max_iter=100, tol=1e-20)
    assert np.all(res.status == CONVERGED)
    np.testing.assert_allclose(res.theta, np.tile([-3.0, 0.0], (3, 1)), atol=1e-9)
    final = res.trace["grad_norm_sq"][np.arange(3), res.n_iter]
    assert np.all(final < 1e-20)
    assert np.all(res.hvps > 0) and np.all(res.grads > res.n_iter)


def test_quartic_stalls_at_gradient_flat_point():
    # x0 > -√2: the gradient-flat basin.  Near (√2, 0), H_xx -> 0 and the Newton step
    # along x outgrows maxxnorm; MINRES-QLP then stops on the x-norm limit with a
    # small step, so how close y gets to 0 before the line search gives up depends on
    # the start: these four get within 1e-4 and are flagged by the solver's own r, r_H;
    # the extra start [0.5, -0.7] stalls with |y| ~ 1e-3 and is checked more loosely.
    starts = np.array([[-1.0, 1.0], [-0.7625, 1.0], [1.3875, 1.5], [3.0, 0.5], [0.5, -0.7]])
    n = len(starts)
    solver = NewtonMR(hfro_estimate="exact")
    res = solver.solve(QUARTIC, starts, max_iter=100, tol=1e-20)
    assert np.all(res.status == STALLED)
    k = res.n_iter
    assert np.all(res.trace["step_size"][np.arange(n), k] == 0.0)
    np.testing.assert_allclose(res.theta, np.tile([SQRT2, 0.0], (n, 1)), atol=2e-3)
    g2 = res.trace["grad_norm_sq"][np.arange(n), k]
    np.testing.assert_allclose(g2, (9 - 4 * SQRT2) ** 2, rtol=1e-5)  # local min of ||∇f||^2
    good = slice(0, 4)
    np.testing.assert_allclose(res.theta[good], np.tile([SQRT2, 0.0], (4, 1)), atol=1e-4)
    # gradient-flat by definition at the final point (dense, independent of the solver)
    for x, y in res.theta[good]:
        g = np.array([x**3 - 6 * x + 9, 3.6 * y**3 + 10 * y])
        h = np.diag([3 * x * x - 6, 10.8 * y * y + 10])
        assert np.linalg.norm(h @ g) / (np.linalg.norm(h) * np.linalg.norm(g)) < 5e-4
    # and flagged by the solver's own statistics (r > 0.9, r_H < 5e-4) along the way
    r, r_H = res.trace["r"][good], res.trace["r_H"][good]
    assert np.all(np.any((r > 0.9) & (r_H < 5e-4), axis=1))


def test_nan_run_diverges_without_affecting_others():
    problem = Problem(quartic_nan, (), 2)
    starts = np.array([[-4.0, 1.0], [-200.0, 0.0], [-2.0, -0.5]])
    solver = NewtonMR()
    res = solver.solve(problem, starts, max_iter=100, tol=1e-20)
    assert res.status[1] == DIVERGED
    alone = solver.solve(problem, starts[[0, 2]], max_iter=100, tol=1e-20)
    np.testing.assert_array_equal(res.theta[[0, 2]], alone.theta)
    np.testing.assert_array_equal(res.status[[0, 2]], alone.status)
    assert np.all(res.status[[0, 2]] == CONVERGED)


# ---- small deep linear autoencoder, k = 4, p = 2, X Xᵀ / n = diag(1, 2, 3, 4) exactly
K, P, N = 4, 2, 8
LAM = np.array([1.0, 2.0, 3.0, 4.0])


def _data():
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(N, N)))
    x = np.sqrt(N) * np.diag(np.sqrt(LAM)) @ q[:K]  # rows orthogonal: X Xᵀ / n = diag(LAM)
    assert np.allclose(x @ x.T / N, np.diag(LAM))
    return jnp.asarray(x)


def dlae(theta, x):
    w1 = theta[: P * K].reshape(P, K)
    w2 = theta[P * K :].reshape(K, P)
    return jnp.mean((x - w2 @ (w1 @ x)) ** 2)


def _formula(S):
    """Closed form (REFERENCE.md): loss and index count for the subset S."""
    notS = [j for j in range(K) if j not in S]
    r = len(S)
    loss = LAM[notS].sum() / K
    count = sum(sum(LAM[j] > LAM[i] for j in notS) for i in S) + (P - r) * (K - r)
    return loss, count


def test_dlae_critical_points_match_closed_form():
    x = _data()
    problem = Problem(dlae, x, 2 * P * K)
    starts = 0.5 * np.random.default_rng(1).normal(size=(6, 2 * P * K))
    res = NewtonMR().solve(problem, starts, max_iter=100, tol=1e-12)
    conv = np.flatnonzero(res.status == CONVERGED)
    assert len(conv) >= 3
    candidates = [s for r in range(P + 1) for s in itertools.combinations(range(K), r)]
    hess = jax.jit(jax.hessian(dlae))
    for i in conv:
        th = res.theta[i]
        assert res.trace["grad_norm_sq"][i, res.n_iter[i]] < 1e-10
        w = th[P * K :].reshape(K, P) @ th[: P * K].reshape(P, K)
        S = tuple(int(j) for j in np.flatnonzero(np.diag(w) > 0.5))
        assert S in candidates
        np.testing.assert_allclose(w, np.diag([1.0 if j in S else 0.0 for j in range(K)]), atol=1e-4)  # ||g||^2 < 1e-10
        loss, count = _formula(S)
        assert abs(float(dlae(jnp.asarray(th), x)) - loss) < 1e-8
        ev = np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(th), x)))
        assert int(np.sum(ev < -1e-5)) == count


@pytest.mark.parametrize(
    "opt,val",
    [
        ("maxit", -1),
        ("maxit", 2.5),
        ("rtol", 0.0),
        ("forcing", -0.1),
        ("forcing", 1.0),
        ("maxxnorm", -1.0),
        ("acondlim", 0.5),
        ("trancond", 0.0),
        ("alpha", 1.5),
        ("beta", 1.0),
        ("rho", 0.0),
        ("rho_prime", 2.0),
        ("eps_min", -1.0),
        ("exact_flatness", "yes"),
        ("hfro_estimate", "hutch"),
    ],
)
def test_bad_options(opt, val):
    with pytest.raises(SolverOptionError, match=opt):
        NewtonMR(**{opt: val})


def test_registry_builds_it():
    s = get_solver("newton-mr", rtol=1e-8, maxit=5)
    assert isinstance(s, NewtonMR) and s.rtol == 1e-8 and s.maxit == 5
    assert hash(s) == hash(NewtonMR(rtol=1e-8, maxit=5))
