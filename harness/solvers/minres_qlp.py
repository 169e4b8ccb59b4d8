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

Code layout: the loop carry :class:`_State` is made of named sub-states
(:class:`_Lanczos`, :class:`_Left`, :class:`_LFactor`, :class:`_Coords`,
:class:`_QLPSnapshot`, :class:`_Vectors`, :class:`_Estimates`), and one iteration
(:func:`_step`) is a sequence of small pure functions, one per stage of Choi et
al.'s Algorithm 1: :func:`_lanczos_step`, :func:`_previous_left_reflection`,
:func:`_new_left_reflection`, :func:`_right_reflections`,
:func:`_solution_coordinates`, :func:`_update_solution`,
:func:`_next_right_reflection`, :func:`_norm_estimates`, :func:`_stopping_tests`;
:func:`_candidates` lists the iterates a step can return and
:func:`_choose_iterate` is the one place that picks among them.
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


# ---------------------------------------------------------------------------
# Named sub-states of the iteration (the ``lax.while_loop`` carry is a
# :class:`_State` of these).  Names follow Choi's MATLAB code ``minresQLP.m``
# (Choi, Paige & Saunders 2011, Table 5.1 / Algorithm 1): a trailing ``l``
# means "previous iterate" (``gamal = gamma_{k-1}``), ``l2`` two back, ``n`` next.
# ---------------------------------------------------------------------------


class _Options(NamedTuple):
    """Solver options as float64 / int64 arrays (may be traced), plus ``beta1 = ||b||``."""

    rtol: jax.Array
    maxit: jax.Array
    maxxnorm: jax.Array
    acondlim: jax.Array
    trancond: jax.Array
    forcing: jax.Array
    beta1: jax.Array


class _Lanczos(NamedTuple):
    """Lanczos three-term recurrence ``beta_{k+1} v_{k+1} = (A - shift I) v_k - alpha_k v_k - beta_k v_{k-1}``.

    ``r2 = beta_k v_k`` and ``r1 = beta_{k-1} v_{k-1}`` (unnormalised), ``r3`` the
    newest unnormalised vector ``beta_{k+1} v_{k+1}``; ``beta = beta_k``,
    ``betan = beta_{k+1}``; ``tsum = sum alpha_i^2 + 2 sum_{i<=k} beta_i^2`` and
    ``tfro = ||T_{k+1,k}||_F``.
    """

    r1: jax.Array
    r2: jax.Array
    r3: jax.Array
    beta: jax.Array
    betan: jax.Array
    tsum: jax.Array
    tfro: jax.Array


class _LanczosStep(NamedTuple):
    """Column ``k`` of ``T_{k+1,k}``: ``(beta_k, alpha_k, beta_{k+1})``, the new ``v_k`` and ``||T e_k||``."""

    v: jax.Array
    alfa: jax.Array
    betal: jax.Array
    beta: jax.Array
    betan: jax.Array
    pnorm: jax.Array


class _Left(NamedTuple):
    """Left reflections ``Q_k`` (QR of ``T_{k+1,k}``) and the transformed right-hand side.

    ``(cs, sn)`` is the last reflection ``Q_{k,k+1}``; ``dltan`` (``delta^(2)_{k+1}``
    before rotation) and ``eplnn`` (``epsilon_{k+1}``) are the parts of column ``k+1``
    of ``R`` it already produced; ``Q_k beta_1 e_1 = (tau_1, ..., tau_k, phi_k)`` with
    ``phi_k = ||r_k||`` the MINRES residual norm; ``Axnorm = ||(tau_1..tau_k)||``.
    """

    cs: jax.Array
    sn: jax.Array
    dltan: jax.Array
    eplnn: jax.Array
    tau: jax.Array
    taul: jax.Array
    phi: jax.Array
    Axnorm: jax.Array


class _PrevLeft(NamedTuple):
    """Column ``k`` of ``R_k`` after the previous left reflection ``Q_{k-1,k}``."""

    dlta: jax.Array  # delta^(2)_k
    epln: jax.Array  # epsilon_k
    gbar: jax.Array  # gamma^(1)_k (not yet reduced by Q_{k,k+1})
    dltan: jax.Array
    eplnn: jax.Array


class _NewLeft(NamedTuple):
    """The new left reflection ``Q_{k,k+1}``: ``gamma^(2)_k`` and ``tau_k``, ``tau_{k-1}``, ``tau_{k-2}``."""

    left: _Left
    gama: jax.Array
    taul2: jax.Array


class _LFactor(NamedTuple):
    """Right reflections ``P_k`` and the last three rows of ``L_k`` (``Q_k T_k P_k = L_k``).

    Row ``k`` of ``L_k`` is ``(eta_k, vepln_k, gama_k)`` in columns ``k-2, k-1, k``
    (Choi et al. 2011, Eq. (3.5)); ``l`` / ``l2`` suffixes are rows ``k-1`` / ``k-2``.
    ``(cr1, sr1)`` is ``P_{k-1,k}``; ``(cr2, sr2)`` is ``P_{k-1,k+1}`` (the one
    applied to column ``k+1`` as ``P_{k-2,k}`` of the next step).
    """

    cr1: jax.Array
    sr1: jax.Array
    cr2: jax.Array
    sr2: jax.Array
    gama: jax.Array
    gamal: jax.Array
    gamal2: jax.Array
    eta: jax.Array
    etal: jax.Array
    etal2: jax.Array
    vepln: jax.Array
    veplnl: jax.Array
    veplnl2: jax.Array


