"""Backtracking line search on the squared gradient norm (thesis Algorithm 12).

Merit function ``c(theta) = ||grad L(theta)||^2``.  A step length ``alpha`` along
the Newton-type direction ``p`` is *accepted* when (Alg. 12, lines 4-8; the
sufficient-decrease criterion of Roosta et al. for Newton-MR)::

    ||grad L(theta + alpha p)||^2 <= ||grad L(theta)||^2 + 2 rho alpha p^T H grad L(theta)

where ``H`` is the Hessian at ``theta`` (``p^T H g`` is passed in, one HVP
computed by the caller).  For the exact Newton step of a quadratic,
``p^T H g = -||g||^2`` and the left side is ``(1 - alpha)^2 ||g||^2``, so the
test asks for a fraction ``rho`` of the decrease the quadratic model predicts.

Procedure (Alg. 12):

1. check ``alpha = 1`` with ``rho'`` (lines 10-13); accept it if it passes;
2. otherwise start from ``alpha_start`` and test with ``rho``; on failure
   ``alpha <- beta alpha`` (lines 15-18);
   A trial must also *strictly* decrease ``||grad L||^2``: for a descent
   direction this follows from the test in exact arithmetic, but once
   ``2 rho alpha p^T H g`` falls below the rounding of ``||grad L||^2`` the test
   alone passes on equality, and the search would "accept" steps that change
   nothing measurable (seen at gradient-flat points, where ``p^T H g -> 0``);
3. once ``alpha < eps_min``, or the trial point ``theta + alpha p`` equals
   ``theta`` in floating point (our reading of the thesis's ``eps``, "the
   largest value for which alpha = beta alpha": smaller steps cannot move
   ``theta``; also covers ``p = 0``), give up and return
   ``alpha = 0`` (lines 19-21): the caller keeps ``theta`` unchanged.  The search
   never proposes a zero vector as the new point (a known bug of a public
   reference implementation).

A trial whose gradient is NaN/inf fails the test (comparisons with NaN are
false), so the search backs off from non-finite regions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from ._protocol import SolverOptionError, check_open_unit, check_positive

jax.config.update("jax_enable_x64", True)


@dataclasses.dataclass(frozen=True)
class BacktrackingLineSearch:
    """Options of Algorithm 12 (validated once, in ``__post_init__``).

    Attributes:
        alpha0: default starting step length in ``(0, 1]``.
        beta: backtracking factor in ``(0, 1)``.
        rho: sufficient-decrease fraction in ``(0, 1)`` for the backtracking trials.
        rho_prime: sufficient-decrease fraction in ``(0, 1)`` for the first trial ``alpha = 1``.
        eps_min: smallest step length tried (``>= 0``); ``0`` means the thesis's
            choice: back off until ``alpha`` underflows.
    """

    alpha0: float = 1.0
    beta: float = 0.5
    rho: float = 1e-4
    rho_prime: float = 1e-4
    eps_min: float = 0.0

    def __post_init__(self) -> None:
        check_open_unit("alpha0", self.alpha0, closed_right=True)
        check_open_unit("beta", self.beta)
        check_open_unit("rho", self.rho)
        check_open_unit("rho_prime", self.rho_prime)
        check_positive("eps_min", self.eps_min, allow_zero=True)
        if self.eps_min >= 1:
            raise SolverOptionError(f"option 'eps_min' must be < 1, got {self.eps_min!r}")

    def search(
        self,
        fn: Callable[[jax.Array, Any], jax.Array],
        theta: jax.Array,
        g: jax.Array,
        p: jax.Array,
        Hg_dot_p: jax.Array,
        alpha_start: jax.Array | float | None,
        args: Any,
    ) -> tuple[jax.Array, jax.Array, jax.Array]:
        """Run Algorithm 12; see :func:`backtrack`."""
        grad = jax.grad(fn)
        s = jnp.vdot(g, g)
        a0 = jnp.asarray(self.alpha0 if alpha_start is None else alpha_start, dtype=jnp.float64)
        slope = 2.0 * jnp.asarray(Hg_dot_p, dtype=jnp.float64)

        def merit(alpha: jax.Array) -> tuple[jax.Array, jax.Array]:
            trial = theta + alpha * p
            gn = grad(trial, args)
            return jnp.vdot(gn, gn), jnp.any(trial != theta)

        def ok(s_new: jax.Array, alpha: jax.Array, rho: float) -> jax.Array:
            # Strict decrease as well: once rho alpha slope is below the rounding
            # of s, the Armijo test alone passes on s_new == s (no progress).
            return (s_new <= s + rho * alpha * slope) & (s_new < s)

        # Lines 10-13: alpha = 1 first, with rho'.
        s1, moved1 = merit(jnp.float64(1.0))
        pure = ok(s1, 1.0, self.rho_prime) & moved1
        # Line 16 at alpha_start = 1 reuses the same gradient (no second evaluation).
        start_one = (a0 == 1.0) & ok(s1, 1.0, self.rho) & moved1
        done0 = pure | start_one
        alpha_init = jnp.where(done0, 1.0, jnp.where(a0 == 1.0, self.beta * a0, a0))

        def cond(c):
            alpha, _, done, moved = c
            return ~done & moved & (alpha > 0) & (alpha >= self.eps_min)

        def body(c):
            alpha, n, _, _ = c
            s_new, moved = merit(alpha)
            acc = ok(s_new, alpha, self.rho) & moved
            return jnp.where(acc, alpha, self.beta * alpha), n + 1, acc, moved

        alpha, n, accepted, _ = jax.lax.while_loop(cond, body, (alpha_init, jnp.int64(1), done0, moved1))
        alpha = jnp.where(accepted, alpha, 0.0)
        return alpha, n, accepted


def backtrack(
    fn: Callable[[jax.Array, Any], jax.Array],
    theta: jax.Array,
    g: jax.Array,
    p: jax.Array,
    Hg_dot_p: jax.Array,
    alpha_start: jax.Array | float | None,
    args: Any,
    options: BacktrackingLineSearch = BacktrackingLineSearch(),
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Backtracking line search of Algorithm 12 (pure; one ``lax.while_loop``).

    Args:
        fn: loss ``fn(theta, args)``.
        theta: current point; ``g = grad fn(theta)``.
        p: search direction.
        Hg_dot_p: ``p^T H g`` at ``theta``.
        alpha_start: first step length of the backtracking phase (``None``: ``options.alpha0``).
        args: data passed to ``fn``.
        options: the line-search options.

    Returns:
        ``(alpha, n_grad_evals, accepted)``: the accepted step length (``0.0``
        when the search failed; the new point is then ``theta`` itself), the
        number of gradient evaluations spent, and whether a step was accepted.
    """
    return options.search(fn, theta, g, p, Hg_dot_p, alpha_start, args)
