"""Judging one run: the outcome of its final point, the flatness statistics of a point, and the
match of a point to a certified class (``correct``).

Pure functions over NumPy arrays and the :class:`cases.Case` ground-truth
interface.  Derivatives at a point come either from the caller (the runner
passes batched, jit-compiled ones) or from :mod:`cases._numeric` (dense,
small cases only).  Conventions (``shared/REFERENCE.md``, thesis Sec. 3.1, 3.4):

* **critical**: ``||grad L||^2 < critical_tol`` (default ``1e-10``), with the
  gradient recomputed at the final point (the solver's own trace is not trusted);
* **index**: number of Hessian eigenvalues ``< -1e-5`` (count and fraction of
  ``dim``); **nullity**: number with ``|lambda| <= 1e-5``;
* **flatness** at a point, with ``p = -pinv(H) g``::

      r   = ||H p + g|| / (||H||_F ||p|| + ||g||)
      r_H = ||H (H p + g)|| / (||H||_F ||H p + g||)

  computed by a dense symmetric eigendecomposition ``H = V diag(lambda) V^T``
  when ``dim <= dense_max_dim`` (2000): ``||H||_F = sqrt(sum lambda^2)`` exactly,
  and ``pinv`` drops eigenvalues with ``|lambda| <= PINV_RCOND * ||H||_F``,
  ``PINV_RCOND = 5e-4`` (= the ``r_H`` threshold).  Why: a residual left in such
  directions would itself pass ``r_H < 5e-4``, so they are "approximately
  kernel" at exactly the scale the flatness test uses.  A tiny cutoff makes the
  exact step resolve ``g`` along any nonzero eigenvalue: Newton-MR runs that
  stall 2e-5 from the quartic's ``(sqrt 2, 0)`` (eigenvalue 2e-4 vs
  ``||H||_F = 10``) would read ``r ~ 1e-26`` through a step of length 1.6e4,
  which the thesis's MINRES-QLP (``maxxnorm = 1e4``) never takes.  Larger cases
  are measured matrix-free (issue 22, :mod:`harness.scoring.matrix_free`): ``r``,
  ``r_H`` from SciPy's LSMR (minimum-length least squares) on the harness's HVP
  operator with a Hutchinson ``||H||_F`` (``flatness_source = "matrix-free"``);
  a critical point matched to a class takes its index and nullity from the
  class's closed form (``index_source = "closed-form"``), checked by stochastic
  Lanczos quadrature and deflated-Lanczos exact counts (record field ``matrix_free``).
  ``r``/``r_H`` are NaN (``None`` in records) where their denominator is zero.
* **gradient-flat** outcome: ``r > 0.9`` and ``r_H < 5e-4`` at the final point;
  ``ever_gradient_flat`` (*verified*): both held, with ``r`` and ``r_H``
  recomputed here by dense linear algebra, at the final point or at one of the
  cutoff snapshots (``snapshots``, the first iterates below each
  ``SNAPSHOT_CUTOFFS``), the iterates the harness evaluates itself (the thesis
  notes final-iterate flatness misses runs that bounce in and out);
  ``reported_ever_gradient_flat``, ``max_r``, ``min_r_H`` (*solver-reported,
  unverified*): read from the solver's own ``r``/``r_H`` trace, which a solver
  can fabricate; shown only in columns labelled as such.
* **correct**: critical, ``|L - L_class| <= LOSS_RTOL * max(1, |L_class|)`` with
  ``LOSS_RTOL = 1e-6``, and the measured index count equals the class's.
  ``None`` (unverifiable) without ground truth, and for a critical point that a
  ``partial`` or ``numeric`` ground truth (which list only some classes) cannot
  match to any known class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cases._core import CRITICAL_GRAD_SQ, INDEX_EIG_TOL, Case, CriticalClass
from harness.results.outcomes import status_name

__all__ = ["DENSE_MAX_DIM", "FLAT_R", "FLAT_RH", "LOSS_RTOL", "PINV_RCOND", "class_errors", "flatness_statistics",
           "is_flat", "kernel_fraction", "loss_matches", "measure_point", "score_run"]

#: Eigenvalue cutoff of the final-point pseudo-inverse, relative to ``||H||_F``.
PINV_RCOND = 5e-4
#: Relative loss tolerance of ``correct``: ``|L - L_class| <= LOSS_RTOL * max(1, |L_class|)``.
LOSS_RTOL = 1e-6
#: Flatness thresholds (thesis Sec. 3.4): ``r > FLAT_R`` and ``r_H < FLAT_RH``.
FLAT_R = 0.9
FLAT_RH = 5e-4
#: Largest ``dim`` for which the scorer forms the dense Hessian.
DENSE_MAX_DIM = 2000


# --------------------------------------------------------------------------- flatness
def flatness_statistics(
    hessian: np.ndarray, grad: np.ndarray, *, rcond: float = PINV_RCOND
) -> dict[str, float]:
    """``r``, ``r_H`` and ``||H||_F`` for ``p = -pinv(H) g`` (dense, exact).

    Args:
        hessian: symmetric ``(D, D)`` Hessian.
        grad: gradient ``(D,)``.
        rcond: eigenvalues with ``|lambda| <= rcond * ||H||_F`` are treated as zero.

    Returns:
        ``{"r", "r_H", "hfro", "eigvals"}`` (``eigvals`` ascending, for index/nullity).
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    lam, vec = np.linalg.eigh(0.5 * (h + h.T))
    hfro = float(np.sqrt(np.sum(lam**2)))
    keep = np.abs(lam) > rcond * hfro
    gv = vec.T @ g
    pv = np.zeros_like(gv)
    pv[keep] = -gv[keep] / lam[keep]
    res_v = lam * pv + gv  # H p + g in the eigenbasis
    res = float(np.linalg.norm(res_v))
    den_r = hfro * float(np.linalg.norm(pv)) + float(np.linalg.norm(gv))
    den_rh = hfro * res
    r = res / den_r if den_r > 0 else math.nan
    r_h = float(np.linalg.norm(lam * res_v)) / den_rh if den_rh > 0 else math.nan
    return {"r": r, "r_H": r_h, "hfro": hfro, "eigvals": lam}