class _Coords(NamedTuple):
    """Last components of ``u_k`` solving ``L_k u_k = Q_k beta_1 e_1`` and ``||u_{1..k-2}||``."""

    ul3: jax.Array
    ul2: jax.Array
    ul: jax.Array
    u: jax.Array
    xl2norm: jax.Array


class _QLPSnapshot(NamedTuple):
    """Entries of ``L_k`` and ``u_k`` kept so the first QLP step can rebuild ``W_k`` from MINRES's ``w``."""

    gama_QLP: jax.Array
    gamal_QLP: jax.Array
    vepln_QLP: jax.Array
    u_QLP: jax.Array
    ul_QLP: jax.Array


class _Vectors(NamedTuple):
    """The iterate ``x_k`` and search directions: MINRES ``w_k`` (``W_k = V_k R_k^{-1}``) or
    QLP ``w_k`` (``W_k = V_k P_k``, last three columns), ``xl2 = x_{k-2}`` part of the QLP
    sum, ``qlpiter`` QLP steps taken (``0`` = still in MINRES mode)."""

    x: jax.Array
    xl2: jax.Array
    w: jax.Array
    wl: jax.Array
    wl2: jax.Array
    qlpiter: jax.Array


class _Estimates(NamedTuple):
    """Norm and condition estimates (Choi et al. 2011, Sec. 5.2) of the current iterate.

    ``rnorm = ||r_k||``, ``xnorm = ||x_k||``, ``Anorm`` and ``Acond`` (``Anorm / gmin``
    with ``gmin = min |gamma_i|``), ``relres`` of ``x_k``; ``relresl``, ``relAresl``,
    ``Arnorml = ||A r_{k-1}||`` of ``x_{k-1}`` (one step late); ``Abnorm = ||A b||``.
    """

    rnorm: jax.Array
    xnorm: jax.Array
    Anorm: jax.Array
    Acond: jax.Array
    relres: jax.Array
    relresl: jax.Array
    relAresl: jax.Array
    Arnorml: jax.Array
    gmin: jax.Array
    gminl: jax.Array
    Abnorm: jax.Array


class _State(NamedTuple):
    """The ``lax.while_loop`` carry."""

    iters: jax.Array
    matvecs: jax.Array
    flag: jax.Array
    lanczos: _Lanczos
    left: _Left
    lfac: _LFactor
    coords: _Coords
    qlp: _QLPSnapshot
    vec: _Vectors
    est: _Estimates


class _NewCoords(NamedTuple):
    """Stage 5 output: new ``u`` components, ``||x_k||`` and the provisional flag."""

    coords: _Coords
    num: jax.Array  # right-hand side of row k: tau_k - eta_k u_{k-2} - vepln_k u_{k-1}
    xnorm_tmp: jax.Array  # ||x_k|| without u_k
    likeLS: jax.Array
    singular: jax.Array
    u_taken: jax.Array
    xnorm: jax.Array
    flag: jax.Array


class _Update(NamedTuple):
    """Stage 6 output: the updated iterate and directions, and the truncated QLP parts."""

    vec: _Vectors
    flag: jax.Array
    use_minres: jax.Array
    fits: jax.Array
    xl2_q: jax.Array
    wl_q: jax.Array


class _Iterate(NamedTuple):
    """An iterate with its norm and its residual norm estimate."""

    x: jax.Array
    xnorm: jax.Array
    rnorm: jax.Array


class _Candidates(NamedTuple):
    """The iterates one step can return (see :func:`_choose_iterate`)."""

    current: _Iterate  # x_k from the MINRES or QLP update
    truncated: _Iterate  # x_k with u_k = 0, or x_{k-1} if that is worse than x = 0
    previous: _Iterate  # x_{k-1}
    eigen: _Iterate  # x = b / alpha_1 (beta_2 = 0), or 0 if alpha_1 = 0


def _initial_state(b: jax.Array, beta1: jax.Array) -> _State:
    """State before iteration 1 (Choi's initialisation: ``r2 = r3 = b``, ``phi_0 = beta_1``, ``c = -1``)."""
    zero = jnp.zeros((), jnp.float64)
    one = jnp.asarray(1.0, dtype=jnp.float64)
    zv = jnp.zeros_like(b)
    return _State(
        iters=jnp.int64(0),
        matvecs=jnp.int64(0),
        flag=jnp.where(beta1 == 0, FLAG_ZERO_RHS, _RUNNING).astype(jnp.int64),
        lanczos=_Lanczos(r1=zv, r2=b, r3=b, beta=zero, betan=beta1, tsum=zero, tfro=zero),
        left=_Left(cs=-one, sn=zero, dltan=zero, eplnn=zero, tau=zero, taul=zero, phi=beta1, Axnorm=zero),
        lfac=_LFactor(
            cr1=-one, sr1=zero, cr2=-one, sr2=zero, gama=zero, gamal=zero, gamal2=zero,
            eta=zero, etal=zero, etal2=zero, vepln=zero, veplnl=zero, veplnl2=zero,
        ),
        coords=_Coords(ul3=zero, ul2=zero, ul=zero, u=zero, xl2norm=zero),
        qlp=_QLPSnapshot(gama_QLP=zero, gamal_QLP=zero, vepln_QLP=zero, u_QLP=zero, ul_QLP=zero),
        vec=_Vectors(x=zv, xl2=zv, w=zv, wl=zv, wl2=zv, qlpiter=jnp.int64(0)),
        est=_Estimates(
            rnorm=beta1, xnorm=zero, Anorm=zero, Acond=one, relres=beta1 / (beta1 + 1e-50),
            relresl=zero, relAresl=zero, Arnorml=zero, gmin=zero, gminl=zero, Abnorm=zero,
        ),
    )


