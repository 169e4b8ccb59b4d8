"""The thesis Fig. 3.3 cutoff analysis: what truncating runs at ``||grad L||^2 < eps`` does to the
loss and index of the point taken as critical, per case and for a whole results directory.

:func:`cutoff_analysis` measures, for each cutoff ``eps``, the first iterate of each run below it
(the stored ``snapshots``; thesis Sec. 3.2.3.4: ``eps = inf`` is the initial point) by dense
Hessian and matches it to a ground-truth class; :func:`filtered_final_points` is Fig. 3.2 (D-F),
the final points filtered after the run.

The report package never imports JAX or the cases (it renders from stored
files), but the analysis needs each snapshot's Hessian.  So the ``critbench``
commands that render a report first call :func:`write_cutoff_analyses`, which
reads the stored initial points and snapshots (``arrays/*.npz``), runs
:func:`cutoff_analysis` per case (instances with different
parameters are analysed separately and their points pooled) and writes
``DIR/cutoff_analysis.json`` (:data:`harness.results.store.CUTOFF_FILE`), which the
report shows as the Fig. 3.3 table and panels.  Cases whose dimension exceeds
:data:`harness.scoring.judge.DENSE_MAX_DIM` are skipped (the report then shows the
fraction of runs reaching each cutoff).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cases._core import CRITICAL_GRAD_SQ, INDEX_EIG_TOL, Case
from harness.results.store import CUTOFF_FILE, RUNS_FILE, json_default, load_batch_arrays, load_records
from harness.scoring.judge import DENSE_MAX_DIM, class_errors, measure_point
from harness.results.outcomes import SNAPSHOT_CUTOFFS, snapshot_cutoffs_for
from harness.scoring.summary import mean_abs

__all__ = ["CUTOFFS", "CUTOFF_FILE", "HessianFn", "cutoff_analyses", "cutoff_analysis", "cutoff_entry",
           "cutoff_thetas", "dense_oracle", "filtered_final_points", "index_threshold_probe",
           "write_cutoff_analyses"]

#: Fig. 3.3 cutoffs on ``||grad L||^2`` (``inf``: no cutoff, the initial point; thesis Sec. 3.2.3.4).
CUTOFFS = (1e-10, 1e-8, 1e-6, 1e-4, math.inf)

#: ``theta -> (loss, grad, hessian)``, an optional replacement of the dense derivatives.
HessianFn = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def cutoff_analysis(
    case: Case,
    records: Sequence[Mapping[str, Any]],
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    *,
    cutoffs: Sequence[float] = CUTOFFS,
    snapshot_cutoffs: Sequence[float] = SNAPSHOT_CUTOFFS,
    oracle: HessianFn | None = None,
) -> list[dict[str, Any]]:
    """Thesis Fig. 3.3: what truncating runs at ``||grad L||^2 < eps`` does to loss and index.

    For each ``eps`` in ``cutoffs`` take every run truncated at the first ``T``
    with ``||grad L(theta_T)||^2 < eps`` (thesis Sec. 3.2.3.4) and its iterate
    ``theta_T``: the stored ``snapshots`` for finite ``eps``; for ``eps = inf``
    that is ``T = 0``, the run's *initial point* ``theta0`` ("no cutoff, taking
    the initial points ... as candidate critical points").  Measure its loss and
    index by dense Hessian, match it to a ground-truth class and compute the
    errors.  A run that never got below ``eps`` gives no point.

    ``fraction_correct_index`` is over *all* points at that cutoff (a point that
    matches no class counts as a wrong index), ``n_matched`` beside it says how
    many matched a class; ``fraction_correct_index_of_matched`` is the fraction
    over the matched points only.

    Args:
        case: the case the records belong to (``dim <= 2000``).
        records: run records of that case (each needs ``batch_id`` and ``batch_row``).
        arrays: ``batch_id -> arrays`` as returned by :func:`harness.results.store.load_arrays`.
        cutoffs: the ``eps`` values to report.
        snapshot_cutoffs: the order of the ``snapshots`` axis (``SNAPSHOT_CUTOFFS``); a batch whose
            axis has another length is read with :func:`harness.results.outcomes.snapshot_cutoffs_for`
            (results stored before 1e-8 was added have three columns).
        oracle: optional ``theta -> (loss, grad, hessian)``; default dense.

    Returns:
        One dict per ``eps``: ``cutoff``, ``n_points``, ``n_matched``, ``mean_abs_loss_error``,
        ``fraction_correct_index`` (over all points; ``None`` with no points or no ground truth),
        ``fraction_correct_index_of_matched`` (``None`` with no matched point) and
        ``points``: ``[{run_id, loss, index_count, index_fraction, matched_class,
        loss_error, index_error_count}]``.
    """
    gt = case.ground_truth
    out = []
    for eps in cutoffs:
        points = [_cutoff_point(case, rec, theta, oracle)
                  for rec, theta in cutoff_thetas(records, arrays, eps, snapshot_cutoffs=snapshot_cutoffs)]
        out.append(cutoff_entry(eps, points, has_ground_truth=gt is not None))
    return out


def cutoff_thetas(
    records: Sequence[Mapping[str, Any]],
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    eps: float,
    *,
    snapshot_cutoffs: Sequence[float] = SNAPSHOT_CUTOFFS,
) -> list[tuple[Mapping[str, Any], np.ndarray]]:
    """``(record, theta_T)`` per run truncated at the first ``T`` with ``||grad L(theta_T)||^2 < eps``
    (thesis Sec. 3.2.3.4): the stored snapshot for finite ``eps``, ``theta0`` for ``eps = inf``.
    Runs without the arrays, or that never got below ``eps``, are left out."""
    out = []
    for rec in records:
        arr = arrays.get(str(rec.get("batch_id")))
        row = rec.get("batch_row")
        if arr is None or row is None:
            continue
        if math.isinf(eps):
            if "theta0" not in arr:
                continue
            theta = arr["theta0"][int(row)]
        else:
            if "snapshots" not in arr:
                continue
            axis = snapshot_cutoffs_for(arr["snapshots"].shape[1], tuple(snapshot_cutoffs))
            if eps not in axis:
                continue
            theta = arr["snapshots"][int(row), axis.index(eps)]
        if np.all(np.isfinite(theta)):  # else: never got below eps
            out.append((rec, np.asarray(theta, dtype=np.float64)))
    return out


def _cutoff_point(case: Case, rec: Mapping[str, Any], theta: np.ndarray, oracle: HessianFn | None) -> dict[str, Any]:
    """Loss, index and class errors of one candidate point (dense Hessian or ``oracle``)."""
    kw = dict(zip(("loss", "grad", "hessian"), oracle(theta))) if oracle is not None else {}
    m = measure_point(case, theta, **kw)
    gt = case.ground_truth
    klass = gt.match(theta) if gt is not None else None
    err = class_errors(klass, m["loss"], m["index_count"], case.dim)
    return {"run_id": rec.get("run_id"), "loss": m["loss"], "index_count": m["index_count"],
            "index_fraction": m["index_fraction"], "matched_class": err["matched_class"],
            "loss_error": err["loss_error"], "index_error_count": err["index_error_count"]}


def filtered_final_points(
    case: Case,
    records: Sequence[Mapping[str, Any]],
    arrays: Mapping[str, Mapping[str, np.ndarray]],
    *,
    eps: float = CRITICAL_GRAD_SQ,
    oracle: HessianFn | None = None,
) -> dict[str, Any]:
    """Thesis Fig. 3.2 (D-F): run to termination, *then* filter: the final points whose harness-recomputed
    ``||grad L||^2`` (record ``final_grad_norm_sq``) is below ``eps``, measured and matched as in
    :func:`cutoff_analysis`; one :func:`cutoff_entry` (``cutoff = eps``)."""
    points = []
    for rec in records:
        arr = arrays.get(str(rec.get("batch_id")))
        g2, row = rec.get("final_grad_norm_sq"), rec.get("batch_row")
        if arr is None or row is None or g2 is None or not float(g2) < eps:
            continue
        points.append(_cutoff_point(case, rec, np.asarray(arr["theta"][int(row)], dtype=np.float64), oracle))
    return cutoff_entry(eps, points, has_ground_truth=case.ground_truth is not None)


def cutoff_entry(eps: float, points: Sequence[Mapping[str, Any]], *, has_ground_truth: bool = True) -> dict[str, Any]:
    """One cutoff's summary of :func:`cutoff_analysis` points (also used to pool analyses).

    ``fraction_correct_index = #(index error 0) / #points`` over every point (unmatched points
    count as wrong); ``n_matched`` points matched a class; ``fraction_correct_index_of_matched =
    #(index error 0) / n_matched``.  Both fractions are ``None`` without ground truth or points.
    """
    pts = list(points)
    matched = [p for p in pts if p.get("index_error_count") is not None]
    right = sum(p["index_error_count"] == 0 for p in matched)
    return {
        "cutoff": eps,
        "n_points": len(pts),
        "n_matched": len(matched),
        "mean_abs_loss_error": mean_abs(p.get("loss_error") for p in pts),
        "fraction_correct_index": right / len(pts) if (pts and has_ground_truth) else None,
        "fraction_correct_index_of_matched": right / len(matched) if matched else None,
        "points": pts,
    }


# --------------------------------------------------------------------------- a whole results directory
def _merge(parts: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Pool several :func:`cutoff_analysis` outputs (same cutoffs) into one
    (fractions over all pooled points, as in :func:`cutoff_entry`)."""
    return [cutoff_entry(entries[0]["cutoff"], [p for e in entries for p in e["points"]],
                         has_ground_truth=any(e.get("fraction_correct_index") is not None for e in entries))
            for entries in zip(*parts)]