def kernel_fraction(hessian: np.ndarray, grad: np.ndarray, *, rcond: float = FLAT_RH) -> float:
    """``||P0 g|| / ||g||``: the fraction of the gradient in the near-kernel of ``H``.

    ``P0`` projects onto the eigenvectors with ``|lambda| <= rcond * ||H||_F`` (the
    thesis's r_H scale, Sec. 3.4).  Unlike ``r`` with the exact step ``-pinv(H) g``
    (:func:`flatness_statistics`), it does not collapse when a sliver of ``g`` lies
    along eigenvalues just above the cutoff.  NaN for a zero or non-finite gradient.
    """
    h = np.asarray(hessian, dtype=np.float64)
    g = np.asarray(grad, dtype=np.float64)
    if not (np.all(np.isfinite(h)) and np.all(np.isfinite(g))):
        return math.nan
    lam, vec = np.linalg.eigh(0.5 * (h + h.T))
    gv = vec.T @ g
    gn = float(np.linalg.norm(gv))
    if gn == 0:
        return math.nan
    return float(np.linalg.norm(gv[np.abs(lam) <= rcond * np.linalg.norm(lam)]) / gn)


def is_flat(r: float | None, r_h: float | None, *, flat_r: float = FLAT_R, flat_rH: float = FLAT_RH) -> bool:
    """``r > flat_r and r_H < flat_rH`` (False when either is missing/NaN)."""
    if r is None or r_h is None:
        return False
    return bool(np.isfinite(r) and np.isfinite(r_h) and r > flat_r and r_h < flat_rH)


