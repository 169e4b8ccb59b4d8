"""MINRES-QLP against NumPy's minimum-norm least-squares solution (pinv).

Matrices: A = Q diag(ev) Qᵀ with Q Haar-orthogonal (QR of a Gaussian), nonzero
eigenvalues bounded away from 0 (|ev| in [0.5, 4]) so pinv(A, rcond=1e-10) is
well defined.  Tolerances: ||x - pinv(A) b|| <= 1e-8 (1 + ||pinv(A) b||) at
rtol = 1e-10 (observed errors ~1e-12 or smaller); residual recurrences within
1e-8 (1 + ||r||) of the directly computed ones.
"""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.solvers.minres_qlp import (
    CONVERGED_FLAGS,
    FLAG_LS_RTOL,
    FLAG_RTOL,
    FLAG_ZERO_RHS,
    minres_qlp,
)

jax.config.update("jax_enable_x64", True)


def _matrix(seed, n, n_zero, n_rep, indefinite=True):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ev = rng.uniform(0.5, 4.0, size=n)
    if indefinite:
        ev *= rng.choice([-1.0, 1.0], size=n)
    ev[:n_zero] = 0.0
    if n_rep:
        ev[n_zero : n_zero + n_rep] = ev[-1]
    a = q @ np.diag(ev) @ q.T
    return (a + a.T) / 2, ev, q, rng


@jax.jit
def _solve_jit(a, b, shift, rtol, maxit):
    return minres_qlp(lambda v: a @ v, b, shift=shift, rtol=rtol, maxit=maxit)


def _solve(a, b, shift=0.0, rtol=1e-10, maxit=None):
    """Jitted (one compilation per size n; shift, rtol and maxit are traced)."""
    n = len(b)
    return _solve_jit(jnp.asarray(a), jnp.asarray(b, dtype=jnp.float64), shift, rtol, n if maxit is None else maxit)


def _close(x, ref, tol=1e-8):
    return np.linalg.norm(np.asarray(x) - ref) <= tol * (1 + np.linalg.norm(ref))


cases = st.tuples(
    st.integers(0, 2**31 - 1),
    st.integers(2, 12),
    st.integers(0, 4),
    st.integers(0, 3),
    st.sampled_from(["compatible", "incompatible"]),
)


@given(cases)
def test_matches_pinv(case):
    seed, n, n_zero, n_rep, kind = case
    n_zero = min(n_zero, n - 1)
    n_rep = min(n_rep, n - n_zero - 1)
    a, ev, q, rng = _matrix(seed, n, n_zero, n_rep)
    if kind == "compatible":
        b = a @ rng.normal(size=n)
    else:
        b = rng.normal(size=n)
    ref = np.linalg.pinv(a, rcond=1e-10) @ b
    res = _solve(a, b, rtol=1e-10)
    assert int(res.flag) in CONVERGED_FLAGS
    assert _close(res.x, ref)
    r = b - a @ np.asarray(res.x)
    assert abs(float(res.rnorm) - np.linalg.norm(r)) <= 1e-8 * (1 + np.linalg.norm(r))
    assert abs(float(res.xnorm) - np.linalg.norm(ref)) <= 1e-8 * (1 + np.linalg.norm(ref))
    # the ||A||_F lower bound from the Lanczos tridiagonal
    assert float(res.Tfro) <= np.linalg.norm(a) * (1 + 1e-8)
    assert float(res.Anorm) <= np.linalg.norm(a) * (1 + 1e-8)  # estimate of ||A||_2 (not a strict bound in floating point)
    if n_zero > 0 and kind == "incompatible":
        # b has a kernel component: only the least-squares test can fire
        assert np.linalg.norm(q[:, :n_zero].T @ b) > 1e-6
        assert int(res.flag) == FLAG_LS_RTOL
        # minimum length: x is orthogonal to ker A
        assert np.linalg.norm(q[:, :n_zero].T @ np.asarray(res.x)) <= 1e-8 * (1 + np.linalg.norm(ref))
        # the residual is (numerically) in ker A
        assert np.linalg.norm(a @ r) <= 1e-8 * np.linalg.norm(a) * np.linalg.norm(r)
    elif kind == "compatible" or n_zero == 0:
        assert int(res.flag) == FLAG_RTOL or np.linalg.norm(r) <= 1e-10 * (1 + np.linalg.norm(b))


