r"""Degenerate critical points of MLPs with several zero weight matrices (after
Cooper's star/core locus, seed 002; REFERENCE.md "Degenerate deep-net points").

Network: ``h_0 = x``, ``h_l = σ(W_l h_{l-1} + b_l)`` for ``l < L``, output
``f(x) = W_L h_{L-1} + b_L``; loss ``mean((f(x) - y)^2)`` over samples and outputs
(``N = n d_out`` terms), activation ``σ = tanh`` or swish ``z·sigmoid(z)``.
Parameters are flattened layer by layer as ``W_l`` (row-major) then ``b_l``.

The certified point: the *last* ``n_zero`` weight matrices are zero (so
``W_L = 0``), the other weights and all hidden biases are arbitrary (seeded,
multiples of 1/8), and ``b_L = mean(y)``.  Derivation:

* The output is the constant ``b_L = ȳ``, so the residuals ``r(x) = ȳ - y`` sum to 0.
* The data ``x`` reach the output only through every zero matrix, and each zero
  ``W_z`` passes a change only if ``W_z`` itself is perturbed; so the
  ``x``-dependent part of ``f`` is of order ``>= n_zero`` in the perturbation.
  Every lower-order term is data-independent and is annihilated by ``Σ_x r(x) = 0``
  in the gradient ``(2/N) Σ_x J(x)^T r(x)`` and in the curvature term
  ``(2/N) Σ_x r(x) ∇²f(x)``.
* ``n_zero >= 3``: gradient 0, and ``Hess L = (2/N) Σ_x J_0^T J_0`` with the
  data-independent first-order Jacobian ``J_0``.  Since ``W_{L-1} = W_L = 0``,
  ``h_{L-1} = σ(b_{L-1}) =: s`` is constant and ``df_k = dW_L[k,:] s + db_L[k]``, so
  ``Hess L = (2/d_out) Σ_k v_k v_k^T`` with ``v_k`` = ``(s, 1)`` on
  ``(W_L[k,:], b_L[k])`` and zero elsewhere: exactly one positive eigenvalue per
  output, ``(2/d_out)(1 + ||s||^2)``, living on the output layer ``(W_L, b_L)``
  (purely the output-bias block when ``s = 0``, e.g. zero hidden biases with
  ``σ(0) = 0``); index 0, nullity ``dim - d_out``: a degenerate (non-strict)
  critical point.  Loss and inertia are the same on the whole manifold
  ``{last n_zero W's = 0, b_L = ȳ}``, which is what :meth:`match` tests.
* ``n_zero = 2``: the second-order cross term ``2 dW_L σ'(·) dW_{L-1} h_{L-2}(x)``
  is data-dependent, giving an off-diagonal Hessian block
  ``∝ Σ_x r(x) h_{L-2}(x)^T``; generically nonzero, so the point is a *strict saddle*.
  Its index is measured by a dense eigendecomposition at construction
  (``kind`` of the class info: ``"numeric"``).

``σ(0) = 0`` (both activations) is what makes the point critical when hidden
biases are zero too; with the seeded biases it is not needed by the argument.
Certified in :mod:`cases.certificates.degenerate_mlp`.
"""

from __future__ import annotations

import dataclasses

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GroundTruth
from .registry import CaseSpec

NAME = "degenerate-mlp"
ACTIVATIONS = ("tanh", "swish")
#: ``match`` assigns the class to points within this Euclidean distance of it.
MATCH_RADIUS = 0.05
#: standard deviation of the Gaussian initial points around the certified point.
INIT_STD = 0.1


@dataclasses.dataclass(frozen=True)
class MLPData:
    """Dataset ``x`` (n × d_in), ``y`` (n × d_out) plus static architecture."""

    x: jnp.ndarray
    y: jnp.ndarray
    widths: tuple[int, ...]
    activation: str


jax.tree_util.register_dataclass(MLPData, data_fields=["x", "y"], meta_fields=["widths", "activation"])


def param_slices(widths: tuple[int, ...]) -> list[tuple[slice, tuple[int, int], slice]]:
    """For each layer: (slice of W_l, shape of W_l, slice of b_l) in the flat vector."""
    out, k = [], 0
    for i in range(len(widths) - 1):
        r, c = widths[i + 1], widths[i]
        out.append((slice(k, k + r * c), (r, c), slice(k + r * c, k + r * c + r)))
        k += r * c + r
    return out


def unflatten_params(theta: np.ndarray, widths: tuple[int, ...]) -> dict[str, np.ndarray]:
    """``{"W1": ..., "b1": ..., ...}`` of the flat vector ``theta`` (layout :func:`param_slices`)."""
    theta = np.asarray(theta)
    out = {}
    for i, (ws, shape, bs) in enumerate(param_slices(widths)):
        out[f"W{i + 1}"], out[f"b{i + 1}"] = theta[ws].reshape(shape), theta[bs]
    return out


