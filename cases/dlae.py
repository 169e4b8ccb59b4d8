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
        key = tuple(sorted(int(i) for i in subset))
        if len(key) > self.p or len(set(key)) != len(key) or any(i < 0 or i >= self.k for i in key):
            raise ValueError(f"subset {key} is not a subset of range({self.k}) of size <= p={self.p}")
        c = self._cache.get(key)
        if c is None:
            c = CriticalClass(
                label=subset_label(key),
                loss=float(class_loss(key, self.lam)),
                index_count=class_index_count(key, self.lam, self.p),
                nullity=class_nullity(key, self.p),
                dim=self.dim,
                point=representative_point(key, self.u, self.p),
                info={"subset": list(key), "rank": len(key)},
            )
            self._cache[key] = c
        return c

    @property
    def classes(self) -> tuple[CriticalClass, ...]:  # type: ignore[override]
        if self._classes is None:
            self._classes = tuple(self.class_for_subset(s) for s in self.subsets())
        return self._classes

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
        m = self.product(theta)
        left, sv, _ = np.linalg.svd(m)
        r = int(np.sum(sv > 0.5))
        if r > self.p:
            return None
        proj = np.sum((left[:, :r].T @ self.u) ** 2, axis=0)  # (k,), sums to r
        subset = sorted(int(i) for i in np.argsort(-proj, kind="stable")[:r])
        us = self.u[:, subset]
        if np.linalg.norm(m - us @ us.T, 2) > self.match_tol:
            return None
        return self.class_for_subset(subset)


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
        thetas, losses = _gd_trajectory(sigma, p, theta0, TRAJECTORY_STEPS, lr)
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
        gram: evaluate the loss via ``Σ = XX^T/n`` (:func:`loss_fn_gram`) instead of the
            data matrix (:func:`loss_fn`, the benchmark workload).
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
        loss_fn=loss_fn_gram if gram else loss_fn,
        data=data,
        sample_init=_make_sampler(init, sigma, k, p, float(init_scale), float(noise), float(lam[0])),
        ground_truth=gt,
        description=f"deep linear autoencoder k={k} p={p} n={n} ({gt.n_classes} critical classes)",
        unflatten=lambda theta: unflatten(theta, k, p),
        # the harness scores the data form through Σ = XX^T/n: equal loss, O(k^2 p) instead of O(k p n)
        scoring_form=None if gram else (loss_fn_gram, {"sigma": jnp.asarray(sigma)}),
    )


CASE = CaseSpec(
    "dlae",
    dlae,
    description="deep linear autoencoder mean((X - W2 W1 X)^2), thesis Sec. 3.2 (Theorem 3.2, Table 3.1)",
    ground_truth_kind="exact",
    small_params={"k": 6, "p": 2, "n": 500, "exact": True},
)