def _lanczos_step(op: Callable[[jax.Array], jax.Array], lz: _Lanczos, k: jax.Array) -> tuple[_Lanczos, _LanczosStep]:
    """Lanczos step ``k`` (Choi et al. 2011, Algorithm 1, lines 4-8): one matvec.

    ``v_k = r3 / beta_k``; ``p = (A - shift I) v_k - (beta_k / beta_{k-1}) r1``;
    ``alpha_k = v_k^T p``; ``r3' = p - (alpha_k / beta_k) r2 = beta_{k+1} v_{k+1}``;
    ``beta_{k+1} = ||r3'||``.  Also ``pnorm = ||T e_k|| = ||(beta_k, alpha_k, beta_{k+1})||``
    (from step 3 on; ``||(alpha_k, beta_{k+1})||`` before) and the Frobenius sum of ``T``.
    """
    betal = lz.beta
    beta = lz.betan
    v = lz.r3 / beta
    r3 = op(v)
    r3 = r3 - jnp.where(k > 1, beta / jnp.where(betal == 0, 1.0, betal), 0.0) * lz.r1
    alfa = jnp.vdot(r3, v)
    r3 = r3 - (alfa / beta) * lz.r2
    betan = jnp.linalg.norm(r3)
    pnorm = jnp.where(k <= 2, _norm(alfa, betan), _norm(betal, alfa, betan))
    tsum = lz.tsum + alfa**2 + jnp.where(k > 1, 2.0 * beta**2, 0.0)
    tfro = jnp.sqrt(tsum + betan**2)
    new = _Lanczos(r1=lz.r2, r2=r3, r3=r3, beta=beta, betan=betan, tsum=tsum, tfro=tfro)
    return new, _LanczosStep(v=v, alfa=alfa, betal=betal, beta=beta, betan=betan, pnorm=pnorm)


def _previous_left_reflection(left: _Left, step: _LanczosStep) -> _PrevLeft:
    """Apply ``Q_{k-1,k} = [c s; s -c]`` to column ``k`` of ``T`` (Choi et al. 2011, Eq. (3.3)).

    ``[delta^(2)_k, epsilon_{k+1}; gamma^(1)_k, delta^(1)_{k+1}]
    = [c s; s -c] [delta^(1)_k, 0; alpha_k, beta_{k+1}]``.
    """
    cs, sn = left.cs, left.sn
    dbar = left.dltan
    return _PrevLeft(
        dlta=cs * dbar + sn * step.alfa,
        epln=left.eplnn,
        gbar=sn * dbar - cs * step.alfa,
        eplnn=sn * step.betan,
        dltan=-cs * step.betan,
    )


def _new_left_reflection(left: _Left, pl: _PrevLeft, betan: jax.Array) -> _NewLeft:
    """New left reflection ``Q_{k,k+1}`` annihilating ``beta_{k+1}`` (Choi et al. 2011, Eq. (3.3)-(3.4)).

    ``(c_k, s_k, gamma^(2)_k) = SymOrtho(gamma^(1)_k, beta_{k+1})``; applied to the
    right-hand side: ``tau_k = c_k phi_{k-1}``, ``phi_k = s_k phi_{k-1}`` (``= ||r_k||``).
    """
    cs, sn, gama = sym_ortho(pl.gbar, betan)
    tau = cs * left.phi
    new = _Left(
        cs=cs, sn=sn, dltan=pl.dltan, eplnn=pl.eplnn, tau=tau, taul=left.tau,
        phi=sn * left.phi, Axnorm=_norm(left.Axnorm, tau),
    )
    return _NewLeft(left=new, gama=gama, taul2=left.taul)