def n_params(widths: tuple[int, ...]) -> int:
    return sum(widths[i + 1] * (widths[i] + 1) for i in range(len(widths) - 1))


def _act(z: jnp.ndarray, activation: str) -> jnp.ndarray:
    return jnp.tanh(z) if activation == "tanh" else z * jax.nn.sigmoid(z)


def forward(theta: jnp.ndarray, data: MLPData) -> jnp.ndarray:
    """Network outputs, shape (n, d_out)."""
    h = data.x
    layers = param_slices(data.widths)
    for i, (ws, shape, bs) in enumerate(layers):
        z = h @ theta[ws].reshape(shape).T + theta[bs]
        h = z if i == len(layers) - 1 else _act(z, data.activation)
    return h


def loss_fn(theta: jnp.ndarray, data: MLPData) -> jnp.ndarray:
    """``mean((f(x) - y)^2)`` over samples and outputs."""
    return jnp.mean((forward(theta, data) - data.y) ** 2)


def make_data(widths: tuple[int, ...], n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``x`` standard normal; ``y`` a random one-hidden-layer tanh teacher of ``x``; both rounded to 1/8."""
    rng = np.random.default_rng(seed)
    x = np.round(8 * rng.standard_normal((n, widths[0]))) / 8
    a = rng.standard_normal((widths[0], 3))
    bmat = rng.standard_normal((3, widths[-1]))
    y = np.round(8 * np.tanh(x @ a) @ bmat) / 8
    return x, y


def degenerate_point(widths: tuple[int, ...], n_zero: int, y: np.ndarray, seed: int) -> np.ndarray:
    """Last ``n_zero`` weight matrices 0, other weights ``N(0, 1/fan_in)`` and hidden biases ``N(0, 1)``
    (rounded to 1/8, seeded), output bias ``mean(y)``."""
    rng = np.random.default_rng(seed + 1_000_003)
    theta = np.zeros(n_params(widths))
    layers = param_slices(widths)
    n_layers = len(layers)
    for i, (ws, (r, c), bs) in enumerate(layers):
        if i < n_layers - n_zero:
            theta[ws] = np.round(8 * rng.standard_normal(r * c) / np.sqrt(c)) / 8
        if i < n_layers - 1:
            theta[bs] = np.round(8 * rng.standard_normal(r)) / 8
    theta[layers[-1][2]] = y.mean(axis=0)
    return theta


class DegenerateGroundTruth(GroundTruth):
    """Partial ground truth: one class, matched within :data:`MATCH_RADIUS`.

    ``n_zero >= 3``: the distance is to the critical manifold (last ``n_zero``
    weight matrices zero, ``b_L = ȳ``; the remaining parameters free), on which
    loss, index and nullity are constant.  ``n_zero = 2``: the index varies along
    that manifold, so the distance is to the certified point itself.
    """

    match_rule = ("distance to the critical manifold (n_zero >= 3) or to the certified point (n_zero = 2) "
                  "<= MATCH_RADIUS (0.05)")

    def __init__(self, cls: CriticalClass, mask: np.ndarray | None) -> None:
        super().__init__((cls,), kind="partial")
        self._mask = mask  # coordinates pinned on the manifold (None: whole point)

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        cls = self.classes[0]
        diff = np.asarray(theta, dtype=float) - cls.point
        if self._mask is not None:
            diff = diff[self._mask]
        return cls if float(np.linalg.norm(diff)) <= MATCH_RADIUS else None


def make_case(
    widths: tuple[int, ...] = (2, 4, 4, 4, 1),
    n_zero: int = 3,
    activation: str = "tanh",
    n: int = 16,
    seed: int = 0,
) -> Case:
    """MLP at a degenerate critical point with the last ``n_zero`` weight matrices zero.

    Args:
        widths: ``(d_in, hidden..., d_out)``, 3..7 entries, each ``1..16``.
        n_zero: number of trailing zero weight matrices, ``2..len(widths)-1``
            (``>= 3``: certified degenerate, index 0; ``2``: strict saddle, index measured).
        activation: ``"tanh"`` or ``"swish"`` (both have ``σ(0) = 0``).
        n: number of data points, ``1..256``.
        seed: seed of data and of the free parameters of the point.

    ``sample_init``: the certified point plus i.i.d. ``N(0, 0.1^2)`` noise.
    """
    widths = tuple(int(w) for w in widths)
    if not 3 <= len(widths) <= 7 or any(not 1 <= w <= 16 for w in widths):
        raise ValueError(f"widths must have 3..7 entries, each in 1..16, got {widths}")
    n_layers = len(widths) - 1
    if int(n_zero) != n_zero or not 2 <= n_zero <= n_layers:
        raise ValueError(f"n_zero must be an integer in 2..{n_layers} (number of weight matrices), got {n_zero}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}")
    if int(n) != n or not 1 <= n <= 256:
        raise ValueError(f"n must be an integer in 1..256, got {n}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    n_zero, n, seed = int(n_zero), int(n), int(seed)
    x, y = make_data(widths, n, seed)
    data = MLPData(jnp.asarray(x), jnp.asarray(y), widths, activation)
    point = degenerate_point(widths, n_zero, y, seed)
    dim, d_out = point.size, widths[-1]
    loss = float(np.mean((y - y.mean(axis=0)) ** 2))
    layers = param_slices(widths)
    if n_zero >= 3:
        mask = np.zeros(dim, dtype=bool)
        for ws, _, _ in layers[n_layers - n_zero:]:
            mask[ws] = True
        mask[layers[-1][2]] = True
        cls = CriticalClass("star", loss, 0, dim - d_out, dim, point,
                            {"type": "degenerate critical point (index 0, one positive eigenvalue per output)",
                             "zero_matrices": list(range(n_layers - n_zero + 1, n_layers + 1)),
                             "positive_eigenvalue": float(2.0 / d_out * (1 + np.sum(np.asarray(
                                 _act(jnp.asarray(point[layers[-2][2]]), activation)) ** 2))),
                             "kind": "exact"})
    else:
        from ._numeric import dense_hessian, inertia

        eig = np.linalg.eigvalsh(dense_hessian(loss_fn, point, data))
        neg, zero, pos = inertia(eig)
        mask = None
        cls = CriticalClass("star2", loss, neg, zero, dim, point,
                            {"type": "strict saddle" if neg else "no negative curvature found",
                             "zero_matrices": [n_layers - 1, n_layers], "positive": pos,
                             "min_eig": float(eig[0]), "kind": "numeric"})

    def sample_init(rng: np.random.Generator, m: int) -> np.ndarray:
        return point + INIT_STD * rng.standard_normal((m, dim))

    def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
        return unflatten_params(theta, widths)

    return Case(
        name=NAME,
        params={"widths": widths, "n_zero": n_zero, "activation": activation, "n": n, "seed": seed},
        dim=dim,
        loss_fn=loss_fn,
        data=data,
        sample_init=sample_init,
        ground_truth=DegenerateGroundTruth(cls, mask),
        description=f"{activation} MLP {widths}, last {n_zero} weight matrices zero: {cls.info['type']}",
        unflatten=unflatten,
    )


CASE = CaseSpec(
    NAME,
    make_case,
    description="MLP with >= 3 zero weight matrices and b_L = mean(y): degenerate critical point (Cooper star locus)",
    ground_truth_kind="partial",
    small_params={},
    certificate="cases.certificates.degenerate_mlp:certify",
)


def star_locus_point(widths: tuple[int, ...], i: int, y: np.ndarray, rng: np.random.Generator,
                     zero_layers: tuple[int, ...] = ()) -> np.ndarray:
    r"""A random point of the star-locus component ``V_i`` (Cooper, seed 002, Sec. 3.1; re-derived here:
    the seed's formulas are stripped).

    Layers are numbered ``1..H+1`` (``H = len(widths) - 2`` hidden layers, ``A_l = (W_l, b_l)``).
    ``V_i`` (``1 <= i <= H``) is the linear subspace

    .. math::  W_i = 0,\ b_i = 0,\quad b_j = 0\ (i < j \le H),\quad W_{H+1} = 0,\quad b_{H+1} = \bar y,

    with every other coordinate free (``A_l`` for ``l < i`` and ``W_j`` for ``i < j <= H``; drawn here
    ``N(0, 1/fan_in)`` for weights, ``N(0, 1)`` for biases).  Why it is critical (Theorem 3.1, the
    property its proof uses: ``∂f/∂p ≡ 0`` on the data for every parameter ``p`` but ``b_{H+1}``):
    with ``σ(0) = 0``, ``h_i = σ(0) = 0`` and then ``h_j = σ(W_j·0 + 0) = 0`` up to ``h_H``, so
    ``∂f/∂W_{H+1} = h_H = 0``; every other parameter below the output acts on ``f`` only through
    ``W_{H+1} = 0``; and ``∂L/∂b_{H+1} ∝ Σ_x (f(x) - y(x)) = Σ_x (ȳ - y(x)) = 0``.

    ``zero_layers``: further hidden layers ``l < i`` with ``A_l = 0`` too (``(l, i)`` a point of the
    2-core, Cooper's core locus, Theorem 3.2).

    The Hessian at a point of ``V_i`` (derived in :func:`star_hessian_prediction`) is not that of the
    core: the mixed ``(W_{H+1}, W_i)`` block ``Σ_x r(x) ∂h_H(x)/∂W_i`` is ``x``-dependent and nonzero.
    """
    widths = tuple(int(w) for w in widths)
    layers = param_slices(widths)
    n_hidden = len(layers) - 1
    if not 1 <= i <= n_hidden:
        raise ValueError(f"star-locus component i must be in 1..{n_hidden} (hidden layers), got {i}")
    if any(not 1 <= z < i for z in zero_layers):
        raise ValueError(f"zero_layers must lie in 1..{i - 1}, got {zero_layers}")
    theta = np.zeros(n_params(widths))
    for l, (ws, (r, c), bs) in enumerate(layers, start=1):
        if l < i and l not in zero_layers:
            theta[ws] = rng.normal(0.0, 1.0 / np.sqrt(c), size=r * c)
            theta[bs] = rng.normal(0.0, 1.0, size=r)
        elif i < l <= n_hidden:
            theta[ws] = rng.normal(0.0, 1.0 / np.sqrt(c), size=r * c)
    theta[layers[-1][2]] = np.asarray(y, dtype=float).mean(axis=0)
    return theta


def star_hessian_prediction(theta: np.ndarray, i: int, x: np.ndarray, y: np.ndarray, widths: tuple[int, ...],
                            activation: str) -> np.ndarray:
    r"""The nonzero Hessian eigenvalues of ``L = mean((f - y)^2)`` at a point ``θ`` of ``V_i``, in closed form
    (NumPy; sorted).

    Derivation (``N = n d_out`` squared terms, ``r(x) = f(x) - y(x) = ȳ - y(x)``):
    ``∇²L = (2/N) Σ_x Σ_k [∇f_k ∇f_kᵀ + r_k ∇²f_k]``.  On ``V_i`` the only nonzero first derivative is
    ``∂f_k/∂b_{H+1,k} = 1``: the output-bias block ``(2/d_out) I``.  Second derivatives of ``f`` that
    are constant in ``x`` are annihilated by ``Σ_x r = 0``; the only ``x``-dependent ones are the mixed
    ``∂²f_k/∂W_{H+1}[k,m] ∂W_i[a,b] = s M[m,a] h_{i-1,b}(x)`` with ``s = σ'(0)^{H-i+1}`` and
    ``M = W_H ⋯ W_{i+1}`` (identity for ``i = H``), because every pre-activation from layer ``i`` on is 0.
    So the mixed block is ``B = (2 s/N) C ⊗ M`` with ``C = Σ_x r(x) h_{i-1}(x)ᵀ`` (``d_out × n_{i-1}``),
    and ``[[0, B], [Bᵀ, 0]]`` has eigenvalues ``± σ_p(B) = ± (2|s|/N) σ_p(C) σ_q(M)``.  Hence the
    inertia is ``(rank C · rank M, d - d_out - 2 rank C · rank M, d_out + rank C · rank M)``: a saddle
    unless ``C = 0`` (e.g. a second zero layer below ``i``: the core, Theorem 3.2).
    """
    widths = tuple(int(w) for w in widths)
    p = unflatten_params(theta, widths)
    n_hidden = len(widths) - 2
    d_out = widths[-1]
    n_terms = x.shape[0] * d_out
    act = np.tanh if activation == "tanh" else (lambda z: z / (1.0 + np.exp(-z)))
    ds0 = 1.0 if activation == "tanh" else 0.5  # σ'(0)
    h = np.asarray(x, dtype=float)
    for l in range(1, i):
        h = act(h @ p[f"W{l}"].T + p[f"b{l}"])
    M = np.eye(widths[i])
    for l in range(i + 1, n_hidden + 1):
        M = p[f"W{l}"] @ M
    s = ds0 ** (n_hidden - i + 1)
    r = np.asarray(y, dtype=float).mean(axis=0) - np.asarray(y, dtype=float)
    C = r.T @ h
    sv = np.outer(np.linalg.svd(C, compute_uv=False), np.linalg.svd(M, compute_uv=False)).ravel()
    sv = 2.0 * abs(s) / n_terms * sv
    sv = sv[sv > 1e-12 * max(1.0, float(sv.max(initial=0.0)))]
    return np.sort(np.concatenate([np.full(d_out, 2.0 / d_out), sv, -sv]))
