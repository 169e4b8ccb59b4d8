"""Deep linear autoencoder (DLAE): the thesis's test problem with known critical points.

Thesis Sec. 3.2 (Theorem 3.2, Figure 3.1, Table 3.1; Frye et al. 2019,
arXiv:1901.10603).  Data ``X`` is ``k x n`` (one column per sample); the network
is ``x -> W2 W1 x`` with ``W1`` of shape ``p x k`` and ``W2`` of shape ``k x p``;
the loss is the mean squared reconstruction error over all ``k n`` entries::

    L(W1, W2) = mean((X - W2 W1 X)^2)
              = (1/k) tr((I - M) Σ (I - M)^T),   M = W2 W1,  Σ = X X^T / n.

The flat parameter vector is ``θ = concat(W1.ravel(), W2.ravel())`` (row-major),
``dim = 2 p k``.

Ground truth (Theorem 3.2; the counts were re-derived here in SymPy, see
``cases/certificates/dlae.py``).  Let ``Σ = U diag(λ) U^T`` with
``λ_0 > λ_1 > ... > λ_{k-1} > 0`` (distinct; 0-based, descending).  Every critical
point has ``M = U_S U_S^T`` for a subset ``S`` of eigenvector indices with
``|S| = r <= p``, and every such subset is realised, e.g. by the *representative
point* ``W1 = [u_i^T for i in S; 0 rows]``, ``W2 = W1^T``.  The GL(p) gauge
``W1 -> A W1, W2 -> W2 A^{-1}`` leaves ``M`` (hence the loss) unchanged, so each
class is an orbit of dimension ``r (2p - r)``.  For the class ``S``:

* loss ``= (1/k) Σ_{j ∉ S} λ_j`` (the variance not captured);
* index count ``= Σ_{i ∈ S} #{j ∉ S : λ_j > λ_i} + (p - r)(k - r)``: one negative
  direction for every captured component that a larger uncaptured one could
  replace, plus, for each of the ``p - r`` idle hidden units (zero row of ``W1``,
  zero column of ``W2``), the bilinear form ``-(2/k) b^T (I - P_S) Σ a`` in the
  unit's incoming/outgoing weights ``(a, b)``, which has ``k - r`` negative,
  ``k - r`` positive and ``2r`` zero eigenvalues;
* nullity ``= r (2p - r)`` (exactly the gauge orbit: ``r^2`` from GL(r) on the
  active units and ``2 r (p - r)`` from the idle ones); the global minimum
  (``S = {0..p-1}``) has nullity ``p^2``;
* number of classes ``Σ_{r <= p} C(k, r)`` (2517 for ``k = 16, p = 4``); the origin
  has loss ``mean(λ)`` (8.5 for the thesis spectrum) and index fraction
  ``pk / 2pk = 1/2``.

Data (thesis Sec. 3.2.3.1): columns of ``X`` are ``N(0, diag(spectrum))`` with the
sample row means then subtracted (the thesis enforces exactly zero row means);
``spectrum`` defaults to ``linspace(1, k, k)``.  The ground truth is computed
from the *sample* ``Σ = X X^T / n`` (its eigen-decomposition), since that is what
the loss sees.  ``exact=True`` instead builds ``X = diag(sqrt(n λ)) Q^T`` with ``Q``
an ``n x k`` matrix with orthonormal columns orthogonal to the all-ones vector, so
``X X^T / n = diag(λ)`` exactly up to rounding and the rows have zero mean;
the ground truth then uses ``λ`` and the eigenvectors by construction.
``rotation=True`` replaces ``X`` by ``R X`` for a Haar-random orthogonal ``R``
(``Σ -> R Σ R^T``): losses and indices are unchanged, eigenvectors rotate.

Initial points (thesis Sec. 3.2.3.2): ``init="trajectory"`` runs plain gradient
descent from a small random point (entries ``N(0, init_scale^2)``), then draws
iterates *uniformly by loss value* (a target loss uniform between the
trajectory's largest and smallest loss, then the iterate nearest to it), and
adds ``N(0, noise^2)`` noise (``noise = 0.1``: the thesis's variance 1e-2) to a
random half (``floor(n/2)``) of them (:func:`cases._trajectory.uniform_by_loss`).
``init="trajectory-by-iteration"`` draws the iterates uniformly by *iteration*
instead (the scheme the thesis rejects; for the Sec. 3.2.3.2 comparison).
``init="gaussian"`` draws i.i.d.
``N(0, init_scale^2)`` entries.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GroundTruth
from ._trajectory import uniform_by_iteration, uniform_by_loss
from .registry import CaseError, CaseSpec

__all__ = [
    "DLAEGroundTruth",
    "class_index_count",
    "class_loss",
    "class_nullity",
    "dlae",
    "lazy_class_facts",
    "lazy_index_count",
    "loss_fn_factored",
    "loss_fn",
    "loss_fn_gram",
    "n_classes",
    "representative_point",
    "subset_label",
    "unflatten",
]

#: Gradient-descent settings of the ``"trajectory"`` sampler.
TRAJECTORY_STEPS = 4000
#: Step size in units of ``k / λ_max`` (stable: the largest curvature along the
#: trajectory is about ``4 λ_max / k`` for unit-norm weights).
TRAJECTORY_LR = 0.02


# ---------------------------------------------------------------------------
# the loss (module-level pure JAX functions: jit caches across instances)
# ---------------------------------------------------------------------------
def _split(theta: Any, k: int) -> tuple[Any, Any]:
    p = theta.shape[-1] // (2 * k)
    w1 = theta[: p * k].reshape(p, k)
    w2 = theta[p * k : 2 * p * k].reshape(k, p)
    return w1, w2


def loss_fn(theta: Any, data: Any) -> Any:
    """``mean((X - W2 W1 X)^2)`` over all ``k n`` entries (thesis Eq. 3.14, as a mean).

    ``data = {"x": X}`` with ``X`` of shape ``(k, n)``.  Evaluated as a network
    loss: ``R = X - W2 (W1 X)`` (two thin matmuls, ``4 p k n`` flops), then
    ``mean(R^2)``.
    """
    x = data["x"]
    k = x.shape[0]
    w1, w2 = _split(theta, k)
    r = x - w2 @ (w1 @ x)
    return jnp.mean(r * r)


def loss_fn_gram(theta: Any, data: Any) -> Any:
    """The same loss through the Gram matrix: ``(1/k) tr((I - M) Σ (I - M)^T)``.

    ``data = {"sigma": Σ}`` with ``Σ = X X^T / n``.  A shortcut (cost independent
    of ``n``); equal to :func:`loss_fn` up to rounding since
    ``mean((X - M X)^2) = tr((I - M) X X^T (I - M)^T) / (k n)``.
    """
    sigma = data["sigma"]
    k = sigma.shape[0]
    w1, w2 = _split(theta, k)
    e = jnp.eye(k, dtype=sigma.dtype) - w2 @ w1
    return jnp.sum((e @ sigma) * e) / k


def loss_fn_factored(theta: Any, data: Any) -> Any:
    """The same loss expanded so that no ``k x k`` product of weights is formed.

    ``data = {"sigma": Σ, "trace": tr Σ}``.  With ``M = W2 W1``::

        k L = tr Σ - 2 tr(W2 W1 Σ) + tr((W1 Σ W1^T)(W2^T W2)),

    (``tr(M Σ M^T) = tr(W2 (W1 Σ W1^T) W2^T)``, cyclic).  Cost ``2 p k^2 + 4 p^2 k``
    flops (``W1 Σ`` dominates) instead of the Gram form's ``2 k^3 + 2 p k^2``: the
    scoring form for large ``k`` (``k = 1000, p = 200``: 0.5 GFLOP instead of 2.4).
    Equal to :func:`loss_fn_gram` up to rounding (checked in ``tests/scale``).
    """
    sigma = data["sigma"]
    k = sigma.shape[0]
    w1, w2 = _split(theta, k)
    a = w1 @ sigma  # (p, k)
    cross = jnp.sum(a * w2.T)  # tr(W2 W1 Σ)
    quad = jnp.sum((a @ w1.T) * (w2.T @ w2))  # tr((W1 Σ W1^T)(W2^T W2)), both p x p symmetric
    return (data["trace"] - 2.0 * cross + quad) / k


def unflatten(theta: np.ndarray, k: int, p: int) -> dict[str, np.ndarray]:
    """``{"W1": (p, k), "W2": (k, p)}`` from the flat vector."""
    theta = np.asarray(theta, dtype=float)
    return {"W1": theta[: p * k].reshape(p, k), "W2": theta[p * k :].reshape(k, p)}


# ---------------------------------------------------------------------------
# closed forms (generic arithmetic: work on floats and on SymPy rationals)
# ---------------------------------------------------------------------------
def n_classes(k: int, p: int) -> int:
    """``Σ_{r <= p} C(k, r)`` gauge classes of critical points (2517 for k=16, p=4)."""
    return sum(math.comb(k, r) for r in range(min(p, k) + 1))


def subset_label(subset: Sequence[int]) -> str:
    """``"S={0,3}"`` (0-based indices into the descending eigenvalues)."""
    return "S={" + ",".join(str(int(i)) for i in sorted(subset)) + "}"


def class_loss(subset: Sequence[int], lam: Sequence[Any]) -> Any:
    """``(1/k) Σ_{j ∉ S} λ_j``."""
    s = set(subset)
    return sum((lam[j] for j in range(len(lam)) if j not in s), 0) / len(lam)


def class_index_count(subset: Sequence[int], lam: Sequence[Any], p: int) -> int:
    """``Σ_{i ∈ S} #{j ∉ S : λ_j > λ_i} + (p - r)(k - r)`` negative Hessian eigenvalues."""
    s = set(subset)
    k, r = len(lam), len(s)
    out = [j for j in range(k) if j not in s]
    return sum(sum(1 for j in out if lam[j] > lam[i]) for i in s) + (p - r) * (k - r)