def dense_oracle(case: Any) -> Any:
    """``theta -> (loss, grad, hessian)`` by the harness's jitted scoring oracles (compiled once per case)."""
    from harness.scoring.oracles import point_oracles

    def oracle(theta: Any) -> tuple[float, Any, Any]:
        d = point_oracles(case, theta[None, :])[0]
        return d["loss"], d["grad"], d["hessian"]

    return oracle


def index_threshold_probe(case: Any, records: Sequence[dict[str, Any]], arrays: dict[str, Any], *,
                          eps: float, threshold: float, oracle: Any) -> dict[str, Any]:
    """How close the index count at the first iterate below ``eps`` is to flipping.

    The thesis counts eigenvalues ``< -1e-5`` (Sec. 3.2.3.1, ``INDEX_EIG_TOL``)
    toward the index.  Near a critical manifold the zero eigenvalues of the
    limit are perturbed by ``O(||theta_T - theta*||)``, so at a loose cutoff
    they can cross that threshold.  At each ``theta_T`` (:func:`cutoff_thetas`) with a
    matched ground-truth class this reports the most negative eigenvalue the thesis's count still treats as zero (in
    ``[-1e-5, 0)``) and recounts the index at the stricter ``threshold``
    (``threshold > -1e-5``) against the class's index count.

    Returns:
        ``n_points`` (matched points), ``most_negative_uncounted`` (``None`` if none), ``wrong``
        (index count at ``threshold`` differs from the class's), ``wrong_outer`` (of those, how many
        lie in the outer thirds of the class index fractions) and ``wrong_index_fractions``.
    """
    if not -INDEX_EIG_TOL < threshold <= 0:
        raise ValueError(f"threshold must lie in (-{INDEX_EIG_TOL:g}, 0], got {threshold!r}")
    gt = case.ground_truth
    pts = []
    for _, theta in cutoff_thetas(records, arrays, eps):
        klass = gt.match(theta) if gt is not None else None
        if klass is None:
            continue
        ev = np.linalg.eigvalsh(np.asarray(oracle(theta)[2], dtype=np.float64))
        uncounted = ev[(ev >= -INDEX_EIG_TOL) & (ev < 0)]
        pts.append((klass.index_count / case.dim, float(uncounted.min()) if uncounted.size else None,
                    int(np.sum(ev < threshold)) != klass.index_count))
    if not pts:
        return {"n_points": 0, "most_negative_uncounted": None, "wrong": 0, "wrong_outer": 0,
                "wrong_index_fractions": []}
    fr = np.array([p[0] for p in pts])
    lo, hi = np.quantile(fr, [1 / 3, 2 / 3])
    wrong = sorted(p[0] for p in pts if p[2])
    neg = [p[1] for p in pts if p[1] is not None]
    return {"n_points": len(pts), "most_negative_uncounted": min(neg) if neg else None, "wrong": len(wrong),
            "wrong_outer": sum(x <= lo or x >= hi for x in wrong), "wrong_index_fractions": wrong}