def test_plain_minres_least_squares_solution_is_not_minimum_norm():
    """Any LS solution x_ls + z (z in ker A) has the same residual; MINRES's Krylov
    iterate need not be orthogonal to ker A when b has a kernel component.  We
    show the set of LS solutions contains longer ones and ours is the shortest."""
    a, ev, q, rng = _matrix(3, 8, 2, 0)
    b = rng.normal(size=8)
    res = _solve(a, b, rtol=1e-12)
    x = np.asarray(res.x)
    ls = np.linalg.lstsq(a, b, rcond=None)[0]  # numpy's min-norm LS solution
    assert _close(x, ls)
    z = q[:, :2] @ rng.normal(size=2)
    other = x + z
    assert np.allclose(a @ other, a @ x, atol=1e-10)  # same residual ...
    assert np.linalg.norm(other) > np.linalg.norm(x)  # ... but longer
    # b itself lies in the Krylov space; its kernel part would make a Krylov
    # iterate non-minimal: x has no component along it
    assert np.linalg.norm(q[:, :2].T @ x) < 1e-10


def test_shift():
    a, ev, q, rng = _matrix(5, 10, 0, 0)
    b = rng.normal(size=10)
    for shift in (0.7, -1.3, float(ev[2])):  # the last makes A - shift I singular
        ref = np.linalg.pinv(a - shift * np.eye(10), rcond=1e-10) @ b
        res = _solve(a, b, shift=shift, rtol=1e-12)
        assert _close(res.x, ref), shift


def test_zero_rhs_and_maxit():
    a, *_ = _matrix(1, 6, 0, 0)
    res = _solve(a, np.zeros(6))
    assert int(res.flag) == FLAG_ZERO_RHS and np.all(np.asarray(res.x) == 0)
    res = _solve(a, np.ones(6), maxit=2, rtol=1e-14)
    assert int(res.iters) <= 2 and int(res.matvecs) == 2


def test_jit_and_vmap_over_b_and_matrices():
    mats, bs, refs = [], [], []
    for i in range(6):
        a, ev, q, rng = _matrix(100 + i, 9, i % 3, i % 2)
        b = rng.normal(size=9)
        mats.append(a)
        bs.append(b)
        refs.append(np.linalg.pinv(a, rcond=1e-10) @ b)
    mats, bs = jnp.asarray(np.array(mats)), jnp.asarray(np.array(bs))
    f = jax.jit(jax.vmap(lambda a, b: minres_qlp(lambda v: a @ v, b, rtol=1e-12)))
    res = f(mats, bs)
    for i in range(6):
        assert _close(res.x[i], refs[i]), i
    # batched right-hand sides for one operator (parameters closed over)
    a0 = mats[0]
    g = jax.jit(jax.vmap(lambda b: minres_qlp(lambda v: a0 @ v, b, rtol=1e-12).x))
    xs = g(bs)
    pa = np.linalg.pinv(np.asarray(a0), rcond=1e-10)
    for i in range(6):
        assert _close(xs[i], pa @ np.asarray(bs[i]))


# ---- loose tolerances on ill-conditioned systems (how Newton-MR calls it: rtol = 5e-4)
ill_conditioned = st.tuples(
    st.integers(0, 2**31 - 1),
    st.integers(4, 40),
    st.integers(0, 2),
    st.booleans(),
    st.sampled_from([1e-10, 5e-4, 1e-2]),
    st.sampled_from([1e2, 1e4, 1e8]),
    st.sampled_from([1.0, 1e4]),
)


