"""Dense numerical checks used by certificates, tests and the scorer.

These form the full Hessian and are meant for small cases only (a few hundred
parameters); solvers never call them.
"""

from __future__ import annotations

from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import INDEX_EIG_TOL


def dense_gradient(loss_fn: Any, theta: np.ndarray, data: Any) -> np.ndarray:
    """``grad L(theta)`` as a float64 NumPy vector."""
    return np.asarray(jax.grad(loss_fn)(jnp.asarray(theta, dtype=jnp.float64), data))


def dense_hessian(loss_fn: Any, theta: np.ndarray, data: Any) -> np.ndarray:
    """The full symmetric Hessian ``Hess L(theta)`` (float64, symmetrised)."""
    h = np.asarray(jax.hessian(loss_fn)(jnp.asarray(theta, dtype=jnp.float64), data))
    return 0.5 * (h + h.T)


def inertia(eigs: np.ndarray, tol: float = INDEX_EIG_TOL, zero_tol: float | None = None) -> tuple[int, int, int]:
    """``(n_negative, n_zero, n_positive)`` of a spectrum.

    Negative means ``< -tol`` (thesis convention); zero means ``|e| <= zero_tol``
    (default ``tol``); the rest positive.
    """
    eigs = np.asarray(eigs, dtype=float)
    zt = tol if zero_tol is None else zero_tol
    neg = int(np.sum(eigs < -tol))
    zero = int(np.sum(np.abs(eigs) <= zt))
    return neg, zero, int(eigs.size - neg - zero)
