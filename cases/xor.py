r"""XOR with a 2-2-1 tanh/MSE net or a 2-2-2 tanh/softmax-cross-entropy net.

Inputs ``x ∈ {0,1}^2``, label ``y = x_1 xor x_2``.  Hidden layer
``h = tanh(W_1 x + b_1)`` (``W_1`` 2×2), linear output ``W_2 h + b_2``.
Flat layout: ``W_1`` (row-major), ``b_1``, ``W_2`` (row-major), ``b_2``.

Two facts of the XOR data drive everything: with residual signs
``s(x) = +1`` for ``y = 0`` and ``-1`` for ``y = 1``, ``Σ_x s(x) = 0`` and
``Σ_x s(x) x = 0``.

``variant="tanh-mse"`` (dim 9), ``L = mean((W_2 h + b_2 - y)^2)``.  On the manifold
``M = {W_1 = 0, W_2 = 0, b_2 = 1/2}`` (``b_1`` free) the output is ``1/2``, the
residual is ``s(x)/2``, and ``h = tanh(b_1) =: t`` is constant.  First-order output
change: ``dW_2 t + db_2`` (data-independent); second order: ``2 dW_2 (sech^2(b_1) ⊙
(dW_1 x + db_1))``.  Contracting with the residuals, ``Σ s = 0`` kills every
data-independent term and ``Σ s x = 0`` kills the ``dW_1 x`` term, so on all of
``M``: gradient 0 and ``Hess L = 2 v v^T`` with ``v = (0_{W1}, 0_{b1}, t, 1)``.
Loss 1/4, one positive eigenvalue ``2(1 + |t|^2)``, eight zero: index 0,
nullity 8 (the reference's claim holds for every ``b_1``, not only ``b_1 = 0``).

``variant="softmax-ce"`` (dim 12), ``L = mean(-log softmax(W_2 h + b_2)_y) + l2 ||θ||^2``
(the penalty on *all* parameters).  ``l2 = 0``: the same argument on
``M = {W_1 = 0, W_2 = 0, b_2 ∈ span(1,1)}`` (``b_1`` free, probabilities ``(1/2, 1/2)``,
logit Hessian ``A = (1/4)[[1,-1],[-1,1]]``) gives loss ``ln 2``, gradient 0 and
``Hess L = (1/4) w w^T`` with ``w = (0, 0, t, -t, 1, -1)`` on
``(W_1, b_1, W_2[0,:], W_2[1,:], b_2)``: one positive eigenvalue ``(1 + |t|^2)/2``,
eleven zero (index 0, nullity 11; not a strict minimum).  ``l2 > 0``: only the
origin stays critical; ``Hess L = (1/4) w w^T + 2 l2 I`` is positive definite:
a strict local minimum (index 0, nullity 0) with loss ``ln 2``.

Certified in SymPy with symbolic ``b_1`` in :mod:`cases.certificates.xor`.
"""

from __future__ import annotations

import math
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GroundTruth
from .registry import CaseSpec

NAME = "xor"
VARIANTS = ("tanh-mse", "softmax-ce")
X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])
#: ``match`` assigns the class to points within this distance of the manifold.
MATCH_RADIUS = 0.05
#: standard deviation of the Gaussian initial points around the representative.
INIT_STD = 0.5
#: smallest positive ``l2``: the Hessian's ``2 l2`` eigenvalues must exceed ``INDEX_EIG_TOL = 1e-5``.
MIN_L2 = 1e-5


def _hidden(theta: jnp.ndarray, x: jnp.ndarray) -> jnp.ndarray:
    return jnp.tanh(x @ theta[0:4].reshape(2, 2).T + theta[4:6])