def class_nullity(subset: Sequence[int], p: int) -> int:
    """``r (2p - r)``: the dimension of the GL(p) gauge orbit through the class."""
    r = len(subset)
    return r * (2 * p - r)


def lazy_index_count(subset: Sequence[int], k: int, p: int) -> int:
    """The index count from ``S`` alone, in ``O(r log r)``, for distinct descending ``λ``.

    With ``λ_0 > λ_1 > ... > λ_{k-1}``, ``#{j ∉ S : λ_j > λ_i} = #{j < i : j ∉ S}
    = i - #{s ∈ S : s < i}``, which for the ``t``-th smallest element ``i_t`` of ``S``
    (``t = 0, 1, ...``) is ``i_t - t``.  Hence::

        index(S) = Σ_t (i_t - t) + (p - r)(k - r)

    (the same count as :func:`class_index_count`, Theorem 3.2, without scanning the
    spectrum; checked against it for every ``S`` at several ``k <= 16``).
    """
    s = sorted(int(i) for i in subset)
    r = len(s)
    return sum(i - t for t, i in enumerate(s)) + (p - r) * (k - r)


def lazy_class_facts(subset: Sequence[int], lam: np.ndarray, p: int) -> dict[str, Any]:
    """Loss, index count/fraction and nullity of the class ``S`` on demand (never enumerating).

    ``loss = (tr Σ - Σ_{i∈S} λ_i) / k`` (``O(r)`` given ``tr Σ``), index from
    :func:`lazy_index_count`, ``nullity = r (2p - r)``, ``dim = 2pk``.
    """
    lam = np.asarray(lam, dtype=float)
    k = int(lam.size)
    s = sorted(int(i) for i in subset)
    if len(s) > p or len(set(s)) != len(s) or any(i < 0 or i >= k for i in s):
        raise ValueError(f"subset {tuple(s)} is not a subset of range({k}) of size <= p={p}")
    count = lazy_index_count(s, k, p)
    dim = 2 * p * k
    return {
        "label": subset_label(s), "subset": s, "rank": len(s),
        "loss": float((math.fsum(lam) - math.fsum(lam[s])) / k),
        "index_count": count, "index_fraction": count / dim,
        "nullity": class_nullity(s, p), "dim": dim,
    }


