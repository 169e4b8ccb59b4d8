r"""Example 1.1 of the thesis: the one-dimensional deep linear autoencoder.

.. math::  L(\theta_1, \theta_2) = (\theta_2 \theta_1 - 1)^2

(thesis, Example 1.1: "using machine learning to multiply by 1").  With
``e = θ1θ2 - 1`` the gradient is ``∇L = 2e (θ2, θ1)`` and the Hessian is
``H = 2 [[θ2², 2θ1θ2 - 1], [2θ1θ2 - 1, θ1²]]``.  So ``∇L = 0`` exactly on

* the hyperbola ``θ1θ2 = 1`` (global minima, loss 0): ``H = 2 [[θ2², 1], [1, θ1²]]``
  has ``det H = 4(θ1²θ2² - 1) = 0`` and ``tr H = 2(θ1² + θ2²) > 0``: index 0, nullity 1;
* the origin (loss 1): ``H = [[0, -2], [-2, 0]]``, eigenvalues ``±2``: a strict saddle,
  index 1 (fraction 1/2), nullity 0.

Strict gradient-flat points (``H ∇L = 0``, ``∇L ≠ 0``): since ``∇L = 2e v`` with
``v = (θ2, θ1)``, they solve ``H v = 0`` with ``e ≠ 0, v ≠ 0``; eliminating gives
``θ1 = θ2 = ±1/√3`` (``θ1θ2 = 1/3``), loss ``4/9``, ``||∇L||² = 32/27``; the Hessian
of ``||∇L||²`` there has eigenvalues ``-32/3, 64/9``: both are saddles of the
gradient norm.  Certified in :mod:`cases.certificates.example11`.
"""

from __future__ import annotations

import math

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GradientFlatPoint, GroundTruth
from .registry import CaseSpec

NAME = "example-1.1"
_S3 = 1.0 / math.sqrt(3.0)


def loss_fn(theta: jnp.ndarray, data: dict) -> jnp.ndarray:
    """``(θ2 θ1 - 1)^2`` (``data`` is unused; kept for the case contract)."""
    return (theta[1] * theta[0] - 1.0) ** 2


class Example11GroundTruth(GroundTruth):
    """Two critical classes, decided by invariant rather than nearest representative.

    :meth:`match` compares the distance to the origin, ``||θ||``, with the
    first-order distance to the hyperbola, ``|θ1θ2 - 1| / ||θ||`` (the level-set
    distance ``|h(θ)| / ||∇h(θ)||`` for ``h = θ1θ2 - 1``), and returns the closer
    class if that distance is at most ``match_tol`` (default ``MATCH_DISTANCE``),
    else ``None``.  Gradient-flat points: nearest of ``±(1/√3, 1/√3)`` within
    ``flat_match_tol``.
    """

    match_rule = "distance to the origin or first-order distance |θ1θ2-1|/||θ|| to the hyperbola <= match_tol"

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (2,) or not np.all(np.isfinite(theta)):
            return None
        r = float(np.linalg.norm(theta))
        d_hyp = abs(theta[0] * theta[1] - 1.0) / r if r > 0 else math.inf
        if min(r, d_hyp) > self.match_tol:
            return None
        return self.class_by_label("origin" if r < d_hyp else "hyperbola")


def _ground_truth() -> Example11GroundTruth:
    classes = (
        CriticalClass(
            "hyperbola", 0.0, 0, 1, 2, np.array([1.0, 1.0]),
            {"manifold": "theta1*theta2 = 1", "type": "global minimum (non-strict)"},
        ),
        CriticalClass("origin", 1.0, 1, 0, 2, np.zeros(2), {"type": "strict saddle"}),
    )
    flats = tuple(
        GradientFlatPoint(f"flat{sign}", np.array([s * _S3, s * _S3]), 4.0 / 9.0, 32.0 / 27.0, "saddle")
        for sign, s in (("+", 1.0), ("-", -1.0))
    )
    return Example11GroundTruth(classes, flats, kind="exact")


def make_case(init_scale: float = 1.5) -> Case:
    """Example 1.1.

    Args:
        init_scale: standard deviation (> 0) of the isotropic Gaussian, centred
            at the origin, that ``sample_init`` draws from; the default 1.5
            covers the origin and both branches of the hyperbola.
    """
    init_scale = float(init_scale)
    if not (init_scale > 0 and math.isfinite(init_scale)):
        raise ValueError(f"init_scale must be a positive finite number, got {init_scale}")

    def sample_init(rng: np.random.Generator, n: int) -> np.ndarray:
        return init_scale * rng.standard_normal((n, 2))

    return Case(
        name=NAME,
        params={"init_scale": init_scale},
        dim=2,
        loss_fn=loss_fn,
        data={},
        sample_init=sample_init,
        ground_truth=_ground_truth(),
        description="Example 1.1: (θ2θ1 - 1)^2; hyperbola of minima and a strict saddle at 0",
        unflatten=lambda theta: {"theta1": np.asarray(theta)[0:1], "theta2": np.asarray(theta)[1:2]},
    )


CASE = CaseSpec(
    NAME,
    make_case,
    description="Thesis Example 1.1, (θ2θ1 - 1)^2: hyperbola of global minima, strict saddle at the origin",
    ground_truth_kind="exact",
    small_params={},
    certificate="cases.certificates.example11:certify",
)
