"""Initial points sampled from an optimisation trajectory, uniformly by loss (thesis Sec. 3.2.3.2).

"To obtain initial points ... we first apply an optimization algorithm to the loss.
This generates a trajectory of values of θ with varying loss ... We follow [67] in
selecting these points uniformly at random based on their loss value ... To half of
the initial points attained in this manner, we add Gaussian noise with variance
1e-2."  Shared by the DLAE (:mod:`cases.dlae`, whose closed-form trajectory is plain
NumPy) and the field networks (:mod:`cases.field`, by :func:`gd_trajectory`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

#: The thesis's noise: variance 1e-2, standard deviation 0.1.
THESIS_NOISE = 0.1


def uniform_by_loss(rng: np.random.Generator, thetas: np.ndarray, losses: np.ndarray, n: int,
                    noise: float = THESIS_NOISE) -> np.ndarray:
    """``n`` points of a trajectory drawn uniformly by loss, ``N(0, noise^2)`` added to a random half.

    A target loss is drawn uniformly between the trajectory's smallest and largest
    (finite) loss and the iterate whose loss is nearest to it is taken; then
    ``floor(n / 2)`` of the ``n`` points, chosen at random, get i.i.d. noise.

    Args:
        rng: the generator (consumed in this order: targets, the noisy half, the noise).
        thetas: iterates ``(T, dim)``; losses: their losses ``(T,)``.
        n: points to draw; noise: standard deviation of the added noise.
    """
    finite = np.isfinite(losses)
    thetas, losses = thetas[finite], losses[finite]
    targets = rng.uniform(losses.min(), losses.max(), size=n)
    idx = np.argmin(np.abs(losses[None, :] - targets[:, None]), axis=1)
    return _noise_half(rng, thetas[idx].copy(), noise)


def uniform_by_iteration(rng: np.random.Generator, thetas: np.ndarray, losses: np.ndarray, n: int,
                         noise: float = THESIS_NOISE) -> np.ndarray:
    """``n`` iterates drawn uniformly by *iteration* (the scheme the thesis rejects: it over-represents
    low losses and the slow end of the trajectory), the same noise on a random half."""
    finite = np.isfinite(losses)
    thetas = thetas[finite]
    idx = rng.integers(0, thetas.shape[0], size=n)
    return _noise_half(rng, thetas[idx].copy(), noise)


def _noise_half(rng: np.random.Generator, out: np.ndarray, noise: float) -> np.ndarray:
    """Add ``N(0, noise^2)`` to ``floor(n / 2)`` randomly chosen rows of ``out`` (in place)."""
    n = out.shape[0]
    noisy = rng.permutation(n)[: n // 2]
    out[noisy] += rng.normal(0.0, noise, size=(noisy.size, out.shape[1]))
    return out


def _gd_impl(loss_fn: Callable[[Any, Any], Any], data: Any, theta0: jax.Array, lr: jax.Array,
             steps: int) -> tuple[jax.Array, jax.Array]:
    vg = jax.value_and_grad(loss_fn)

    def body(theta: jax.Array, _: None) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        f, g = vg(theta, data)
        return theta - lr * g, (theta, f)

    _, (thetas, losses) = jax.lax.scan(body, theta0, None, length=steps)
    return thetas, losses


_gd = jax.jit(_gd_impl, static_argnums=(0, 4))


def gd_trajectory(loss_fn: Callable[[Any, Any], Any], data: Any, theta0: np.ndarray, *, steps: int,
                  lr: float) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent ``θ_{t+1} = θ_t - lr ∇L(θ_t)``: iterates ``(steps, dim)`` and their losses.

    Iterates after the first non-finite loss are dropped (a step size too large for the
    landscape ends the trajectory rather than poisoning it).
    """
    thetas, losses = _gd(loss_fn, data, jnp.asarray(theta0, dtype=jnp.float64), jnp.float64(lr), int(steps))
    thetas, losses = np.asarray(thetas), np.asarray(losses)
    bad = ~(np.isfinite(losses) & np.all(np.isfinite(thetas), axis=1))
    stop = int(np.argmax(bad)) if bad.any() else len(losses)
    return thetas[: max(stop, 1)], losses[: max(stop, 1)]