def representative_point(subset: Sequence[int], u: np.ndarray, p: int) -> np.ndarray:
    """Flat ``θ`` with ``W1`` rows ``u_i^T`` (``i`` in ``S``, ascending) then zeros, ``W2 = W1^T``."""
    u = np.asarray(u, dtype=float)
    k = u.shape[0]
    w1 = np.zeros((p, k))
    for row, i in enumerate(sorted(subset)):
        w1[row] = u[:, i]
    return np.concatenate([w1.ravel(), w1.T.ravel()])


# ---------------------------------------------------------------------------
# ground truth
# ---------------------------------------------------------------------------
class DLAEGroundTruth(GroundTruth):
    """The ``Σ_{r<=p} C(k, r)`` gauge classes of the DLAE (thesis Theorem 3.2).

    Classes are built lazily (on first access to :attr:`classes`, or one at a
    time by :meth:`class_for_subset`), so large ``k, p`` stay cheap.

    :meth:`match` is gauge invariant: it uses only ``M = W2 W1``, which the
    GL(p) action ``W1 -> A W1, W2 -> W2 A^{-1}`` leaves unchanged.  ``r`` is the
    number of singular values of ``M`` above 1/2 (those of a critical ``M`` are 0
    or 1); ``S`` collects the ``r`` eigenvectors of ``Σ`` with the largest squared
    projections onto the top-``r`` left singular space; the class is returned
    when ``||M - U_S U_S^T||_2 <= match_tol``, else ``None`` (not near any class).

    Args:
        lam: eigenvalues of ``Σ``, strictly decreasing.
        u: ``(k, k)`` eigenvectors (column ``i`` for ``lam[i]``).
        p: hidden width.
        match_tol: spectral-norm tolerance of :meth:`match`.
    """

    kind = "exact"
    #: Largest class count that :attr:`classes` enumerates (2517 for the thesis instance).
    MAX_ENUMERATED = 100_000
    match_rule = ("gauge invariant: M = W2 W1 has r singular values > 1/2 and ||M - U_S U_S^T||_2 <= match_tol "
                  "(1e-2) for the r eigenvectors S nearest its range; GL(p) makes parameter distance meaningless")

    def __init__(self, lam: Sequence[float], u: np.ndarray, p: int, *, match_tol: float = 1e-2) -> None:
        self.lam = np.asarray(lam, dtype=float)
        self.u = np.asarray(u, dtype=float)
        self.k = int(self.lam.size)
        self.p = int(p)
        self.dim = 2 * self.p * self.k
        self.match_tol = float(match_tol)
        if np.any(np.diff(self.lam) >= 0):
            raise ValueError("lam must be strictly decreasing")
        self.flat_points = ()
        self._classes: tuple[CriticalClass, ...] | None = None
        self._cache: dict[tuple[int, ...], CriticalClass] = {}

    # -- classes ------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return n_classes(self.k, self.p)

    def subsets(self) -> Iterator[tuple[int, ...]]:
        """All subsets ``S`` with ``|S| <= p``, by size then lexicographically."""
        for r in range(min(self.p, self.k) + 1):
            yield from itertools.combinations(range(self.k), r)

    def class_for_subset(self, subset: Sequence[int]) -> CriticalClass:
        """The class ``S``, cached: from the lazy closed forms (:func:`lazy_class_facts`) when
        there are more than :attr:`MAX_ENUMERATED` classes, else as :attr:`classes` lists it
        (:meth:`enumerated_class`); the two agree for every ``S`` (``tests/scale``)."""
        key = tuple(sorted(int(i) for i in subset))
        c = self._cache.get(key)
        if c is None and self.n_classes <= self.MAX_ENUMERATED:
            c = self._cache[key] = self.enumerated_class(key)
        if c is None:
            facts = lazy_class_facts(key, self.lam, self.p)
            c = CriticalClass(
                label=facts["label"],
                loss=facts["loss"],
                index_count=facts["index_count"],
                nullity=facts["nullity"],
                dim=self.dim,
                point=representative_point(key, self.u, self.p),
                info={"subset": list(key), "rank": len(key)},
            )
            self._cache[key] = c
        return c

    def enumerated_class(self, subset: Sequence[int]) -> CriticalClass:
        """The class ``S`` from the enumerating closed forms (:func:`class_loss`,
        :func:`class_index_count`: scan the whole spectrum), as :attr:`classes` lists them."""
        key = tuple(sorted(int(i) for i in subset))
        if len(key) > self.p or len(set(key)) != len(key) or any(i < 0 or i >= self.k for i in key):
            raise ValueError(f"subset {key} is not a subset of range({self.k}) of size <= p={self.p}")
        return CriticalClass(
            label=subset_label(key),
            loss=float(class_loss(key, self.lam)),
            index_count=class_index_count(key, self.lam, self.p),
            nullity=class_nullity(key, self.p),
            dim=self.dim,
            point=representative_point(key, self.u, self.p),
            info={"subset": list(key), "rank": len(key)},
        )

    @property
    def classes(self) -> tuple[CriticalClass, ...]:  # type: ignore[override]
        """Every class, enumerated (``Σ_{r<=p} C(k, r)`` of them: small ``k, p`` only).

        Above :attr:`MAX_ENUMERATED` classes this is a :class:`LazyClasses` view
        (truthy, iterable on demand, never materialised); use
        :meth:`class_for_subset` / :meth:`match`, which never enumerate.
        """
        if self.n_classes > self.MAX_ENUMERATED:
            return LazyClasses(self)  # type: ignore[return-value]
        if self._classes is None:
            self._classes = tuple(self.class_for_subset(s) for s in self.subsets())
        return self._classes

    def to_json(self, with_points: bool = False) -> dict[str, Any]:
        """As :meth:`GroundTruth.to_json` for enumerable sizes; otherwise the class count only."""
        if self.n_classes <= self.MAX_ENUMERATED:
            return super().to_json(with_points)
        return {"kind": self.kind, "n_classes": self.n_classes, "lazy": True,
                "classes": [], "gradient_flat_points": []}

    def class_by_label(self, label: str) -> CriticalClass:
        if not (label.startswith("S={") and label.endswith("}")):
            raise KeyError(label)
        body = label[3:-1]
        try:
            subset = [int(v) for v in body.split(",")] if body else []
            return self.class_for_subset(subset)
        except ValueError:
            raise KeyError(label) from None

    # -- matching -------------------------------------------------------------
    def product(self, theta: np.ndarray) -> np.ndarray:
        """``M = W2 W1`` (gauge invariant)."""
        w = unflatten(theta, self.k, self.p)
        return w["W2"] @ w["W1"]

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.dim,) or not np.all(np.isfinite(theta)):
            return None
        w = unflatten(theta, self.k, self.p)
        w1, w2 = w["W1"], w["W2"]
        # M = W2 W1 = Q2 (R2 W1): its SVD from the p x k factor, O(k p^2), no k x k product
        q2, r2 = np.linalg.qr(w2)
        left_small, sv, _ = np.linalg.svd(r2 @ w1, full_matrices=False)
        left = q2 @ left_small
        r = int(np.sum(sv > 0.5))
        if r > self.p:
            return None
        proj = np.sum((left[:, :r].T @ self.u) ** 2, axis=0)  # (k,), sums to r
        subset = sorted(int(i) for i in np.argsort(-proj, kind="stable")[:r])
        us = self.u[:, subset]
        # ||M - U_S U_S^T||_2: the difference maps span(W1^T, U_S) into span(W2, U_S), so it
        # equals the norm of the (<= 2p) x (<= 2p) matrix Bl^T (M - U_S U_S^T) Br
        bl, _ = np.linalg.qr(np.hstack([w2, us]))
        br, _ = np.linalg.qr(np.hstack([w1.T, us]))
        core = (bl.T @ w2) @ (w1 @ br) - (bl.T @ us) @ (us.T @ br)
        if np.linalg.norm(core, 2) > self.match_tol:
            return None
        return self.class_for_subset(subset)


