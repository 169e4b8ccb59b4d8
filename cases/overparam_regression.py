r"""Over-parameterized regression without regularization (Cooper's critical locus, seed 002).

Network and loss as :mod:`cases.degenerate_mlp` (``h_l = σ(W_l h_{l-1} + b_l)``,
linear output, ``L = mean((f(x) - y)^2)``) with a *scalar* output, ``n`` data
points and more parameters ``d`` than data points.  Cooper: the global minima
(``f(x_i) = y_i`` for all ``i``) form, generically, a smooth manifold of dimension
``d - n``; at a global minimum ``Hess L = (2/n) Jᵀ J`` with ``J`` the ``n x d``
Jacobian of the outputs, of rank ``n``, so the Hessian's nullity is exactly
``d - n`` and its other ``n`` eigenvalues are positive.

No closed-form critical points are certified here (``ground_truth_kind="none"``):
the experiment ``critbench reproduce cooper-locus`` measures the nullity of the
global minima that a solver finds and compares it with ``d - n``.

Data: :func:`cases.degenerate_mlp.make_data` (``x`` standard normal rounded to
1/8, ``y`` a random one-hidden-layer tanh teacher of ``x``).  Initial points:
Glorot-normal weights, zero biases.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from ._core import Case
from .degenerate_mlp import ACTIVATIONS, MLPData, loss_fn, make_data, n_params, param_slices, unflatten_params
from .registry import CaseSpec

NAME = "overparam-regression"


def make_case(widths: tuple[int, ...] = (3, 6, 1), activation: str = "tanh", n: int = 8, seed: int = 0) -> Case:
    """Scalar-output MLP on ``n`` points with ``d = n_params(widths) > n``.

    Args:
        widths: ``(d_in, hidden..., 1)``, 3..6 entries, each ``1..32``, last 1.
        activation: ``"tanh"`` or ``"swish"``.
        n: number of data points, ``1 <= n < d``.
        seed: seed of the data.
    """
    widths = tuple(int(w) for w in widths)
    if not 3 <= len(widths) <= 6 or any(not 1 <= w <= 32 for w in widths) or widths[-1] != 1:
        raise ValueError(f"widths must have 3..6 entries, each in 1..32, the last 1; got {widths}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    dim = n_params(widths)
    if int(n) != n or not 1 <= n < dim:
        raise ValueError(f"n must be an integer with 1 <= n < d = {dim}, got {n}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    n, seed = int(n), int(seed)
    x, y = make_data(widths, n, seed)
    layers = param_slices(widths)

    def sample_init(rng: np.random.Generator, m: int) -> np.ndarray:
        out = np.zeros((m, dim))
        for ws, (r, c), _ in layers:
            out[:, ws] = rng.normal(0.0, np.sqrt(2.0 / (r + c)), size=(m, r * c))
        return out

    def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
        return unflatten_params(theta, widths)

    return Case(
        name=NAME,
        params={"widths": widths, "activation": activation, "n": n, "seed": seed},
        dim=dim,
        loss_fn=loss_fn,
        data=MLPData(jnp.asarray(x), jnp.asarray(y), widths, activation),
        sample_init=sample_init,
        ground_truth=None,
        description=f"{activation} MLP {widths}, MSE, no regularization, n={n} < d={dim}: "
                    f"global minima form a (d - n = {dim - n})-dimensional locus",
        unflatten=unflatten,
    )


CASE = CaseSpec(
    NAME,
    make_case,
    description="Cooper: over-parameterized scalar regression (d > n, no L2); global minima have nullity d - n",
    ground_truth_kind="none",
    small_params={},
)
