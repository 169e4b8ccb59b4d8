"""Exact Newton methods with a dense Hessian (thesis Algorithms 4, 5 and 9): small cases only.

Both form the full Hessian ``H = Hess L(theta)`` with ``jax.hessian`` (``O(N^2)``
memory, ``O(N^3)`` work per step), so they are meant for low-dimensional cases
(the quartic, Example 1.1, small networks) and as exact references for the
Krylov methods.  Cost accounting: one dense Hessian is counted as ``dim``
Hessian-vector products (it equals ``dim`` HVPs ``H e_i`` in information and,
with forward-over-reverse ``jax.hessian``, in work).

* :class:`ExactNewton` (``"exact-newton"``), Newton-Raphson, Algorithm 4 line 6:
  ``theta_{t+1} = theta_t - H^{-1} g`` (an LU solve, no explicit inverse).  If
  ``H`` is singular the LU solve divides by zero and the step is inf/NaN (or,
  when rounding leaves a tiny pivot, astronomically large); the shared loop then
  marks the run ``DIVERGED`` and keeps the last finite iterate.  That is the
  honest behaviour of Algorithm 4, which is undefined at singular ``H``.
* :class:`PseudoInverseNewton` (``"pinv-newton"``), Algorithm 5 / Algorithm 9:
  ``theta_{t+1} = theta_t + alpha p``, ``p = -H^+ g``, the minimum-norm
  least-squares solution of ``H p = -g`` (Algorithm 9 lines 6-7; equal to
  Algorithm 5's update whenever ``g`` is in the image of ``H``, and the natural
  meaning of it otherwise).  ``H^+`` is built from the symmetric eigendecomposition
  ``H = V diag(w) V^T``: eigenvalues with ``|w_i| <= rcond max_j |w_j|`` are treated
  as zero (the usual relative cutoff of ``numpy.linalg.pinv``).

Flatness statistics (thesis Sec. 3.4, Eqs. 3.36-3.37), reported exactly by both
(dense ``H``, exact ``||H||_F``; ``hfro_method = "exact"``), for the full step ``p``::

    r   = ||H p + g|| / (||H||_F ||p|| + ||g||)
    r_H = ||H (H p + g)|| / (||H||_F ||H p + g||)      (0 when H p + g = 0)

At a gradient-flat point (``g != 0`` in ``ker H``) the pseudo-inverse step is
``p = 0`` and ``H p + g = g``, so ``r = 1`` and ``r_H = 0``.

Default ``rcond = 1e-7``: the reciprocal of MINRES-QLP's ``acondlim = 1e7``
(thesis Sec. 2.6.2.1), so pinv-Newton and Newton-MR ignore the same
ill-conditioned part of the spectrum.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from ._iterative import IterativeSolver
from ._protocol import SolverOptionError, StepInfo, check_open_unit, check_positive

jax.config.update("jax_enable_x64", True)


def dense_hessian(fn: Callable, theta: jax.Array, args: Any) -> jax.Array:
    """The symmetrized dense Hessian ``(H + H^T) / 2`` of ``fn(., args)`` at ``theta``."""
    H = jax.hessian(fn)(theta, args)
    return 0.5 * (H + H.T)


def flatness_statistics(H: jax.Array, g: jax.Array, p: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Exact ``(r, r_H, ||H||_F)`` of the step ``p`` for the Newton system ``H p = -g``."""
    hfro = jnp.linalg.norm(H)
    resid = H @ p + g
    rn = jnp.linalg.norm(resid)
    r = rn / (hfro * jnp.linalg.norm(p) + jnp.linalg.norm(g))
    r_H = jnp.where(rn > 0, jnp.linalg.norm(H @ resid) / (hfro * jnp.where(rn > 0, rn, 1.0)), 0.0)
    return r, r_H, hfro


def pinv_solve(H: jax.Array, b: jax.Array, rcond: float) -> jax.Array:
    """``H^+ b`` for symmetric ``H`` (eigenvalues ``|w| <= rcond max|w|`` treated as zero)."""
    w, V = jnp.linalg.eigh(H)
    cut = rcond * jnp.max(jnp.abs(w))
    keep = jnp.abs(w) > cut
    winv = jnp.where(keep, 1.0 / jnp.where(keep, w, 1.0), 0.0)
    return V @ (winv * (V.T @ b))


@dataclasses.dataclass(frozen=True)
class ExactNewton(IterativeSolver):
    """Newton-Raphson, thesis Algorithm 4: ``theta <- theta - H^{-1} g`` (dense, small cases).

    No options.  Singular ``H`` gives a non-finite step and a ``DIVERGED`` run.
    Cost per step: one dense Hessian, counted as ``dim`` HVPs.
    """

    name: ClassVar[str] = "exact-newton"
    hfro_method: ClassVar[str] = "exact"
    dense: ClassVar[bool] = True  # one dense Hessian per step: dim HVPs (the default bound)

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        H = dense_hessian(fn, theta, args)
        p = -jnp.linalg.solve(H, g)
        r, r_H, hfro = flatness_statistics(H, g, p)
        info = StepInfo.make(step_size=1.0, r=r, r_H=r_H, hfro=hfro, hvps=theta.shape[0], grads=0)
        return theta + p, state, info


@dataclasses.dataclass(frozen=True)
class PseudoInverseNewton(IterativeSolver):
    """Pseudo-inverse Newton, thesis Algorithms 5 and 9: ``theta <- theta - alpha H^+ g``.

    Options:
        rcond: relative eigenvalue cutoff of the pseudo-inverse, in ``[0, 1)``.
        alpha: fixed step size in ``(0, 1]`` (the thesis's pure method: 1).

    At a gradient-flat point the step is zero, so the shared loop reports the
    run ``STALLED`` there.  Cost per step: one dense Hessian, counted as ``dim`` HVPs.
    """

    name: ClassVar[str] = "pinv-newton"
    hfro_method: ClassVar[str] = "exact"
    dense: ClassVar[bool] = True  # one dense Hessian per step: dim HVPs (the default bound)

    rcond: float = 1e-7
    alpha: float = 1.0

    def __post_init__(self) -> None:
        check_positive("rcond", self.rcond, allow_zero=True)
        if self.rcond >= 1:
            raise SolverOptionError(f"option 'rcond' must be < 1, got {self.rcond!r}")
        check_open_unit("alpha", self.alpha, closed_right=True)

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        H = dense_hessian(fn, theta, args)
        p = -pinv_solve(H, g, self.rcond)
        r, r_H, hfro = flatness_statistics(H, g, p)
        info = StepInfo.make(step_size=self.alpha, r=r, r_H=r_H, hfro=hfro, hvps=theta.shape[0], grads=0)
        return theta + self.alpha * p, state, info