class LazyClasses:
    """A read-only view of a large DLAE's classes: truthy, counted as a Python big
    integer (:attr:`count`), iterated lazily (by size, then lexicographically).

    ``len()`` works only while the count fits a machine integer (``C(1000, 200)``
    does not: use :attr:`count`).
    """

    def __init__(self, gt: DLAEGroundTruth) -> None:
        self._gt = gt

    @property
    def count(self) -> int:
        return self._gt.n_classes

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count  # OverflowError beyond sys.maxsize: use .count

    def __iter__(self) -> Iterator[CriticalClass]:
        return (self._gt.class_for_subset(s) for s in self._gt.subsets())

    def __getitem__(self, i: int) -> CriticalClass:
        if not isinstance(i, int) or i < 0:
            raise IndexError(i)
        for j, c in enumerate(self):
            if j == i:
                return c
        raise IndexError(i)


# ---------------------------------------------------------------------------
# data and samplers
# ---------------------------------------------------------------------------
def _haar_orthogonal(rng: np.random.Generator, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))


def make_data(
    k: int, n: int, spectrum: np.ndarray, rng: np.random.Generator, *, exact: bool, rotation: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """``X`` (k, n) and, for ``exact=True``, the exact eigenvectors of ``XX^T/n`` (else ``None``).

    ``spectrum`` is in the order of the coordinates (covariance ``diag(spectrum)``).
    """
    if exact:
        g = rng.standard_normal((n, k))
        g -= g.mean(axis=0)  # columns orthogonal to the all-ones vector: zero row means
        q, _ = np.linalg.qr(g)
        x = np.sqrt(n * spectrum)[:, None] * q.T
    else:
        x = np.sqrt(spectrum)[:, None] * rng.standard_normal((k, n))
        x -= x.mean(axis=1, keepdims=True)
    rot = _haar_orthogonal(rng, k) if rotation else np.eye(k)
    if rotation:
        x = rot @ x
    return x, (rot if exact else None)


def _gd_trajectory(
    sigma: np.ndarray, p: int, theta0: np.ndarray, steps: int, lr: float
) -> tuple[np.ndarray, np.ndarray]:
    """Plain gradient descent on ``(1/k) tr((I-M) Σ (I-M)^T)``; iterates and losses.

    ``∇_{W1} L = W2^T G``, ``∇_{W2} L = G W1^T`` with ``G = -(2/k) (I - M) Σ``
    (thesis Theorem 3.1 with ``∇_M L = G``).
    """
    k = sigma.shape[0]
    w1 = theta0[: p * k].reshape(p, k).copy()
    w2 = theta0[p * k :].reshape(k, p).copy()
    eye = np.eye(k)
    thetas = np.empty((steps + 1, 2 * p * k))
    losses = np.empty(steps + 1)
    for t in range(steps + 1):
        e = eye - w2 @ w1
        es = e @ sigma
        thetas[t, : p * k] = w1.ravel()
        thetas[t, p * k :] = w2.ravel()
        losses[t] = np.sum(es * e) / k
        if t == steps:
            break
        g = (-2.0 / k) * es
        w1, w2 = w1 - lr * (w2.T @ g), w2 - lr * (g @ w1.T)
    return thetas, losses


#: Largest trajectory (bytes of all iterates) that the sampler keeps in memory; above it
#: the first pass keeps the losses and every 64th iterate, and the drawn iterates are
#: replayed from their checkpoints (memory O((steps/64 + n) dim), about 1.6x one pass).
TRAJECTORY_MAX_BYTES = 256 * 2**20


def _gd_trajectory_factored(
    sigma: np.ndarray, p: int, theta0: np.ndarray, steps: int, lr: float, keep: np.ndarray | None = None,
    *, start: int = 0, checkpoints: dict[int, np.ndarray] | None = None, checkpoint_every: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """The same gradient descent as :func:`_gd_trajectory`, without any ``k x k`` weight product.

    ``∇_{W1} L = -(2/k)(W2^T Σ - (W2^T W2)(W1 Σ))``,
    ``∇_{W2} L = -(2/k)(Σ W1^T - W2 (W1 Σ W1^T))`` (``G = -(2/k)(Σ - W2 W1 Σ)``
    multiplied out), loss as in :func:`loss_fn_factored`: ``O(p k^2)`` per step.
    Returns the losses of all ``steps + 1`` iterates and the iterates at the
    step numbers ``keep`` (in that order; none if ``keep`` is ``None``).  ``theta0`` is
    the iterate at step ``start`` (losses before it are left unset); with
    ``checkpoints`` (a dict) every ``checkpoint_every``-th iterate is stored in it, and
    without it a run with ``keep`` stops at the last step it must keep.
    """
    k = sigma.shape[0]
    w1 = theta0[: p * k].reshape(p, k).copy()
    w2 = theta0[p * k :].reshape(k, p).copy()
    tr = float(np.trace(sigma))
    keep_list = [] if keep is None else [int(i) for i in keep]
    want: dict[int, list[int]] = {}
    for pos, i in enumerate(keep_list):
        want.setdefault(i, []).append(pos)
    kept = np.empty((len(keep_list), 2 * p * k))
    losses = np.full(steps + 1, np.nan)
    last = max(keep_list) if (keep_list and checkpoints is None) else steps
    for t in range(start, last + 1):
        if checkpoints is not None and checkpoint_every and t % checkpoint_every == 0:
            checkpoints[t] = np.concatenate([w1.ravel(), w2.ravel()])
        a = w1 @ sigma  # (p, k)
        b = a @ w1.T  # W1 Σ W1^T
        c = w2.T @ w2
        losses[t] = (tr - 2.0 * np.sum(a * w2.T) + np.sum(b * c)) / k
        for pos in want.get(t, ()):
            kept[pos, : p * k] = w1.ravel()
            kept[pos, p * k :] = w2.ravel()
        if t == last:
            break
        g1 = (-2.0 / k) * (w2.T @ sigma - c @ a)
        g2 = (-2.0 / k) * (a.T - w2 @ b)
        w1, w2 = w1 - lr * g1, w2 - lr * g2
    return losses, kept


class _ReplayedTrajectory:
    """The iterates of :func:`_gd_trajectory_factored` without storing them all: ``shape`` and
    ``self[idx]`` (an integer array) replay the descent from the nearest stored checkpoint
    (every ``checkpoint_every``-th iterate, kept by the first pass) to each iterate ``idx``."""

    def __init__(self, sigma: np.ndarray, p: int, steps: int, lr: float, checkpoints: dict[int, np.ndarray],
                 checkpoint_every: int, rows: np.ndarray | None = None) -> None:
        self._args = (sigma, p, steps, lr, checkpoints, checkpoint_every)
        self._rows = np.arange(steps + 1) if rows is None else rows  # step number of each row
        self.shape = (self._rows.size, next(iter(checkpoints.values())).size)

    def __getitem__(self, idx: Any) -> Any:
        idx = np.asarray(idx)
        if idx.dtype == bool:  # a row mask (e.g. finite losses): a narrower view, still lazy
            return _ReplayedTrajectory(*self._args, rows=self._rows[idx])
        sigma, p, steps, lr, cps, every = self._args
        targets = self._rows[np.atleast_1d(idx)]
        out = np.empty((targets.size, self.shape[1]))
        for t in np.unique(targets):
            c0 = (int(t) // every) * every
            _, kept = _gd_trajectory_factored(sigma, p, cps[c0], steps, lr, keep=np.array([t]), start=c0)
            out[targets == t] = kept[0]
        return out


#: Checkpoint spacing of the large-trajectory replay (memory ``steps / spacing`` iterates).
TRAJECTORY_CHECKPOINT_EVERY = 64


def _make_sampler(
    init: str, sigma: np.ndarray, k: int, p: int, init_scale: float, noise: float, lam_max: float
) -> Callable[[np.random.Generator, int], np.ndarray]:
    dim = 2 * p * k
    if init == "gaussian":

        def sample_gaussian(rng: np.random.Generator, n: int) -> np.ndarray:
            return rng.normal(0.0, init_scale, size=(n, dim))

        return sample_gaussian

    lr = TRAJECTORY_LR * k / lam_max

    draw = uniform_by_iteration if init == "trajectory-by-iteration" else uniform_by_loss

    def sample_trajectory(rng: np.random.Generator, n: int) -> np.ndarray:
        theta0 = rng.normal(0.0, init_scale, size=dim)
        if 8 * dim * (TRAJECTORY_STEPS + 1) <= TRAJECTORY_MAX_BYTES:
            thetas, losses = _gd_trajectory(sigma, p, theta0, TRAJECTORY_STEPS, lr)
        else:  # large: losses first; the draw's iterates are then replayed (O(n dim) memory)
            cps: dict[int, np.ndarray] = {}
            every = TRAJECTORY_CHECKPOINT_EVERY
            losses, _ = _gd_trajectory_factored(sigma, p, theta0, TRAJECTORY_STEPS, lr, checkpoints=cps,
                                                checkpoint_every=every)
            thetas = _ReplayedTrajectory(sigma, p, TRAJECTORY_STEPS, lr, cps, every)
        return draw(rng, thetas, losses, n, noise)

    return sample_trajectory


# ---------------------------------------------------------------------------
# factory
# ---------------------------------------------------------------------------
def _bad(msg: str) -> CaseError:
    return CaseError(f"case 'dlae': {msg}")


def _check_int(name: str, value: Any, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise _bad(f"{name} must be an integer >= {lo}, got {value!r}")
    return int(value)


def _check_spectrum(spectrum: Sequence[float], k: int) -> np.ndarray:
    if spectrum is None or len(spectrum) == 0:
        return np.linspace(1.0, float(k), k)
    try:
        lam = np.asarray(spectrum, dtype=float).ravel()
    except (TypeError, ValueError):
        raise _bad(f"spectrum must be a sequence of numbers, got {spectrum!r}") from None
    if lam.size != k:
        raise _bad(f"spectrum must have k={k} entries, got {lam.size}")
    if not np.all(np.isfinite(lam)) or np.any(lam <= 0):
        raise _bad("spectrum entries must be finite and positive")
    s = np.sort(lam)
    if np.any(np.diff(s) <= 1e-10 * s[-1]):
        raise _bad("spectrum entries must be distinct (isolated critical classes need distinct eigenvalues)")
    return lam


#: From this ``dim`` on (the harness's dense-scoring limit + 1) the harness scores
#: through :func:`loss_fn_factored` instead of the Gram form.
FACTORED_MIN_DIM = 2001


def _scoring_form(sigma: np.ndarray, dim: int, gram: bool) -> tuple[Any, Any] | None:
    if dim >= FACTORED_MIN_DIM:
        return (loss_fn_factored, {"sigma": jnp.asarray(sigma), "trace": jnp.asarray(float(np.trace(sigma)))})
    return None if gram else (loss_fn_gram, {"sigma": jnp.asarray(sigma)})


def dlae(
    k: int = 16,
    p: int = 4,
    n: int = 10000,
    spectrum: tuple[float, ...] = (),
    seed: int = 0,
    exact: bool = False,
    rotation: bool = False,
    gram: bool = False,
    init: str = "trajectory",
    noise: float = 0.1,
    init_scale: float = 0.1,
) -> Case:
    """The deep linear autoencoder case (defaults: the thesis instance, Sec. 3.2.3).

    Args:
        k: data dimension (rows of ``X``).
        p: hidden width, ``1 <= p <= k``.
        n: number of samples, ``n > k`` (rows are centred, so ``rank XX^T <= n - 1``).
        spectrum: ``k`` distinct positive covariance eigenvalues; ``()`` means
            ``linspace(1, k, k)`` (the thesis).
        seed: seed of the data (and rotation) draw.
        exact: make ``XX^T/n`` equal ``diag(spectrum)`` exactly (scaled orthonormal rows).
        rotation: replace ``X`` by ``R X`` for a random orthogonal ``R``.
        gram: evaluate the loss via ``Σ = XX^T/n`` instead of the data matrix
            (:func:`loss_fn`, the benchmark workload): :func:`loss_fn_gram` up to
            ``dim = 2000``, :func:`loss_fn_factored` above (``2pk^2`` flops instead of
            ``2k^3``; the same loss up to rounding).
        init: ``"trajectory"`` (thesis), ``"trajectory-by-iteration"`` or ``"gaussian"``.
        noise: standard deviation of the noise added to half the trajectory points
            (0.1: the thesis's variance 1e-2).
        init_scale: standard deviation of the trajectory's start and of ``"gaussian"`` entries.

    Raises:
        CaseError: (a ``ValueError``) naming the offending parameter.
    """
    k = _check_int("k", k, 1)
    p = _check_int("p", p, 1)
    if p > k:
        raise _bad(f"p must be <= k, got p={p} > k={k}")
    n = _check_int("n", n, k + 1)
    seed = _check_int("seed", seed, 0)
    for name, flag in (("exact", exact), ("rotation", rotation), ("gram", gram)):
        if not isinstance(flag, (bool, np.bool_)):
            raise _bad(f"{name} must be a bool, got {flag!r}")
    if init not in ("trajectory", "gaussian", "trajectory-by-iteration"):
        raise _bad(f"init must be 'trajectory', 'trajectory-by-iteration' or 'gaussian', got {init!r}")
    if not (isinstance(noise, (int, float)) and math.isfinite(noise) and noise >= 0):
        raise _bad(f"noise must be a finite number >= 0, got {noise!r}")
    if not (isinstance(init_scale, (int, float)) and math.isfinite(init_scale) and init_scale > 0):
        raise _bad(f"init_scale must be a finite number > 0, got {init_scale!r}")
    spec = _check_spectrum(spectrum, k)

    rng = np.random.default_rng(seed)
    x, rot = make_data(k, n, spec, rng, exact=bool(exact), rotation=bool(rotation))
    sigma = (x @ x.T) / n
    sigma = 0.5 * (sigma + sigma.T)
    if rot is not None:  # exact: Σ = R diag(spec) R^T by construction
        order = np.argsort(-spec, kind="stable")
        lam, u = spec[order], rot[:, order]
    else:
        w, v = np.linalg.eigh(sigma)
        lam, u = w[::-1].copy(), v[:, ::-1].copy()
        if np.any(np.diff(lam) >= 0):
            raise _bad("the sample covariance has repeated eigenvalues; change seed or n")
    gt = DLAEGroundTruth(lam, u, p)
    factored = bool(gram) and 2 * p * k >= FACTORED_MIN_DIM
    if factored:
        data = {"sigma": jnp.asarray(sigma), "trace": jnp.asarray(float(np.trace(sigma)))}
    else:
        data = {"sigma": jnp.asarray(sigma)} if gram else {"x": jnp.asarray(x)}
    params = {
        "k": k, "p": p, "n": n, "spectrum": tuple(float(v) for v in spectrum), "seed": seed,
        "exact": bool(exact), "rotation": bool(rotation), "gram": bool(gram), "init": init,
        "noise": float(noise), "init_scale": float(init_scale),
    }  # fmt: skip
    return Case(
        name="dlae",
        params=params,
        dim=2 * p * k,
        loss_fn=loss_fn_factored if factored else (loss_fn_gram if gram else loss_fn),
        data=data,
        sample_init=_make_sampler(init, sigma, k, p, float(init_scale), float(noise), float(lam[0])),
        ground_truth=gt,
        description=f"deep linear autoencoder k={k} p={p} n={n} ({gt.n_classes} critical classes)",
        unflatten=lambda theta: unflatten(theta, k, p),
        # the harness scores the data form through Σ = XX^T/n: equal loss, O(k^2 p) instead of O(k p n);
        # above the dense-scoring size through the factored form (no k x k weight product)
        scoring_form=_scoring_form(sigma, 2 * p * k, gram),
    )


CASE = CaseSpec(
    "dlae",
    dlae,
    description="deep linear autoencoder mean((X - W2 W1 X)^2), thesis Sec. 3.2 (Theorem 3.2, Table 3.1)",
    ground_truth_kind="exact",
    small_params={"k": 6, "p": 2, "n": 500, "exact": True},
    certificate="cases.certificates.dlae:certify",
)
