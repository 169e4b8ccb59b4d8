"""Gradient norm minimization (thesis Algorithm 2) and its line-search variant BTLS-GNM.

Both minimize the merit function ``G(theta) = 1/2 ||grad L(theta)||^2`` by
gradient descent.  Its gradient is (thesis Theorem 2.1, Eq. 2.19)::

    grad G(theta) = H(theta) g(theta),      g = grad L,  H = Hess L,

one Hessian-vector product per iterate (``grad ||grad L||^2 = 2 H g``).
Every stationary point of ``G`` -- critical points *and* gradient-flat points
(``g != 0`` in ``ker H``) -- is a fixed point, so these methods can converge to
points that are not critical (thesis Sec. 3.4; the quartic of Eq. 3.35 has a
local minimum of ``||grad f||^2`` at ``(sqrt 2, 0)``).

* :class:`GNM` (``"gnm"``), Algorithm 2 line 6:
  ``theta_{t+1} = theta_t - lr H g``.  Cost per step: 1 HVP (+ the loop's one
  gradient at the new iterate).
* :class:`BTLSGNM` (``"btls-gnm"``), the method of Table 3.1 (footnote c: "adds a
  line search step akin to Algorithm 12, but with a convergence criterion based
  on the Wolfe conditions applied to the squared gradient norm").  Direction
  ``p = -H g``; step length ``alpha`` from a bracketing backtracking/expansion
  search on ``phi(alpha) = ||grad L(theta + alpha p)||^2`` that stops at the first
  trial satisfying the Wolfe conditions (Wolfe 1971; Nocedal & Wright Eq. 3.6)::

      (W1, sufficient decrease)  phi(alpha)  <= phi(0) + c1 alpha phi'(0)
      (W2, curvature)            phi'(alpha) >= c2 phi'(0)
      (strong W2, option)       |phi'(alpha)| <= c2 |phi'(0)|

  with ``phi'(alpha) = 2 p^T H(theta + alpha p) grad L(theta + alpha p)`` and
  ``phi'(0) = 2 p^T H g = -2 ||H g||^2 <= 0`` (free once ``H g`` is known).

  Search (bracket ``[lo, hi]``, initially ``[0, inf]``; first trial = the
  previous accepted step, ``alpha0`` at the first iteration):

  - W1 fails (or, strong Wolfe, ``phi'(alpha) > c2 |phi'(0)|``): ``hi = alpha``;
    next ``alpha = beta alpha`` while ``lo = 0`` (plain backtracking), else the
    bisection ``(lo + hi) / 2``;
  - W1 holds but W2 fails (step too short): ``lo = alpha``; next
    ``alpha = alpha / beta`` while ``hi = inf`` (expansion), else bisection;
  - both hold: accept.

  The search fails after ``max_trials`` trials, or when a trial point equals
  ``theta`` in floating point (``p = 0`` or ``alpha`` too small to move), or when
  ``alpha`` overflows.  A failed search returns ``alpha = 0`` and leaves
  ``theta`` unchanged (never a zero vector, unlike a public reference
  implementation), which the shared loop reports as ``STALLED`` (the thesis's
  "minimum step size ... without finding an acceptable update").  A trial with a
  NaN/inf gradient fails W1 (NaN comparisons are false) and the search backs off.

  Cost per step: 1 HVP for ``H g`` at ``theta``, then per trial 1 gradient and 1
  HVP (both W1 and W2 are evaluated at every trial): ``hvps = 1 + trials``,
  ``grads = trials`` (+ the loop's gradient at the new iterate).

Neither method solves a Newton system, so ``r``, ``r_H`` and ``hfro`` are NaN.

Defaults: the thesis gives no values; ``lr = alpha0 = 0.1``, ``beta = 0.5``,
``c1 = 1e-4`` and ``c2 = 0.9`` are those of the thesis's public reference
implementation (its ``DEFAULT_ALPHA``, ``DEFAULT_BETA``, ``DEFAULT_RHO``,
``DEFAULT_GAMMA``).
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

jax.config.update("jax_enable_x64", True)


@dataclasses.dataclass(frozen=True)
class GNM(IterativeSolver):
    """Gradient norm minimization by gradient descent, thesis Algorithm 2.

    ``theta_{t+1} = theta_t - lr H(theta_t) g(theta_t)`` (gradient descent on
    ``1/2 ||grad L||^2``; equivalently on ``||grad L||^2`` with step ``lr / 2``).

    Options:
        lr: fixed step size (``> 0``).
    """

    name: ClassVar[str] = "gnm"
    hfro_method: ClassVar[str] = "none"

    def hvps_per_iteration(self, dim: int) -> int:
        """One HVP, ``H g``."""
        return 1

    lr: float = 0.1

    def __post_init__(self) -> None:
        check_positive("lr", self.lr)

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        Hg = hvp(fn, theta, g, args)
        theta_new = theta - self.lr * Hg
        return theta_new, state, StepInfo.make(step_size=self.lr, hvps=1, grads=0)


def _grad_and_merit_slope(
    fn: Callable, x: jax.Array, p: jax.Array, args: Any
) -> tuple[jax.Array, jax.Array]:
    """``(phi, phi')`` at ``x``: ``||grad L(x)||^2`` and ``2 p^T H(x) grad L(x)`` (1 gradient + 1 HVP)."""
    gx = jax.grad(fn)(x, args)
    Hgx = hvp(fn, x, gx, args)
    return jnp.vdot(gx, gx), 2.0 * jnp.vdot(p, Hgx)


@dataclasses.dataclass(frozen=True)
class BTLSGNM(IterativeSolver):
    """Gradient norm minimization with a Wolfe line search (BTLS-GNM, Table 3.1).

    Direction ``p = -H g`` (Algorithm 2); step length from the bracketing
    backtracking/expansion search described in the module docstring.

    Options:
        alpha0: first trial step length of the first iteration (``> 0``); later
            iterations start from the previously accepted step.
        beta: backtracking factor in ``(0, 1)`` (expansion factor ``1 / beta``).
        c1: sufficient-decrease constant, ``0 < c1 < c2``.
        c2: curvature constant, ``c1 < c2 < 1``.
        max_trials: trials per search (each 1 gradient + 1 HVP), ``>= 1``.
        strong: use the strong curvature condition ``|phi'(alpha)| <= c2 |phi'(0)|``.

    State: the first trial step length of the next search.
    """

    name: ClassVar[str] = "btls-gnm"
    hfro_method: ClassVar[str] = "none"

    def hvps_per_iteration(self, dim: int) -> int:
        """One HVP for the direction ``-H g`` + one per line-search trial (at most ``max_trials``)."""
        return int(self.max_trials) + 1

    alpha0: float = 0.1
    beta: float = 0.5
    c1: float = 1e-4
    c2: float = 0.9
    max_trials: int = 60
    strong: bool = False

    def __post_init__(self) -> None:
        check_positive("alpha0", self.alpha0)
        check_open_unit("beta", self.beta)
        check_open_unit("c1", self.c1)
        check_open_unit("c2", self.c2)
        if not self.c1 < self.c2:
            raise SolverOptionError(f"option 'c2' must exceed c1={self.c1!r}, got {self.c2!r}")
        check_positive("max_trials", self.max_trials, integer=True)
        if not isinstance(self.strong, bool):
            raise SolverOptionError(f"option 'strong' must be a bool, got {self.strong!r}")

    def init(self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, args: Any) -> jax.Array:
        return jnp.asarray(self.alpha0, dtype=jnp.float64)

    def search(
        self, fn: Callable, theta: jax.Array, g: jax.Array, p: jax.Array, alpha_start: jax.Array, args: Any
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Wolfe search along ``p`` on ``phi(alpha) = ||grad L(theta + alpha p)||^2``.

        ``p`` must be ``-H g``, so that ``phi'(0) = 2 p^T H g = -2 ||p||^2``.

        Returns:
            ``(alpha, trials, accepted)``; ``alpha = 0`` when not accepted.
        """
        phi0 = jnp.vdot(g, g)
        dphi0 = -2.0 * jnp.vdot(p, p)
        inf = jnp.float64(jnp.inf)

        def cond(c):
            alpha, lo, hi, n, done, failed = c
            return ~done & ~failed

        def body(c):
            alpha, lo, hi, n, _, _ = c
            trial = theta + alpha * p
            phi, dphi = _grad_and_merit_slope(fn, trial, p, args)
            n = n + 1
            w1 = phi <= phi0 + self.c1 * alpha * dphi0
            w2 = dphi >= self.c2 * dphi0
            too_far = ~w1
            if self.strong:
                too_far = too_far | ~(dphi <= -self.c2 * dphi0)
            accept = ~too_far & w2 & jnp.any(trial != theta)
            hi_new = jnp.where(too_far, alpha, hi)
            lo_new = jnp.where(~too_far & ~w2, alpha, lo)
            bracketed = jnp.isfinite(hi_new) & (lo_new > 0)
            alpha_next = jnp.where(
                bracketed,
                0.5 * (lo_new + hi_new),
                jnp.where(too_far, self.beta * alpha, alpha / self.beta),
            )
            moved = jnp.any(theta + alpha_next * p != theta)
            failed = ~accept & ((n >= self.max_trials) | ~moved | ~jnp.isfinite(alpha_next))
            return jnp.where(accept, alpha, alpha_next), lo_new, hi_new, n, accept, failed

        a0 = jnp.asarray(alpha_start, dtype=jnp.float64)
        moved0 = jnp.any(theta + a0 * p != theta)
        c0 = (a0, jnp.float64(0.0), inf, jnp.int64(0), jnp.bool_(False), ~moved0)
        alpha, _, _, n, accepted, _ = jax.lax.while_loop(cond, body, c0)
        return jnp.where(accepted, alpha, 0.0), n, accepted

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: jax.Array, args: Any
    ) -> tuple[jax.Array, jax.Array, StepInfo]:
        p = -hvp(fn, theta, g, args)
        alpha, n, accepted = self.search(fn, theta, g, p, state, args)
        theta_new = jnp.where(accepted, theta + alpha * p, theta)
        next_start = jnp.where(accepted, alpha, jnp.float64(self.alpha0))
        info = StepInfo.make(step_size=alpha, hvps=1 + n, grads=n)
        return theta_new, next_start, info