def loss_tanh_mse(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    """2-2-1: ``mean((W_2 tanh(W_1 x + b_1) + b_2 - y)^2)``."""
    out = _hidden(theta, data["x"]) @ theta[6:8] + theta[8]
    return jnp.mean((out - data["y"]) ** 2)


def loss_softmax_ce(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    """2-2-2: ``mean(-log softmax(W_2 tanh(W_1 x + b_1) + b_2)_y) + l2 ||θ||^2``."""
    logits = _hidden(theta, data["x"]) @ theta[6:10].reshape(2, 2).T + theta[10:12]
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.sum(data["onehot"] * logp, axis=-1)) + data["l2"] * jnp.sum(theta**2)


class XorGroundTruth(GroundTruth):
    """Partial ground truth: one critical class (a manifold or the origin).

    :meth:`match` measures the distance to the class's manifold: the norm of the
    pinned coordinates' deviation (``W_1``, ``W_2``, and ``b_2 - 1/2`` for tanh-mse;
    ``W_1``, ``W_2``, ``(b_2[0] - b_2[1])/√2`` for softmax-ce at ``l2 = 0``; all of ``θ``
    when ``l2 > 0``) and returns the class within :data:`MATCH_RADIUS`, else ``None``.
    """

    match_rule = "distance of the pinned coordinates to the class's manifold <= MATCH_RADIUS (0.05)"

    def __init__(self, cls: CriticalClass, variant: str, l2: float) -> None:
        super().__init__((cls,), kind="partial")
        self.variant, self.l2 = variant, l2

    def distance(self, theta: np.ndarray) -> float:
        th = np.asarray(theta, dtype=float)
        if self.variant == "tanh-mse":
            return float(np.linalg.norm(np.concatenate([th[0:4], th[6:8], [th[8] - 0.5]])))
        if self.l2 > 0:
            return float(np.linalg.norm(th))
        return float(np.linalg.norm(np.concatenate([th[0:4], th[6:10], [(th[10] - th[11]) / math.sqrt(2)]])))

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        return self.classes[0] if self.distance(theta) <= MATCH_RADIUS else None


def make_case(variant: str = "tanh-mse", l2: float = 0.0) -> Case:
    """XOR network at its known critical manifold.

    Args:
        variant: ``"tanh-mse"`` (2-2-1, MSE) or ``"softmax-ce"`` (2-2-2, cross-entropy).
        l2: weight of ``l2 ||θ||^2``: 0 or in ``[1e-5, ∞)`` (so that ``2 l2`` clears the
            thesis eigenvalue tolerance 1e-5); softmax-ce only, since it would move
            the tanh-mse manifold off criticality.

    ``sample_init``: the class representative (all zero, ``b_2 = 1/2`` for
    tanh-mse) plus i.i.d. ``N(0, 0.5^2)`` noise.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    l2 = float(l2)
    if not (math.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 must be a finite number >= 0, got {l2}")
    if 0 < l2 < MIN_L2:
        raise ValueError(f"l2 must be 0 or >= {MIN_L2:g} (else its 2*l2 eigenvalues fall below the 1e-5 index tolerance)")
    if variant == "tanh-mse" and l2 != 0:
        raise ValueError("l2 is only supported for variant='softmax-ce'")
    if variant == "tanh-mse":
        dim, point, fn = 9, np.zeros(9), loss_tanh_mse
        point[8] = 0.5
        data = {"x": jnp.asarray(X), "y": jnp.asarray(Y)}
        cls = CriticalClass("b2=1/2", 0.25, 0, 8, dim, point,
                            {"manifold": "W1 = 0, W2 = 0, b2 = 1/2, b1 free",
                             "positive_eigenvalue": "2(1 + |tanh(b1)|^2)"})
    else:
        dim, point, fn = 12, np.zeros(12), loss_softmax_ce
        data = {"x": jnp.asarray(X), "onehot": jnp.asarray(np.eye(2)[Y.astype(int)]), "l2": jnp.asarray(l2)}
        if l2 == 0:
            cls = CriticalClass("uniform", math.log(2), 0, 11, dim, point,
                                {"manifold": "W1 = 0, W2 = 0, b2[0] = b2[1], b1 free",
                                 "positive_eigenvalue": "(1 + |tanh(b1)|^2)/2"})
        else:
            cls = CriticalClass("origin", math.log(2), 0, 0, dim, point,
                                {"type": "strict local minimum", "eigenvalues": "1/2 + 2 l2 (x1), 2 l2 (x11)"})

    def sample_init(rng: np.random.Generator, n: int) -> np.ndarray:
        return point + INIT_STD * rng.standard_normal((n, dim))

    def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
        th = np.asarray(theta)
        n_out = 1 if variant == "tanh-mse" else 2
        return {"W1": th[0:4].reshape(2, 2), "b1": th[4:6], "W2": th[6:6 + 2 * n_out].reshape(n_out, 2),
                "b2": th[6 + 2 * n_out:]}

    return Case(
        name=NAME,
        params={"variant": variant, "l2": l2},
        dim=dim,
        loss_fn=fn,
        data=data,
        sample_init=sample_init,
        ground_truth=XorGroundTruth(cls, variant, l2),
        description=f"XOR, {variant}" + (f", l2={l2:g}" if l2 else "") + f": class {cls.label}, loss {cls.loss:.4f}",
        unflatten=unflatten,
    )


CASE = CaseSpec(
    NAME,
    make_case,
    description="XOR 2-2-1 tanh/MSE or 2-2-2 softmax-CE: known degenerate critical manifolds (loss 1/4, ln 2)",
    ground_truth_kind="partial",
    small_params={},
    certificate="cases.certificates.xor:certify",
)
