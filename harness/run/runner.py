"""The runner, the one front door of the pipeline: :func:`run` executes resolved cells
(:func:`harness.run.cell.resolve`) into a store; :func:`run_spec` / :func:`run_suite` resolve
(case, solver, seed, runs) specs and call it.  Every entry point goes through :func:`run`:
``critbench run`` and the scorecard, sweeps (:mod:`harness.sweep.run`), the reproductions
(:mod:`harness.reproduce._runs`), :mod:`harness.testing` and the benchmarks.  Runs are solved in
worker processes, judged and stored here, resumably.

Reproducibility.  Run ``i`` of a spec always starts from the same point,
whatever ``runs`` is: initial points are drawn in pools of :data:`~harness.run.initial_points.POOL` runs,
pool ``j`` being ``case.initial_points(pool_seed(seed, j), POOL)`` (pool 0 uses
``seed`` itself, so with ``runs <= POOL`` the points are exactly
``case.initial_points(seed, POOL)[:runs]``).  Batches are aligned blocks of run
indices (``[b * B, (b + 1) * B)``), the last one padded by repeating its last
point to the full batch shape (pad rows are dropped), so a resumed spec
runs every remaining block with the same shapes and the same rows as an
uninterrupted one.

Resume.  Each run has ``run_id = case_key/solver_key/seed/run_index``; runs
whose id is already stored are skipped.  A batch is stored atomically
(:meth:`harness.results.store.ResultStore.append_batch`), so a kill loses at most the
batch in flight and never duplicates a run.

Keys.  ``case_key = <case>-<hash of the case's complete parameters>``;
``solver_key = <solver>-<hash of the solver's options, max_iter and tol>``
(the budget is part of the key because it changes the result).  Hashes are
the first 10 hex digits of SHA-256 of canonical JSON.

Timing.  Compile time is excluded: before a worker's first block of a cell
the solver is called once on the same batch shape with ``tol = 1e300`` (every
run converges at its initial point, but ``jit`` compiles the very same
executable since ``tol`` is traced), and that call's wall time is recorded as
``compile_seconds`` on that block (0 on the worker's later blocks of the cell).  Each batch's solve is then timed on its own
(``block_until_ready`` is implied by the host copy in ``SolveResult``) and
``seconds = batch wall time / real (unpadded) runs in the batch``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.run import provenance as _prov
from harness.jitcache.compile_cache import enable_compile_cache
from harness.run.cell import Cell, check_plugins, resolve
from harness.run.execute import execute
from harness.run.limits import DEFAULT_TIME_LIMIT
from harness.run.plan import Plan, check_time_limit
from harness.run.pool import guard, sandbox_label, shared_pool
from harness.run.progress import ProgressSink
from harness.run.spec import RunSpec
from harness.results.index import RUNS_FILE
from harness.results.store import ResultStore
from harness.results.outcomes import SNAPSHOT_CUTOFFS

__all__ = ["RunSpec", "run", "run_spec", "run_suite"]


def run(
    cells: Sequence[Cell],
    store: ResultStore | None,
    backend: Any = None,
    *,
    meta: Mapping[str, Any] | None = None,
    progress: ProgressSink | None = None,
    prov: Mapping[str, Any] | None = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> list[list[dict[str, Any]]]:
    """Solve, judge and store every block of ``cells`` (:func:`harness.run.execute.execute`).

    Args:
        cells: resolved cells (:func:`harness.run.cell.resolve`).
        store: where records go (None: only returned).
        backend: the worker back end (default: this process's shared pool).
        meta: fields written to ``meta.json`` (with the snapshot cutoffs) once the runs are
            stored, also after Ctrl-C (the blocks in flight were stored: describe them); None:
            ``meta.json`` is left as it is.  A command that fails otherwise leaves it.
        progress: a progress sink.  prov: provenance recorded in every record (None: none).
        time_limit: seconds per run (None: none).  workers: worker processes the cells share.

    Returns:
        Per cell, its records (stored before and now), ordered by ``run_index``.
    """
    def write_meta() -> None:
        if meta is not None and store is not None:
            store.write_meta(**meta, snapshot_cutoffs=list(SNAPSHOT_CUTOFFS))

    plan = Plan(tuple(cells), time_limit=check_time_limit(time_limit), workers=workers)
    try:
        per_cell = execute(plan, store, backend=backend, progress=progress, prov=prov)
    except KeyboardInterrupt:
        write_meta()
        raise
    write_meta()
    return per_cell


# --------------------------------------------------------------------------- running
def run_spec(
    spec: RunSpec,
    out_dir: str | Path,
    *,
    progress: ProgressSink | None = None,
    store: ResultStore | None = None,
    prov: Mapping[str, Any] | None = None,
    backend: Any = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
) -> list[dict[str, Any]]:
    """Run (or resume) ``spec`` into the result directory ``out_dir``: resolve it
    (:func:`harness.run.cell.resolve`) and :func:`run` it.

    The solver runs in worker processes (``backend``, default the shared pool of
    :mod:`harness.run.pool`); this process checks, scores and stores each block as
    soon as it is done, so an interruption loses at most the blocks in flight.
    A solver that raises, returns a malformed result, exits, dies or outlives
    ``time_limit`` (seconds per run) does not stop the spec: its runs are
    stored as ``error`` / ``invalid`` / ``timeout`` records and the other blocks still run.

    Returns:
        The spec's records (stored earlier or now), ordered by ``run_index``.

    Raises:
        CaseError, SolverError: unknown names, bad parameters/options, a plug-in that cannot be loaded.
        StoreError: an unreadable result directory.
    """
    return run_suite([spec], out_dir, progress=progress, store=store, prov=prov, backend=backend,
                     time_limit=time_limit, write_meta=False)


def _typed_spec(spec: RunSpec, cell: Any) -> dict[str, Any]:
    """``spec`` for ``meta.json``, with the options as the cell typed them (a plug-in's in its worker)."""
    return {**dataclasses.asdict(spec), "solver_options": dict(cell.solver.options)}


def run_suite(
    specs: Sequence[RunSpec],
    out_dir: str | Path,
    *,
    progress: ProgressSink | None = None,
    command: Sequence[str] | None = None,
    jobs: int = 1,
    compile_cache: str | Path | None = None,
    store: ResultStore | None = None,
    prov: Mapping[str, Any] | None = None,
    backend: Any = None,
    time_limit: float | None = DEFAULT_TIME_LIMIT,
    write_meta: bool = True,
    memory_limit: int | None = None,
) -> list[dict[str, Any]]:
    """Run every spec into ``out_dir`` (resumable) and write ``meta.json``.

    All specs are resolved first (:func:`harness.run.cell.resolve`), so a bad
    name fails before any run starts; then one :func:`run` runs every block.  ``jobs`` is
    the number of worker processes the cells share (at least the cells' own concurrency,
    :func:`harness.run.plan.default_threads`); blocks of different cells run side by side.

    ``compile_cache``: a directory or ``"off"`` to set JAX's persistent
    compilation cache (:func:`harness.jitcache.compile_cache.enable_compile_cache`);
    None leaves this process's setting as it is (the CLI enables the cache at
    start-up).  Worker processes get the setting in effect.

    ``time_limit``: seconds per run (None: none; a block of n runs gets n times it); recorded in each
    record.  ``memory_limit``: bytes of address space per plug-in worker (None: half the memory).

    Returns:
        All records of the specs, spec by spec.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    limit = check_time_limit(time_limit)
    if compile_cache is not None:
        enable_compile_cache(compile_cache)
    if backend is None:
        backend = shared_pool(jobs)  # workers start importing while the cells are resolved
    guard(backend, time_limit=limit, hidden=[out_dir], memory_limit=memory_limit)
    if store is None:
        if not (Path(out_dir) / RUNS_FILE).is_file():
            check_plugins(specs, backend)  # a plug-in that cannot be loaded makes no result directory
        store = ResultStore(out_dir)  # opened before the cells are resolved: what is indexed later is foreign
    cells = tuple(resolve(spec, backend=backend, store=store) for spec in specs)  # bad input fails before anything runs
    prov = dict(prov or _prov.collect())
    meta = None if not write_meta else {
        "command": list(command) if command is not None else None, "provenance": prov, "critbench": prov["critbench"],
        "specs": [_typed_spec(s, c) for s, c in zip(specs, cells)], "sandbox": sandbox_label(backend, cells)}
    per_cell = run(cells, store, backend, meta=meta, progress=progress, prov=prov, time_limit=limit, workers=jobs)
    return [r for recs in per_cell for r in recs]