def _right_reflections(lf: _LFactor, dlta: jax.Array, gama: jax.Array, k: jax.Array) -> tuple[_LFactor, jax.Array]:
    """Right reflections ``P_{k-2,k}`` (from step 3) and ``P_{k-1,k}`` (from step 2) on row ``k``.

    Choi et al. 2011, Eq. (3.5)-(3.6): ``P_{k-2,k} = [c2 s2; s2 -c2]`` (computed at the end
    of step ``k-1``) turns ``(vepln_{k-1}, delta^(2)_k)`` into ``(vepln'_{k-1}, delta^(3)_k)``
    and makes ``eta_k = s2 gamma^(2)_k``, ``gamma^(3)_k = -c2 gamma^(2)_k``; then
    ``(c1, s1, gamma^(5)_{k-1}) = SymOrtho(gamma^(4)_{k-1}, delta^(3)_k)``,
    ``vepln_k = s1 gamma^(3)_k``, ``gamma^(4)_k = -c1 gamma^(3)_k``.  Row indices shift by one
    first (``gamal2 <- gamal <- gama``).  Returns the new factor entries (``cr2, sr2`` still
    the old ones) and ``gamma_{k-3}`` (``gamal3``), needed to rebuild ``w`` on the first QLP step.
    """
    gamal3 = lf.gamal2
    gamal2 = lf.gamal
    gamal = lf.gama
    gt2 = k > 2
    cr2, sr2 = lf.cr2, lf.sr2
    veplnl2 = jnp.where(gt2, lf.veplnl, lf.veplnl2)
    etal2 = jnp.where(gt2, lf.etal, lf.etal2)
    etal = jnp.where(gt2, lf.eta, lf.etal)
    veplnl = jnp.where(gt2, cr2 * lf.vepln + sr2 * dlta, lf.veplnl)
    dlta = jnp.where(gt2, sr2 * lf.vepln - cr2 * dlta, dlta)
    eta = jnp.where(gt2, sr2 * gama, lf.eta)
    gama = jnp.where(gt2, -cr2 * gama, gama)
    gt1 = k > 1
    c_, s_, r_ = sym_ortho(gamal, dlta)
    cr1 = jnp.where(gt1, c_, lf.cr1)
    sr1 = jnp.where(gt1, s_, lf.sr1)
    gamal = jnp.where(gt1, r_, gamal)
    vepln = jnp.where(gt1, sr1 * gama, lf.vepln)
    gama = jnp.where(gt1, -cr1 * gama, gama)
    new = _LFactor(
        cr1=cr1, sr1=sr1, cr2=cr2, sr2=sr2, gama=gama, gamal=gamal, gamal2=gamal2,
        eta=eta, etal=etal, etal2=etal2, vepln=vepln, veplnl=veplnl, veplnl2=veplnl2,
    )
    return new, gamal3


def _solution_coordinates(
    co: _Coords, lf: _LFactor, left: _NewLeft, est: _Estimates, flag: jax.Array, pnorm: jax.Array,
    k: jax.Array, opts: _Options,
) -> _NewCoords:
    """Forward substitution for the last entries of ``u_k`` in ``L_k u_k = t_k`` and ``||x_k||``.

    Choi et al. 2011, Eq. (3.7)-(3.8): ``u_{k-2} = (tau_{k-2} - eta_{k-2} u_{k-4} -
    vepln_{k-2} u_{k-3}) / gamma_{k-2}``, ``u_{k-1}`` likewise (both final now: the
    reflections of step ``k`` no longer touch rows ``k-2, k-1``), ``u_k = num / gamma_k``.
    ``||x_k|| = ||u_k||`` since ``W_k`` has orthonormal columns.  ``u_k`` is not taken when
    ``gamma_k`` is a numerical zero singular value (``|gamma_k| acondlim <= Anorm``: the
    pinv-like truncation, flag :data:`FLAG_SINGULAR`) or when it would push ``||x||`` past
    ``maxxnorm`` on a system that looks incompatible (flag :data:`FLAG_XNORM`).
    """
    gt2, gt1 = k > 2, k > 1
    ul4 = co.ul3
    ul3 = co.ul2
    gamal2_safe = jnp.where(lf.gamal2 == 0, 1.0, lf.gamal2)
    ul2 = jnp.where(gt2, (left.taul2 - lf.etal2 * ul4 - lf.veplnl2 * ul3) / gamal2_safe, co.ul2)
    gamal_safe = jnp.where(lf.gamal == 0, 1.0, lf.gamal)
    ul = jnp.where(gt1, (left.left.taul - lf.etal * ul3 - lf.veplnl * ul2) / gamal_safe, co.ul)
    xnorm_tmp = _norm(co.xl2norm, ul2, ul)
    likeLS = est.relresl >= est.relAresl
    # Numerical rank: the last diagonal gamma_k of L_k estimates the smallest
    # singular value of T_k; below Anorm / acondlim it is treated as zero
    # (u_k = 0 gives the min-length solution that ignores it, like pinv with
    # rcond = 1 / acondlim) and the iteration ends (see ``_singular_exit``).
    num = left.left.tau - lf.eta * ul2 - lf.vepln * ul
    anorm_k = jnp.maximum(est.Anorm, pnorm)
    gama = lf.gama
    singular = (jnp.abs(gama) <= _TINY) | (jnp.abs(gama) * opts.acondlim <= anorm_k)
    ok = ~singular & (xnorm_tmp < opts.maxxnorm)
    u_c = num / jnp.where(ok, gama, 1.0)
    too_big = likeLS & (_norm(xnorm_tmp, u_c) > opts.maxxnorm)
    u_taken = ok & ~too_big
    u = jnp.where(u_taken, u_c, 0.0)
    flag = jnp.where(ok, jnp.where(too_big, FLAG_XNORM, flag), FLAG_SINGULAR).astype(jnp.int64)
    xl2norm = _norm(co.xl2norm, ul2)
    xnorm = _norm(xl2norm, ul, u)
    return _NewCoords(
        coords=_Coords(ul3=ul3, ul2=ul2, ul=ul, u=u, xl2norm=xl2norm),
        num=num, xnorm_tmp=xnorm_tmp, likeLS=likeLS, singular=singular, u_taken=u_taken, xnorm=xnorm, flag=flag,
    )