def cutoff_analyses(results_dir: str | Path) -> dict[str, list[dict[str, Any]]]:
    """``{case name: cutoff analysis}`` for every case of ``results_dir`` with stored snapshots."""
    from cases import get_case

    root = Path(results_dir)
    records = load_records(root, warn=False)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((str(r.get("case")), str(r.get("case_key"))), []).append(r)
    per_case: dict[str, list[list[dict[str, Any]]]] = {}
    for (name, _), recs in groups.items():
        bids = dict.fromkeys(str(r.get("batch_id")) for r in recs)
        arrays = load_batch_arrays(root, bids, warn=False)  # a rewritten arrays file is left out, like a missing one
        if not any("snapshots" in a for a in arrays.values()) or any(r.get("batch_row") is None for r in recs):
            continue
        try:
            case = get_case(name, **dict(recs[0].get("case_params") or {}))
        except (ValueError, TypeError):  # e.g. a plug-in case no longer installed
            continue
        if case.dim > DENSE_MAX_DIM:
            continue
        per_case.setdefault(name, []).append(cutoff_analysis(case, recs, arrays, oracle=dense_oracle(case)))
    return {name: parts[0] if len(parts) == 1 else _merge(parts) for name, parts in per_case.items()}


def write_cutoff_analyses(results_dir: str | Path) -> Path | None:
    """Write ``DIR/cutoff_analysis.json`` unless it is newer than ``runs.jsonl``; ``None`` if no case qualifies."""
    root = Path(results_dir)
    out, runs = root / CUTOFF_FILE, root / RUNS_FILE
    if out.is_file() and runs.is_file() and out.stat().st_mtime >= runs.stat().st_mtime:
        return out
    analyses = cutoff_analyses(root)
    if not analyses:
        return None
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(analyses, default=json_default), encoding="utf-8")
    tmp.replace(out)
    return out
