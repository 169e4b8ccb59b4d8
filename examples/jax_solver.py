"""Example JAX plug-in: Newton's method with a truncated conjugate-gradient solve.

Each step solves the Newton system ``H p = -g`` approximately with at most
``cg_iters`` conjugate-gradient iterations (one Hessian-vector product each,
``harness.solvers.hvp``) and moves ``theta <- theta + step_size * p``.  CG assumes a
positive-definite ``H``; on an indefinite Hessian it may head for a saddle or
overshoot (the thesis's Newton-MR, built in as ``newton-mr``, uses MINRES-QLP
instead).  Near a nondegenerate critical point the method converges
quadratically.

The solver is a frozen dataclass (options are fields, validated once in
``__post_init__``) with pure ``init``/``step`` functions; the harness's shared
``lax.while_loop`` (``harness.solvers.iterate``) runs it, ``jit``-compiled and
``vmap``-ed over the batch of initial points, and handles convergence,
divergence, traces and snapshots.

Run it::

    critbench run --case quartic --solver examples.jax_solver:NewtonCG --opt cg_iters=20
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from harness.solvers import IterativeSolver, StepInfo, check_positive, hvp


@dataclasses.dataclass(frozen=True)
class NewtonCG(IterativeSolver):
    """Newton-CG: ``p ~= -H^{-1} g`` by at most ``cg_iters`` CG steps, ``theta += step_size * p``.

    Attributes:
        step_size: fixed step length (1.0 is the pure Newton step).
        cg_iters: at most this many CG iterations (one HVP each) per Newton step.
        cg_rtol: CG stops early when ``||H p + g|| <= cg_rtol * ||g||``.
    """

    name: ClassVar[str] = "example-newton-cg"
    step_size: float = 1.0
    cg_iters: int = 10
    cg_rtol: float = 1e-10

    def __post_init__(self) -> None:
        check_positive("step_size", self.step_size)
        check_positive("cg_iters", self.cg_iters, integer=True)
        check_positive("cg_rtol", self.cg_rtol)

    def init(self, fn, theta, f, g, args) -> Any:
        return ()  # stateless: everything a step needs is (theta, f, g)

    def step(self, fn, theta, f, g, state, args):
        matvec = lambda v: hvp(fn, theta, v, args)  # noqa: E731  (one HVP per call)
        gnorm = jnp.linalg.norm(g)
        tiny = jnp.finfo(jnp.float64).tiny

        def cond(c):
            return (~c[5]) & (c[4] < self.cg_iters)

        def body(c):
            p, r, d, rr, k, _ = c
            Hd = matvec(d)
            dHd = jnp.vdot(d, Hd)
            breakdown = jnp.abs(dHd) <= tiny  # d is (numerically) in ker H: keep p
            alpha = jnp.where(breakdown, 0.0, rr / jnp.where(breakdown, 1.0, dHd))
            p, r = p + alpha * d, r - alpha * Hd
            rr_new = jnp.vdot(r, r)
            d = r + rr_new / jnp.maximum(rr, tiny) * d
            done = breakdown | (jnp.sqrt(rr_new) <= self.cg_rtol * gnorm)
            return p, r, d, rr_new, k + 1, done

        # CG on H p = -g from p = 0: residual r = -g - H p = -g, first direction d = r.
        c0 = (jnp.zeros_like(g), -g, -g, jnp.vdot(g, g), jnp.int64(0), gnorm == 0)
        p, _, _, _, k, _ = jax.lax.while_loop(cond, body, c0)
        info = StepInfo.make(step_size=self.step_size, krylov_iters=k, hvps=k)
        return theta + self.step_size * p, state, info
