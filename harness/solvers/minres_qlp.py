"""MINRES-QLP in JAX: minimum-length solutions of symmetric, possibly singular systems.

Solves ``(A - shift I) x = b`` for a symmetric operator ``A`` given only as a
matrix-vector product, or, when the system is singular and incompatible, the
least-squares problem ``min ||(A - shift I) x - b||``, returning (up to the
tolerances below) the **minimum-length** least-squares solution
``x = (A - shift I)^+ b``.  This is the Krylov method of Choi, Paige &
Saunders, *MINRES-QLP: a Krylov subspace method for indefinite or singular
symmetric systems*, SIAM J. Sci. Comput. 33(4), 2011 (thesis Sec. 2.5.3,
"MR-QLP"; the linear solver of Newton-MR, Algorithm 13 line 8).

Mathematics (one iteration ``k``):

* Lanczos: ``A V_k = V_{k+1} T_{k+1,k}``, ``T`` tridiagonal with diagonal
  ``alpha_i`` and off-diagonal ``beta_{i+1}`` (one matvec per iteration).
* Left reflections ``Q_k`` give the QR factorization ``Q_k T_{k+1,k} = [R_k; 0]``
  and the residual norm recurrence ``phi_k = ||r_k||`` (MINRES).
* Right reflections ``P_k`` turn ``R_k`` into the lower-triangular ``L_k`` of the
  QLP factorization ``T = Q^T L P^T``; solving ``L_k u_k = Q_k beta_1 e_1`` and
  setting ``x_k = W_k u_k`` (``W_k = V_k P_k``) gives the minimum-length
  solution in the Krylov space even when ``T_k`` is (numerically) singular.
  While the condition estimate ``Acond`` is below ``trancond`` the cheaper
  MINRES update ``x_k = x_{k-1} + tau_k w_k`` is used (the two coincide in
  exact arithmetic); afterwards the iteration switches to QLP updates for good.

Stopping tests (``Anorm`` and ``Acond`` are Choi's running estimates of
``||A - shift I||_2`` and its condition number, built from the QLP factors):

* ``relres  = ||r_k|| / (Anorm ||x_k|| + ||b||) <= rtol``   -> :data:`FLAG_RTOL` (compatible system),
* ``relAres = ||A r_{k-1}|| / (Anorm ||r_{k-1}||) <= rtol`` -> :data:`FLAG_LS_RTOL` (incompatible: the
  residual is numerically in ``ker A``, i.e. the co-kernel residual vanished);
* optionally ``||A r_{k-1}|| <= forcing ||A b||`` -> :data:`FLAG_RTOL` with ``x_{k-1}``:
  the inexactness condition of Newton-MR (Roosta, Liu, Xu & Mahoney,
  arXiv:1810.00303), not in Choi's code.  The backward-error test above is scaled
  by ``Anorm ||x_k||``, which is huge when ``b`` has weight on small eigenvalues,
  so it can pass while the residual is still most of ``||b||``, or never pass
  within ``n`` iterations; the forcing test bounds the residual's range part
  itself.  (Measuring ``||A r||`` rather than ``||r||`` matters at gradient-flat
  points: there ``b`` has an unsolvable kernel part and ``||r|| <= eta ||b||`` would
  let the solver ignore the solvable part.)

``||A r_{k-1}||`` is only known one iteration late, so on the least-squares
exits (and on the x-norm / condition limits) the iterate is rolled back to
``x_{k-1}``, the one the test certified (Choi's reference code rolls back the
counters; we also roll back ``x``, which keeps the huge null-space update of
the final, singular step out of the answer).

Exit flags (module constants; Choi's own code numbers in brackets):

==  =========================  ====================================================
0   :data:`FLAG_ZERO_RHS`       [0]  ``b = 0`` (or ``A b = 0`` at step 1): ``x = 0``
1   :data:`FLAG_RTOL`           [1]  compatible system solved: ``relres <= rtol``
2   :data:`FLAG_LS_RTOL`        [2]  incompatible system: ``relAres <= rtol`` (min-length LS solution)
3   :data:`FLAG_EPS`            [3]  as 1 with ``rtol = machine eps``
4   :data:`FLAG_LS_EPS`         [4]  as 2 with ``rtol = machine eps``
5   :data:`FLAG_XNORM`          [6]  ``||x||`` would exceed ``maxxnorm``
6   :data:`FLAG_ACOND`          [7]  ``Acond >= acondlim``
7   :data:`FLAG_MAXIT`          [8]  ``maxit`` iterations done
8   :data:`FLAG_SINGULAR`       [9]  system looks exactly singular, no LS convergence yet
9   :data:`FLAG_EIGENVECTOR`    [5]  ``Anorm ||x|| eps >= ||b||``: x converged to a null vector
10  :data:`FLAG_B_EIGENVECTOR`  [-1] ``beta_2 = 0``: ``b`` is an eigenvector, ``x = b / alpha_1`` exact
==  =========================  ====================================================

The whole iteration is one ``lax.while_loop`` with static shapes and no Python
control flow on traced values, so :func:`minres_qlp` works under ``jit`` and
``vmap`` (batched right-hand sides and/or batched operator parameters closed
over by ``matvec``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

FLAG_ZERO_RHS = 0
FLAG_RTOL = 1
FLAG_LS_RTOL = 2
FLAG_EPS = 3
FLAG_LS_EPS = 4
FLAG_XNORM = 5
FLAG_ACOND = 6
FLAG_MAXIT = 7
FLAG_SINGULAR = 8
FLAG_EIGENVECTOR = 9
FLAG_B_EIGENVECTOR = 10
_RUNNING = -2
_FORCED = -3  # internal: the forcing test passed (reported as FLAG_RTOL)

FLAG_NAMES = {
    FLAG_ZERO_RHS: "b = 0: x = 0 is the solution",
    FLAG_RTOL: "compatible system solved to rtol",
    FLAG_LS_RTOL: "min-length least-squares solution to rtol (incompatible system)",
    FLAG_EPS: "compatible system solved to machine precision",
    FLAG_LS_EPS: "min-length least-squares solution to machine precision",
    FLAG_XNORM: "||x|| reached maxxnorm",
    FLAG_ACOND: "Acond reached acondlim",
    FLAG_MAXIT: "iteration limit reached",
    FLAG_SINGULAR: "singular system, least-squares solution not yet converged",
    FLAG_EIGENVECTOR: "x converged to a null vector",
    FLAG_B_EIGENVECTOR: "b is an eigenvector: x = b / alpha_1",
}
#: Flags meaning "the returned x solves the (least-squares) problem to tolerance".
CONVERGED_FLAGS = (FLAG_ZERO_RHS, FLAG_RTOL, FLAG_LS_RTOL, FLAG_EPS, FLAG_LS_EPS, FLAG_B_EIGENVECTOR)

_EPS = float(jnp.finfo(jnp.float64).eps)
_TINY = float(jnp.finfo(jnp.float64).tiny)


class MinresQLPResult(NamedTuple):
    """Result of :func:`minres_qlp` (all scalars are 0-d JAX arrays).

    Attributes:
        x: the (minimum-length least-squares) solution.
        flag: exit flag, one of the ``FLAG_*`` constants.
        iters: Lanczos iterations (= matvecs) whose result is in ``x``; the
            matvecs actually spent are ``iters + 1`` after a roll-back (flags
            2, 4, 5, 6), see :attr:`matvecs`.
        matvecs: operator applications performed.
        rnorm: recurrence estimate of ``||b - (A - shift I) x||``.
        Arnorm: recurrence estimate of ``||(A - shift I) r||`` for the residual
            of ``x`` after a roll-back; otherwise for the previous iterate
            ``x_{k-1}`` (it is only available one iteration late).
        xnorm: recurrence estimate of ``||x||``.
        Anorm: Choi's running estimate of ``||A - shift I||_2`` (a lower bound:
            the max of ``|gamma|``, ``||T e_k||`` over the QLP/Lanczos quantities).
        Acond: Choi's running estimate of ``cond(A - shift I)`` on the Krylov space.
        relres: ``rnorm / (Anorm xnorm + ||b||)``.
        relAres: ``Arnorm / (Anorm rnorm')`` with ``rnorm'`` the residual norm
            of the iterate ``Arnorm`` refers to.
        Tfro: ``||T_{k+1,k}||_F = sqrt(sum alpha_i^2 + 2 sum_{i<=k} beta_i^2 + beta_{k+1}^2)
            = ||(A - shift I) V_k||_F``, a lower bound on ``||A - shift I||_F``
            (exact when the Krylov space is the whole space); the ``||H||_F``
            estimate Newton-MR uses in ``r`` and ``r_H``.
    """

    x: jax.Array
    flag: jax.Array
    iters: jax.Array
    matvecs: jax.Array
    rnorm: jax.Array
    Arnorm: jax.Array
    xnorm: jax.Array
    Anorm: jax.Array
    Acond: jax.Array
    relres: jax.Array
    relAres: jax.Array
    Tfro: jax.Array


def sym_ortho(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Stable reflection ``[c s; s -c] [a; b] = [r; 0]`` with ``r = ||(a, b)|| >= 0``.

    Choi's ``SymOrtho`` (Golub & Van Loan Alg. 5.1.3 variant), branch-free.
    ``(a, b) = (0, 0)`` gives ``c = 1, s = 0``.
    """
    absa, absb = jnp.abs(a), jnp.abs(b)
    sa, sb = jnp.sign(a), jnp.sign(b)
    b_safe = jnp.where(b == 0, 1.0, b)
    a_safe = jnp.where(a == 0, 1.0, a)
    # |b| > |a| (both nonzero)
    t1 = a / b_safe
    s1 = sb / jnp.sqrt(1.0 + t1 * t1)
    c1 = s1 * t1
    r1 = b / jnp.where(s1 == 0, 1.0, s1)
    # |a| >= |b| (both nonzero)
    t2 = b / a_safe
    c2 = sa / jnp.sqrt(1.0 + t2 * t2)
    s2 = c2 * t2
    r2 = a / jnp.where(c2 == 0, 1.0, c2)
    big_b = absb > absa
    c = jnp.where(big_b, c1, c2)
    s = jnp.where(big_b, s1, s2)
    r = jnp.where(big_b, r1, r2)
    # special cases
    c = jnp.where(b == 0, jnp.where(a == 0, 1.0, sa), jnp.where(a == 0, 0.0, c))
    s = jnp.where(b == 0, 0.0, jnp.where(a == 0, sb, s))
    r = jnp.where(b == 0, absa, jnp.where(a == 0, absb, r))
    return c, s, r


def _norm(*xs: jax.Array) -> jax.Array:
    # Scaled 2-norm of a few scalars (avoids overflow like MATLAB's norm).
    m = jnp.max(jnp.abs(jnp.stack(xs)))
    ms = jnp.where(m == 0, 1.0, m)
    return m * jnp.sqrt(sum((x / ms) ** 2 for x in xs))


def minres_qlp(
    matvec: Callable[[jax.Array], jax.Array],
    b: jax.Array,
    *,
    shift: float | jax.Array = 0.0,
    rtol: float | jax.Array = 1e-10,
    maxit: int | jax.Array | None = None,
    maxxnorm: float | jax.Array = 1e4,
    acondlim: float | jax.Array = 1e7,
    trancond: float | jax.Array = 1e4,
    forcing: float | jax.Array = 0.0,
) -> MinresQLPResult:
    """Minimum-length solution of ``(A - shift I) x = b`` (Choi, Paige & Saunders 2011).

    Args:
        matvec: ``v -> A v`` for a symmetric ``A`` (e.g. a Hessian-vector product).
        b: right-hand side, shape ``(n,)``.
        shift: solve with ``A - shift I``.
        rtol: tolerance of the two relative-residual tests (see the module docstring).
        maxit: iteration limit (default ``n``).  May be traced.
        maxxnorm: bound on ``||x||`` (flag :data:`FLAG_XNORM`).
        acondlim: bound on the condition estimate (flag :data:`FLAG_ACOND`).
        trancond: MINRES updates while ``Acond < trancond``, QLP updates after
            (``1`` = QLP from the start; ``>= acondlim`` = plain MINRES).
        forcing: also stop (flag :data:`FLAG_RTOL`, returning ``x_{k-1}``) once
            ``||A r_{k-1}|| <= forcing ||A b||`` (the inexactness condition of
            Newton-MR, Roosta et al.; ``0`` turns the test off, Choi's code).

    Returns:
        :class:`MinresQLPResult`.
    """
    b = jnp.asarray(b, dtype=jnp.float64)
    n = b.shape[0]
    f64 = lambda v: jnp.asarray(v, dtype=jnp.float64)  # noqa: E731
    shift, rtol, maxxnorm, acondlim, trancond, forcing = map(f64, (shift, rtol, maxxnorm, acondlim, trancond, forcing))
    maxit = jnp.asarray(n if maxit is None else maxit, dtype=jnp.int64)

    def op(v: jax.Array) -> jax.Array:
        return jnp.asarray(matvec(v), dtype=jnp.float64) - shift * v

    beta1 = jnp.linalg.norm(b)
    zero = jnp.zeros((), jnp.float64)
    zv = jnp.zeros_like(b)
    s0 = dict(
        iters=jnp.int64(0), qlpiter=jnp.int64(0), matvecs=jnp.int64(0),
        flag=jnp.where(beta1 == 0, FLAG_ZERO_RHS, _RUNNING).astype(jnp.int64),
        beta=zero, betan=beta1, tau=zero, taul=zero, phi=beta1,
        cs=f64(-1.0), sn=zero, cr1=f64(-1.0), sr1=zero, cr2=f64(-1.0), sr2=zero,
        dltan=zero, eplnn=zero, gama=zero, gamal=zero, gamal2=zero,
        eta=zero, etal=zero, etal2=zero, vepln=zero, veplnl=zero, veplnl2=zero,
        ul3=zero, ul2=zero, ul=zero, u=zero,
        rnorm=beta1, xnorm=zero, xl2norm=zero, Axnorm=zero, Anorm=zero, Acond=f64(1.0),
        relres=beta1 / (beta1 + 1e-50), relresl=zero, relAresl=zero, Arnorml=zero,
        gmin=zero, gminl=zero,
        gama_QLP=zero, gamal_QLP=zero, vepln_QLP=zero, u_QLP=zero, ul_QLP=zero,
        tsum=zero, tfro=zero, Abnorm=zero,
        x=zv, xl2=zv, w=zv, wl=zv, wl2=zv, r1=zv, r2=b, r3=b,
    )

    def cond(s):
        return (s["flag"] == _RUNNING) & (s["iters"] < maxit)

    def body(s):
        k = s["iters"] + 1
        # ---- Lanczos step
        betal = s["beta"]
        beta = s["betan"]
        v = s["r3"] / beta
        r3 = op(v)
        r3 = r3 - jnp.where(k > 1, beta / jnp.where(betal == 0, 1.0, betal), 0.0) * s["r1"]
        alfa = jnp.vdot(r3, v)
        r3 = r3 - (alfa / beta) * s["r2"]
        r1, r2 = s["r2"], r3
        betan = jnp.linalg.norm(r3)
        special = (k == 1) & (betan == 0)  # beta_2 = 0: b is an eigenvector of A
        pnorm = jnp.where(k <= 2, _norm(alfa, betan), _norm(betal, alfa, betan))
        tsum = s["tsum"] + alfa**2 + jnp.where(k > 1, 2.0 * beta**2, 0.0)
        tfro = jnp.sqrt(tsum + betan**2)

        # ---- previous left reflection Q_{k-1}
        cs, sn = s["cs"], s["sn"]
        dbar = s["dltan"]
        dlta = cs * dbar + sn * alfa
        epln = s["eplnn"]
        gbar = sn * dbar - cs * alfa
        eplnn = sn * betan
        dltan = -cs * betan
        dlta_QLP = dlta
        # ---- current left reflection Q_k
        gamal3 = s["gamal2"]
        gamal2 = s["gamal"]
        gamal = s["gama"]
        cs, sn, gama = sym_ortho(gbar, betan)
        gama_tmp = gama
        taul2 = s["taul"]
        taul = s["tau"]
        tau = cs * s["phi"]
        Axnorm = _norm(s["Axnorm"], tau)
        phi = sn * s["phi"]
        # ---- previous right reflection P_{k-2,k}
        gt2 = k > 2
        cr2, sr2 = s["cr2"], s["sr2"]
        veplnl2 = jnp.where(gt2, s["veplnl"], s["veplnl2"])
        etal2 = jnp.where(gt2, s["etal"], s["etal2"])
        etal = jnp.where(gt2, s["eta"], s["etal"])
        veplnl = jnp.where(gt2, cr2 * s["vepln"] + sr2 * dlta, s["veplnl"])
        dlta = jnp.where(gt2, sr2 * s["vepln"] - cr2 * dlta, dlta)
        eta = jnp.where(gt2, sr2 * gama, s["eta"])
        gama = jnp.where(gt2, -cr2 * gama, gama)
        # ---- current right reflection P_{k-1,k}
        gt1 = k > 1
        c_, s_, r_ = sym_ortho(gamal, dlta)
        cr1 = jnp.where(gt1, c_, s["cr1"])
        sr1 = jnp.where(gt1, s_, s["sr1"])
        gamal = jnp.where(gt1, r_, gamal)
        vepln = jnp.where(gt1, sr1 * gama, s["vepln"])
        gama = jnp.where(gt1, -cr1 * gama, gama)

        # ---- xnorm and the new solution coordinates u
        ul4 = s["ul3"]
        ul3 = s["ul2"]
        ul2 = jnp.where(gt2, (taul2 - etal2 * ul4 - veplnl2 * ul3) / jnp.where(gamal2 == 0, 1.0, gamal2), s["ul2"])
        ul = jnp.where(gt1, (taul - etal * ul3 - veplnl * ul2) / jnp.where(gamal == 0, 1.0, gamal), s["ul"])
        xnorm_tmp = _norm(s["xl2norm"], ul2, ul)
        likeLS = s["relresl"] >= s["relAresl"]
        # Numerical rank: the last diagonal gamma_k of L_k estimates the smallest
        # singular value of T_k; below Anorm / acondlim it is treated as zero
        # (u_k = 0 gives the min-length solution that ignores it, like pinv with
        # rcond = 1 / acondlim) and the iteration ends (see ``singular_exit``).
        num = tau - eta * ul2 - vepln * ul
        anorm_k = jnp.maximum(s["Anorm"], pnorm)
        singular = (jnp.abs(gama) <= _TINY) | (jnp.abs(gama) * acondlim <= anorm_k)
        ok = ~singular & (xnorm_tmp < maxxnorm)
        u_c = num / jnp.where(ok, gama, 1.0)
        too_big = likeLS & (_norm(xnorm_tmp, u_c) > maxxnorm)
        u_taken = ok & ~too_big
        u = jnp.where(u_taken, u_c, 0.0)
        flag = jnp.where(ok, jnp.where(too_big, FLAG_XNORM, s["flag"]), FLAG_SINGULAR).astype(jnp.int64)
        xl2norm = _norm(s["xl2norm"], ul2)
        xnorm = _norm(xl2norm, ul, u)

        # ---- update w and x: MINRES while well conditioned ...
        use_minres = (s["Acond"] < trancond) & (flag == _RUNNING) & (s["qlpiter"] == 0)
        w_m = (v - epln * s["wl"] - dlta_QLP * s["w"]) / jnp.where(gama_tmp == 0, 1.0, gama_tmp)
        fits = xnorm < maxxnorm
        x_m = jnp.where(fits, s["x"] + tau * w_m, s["x"])
        flag_m = jnp.where(fits, flag, FLAG_XNORM)
        wl2_m, wl_m = s["wl"], s["w"]
        # ... then MINRES-QLP (first QLP step rebuilds w_{k-3}, w_{k-2}, w_{k-1} and xl2)
        qlpiter_q = s["qlpiter"] + 1
        first = qlpiter_q == 1
        wl2, wl, w, x = s["wl2"], s["wl"], s["w"], s["x"]
        wl2_t = jnp.where(k > 3, gamal3 * wl2 + veplnl2 * wl + etal * w, wl2)
        wl_t = jnp.where(k > 2, s["gamal_QLP"] * wl + s["vepln_QLP"] * w, wl)
        w_t = s["gama_QLP"] * w
        xl2_t = x - wl_t * s["ul_QLP"] - w_t * s["u_QLP"]
        rebuild = first & gt1
        wl2 = jnp.where(rebuild, wl2_t, wl2)
        wl = jnp.where(rebuild, wl_t, wl)
        w = jnp.where(rebuild, w_t, w)
        xl2 = jnp.where(first, jnp.where(gt1, xl2_t, zv), s["xl2"])
        # k == 1
        a_wl2, a_wl, a_w = wl, v * sr1, -v * cr1
        # k == 2
        b_wl2, b_wl, b_w = wl, w * cr1 + v * sr1, w * sr1 - v * cr1
        # k >= 3
        c_wn = wl * sr2 - v * cr2
        c_wl2 = wl * cr2 + v * sr2
        c_wl = w * cr1 + c_wn * sr1
        c_w = w * sr1 - c_wn * cr1
        sel = lambda a, b_, c: jnp.where(k == 1, a, jnp.where(k == 2, b_, c))  # noqa: E731
        wl2_q, wl_q, w_q = sel(a_wl2, b_wl2, c_wl2), sel(a_wl, b_wl, c_wl), sel(a_w, b_w, c_w)
        xl2_q = xl2 + wl2_q * ul2
        x_q = xl2_q + wl_q * ul + w_q * u

        x_new = jnp.where(use_minres, x_m, x_q)
        wl2 = jnp.where(use_minres, wl2_m, wl2_q)
        wl = jnp.where(use_minres, wl_m, wl_q)
        w = jnp.where(use_minres, w_m, w_q)
        xl2 = jnp.where(use_minres, s["xl2"], xl2_q)
        flag = jnp.where(use_minres, flag_m, flag)
        qlpiter = jnp.where(use_minres, s["qlpiter"], qlpiter_q)

        # ---- next right reflection P_{k-1,k+1}
        gamal_tmp = gamal
        cr2, sr2, gamal = sym_ortho(gamal, eplnn)

        # ---- norm estimates
        abs_gama = jnp.abs(gama)
        Anorm = jnp.maximum(jnp.maximum(s["Anorm"], gamal), jnp.maximum(abs_gama, pnorm))
        gminl = jnp.where(k == 1, gama, s["gmin"])
        gmin = jnp.where(k == 1, gama, jnp.minimum(jnp.minimum(s["gminl"], gamal), abs_gama))
        Acondl = s["Acond"]
        Acond = Anorm / gmin
        rnorml = s["rnorm"]
        relresl = s["relres"]
        # ---- u_k not taken: gamma_k numerically zero (``singular``), u_k refused by
        # the x-norm limit (QLP: ``too_big``; MINRES: ``~fits``), or (below) the
        # least-squares exit.  Candidate: the QLP iterate with u_k = 0, which leaves
        # out the near-null direction the last pivot found (Choi et al. 2011, Sec. 3;
        # pinv-like truncation).  The k-th equation of L_k u = t is then unmet, so
        # its residual is ||(phi_k, num)||, and at a loose rtol (gamma_k an ordinary
        # pivot) that can exceed ||b||: such an x is worse than x = 0 and, in
        # Newton-MR, not a descent direction for ||b - A x||^2 (a residual <= ||b||
        # gives 2 b^T A x >= ||A x||^2 >= 0).  Then end on x_{k-1} instead, the
        # MINRES(-QLP) iterate (||r_{k-1}|| <= ||b||).  Each of these cases ends
        # the loop, so the choice is final.
        x_drop = xl2_q + wl_q * ul
        rn_drop = _norm(phi, num)
        xn_drop = _norm(xl2norm, ul)
        drop_ok = (rn_drop <= beta1) & (xn_drop < maxxnorm)
        x_pick = jnp.where(drop_ok, x_drop, s["x"])
        xn_pick = jnp.where(drop_ok, xn_drop, s["xnorm"])
        rn_pick = jnp.where(drop_ok, rn_drop, rnorml)
        dropped = (~u_taken & ~use_minres) | (use_minres & ~fits)
        x_new = jnp.where(dropped, x_pick, x_new)
        xnorm = jnp.where(dropped, xn_pick, xnorm)
        rnorm = jnp.where(dropped, rn_pick, phi)
        relres = rnorm / (Anorm * xnorm + beta1)
        rootl = _norm(gbar, dltan)
        Arnorml = rnorml * rootl
        # ||A b|| = beta_1 ||A v_1|| = beta_1 ||(alpha_1, beta_2)|| (Lanczos, step 1).
        Abnorm = jnp.where(k == 1, beta1 * pnorm, s["Abnorm"])
        relAresl = rootl / Anorm

        # ---- stopping tests (later tests take precedence, as in Choi's code).  The
        # flags set above while forming u are provisional: SINGULAR yields to any
        # test (Choi), XNORM (with u = 0, i.e. the null direction refused) yields
        # to the convergence tests 1-4.
        epsx = Anorm * xnorm * _EPS
        chk = flag
        for test, code in (
            (k >= maxit, FLAG_MAXIT),
            (Acond >= acondlim, FLAG_ACOND),
            (xnorm >= maxxnorm, FLAG_XNORM),
            (epsx >= beta1, FLAG_EIGENVECTOR),
            ((k > 1) & (Arnorml <= forcing * Abnorm), _FORCED),
            (1.0 + relAresl <= 1.0, FLAG_LS_EPS),
            (1.0 + relres <= 1.0, FLAG_EPS),
            (relAresl <= rtol, FLAG_LS_RTOL),
            (relres <= rtol, FLAG_RTOL),
        ):
            chk = jnp.where(test, code, chk)
        converged = (chk == FLAG_RTOL) | (chk == FLAG_LS_RTOL) | (chk == FLAG_EPS) | (chk == FLAG_LS_EPS) | (chk == _FORCED)
        flag = jnp.where(
            (flag == _RUNNING) | (flag == FLAG_SINGULAR) | ((flag == FLAG_XNORM) & converged), chk, flag
        ).astype(jnp.int64)

        # ---- least-squares exit: the test certified that the residual of x_{k-1} lies
        # (numerically) in ker A.  When the last diagonal gamma_k of L_k is also a
        # numerical zero singular value, the minimum-length solution takes u_k = 0
        # (Choi et al. 2011, Sec. 3): the QLP iterate with u_k = 0 (also when still in
        # MINRES mode; the QLP branch above already rebuilt the QLP quantities).
        ls_exit = (flag == FLAG_LS_RTOL) | (flag == FLAG_LS_EPS)
        # The LS test certifies x_{k-1}'s residual: pick as for a dropped u_k above.
        # The forcing test certified x_{k-1} too (||A r|| is known one step late):
        # return that iterate.
        forced = flag == _FORCED
        x_new = jnp.where(ls_exit, x_pick, jnp.where(forced, s["x"], x_new))
        xnorm = jnp.where(ls_exit, xn_pick, jnp.where(forced, s["xnorm"], xnorm))
        rnorm = jnp.where(ls_exit, rn_pick, jnp.where(forced, rnorml, rnorm))
        flag = jnp.where(forced, FLAG_RTOL, flag).astype(jnp.int64)
        # Choi's "possibly singular" exits report the counters of iteration k-1.
        rollback = forced | ls_exit | (flag == FLAG_ACOND) | ((flag == FLAG_XNORM) & likeLS)
        out = dict(
            iters=jnp.where(rollback, k - 1, k), qlpiter=qlpiter, matvecs=s["matvecs"] + 1, flag=flag,
            beta=beta, betan=betan, tau=tau, taul=taul, phi=phi,
            cs=cs, sn=sn, cr1=cr1, sr1=sr1, cr2=cr2, sr2=sr2,
            dltan=dltan, eplnn=eplnn, gama=gama, gamal=gamal, gamal2=gamal2,
            eta=eta, etal=etal, etal2=etal2, vepln=vepln, veplnl=veplnl, veplnl2=veplnl2,
            ul3=ul3, ul2=ul2, ul=ul, u=u,
            rnorm=rnorm,
            xnorm=xnorm,
            xl2norm=xl2norm, Axnorm=Axnorm, Anorm=Anorm,
            Acond=jnp.where(rollback, Acondl, Acond),
            relres=jnp.where(rollback, relresl, relres), relresl=relresl, relAresl=relAresl, Arnorml=Arnorml,
            gmin=gmin, gminl=gminl,
            gama_QLP=gama, gamal_QLP=gamal_tmp, vepln_QLP=vepln, u_QLP=u, ul_QLP=ul,
            tsum=tsum, tfro=tfro, Abnorm=Abnorm,
            x=x_new, xl2=xl2, w=w, wl=wl, wl2=wl2,
            r1=r1, r2=r2, r3=r3,
        )
        # ---- singular_exit: T_k numerically singular.  x_k (QLP, u_k = 0) is the
        # min-length least-squares solution on the Krylov space; its residual norm is
        # ||(phi_k, tau_k - eta_k u_{k-2} - vepln_k u_{k-1})|| and, by the Lanczos
        # relation, ||A r|| <= beta_{k+1} ||r||, so relAres <= beta_{k+1} / Anorm: small
        # exactly when the Krylov space is exhausted (an incompatible system).
        # ``iters`` counts this step: it is the one that made x_k minimum-length.
        rn_s, xn_s = rn_pick, xn_pick  # x_k(u_k = 0), or x_{k-1} if that is worse than 0
        relres_s = rn_s / (Anorm * xn_s + beta1)
        # The lagged test on x_{k-1} (same least-squares residual) is the sharper one
        # once the LS solution was reached a step earlier.
        relAres_s = jnp.minimum(betan / Anorm, relAresl)
        Arnorm_s = jnp.minimum(betan * rn_s, Arnorml)
        flag_s = jnp.where(
            relres_s <= rtol,
            FLAG_RTOL,
            jnp.where(relAres_s <= rtol, FLAG_LS_RTOL, jnp.where(1.0 + relAres_s <= 1.0, FLAG_LS_EPS, FLAG_ACOND)),
        )
        sg = dict(out)
        sg.update(
            iters=k, flag=flag_s.astype(jnp.int64), x=x_pick, xnorm=xn_s, rnorm=rn_s, relres=relres_s,
            Arnorml=Arnorm_s, relAresl=relAres_s,
        )
        sing_exit = singular & ~use_minres & (s["flag"] == _RUNNING) & (xnorm_tmp < maxxnorm)
        out = jax.tree_util.tree_map(lambda a, c: jnp.where(sing_exit, a, c), sg, out)

        # ---- beta_2 = 0 at step 1: exact answer, stop
        alfa_safe = jnp.where(alfa == 0, 1.0, alfa)
        sp = dict(out)
        sp.update(
            iters=k, flag=jnp.where(alfa == 0, FLAG_ZERO_RHS, FLAG_B_EIGENVECTOR).astype(jnp.int64),
            x=jnp.where(alfa == 0, zv, b / alfa_safe), rnorm=zero, Arnorml=zero, relAresl=zero, relres=zero,
            xnorm=jnp.where(alfa == 0, 0.0, beta1 / jnp.abs(alfa_safe)), Anorm=jnp.abs(alfa), Acond=f64(1.0),
        )
        return jax.tree_util.tree_map(lambda a, c: jnp.where(special, a, c), sp, out)

    s = jax.lax.while_loop(cond, body, s0)
    flag = jnp.where(s["flag"] == _RUNNING, FLAG_MAXIT, s["flag"])
    return MinresQLPResult(
        x=s["x"],
        flag=flag,
        iters=s["iters"],
        matvecs=s["matvecs"],
        rnorm=s["rnorm"],
        Arnorm=s["Arnorml"],
        xnorm=s["xnorm"],
        Anorm=s["Anorm"],
        Acond=s["Acond"],
        relres=s["relres"],
        relAres=s["relAresl"],
        Tfro=s["tfro"],
    )


def check_minres_options(rtol: float, maxxnorm: float, acondlim: float, trancond: float) -> None:
    """Validate the MINRES-QLP options a Newton-type solver passes through.

    Raises:
        SolverOptionError: naming the first invalid option (``0 < rtol < 1``;
            ``maxxnorm > 0``; ``acondlim >= 1``; ``trancond >= 1``).
    """
    from ._base import SolverOptionError, check_open_unit, check_positive

    check_open_unit("rtol", rtol)
    check_positive("maxxnorm", maxxnorm)
    check_positive("acondlim", acondlim)
    check_positive("trancond", trancond)
    if acondlim < 1:
        raise SolverOptionError(f"option 'acondlim' must be >= 1, got {acondlim!r}")
    if trancond < 1:
        raise SolverOptionError(f"option 'trancond' must be >= 1, got {trancond!r}")
