r"""Two-layer ReLU teacher-student network with Gaussian inputs: certified nonlinear critical points.

The student ``x -> Σ_{i<k} relu(w_i·x)`` (``W`` is ``k x d``, output weights fixed to 1) is fitted to
the teacher ``x -> Σ_{j<k} relu(v_j·x)`` with ``V = [I_k, 0]`` (``d >= k``, default ``d = k``) under
``x ~ N(0, I_d)``.  The population loss (Tian, ICML 2017; Safran & Shamir, ICML 2018, "Spurious local
minima are common in two-layer ReLU neural networks") is

.. math::  F(W) = ½ E[(Σ_i relu(w_i·x) - Σ_j relu(v_j·x))²]
                = ½ Σ_{i,j} f(w_i, w_j) - Σ_{i,j} f(w_i, v_j) + ½ Σ_{i,j} f(v_i, v_j),

with the closed form (Cho & Saul 2009; Tian 2017)

.. math::  f(u, v) = E[relu(u·x) relu(v·x)] = ‖u‖‖v‖ (sin θ + (π - θ) cos θ) / (2π),  θ = ∠(u, v).

It is written here as ``f = (s + (π - θ) p) / (2π)`` with ``p = u·v``, ``s = sqrt(‖u‖²‖v‖² - p²)``
``= ‖u‖‖v‖ sin θ`` and ``θ = atan2(s, p)``, ``f(u, u) = ‖u‖²/2`` on the diagonal.  ``θ ↦ f`` is smooth
except at parallel pairs, where ``F`` is C² but not C³ (``sin θ + (π - θ) cos θ = π - πθ²/2 + θ³/3 +
O(θ⁴)``); there ``s = sqrt(q)`` is guarded by a double ``where`` (``ds/dq := 0`` at ``q = 0``), which
gives the exact gradient and Hessian: at a parallel pair ``∇_u q = 0``, so the ``s``-path contributes
nothing, and ``∂²_{uu} f = 0``, ``∂²_{uv} f = I/2`` there (the Gauss-Newton limit).  Gradients and
Hessian-vector products are JAX autodiff of this loss (forward-over-reverse).  A zero-norm student
neuron has no derivative (``∇_u f`` depends on ``u/‖u‖``): the loss is then NaN (a clear non-finite
result, which the harness reports as diverged), never a silently wrong value.

Flat parameters: ``θ = W.ravel()`` (row-major), ``dim = k d``.

Symmetry.  ``F(P W Q) = F(W)`` for permutations ``P`` (hidden units) and ``Q`` (input coordinates,
which with ``V = I`` permutes the teacher's units as well), a group of order ``(k!)²``; a point with
isotropy ``Δ S_{k-1}`` (type A) has ``k · k!`` copies.  Ground truth (Safran & Shamir 2018; Arjevani &
Field, NeurIPS 2020 "Symmetry & critical points for a model shallow neural network" and NeurIPS 2021)
is certified in ball arithmetic by :mod:`cases.certificates.relu` and read from the committed JSON
(``cases/certificates/relu_points/k<K>.json``): the global minimum ``W = I`` (loss 0 exactly; ``F`` is
C² there and its Hessian, the Gram matrix ``E[1{x_i>0}1{x_j>0} x xᵀ]``, is positive definite: index 0,
nullity 0 is the inertia of that Hessian, a strict minimum), and the critical points found in the
fixed spaces of ``Δ(S_{n_1} × ... × S_{n_m})`` (type A ``ΔS_{k-1}``, ``Δ(S_p × S_{k-p})``, ``ΔS_k``, ...),
each proved by a Krawczyk test to be the unique zero in a stated box, with index and nullity from
the interval Hessian over the whole box.  Above ``k = 20`` only type A is certified, through the
isotypic decomposition of its Hessian (:mod:`cases.certificates._relu_isotypic`; ``k`` in
:data:`ISOTYPIC_K`).  Only these classes are known, so the ground truth is
``partial``: a critical point matching none is "unverified" (with the harness's dense index).

Matching (:class:`ReluGroundTruth`): a point is aligned with each class's representative modulo
``W -> P W Q`` by linear assignments (``scipy.optimize.linear_sum_assignment``, never ``k!``
permutations; :func:`align`): rows matched by their sorted entries (or columns by theirs), then
alternating column and row assignments that maximise the inner products with the representative.  It matches when the Frobenius distance of the aligned point to the representative is
at most the class's radius ``2 sqrt(CRITICAL_GRAD_SQ) / λ_min`` (the Newton-Kantorovich first-order
distance of a point with ``‖∇F‖² < CRITICAL_GRAD_SQ`` from a non-degenerate critical point whose
smallest certified ``|eigenvalue|`` is ``λ_min``, doubled), plus the certified box radius, capped at a
quarter of a lower bound on the smallest orbit distance between certified classes (sorted entries and
singular values are invariant under ``W -> P W Q``), so no point matches two classes, and at
``MAX_MATCH_RADIUS = 0.05`` (a first-order estimate is not trusted farther out; a class with a tiny
``λ_min`` then leaves some of its critical points unverified, never wrongly matched).  The alignment is a symmetry of ``F``, so a
match is never wrong about the orbit; a missed alignment can only leave a point unverified.

Initial points: Xavier (Glorot-uniform) entries ``U[-sqrt(6/(k+d)), sqrt(6/(k+d))]``, the
initialisation of Safran & Shamir's gradient-descent experiments.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax.numpy as jnp
import numpy as np

from ._core import CRITICAL_GRAD_SQ, Case, CriticalClass, GroundTruth
from ._relu_layout import Layout
from .registry import CaseSpec

NAME = "relu-teacher-student"
#: Committed certificates, one JSON file per ``k`` (written by ``python -m cases.certificates.relu``).
CERT_DIR = Path(__file__).resolve().parent / "certificates" / "relu_points"
#: Largest match radius: beyond it the first-order (Newton-Kantorovich) estimate is not trusted.
MAX_MATCH_RADIUS = 0.05
#: The ``k`` with committed certificates of every point found (full interval Hessian).
CERTIFIED_K = (4, 5, 6, 7, 8, 10, 12, 16, 20)
#: The ``k`` whose committed certificate is type A alone, through the isotypic decomposition.
ISOTYPIC_K = (50, 100, 200, 500, 1000)


def _pair_f(U: jnp.ndarray, V: jnp.ndarray) -> jnp.ndarray:
    """``f(u_i, v_j)`` for all rows ``u_i`` of ``U`` and ``v_j`` of ``V`` (no diagonal special case)."""
    nu2 = jnp.sum(U * U, axis=1)[:, None]
    nv2 = jnp.sum(V * V, axis=1)[None, :]
    p = U @ V.T
    q = nu2 * nv2 - p * p
    pos = q > 0
    s = jnp.where(pos, jnp.sqrt(jnp.where(pos, q, 1.0)), 0.0)  # double where: finite derivatives at q = 0
    theta = jnp.arctan2(s, p)
    return (s + (jnp.pi - theta) * p) / (2 * jnp.pi)


def relu_loss(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    """Population loss ``F(W)``, ``W = theta.reshape(k, d)``; NaN when a student neuron has norm 0."""
    V = data["V"]
    k, d = V.shape
    W = theta.reshape(k, d)
    nw2 = jnp.sum(W * W, axis=1)
    ss = _pair_f(W, W)
    ss = jnp.where(jnp.eye(k, dtype=bool), 0.5 * nw2[:, None] * jnp.ones((1, k)), ss)
    st = _pair_f(W, V)
    out = 0.5 * jnp.sum(ss) - jnp.sum(st) + data["tt"]
    return jnp.where(jnp.all(nw2 > 0), out, jnp.nan)


def teacher_constant(k: int) -> float:
    """``½ Σ_{i,j} f(v_i, v_j)`` for orthonormal ``v``: ``k/4 + k(k-1)/(4π)``."""
    return k / 4 + k * (k - 1) / (4 * math.pi)


# --------------------------------------------------------------------------- matching
def _assign(cost: np.ndarray) -> np.ndarray:
    """``perm`` with ``perm[j]`` the column assigned to row ``j`` (minimum total cost)."""
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(cost)
    perm = np.empty(cost.shape[0], dtype=int)
    perm[r] = c
    return perm


def _anchor_rows(ref: np.ndarray) -> tuple[int, int]:
    """Two rows of ``ref`` whose entry pairs ``(ref[r, b], ref[s, b])`` are most often distinct over ``b``."""
    k = ref.shape[0]
    best, best_n = (0, min(1, k - 1)), -1
    for r in range(k):
        for s in range(k):
            if r != s:
                n = len({(round(x, 6), round(y, 6)) for x, y in zip(ref[r], ref[s])})
                if n > best_n:
                    best, best_n = (r, s), n
    return best


#: Row anchors tried by :func:`align` (all rows up to this many), and rows paired in the two-row anchors.
ANCHOR_ROWS, ANCHOR_PAIRS = 64, 24


def align(W: np.ndarray, ref: np.ndarray, sweeps: int = 4, good: float = 1e-9) -> np.ndarray:
    """``P W Q`` (row and column permutations) close to ``ref``, by linear assignments only.

    Starts, in order: rows assigned by their sorted entries (invariant under ``Q``); columns by theirs
    (invariant under ``P``); for each row ``i`` of ``W`` the anchor "row ``i`` is ``ref``'s row 0" with
    the columns paired by sorting the two rows; and, if still farther than ``good``, for each ordered
    pair of rows ``(i, j)`` the anchor "``(i, j)`` are ``ref``'s rows ``(r, s)``" (the two rows whose entry
    pairs tell most columns apart) with the columns assigned by both rows at once.  From each start,
    alternate the column permutation maximising ``Σ_b <(PW)[:, q_b], ref[:, b]>`` and the row
    permutation maximising ``Σ_j <(WQ)[p_j], ref[j]>`` (each a linear assignment, ``O(k³)``).
    Returns the aligned matrix closest to ``ref``, stopping at the first within ``good``: at most
    ``O(k⁵)`` work, never ``k!`` (the anchors use the first ``ANCHOR_ROWS`` rows, and pairs among the
    first ``ANCHOR_PAIRS``, so that ``k`` in the hundreds stays cheap; beyond ``k = 24`` a point whose only
    matching anchors lie further down is left unverified, never matched wrongly).
    """
    k = W.shape[0]

    from scipy.spatial.distance import cdist

    def starts():
        yield _assign(cdist(np.sort(ref, 1), np.sort(W, 1))), np.arange(k)
        q = _assign(cdist(np.sort(ref.T, 1), np.sort(W.T, 1)))
        yield _assign(-ref @ W[:, q].T), q
        for i in range(min(k, ANCHOR_ROWS)):
            q = np.empty(k, dtype=int)
            q[np.argsort(ref[0], kind="stable")] = np.argsort(W[i], kind="stable")
            yield _assign(-ref @ W[:, q].T), q
        r, s = _anchor_rows(ref)
        for i in range(min(k, ANCHOR_PAIRS)):
            for j in range(min(k, ANCHOR_PAIRS)):
                if i != j:
                    q = _assign(np.abs(ref[r][:, None] - W[i][None, :]) + np.abs(ref[s][:, None] - W[j][None, :]))
                    yield _assign(-ref @ W[:, q].T), q

    best, best_d = W, math.inf
    for p, q in starts():
        A = W[p][:, q]
        for _ in range(sweeps):
            q = _assign(-(ref.T @ A))
            A = A[:, q]
            p = _assign(-(ref @ A.T))
            A = A[p]
        dist = float(np.linalg.norm(A - ref))
        if dist < best_d:
            best, best_d = A, dist
            if dist <= good:
                break
    return best


def symmetry_distance(W: np.ndarray, ref: np.ndarray, good: float = 1e-9) -> float:
    """Frobenius distance from an aligned ``P W Q`` to ``ref``: an upper bound on the distance from the
    orbit of ``W`` under ``W -> P W Q`` to ``ref`` (exact whenever the alignment finds the best pair;
    the search stops once within ``good``)."""
    return float(np.linalg.norm(align(W, ref, good=good) - ref))


def orbit_distance_lower_bound(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """A lower bound on ``min_{P,Q} ‖P W_a Q - W_b‖_F`` from invariants ``(sorted entries, singular values)``:
    the sorted-entry distance is the minimum over *all* permutations of the entries, and
    ``‖σ(A) - σ(B)‖ <= ‖A - B‖_F`` (Mirsky) with ``σ(P W Q) = σ(W)``."""
    return max(float(np.linalg.norm(a[0] - b[0])), float(np.linalg.norm(a[1] - b[1])))


class ReluGroundTruth(GroundTruth):
    """Certified classes of the ReLU teacher-student loss, matched modulo ``W -> P W Q``."""

    kind = "partial"
    match_rule = ("modulo W -> P W Q by linear assignments (sorted rows/columns, then alternating): Frobenius "
                  "distance to a certified representative <= its radius 2*sqrt(1e-10)/lambda_min + box radius "
                  "(capped at 0.05 and at a quarter of a lower bound on the orbit distance between classes)")

    def __init__(self, classes: list[CriticalClass], k: int, d: int) -> None:
        super().__init__(classes, kind="partial")
        self.k, self.d = k, d
        self._ref = {c.label: np.asarray(c.point).reshape(k, d) for c in classes}
        radii = {c.label: float(c.info["match_radius"]) for c in classes}
        inv = {lab: (np.sort(W.ravel()), np.linalg.svd(W, compute_uv=False)) for lab, W in self._ref.items()}
        seps = [orbit_distance_lower_bound(inv[a.label], inv[b.label])
                for a in classes for b in classes if a.label < b.label]
        cap = min([MAX_MATCH_RADIUS] + [sep / 4 for sep in seps])
        self.radius = {lab: min(r, cap) for lab, r in radii.items()}
        self._inv = inv
        self.match_tol = max(self.radius.values()) if self.radius else 0.0

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        theta = np.asarray(theta, dtype=float)
        if theta.shape != (self.k * self.d,) or not np.all(np.isfinite(theta)) or self.d != self.k:
            return None
        W = theta.reshape(self.k, self.d)
        inv = (np.sort(W.ravel()), np.linalg.svd(W, compute_uv=False))
        best, best_d = None, math.inf
        for c in self.classes:
            if orbit_distance_lower_bound(inv, self._inv[c.label]) > self.radius[c.label]:
                continue  # provably farther than the radius from the class's orbit
            dist = symmetry_distance(W, self._ref[c.label], good=self.radius[c.label])
            if dist <= self.radius[c.label] and dist < best_d:
                best, best_d = c, dist
        return best


@functools.lru_cache(maxsize=None)
def load_certificates(k: int) -> dict[str, Any] | None:
    """The committed certificate file of ``k`` (parsed JSON), or None."""
    path = CERT_DIR / f"k{k}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def class_from_point(p: dict[str, Any], k: int) -> CriticalClass:
    """A :class:`CriticalClass` from a stored certified point (floats of its decimal strings)."""
    if p["kind"] == "identity":
        W = np.eye(k)
    elif p["kind"] == "type-A-isotypic":
        a, d, e, b, c = (float(x) for x in p["z"])
        W = np.full((k, k), e)
        np.fill_diagonal(W, d)
        W[0, 0], W[0, 1:], W[1:, 0] = a, b, c
    else:
        W = np.array(Layout(tuple(p["blocks"])).matrix([float(x) for x in p["z"]]), dtype=float)
    info = {key: p[key] for key in ("family", "isotropy", "blocks", "radius", "lambda_min") if key in p}
    info["loss_interval"] = [p["loss"]["lo"], p["loss"]["hi"]]
    if p["kind"] == "identity":
        info["note"] = ("loss 0 exactly (the student is the teacher); F is C² but not C³ here (parallel student-"
                        "teacher pairs), and index 0, nullity 0 are the inertia of its Hessian, the Gram matrix "
                        "E[1{x_i>0}1{x_j>0} x x^T]: positive definite, a strict minimum")
    elif p["kind"] == "type-A-isotypic":
        info["note"] = "certified through the S_{k-1} isotypic decomposition of the Hessian"
    info["eigenvalue_clusters"] = len(p["spectrum"])
    if len(p["spectrum"]) <= 16:
        info["spectrum"] = [{"lo": lo, "hi": hi, "multiplicity": m} for lo, hi, m in p["spectrum"]]
    lam = float(p["lambda_min"])
    info["match_radius"] = 2 * math.sqrt(CRITICAL_GRAD_SQ) / lam + float(p.get("radius", 0.0))
    return CriticalClass(p["label"], float(p["loss"]["mid"]), int(p["index"]), int(p["nullity"]), k * k,
                         point=W.ravel(), info=info)


def sampled_loss(theta: jnp.ndarray, data: dict[str, Any]) -> jnp.ndarray:
    """The empirical loss ``½ mean_x (Σ_i relu(w_i·x) - Σ_j relu(v_j·x))²`` over the drawn inputs ``data["X"]``."""
    V, X = data["V"], data["X"]
    W = theta.reshape(V.shape)
    r = jnp.sum(jnp.maximum(X @ W.T, 0.0), axis=1) - data["y"]
    return 0.5 * jnp.mean(r * r)


def make_relu(k: int = 6, d: int = 0, n: int = 0, seed: int = 0) -> Case:
    """The ReLU teacher-student case with ``k`` hidden units and ``d`` inputs (``d = 0``: ``d = k``).

    ``n = 0``: the population loss (closed form) with the certified ground truth (for ``d = k``).
    ``n > 0``: the sampled-data variant, ``n`` inputs ``x ~ N(0, I_d)`` drawn from ``seed``; its critical
    points are not those of the population loss, so it lists no certified class (every critical point is
    unverified); :func:`population_gap` gives ``F_n(W) - F(W)`` at a point.
    """
    k, n = int(k), int(n)
    d = k if int(d) == 0 else int(d)
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if d < k:
        raise ValueError(f"d must be >= k = {k}, got {d}")
    if n < 0:
        raise ValueError(f"n must be >= 0 (0: the population loss), got {n}")
    V = np.zeros((k, d))
    V[:, :k] = np.eye(k)
    if n:
        X = np.random.default_rng(int(seed)).standard_normal((n, d))
        data = {"V": jnp.asarray(V), "X": jnp.asarray(X), "y": jnp.asarray(np.maximum(X @ V.T, 0).sum(1))}
        loss_fn, what = sampled_loss, f"{n} Gaussian inputs (seed {seed}); no certified classes"
        classes = []
    else:
        data = {"V": jnp.asarray(V), "tt": jnp.asarray(teacher_constant(k))}
        loss_fn, what = relu_loss, "population loss"
        cert = load_certificates(k) if d == k else None
        classes = [class_from_point(p, k) for p in cert["points"]] if cert else []
    bound = math.sqrt(6.0 / (k + d))

    def sample_init(rng: np.random.Generator, m: int) -> np.ndarray:
        return rng.uniform(-bound, bound, size=(m, k * d))

    def diagnostics(theta: np.ndarray) -> dict[str, float]:
        return {"population_gap": population_gap(case, theta)}

    case = Case(
        name=NAME,
        params={"k": k, "d": d, "n": n, "seed": int(seed)},
        dim=k * d,
        loss_fn=loss_fn,
        data=data,
        sample_init=sample_init,
        ground_truth=ReluGroundTruth(classes, k, d),
        description=f"two-layer ReLU student (k={k}, d={d}) vs teacher V=I, Gaussian inputs ({what})",
        unflatten=lambda th: {"W": np.asarray(th).reshape(k, d)},
        diagnostics=diagnostics if n else None,
    )
    return case


def population_gap(case: Case, theta: np.ndarray) -> float:
    """``F_n(W) - F(W)``: the sampled-data loss minus the population loss at ``theta`` (0 for ``n = 0``)."""
    if not case.params.get("n"):
        return 0.0
    k, d = case.params["k"], case.params["d"]
    pop = relu_loss(jnp.asarray(theta), {"V": case.data["V"], "tt": jnp.asarray(teacher_constant(k))})
    return float(case.loss(jnp.asarray(theta)) - pop) if d >= k else math.nan


CASE = CaseSpec(
    NAME,
    make_relu,
    description="two-layer ReLU teacher-student, Gaussian inputs (Safran & Shamir 2018): interval-certified "
                "critical points (global min, type A, Δ(S_p x S_k-p), ΔS_k)",
    ground_truth_kind="partial",
    small_params={"k": 6},
    certificate="cases.certificates.relu:certify",
)