def _update_solution(
    vec: _Vectors, qlp: _QLPSnapshot, lf: _LFactor, gamal3: jax.Array, step: _LanczosStep,
    pl: _PrevLeft, left: _NewLeft, nc: _NewCoords, acond: jax.Array, k: jax.Array, opts: _Options,
) -> _Update:
    """Update ``x``: MINRES while ``Acond < trancond``, MINRES-QLP from then on.

    MINRES (Choi et al. 2011, Eq. (2.7)): ``w_k = (v_k - epsilon_k w_{k-2} - delta^(2)_k w_{k-1})
    / gamma^(2)_k``, ``x_k = x_{k-1} + tau_k w_k`` (kept only while ``||x_k|| < maxxnorm``).
    QLP (Eq. (3.9)-(3.10)): the last three columns of ``W_k = V_k P_k`` follow from
    ``(w_{k-2}, w_{k-1}, v_k)`` by ``P_{k-2,k}`` and ``P_{k-1,k}``, and
    ``x_k = x_{k-2} + u_{k-2} w_{k-2} + u_{k-1} w_{k-1} + u_k w_k`` with
    ``x_{k-2} = xl2 + u_{k-2} w_{k-2}`` final.  The first QLP step rebuilds ``W`` and ``x_{k-2}``
    from the MINRES directions and the saved ``L``/``u`` entries (Sec. 3.3, "transfer").
    Also returns the pieces of the truncated iterate ``x_k(u_k = 0) = xl2_q + u_{k-1} wl_q``.
    """
    zv = jnp.zeros_like(vec.x)
    v, u, ul, ul2 = step.v, nc.coords.u, nc.coords.ul, nc.coords.ul2
    cr1, sr1, cr2, sr2 = lf.cr1, lf.sr1, lf.cr2, lf.sr2  # P_{k-1,k} new, P_{k-2,k} from step k-1
    flag = nc.flag
    gt1 = k > 1
    # ---- MINRES while well conditioned ...
    use_minres = (acond < opts.trancond) & (flag == _RUNNING) & (vec.qlpiter == 0)
    gama_tmp = left.gama
    w_m = (v - pl.epln * vec.wl - pl.dlta * vec.w) / jnp.where(gama_tmp == 0, 1.0, gama_tmp)
    fits = nc.xnorm < opts.maxxnorm
    x_m = jnp.where(fits, vec.x + left.left.tau * w_m, vec.x)
    flag_m = jnp.where(fits, flag, FLAG_XNORM)
    wl2_m, wl_m = vec.wl, vec.w
    # ... then MINRES-QLP (first QLP step rebuilds w_{k-3}, w_{k-2}, w_{k-1} and xl2)
    qlpiter_q = vec.qlpiter + 1
    first = qlpiter_q == 1
    wl2, wl, w, x = vec.wl2, vec.wl, vec.w, vec.x
    wl2_t = jnp.where(k > 3, gamal3 * wl2 + lf.veplnl2 * wl + lf.etal * w, wl2)
    wl_t = jnp.where(k > 2, qlp.gamal_QLP * wl + qlp.vepln_QLP * w, wl)
    w_t = qlp.gama_QLP * w
    xl2_t = x - wl_t * qlp.ul_QLP - w_t * qlp.u_QLP
    rebuild = first & gt1
    wl2 = jnp.where(rebuild, wl2_t, wl2)
    wl = jnp.where(rebuild, wl_t, wl)
    w = jnp.where(rebuild, w_t, w)
    xl2 = jnp.where(first, jnp.where(gt1, xl2_t, zv), vec.xl2)
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
    new = _Vectors(
        x=jnp.where(use_minres, x_m, x_q),
        xl2=jnp.where(use_minres, vec.xl2, xl2_q),
        w=jnp.where(use_minres, w_m, w_q),
        wl=jnp.where(use_minres, wl_m, wl_q),
        wl2=jnp.where(use_minres, wl2_m, wl2_q),
        qlpiter=jnp.where(use_minres, vec.qlpiter, qlpiter_q),
    )
    return _Update(
        vec=new, flag=jnp.where(use_minres, flag_m, flag), use_minres=use_minres, fits=fits, xl2_q=xl2_q, wl_q=wl_q
    )


def _next_right_reflection(lf: _LFactor, eplnn: jax.Array, co: _Coords) -> tuple[_LFactor, _QLPSnapshot]:
    """Right reflection ``P_{k-1,k+1}`` for the next step (Choi et al. 2011, Eq. (3.6)).

    ``(c2, s2, gamma^(6)_{k-1}) = SymOrtho(gamma^(5)_{k-1}, epsilon_{k+1})``: it zeroes the
    ``epsilon_{k+1}`` entry that step ``k+1`` will bring into row ``k-1``.  Also snapshots the
    ``L_k`` entries (``gamma_{k-1}`` before this rotation) used by the QLP transfer.
    """
    gamal_tmp = lf.gamal
    cr2, sr2, gamal = sym_ortho(lf.gamal, eplnn)
    snap = _QLPSnapshot(gama_QLP=lf.gama, gamal_QLP=gamal_tmp, vepln_QLP=lf.vepln, u_QLP=co.u, ul_QLP=co.ul)
    return lf._replace(cr2=cr2, sr2=sr2, gamal=gamal), snap


