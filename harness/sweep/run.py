"""Run a sweep's shards on Dask and store them: nothing lost, nothing twice.

Execution model (``docs/store.md``):

* The client expands the sweep (:mod:`harness.sweep.spec`), resolves every
  cell once (bad names or options fail before anything runs), and skips the
  runs already in the store (the store's run index: O(1) per run).
* Each remaining shard is submitted as one Dask task, :func:`solve_shard_task`,
  a pure function of the :class:`~harness.sweep.spec.Shard`: the worker
  rebuilds case and solver from names and parameters, draws the initial points
  with :func:`harness.run.initial_points.initial_points` (identical on any worker),
  and calls :func:`harness.run.shard.solve_shard`, which solves, scores with the
  harness's own oracles and builds the records.  Workers never touch the store.
* A worker that dies takes its tasks with it; the scheduler re-runs them on
  another worker (``distributed.scheduler.allowed-failures``).  A task that
  raises is resubmitted up to ``max_retries`` times (counted as *retried*),
  then counted *failed*; a rerun of the sweep retries it again.
* Only the client writes: results are appended one shard at a time with
  :meth:`harness.results.store.ResultStore.append_batch` (atomic, duplicate-checked),
  in completion order.  Records do not depend on the order.

Compile time: a worker's first shard of a cell (per batch shape) first calls
the solver with ``tol = 1e300`` (as :func:`harness.run.runner.run_spec`) and
records that time as ``compile_seconds`` on that shard's records.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.run.keys import run_id
from harness.scoring.outcomes import SNAPSHOT_CUTOFFS
from harness.run.runner import WARMUP_TOL, RunSpec, resolve
from harness.results.store import ResultStore
from harness.sweep.spec import Shard, Sweep, cell_batch, expand_shards

#: How long the client waits to connect to ``--scheduler``.
CONNECT_TIMEOUT = "20s"

__all__ = ["SweepOutcome", "dry_run_rows", "hvps_per_iteration_bound", "run_sweep", "solve_shard_task"]


# --------------------------------------------------------------------------- worker side
_WORKER: dict[str, Any] = {"resolved": {}, "warm": set(), "prov": None, "cache": None}


def _cell_key(spec: RunSpec) -> str:
    from harness.run.keys import stable_hash

    return stable_hash([spec.case, spec.case_params, spec.solver, spec.solver_options, spec.max_iter, spec.tol], 16)


def _enable_compile_cache(directory: str | None) -> None:
    if directory is None or _WORKER["cache"] == directory:
        return
    from harness.run.compile_cache import enable_compile_cache

    enable_compile_cache(directory)
    _WORKER["cache"] = directory


def solve_shard_task(shard: Shard, compile_cache: str | None = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Solve and score one shard on a worker; returns ``(records, arrays)``.

    Pure in its inputs: case and solver are rebuilt from ``shard.spec`` (cached
    per worker process), initial points come from
    :func:`harness.run.initial_points.initial_points`, and the records are built by
    :func:`harness.run.shard.solve_shard` (provenance collected on the worker, so
    ``device``/``hostname`` say where the shard ran).
    """
    from harness.run import provenance as _prov
    from harness.run.initial_points import initial_points
    from harness.run.shard import pad_rows, solve_shard
    from harness.solvers import Problem

    _enable_compile_cache(compile_cache)
    spec = shard.spec
    key = _cell_key(spec)
    rs = _WORKER["resolved"].get(key)
    if rs is None:
        if len(_WORKER["resolved"]) > 64:
            _WORKER["resolved"].clear()
        rs = _WORKER["resolved"][key] = resolve(spec)
    if _WORKER["prov"] is None:
        _WORKER["prov"] = _prov.collect()
    theta0 = pad_rows(initial_points(rs.case, spec.seed, shard.indices), shard.batch)
    compile_s = 0.0
    if (key, shard.batch) not in _WORKER["warm"]:
        t = time.perf_counter()
        rs.solver.solve(Problem(rs.case.loss_fn, rs.case.data, rs.case.dim), theta0, max_iter=spec.max_iter,
                        tol=WARMUP_TOL)
        compile_s = time.perf_counter() - t
        _WORKER["warm"].add((key, shard.batch))
    res = solve_shard(rs, spec.seed, list(shard.indices), theta0, max_iter=spec.max_iter, tol=spec.tol,
                      compile_seconds=compile_s, prov=_WORKER["prov"])
    return res.records, res.arrays


# --------------------------------------------------------------------------- client side
@dataclasses.dataclass
class SweepOutcome:
    """What a sweep did: shard counts and the first error of each failed shard."""

    cells: int = 0
    shards: int = 0
    skipped_runs: int = 0
    stored: int = 0
    failed: int = 0
    retried: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)
    dashboard: str | None = None


def batch_base(keys: tuple[str, str], spec: RunSpec, shard: Shard) -> str:
    """Batch id of a shard, as :func:`harness.run.runner.run_spec` names its blocks."""
    return f"{keys[0]}_{keys[1]}_s{spec.seed}_r{shard.indices[0]}-{shard.indices[-1]}"


def _fresh_batch_id(used: set[str], base: str) -> str:
    cand, k = base, 1
    while cand in used:
        cand, k = f"{base}.{k}", k + 1
    return cand


def plan(sweep: Sweep, store: ResultStore) -> tuple[list[tuple[Shard, str]], int]:
    """Resolve every cell (fails early on bad input) and list the shards still to run.

    Returns:
        ``[(shard, batch id base)]`` and the number of runs already stored.
    """
    out: list[tuple[Shard, str]] = []
    skipped = 0
    done = store.finished_run_ids()
    for spec in sweep.cells:
        rs = resolve(spec)
        todo = [i for i in range(spec.runs) if run_id(rs.case_key, rs.solver_key, spec.seed, i) not in done]
        skipped += spec.runs - len(todo)
        for shard in expand_shards(spec, todo):
            out.append((shard, batch_base((rs.case_key, rs.solver_key), spec, shard)))
    return out, skipped


