"""The judge: check a block's solve result, score every run with the harness's own oracles, and
build its records and array file.  It never solves (a worker did, :mod:`harness.run.worker`).

This is the one place where run records are assembled, in the parent:
:func:`harness.run.execute.execute` hands each block's worker reply to :func:`judge_block`
(:func:`build_records`, :func:`batch_arrays`).  A block is a pure function of its
:class:`~harness.run.cell.Cell` and inputs (seed, run indices, initial points, budget): the same
inputs give the same records on any worker.

Scoring never trusts the solver (``docs/design.md``, "Trust"):

* the solver gets a :class:`~harness.solvers.Problem` holding a *copy* of the
  case data (:func:`isolated_data`; NumPy leaves read-only, a fresh container),
  and a copy of its options is what the record stores;
* its result is checked before anything is scored (:func:`check_result`):
  ``theta`` must be a float64 array of shape ``(batch, dim)``, ``status``,
  ``n_iter``, ``hvps``, ``grads`` integer arrays of shape ``(batch,)``, the
  trace ``(batch, T + 1)`` arrays, the snapshots and the maximally flat iterate
  (``max_r_*``, optional) of their shapes.  Anything else makes every run of the block
  ``invalid`` with a one-line ``invalid_reason``; NaN/inf in ``theta`` is not
  malformed, it is scored ``diverged``;
* an exception in the solver makes the block's runs ``error`` (the exception's
  first line, the global run index and the seed); the NumPy adapter reports
  failures per run, so its other runs are scored normally;
* every outcome field comes from :func:`harness.scoring.judge.score_run` with the
  loss, gradient and Hessian that the harness evaluates itself at the returned
  points (:mod:`harness.scoring.oracles`) of ``Cell.scoring_case`` -- a case
  :func:`harness.run.cell.resolve` builds from its reference and never hands to the solver.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.results.store import as_stored as _as_stored
from harness.run.keys import run_id
from harness.scoring.oracles import point_oracles
from harness.results.outcomes import FAILED_OUTCOMES, status_name
from harness.scoring.judge import score_run

if TYPE_CHECKING:
    from harness.run.cell import Cell

__all__ = ["JudgedBlock", "batch_arrays", "build_records", "check_result", "judge_block"]

#: The maximally flat iterate a solver may report (:class:`harness.solvers.SolveResult`): stored in the
#: batch's arrays for the thesis's Fig. 3.6D (the harness recomputes loss and index there); never scored.
_MAX_R_FIELDS = ("max_r_theta", "max_r_iter", "max_r_value")
#: Status codes a solver may report (``harness.solvers`` ``CONVERGED .. DIVERGED``).
_KNOWN_STATUS = frozenset({0, 1, 2, 3})
#: The record fields :func:`harness.scoring.judge.score_run` fills; null on ``invalid``/``error`` runs.
_SCORED_FIELDS = (
    "final_loss", "final_grad_norm_sq", "final_r", "final_r_H", "flatness_source", "max_r", "min_r_H",
    "ever_gradient_flat", "reported_ever_gradient_flat", "flat_checked_points", "index_count", "index_fraction", "nullity", "matched_class", "class_loss",
    "class_index_count", "class_index_fraction", "loss_error", "index_error_count", "index_error_fraction",
    "correct", "matched_flat_point",
)


@dataclasses.dataclass(frozen=True)
class JudgedBlock:
    """Records and array file of one judged block."""

    records: list[dict[str, Any]]
    arrays: dict[str, np.ndarray]


def batch_arrays(res: Any, theta0: np.ndarray, n: int, indices: Sequence[int]) -> dict[str, np.ndarray]:
    """The batch's array file: ``run_index, theta0, theta, status, n_iter, snapshots,
    snapshot_iter``, ``max_r_theta, max_r_iter, max_r_value`` (the maximally flat iterate,
    solver-reported; when the solver keeps it) and every trace field under its own name
    (``(n, T + 1)``).

    ``res = None`` (the solver raised, or its result was rejected): only
    ``run_index`` and ``theta0``.
    """
    if res is None:
        return {"run_index": np.asarray(indices, dtype=np.int64), "theta0": np.asarray(theta0)[:n]}
    arrs: dict[str, np.ndarray] = {
        "run_index": np.asarray(indices, dtype=np.int64),
        "theta0": theta0[:n],
        "theta": np.asarray(res.theta)[:n],
        "status": np.asarray(res.status)[:n],
        "n_iter": np.asarray(res.n_iter)[:n],
    }
    if getattr(res, "snapshots", None) is not None:
        arrs["snapshots"] = np.asarray(res.snapshots)[:n]
    if getattr(res, "snapshot_iter", None) is not None:
        arrs["snapshot_iter"] = np.asarray(res.snapshot_iter)[:n]
    for name in _MAX_R_FIELDS:
        val = getattr(res, name, None)
        if val is not None:
            arrs[name] = np.asarray(val)[:n]
    for k, v in (getattr(res, "trace", None) or {}).items():
        if k not in arrs:
            arrs[k] = np.asarray(v)[:n]
    return arrs



def _shape(x: Any) -> str:
    return str(tuple(np.shape(x)))


def _int_vector(res: Any, name: str, batch: int) -> str | None:
    if not hasattr(res, name):
        return f"result has no {name!r}"
    try:
        v = np.asarray(getattr(res, name))
    except (TypeError, ValueError) as exc:
        return f"{name} is not an array ({type(exc).__name__})"
    if v.shape != (batch,):
        return f"{name} has shape {_shape(v)}; expected ({batch},)"
    if v.dtype.kind not in "iu":
        return f"{name} has dtype {v.dtype}; expected integers"
    if name in ("n_iter", "hvps", "grads") and np.any(v < 0):
        return f"{name} has negative entries"
    return None


def check_result(res: Any, batch: int, dim: int) -> tuple[str | None, dict[int, str]]:
    """Check a solver's result before anything is scored.

    Args:
        res: what ``solver.solve`` returned.
        batch: rows the solver was given (``theta0.shape[0]``, padding included).
        dim: the case's dimension.

    Returns:
        ``(reason, rows)``: ``reason`` rejects the whole result (``None`` if it
        is well formed); ``rows`` maps a row to the reason it alone is rejected
        (an unknown status code).  float32 (and every non-float64) ``theta`` is
        rejected: the project computes in float64, and a float32 point is
        neither what the solver iterated in float64 nor scoreable at the
        thesis's ``||grad L||^2 < 1e-10``.  NaN/inf entries are *not* rejected
        (they are the run's fact, scored ``diverged``).
    """
    if res is None:
        return "solve returned None", {}
    if not hasattr(res, "theta"):
        return f"result {type(res).__name__} has no 'theta'", {}
    try:
        theta = np.asarray(res.theta)
    except (TypeError, ValueError) as exc:
        return f"theta is not an array ({type(exc).__name__})", {}
    if theta.dtype != np.float64:
        return f"theta has dtype {theta.dtype}; expected float64 (shape ({batch}, {dim}))", {}
    if theta.shape != (batch, dim):
        return f"theta has shape {_shape(theta)}; expected ({batch}, {dim})", {}
    for name in ("status", "n_iter", "hvps", "grads"):
        why = _int_vector(res, name, batch)
        if why is not None:
            return why, {}
    trace = getattr(res, "trace", None)
    if trace is not None and not isinstance(trace, Mapping):
        return f"trace is a {type(trace).__name__}; expected a dict of arrays", {}
    for key, val in (trace or {}).items():
        try:
            v = np.asarray(val)
        except (TypeError, ValueError) as exc:
            return f"trace[{key!r}] is not an array ({type(exc).__name__})", {}
        if v.ndim != 2 or v.shape[0] != batch or v.dtype.kind not in "iuf":
            return f"trace[{key!r}] has shape {_shape(v)} dtype {v.dtype}; expected numbers of shape ({batch}, T + 1)", {}
    for name, tail in (("snapshots", (dim,)), ("snapshot_iter", ())):
        val = getattr(res, name, None)
        if val is None:
            continue
        v = np.asarray(val)
        if v.ndim != 2 + len(tail) or v.shape[0] != batch or v.shape[2:] != tail or v.dtype.kind not in "iuf":
            return f"{name} has shape {_shape(v)} dtype {v.dtype}; expected ({batch}, cutoffs{', ' + str(dim) if tail else ''})", {}
    for name, shape, kinds in (("max_r_theta", (batch, dim), "f"), ("max_r_iter", (batch,), "iu"),
                               ("max_r_value", (batch,), "f")):
        val = getattr(res, name, None)
        if val is None:
            continue
        try:
            v = np.asarray(val)
        except (TypeError, ValueError) as exc:
            return f"{name} is not an array ({type(exc).__name__})", {}
        if v.shape != shape or v.dtype.kind not in kinds:
            return (f"{name} has shape {_shape(v)} dtype {v.dtype}; expected "
                    f"{'integers' if kinds == 'iu' else 'floats'} of shape {shape}"), {}
    status = np.asarray(res.status)
    rows = {row: f"unknown status code {int(c)}" for row, c in enumerate(status) if int(c) not in _KNOWN_STATUS}
    return None, rows



def build_records(
    cell: Cell,
    res: Any,
    indices: Sequence[int],
    *,
    seconds: float = float("nan"),
    compile_seconds: float = 0.0,
    prov: Mapping[str, Any] | None = None,
    batch: int | None = None,
    rejected: Mapping[int, tuple[str, str]] | None = None,
    run_facts: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
    theta0: np.ndarray | None = None,
    as_stored: bool = False,
) -> list[dict[str, Any]]:
    """Check and score rows ``0 .. len(indices) - 1`` of the solve result ``res`` and build their records.

    Row ``row`` is run ``indices[row]`` of ``cell.seed``.  ``res`` is first checked
    with :func:`check_result` (``batch`` rows expected; default: as many as
    it has, at least ``len(indices)``); a malformed result makes every row
    ``invalid``.  ``rejected`` maps rows to ``(outcome, reason)`` decided by
    the caller (``error`` for a solver that raised; ``res`` may then be None).
    The outcome fields of the other rows come from :func:`harness.scoring.judge.score_run`
    at harness-evaluated oracles of ``cell.scoring_case``; the rest describe the run (keys, a
    copy of the options, budget, costs as counted by the solve, labelled by ``cost_source``).
    ``run_facts``: what the executor knows of every run of the block (``time_limit``,
    ``sandbox``, the judge's ``judge_cpu_seconds``/``judge_wall_seconds`` per run), recorded
    as given; ``batch_id``: the stored batch (None: not stored); ``theta0``: the block's
    initial points, recorded per run when ``cell.record_theta0``; ``as_stored``: each record
    exactly as the store will return it (:func:`harness.results.store.as_stored`).
    A run judged ``correct`` whose solver reported no oracle call at all
    (``cost_source`` not ``harness``, ``hvps = grads = 0``) is flagged in ``suspect``.
    """
    case, seed = cell.scoring_case, cell.seed
    n = len(indices)
    rejected = dict(rejected or {})
    if len(rejected) < n:
        if batch is None:
            rows_given = np.shape(getattr(res, "theta", ()))
            batch = max(n, int(rows_given[0])) if len(rows_given) == 2 else n
        why, bad_rows = check_result(res, batch, case.dim)
        if why is not None:
            rejected = {row: rejected.get(row, ("invalid", why)) for row in range(n)}
        else:
            for row, reason in bad_rows.items():
                if row < n:
                    rejected.setdefault(row, ("invalid", reason))
    scored_rows = [row for row in range(n) if row not in rejected]
    thetas = np.asarray(res.theta)[:n] if scored_rows else np.zeros((n, case.dim))
    oracles = point_oracles(case, thetas[scored_rows]) if scored_rows else []
    oracle_of = dict(zip(scored_rows, oracles))
    snaps, snap_oracles = _snapshot_oracles(case, getattr(res, "snapshots", None), n, scored_rows)
    options = cell.facts.options  # each record gets its own copy
    cost_source = cell.facts.cost_source
    out = []
    for row, i in enumerate(indices):
        rec: dict[str, Any] = {
            "run_id": run_id(cell.case_key, cell.solver_key, seed, i),
            "batch_id": batch_id,
            "batch_row": row,
            "case": cell.case_label,
            "case_params": dict(case.params),
            "case_key": cell.case_key,
            "dim": case.dim,
            "solver": cell.solver_label,
            "solver_name": cell.facts.name,
            "solver_options": copy.deepcopy(dict(options)),
            "solver_key": cell.solver_key,
            "seed": int(seed),
            "run_index": int(i),
            "max_iter": cell.max_iter,
            "tol": cell.tol,
        }
        if row in rejected:
            outcome, reason = rejected[row]
            rec.update(status=outcome, outcome=outcome, n_iter=None, hvps=None, grads=None)
            rec["invalid_reason" if outcome == "invalid" else "error"] = reason
            rec.update(cost_source=cost_source, seconds=float(seconds), compile_seconds=float(compile_seconds),
                       hfro_method="none")
            rec.update({k: None for k in _SCORED_FIELDS})
            gt = case.ground_truth
            rec["correct"] = False if (gt is not None and gt.classes) else None  # judged: not a correct point
        else:
            trace_row = {k: np.asarray(v)[row] for k, v in (res.trace or {}).items()}
            status = status_name(int(np.asarray(res.status)[row]))
            snap_kw = {} if row not in snap_oracles else {"snapshots": snaps[row], "snapshot_oracles": snap_oracles[row]}
            scored = score_run(case, thetas[row], status, trace_row, **dict(cell.score_options), **oracle_of[row],
                               **snap_kw)
            rec.update(
                status=status,
                n_iter=int(np.asarray(res.n_iter)[row]),
                hvps=int(np.asarray(res.hvps)[row]),
                grads=int(np.asarray(res.grads)[row]),
                cost_source=cost_source,
                seconds=float(seconds),
                compile_seconds=float(compile_seconds),
                hfro_method=str(getattr(res, "hfro_method", "none")),
            )
            rec.update(scored)
            diag = getattr(case, "diagnostics", None)
            if diag is not None:  # facts about the point the case defines, evaluated by the judge
                rec["case_diagnostics"] = {str(k): float(v) for k, v in diag(np.asarray(thetas[row])).items()}
        lanes, util = getattr(res, "lanes", None), getattr(res, "lane_utilization", None)
        rec["lanes"] = None if lanes is None else int(lanes)
        rec["lane_utilization"] = None if util is None else float(util)
        rec.update(run_facts or {})
        if rec.get("correct") and cost_source != "harness" and not (rec.get("hvps") or rec.get("grads")):
            rec["suspect"] = "reached a certified point with 0 reported oracle calls"
        if prov is not None:
            rec["provenance"] = dict(prov)
        if cell.record_theta0 and theta0 is not None:
            rec["theta0"] = np.asarray(theta0)[row].tolist()
        out.append(_as_stored(rec) if as_stored else rec)
    return out



def _snapshot_oracles(
    case: Any, snapshots: Any, n: int, rows: Sequence[int]
) -> tuple[np.ndarray | None, dict[int, list[dict[str, Any]]]]:
    """The first ``n`` runs' cutoff snapshots ``(n, C, D)`` and, for each scored row in ``rows``,
    the harness's dense oracles at its snapshots (for the verified ``ever_gradient_flat``);
    ``(None, {})`` when there are none, they are malformed, or ``dim`` is too large for a
    dense Hessian (then only the final point is checked)."""
    from harness.scoring.judge import DENSE_MAX_DIM

    if snapshots is None or case.dim > DENSE_MAX_DIM or not rows:
        return None, {}
    try:
        snaps = np.array(snapshots, dtype=np.float64)
    except (TypeError, ValueError):
        return None, {}
    if snaps.ndim != 3 or snaps.shape[0] < n or snaps.shape[2] != case.dim:
        return None, {}
    snaps = snaps[:n]
    c = snaps.shape[1]
    flat = point_oracles(case, snaps[list(rows)].reshape(-1, case.dim))
    return snaps, {row: flat[j * c : (j + 1) * c] for j, row in enumerate(rows)}


def judge_block(
    cell: Cell,
    res: Any,
    indices: Sequence[int],
    theta0: np.ndarray,
    *,
    seconds: float = float("nan"),
    compile_seconds: float = 0.0,
    prov: Mapping[str, Any] | None = None,
    rejected: Mapping[int, tuple[str, str]] | None = None,
    run_facts: Mapping[str, Any] | None = None,
    batch_id: str | None = None,
) -> JudgedBlock:
    """The parent's half of a block: check and score the worker's result ``res`` for runs
    ``indices`` of ``cell.seed`` started from ``theta0`` (padded rows included), build records and
    the array file (:func:`build_records`, :func:`batch_arrays`).

    ``rejected`` holds the rows already decided (``error`` from a solver exception or a dead
    worker, ``timeout``); ``res`` may then be None.  Only the first ``len(indices)`` rows are
    scored and stored; ``seconds`` is per run.  With a ``batch_id`` (a stored block) the records
    are as the store will return them.
    """
    n = len(indices)
    theta0 = np.asarray(theta0, dtype=np.float64)
    records = build_records(cell, res, indices, seconds=seconds, compile_seconds=compile_seconds, prov=prov,
                            batch=len(theta0), rejected=rejected, run_facts=run_facts, batch_id=batch_id,
                            theta0=theta0, as_stored=batch_id is not None)
    ok = res is not None and (all(r["outcome"] not in FAILED_OUTCOMES for r in records)
                              or check_result(res, len(theta0), cell.scoring_case.dim)[0] is None)
    return JudgedBlock(records, batch_arrays(res if ok else None, theta0, n, indices))