def _norm_estimates(
    est: _Estimates, lf: _LFactor, pl: _PrevLeft, step: _LanczosStep, k: jax.Array, beta1: jax.Array
) -> _Estimates:
    """Running estimates (Choi et al. 2011, Sec. 5.2; thesis Sec. 2.5.3).

    ``Anorm = max(Anorm, gamma_{k-1}, |gamma_k|, ||T e_k||)``; ``gmin = min |gamma_i|`` (signed
    ``gamma_1`` at step 1) and ``Acond = Anorm / gmin``; ``||A r_{k-1}|| = ||r_{k-1}||
    ||(gamma^(1)_k, delta^(1)_{k+1})||`` and ``relAres_{k-1} = ||(gamma^(1)_k, delta^(1)_{k+1})|| / Anorm``;
    ``||A b|| = beta_1 ||(alpha_1, beta_2)||``.  ``rnorm``, ``xnorm`` and ``relres`` are those
    of ``x_{k-1}`` here; :func:`_tested_estimates` sets them for the tested iterate.
    """
    abs_gama = jnp.abs(lf.gama)
    Anorm = jnp.maximum(jnp.maximum(est.Anorm, lf.gamal), jnp.maximum(abs_gama, step.pnorm))
    gminl = jnp.where(k == 1, lf.gama, est.gmin)
    gmin = jnp.where(k == 1, lf.gama, jnp.minimum(jnp.minimum(est.gminl, lf.gamal), abs_gama))
    rootl = _norm(pl.gbar, pl.dltan)
    return _Estimates(
        rnorm=est.rnorm, xnorm=est.xnorm, Anorm=Anorm, Acond=Anorm / gmin, relres=est.relres,
        relresl=est.relres, relAresl=rootl / Anorm, Arnorml=est.rnorm * rootl, gmin=gmin, gminl=gminl,
        Abnorm=jnp.where(k == 1, beta1 * step.pnorm, est.Abnorm),
    )


def _candidates(
    s: _State, up: _Update, nc: _NewCoords, left: _NewLeft, step: _LanczosStep, b: jax.Array, opts: _Options
) -> _Candidates:
    """The iterates step ``k`` may return, each with ``||x||`` and ``||r||``.

    * ``current``: ``x_k`` of the MINRES or QLP update, ``||r_k|| = phi_k``.
    * ``truncated``: the QLP iterate with ``u_k = 0``, which leaves out the near-null
      direction the last pivot found (Choi et al. 2011, Sec. 3; pinv-like truncation).  The
      ``k``-th equation of ``L_k u = t`` is then unmet, so its residual is ``||(phi_k, num)||``;
      at a loose rtol (``gamma_k`` an ordinary pivot) that can exceed ``||b||``: such an ``x``
      is worse than ``x = 0`` and, in Newton-MR, not a descent direction for ``||b - A x||^2``
      (a residual ``<= ||b||`` gives ``2 b^T A x >= ||A x||^2 >= 0``).  Then it is ``x_{k-1}``
      instead, the MINRES(-QLP) iterate (``||r_{k-1}|| <= ||b||``).
    * ``previous``: ``x_{k-1}``.
    * ``eigen``: ``b / alpha_1`` when ``beta_2 = 0`` (``b`` an eigenvector), ``0`` if ``alpha_1 = 0``.
    """
    beta1 = opts.beta1
    phi = left.left.phi
    x_drop = up.xl2_q + up.wl_q * nc.coords.ul
    rn_drop = _norm(phi, nc.num)
    xn_drop = _norm(nc.coords.xl2norm, nc.coords.ul)
    drop_ok = (rn_drop <= beta1) & (xn_drop < opts.maxxnorm)
    truncated = _Iterate(
        x=jnp.where(drop_ok, x_drop, s.vec.x),
        xnorm=jnp.where(drop_ok, xn_drop, s.est.xnorm),
        rnorm=jnp.where(drop_ok, rn_drop, s.est.rnorm),
    )
    alfa = step.alfa
    alfa_safe = jnp.where(alfa == 0, 1.0, alfa)
    eigen = _Iterate(
        x=jnp.where(alfa == 0, jnp.zeros_like(b), b / alfa_safe),
        xnorm=jnp.where(alfa == 0, 0.0, beta1 / jnp.abs(alfa_safe)),
        rnorm=jnp.zeros((), jnp.float64),
    )
    return _Candidates(
        current=_Iterate(x=up.vec.x, xnorm=nc.xnorm, rnorm=phi),
        truncated=truncated,
        previous=_Iterate(x=s.vec.x, xnorm=s.est.xnorm, rnorm=s.est.rnorm),
        eigen=eigen,
    )


