r"""Symmetry-induced (SI) critical lines: Stoican's teacher-student problem.

Data (Stoican, MSc thesis, Sec. 6.2): the 1681 inputs of the grid
``{(i/4, k/4) : i, k = -20..20}`` and the labels of a sigmoid teacher of
width 4 without biases,

.. math::  y(x) = \sum_{t=1}^{4} a^*_t \, \sigma(w^*_t \cdot x),\qquad
           w^* = [[0.6, 0.5], [-0.5, 0.5], [-0.2, -0.6], [0.1, -0.6]],\quad
           a^* = (+1, -1, +1, -1).

Student of width ``r`` with ``θ = (W (r×2, row-major), a (r))`` (``dim = 3r``),
``f_θ(x) = Σ_i a_i σ(w_i·x)``, residual ``e(x) = f_θ(x) - y(x)`` and loss

.. math::  L(θ) = \sum_x e(x)^2

(the sum of squares written in Stoican's proof of Theorem 3, Sec. 6.2; *not*
the mean: with the mean the teacher's smallest Hessian eigenvalue is 4.8e-7,
below the thesis threshold 1e-5, so the numerically counted nullity would not
be the true one.  With the sum it is 1.6e-3.)

**Duplication.**  For a critical point ``(W, a)`` of width ``r`` and a neuron
``j``, the width-``r+1`` point with ``w_j`` repeated and ``a_j`` split into
``(μ a_j, (1-μ) a_j)`` is critical for every real ``μ`` (same network function,
and each new gradient block is ``μ`` or ``1-μ`` times an old one).  In the
coordinates (embedding of the width-``r`` space, difference direction
``δw = ((1-μ)v, -μv)``, line direction ``δa = (a_j, -a_j)``), a linear change of
coordinates, the Hessian is block diagonal
``H_r ⊕ 2N μ(1-μ) Y ⊕ 0`` with

.. math::  Y = a_j \,\mathrm{mean}_x[e(x)\,σ''(w_j·x)\, x x^T]

(the coupling ``U = mean[σ'(w_j·x) x e(x)]`` vanishes because the width-``r``
point is critical and the output is scalar).  By Sylvester's law the inertia is
``inertia(H_r) + inertia(μ(1-μ) Y) + one zero``.  This is Stoican's Theorem 3 /
Corollary 3.1 (after Simsek et al. 2021); the block identities are checked in
SymPy and the counts by dense eigendecomposition in
:mod:`cases.certificates.si_line`.

**Classes** (width 5; all loss/index/nullity certified):

* ``teacher-dup-j`` (j = 0..3): the teacher with neuron ``j`` duplicated; loss 0,
  ``e = 0`` so ``Y = 0``: a degenerate global-minimum line, index 0, nullity 3.
* ``teacher-zero``: the teacher plus a neuron with outgoing weight 0 and any
  (generic) incoming weight ``w'``; loss 0, index 0, nullity 2 (``w'`` is free).
* ``local-A-dup-j``: lines through ``LOCAL_A``, a non-global, non-degenerate
  width-4 local minimum (loss 0.1440843…, found by BFGS + dense Newton polish
  to ``||grad||² < 1e-26``; case construction, not a solver under test).  For
  ``j = 0, 1, 2`` ``Y`` is indefinite: saddle lines of index 1, nullity 1 for all
  ``μ ∉ {0, 1}``.  For ``j = 3`` ``Y`` is negative definite, so the line splits:
  ``local-A-dup-3-inner`` (``0 < μ < 1``: index 2) and ``local-A-dup-3-outer``
  (``μ < 0`` or ``μ > 1``: index 0, a degenerate local minimum), nullity 1.
  (Counts hold where ``|μ(1-μ)|`` is not tiny; near ``μ ∈ {0, 1}`` the block's
  eigenvalues cross the 1e-5 threshold.)

Width 4 (``width=4``): ``teacher`` and ``local-A`` themselves (index 0, nullity 0).

Initial points: Xavier/Glorot normal, as in Stoican Sec. 6.2.1 ("The Xavier
initialization is used"): ``W ~ N(0, 2/(2 + r))``, ``a ~ N(0, 2/(r + 1))``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from . import _x64  # noqa: F401  (float64 before any JAX array)
import jax
import jax.numpy as jnp
import numpy as np

from ._core import Case, CriticalClass, GroundTruth
from .registry import CaseSpec

NAME = "si-line"

#: Teacher incoming weights (rows) and outgoing weights, Stoican Sec. 6.2.
TEACHER_W = np.array([[0.6, 0.5], [-0.5, 0.5], [-0.2, -0.6], [0.1, -0.6]])
TEACHER_A = np.array([1.0, -1.0, 1.0, -1.0])

#: A non-global strict local minimum of the width-4 student (loss 0.14408432586323…),
#: ``||grad L||² ≈ 1e-27``, smallest Hessian eigenvalue 0.068 (dense check in the certificate).
LOCAL_A_W = np.array(
    [
        [-0.8473318831228059, -1.1447095827390756],
        [-0.3933239225695903, 0.1044891415665151],
        [-1.0316645283710701, 0.8605653471904943],
        [0.8109538248160718, 0.702494165289942],
    ]
)
LOCAL_A_A = np.array([0.20093858577453438, -0.5779604257342216, -0.26234042955040254, 0.6393594338690911])

#: Incoming weight of the extra neuron in the representative ``teacher-zero`` point.
ZERO_NEURON_W = np.array([0.3, 0.9])

#: Certified invariants ``(index_count, nullity)`` per class label (width 5); the
#: certificate re-derives each from the duplication formula and a dense eigendecomposition.
CLASS_TABLE_5: dict[str, tuple[str, int | None, str | None, int, int]] = {
    # label: (base, duplicated neuron, side, index_count, nullity)
    "teacher-dup-0": ("teacher", 0, None, 0, 3),
    "teacher-dup-1": ("teacher", 1, None, 0, 3),
    "teacher-dup-2": ("teacher", 2, None, 0, 3),
    "teacher-dup-3": ("teacher", 3, None, 0, 3),
    "teacher-zero": ("teacher", None, None, 0, 2),
    "local-A-dup-0": ("local-A", 0, None, 1, 1),
    "local-A-dup-1": ("local-A", 1, None, 1, 1),
    "local-A-dup-2": ("local-A", 2, None, 1, 1),
    "local-A-dup-3-inner": ("local-A", 3, "inner", 2, 1),
    "local-A-dup-3-outer": ("local-A", 3, "outer", 0, 1),
}
CLASS_TABLE_4: dict[str, tuple[str, int | None, str | None, int, int]] = {
    "teacher": ("teacher", None, None, 0, 0),
    "local-A": ("local-A", None, None, 0, 0),
}
#: Loss of ``LOCAL_A`` (sum of squares over the grid), to 12 significant digits;
#: the exact float is recomputed at construction.
LOCAL_A_LOSS_APPROX = 0.144084325863


def grid_inputs() -> np.ndarray:
    """The ``(1681, 2)`` grid ``{(i/4, k/4) : i, k = -20..20}``, first coordinate slowest."""
    g = np.arange(-20, 21, dtype=np.float64) / 4.0
    x1, x2 = np.meshgrid(g, g, indexing="ij")
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def sigmoid_np(z: np.ndarray) -> np.ndarray:
    """Logistic sigmoid in NumPy (float64), overflow-free: ``(1 + tanh(z/2)) / 2``."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=np.float64)))


