"""Aggregating run records: one summary row per (case, solver) with success fractions, their Wilson
intervals, gradient-flat counts, costs per success and COCO's expected running time (ERT)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from harness.stats import wilson_interval

__all__ = ["GROUP_KEYS", "mean_abs", "summarize"]

GROUP_KEYS = ("case", "case_key", "solver", "solver_key")


def summarize(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One summary row per ``(case, case_key, solver, solver_key)``, sorted by that key.

    Fields: ``runs``; ``successes`` (critical outcomes), ``success_fraction`` and
    its Wilson 95% ``success_ci``; ``verified``: runs the ground truth could
    judge (``correct`` is not ``None``); ``correct``: verified runs that are
    correct; ``correct_fraction`` = ``correct / verified`` and its Wilson
    ``correct_ci`` (all three ``None`` when no run could be judged, e.g. without
    ground truth); ``unverified``: critical runs the ground truth could not judge
    (a critical point outside a partial or numeric ground truth's classes; every
    critical run without ground truth) -- their dense loss and index are still
    in the records; ``gradient_flat`` (final outcome) and ``gradient_flat_ever``
    (verified by the harness at the final point and the cutoff snapshots);
    ``gradient_flat_ever_reported`` (from the solver's own ``r``/``r_H`` trace:
    solver-reported, unverified); ``diverged``; ``mean_abs_loss_error``,
    ``mean_abs_index_error`` (count) and ``mean_abs_index_error_fraction`` over
    critical runs; ``seconds_per_success``, ``hvps_per_success``,
    ``grads_per_success`` (total over *all* runs divided by successes; ``None``
    with no success); ``ert_hvps``: COCO's expected running time in HVPs,
    ``sum of HVPs over all runs / successes`` (the restart-based definition with
    each unsuccessful run counted at its full cost -- identical to
    ``hvps_per_success``, named separately for readers of COCO);
    ``hvps_to_success``: sorted HVP counts of the successful runs (the empirical
    distribution); ``compile_seconds``: summed over distinct batches.
    """
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for rec in records:
        groups.setdefault(tuple(rec.get(k) for k in GROUP_KEYS), []).append(rec)
    out = []
    for key, recs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        n = len(recs)
        crit = [r for r in recs if r.get("outcome") == "critical"]
        k = len(crit)
        n_verified = sum(1 for r in recs if r.get("correct") is not None)
        has_gt = n_verified > 0
        n_correct = sum(1 for r in recs if r.get("correct") is True)
        tot = {f: float(sum(_num(r.get(f)) for r in recs)) for f in ("seconds", "hvps", "grads")}
        batches: dict[str, float] = {}
        for r in recs:
            batches.setdefault(str(r.get("batch_id")), _num(r.get("compile_seconds")))
        row: dict[str, Any] = dict(zip(GROUP_KEYS, key))
        row.update(
            runs=n,
            successes=k,
            success_fraction=k / n,
            success_ci=wilson_interval(k, n),
            verified=n_verified if has_gt else None,
            correct=n_correct if has_gt else None,
            correct_fraction=(n_correct / n_verified) if has_gt else None,
            correct_ci=wilson_interval(n_correct, n_verified) if has_gt else None,
            unverified=sum(1 for r in crit if r.get("correct") is None),
            gradient_flat=sum(1 for r in recs if r.get("outcome") == "gradient-flat"),
            gradient_flat_ever=sum(1 for r in recs if r.get("ever_gradient_flat") is True),
            gradient_flat_ever_reported=sum(1 for r in recs if r.get("reported_ever_gradient_flat") is True),
            diverged=sum(1 for r in recs if r.get("outcome") == "diverged"),
            matrix_free_findings=sum(1 for r in recs if r.get("matrix_free_agrees") is False),
            mean_abs_loss_error=mean_abs(r.get("loss_error") for r in crit),
            mean_abs_index_error=mean_abs(r.get("index_error_count") for r in crit),
            mean_abs_index_error_fraction=mean_abs(r.get("index_error_fraction") for r in crit),
            seconds_per_success=tot["seconds"] / k if k else None,
            hvps_per_success=tot["hvps"] / k if k else None,
            grads_per_success=tot["grads"] / k if k else None,
            ert_hvps=tot["hvps"] / k if k else None,
            hvps_to_success=sorted(int(_num(r.get("hvps"))) for r in crit),
            total_seconds=tot["seconds"],
            compile_seconds=float(sum(batches.values())),
        )
        out.append(row)
    return out


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return 0.0
    return v if math.isfinite(v) else 0.0


def mean_abs(values: Iterable[Any]) -> float | None:
    """Mean of ``|v|`` over the values that are not ``None``; ``None`` if there are none."""
    vals = [abs(float(v)) for v in values if v is not None]
    return float(np.mean(vals)) if vals else None