# --------------------------------------------------------------------------- one point
def measure_point(
    case: Case,
    theta: np.ndarray,
    *,
    loss: float | None = None,
    grad: np.ndarray | None = None,
    hessian: np.ndarray | None = None,
    dense_max_dim: int = DENSE_MAX_DIM,
    rcond: float = PINV_RCOND,
) -> dict[str, Any]:
    """Loss, ``||grad||^2``, index, nullity, ``r``, ``r_H`` at ``theta``.

    Missing ``loss``/``grad``/``hessian`` are computed densely with
    :mod:`cases._numeric` (the Hessian only when ``dim <= dense_max_dim``;
    otherwise the Hessian-derived fields are ``None``).
    """
    theta = np.asarray(theta, dtype=np.float64)
    out: dict[str, Any] = {"loss": None, "grad_norm_sq": None, "r": None, "r_H": None, "hfro": None,
                           "index_count": None, "index_fraction": None, "nullity": None}
    if not np.all(np.isfinite(theta)):
        return out
    from cases import _numeric  # local: keeps `import harness.scoring.judge` light

    loss_fn, data = case.oracle_form
    if loss is None:
        loss = float(loss_fn(theta, data))
    if grad is None:
        grad = _numeric.dense_gradient(loss_fn, theta, data)
    grad = np.asarray(grad, dtype=np.float64)
    out["loss"] = float(loss)
    with np.errstate(all="ignore"):
        out["grad_norm_sq"] = float(grad @ grad)
    if hessian is None and case.dim <= dense_max_dim:
        hessian = _numeric.dense_hessian(loss_fn, theta, data)
    if hessian is None or not np.all(np.isfinite(hessian)) or not np.all(np.isfinite(grad)):
        return out
    with np.errstate(all="ignore"):  # huge-but-finite points of runs heading to divergence
        fs = flatness_statistics(hessian, grad, rcond=rcond)
    lam = fs["eigvals"]
    count = int(np.sum(lam < -INDEX_EIG_TOL))
    out.update(
        r=_f(fs["r"]),
        r_H=_f(fs["r_H"]),
        hfro=fs["hfro"],
        index_count=count,
        index_fraction=count / case.dim,
        nullity=int(np.sum(np.abs(lam) <= INDEX_EIG_TOL)),
    )
    return out


def _f(x: Any) -> float | None:
    """A finite float, or ``None`` (JSON-safe)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def class_errors(
    klass: CriticalClass | None, loss: float | None, index_count: int | None, dim: int
) -> dict[str, Any]:
    """The record's class fields: matched class, its loss/index and the errors against it."""
    out: dict[str, Any] = {"matched_class": None, "class_loss": None, "class_index_count": None,
                           "class_index_fraction": None, "loss_error": None, "index_error_count": None,
                           "index_error_fraction": None}
    if klass is None:
        return out
    out.update(matched_class=klass.label, class_loss=float(klass.loss), class_index_count=int(klass.index_count),
               class_index_fraction=float(klass.index_fraction))
    if loss is not None:
        out["loss_error"] = float(loss - klass.loss)
    if index_count is not None:
        out["index_error_count"] = int(index_count - klass.index_count)
        out["index_error_fraction"] = float(index_count / dim - klass.index_fraction)
    return out


def loss_matches(loss: float | None, class_loss: float | None, *, rtol: float = LOSS_RTOL) -> bool:
    """``|loss - class_loss| <= rtol * max(1, |class_loss|)``."""
    if loss is None or class_loss is None:
        return False
    return abs(loss - class_loss) <= rtol * max(1.0, abs(class_loss))


