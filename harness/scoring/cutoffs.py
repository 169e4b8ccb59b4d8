"""The thesis Fig. 3.3 cutoff analysis of a whole results directory, for the HTML report.

The report package never imports JAX or the cases (it renders from stored
files), but the analysis needs each snapshot's Hessian.  So the ``critbench``
commands that render a report first call :func:`write_cutoff_analyses`, which
reads the stored initial points and snapshots (``arrays/*.npz``; thesis
Sec. 3.2.3.4: ``ε = ∞`` is the initial point, finite ``ε`` the first iterate
below it), runs
:func:`harness.scoring.score.cutoff_analysis` per case (instances with different
parameters are analysed separately and their points pooled) and writes
``DIR/cutoff_analysis.json`` (:data:`harness.results.store.CUTOFF_FILE`), which the
report shows as the Fig. 3.3 table and panels.  Cases whose dimension exceeds
:data:`harness.scoring.score.DENSE_MAX_DIM` are skipped (the report then shows the
fraction of runs reaching each cutoff).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.results.store import CUTOFF_FILE, RUNS_FILE, json_default, load_batch_arrays, load_records


def _merge(parts: Sequence[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Pool several :func:`harness.scoring.score.cutoff_analysis` outputs (same cutoffs) into one
    (fractions over all pooled points, as in :func:`harness.scoring.score.cutoff_entry`)."""
    from harness.scoring.score import cutoff_entry

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
    they can cross that threshold.  At each ``theta_T`` (:func:`harness.scoring.
    score.cutoff_thetas`) with a matched ground-truth class this reports the most
    negative eigenvalue the thesis's count still treats as zero (in
    ``[-1e-5, 0)``) and recounts the index at the stricter ``threshold``
    (``threshold > -1e-5``) against the class's index count.

    Returns:
        ``n_points`` (matched points), ``most_negative_uncounted`` (``None`` if none), ``wrong``
        (index count at ``threshold`` differs from the class's), ``wrong_outer`` (of those, how many
        lie in the outer thirds of the class index fractions) and ``wrong_index_fractions``.
    """
    import numpy as np

    from cases._core import INDEX_EIG_TOL
    from harness.scoring.score import cutoff_thetas

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
    from harness.scoring.score import DENSE_MAX_DIM, cutoff_analysis

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

