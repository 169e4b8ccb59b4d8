"""Run a sweep on Dask through the one pipeline: nothing lost, nothing twice.

A sweep is planned and executed like every other set of cells
(``docs/design.md``, "Pipeline"): :func:`harness.run.cell.resolve` per cell
(keys, complete options, what is already stored, blocks of runs) and the runner's front door
:func:`harness.run.runner.run` with a :class:`~harness.run.dask_backend.DaskBackend`:
each block is one Dask task that only solves (:func:`harness.run.dask_backend.solve_on_dask_worker`);
the client checks, scores and is the only writer of the store.  So a sweep cell
and ``critbench run`` of the same cell share run ids and results
(``docs/design.md``, "One run id, one result").

Failures: a task that fails outside the solver (a killed worker) is retried
``max_retries`` times, then its runs are stored as ``error`` records; a block past
the time limit is cancelled and stored as ``timeout``; the command then exits 1.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.results.store import ResultStore
from harness.results.outcomes import FAILED_OUTCOMES
from harness.run.limits import DEFAULT_TIME_LIMIT
from harness.run.plan import layout
from harness.sweep.spec import Sweep

#: How long the client waits to connect to ``--scheduler``.
CONNECT_TIMEOUT = "20s"

__all__ = ["SweepOutcome", "dry_run_rows", "run_sweep"]


@dataclasses.dataclass
class SweepOutcome:
    """What a sweep did: blocks (shards) run, runs skipped as stored, failures."""

    cells: int = 0
    shards: int = 0
    skipped_runs: int = 0
    stored: int = 0
    failed: int = 0
    retried: int = 0
    failed_runs: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)
    dashboard: str | None = None


def _make_client(scheduler: str | None, workers: int | None) -> tuple[Any, Any]:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT), None
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"cannot connect to the Dask scheduler {scheduler!r}: {exc}") from None
    n = workers or max(1, os.cpu_count() or 1)
    import logging

    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    return Client(cluster), cluster


class _Connect:
    """The sweep's Dask client, made on first use (a sweep with nothing left to run makes none)."""

    def __init__(self, client: Any, scheduler: str | None, workers: int | None,
                 log: Callable[[str], None] | None) -> None:
        self.client, self.cluster, self.own = client, None, client is None
        self.scheduler, self.workers, self.log = scheduler, workers, log

    def __call__(self) -> Any:
        if self.client is None:
            self.client, self.cluster = _make_client(self.scheduler, self.workers)
            if self.log is not None:
                link = getattr(self.client, "dashboard_link", None)
                self.log(f"Dask: {self.client.scheduler.address}" + (f", dashboard {link}" if link else ""))
        return self.client

    def close(self) -> None:
        if self.own and self.client is not None:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def run_sweep(
    sweep: Sweep,
    out_dir: str | Path,
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    max_retries: int = 2,
    compile_cache: str | Path | None = None,
    command: Sequence[str] | None = None,
    quiet: bool = True,
    log: Callable[[str], None] | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> SweepOutcome:
    """Run (or resume) ``sweep`` into ``out_dir`` on Dask (see the module docstring).

    Args:
        client: an existing ``dask.distributed.Client`` (else one is made when there is
            something to run: ``scheduler`` address, or a ``LocalCluster`` of ``workers``
            processes with one thread each).
        max_retries: resubmissions of a block whose task failed outside the solver.
        compile_cache: JAX persistent compilation cache directory for the workers.
        log: where one-line messages (the dashboard address) go.
        time_limit: seconds per block (None: none).

    Raises:
        CaseError, SolverError, StoreError, ValueError: bad input, before any run.
    """
    from harness.run import provenance as _prov
    from harness.run.cell import resolve
    from harness.run.dask_backend import DaskBackend
    from harness.run.progress import make_progress
    from harness.run.runner import run

    store = ResultStore(out_dir)
    connect = _Connect(client, scheduler, workers, log)
    backend = DaskBackend(connect, max_retries=max_retries,
                          compile_cache=None if compile_cache is None else str(compile_cache))
    try:
        cells = tuple(resolve(spec, backend=backend, store=store) for spec in sweep.cells)
        outcome = SweepOutcome(cells=len(cells), shards=sum(len(c.blocks) for c in cells),
                               skipped_runs=sum(len(c.stored) for c in cells))
        prov = _prov.collect()
        meta = {"command": list(command) if command is not None else None, "provenance": prov,
                "sweep": {"name": sweep.name, "swept": list(sweep.swept),
                          "cells": [dataclasses.asdict(c) for c in sweep.cells]}}
        with make_progress(quiet or not outcome.shards) as progress:
            per_cell = run(cells, store, backend, meta=meta, progress=progress, prov=prov, time_limit=time_limit)
        if not outcome.shards:
            return outcome
        fresh = {r["run_id"] for c in cells for r in c.stored}
        new = [r for recs in per_cell for r in recs if r["run_id"] not in fresh]
        outcome.stored = outcome.shards
        outcome.retried = backend.retried
        outcome.failed = backend.failed_blocks
        outcome.failures = list(backend.failures)
        outcome.failed_runs = sum(1 for r in new if r.get("outcome") in FAILED_OUTCOMES)
        outcome.dashboard = getattr(connect.client, "dashboard_link", None)
        store.compact()  # the columnar snapshot that `critbench score` reads on large stores
        return outcome
    finally:
        connect.close()


# --------------------------------------------------------------------------- dry run
def dry_run_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """One row per cell: names, parameters, runs, shards and an HVP budget bound
    (``runs x max_iter x`` the bound per iteration the solver declares,
    :func:`harness.solvers.hvps_per_iteration`; a plug-in, never imported here, counts ``dim``)."""
    rows = []
    from cases import get_case
    from harness.run.plan import _blocks
    from harness.run.cell import SolverRef
    from harness.solvers import get_solver, hvps_per_iteration

    for spec in sweep.cells:
        case = get_case(spec.case, **spec.case_params)
        builtin = SolverRef(spec.solver).builtin
        # a plug-in is never imported here (it runs only in workers): the default bound, lockstep blocks
        per_iter = hvps_per_iteration(get_solver(spec.solver, **spec.solver_options), case.dim) if builtin else case.dim
        lay = layout(spec, case, refillable=builtin)
        blocks = _blocks(range(spec.runs), lay.block)
        rows.append({"case": spec.case, "case_params": dict(spec.case_params), "solver": spec.solver,
                     "solver_options": dict(spec.solver_options), "seed": spec.seed, "max_iter": spec.max_iter,
                     "tol": spec.tol, "runs": spec.runs, "batch": lay.batch,
                     "shards": len(blocks), "dim": case.dim,
                     "hvp_bound": spec.runs * spec.max_iter * per_iter})
    return rows