# --------------------------------------------------------------------------- one run
def score_run(
    case: Case,
    theta: np.ndarray,
    status: int | str,
    trace_row: Mapping[str, np.ndarray],
    *,
    critical_tol: float = CRITICAL_GRAD_SQ,
    flat_r: float = FLAT_R,
    flat_rH: float = FLAT_RH,
    loss_rtol: float = LOSS_RTOL,
    loss: float | None = None,
    grad: np.ndarray | None = None,
    hessian: np.ndarray | None = None,
    dense_max_dim: int = DENSE_MAX_DIM,
    snapshots: np.ndarray | None = None,
    snapshot_oracles: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The outcome fields of one run's record (``docs/design.md``, "Run records").

    Args:
        case: the case (its ground truth, if any, is used for class matching).
        theta: the final iterate ``(D,)``.
        status: the solver's status code or name.
        trace_row: this run's trace, ``{field: (T + 1,) array}`` (``r``, ``r_H``,
            ``grad_norm_sq`` are read; missing fields are treated as absent).
        critical_tol, flat_r, flat_rH, loss_rtol: the thresholds (module docstring).
        loss, grad, hessian: precomputed derivatives at ``theta`` (optional).
        snapshots: this run's cutoff snapshots ``(C, D)`` (rows of NaN where the
            run never got below a cutoff); flatness is recomputed at each.
        snapshot_oracles: precomputed ``{loss, grad, hessian}`` per snapshot row
            (``{}`` for a skipped row); default dense per point.

    Returns:
        ``outcome``, ``final_loss``, ``final_grad_norm_sq``, ``final_r``,
        ``final_r_H``, ``flatness_source`` (``"dense"``, ``"matrix-free"`` or ``"trace"``),
        ``max_r``, ``min_r_H`` (solver-reported), ``ever_gradient_flat``
        (verified), ``reported_ever_gradient_flat`` (solver-reported),
        ``flat_checked_points`` (points whose flatness the harness verified), ``index_count``,
        ``index_fraction``, ``nullity``, the class fields of
        :func:`class_errors`, ``correct`` and ``matched_flat_point``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    name = status_name(status)
    m = measure_point(case, theta, loss=loss, grad=grad, hessian=hessian, dense_max_dim=dense_max_dim)
    r_tr = _trace(trace_row, "r")
    rh_tr = _trace(trace_row, "r_H")
    source = "dense"
    large = _large_flatness(case, theta, grad, m, dense_max_dim)  # issue 22: no dense Hessian above dense_max_dim
    if large:
        source = "matrix-free"
    elif m["r"] is None and m["r_H"] is None and m["hfro"] is None:
        source = "trace"
        m["r"] = _last_finite(r_tr)
        m["r_H"] = _last_finite(rh_tr)
    finite = (m["loss"] is not None and math.isfinite(m["loss"])
              and m["grad_norm_sq"] is not None and math.isfinite(m["grad_norm_sq"]))
    if name == "diverged" or not finite:
        outcome = "diverged"
    elif m["grad_norm_sq"] < critical_tol:
        outcome = "critical"
    elif is_flat(m["r"], m["r_H"], flat_r=flat_r, flat_rH=flat_rH):
        outcome = "gradient-flat"
    else:
        outcome = "other"
    both = np.isfinite(r_tr) & np.isfinite(rh_tr) if r_tr.size == rh_tr.size else np.zeros(0, bool)
    reported = bool(np.any((r_tr[both] > flat_r) & (rh_tr[both] < flat_rH))) if both.size else False
    checked = 1 if source in ("dense", "matrix-free") else 0
    ever = outcome == "gradient-flat" and source in ("dense", "matrix-free")
    if snapshots is not None and case.dim <= dense_max_dim:
        snaps = np.asarray(snapshots, dtype=np.float64).reshape(-1, case.dim)
        for c, point in enumerate(snaps):
            if not np.all(np.isfinite(point)):
                continue
            kw = dict(snapshot_oracles[c]) if snapshot_oracles is not None else {}
            if snapshot_oracles is not None and "hessian" not in kw:
                continue
            ms = measure_point(case, point, dense_max_dim=dense_max_dim, **kw)
            if ms["r"] is None and ms["r_H"] is None:
                continue
            checked += 1
            ever = ever or is_flat(ms["r"], ms["r_H"], flat_r=flat_r, flat_rH=flat_rH)
    rec: dict[str, Any] = {
        "outcome": outcome,
        "final_loss": _f(m["loss"]),
        "final_grad_norm_sq": _f(m["grad_norm_sq"]),
        "final_r": _f(m["r"]),
        "final_r_H": _f(m["r_H"]),
        "flatness_source": source,
        "max_r": _f(np.max(r_tr[np.isfinite(r_tr)])) if np.any(np.isfinite(r_tr)) else None,
        "min_r_H": _f(np.min(rh_tr[np.isfinite(rh_tr)])) if np.any(np.isfinite(rh_tr)) else None,
        "ever_gradient_flat": bool(ever),
        "reported_ever_gradient_flat": reported,
        "flat_checked_points": checked,
        "index_count": m["index_count"],
        "index_fraction": m["index_fraction"],
        "nullity": m["nullity"],
    }
    gt = case.ground_truth
    klass = gt.match(theta) if (gt is not None and finite) else None
    if large:
        rec.update(_large_class_check(case, theta, grad, klass, outcome == "critical", m))
    rec.update(class_errors(klass, m["loss"], m["index_count"], case.dim))
    if gt is None or not gt.classes or (outcome == "critical" and klass is None and gt.kind != "exact"):
        # No ground truth, or a critical point outside a ground truth that lists only
        # some classes ("partial", or "numeric" such as the si-line lines): unverified.
        rec["correct"] = None
    else:
        rec["correct"] = bool(
            outcome == "critical"
            and klass is not None
            and loss_matches(m["loss"], klass.loss, rtol=loss_rtol)
            and m["index_count"] is not None
            and m["index_count"] == klass.index_count
        )
    flat = gt.match_flat(theta) if (gt is not None and outcome == "gradient-flat") else None
    rec["matched_flat_point"] = None if flat is None else flat.label
    return rec


