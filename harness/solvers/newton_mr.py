"""Newton-MR (thesis Algorithm 13): MINRES-QLP Newton steps with a backtracking line search.

One iteration at ``theta_t`` with ``g = grad L``, ``H = Hess L`` (only as HVPs):

1. ``p = MR-QLP(H, -g)``: the (approximately) minimum-length least-squares
   solution of ``H p = -g`` (:func:`harness.solvers.minres_qlp.minres_qlp`,
   Alg. 13 line 8);
2. ``alpha = BTLS(...)`` on ``||grad L||^2`` starting from the carried ``alpha``
   (Algorithm 12, :mod:`harness.solvers.linesearch`; line 9);
3. ``theta_{t+1} = theta_t + alpha p`` (line 10); a failed search gives
   ``alpha = 0`` and an unchanged ``theta``, which the shared loop reports as
   ``STALLED`` (line 11);
4. ``alpha <- min(1, alpha / beta)`` (line 14; printed as ``max``, which cannot
   be meant since ``alpha <= 1``).

Flatness statistics of the step (thesis Eqs. 3.36, 3.37)::

    r   = ||H p + g|| / (||H||_F ||p|| + ||g||)
    r_H = ||H (H p + g)|| / (||H||_F ||H p + g||)

``H p`` is computed once (one HVP) because the line search needs
``p^T H g = (H p)^T g``; so ``||H p + g||`` in ``r`` is exact.  ``r_H`` comes from
MINRES-QLP's ``||A r||`` recurrence (``Arnorm / rnorm`` of the same iterate; one
iteration late unless the solver exited on its least-squares test) or, with
``exact_flatness=True`` (the default), from one more HVP ``H (H p + g)``
(the recurrence is one iteration late on compatible exits; ``docs/measurements.md``).
``||H||_F`` is by default estimated by ``||T_{k+1,k}||_F = ||H V_k||_F`` from the
Lanczos tridiagonal (MINRES-QLP's ``Tfro``): a lower bound on ``||H||_F``, exact
when the Krylov space spans everything (``hfro_method = "lanczos"``).  Caveat:
near a gradient-flat point the Krylov space of ``g`` sees mostly the flat
directions, so this bound can be orders of magnitude low and ``r_H`` then reads
near 1; ``hfro_estimate="exact"`` (``dim`` HVPs per step) avoids that.
Cost per iteration: ``matvecs`` of MINRES-QLP + 1 (+1 exact) HVPs; the line
search's gradient evaluations; plus the loop's one gradient at the new iterate.

Defaults: ``maxxnorm = 1e4``, ``acondlim = 1e7``, ``trancond = 1e4`` and
``rtol = 5e-4`` are the thesis's (Sec. 2.6.2.1, Sec. 3.4.3); ``maxit = 0`` means
``dim`` (thesis: never more than ``N``).  ``forcing = 0.5`` is ours:
MINRES-QLP also stops once ``||H r|| <= 0.5 ||H g||`` (``r = H p + g``; the
inexactness condition of Newton-MR, Roosta et al., arXiv:1810.00303).  Choi's
``relres`` test alone is scaled by ``||H|| ||p||``; near the DLAE's degenerate
critical manifolds ``p`` is long (small gauge eigenvalues), so that test is
either met while the residual is most of ``||g||`` (slow, linear Newton
convergence) or not met within ``dim`` iterations (full-length solves every
step).  The forcing test bounds the inner solve by the Newton-MR inexactness
condition instead (its effect on the thesis DLAE: ``docs/measurements.md``).
``forcing = 0`` restores the thesis's solver exactly.  The thesis gives no values for
``beta``, ``rho``, ``rho'``; ``beta = 0.5``, ``rho = rho' = 1e-4`` are those of
its public reference implementation.  ``eps_min = 0`` is the thesis's
"largest value for which alpha = beta alpha" (back off until underflow).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from ._iterative import IterativeSolver
from ._oracles import hvp
from ._protocol import SolverOptionError, StepInfo, check_open_unit, check_positive
from .linesearch import BacktrackingLineSearch
from .minres_qlp import check_minres_options, minres_qlp

jax.config.update("jax_enable_x64", True)


@dataclasses.dataclass(frozen=True)
class NewtonMR(IterativeSolver):
    """Newton-MR, thesis Algorithm 13 (MINRES-QLP step + Algorithm 12 line search).

    Options:
        maxit: MINRES-QLP iteration limit (``0``: the problem dimension).
        rtol: MINRES-QLP relative (co-kernel) residual tolerance.
        forcing: inexactness ``eta``: MINRES-QLP also stops once
            ``||H (H p + g)|| <= eta ||H g||`` (``0``: off, the thesis's settings).
        maxxnorm: bound on ``||p||`` (MINRES-QLP returns ``p = 0`` when even its first iterate
            is longer, so the run ends ``stalled`` at once: not a step-length cap).
        acondlim: bound on MINRES-QLP's condition estimate (and its numerical-rank cutoff).
        trancond: MINRES -> MINRES-QLP switch point.
        alpha: initial step length in ``(0, 1]``.
        beta, rho, rho_prime, eps_min: line-search options (Algorithm 12).
        exact_flatness: compute ``r_H`` with one extra HVP (default) instead of the
            MINRES-QLP recurrence (which lags one iteration on compatible exits).
        hfro_estimate: ``"lanczos"`` (``||T_{k+1,k}||_F``, free) or ``"exact"``
            (``dim`` extra HVPs per step).
    """

    name: ClassVar[str] = "newton-mr"

    def hvps_per_iteration(self, dim: int) -> int:
        """MINRES-QLP's ``maxit`` (0: ``dim``) + 1 (``H p``) + 1 with ``exact_flatness`` + ``dim`` with
        ``hfro_estimate="exact"``."""
        return ((self.maxit or int(dim)) + 1 + int(bool(self.exact_flatness))
                + (int(dim) if self.hfro_estimate == "exact" else 0))

    maxit: int = 0
    rtol: float = 5e-4
    forcing: float = 0.5
    maxxnorm: float = 1e4
    acondlim: float = 1e7
    trancond: float = 1e4
    alpha: float = 1.0
    beta: float = 0.5
    rho: float = 1e-4
    rho_prime: float = 1e-4
    eps_min: float = 0.0
    exact_flatness: bool = True
    hfro_estimate: str = "lanczos"

    @property
    def hfro_method(self) -> str:  # type: ignore[override]
        """How ``||H||_F`` in ``r``/``r_H`` is obtained: the ``hfro_estimate`` option."""
        return self.hfro_estimate

    def __post_init__(self) -> None:
        check_positive("maxit", self.maxit, integer=True, allow_zero=True)
        check_minres_options(self.rtol, self.maxxnorm, self.acondlim, self.trancond)
        check_positive("forcing", self.forcing, allow_zero=True)
        if self.forcing >= 1:
            raise SolverOptionError(f"option 'forcing' must be in [0, 1), got {self.forcing!r}")
        check_open_unit("alpha", self.alpha, closed_right=True)
        if self.hfro_estimate not in ("lanczos", "exact"):
            raise SolverOptionError(f"option 'hfro_estimate' must be 'lanczos' or 'exact', got {self.hfro_estimate!r}")
        if not isinstance(self.exact_flatness, bool):
            raise SolverOptionError(f"option 'exact_flatness' must be a bool, got {self.exact_flatness!r}")
        try:
            self.line_search
        except SolverOptionError as exc:
            raise SolverOptionError(str(exc)) from None

    @property
    def line_search(self) -> BacktrackingLineSearch:
        return BacktrackingLineSearch(
            alpha0=self.alpha, beta=self.beta, rho=self.rho, rho_prime=self.rho_prime, eps_min=self.eps_min
        )

    def init(self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, args: Any) -> jax.Array:
        """State: the step length carried between iterations (Alg. 13, lines 9 and 14)."""
        return jnp.asarray(self.alpha, dtype=jnp.float64)

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: jax.Array, args: Any
    ) -> tuple[jax.Array, jax.Array, StepInfo]:
        mv = lambda v: hvp(fn, theta, v, args)  # noqa: E731
        res = minres_qlp(
            mv,
            -g,
            rtol=self.rtol,
            maxit=self.maxit if self.maxit > 0 else theta.shape[0],
            maxxnorm=self.maxxnorm,
            acondlim=self.acondlim,
            trancond=self.trancond,
            forcing=self.forcing,
        )
        p = res.x
        Hp = mv(p)
        resid = Hp + g
        rn = jnp.linalg.norm(resid)
        gn = jnp.linalg.norm(g)
        hvps = res.matvecs + 1
        if self.hfro_estimate == "exact":
            # ||H||_F^2 = sum_i ||H e_i||^2: dim HVPs (vmapped), counted.
            cols = jax.vmap(mv)(jnp.eye(theta.shape[0], dtype=theta.dtype))
            hfro = jnp.sqrt(jnp.sum(cols * cols))
            hvps = hvps + theta.shape[0]
        else:
            hfro = res.Tfro
        r = rn / (hfro * jnp.linalg.norm(p) + gn)
        if self.exact_flatness:
            r_H = jnp.linalg.norm(mv(resid)) / (hfro * rn)
            hvps = hvps + 1
        else:
            # Arnorm / (Anorm * rnorm') = relAres, with rnorm' of the same iterate.
            r_H = res.relAres * res.Anorm / hfro
        alpha, n_grads, accepted = self.line_search.search(fn, theta, g, p, jnp.vdot(Hp, g), state, args)
        theta_new = jnp.where(accepted & (alpha > 0), theta + alpha * p, theta)
        alpha_next = jnp.where(accepted, jnp.minimum(1.0, alpha / self.beta), jnp.float64(self.alpha))
        info = StepInfo.make(
            step_size=alpha,
            r=r,
            r_H=r_H,
            hfro=hfro,
            krylov_iters=res.iters,
            krylov_flag=res.flag,
            hvps=hvps,
            grads=n_grads,
        )
        return theta_new, alpha_next, info
