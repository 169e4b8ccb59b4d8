"""The `Case` type: a loss on a flat parameter vector, an initial-point sampler,
and (when known) certified ground truth.

A solver needs only ``case.loss_fn(theta, case.data)`` (a pure JAX function of a
flat float64 vector ``theta`` of length ``case.dim`` and a data pytree) and
``case.sample_init``.  A scorer asks ``case.ground_truth``: which critical class
(or gradient-flat point) a point is nearest to, and that class's loss, index
(count and fraction) and nullity.

Conventions (thesis, Sec. 3.1; see ``shared/REFERENCE.md``):

* critical point: ``||grad L||^2 < 1e-10``;
* index: number of Hessian eigenvalues ``< -1e-5``; the *index fraction* divides
  that count by the number of parameters ``dim``;
* nullity: number of zero Hessian eigenvalues (the dimension of the kernel);
* gradient-flat point: ``grad L`` in ``ker Hess L`` (strict when ``grad L != 0``);
  every gradient-flat point is a stationary point of ``g = ||grad L||^2``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: Thesis convention: eigenvalues below ``-INDEX_EIG_TOL`` count toward the index.
INDEX_EIG_TOL = 1e-5
#: Thesis convention: a point is critical when ``||grad L||^2 < CRITICAL_GRAD_SQ``.
CRITICAL_GRAD_SQ = 1e-10
#: Default matching tolerance of :class:`GroundTruth`: Euclidean distance in
#: parameter space to a class's representative point (isolated critical points)
#: or to a certified gradient-flat point.  Near a non-degenerate critical point
#: ``||theta - theta*|| ~ ||grad L|| / |lambda_min| <= 1e-5 / |lambda_min|``, so
#: ``1e-2`` admits every critical point (``||grad L||^2 < 1e-10``) of a class whose
#: smallest ``|lambda|`` exceeds ``1e-3``, while distinct classes of the built-in
#: isolated-point families lie at least ``0.5`` apart.
MATCH_DISTANCE = 1e-2


@dataclasses.dataclass(frozen=True)
class CriticalClass:
    """One class of critical points with certified invariants.

    A class is a set of critical points sharing loss, index and nullity (an
    isolated point, a manifold such as the hyperbola of Example 1.1, or a
    gauge orbit of the deep linear autoencoder).

    Attributes:
        label: short unique name, e.g. ``"origin"`` or ``"S={0,3}"``.
        loss: the loss value on the class.
        index_count: number of negative Hessian eigenvalues.
        nullity: number of zero Hessian eigenvalues.
        dim: number of parameters (so ``index_fraction = index_count / dim``).
        point: one representative critical point (flat vector), if known.
        info: free-form extra facts (JSON-serialisable), e.g. the subset ``S``.
    """

    label: str
    loss: float
    index_count: int
    nullity: int
    dim: int
    point: np.ndarray | None = None
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def index_fraction(self) -> float:
        return self.index_count / self.dim

    def to_json(self, with_point: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "label": self.label,
            "loss": float(self.loss),
            "index_count": int(self.index_count),
            "index_fraction": float(self.index_fraction),
            "nullity": int(self.nullity),
            "dim": int(self.dim),
        }
        if self.info:
            out["info"] = dict(self.info)
        if with_point and self.point is not None:
            out["point"] = np.asarray(self.point, dtype=float).tolist()
        return out


@dataclasses.dataclass(frozen=True)
class GradientFlatPoint:
    """A strict gradient-flat point: ``grad L != 0`` and ``Hess L grad L = 0``.

    Attributes:
        label: short unique name.
        point: the point (flat vector).
        loss: the loss at the point.
        grad_norm_sq: ``||grad L||^2`` at the point (> 0 for a strict point).
        stationary_type: the point's type as a stationary point of
            ``||grad L||^2``: ``"minimum"``, ``"saddle"`` or ``"maximum"``.
    """

    label: str
    point: np.ndarray
    loss: float
    grad_norm_sq: float
    stationary_type: str

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "point": np.asarray(self.point, dtype=float).tolist(),
            "loss": float(self.loss),
            "grad_norm_sq": float(self.grad_norm_sq),
            "stationary_type": self.stationary_type,
        }


class GroundTruth:
    """Certified ground truth of a case.

    Subclasses (one per family) hold the classes and implement :meth:`match`.
    The default :meth:`match` returns the class whose representative point is
    nearest in Euclidean distance *if* that distance is at most
    :attr:`match_tol` (else ``None``: no loss or index error is ever computed
    against a far class); families whose classes are manifolds or gauge orbits
    override it with an invariant test and their own documented tolerance.
    :meth:`match_flat` does the same for the certified gradient-flat points
    with :attr:`flat_match_tol`.
    """

    #: Largest Euclidean distance to a representative point that :meth:`match` accepts.
    match_tol: float = MATCH_DISTANCE
    #: Largest Euclidean distance to a certified gradient-flat point that :meth:`match_flat` accepts.
    flat_match_tol: float = MATCH_DISTANCE
    #: One line stating how :meth:`match` decides (listed in ``docs/design.md``).
    match_rule: str = "nearest representative point within Euclidean distance match_tol"

    #: ``"exact"`` (closed form certified in SymPy), ``"numeric"`` (certified by
    #: a dense ``numpy.linalg`` check), or ``"partial"`` (only some critical
    #: points are known, e.g. one critical manifold of a network).
    kind: str = "exact"

    def __init__(
        self,
        classes: Sequence[CriticalClass],
        flat_points: Sequence[GradientFlatPoint] = (),
        *,
        kind: str | None = None,
        match_tol: float | None = None,
        flat_match_tol: float | None = None,
    ) -> None:
        self.classes: tuple[CriticalClass, ...] = tuple(classes)
        self.flat_points: tuple[GradientFlatPoint, ...] = tuple(flat_points)
        if kind is not None:
            self.kind = kind
        if match_tol is not None:
            self.match_tol = float(match_tol)
        if flat_match_tol is not None:
            self.flat_match_tol = float(flat_match_tol)
        labels = [c.label for c in self.classes]
        if len(set(labels)) != len(labels):
            raise ValueError("critical-class labels must be unique")

    # -- lookup -----------------------------------------------------------
    def class_by_label(self, label: str) -> CriticalClass:
        for c in self.classes:
            if c.label == label:
                return c
        raise KeyError(label)

    def match(self, theta: np.ndarray) -> CriticalClass | None:
        """The critical class ``theta`` belongs to: the nearest representative
        point if ``||theta - point|| <= match_tol``, else ``None``.

        Returns ``None`` when no class can be assigned (a point far from every
        known class, or a ``theta`` of the wrong shape or with non-finite entries).
        """
        return _nearest_within([c for c in self.classes if c.point is not None], theta, self.match_tol)

    def match_flat(self, theta: np.ndarray) -> GradientFlatPoint | None:
        """The nearest certified strict gradient-flat point within ``flat_match_tol``, or ``None``."""
        return _nearest_within(list(self.flat_points), theta, self.flat_match_tol)

    def to_json(self, with_points: bool = False) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "n_classes": len(self.classes),
            "classes": [c.to_json(with_point=with_points) for c in self.classes],
            "gradient_flat_points": [f.to_json() for f in self.flat_points],
        }


def _nearest_within(items: Sequence[Any], theta: np.ndarray, tol: float) -> Any:
    """The item whose ``.point`` is nearest to ``theta`` if within Euclidean ``tol``, else ``None``."""
    theta = np.asarray(theta, dtype=float)
    items = [c for c in items if np.shape(c.point) == theta.shape]
    if not items or not np.all(np.isfinite(theta)):
        return None
    dists = [float(np.linalg.norm(theta - c.point)) for c in items]
    best = int(np.argmin(dists))
    return items[best] if dists[best] <= tol else None


LossFn = Callable[[Any, Any], Any]
"""``loss_fn(theta, data) -> scalar``: pure JAX, ``theta`` flat float64."""

InitSampler = Callable[[np.random.Generator, int], np.ndarray]
"""``sample_init(rng, n) -> (n, dim)`` float64 array of initial points."""


@dataclasses.dataclass(frozen=True)
class Case:
    """A loss with an initial-point sampler and optional ground truth.

    Attributes:
        name: registry name of the family, e.g. ``"dlae"``.
        params: the (validated, complete) parameters this instance was built with.
        dim: number of parameters.
        loss_fn: ``loss_fn(theta, data)``; a module-level pure function, so
            ``jax.jit`` caches one compilation per shape across instances.
        data: pytree of arrays passed as ``loss_fn``'s second argument.
        sample_init: ``sample_init(rng, n)`` draws ``n`` initial points.
        ground_truth: certified ground truth, or ``None`` for field cases.
        description: one line.
        unflatten: optional map from flat ``theta`` to named arrays (for reports).
        scoring_form: optional ``(loss_fn, data)``: the *same* loss written another
            way that the harness's own scoring oracles evaluate instead of
            ``(loss_fn, data)`` (e.g. the DLAE through its Gram matrix, whose cost
            does not grow with ``n``).  Solvers never see it; a test per case checks
            that both forms agree in loss, gradient and Hessian.
        diagnostics: optional ``diagnostics(theta) -> {name: float}``: facts the judge records
            about a returned point beside its verdict (``case_diagnostics`` in a record), e.g. a
            sampled-data loss's gap to its population loss.  Evaluated by the harness only.
    """

    name: str
    params: Mapping[str, Any]
    dim: int
    loss_fn: LossFn
    data: Any
    sample_init: InitSampler
    ground_truth: GroundTruth | None
    description: str = ""
    unflatten: Callable[[np.ndarray], dict[str, np.ndarray]] | None = None
    scoring_form: tuple[LossFn, Any] | None = None
    diagnostics: Callable[[np.ndarray], dict[str, float]] | None = None

    @property
    def ground_truth_kind(self) -> str:
        return "none" if self.ground_truth is None else self.ground_truth.kind

    @property
    def oracle_form(self) -> tuple[LossFn, Any]:
        """``(loss_fn, data)`` the harness scores with: ``scoring_form`` if given, else the case's own."""
        return self.scoring_form if self.scoring_form is not None else (self.loss_fn, self.data)

    def loss(self, theta: Any) -> Any:
        """``L(theta)`` with this case's data bound."""
        return self.loss_fn(theta, self.data)

    def initial_points(self, seed: int, n: int) -> np.ndarray:
        """``n`` initial points drawn reproducibly from ``seed``."""
        rng = np.random.default_rng(seed)
        out = np.asarray(self.sample_init(rng, n), dtype=np.float64)
        if out.shape != (n, self.dim):
            raise ValueError(
                f"case {self.name!r}: sampler returned shape {out.shape}, expected {(n, self.dim)}"
            )
        return out