def _choose_iterate(
    c: _Candidates,
    dropped: jax.Array,
    ls_exit: jax.Array | bool = False,
    forced: jax.Array | bool = False,
    sing_exit: jax.Array | bool = False,
    special: jax.Array | bool = False,
) -> _Iterate:
    """The one place that decides which iterate a step returns (later cases take precedence).

    1. ``current`` ``x_k``; but ``truncated`` if ``u_k`` was not taken (``dropped``:
       ``gamma_k`` numerically zero, or ``u_k`` refused by the x-norm limit).  This is the
       iterate the stopping tests judge (called with the ``dropped`` case only).
    2. ``previous`` ``x_{k-1}`` if the forcing test passed: it certified ``x_{k-1}``
       (``||A r||`` is known one step late).
    3. ``truncated`` on a least-squares exit (the lagged test certified that ``x_{k-1}``'s
       residual is numerically in ``ker A``; with ``gamma_k`` a numerical zero the
       min-length solution takes ``u_k = 0``, Choi et al. 2011, Sec. 3) and on the
       singular exit (``T_k`` numerically singular).
    4. ``eigen`` when ``beta_2 = 0`` at step 1 (exact answer).
    """
    def pick(cur: jax.Array, trunc: jax.Array, prev: jax.Array, eig: jax.Array) -> jax.Array:
        out = jnp.where(dropped, trunc, cur)
        out = jnp.where(ls_exit, trunc, jnp.where(forced, prev, out))
        out = jnp.where(sing_exit, trunc, out)
        return jnp.where(special, eig, out)

    return _Iterate(*(pick(*f) for f in zip(c.current, c.truncated, c.previous, c.eigen)))


def _stopping_tests(
    flag: jax.Array, est: _Estimates, k: jax.Array, opts: _Options
) -> jax.Array:
    """Choi et al. 2011, Table 5.1 stopping tests, later tests taking precedence (Choi's code order).

    The flag set while forming ``u_k`` is provisional: :data:`FLAG_SINGULAR` yields to any test
    (Choi), :data:`FLAG_XNORM` (with ``u_k = 0``, the null direction refused) yields to the
    convergence tests 1-4 and the forcing test.  Returns ``_FORCED`` for the forcing test.
    """
    epsx = est.Anorm * est.xnorm * _EPS
    chk = flag
    for test, code in (
        (k >= opts.maxit, FLAG_MAXIT),
        (est.Acond >= opts.acondlim, FLAG_ACOND),
        (est.xnorm >= opts.maxxnorm, FLAG_XNORM),
        (epsx >= opts.beta1, FLAG_EIGENVECTOR),
        ((k > 1) & (est.Arnorml <= opts.forcing * est.Abnorm), _FORCED),
        (1.0 + est.relAresl <= 1.0, FLAG_LS_EPS),
        (1.0 + est.relres <= 1.0, FLAG_EPS),
        (est.relAresl <= opts.rtol, FLAG_LS_RTOL),
        (est.relres <= opts.rtol, FLAG_RTOL),
    ):
        chk = jnp.where(test, code, chk)
    converged = (chk == FLAG_RTOL) | (chk == FLAG_LS_RTOL) | (chk == FLAG_EPS) | (chk == FLAG_LS_EPS) | (chk == _FORCED)
    return jnp.where(
        (flag == _RUNNING) | (flag == FLAG_SINGULAR) | ((flag == FLAG_XNORM) & converged), chk, flag
    ).astype(jnp.int64)


