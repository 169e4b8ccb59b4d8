"""The derivative oracles a solver may call: the Hessian-vector product and counting NumPy callables.

* :func:`hvp`: ``Hess fn(theta) @ v`` as ``jvp`` of ``grad`` (forward-over-reverse), one HVP;
* :class:`NumpyOracles`: ``loss(theta)``, ``grad(theta)``, ``hvp(theta, v)`` as float64 NumPy
  callables over jit-compiled JAX, counting their calls (the harness's portable cost measure),
  for solvers written in NumPy/SciPy (``Problem.numpy_oracles()``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

if TYPE_CHECKING:
    from ._protocol import Problem

__all__ = ["NumpyOracles", "hvp"]


class NumpyOracles:
    """Counting NumPy callables ``loss(theta)``, ``grad(theta)``, ``hvp(theta, v)``.

    For wrapping solvers written in NumPy/SciPy: each call is jit-compiled
    JAX underneath, returns float64 NumPy arrays, and increments the counters
    ``n_loss``, ``n_grad`` and ``n_hvp`` (the harness's portable cost measure).
    """

    def __init__(self, problem: Problem) -> None:
        fn, data = problem.loss_fn, problem.data
        loss, grad, hvp_ = _numpy_oracle_fns(fn)  # compiled once per loss function, data traced
        self._loss = lambda t: loss(t, data)
        self._grad = lambda t: grad(t, data)
        self._hvp = lambda t, v: hvp_(t, v, data)
        self.n_loss = 0
        self.n_grad = 0
        self.n_hvp = 0

    def loss(self, theta: np.ndarray) -> float:
        self.n_loss += 1
        return float(self._loss(jnp.asarray(theta, dtype=jnp.float64)))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        self.n_grad += 1
        return np.asarray(self._grad(jnp.asarray(theta, dtype=jnp.float64)))

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        self.n_hvp += 1
        return np.asarray(self._hvp(jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(v, dtype=jnp.float64)))


@functools.lru_cache(maxsize=64)
def _numpy_oracle_fns(fn: Callable[[Any, Any], Any]) -> tuple[Callable, Callable, Callable]:
    """jit-compiled ``loss(t, data)``, ``grad(t, data)``, ``hvp(t, v, data)`` of one loss
    function (the data is an argument, so a fresh copy per shard does not recompile)."""
    return (jax.jit(fn), jax.jit(jax.grad(fn)), jax.jit(lambda t, v, d: hvp(fn, t, v, d)))


def hvp(fn: Callable[[Any, Any], Any], theta: jax.Array, v: jax.Array, args: Any) -> jax.Array:
    """Hessian-vector product ``Hess fn(theta) @ v`` as ``jvp`` of ``grad`` (one HVP)."""
    g = lambda t: jax.grad(fn)(t, args)  # noqa: E731
    return jax.jvp(g, (theta,), (v,))[1]

