r"""Deep linear networks ``y = W_L ... W_1 x`` with mean-squared error; the origin.

.. math::  L(W_1, \dots, W_L) = \frac{1}{n\, d_{out}} \lVert Y - W_L \cdots W_1 X \rVert_F^2

on a small fixed dataset (``X``: ``d_in × n``, ``Y``: ``d_out × n``), hidden widths
all equal to ``hidden``.  Parameters are flattened layer by layer (``W_1`` first,
each row-major).

Known ground truth (``kind="partial"``; only the origin class is claimed):

* The origin (all ``W_l = 0``) is critical for every depth ``L >= 2``: along any
  ray, ``L(tΔ) = ||Y||^2/N - (2t^L/N) tr(Y^T P X) + t^{2L} ||P X||^2/N`` with
  ``P = Δ_L ... Δ_1`` and ``N = n d_out``, which has no ``t^1`` term.
* Depth ``L >= 3``: no ``t^2`` term either, so the Hessian at the origin is
  identically zero (index 0, nullity = dim).  When ``Y X^T ≠ 0`` the cubic-or-
  higher term makes it a saddle that no second-order test detects: a
  *non-strict* saddle (REFERENCE.md; lecture notes seed 003).
* Depth ``L = 2``: ``Δ^T H Δ = -(4/N) tr(W_2 W_1 C^T)`` with ``C = Y X^T``.  Writing
  ``W_2 W_1 = Σ_h w2_h w1_h^T`` (column ``h`` of ``W_2``, row ``h`` of ``W_1``), the
  Hessian is block diagonal over hidden units, each block
  ``[[0, -κ C^T], [-κ C, 0]]`` on ``(w1_h, w2_h)`` with ``κ = 2/N``, whose eigenvalues
  are ``±κ σ_i(C)`` plus zeros.  Hence index ``= hidden · rank C`` and nullity
  ``= hidden · (d_in + d_out - 2 rank C)``: a strict saddle iff ``C ≠ 0``.

The data are quantised to multiples of 1/8 (dyadic rationals, exact in float64
and cheap in SymPy); certified in :mod:`cases.certificates.deep_linear`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GroundTruth
from .registry import CaseSpec

NAME = "deep-linear"
#: Largest layer width and sample count (widths giving ~1e5 parameters at depth 3-4).
MAX_WIDTH = 1024
MAX_N = 256
#: ``match`` assigns the origin class to points with ``||θ|| <= ORIGIN_RADIUS``.
ORIGIN_RADIUS = 0.05


@dataclasses.dataclass(frozen=True)
class LinearData:
    """Dataset plus the static layer widths ``(d_in, hidden, ..., d_out)``."""

    x: jnp.ndarray
    y: jnp.ndarray
    widths: tuple[int, ...]


jax.tree_util.register_dataclass(LinearData, data_fields=["x", "y"], meta_fields=["widths"])


def layer_shapes(widths: tuple[int, ...]) -> list[tuple[int, int]]:
    """``[(w_1, w_0), (w_2, w_1), ...]``: the shape of each ``W_l``."""
    return [(widths[i + 1], widths[i]) for i in range(len(widths) - 1)]


def unflatten_weights(theta: Any, widths: tuple[int, ...]) -> list[Any]:
    """Split a flat ``θ`` into ``[W_1, ..., W_L]`` (works for NumPy and JAX arrays)."""
    out, k = [], 0
    for r, c in layer_shapes(widths):
        out.append(theta[k:k + r * c].reshape(r, c))
        k += r * c
    return out


def loss_fn(theta: jnp.ndarray, data: LinearData) -> jnp.ndarray:
    """``mean((Y - W_L ... W_1 X)^2)``."""
    h = data.x
    for w in unflatten_weights(theta, data.widths):
        h = w @ h
    return jnp.mean((data.y - h) ** 2)


def make_data(d_in: int, d_out: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``X`` standard normal, ``Y = T X + noise/2`` (``T`` standard normal), both rounded to 1/8."""
    rng = np.random.default_rng(seed)
    x = np.round(8 * rng.standard_normal((d_in, n))) / 8
    t = rng.standard_normal((d_out, d_in))
    y = np.round(8 * (t @ x + 0.5 * rng.standard_normal((d_out, n)))) / 8
    return x, y


