"""Solve one shard (a batch of runs), score it, and hand back its records and arrays.

This is the one place where run records are assembled: the runner
(:func:`harness.runner.run_spec`), the test helpers
(:func:`harness.testing.run_records`) and sweeps all call
:func:`solve_shard` / :func:`build_records`.  A shard is a pure function of
its inputs (case, solver, seed, run indices, initial points, budget): the same
inputs give the same records on any worker.

Scoring never trusts the solver: every outcome field comes from
:func:`harness.score.score_run` with the loss, gradient and Hessian that the
harness evaluates itself at the returned points (:mod:`harness.oracles`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.keys import run_id
from harness.oracles import point_oracles
from harness.score import score_run, status_name

__all__ = ["Resolved", "ShardResult", "batch_arrays", "build_records", "pad_rows", "solve_shard"]


@dataclasses.dataclass(frozen=True)
class Resolved:
    """A cell's built case and solver with their keys.

    Attributes:
        case: the built :class:`cases.Case`.
        solver: the solver object.
        case_key, solver_key: resume keys (:mod:`harness.keys`).
        solver_options: the solver's complete options (recorded).
        case_label: the case name as given (recorded as ``case``).
        solver_label: the solver name as given (``solver``; e.g. ``module:attr``).
    """

    case: Any
    solver: Any
    case_key: str
    solver_key: str
    solver_options: dict[str, Any]
    case_label: str
    solver_label: str


@dataclasses.dataclass(frozen=True)
class ShardResult:
    """Records and array file of one solved shard, and the solve's wall time."""

    records: list[dict[str, Any]]
    arrays: dict[str, np.ndarray]
    seconds: float


def pad_rows(theta0: np.ndarray, batch: int) -> np.ndarray:
    """Pad a short block to ``batch`` rows (repeating its last row): one compilation."""
    n = len(theta0)
    return np.concatenate([theta0, np.repeat(theta0[-1:], batch - n, axis=0)]) if n < batch else theta0


def batch_arrays(res: Any, theta0: np.ndarray, n: int, indices: Sequence[int]) -> dict[str, np.ndarray]:
    """The batch's array file: ``run_index, theta0, theta, status, n_iter, snapshots,
    snapshot_iter`` and every trace field under its own name (``(n, T + 1)``)."""
    arrs: dict[str, np.ndarray] = {
        "run_index": np.asarray(indices, dtype=np.int64),
        "theta0": theta0[:n],
        "theta": np.asarray(res.theta)[:n],
        "status": np.asarray(res.status)[:n],
        "n_iter": np.asarray(res.n_iter)[:n],
    }
    if res.snapshots is not None:
        arrs["snapshots"] = np.asarray(res.snapshots)[:n]
    if res.snapshot_iter is not None:
        arrs["snapshot_iter"] = np.asarray(res.snapshot_iter)[:n]
    for k, v in (res.trace or {}).items():
        if k not in arrs:
            arrs[k] = np.asarray(v)[:n]
    return arrs


def build_records(
    rs: Resolved,
    res: Any,
    seed: int,
    indices: Sequence[int],
    *,
    max_iter: int,
    tol: float,
    seconds: float = float("nan"),
    compile_seconds: float = 0.0,
    prov: Mapping[str, Any] | None = None,
    score_options: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Score rows ``0 .. len(indices) - 1`` of the solve result ``res`` and build their records.

    Row ``row`` is run ``indices[row]`` of ``seed``.  The outcome fields come
    from :func:`harness.score.score_run` at harness-evaluated oracles; the rest
    describe the run (keys, options, budget, costs as counted by the solve).
    """
    case = rs.case
    n = len(indices)
    thetas = np.asarray(res.theta)[:n]
    oracles = point_oracles(case, thetas)
    out = []
    for row, i in enumerate(indices):
        trace_row = {k: np.asarray(v)[row] for k, v in (res.trace or {}).items()}
        status = status_name(int(np.asarray(res.status)[row]))
        scored = score_run(case, thetas[row], status, trace_row, **dict(score_options or {}), **oracles[row])
        rec: dict[str, Any] = {
            "run_id": run_id(rs.case_key, rs.solver_key, seed, i),
            "batch_id": None,
            "batch_row": row,
            "case": rs.case_label,
            "case_params": dict(case.params),
            "case_key": rs.case_key,
            "dim": case.dim,
            "solver": rs.solver_label,
            "solver_name": str(getattr(rs.solver, "name", rs.solver_label)),
            "solver_options": rs.solver_options,
            "solver_key": rs.solver_key,
            "seed": int(seed),
            "run_index": int(i),
            "max_iter": max_iter,
            "tol": tol,
            "status": status,
            "n_iter": int(np.asarray(res.n_iter)[row]),
            "hvps": int(np.asarray(res.hvps)[row]),
            "grads": int(np.asarray(res.grads)[row]),
            "seconds": float(seconds),
            "compile_seconds": float(compile_seconds),
            "hfro_method": getattr(res, "hfro_method", "none"),
        }
        rec.update(scored)
        if prov is not None:
            rec["provenance"] = dict(prov)
        out.append(rec)
    return out


def solve_shard(
    rs: Resolved,
    seed: int,
    indices: Sequence[int],
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
    compile_seconds: float = 0.0,
    prov: Mapping[str, Any] | None = None,
    score_options: Mapping[str, Any] | None = None,
) -> ShardResult:
    """Solve runs ``indices`` of ``seed`` from ``theta0``, score them, build records and arrays.

    ``theta0`` may have more rows than ``indices`` (padding to a fixed batch
    shape, so every shard of a cell reuses one compiled executable); only the
    first ``len(indices)`` rows are scored and stored.  ``seconds`` on each
    record is the solve's wall time divided by the real (unpadded) runs.
    """
    from harness.solvers import Problem

    case = rs.case
    n = len(indices)
    problem = Problem(case.loss_fn, case.data, case.dim)
    t = time.perf_counter()
    res = rs.solver.solve(problem, theta0, max_iter=max_iter, tol=tol)
    wall = time.perf_counter() - t
    records = build_records(rs, res, seed, indices, max_iter=max_iter, tol=tol, seconds=wall / max(n, 1),
                            compile_seconds=compile_seconds, prov=prov, score_options=score_options)
    return ShardResult(records, batch_arrays(res, np.asarray(theta0), n, indices), wall)