class _Progress:
    """Shards done / failed / retried (a rich bar on a TTY, else silent)."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.bar = None
        if quiet or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("shards"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("failed {task.fields[failed]} retried {task.fields[retried]}"),
                            TimeRemainingColumn(), console=Console(stderr=True))
        self.bar.start()
        self.task = self.bar.add_task("shards", total=total, failed=0, retried=0)

    def update(self, outcome: SweepOutcome) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=outcome.stored + outcome.failed, failed=outcome.failed,
                            retried=outcome.retried)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


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
    on_stored: Callable[[Any, Shard], None] | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepOutcome:
    """Run (or resume) ``sweep`` into ``out_dir`` on Dask.

    Args:
        client: an existing ``dask.distributed.Client`` (else one is made:
            ``scheduler`` address, or a ``LocalCluster`` of ``workers``
            processes with one thread each).
        max_retries: resubmissions of a shard whose task raised.
        compile_cache: JAX persistent compilation cache directory for workers.
        on_stored: called as ``on_stored(client, shard)`` after each stored shard.
        log: where one-line messages (the dashboard address) go.

    Raises:
        CaseError, SolverError, StoreError, ValueError: bad input, before any run.
    """
    from harness.run import provenance as _prov

    store = ResultStore(out_dir)
    todo, skipped = plan(sweep, store)
    outcome = SweepOutcome(cells=len(sweep.cells), shards=len(todo), skipped_runs=skipped)
    store.write_meta(command=list(command) if command is not None else None, provenance=_prov.collect(),
                     sweep={"name": sweep.name, "swept": list(sweep.swept),
                            "cells": [dataclasses.asdict(c) for c in sweep.cells]},
                     snapshot_cutoffs=list(SNAPSHOT_CUTOFFS))
    if not todo:
        return outcome
    own = client is None
    cluster = None
    if own:
        client, cluster = _make_client(scheduler, workers)
    outcome.dashboard = getattr(client, "dashboard_link", None)
    if log is not None:
        log(f"Dask: {client.scheduler.address if hasattr(client, 'scheduler') else scheduler}"
            + (f", dashboard {outcome.dashboard}" if outcome.dashboard else ""))
    progress = _Progress(len(todo), quiet)
    cache = None if compile_cache is None else str(compile_cache)
    try:
        from dask.distributed import as_completed

        used = store.batch_ids()
        meta: dict[Any, tuple[Shard, str, int]] = {}
        futures = []
        for shard, base in todo:
            fut = client.submit(solve_shard_task, shard, cache, pure=False, key=f"shard-{base}-0")
            meta[fut.key] = (shard, base, 0)
            futures.append(fut)
        ac = as_completed(futures)
        for fut in ac:
            shard, base, attempt = meta.pop(fut.key)
            if fut.status != "finished":
                exc = fut.exception()
                if attempt < max_retries:
                    new = client.submit(solve_shard_task, shard, cache, pure=False, key=f"shard-{base}-{attempt + 1}")
                    meta[new.key] = (shard, base, attempt + 1)
                    ac.add(new)
                    outcome.retried += 1
                else:
                    outcome.failed += 1
                    outcome.failures.append(f"{base}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
                progress.update(outcome)
                continue
            records, arrays = fut.result()
            fut.release()
            batch_id = _fresh_batch_id(used, base)
            for r in records:
                r["batch_id"] = batch_id
            store.append_batch(records, arrays, batch_id)
            used.add(batch_id)
            outcome.stored += 1
            progress.update(outcome)
            if on_stored is not None:
                on_stored(client, shard)
        if outcome.stored:
            store.compact()  # the columnar snapshot that `critbench score` reads on large stores
    finally:
        progress.close()
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return outcome


# --------------------------------------------------------------------------- dry run
def hvps_per_iteration_bound(solver: str, options: Mapping[str, Any], dim: int) -> int:
    """An upper bound on HVPs per outer iteration of a built-in solver (``dim`` if unknown).

    Newton-MR: MINRES-QLP's ``maxit`` (0 means ``dim``); damped Newton: one
    Krylov solve of ``krylov_iters`` per gamma; GNM / BTLS-GNM: one HVP per
    gradient of ``||grad L||^2`` (per line-search trial for BTLS-GNM);
    dense-Hessian solvers: ``dim``.
    """
    if solver == "newton-mr":
        return int(options.get("maxit") or dim) + 1
    if solver == "damped-newton":
        return len(options.get("gammas", ())) * int(options.get("krylov_iters", dim))
    if solver == "gnm":
        return 1
    if solver == "btls-gnm":
        return int(options.get("max_trials", 1)) + 1
    return int(dim)


def dry_run_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """One row per cell: names, parameters, runs, shards and an HVP budget bound
    (``runs x max_iter x`` :func:`hvps_per_iteration_bound`)."""
    rows = []
    for spec in sweep.cells:
        rs = resolve(spec)
        per_iter = hvps_per_iteration_bound(spec.solver, rs.solver_options, rs.case.dim)
        rows.append({"case": spec.case, "case_params": dict(spec.case_params), "solver": spec.solver,
                     "solver_options": dict(spec.solver_options), "seed": spec.seed, "max_iter": spec.max_iter,
                     "tol": spec.tol, "runs": spec.runs, "batch": cell_batch(spec),
                     "shards": len(expand_shards(spec)), "dim": rs.case.dim,
                     "hvp_bound": spec.runs * spec.max_iter * per_iter})
    return rows
