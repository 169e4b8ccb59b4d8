"""Running the experiments' cells through the harness's own runner and scorer.

:func:`run_cell` is :func:`harness.run.runner.run_spec` into the shared store
(resumable, every record carries seed, options, versions and commit).
:func:`run_points` solves runs from *given* initial points (a grid, points on a
critical line) through the same :func:`harness.run.cell.resolve` and front door :func:`harness.run.runner.run`
as every run (solved in worker processes, scored and stored by the parent), and stores them in the same store under a run-id ``seed``
derived from the points, so a rerun skips what is stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.run.keys import stable_hash

from ._registry import Context


def run_cell(ctx: Context, case: str, case_params: Mapping[str, Any], solver: str,
             options: Mapping[str, Any] | None = None, *, runs: int, seed: int = 0, max_iter: int = 500,
             tol: float = 1e-10) -> list[dict[str, Any]]:
    """``runs`` runs of ``solver`` on ``case`` via the runner (stored in ``ctx.runs``; resumes)."""
    from harness.run.runner import run_spec
    from harness.run.spec import RunSpec

    spec = RunSpec(case, dict(case_params), solver, dict(options or {}), runs, seed, max_iter=max_iter, tol=tol)
    ctx.log(f"{case} {dict(case_params)} x {solver} {dict(options or {})}: {runs} runs, {max_iter} iterations")
    return run_spec(spec, ctx.runs, progress=ctx.progress)


def run_points(ctx: Context, case: str, case_params: Mapping[str, Any], solver: str,
               options: Mapping[str, Any] | None, theta0: np.ndarray, *, max_iter: int = 500,
               tol: float = 1e-10, batch: int = 64) -> list[dict[str, Any]]:
    """Runs from the rows of ``theta0`` (scored and stored like the runner's; resumes).

    The run-id seed is a hash of the points, so different point sets never collide.
    """
    from harness.run.pool import shared_pool
    from harness.run.cell import CaseRef, Points, SolverRef, resolve
    from harness.run.runner import run
    from harness.results.store import ResultStore

    theta0 = np.asarray(theta0, dtype=np.float64)
    seed = int(stable_hash(theta0.tobytes().hex())[:8], 16)
    backend = shared_pool(1)
    points = Points(CaseRef(case, dict(case_params)), SolverRef(solver, dict(options or {})), theta0, seed,
                    max_iter=max_iter, tol=tol, batch=batch, lanes_in_key=True)
    cell = resolve(points, backend=backend, store=ResultStore(ctx.runs))
    ctx.log(f"{case} x {solver}: {sum(len(b.indices) for b in cell.blocks)} of {len(theta0)} runs from given points")
    return run((cell,), ResultStore(ctx.runs), backend, progress=ctx.progress)[0]


def arrays_of(ctx: Context, records: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    """``batch_id -> arrays`` of the records' batches (from the store), each checked against its index hash.

    Raises:
        StoreError: an arrays file is missing, unreadable or rewritten since it was stored.
    """
    from harness.results.store import load_batch_arrays

    return load_batch_arrays(ctx.runs, (str(r["batch_id"]) for r in records), strict=True)


def row(arrays: Mapping[str, Mapping[str, np.ndarray]], rec: Mapping[str, Any], name: str) -> np.ndarray:
    """Array ``name`` of run ``rec`` (its ``batch_row`` in its batch)."""
    return arrays[str(rec["batch_id"])][name][int(rec["batch_row"])]


def command(name: str, ctx: Context) -> str:
    """The command line that reproduces a page."""
    return f"critbench reproduce {name} --{ctx.mode}"