class OriginGroundTruth(GroundTruth):
    """Partial ground truth: one class at the origin, matched within a radius.

    Other critical points exist arbitrarily close to the origin (e.g. for depth
    3, ``W_1 = W_2 = 0`` with any ``W_3``), so a point is assigned the origin class
    only when ``||θ|| <= radius``; otherwise ``match`` returns ``None``.
    """

    match_rule = "||θ|| <= ORIGIN_RADIUS (0.05) (other critical points lie arbitrarily close to the origin)"

    kind = "partial"

    def __init__(self, classes: Any, radius: float = ORIGIN_RADIUS) -> None:
        super().__init__(classes, kind="partial")
        self.radius = radius

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        return self.classes[0] if float(np.linalg.norm(np.asarray(theta, dtype=float))) <= self.radius else None


def origin_class(x: np.ndarray, y: np.ndarray, depth: int, hidden: int) -> CriticalClass:
    """The origin's loss, index and nullity by the closed forms in the module docstring."""
    d_in, n = x.shape
    d_out = y.shape[0]
    dim = sum(r * c for r, c in layer_shapes((d_in, *[hidden] * (depth - 1), d_out)))
    loss = float(np.mean(y**2))
    if depth >= 3:
        return CriticalClass("origin", loss, 0, dim, dim, np.zeros(dim),
                             {"type": "non-strict saddle (Hessian identically zero)" if np.any(y @ x.T)
                              else "degenerate (Hessian identically zero)"})
    c = y @ x.T
    sv = np.linalg.svd(c, compute_uv=False)
    rank = int(np.sum(sv > 1e-12 * max(1.0, sv.max(initial=0.0))))
    kappa = 2.0 / (n * d_out)
    info = {"type": "strict saddle" if rank else "degenerate (C = 0)",
            "hessian_nonzero_eigs": "±(2/(n d_out)) σ_i(Y X^T), each with multiplicity hidden",
            "sigma_C": sv.tolist(), "kappa": kappa, "rank_C": rank}
    return CriticalClass("origin", loss, hidden * rank, hidden * (d_in + d_out - 2 * rank), dim, np.zeros(dim), info)


def make_case(depth: int = 3, d_in: int = 3, hidden: int = 4, d_out: int = 2, n: int = 16, seed: int = 0) -> Case:
    """Deep linear network on a seeded dataset; ground truth at the origin.

    Args:
        depth: number of weight matrices ``L``, ``2..6``.
        d_in, hidden, d_out: layer widths, each ``1..MAX_WIDTH`` (1024: depth 3 at
            ``d_in = hidden = d_out = 183`` has 100,467 parameters, issue 22).
        n: number of data points, ``1..MAX_N`` (256).
        seed: data seed (``>= 0``); see :func:`make_data`.

    ``sample_init`` draws every ``W_l`` entry i.i.d. ``N(0, 1/fan_in)`` (LeCun normal).
    """
    for name, v, lo, hi in (("depth", depth, 2, 6), ("d_in", d_in, 1, MAX_WIDTH), ("hidden", hidden, 1, MAX_WIDTH),
                            ("d_out", d_out, 1, MAX_WIDTH), ("n", n, 1, MAX_N)):
        if int(v) != v or not lo <= v <= hi:
            raise ValueError(f"{name} must be an integer in {lo}..{hi}, got {v}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    depth, d_in, hidden, d_out, n, seed = map(int, (depth, d_in, hidden, d_out, n, seed))
    widths = (d_in, *[hidden] * (depth - 1), d_out)
    x, y = make_data(d_in, d_out, n, seed)
    cls = origin_class(x, y, depth, hidden)
    scales = np.concatenate([np.full(r * c, 1 / np.sqrt(c)) for r, c in layer_shapes(widths)])

    def sample_init(rng: np.random.Generator, m: int) -> np.ndarray:
        return scales * rng.standard_normal((m, scales.size))

    def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
        return {f"W{i + 1}": w for i, w in enumerate(unflatten_weights(np.asarray(theta), widths))}

    return Case(
        name=NAME,
        params={"depth": depth, "d_in": d_in, "hidden": hidden, "d_out": d_out, "n": n, "seed": seed},
        dim=cls.dim,
        loss_fn=loss_fn,
        data=LinearData(jnp.asarray(x), jnp.asarray(y), widths),
        sample_init=sample_init,
        ground_truth=OriginGroundTruth((cls,)),
        description=f"deep linear net, depth {depth}, widths {widths}; origin: {cls.info['type']}",
        unflatten=unflatten,
    )


CASE = CaseSpec(
    NAME,
    make_case,
    description="Deep linear network, MSE: origin critical; zero Hessian for depth >= 3, strict saddle at depth 2",
    ground_truth_kind="partial",
    small_params={},
    certificate="cases.certificates.deep_linear:certify",
)