# --------------------------------------------------------------------------- large points (issue 22)
#: Settings of the matrix-free checks at points above ``DENSE_MAX_DIM`` (see :mod:`harness.scoring.matrix_free`).
MATRIX_FREE = {"probes": 8, "steps": 80, "lanczos_max": 64, "lsmr_maxiter": 300, "hfro_probes": 8}


def _large_flatness(case: Case, theta: np.ndarray, grad: np.ndarray | None, m: dict[str, Any],
                    dense_max_dim: int) -> bool:
    """Above ``dense_max_dim``: ``r``, ``r_H`` by LSMR on the HVP operator and ``||H||_F`` by
    Hutchinson (:mod:`harness.scoring.matrix_free`), written into ``m``; ``True`` if done."""
    if case.dim <= dense_max_dim or m["hfro"] is not None or m["loss"] is None or m["grad_norm_sq"] is None:
        return False
    if not (math.isfinite(m["loss"]) and math.isfinite(m["grad_norm_sq"])):
        return False
    from harness.scoring import matrix_free as mfree

    loss_fn, data = case.oracle_form
    if grad is None:
        from cases import _numeric

        grad = _numeric.dense_gradient(loss_fn, theta, data)
    apply = mfree.hvp_block(loss_fn, theta, data)
    hfro = mfree.hutchinson_fro(apply, case.dim, probes=MATRIX_FREE["hfro_probes"])
    fl = mfree.flatness_lsmr(mfree.hvp_operator(loss_fn, theta, data), np.asarray(grad, dtype=np.float64),
                             hfro.estimate, maxiter=MATRIX_FREE["lsmr_maxiter"])
    m.update(r=_f(fl["r"]), r_H=_f(fl["r_H"]), hfro=hfro.estimate)
    return True


def _large_class_check(case: Case, theta: np.ndarray, grad: np.ndarray | None, klass: CriticalClass | None,
                       critical: bool, m: dict[str, Any]) -> dict[str, Any]:
    """A critical point above ``dense_max_dim`` matched to a class: index and nullity from the
    class's closed form (``index_source = "closed-form"``, written into ``m``), checked by the
    matrix-free estimates (SLQ with error bars; exact deflated-Lanczos counts near the minimum).
    Returns the record fields ``index_count``, ``index_fraction``, ``nullity`` (closed form),
    ``index_source``, ``matrix_free``, ``matrix_free_agrees``: a
    disagreement beyond the error bars is kept as a finding (``matrix_free.findings``)."""
    out: dict[str, Any] = {"index_source": None, "matrix_free": None, "matrix_free_agrees": None}
    if klass is None or not critical:
        return out
    from harness.scoring import matrix_free as mfree

    loss_fn, data = case.oracle_form
    rep = mfree.verify_point(loss_fn, data, theta, grad=grad, closed_index_count=int(klass.index_count),
                             closed_nullity=int(klass.nullity), probes=MATRIX_FREE["probes"],
                             steps=MATRIX_FREE["steps"], lanczos_max=MATRIX_FREE["lanczos_max"], flatness=False)
    m.update(index_count=int(klass.index_count), index_fraction=klass.index_count / case.dim,
             nullity=int(klass.nullity))
    out.update(index_count=m["index_count"], index_fraction=m["index_fraction"], nullity=m["nullity"],
               index_source="closed-form", matrix_free=rep.to_json(), matrix_free_agrees=rep.agrees)
    return out


def _trace(trace_row: Mapping[str, np.ndarray], key: str) -> np.ndarray:
    v = trace_row.get(key) if trace_row is not None else None
    return np.zeros(0) if v is None else np.asarray(v, dtype=np.float64).ravel()


def _last_finite(x: np.ndarray) -> float | None:
    fin = x[np.isfinite(x)]
    return float(fin[-1]) if fin.size else None