def _singular_exit_report(
    trunc: _Iterate, est: _Estimates, betan: jax.Array, opts: _Options
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """Flag and residual estimates of the singular exit (``T_k`` numerically singular).

    ``x_k`` (QLP, ``u_k = 0``) is the min-length least-squares solution on the Krylov space; its
    residual norm is ``||(phi_k, tau_k - eta_k u_{k-2} - vepln_k u_{k-1})||`` and, by the
    Lanczos relation, ``||A r|| <= beta_{k+1} ||r||``, so ``relAres <= beta_{k+1} / Anorm``: small
    exactly when the Krylov space is exhausted (an incompatible system).  The lagged test on
    ``x_{k-1}`` (same least-squares residual) is the sharper one once the LS solution was
    reached a step earlier.  Returns ``(flag, relres, relAres, Arnorm)``.
    """
    relres_s = trunc.rnorm / (est.Anorm * trunc.xnorm + opts.beta1)
    relAres_s = jnp.minimum(betan / est.Anorm, est.relAresl)
    Arnorm_s = jnp.minimum(betan * trunc.rnorm, est.Arnorml)
    flag_s = jnp.where(
        relres_s <= opts.rtol,
        FLAG_RTOL,
        jnp.where(relAres_s <= opts.rtol, FLAG_LS_RTOL, jnp.where(1.0 + relAres_s <= 1.0, FLAG_LS_EPS, FLAG_ACOND)),
    ).astype(jnp.int64)
    return flag_s, relres_s, relAres_s, Arnorm_s


def _step(op: Callable[[jax.Array], jax.Array], b: jax.Array, opts: _Options, s: _State) -> _State:
    """One MINRES-QLP iteration (Choi et al. 2011, Algorithm 1), stage by stage."""
    k = s.iters + 1
    lanczos, step = _lanczos_step(op, s.lanczos, k)
    special = (k == 1) & (step.betan == 0)  # beta_2 = 0: b is an eigenvector of A
    pl = _previous_left_reflection(s.left, step)
    nl = _new_left_reflection(s.left, pl, step.betan)
    lf, gamal3 = _right_reflections(s.lfac, pl.dlta, nl.gama, k)
    nc = _solution_coordinates(s.coords, lf, nl, s.est, s.flag, step.pnorm, k, opts)
    up = _update_solution(s.vec, s.qlp, lf, gamal3, step, pl, nl, nc, s.est.Acond, k, opts)
    lf_next, snap = _next_right_reflection(lf, pl.eplnn, nc.coords)
    est = _norm_estimates(s.est, lf_next, pl, step, k, opts.beta1)
    cands = _candidates(s, up, nc, nl, step, b, opts)

    # ---- the iterate the stopping tests judge: x_k, or its truncation when u_k was not
    # taken (QLP: gamma_k numerically zero or ``too_big``; MINRES: ``~fits``).
    dropped = (~nc.u_taken & ~up.use_minres) | (up.use_minres & ~up.fits)
    tested = _choose_iterate(cands, dropped)
    est = est._replace(
        rnorm=tested.rnorm, xnorm=tested.xnorm, relres=tested.rnorm / (est.Anorm * tested.xnorm + opts.beta1)
    )
    flag = _stopping_tests(up.flag, est, k, opts)

    # ---- exits that return another iterate
    ls_exit = (flag == FLAG_LS_RTOL) | (flag == FLAG_LS_EPS)
    forced = flag == _FORCED
    flag = jnp.where(forced, FLAG_RTOL, flag).astype(jnp.int64)
    # T_k numerically singular (see ``_solution_coordinates``) ends the iteration.
    sing_exit = nc.singular & ~up.use_minres & (s.flag == _RUNNING) & (nc.xnorm_tmp < opts.maxxnorm)
    it = _choose_iterate(cands, dropped, ls_exit, forced, sing_exit, special)

    # ---- reported counters and estimates.  Choi's "possibly singular" exits report the
    # counters of iteration k-1; the singular exit counts this step (it made x_k
    # minimum-length); beta_2 = 0 is exact.
    rollback = forced | ls_exit | (flag == FLAG_ACOND) | ((flag == FLAG_XNORM) & nc.likeLS)
    iters = jnp.where(rollback, k - 1, k)
    Acond = jnp.where(rollback, s.est.Acond, est.Acond)
    relres = jnp.where(rollback, est.relresl, est.relres)
    Arnorml, relAresl, Anorm = est.Arnorml, est.relAresl, est.Anorm
    flag_s, relres_s, relAres_s, Arnorm_s = _singular_exit_report(cands.truncated, est, step.betan, opts)
    iters = jnp.where(sing_exit, k, iters)
    flag = jnp.where(sing_exit, flag_s, flag)
    relres = jnp.where(sing_exit, relres_s, relres)
    Arnorml = jnp.where(sing_exit, Arnorm_s, Arnorml)
    relAresl = jnp.where(sing_exit, relAres_s, relAresl)
    zero = jnp.zeros((), jnp.float64)
    iters = jnp.where(special, k, iters)
    flag = jnp.where(special, jnp.where(step.alfa == 0, FLAG_ZERO_RHS, FLAG_B_EIGENVECTOR).astype(jnp.int64), flag)
    relres = jnp.where(special, zero, relres)
    Arnorml = jnp.where(special, zero, Arnorml)
    relAresl = jnp.where(special, zero, relAresl)
    Anorm = jnp.where(special, jnp.abs(step.alfa), Anorm)
    Acond = jnp.where(special, jnp.asarray(1.0, jnp.float64), Acond)
    return _State(
        iters=iters,
        matvecs=s.matvecs + 1,
        flag=flag,
        lanczos=lanczos,
        left=nl.left,
        lfac=lf_next,
        coords=nc.coords,
        qlp=snap,
        vec=up.vec._replace(x=it.x),
        est=est._replace(
            rnorm=it.rnorm, xnorm=it.xnorm, Anorm=Anorm, Acond=Acond, relres=relres, Arnorml=Arnorml,
            relAresl=relAresl,
        ),
    )


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
    opts = _Options(
        rtol=rtol, maxit=maxit, maxxnorm=maxxnorm, acondlim=acondlim, trancond=trancond, forcing=forcing, beta1=beta1
    )

    def cond(s: _State) -> jax.Array:
        return (s.flag == _RUNNING) & (s.iters < maxit)

    s = jax.lax.while_loop(cond, lambda s: _step(op, b, opts, s), _initial_state(b, beta1))
    flag = jnp.where(s.flag == _RUNNING, FLAG_MAXIT, s.flag)
    return MinresQLPResult(
        x=s.vec.x,
        flag=flag,
        iters=s.iters,
        matvecs=s.matvecs,
        rnorm=s.est.rnorm,
        Arnorm=s.est.Arnorml,
        xnorm=s.est.xnorm,
        Anorm=s.est.Anorm,
        Acond=s.est.Acond,
        relres=s.est.relres,
        relAres=s.est.relAresl,
        Tfro=s.lanczos.tfro,
    )


def check_minres_options(rtol: float, maxxnorm: float, acondlim: float, trancond: float) -> None:
    """Validate the MINRES-QLP options a Newton-type solver passes through.

    Raises:
        SolverOptionError: naming the first invalid option (``0 < rtol < 1``;
            ``maxxnorm > 0``; ``acondlim >= 1``; ``trancond >= 1``).
    """
    from ._protocol import SolverOptionError, check_open_unit, check_positive

    check_open_unit("rtol", rtol)
    check_positive("maxxnorm", maxxnorm)
    check_positive("acondlim", acondlim)
    check_positive("trancond", trancond)
    if acondlim < 1:
        raise SolverOptionError(f"option 'acondlim' must be >= 1, got {acondlim!r}")
    if trancond < 1:
        raise SolverOptionError(f"option 'trancond' must be >= 1, got {trancond!r}")
