"""Hypothesis strategies that draw ground-truth problems with their certified answers.

Every drawn case carries its certified ground truth (``case.ground_truth``:
classes with exact loss, index and nullity), so a property test reads::

    from hypothesis import given, strategies as st
    from harness import strategies as cs
    from harness.testing import assert_finds_ground_truth

    @given(st.data())
    def test_newton_mr_reaches_the_minimum(data):
        case = data.draw(cs.quartic_instances(dim=2))
        label = cs.minimum_label(case)
        theta0 = data.draw(cs.basin_starts(case, label))
        assert_finds_ground_truth("newton-mr", case, theta0=theta0[None], min_success=1.0,
                                  expect_class=label)

Strategies (all built from the case factories' real parameters):

* :func:`dlae_instances` -- deep linear autoencoders with ``exact=True`` data
  (``XX^T/n = diag(spectrum)`` exactly), random sizes, spectra, rotations;
* :func:`quartic_instances` -- separable quartics in rotated coordinates
  (``quartic-family``), non-degenerate by construction;
* :func:`xor_instances`, :func:`degenerate_instances` -- networks at certified
  degenerate critical manifolds / points (``partial`` ground truth);
* :func:`relu_instances` -- the ReLU teacher-student case (``relu-teacher-student``) at a ``k``
  with committed ball-arithmetic certificates (partial ground truth: global minimum, type A, ...);
* :func:`large_dlae_critical_points` -- a large DLAE (``k`` in the hundreds) with a
  known critical point built from the closed form in a well-conditioned gauge,
  for checking the closed form against :mod:`harness.scoring.matrix_free`;
* :func:`critical_classes` -- a certified class of a case;
* :func:`initial_points` -- a start near a class (optionally moved along the
  DLAE gauge orbit by a well-conditioned ``A``), or from the case's sampler;
* :func:`basin_starts` -- a start inside a region where second-order methods
  are known to converge to the class (exact for quartic minima, see below;
  otherwise a small ball, a heuristic).

Hypothesis is imported here (it is a test dependency); each distinct case shape
means a fresh JIT compilation of the solver, so keep ``max_examples`` small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

__all__ = [
    "basin_starts",
    "critical_classes",
    "degenerate_instances",
    "dlae_instances",
    "initial_points",
    "large_dlae_critical_points",
    "local_radius",
    "minimum_label",
    "quartic_instances",
    "relu_instances",
    "xor_instances",
]

#: Largest condition number of a drawn DLAE gauge matrix ``A`` (REFERENCE.md:
#: ill-conditioned gauges push true negative eigenvalues below -1e-5).
GAUGE_MAX_COND = 4.0


# --------------------------------------------------------------------------- cases
@st.composite
def dlae_instances(draw: Any, max_k: int = 5, max_p: int = 3, *, gram: bool = True,
                   rotation: bool | None = None) -> Any:
    """A :func:`cases.dlae.dlae` case with exact ground truth.

    Draws ``k`` in ``2..max_k``, ``p`` in ``1..min(max_p, k)``, a spectrum of ``k``
    distinct values ``scale * m_i`` (distinct integers ``m_i`` in ``1..4k``,
    ``scale`` in ``[0.25, 4]``: eigenvalue gaps ``>= scale``), a data seed and
    (unless fixed) whether to rotate the data by a Haar-random orthogonal matrix.
    ``exact=True`` makes ``XX^T/n`` equal ``diag(spectrum)`` (rotated) exactly, so the
    classes' losses and indices are closed forms.  ``gram=True`` evaluates the loss
    through ``Σ`` (same value; cheaper).
    """
    from cases import get_case

    k = draw(st.integers(2, max(2, max_k)))
    p = draw(st.integers(1, max(1, min(max_p, k))))
    ms = draw(st.lists(st.integers(1, 4 * k), min_size=k, max_size=k, unique=True))
    scale = draw(st.sampled_from((0.25, 0.5, 1.0, 2.0, 4.0)))
    seed = draw(st.integers(0, 2**16))
    rot = draw(st.booleans()) if rotation is None else bool(rotation)
    spectrum = tuple(float(scale * m) for m in ms)
    return get_case("dlae", k=k, p=p, n=4 * k + 4, spectrum=spectrum, seed=seed, exact=True, rotation=rot,
                    gram=gram, init="gaussian", init_scale=0.5)


@st.composite
def large_dlae_critical_points(draw: Any, min_k: int = 100, max_k: int = 160, max_p: int = 3, *,
                               near_minimum: bool | None = None) -> tuple[Any, Any, np.ndarray]:
    """``(case, klass, theta)``: a DLAE with ``k`` in ``min_k..max_k`` and a known critical point.

    The spectrum is ``linspace(1, k, k)`` times a drawn scale, data exact
    (``XX^T/n = R diag(λ) R^T``, ``R`` Haar-random or ``I``), the loss in the Gram form.
    The class ``S`` is either near the global minimum (``{0..p-1}`` with at most one
    index swapped for a smaller one: index and nullity small, so the matrix-free
    check can count them exactly) or any subset of size ``<= p``.  The point is
    the closed form's ``W1 = A [U_S^T; 0]``, ``W2 = [U_S, 0] A^{-1}`` with
    ``cond(A) <= GAUGE_MAX_COND`` (well conditioned: the gauge cannot push an
    eigenvalue across ``±1e-5``).  Each draw builds a fresh case (a new shape:
    one compilation of the HVP), so keep ``max_examples`` at a few.
    """
    from cases import get_case

    k = draw(st.integers(min_k, max(min_k, max_k)))
    p = draw(st.integers(1, max(1, min(max_p, k))))
    scale = draw(st.sampled_from((0.5, 1.0, 2.0)))
    rot = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    case = get_case("dlae", k=k, p=p, n=k + 8, spectrum=tuple(float(scale * v) for v in np.linspace(1, k, k)),
                    seed=seed, exact=True, rotation=rot, gram=True, init="gaussian")
    near = draw(st.booleans()) if near_minimum is None else bool(near_minimum)
    if near:
        subset = list(range(p))
        if draw(st.booleans()):
            subset[draw(st.integers(0, p - 1))] = draw(st.integers(p, k - 1))
    else:
        r = draw(st.integers(0, p))
        subset = draw(st.lists(st.integers(0, k - 1), min_size=r, max_size=r, unique=True))
    klass = case.ground_truth.class_for_subset(subset)
    theta = _gauge(case, np.asarray(klass.point, dtype=np.float64), np.random.default_rng(seed))
    return case, klass, theta


@st.composite
def quartic_instances(draw: Any, dim: int = 2, *, rotate: bool = True) -> Any:
    """A ``quartic-family`` case in ``dim`` (1..4) coordinates with exact ground truth.

    Per coordinate ``a_i`` in ``[0.5, 4]``, ``b_i`` in ``±[1, 8]``, ``c_i`` in
    ``[-10, 10]`` (rounded to 1/8 so examples are readable); near-degenerate cubics
    (double roots) are rejected with ``assume``.  ``rotate``: a Haar-random ``Q``.
    """
    from cases import get_case

    if not 1 <= dim <= 4:
        raise ValueError(f"dim must be in 1..4, got {dim}")
    q = lambda lo, hi: st.integers(int(lo * 8), int(hi * 8)).map(lambda v: v / 8)  # noqa: E731
    a = tuple(draw(q(0.5, 4)) for _ in range(dim))
    b = tuple(draw(q(1, 8)) * draw(st.sampled_from((-1.0, 1.0))) for _ in range(dim))
    c = tuple(draw(q(-10, 10)) for _ in range(dim))
    seed = draw(st.integers(0, 2**16)) if rotate else -1
    # well-separated roots keep the certified index robust (|f''| >> 1e-5)
    disc = [abs(4 * bi**3 + 27 * ai * ci**2) / (4 * abs(bi) ** 3 + 27 * ai * ci**2) for ai, bi, ci in zip(a, b, c)]
    assume(min(disc) > 0.05)
    try:
        return get_case("quartic-family", a=a, b=b, c=c, rotation_seed=seed)
    except ValueError:
        assume(False)


def xor_instances() -> Any:
    """The XOR cases: ``tanh-mse`` (loss 1/4 manifold) or ``softmax-ce`` with ``l2`` 0 or in ``[1e-4, 1e-1]``."""
    from cases import get_case

    tanh = st.just(("tanh-mse", 0.0))
    ce = st.tuples(st.just("softmax-ce"), st.one_of(st.just(0.0), st.floats(1e-4, 1e-1)))
    return st.one_of(tanh, ce).map(lambda v: get_case("xor", variant=v[0], l2=v[1]))


@st.composite
def degenerate_instances(draw: Any, max_width: int = 4, max_depth: int = 4) -> Any:
    """A ``degenerate-mlp`` case: >= 3 trailing zero weight matrices (Cooper's star locus).

    Widths ``(d_in, hidden..., d_out)`` with ``max_depth`` weight matrices at most,
    each width ``1..max_width``; ``n_zero`` in ``3..depth`` (certified: index 0,
    one positive eigenvalue per output); tanh or swish; ``n`` in ``4..16`` points.
    """
    from cases import get_case

    depth = draw(st.integers(3, max(3, max_depth)))
    widths = tuple(draw(st.integers(1, max_width)) for _ in range(depth + 1))
    n_zero = draw(st.integers(3, depth))
    return get_case("degenerate-mlp", widths=widths, n_zero=n_zero, activation=draw(st.sampled_from(("tanh", "swish"))),
                    n=draw(st.integers(4, 16)), seed=draw(st.integers(0, 2**16)))


def relu_instances(ks: Sequence[int] | None = None) -> Any:
    """A ``relu-teacher-student`` case (``d = k``) with ``k`` drawn from ``ks`` (default: every ``k`` with
    committed certificates, :data:`cases.relu.CERTIFIED_K`); its classes are the certified points."""
    from cases import get_case
    from cases.relu import CERTIFIED_K

    pool = tuple(CERTIFIED_K if ks is None else ks)
    bad = sorted(set(pool) - set(CERTIFIED_K))
    if bad:
        raise ValueError(f"relu_instances: no committed certificates for k={bad}; certified k: {list(CERTIFIED_K)}")
    return st.sampled_from(pool).map(lambda k: get_case("relu-teacher-student", k=k))


# --------------------------------------------------------------------------- classes and starts
def _classes(case: Any) -> tuple:
    gt = case.ground_truth
    if gt is None or not gt.classes:
        raise ValueError(f"case {case.name!r} has no certified critical classes")
    return tuple(gt.classes)


def critical_classes(case: Any, *, labels: Sequence[str] | None = None, max_index: int | None = None) -> Any:
    """A certified :class:`cases.CriticalClass` of ``case`` (optionally restricted)."""
    pool = [c for c in _classes(case) if c.point is not None
            and (labels is None or c.label in labels) and (max_index is None or c.index_count <= max_index)]
    if not pool:
        raise ValueError(f"case {case.name!r}: no class matches labels={labels} max_index={max_index}")
    return st.sampled_from(pool)


def minimum_label(case: Any) -> str:
    """The label of the lowest-loss certified class with index 0."""
    mins = [c for c in _classes(case) if c.index_count == 0]
    if not mins:
        raise ValueError(f"case {case.name!r} has no certified minimum")
    return min(mins, key=lambda c: c.loss).label


def _class(case: Any, near: Any) -> Any:
    if isinstance(near, str):
        return case.ground_truth.class_by_label(near)
    return near


def local_radius(case: Any, klass: Any) -> float:
    """``0.1 x`` the distance from the class point to the nearest other known critical or flat point (<= 0.1)."""
    others = [c.point for c in _classes(case) if c.label != klass.label and c.point is not None]
    others += [f.point for f in case.ground_truth.flat_points]
    if not others:
        return 0.1
    d = min(float(np.linalg.norm(np.asarray(o) - klass.point)) for o in others)
    return min(0.1, 0.1 * d)


def _gauge(case: Any, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """DLAE only: ``W1 -> A W1, W2 -> W2 A^-1`` with ``cond(A) <= GAUGE_MAX_COND``."""
    k, p = int(case.params["k"]), int(case.params["p"])
    q1, _ = np.linalg.qr(rng.standard_normal((p, p)))
    q2, _ = np.linalg.qr(rng.standard_normal((p, p)))
    half = 0.5 * math.log(GAUGE_MAX_COND)
    s = np.exp(rng.uniform(-half, half, size=p))  # singular values: cond(A) <= GAUGE_MAX_COND
    a = q1 @ np.diag(s) @ q2
    w1, w2 = theta[: p * k].reshape(p, k), theta[p * k:].reshape(k, p)
    return np.concatenate([(a @ w1).ravel(), (w2 @ np.linalg.inv(a)).ravel()])


@st.composite
def initial_points(draw: Any, case: Any, near: Any = None, scale: float | None = None, *,
                   gauge: bool = True) -> np.ndarray:
    """A start ``(dim,)``: from ``case.sample_init`` (``near=None``), or within ``scale`` of a class.

    With ``near`` (a label or :class:`cases.CriticalClass`) the point is the class
    representative (for a DLAE moved along its gauge orbit by a random ``A`` with
    ``cond(A) <= GAUGE_MAX_COND`` when ``gauge``) plus a vector drawn uniformly from
    the ball of radius ``scale`` (default :func:`local_radius`).
    """
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if near is None:
        return np.asarray(case.sample_init(rng, 1), dtype=np.float64)[0]
    klass = _class(case, near)
    point = np.asarray(klass.point, dtype=np.float64)
    if gauge and case.name == "dlae":
        point = _gauge(case, point, rng)
    r = local_radius(case, klass) if scale is None else float(scale)
    u = rng.standard_normal(case.dim)
    u *= r * rng.uniform() ** (1.0 / case.dim) / max(np.linalg.norm(u), 1e-300)
    return point + u


def _quartic_region(case: Any, u_star: np.ndarray) -> list[tuple[float, float]] | None:
    """Per coordinate of ``u``, an interval around the root where ``f_i'' > 0`` and ``f_i'''``
    keeps its sign (so damped Newton steps stay inside and converge monotonically);
    ``None`` unless every coordinate is such a minimum root."""
    a, b = np.asarray(case.data["a"]), np.asarray(case.data["b"])
    out = []
    for ai, bi, r in zip(a, b, u_star):
        w = 2.0 * max(1.0, abs(r))
        s = math.sqrt(-bi / (3 * ai)) if bi < 0 else 0.0
        if bi < 0 and abs(r) <= s:
            return None  # middle root: a maximum in this coordinate
        if r == 0.0:
            return None
        edge = s if r > 0 else -s
        margin = 0.1 * abs(r - edge)
        out.append((edge + margin, r + w) if r > 0 else (r - w, edge - margin))
    return out


@st.composite
def basin_starts(draw: Any, case: Any, near: Any, radius: float | None = None) -> np.ndarray:
    """A start from which second-order methods are expected to reach class ``near``.

    Quartic cases (``quartic``, ``quartic-family``) and an index-0 class: exact --
    ``u = Q^T x`` is drawn per coordinate from the interval containing the root on
    which ``f_i'' > 0`` and ``f_i'''`` has one sign (for Eq. 3.35: ``x < -√2``, the
    thesis's basin boundary), where a (damped) Newton step cannot leave the interval.
    Otherwise: :func:`initial_points` within ``radius`` (default :func:`local_radius`),
    a heuristic neighbourhood, not a certified basin.
    """
    klass = _class(case, near)
    if case.name in ("quartic", "quartic-family") and radius is None and klass.index_count == 0:
        u_star = np.asarray(klass.info["u"], dtype=np.float64)
        region = _quartic_region(case, u_star)
        if region is not None:
            u = np.array([draw(st.floats(lo, hi, allow_nan=False)) for lo, hi in region])
            return np.asarray(case.data["Q"]) @ u
    return draw(initial_points(case, klass, radius))