def network_np(W: np.ndarray, a: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``f(x) = Σ_i a_i σ(w_i·x)`` for each row of ``X`` (NumPy)."""
    return sigmoid_np(X @ np.asarray(W).T) @ np.asarray(a)


def teacher_data() -> dict[str, jnp.ndarray]:
    """``{"x": grid (1681, 2), "y": teacher labels (1681,)}`` as float64 JAX arrays."""
    X = grid_inputs()
    return {"x": jnp.asarray(X), "y": jnp.asarray(network_np(TEACHER_W, TEACHER_A, X))}


def loss_fn(theta: jnp.ndarray, data: dict[str, jnp.ndarray]) -> jnp.ndarray:
    r"""``L(θ) = Σ_x (Σ_i a_i σ(w_i·x) - y(x))²`` with ``θ = (W.ravel(), a)``, width ``len(θ)/3``."""
    r = theta.shape[0] // 3
    W = theta[: 2 * r].reshape(r, 2)
    a = theta[2 * r :]
    e = jax.nn.sigmoid(data["x"] @ W.T) @ a - data["y"]
    return jnp.sum(e**2)


def pack(W: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Flat ``θ = (W.ravel(), a)``."""
    return np.concatenate([np.asarray(W, dtype=float).ravel(), np.asarray(a, dtype=float)])


def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(W (r, 2), a (r,))`` from a flat ``θ`` of length ``3r``."""
    theta = np.asarray(theta, dtype=float)
    r = theta.shape[-1] // 3
    return theta[: 2 * r].reshape(r, 2), theta[2 * r :]


def unflatten(theta: np.ndarray) -> dict[str, np.ndarray]:
    """Named arrays ``{"W": (r, 2), "a": (r,)}``."""
    W, a = unpack(theta)
    return {"W": W, "a": a}


def duplicate(W: np.ndarray, a: np.ndarray, j: int, mu: float) -> np.ndarray:
    """Width-``r+1`` point: neuron ``j`` repeated (appended last), ``a_j`` split as ``(μ a_j, (1-μ) a_j)``."""
    W = np.asarray(W, dtype=float)
    a = np.asarray(a, dtype=float).copy()
    W5 = np.vstack([W, W[j]])
    a5 = np.append(a, (1.0 - mu) * a[j])
    a5[j] = mu * a[j]
    return pack(W5, a5)


def add_zero_neuron(W: np.ndarray, a: np.ndarray, w_new: np.ndarray) -> np.ndarray:
    """Width-``r+1`` point: an extra neuron with incoming ``w_new`` and outgoing weight 0."""
    return pack(np.vstack([np.asarray(W, dtype=float), np.asarray(w_new, dtype=float)]), np.append(a, 0.0))


def y_matrix(W: np.ndarray, a: np.ndarray, j: int, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Stoican's ``Y = a_j mean_x[e(x) σ''(w_j·x) x xᵀ]`` (closed form, NumPy).

    ``σ'' = σ(1-σ)(1-2σ)``; ``e = f - y``.  The Hessian block of the difference
    direction of the sum-of-squares loss is ``2N μ(1-μ) Y``.
    """
    e = network_np(W, a, X) - y
    s = sigmoid_np(X @ np.asarray(W)[j])
    s2 = s * (1.0 - s) * (1.0 - 2.0 * s)
    return float(a[j]) * np.einsum("n,ni,nk->ik", e * s2, X, X) / X.shape[0]


def _base(name: str) -> tuple[np.ndarray, np.ndarray]:
    return (TEACHER_W, TEACHER_A) if name == "teacher" else (LOCAL_A_W, LOCAL_A_A)


def class_point(label: str, width: int, mu: float) -> np.ndarray:
    """Representative point of class ``label`` (uses ``mu`` where the class allows it)."""
    table = CLASS_TABLE_5 if width == 5 else CLASS_TABLE_4
    base, j, side, _, _ = table[label]
    W, a = _base(base)
    if width == 4:
        return pack(W, a)
    if j is None:
        return add_zero_neuron(W, a, ZERO_NEURON_W)
    inner = 0.0 < mu < 1.0
    if side == "inner" and not inner:
        mu = 0.5
    elif side == "outer" and inner:
        mu = 2.0
    return duplicate(W, a, j, mu)


class SILineGroundTruth(GroundTruth):
    """Classes of the SI-line case, matched by a permutation-invariant test.

    :meth:`match` assigns each student neuron to the nearest neuron of a base
    configuration (teacher or ``LOCAL_A``) when ``||w_i - w_t|| < tol``; a
    neuron near none of them must have ``|a_i| < tol`` (a zero neuron, teacher
    only).  Every base neuron must be hit and the outgoing weights of its group
    must sum to its ``a_t`` (within ``tol``).  Group sizes name the class
    (one group of two: ``dup-t``; for ``local-A-dup-3`` the side is the sign of
    ``μ(1-μ) = a_i a_k / (a_i + a_k)²``).  Otherwise ``None``.
    """

    kind = "numeric"
    match_rule = ("permutation invariant: every incoming weight within match_tol (0.1) of a base neuron "
                  "(or outgoing weight below it), outgoing weights of each group summing to the base's within match_tol")

    def __init__(self, classes: Any, width: int, tol: float) -> None:
        super().__init__(classes, kind="numeric")
        self.width = width
        self.tol = tol
        self.match_tol = tol

    def _match_base(self, W: np.ndarray, a: np.ndarray, base: str) -> str | None:
        Wb, ab = _base(base)
        d = np.linalg.norm(W[:, None, :] - Wb[None, :, :], axis=-1)  # (r, 4)
        nearest = np.argmin(d, axis=1)
        near = d[np.arange(W.shape[0]), nearest] < self.tol
        groups: dict[int, list[int]] = {t: [] for t in range(Wb.shape[0])}
        zeros = []
        for i in range(W.shape[0]):
            if near[i]:
                groups[int(nearest[i])].append(i)
            elif abs(a[i]) < self.tol:
                zeros.append(i)
            else:
                return None
        for t, members in groups.items():
            if not members or abs(float(np.sum(a[members])) - ab[t]) > self.tol:
                return None
        sizes = {t: len(m) for t, m in groups.items()}
        if self.width == 4:
            return base if not zeros else None
        dups = [t for t, s in sizes.items() if s == 2]
        if zeros:
            return "teacher-zero" if base == "teacher" and len(zeros) == 1 and not dups else None
        if len(dups) != 1:
            return None
        t = dups[0]
        label = f"{base}-dup-{t}"
        if label in CLASS_TABLE_5:
            return label
        i, k = groups[t]
        return f"{label}-inner" if a[i] * a[k] > 0 else f"{label}-outer"

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        W, a = unpack(theta)
        if W.shape[0] != self.width or not (np.all(np.isfinite(W)) and np.all(np.isfinite(a))):
            return None
        for base in ("teacher", "local-A"):
            label = self._match_base(W, a, base)
            if label is not None:
                return self.class_by_label(label)
        return None


def build_classes(width: int, mu: float) -> tuple[CriticalClass, ...]:
    """The certified classes for ``width`` (4 or 5) with representatives at ``mu``."""
    table = CLASS_TABLE_5 if width == 5 else CLASS_TABLE_4
    data = teacher_data()
    local_loss = float(loss_fn(jnp.asarray(pack(LOCAL_A_W, LOCAL_A_A)), data))
    out = []
    for label, (base, j, side, index, nullity) in table.items():
        info: dict[str, Any] = {"base": base}
        if j is not None:
            info["duplicated_neuron"] = j
            info["line"] = "mu in (0, 1)" if side == "inner" else "mu < 0 or mu > 1" if side == "outer" else "mu not in {0, 1}"
        elif width == 5:
            info["extra_neuron"] = "outgoing weight 0, generic incoming weight"
        out.append(
            CriticalClass(
                label,
                0.0 if base == "teacher" else local_loss,
                index,
                nullity,
                3 * width,
                class_point(label, width, mu),
                info,
            )
        )
    return tuple(out)


#: Initial-point protocols of :func:`make_case`.
INITS = ("xavier", "near-lines")


def near_lines_sampler(width: int, noise: float) -> Any:
    """Stoican's protocol for probing the certified lines (Sec. 6.2.2): start near them.

    Each initial point picks uniformly one of the certified classes whose only
    degeneracy is the line itself (nullity 1: the ``local-A`` lines; near the
    teacher lines, nullity 3, the loss is flat to higher order and Newton-type
    methods converge only linearly, missing ``||grad L||^2 < 1e-10`` within a
    scorecard budget), a point on it (for a
    duplication line ``μ ~ U(0.1, 0.9)`` on the inner side, ``U(1.2, 2)`` on an
    ``outer`` side; ``teacher-zero`` with its representative ``w'``), permutes
    the neurons uniformly (the loss is invariant) and adds i.i.d.
    ``N(0, noise^2)`` to every parameter.
    """
    table = CLASS_TABLE_5 if width == 5 else CLASS_TABLE_4
    labels = [k for k, v in table.items() if v[4] == 1] or list(table)

    def sample_init(rng: np.random.Generator, n: int) -> np.ndarray:
        out = np.empty((n, 3 * width))
        for i in range(n):
            label = labels[int(rng.integers(len(labels)))]
            side = table[label][2]
            mu = float(rng.uniform(1.2, 2.0)) if side == "outer" else float(rng.uniform(0.1, 0.9))
            point = permute_neurons(class_point(label, width, mu), rng.permutation(width))
            out[i] = point + rng.normal(0.0, noise, size=3 * width)
        return out

    return sample_init


def make_case(
    width: int = 5, mu: float = 0.3, match_tol: float = 0.1, init: str = "xavier", init_noise: float = 0.005
) -> Case:
    """Stoican's teacher-student SI-line case.

    Args:
        width: student width, 4 (teacher and one local minimum) or 5 (SI lines).
        mu: outgoing-weight split of the representative points of the
            duplication classes; finite, not 0 or 1.
        match_tol: tolerance (0 < tol < 0.15; teacher rows are 0.3 apart) on incoming-weight
            distances and outgoing-weight sums used by ``match``.
        init: ``"xavier"`` (Stoican's random Xavier/Glorot initialisation: solvers
            rarely end on a certified line, so a scorecard cell measures little) or
            ``"near-lines"`` (:func:`near_lines_sampler`: a certified point plus
            noise; the default scorecard's protocol, where a correct Newton method
            returns to a certified line and a broken one does not).  Measured
            (8 runs, 60 iterations, ``init_noise = 0.005``): ``pinv-newton`` 7/8
            correct in 5-23 iterations; ``newton-mr`` (forcing 0.5) reaches only
            ``||grad L||^2 ~ 1e-8`` -- its inexact steps converge linearly here.
        init_noise: standard deviation of the ``near-lines`` perturbation, in
            ``(0, match_tol)``.  At 0.005 the initial ``||grad L||^2`` is ``~1e1-1e3``
            (the loss sums 1681 squared residuals), far from critical.
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, got {init!r}")
    init_noise = float(init_noise)
    if isinstance(width, bool) or int(width) != width or width not in (4, 5):
        raise ValueError(f"width must be 4 or 5, got {width!r}")
    width = int(width)
    mu = float(mu)
    if not math.isfinite(mu) or mu in (0.0, 1.0):
        raise ValueError(f"mu must be finite and not 0 or 1, got {mu}")
    match_tol = float(match_tol)
    if not (0.0 < match_tol < 0.15):
        raise ValueError(f"match_tol must be in (0, 0.15), got {match_tol}")
    if not (0.0 < init_noise < match_tol):
        raise ValueError(f"init_noise must be in (0, match_tol={match_tol}), got {init_noise}")
    gt = SILineGroundTruth(build_classes(width, mu), width, match_tol)
    std_w = math.sqrt(2.0 / (2 + width))
    std_a = math.sqrt(2.0 / (width + 1))

    def xavier(rng: np.random.Generator, n: int) -> np.ndarray:
        W = rng.normal(0.0, std_w, size=(n, 2 * width))
        a = rng.normal(0.0, std_a, size=(n, width))
        return np.concatenate([W, a], axis=1)

    sample_init = xavier if init == "xavier" else near_lines_sampler(width, init_noise)

    return Case(
        name=NAME,
        params={"width": width, "mu": mu, "match_tol": match_tol, "init": init, "init_noise": init_noise},
        dim=3 * width,
        loss_fn=loss_fn,
        data=teacher_data(),
        sample_init=sample_init,
        ground_truth=gt,
        description=f"Stoican teacher-student, width-{width} sigmoid student; symmetry-induced critical lines",
        unflatten=unflatten,
    )


def permute_neurons(theta: np.ndarray, perm: Any) -> np.ndarray:
    """``θ`` with its neurons reordered by ``perm`` (the loss is invariant)."""
    W, a = unpack(theta)
    perm = list(perm)
    return pack(W[perm], a[perm])


def all_permutations(width: int) -> list[tuple[int, ...]]:
    """All neuron permutations of a width (for tests)."""
    return list(itertools.permutations(range(width)))


CASE = CaseSpec(
    NAME,
    make_case,
    description="Stoican teacher-student (1681-point grid, sigmoid): symmetry-induced critical lines",
    ground_truth_kind="numeric",
    small_params={"width": 5, "mu": 0.3, "init": "near-lines"},
    certificate="cases.certificates.si_line:certify",
)


def adam_train(thetas: np.ndarray, steps: int, lr: float, state: tuple[np.ndarray, ...] | None = None
               ) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    r"""Full-batch Adam on :func:`loss_fn` from each row of ``thetas`` (Stoican Sec. 6.2.1's first stage:
    "Adam ... fixed learning rate ..., full batch"); jitted, ``vmap`` over rows, one ``lax.fori_loop``.

    Update (Kingma & Ba, ``β1 = 0.9, β2 = 0.999, ε = 1e-8``):
    ``m ← β1 m + (1-β1) g``, ``v ← β2 v + (1-β2) g²``,
    ``θ ← θ - lr · m̂ / (√v̂ + ε)`` with ``m̂ = m/(1-β1^t)``, ``v̂ = v/(1-β2^t)``.
    Adam is (up to ``ε``) invariant to scaling the loss, so the sum of squares here and Stoican's mean
    give the same steps.  ``state = (m, v, t)`` continues a previous call; returns ``(thetas, state)``.
    """
    th = jnp.asarray(thetas, dtype=jnp.float64)
    if state is None:
        state = (np.zeros(th.shape), np.zeros(th.shape), np.zeros(th.shape[0]))
    out = _adam_jit(th, *(jnp.asarray(s, dtype=jnp.float64) for s in state), teacher_data(), int(steps), float(lr))
    th, m, v, t = (np.asarray(a) for a in out)
    return th, (m, v, t)


def _adam_one(theta: jnp.ndarray, m: jnp.ndarray, v: jnp.ndarray, t: jnp.ndarray, data: dict[str, jnp.ndarray],
              steps: int, lr: jnp.ndarray) -> tuple[jnp.ndarray, ...]:
    grad = jax.grad(loss_fn)

    def step(_: int, s: tuple[jnp.ndarray, ...]) -> tuple[jnp.ndarray, ...]:
        th, m, v, t = s
        g = grad(th, data)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        t = t + 1.0
        return th - lr * (m / (1 - 0.9**t)) / (jnp.sqrt(v / (1 - 0.999**t)) + 1e-8), m, v, t

    return jax.lax.fori_loop(0, steps, step, (theta, m, v, t))


_adam_jit = jax.jit(jax.vmap(_adam_one, in_axes=(0, 0, 0, 0, None, None, None)), static_argnums=(5,))