@jax.jit
def _solve_opts(a, b, rtol, maxxnorm, trancond):
    return minres_qlp(lambda v: a @ v, b, rtol=rtol, maxxnorm=maxxnorm, trancond=trancond)


@given(ill_conditioned)
def test_every_exit_returns_an_iterate_no_worse_than_zero_with_its_true_residual(case):
    """Eigenvalues log-uniform in [1e-9, 1e2] with random signs (plus exact zeros):
    the early least-squares exits that a loose rtol allows, the x-norm limit and the
    singular exit all drop the last QLP coordinate; the returned x must still be a
    real improvement on x = 0 (||b - A x|| <= ||b||, hence b^T A x >= ||A x||^2 / 2 >= 0:
    a descent direction for ||b - A x||^2, which Newton-MR's line search needs), and
    the reported rnorm / xnorm must be those of the returned x.  (Before the fix, 2/3
    of such draws returned an x(u_k = 0) whose residual was up to 3.6 ||b||.)"""
    seed, n, n_zero, compatible, rtol, maxxnorm, trancond = case
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    ev = 10.0 ** rng.uniform(-9, 2, size=n) * rng.choice([-1.0, 1.0], size=n)
    ev[:n_zero] = 0.0
    a = q @ np.diag(ev) @ q.T
    a = (a + a.T) / 2
    b = a @ rng.normal(size=n) if compatible else rng.normal(size=n)
    res = _solve_opts(jnp.asarray(a), jnp.asarray(b), rtol, maxxnorm, trancond)
    x = np.asarray(res.x)
    r = b - a @ x
    nb, nr = np.linalg.norm(b), np.linalg.norm(r)
    assert nr <= nb * (1 + 1e-8), (int(res.flag), nr / nb)
    assert b @ (a @ x) >= -1e-10 * nb**2
    assert abs(nr - float(res.rnorm)) <= 1e-6 * nb, (int(res.flag), nr, float(res.rnorm))
    assert abs(np.linalg.norm(x) - float(res.xnorm)) <= 1e-3 * (1 + np.linalg.norm(x))


def test_forcing_stops_at_the_first_iterate_meeting_the_inexactness_condition():
    """forcing = eta: stop at the first x_j with ||A (b - A x_j)|| <= eta ||A b||
    (checked against dense products, iterate by iterate via maxit)."""
    a, ev, q, rng = _matrix(11, 30, 0, 0)
    a = q @ np.diag(10.0 ** rng.uniform(-4, 1, size=30)) @ q.T  # ill-conditioned, SPD
    a = (a + a.T) / 2
    b = rng.normal(size=30)
    ab = np.linalg.norm(a @ b)
    assert int(_solve_jit(jnp.asarray(a), jnp.asarray(b), 0.0, 1e-14, 30).iters) > 3  # no forcing: runs on
    f = jax.jit(lambda a, b, m, eta: minres_qlp(lambda v: a @ v, b, rtol=1e-14, maxit=m, forcing=eta))
    for eta in (0.5, 0.1, 1e-3):
        res = f(jnp.asarray(a), jnp.asarray(b), 30, eta)
        j = int(res.iters)
        assert int(res.flag) == FLAG_RTOL and j < 30
        x = np.asarray(res.x)
        assert np.linalg.norm(a @ (b - a @ x)) <= eta * ab * (1 + 1e-8)
        assert abs(np.linalg.norm(b - a @ x) - float(res.rnorm)) <= 1e-8 * np.linalg.norm(b)
        # the previous iterate (maxit = j - 1, forcing off) did not meet it
        prev = np.asarray(_solve_jit(jnp.asarray(a), jnp.asarray(b), 0.0, 1e-14, j - 1).x)
        assert np.linalg.norm(a @ (b - a @ prev)) > eta * ab
        # and the iterate returned is the plain MINRES iterate j
        same = np.asarray(_solve_jit(jnp.asarray(a), jnp.asarray(b), 0.0, 1e-14, j).x)
        np.testing.assert_allclose(x, same, rtol=1e-10, atol=1e-12)
