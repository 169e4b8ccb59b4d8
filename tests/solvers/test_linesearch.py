"""Backtracking line search of Algorithm 12 on ||grad L||^2."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from harness.solvers import SolverOptionError
from harness.solvers.linesearch import BacktrackingLineSearch, backtrack

jax.config.update("jax_enable_x64", True)


def quad(t, a):
    return 0.5 * t @ (a @ t)


def quartic(t, _):
    x, y = t[0], t[1]
    return x**4 / 4 - 3 * x**2 + 9 * x + 0.9 * y**4 + 5 * y**2 + 40


A = jnp.diag(jnp.array([1.0, 4.0]))


def _setup(fn, theta, p, args):
    g = jax.grad(fn)(theta, args)
    hp = jax.jvp(lambda t: jax.grad(fn)(t, args), (theta,), (p,))[1]
    return g, jnp.vdot(hp, g)


def test_unit_step_checked_first_and_accepted():
    theta = jnp.array([1.0, -2.0])
    p = -theta  # exact Newton step of a quadratic
    g, hgp = _setup(quad, theta, p, A)
    alpha, n, acc = backtrack(quad, theta, g, p, hgp, 0.125, A)
    # even though the search would start at 0.125, alpha = 1 is tried first
    assert float(alpha) == 1.0 and int(n) == 1 and bool(acc)


def test_accepted_step_satisfies_condition():
    theta = jnp.array([-1.0, 0.5])
    g = jax.grad(quartic)(theta, None)
    p = -5.0 * g  # a long step: alpha = 1 fails
    _, hgp = _setup(quartic, theta, p, None)
    opts = BacktrackingLineSearch(beta=0.5, rho=0.1, rho_prime=0.1)
    alpha, n, acc = opts.search(quartic, theta, g, p, hgp, 1.0, None)
    alpha = float(alpha)
    assert bool(acc) and 0 < alpha < 1
    s = float(g @ g)
    gn = np.asarray(jax.grad(quartic)(theta + alpha * p, None))
    assert gn @ gn <= s + 2 * 0.1 * alpha * float(hgp)
    # the previous trial (alpha / beta) failed the same test
    gp = np.asarray(jax.grad(quartic)(theta + 2 * alpha * p, None))
    assert gp @ gp > s + 2 * 0.1 * 2 * alpha * float(hgp)
    # alpha = 1 (with rho'), then alpha_start = 1 reuses it, then halvings
    assert int(n) == 1 + round(np.log2(1 / alpha))


def test_failed_search_returns_zero_step_not_zero_point():
    theta = jnp.array([-1.0, 0.5])
    g = jax.grad(quartic)(theta, None)
    # p = H g is the ascent direction of ||g||^2 (its gradient is 2 H g): no alpha passes
    p = jax.jvp(lambda t: jax.grad(quartic)(t, None), (theta,), (g,))[1]
    _, hgp = _setup(quartic, theta, p, None)
    alpha, n, acc = jax.jit(lambda t, g, p, h: backtrack(quartic, t, g, p, h, 1.0, None))(theta, g, p, hgp)
    assert float(alpha) == 0.0 and not bool(acc)
    new = theta + alpha * p
    np.testing.assert_array_equal(np.asarray(new), np.asarray(theta))  # unchanged, not zeros
    assert int(n) > 1


def test_eps_min_bounds_trials():
    theta = jnp.array([-1.0, 0.5])
    g = jax.grad(quartic)(theta, None)
    p = jax.jvp(lambda t: jax.grad(quartic)(t, None), (theta,), (g,))[1]
    _, hgp = _setup(quartic, theta, p, None)
    opts = BacktrackingLineSearch(eps_min=1e-3)
    alpha, n, acc = opts.search(quartic, theta, g, p, hgp, 1.0, None)
    assert float(alpha) == 0.0 and int(n) <= 12  # 1 + ceil(log2(1e3))


def test_vmappable():
    thetas = jnp.array([[1.0, -2.0], [0.3, 0.1]])
    ps = -thetas
    gs = jax.vmap(lambda t: jax.grad(quad)(t, A))(thetas)
    hgp = jnp.einsum("bi,ij,bj->b", ps, A, gs)
    alpha, n, acc = jax.vmap(lambda t, g, p, h: backtrack(quad, t, g, p, h, 0.5, A))(thetas, gs, ps, hgp)
    assert np.all(np.asarray(alpha) == 1.0)


@pytest.mark.parametrize(
    "opt,val", [("beta", 1.0), ("rho", 0.0), ("rho_prime", 1.5), ("alpha0", 0.0), ("eps_min", -1.0), ("beta", "x")]
)
def test_bad_options(opt, val):
    with pytest.raises(SolverOptionError, match=opt):
        BacktrackingLineSearch(**{opt: val})
