"""The runner: expands a (case, solver, seed, runs) spec into batches, solves,
scores and stores them, resumably.

Reproducibility.  Run ``i`` of a spec always starts from the same point,
whatever ``runs`` is: initial points are drawn in pools of :data:`POOL` runs,
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

Timing.  Compile time is excluded: before the first batch the solver is called
once on the same batch shape with ``tol = 1e300`` (every run converges at its
initial point, but ``jit`` compiles the very same executable since ``tol`` is
traced), and that call's wall time is recorded as ``compile_seconds`` on the
first batch (0 on later ones).  Each batch's solve is then timed on its own
(``block_until_ready`` is implied by the host copy in ``SolveResult``) and
``seconds = batch wall time / real (unpadded) runs in the batch``.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cases import Case, get_case
from harness.run import provenance as _prov
from harness.run.compile_cache import enable_compile_cache
from harness.run.initial_points import POOL, initial_points, pool_seed
from harness.run.keys import case_key, run_id, solver_key, solver_options_of, stable_hash
from harness.scoring.outcomes import SNAPSHOT_CUTOFFS
from harness.scoring.oracles import point_oracles
from harness.run.progress import NullProgress, ProgressSink
from harness.run.spec import DEFAULT_BATCH, RunSpec
from harness.run.shard import Resolved, isolated_data, pad_rows, solve_shard
from harness.solvers import Problem, get_solver
from harness.results.store import ResultStore, as_stored

__all__ = [
    "DEFAULT_BATCH", "POOL", "RunSpec", "case_key", "default_batch_size", "default_threads",
    "enable_compile_cache", "initial_points", "point_oracles", "pool_seed", "resolve", "run_id",
    "run_spec", "run_suite", "solve_lanes", "solver_key", "solver_options_of", "stable_hash",
]

#: ``tol`` of the compile warm-up call: every run converges at iteration 0.
WARMUP_TOL = 1e300


#: Data elements above which a case counts as large (e.g. the thesis DLAE).
LARGE_CASE_ELEMENTS = 50_000
#: ... or data elements x parameters above which it does: a lane's inner MINRES-QLP runs up to
#: ``dim`` HVPs, each touching all the data, and a vmapped step runs every lane until the slowest
#: lane's solve stops (the Sec. 3.5 field cases: swish-autoencoder n=1000 is 32,000 x 552 = 1.8e7;
#: its 20-run refilling block stored nothing in 8 minutes, one run per thread takes seconds per run).
LARGE_CASE_WORK = 1_000_000
#: Runs queued per refilling block (a block is solved, scored and stored atomically).
REFILL_QUEUE = 100


def _large_on_cpu(case: Case) -> bool:
    import jax

    elements = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(case.data))
    large = elements > LARGE_CASE_ELEMENTS or elements * case.dim > LARGE_CASE_WORK
    return jax.default_backend() == "cpu" and large


def use_refill(spec: RunSpec, case: Case, solver: Any = None) -> bool:
    """Whether the runner solves ``spec`` in refilling batches (:func:`harness.solvers.iterate_refill`).

    Yes for solvers that :func:`~harness.solvers.supports_refill` (all built-ins), except large
    cases (data with more than :data:`LARGE_CASE_ELEMENTS` elements, or more than
    :data:`LARGE_CASE_WORK` data elements x parameters) on a CPU without an explicit
    ``batch_size``: there one-run lockstep blocks on one thread per core measured faster (README,
    "Throughput": a vmapped Newton-MR step also runs every lane's inner MINRES-QLP until the slowest
    lane's stops, and the skinny matmuls gain little from batching on 2 CPU cores).
    """
    from harness.solvers import supports_refill

    if solver is None:
        solver = get_solver(spec.solver, **spec.solver_options)
    if not supports_refill(solver):
        return False
    return bool(spec.batch_size) or not _large_on_cpu(case)


def default_batch_size(spec: RunSpec, case: Case) -> int:
    """Runs per vmapped solve (lanes, for refilling batches) when ``spec.batch_size`` is not given.

    Large cases on a CPU (data with more than :data:`LARGE_CASE_ELEMENTS` elements, e.g. the thesis
    DLAE) run one at a time (see :func:`use_refill`); others batch up to :data:`DEFAULT_BATCH`.
    """
    if spec.batch_size:
        return int(spec.batch_size)
    return 1 if _large_on_cpu(case) else spec.effective_batch


def block_size(spec: RunSpec, lanes: int, refill: bool) -> int:
    """Runs per stored block: the lanes for lockstep solves; for refilling solves
    ``min(runs, max(lanes, REFILL_QUEUE))`` (the queue a batch's lanes drain)."""
    return min(spec.runs, max(lanes, REFILL_QUEUE)) if refill else lanes


def solve_lanes(spec: RunSpec, case: Case, solver: Any = None) -> int:
    """The vmapped lanes every run of ``spec`` is solved in (part of its key, docs/design.md,
    "One run id, one result"): ``min(B, runs)`` for refilling solves (:func:`harness.solvers.iterate_refill`
    caps the lanes by the block's rows), ``B`` for lockstep solves (every block padded to ``B`` rows),
    ``B = default_batch_size(spec, case)``."""
    B = default_batch_size(spec, case)
    if use_refill(spec, case, solver):
        return min(B, block_size(spec, B, True))
    return B


# --------------------------------------------------------------------------- running
def resolve(spec: RunSpec) -> Resolved:
    """Build the case and solver of ``spec`` (``CaseError`` / ``SolverError`` on bad input)."""
    case = get_case(spec.case, **spec.case_params)
    solver = get_solver(spec.solver, **copy.deepcopy(spec.solver_options))
    opts = copy.deepcopy(solver_options_of(solver, spec.solver_options))
    # Points are scored against a case rebuilt from (name, params): never an object a solver held.
    scoring_case = get_case(spec.case, **spec.case_params)
    skey = solver_key(spec.solver, opts, spec.max_iter, spec.tol, lanes=solve_lanes(spec, case, solver))
    return Resolved(case, solver, case_key(case), skey, opts, spec.case, spec.solver, scoring_case)


def _blocks(todo: Iterable[int], batch: int) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for i in todo:
        blocks.setdefault(i // batch, []).append(i)
    return [blocks[b] for b in sorted(blocks)]


def default_threads(spec: RunSpec, case: Case, batch: int, n_blocks: int) -> int:
    """Runs solved concurrently (threads) when ``spec.threads`` is not given.

    Refilling batches (``batch`` passed as 0) run in the calling thread.  On a
    CPU, the one-run-at-a-time lockstep blocks of large cases (see
    :func:`default_batch_size`) use one thread per core: each solve is one XLA
    call that releases the GIL, and the skinny matrix products of such cases
    barely speed up with XLA's own intra-op threads, so runs in parallel give
    nearly ``cores x`` the throughput (measured on the thesis DLAE, 2 cores:
    1.5-1.8x).  Everything else runs in the calling thread.
    """
    if spec.threads:
        return max(1, min(int(spec.threads), n_blocks))
    import jax

    if batch == 1 and jax.default_backend() == "cpu":
        return max(1, min(os.cpu_count() or 1, n_blocks))
    return 1


def run_spec(
    spec: RunSpec,
    out_dir: str | Path,
    *,
    progress: ProgressSink | None = None,
    store: ResultStore | None = None,
    prov: Mapping[str, Any] | None = None,
    resolved: Resolved | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) ``spec`` into the result directory ``out_dir``.

    ``resolved`` is ``resolve(spec)`` when the caller already built it (so a
    cell's cases are built once: :func:`run_suite` validates and builds each
    cell up front and hands it on).

    Blocks of runs are solved one after another or, see :func:`default_threads`,
    by a few threads at once; each block is scored and stored as soon as it is
    done (under a lock), so an interruption loses at most the blocks in flight.

    A solver that raises or returns a malformed result does not stop the
    spec: its runs are stored with outcome ``error`` / ``invalid``
    (:mod:`harness.run.shard`) and the other blocks still run.

    Returns:
        The spec's records (stored earlier or now), ordered by ``run_index``.

    Raises:
        CaseError, SolverError: unknown names or bad parameters/options.
        StoreError: an unreadable result directory.
    """
    progress = progress or NullProgress()
    store = store or ResultStore(out_dir)
    rs = resolved if resolved is not None else resolve(spec)
    case, solver = rs.case, rs.solver
    ids = [run_id(rs.case_key, rs.solver_key, spec.seed, i) for i in range(spec.runs)]
    wanted = set(ids)
    # Stored records are read once, before any solver runs: what a solver might
    # write into the result directory never decides what is run or returned.
    stored = {r["run_id"]: r for r in store.records_for(wanted)}  # only this cell's batches (index)
    todo = [i for i in range(spec.runs) if ids[i] not in stored]
    prev_success = sum(1 for r in stored.values() if r.get("outcome") == "critical")
    produced: list[dict[str, Any]] = []
    progress.start(f"{spec.case} × {spec.solver}", spec.runs, spec.runs - len(todo), prev_success)
    prov = dict(prov or _prov.collect())
    B = default_batch_size(spec, case)
    refill = use_refill(spec, case, solver)
    lanes = B if refill else None
    Q = block_size(spec, B, refill)
    blocks = _blocks(todo, Q)
    starts = [pad_rows(initial_points(case, spec.seed, block), Q) for block in blocks]
    lock = threading.Lock()
    compile_s = 0.0
    if blocks:
        # Compile once (the first block's shapes are every block's), untimed by the runs.
        t = time.perf_counter()
        warm = starts[0].copy()
        warm.flags.writeable = False
        warm_problem = Problem(case.loss_fn, isolated_data(case.data), case.dim)
        try:
            if refill:
                solver.solve_refill(warm_problem, warm, max_iter=spec.max_iter, tol=WARMUP_TOL, lanes=B)
            else:
                solver.solve(warm_problem, warm, max_iter=spec.max_iter, tol=WARMUP_TOL)
        except Exception:  # noqa: BLE001 - a failing solver fails in its shards, where it becomes `error` records
            pass
        compile_s = time.perf_counter() - t

    def do_block(k: int, block: list[int]) -> None:
        shard = solve_shard(rs, spec.seed, block, starts[k], max_iter=spec.max_iter, tol=spec.tol,
                            compile_seconds=compile_s if k == 0 else 0.0, prov=prov, lanes=lanes)
        with lock:
            batch_id = _fresh_batch_id(store, f"{rs.case_key}_{rs.solver_key}_s{spec.seed}_r{block[0]}-{block[-1]}")
            for r in shard.records:
                r["batch_id"] = batch_id
            store.append_batch(shard.records, shard.arrays, batch_id)
            produced.extend(as_stored(r) for r in shard.records)
            progress.advance(len(block), sum(1 for r in shard.records if r["outcome"] == "critical"))

    threads = default_threads(spec, case, 0 if refill else B, len(blocks))
    if threads <= 1:
        for k, block in enumerate(blocks):
            do_block(k, block)
    else:
        pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="critbench-run")
        futures = []
        try:
            futures = [pool.submit(do_block, k, block) for k, block in enumerate(blocks)]
            for fut in futures:
                fut.result()
        except BaseException as exc:
            # Ctrl-C or a failed block: start nothing new; blocks in flight finish
            # and are stored (the pool's threads are joined at exit).
            pool.shutdown(wait=False, cancel_futures=True)
            if isinstance(exc, KeyboardInterrupt):
                running = sum(1 for f in futures if f.running())
                if running:
                    print(f"critbench: finishing the {running} block(s) in flight so they are stored "
                          "(Ctrl-C again to abandon them)", file=sys.stderr, flush=True)
            raise
        pool.shutdown()
    return sorted([*stored.values(), *produced], key=lambda r: r["run_index"])


def _fresh_batch_id(store: ResultStore, base: str) -> str:
    """``base``, or ``base.N`` if stored records already use ``base`` (possible only
    after a batch-size change); orphan arrays of a killed batch are overwritten.
    O(1) reads: the batch ids come from the store's index."""
    used = store.batch_ids()
    cand, k = base, 1
    while cand in used:
        cand, k = f"{base}.{k}", k + 1
    return cand


def _suite_worker(args: tuple[RunSpec, str, Mapping[str, Any], str | None]) -> tuple[int, int]:
    """Worker process of :func:`run_suite`: one spec; returns (runs, successes).

    The store's file lock serialises appends from concurrent workers.
    """
    spec, out_dir, prov, cache = args
    if spec.threads is None:  # the processes already share the cores
        spec = dataclasses.replace(spec, threads=1)
    enable_compile_cache(cache)  # the parent's setting (a directory or "off")
    recs = run_spec(spec, out_dir, prov=prov)
    return len(recs), sum(1 for r in recs if r.get("outcome") == "critical")


def run_suite(
    specs: Sequence[RunSpec],
    out_dir: str | Path,
    *,
    progress: ProgressSink | None = None,
    command: Sequence[str] | None = None,
    jobs: int = 1,
    compile_cache: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Run every spec into ``out_dir`` (resumable) and write ``meta.json``.

    All specs are resolved first, so a bad name fails before any run starts.
    With ``jobs > 1`` the cells run in that many worker processes (XLA
    compiles each cell single-threaded, so two cores roughly halve a suite's
    wall time); progress then advances cell by cell.

    ``compile_cache``: a directory or ``"off"`` to set JAX's persistent
    compilation cache (:func:`harness.run.compile_cache.enable_compile_cache`);
    None leaves this process's setting as it is (the CLI enables the cache at
    start-up).  Worker processes inherit the setting in effect.

    Returns:
        All records of the specs, spec by spec.
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    built = [resolve(spec) for spec in specs]  # bad input fails before anything runs; built once per cell
    store = ResultStore(out_dir)
    prov = _prov.collect()
    store.write_meta(command=list(command) if command is not None else None, provenance=prov,
                     critbench=prov["critbench"], specs=[dataclasses.asdict(s) for s in specs],
                     snapshot_cutoffs=list(SNAPSHOT_CUTOFFS))
    if compile_cache is not None:
        enable_compile_cache(compile_cache)
    if jobs > 1 and len(specs) > 1:
        import multiprocessing as mp

        progress = progress or NullProgress()
        progress.start(f"{len(specs)} cells in {jobs} processes", sum(s.runs for s in specs))
        import jax

        cache = jax.config.jax_compilation_cache_dir or "off"
        work = [(s, str(out_dir), prov, cache) for s in specs]
        with mp.get_context("spawn").Pool(min(jobs, len(specs))) as pool:
            for runs, successes in pool.imap_unordered(_suite_worker, work):
                progress.advance(runs, successes)
        by_spec = []
        for spec, rs in zip(specs, built):  # stored records, spec by spec
            by_spec.extend(run_spec(spec, out_dir, store=store, prov=prov, resolved=rs))
        return by_spec
    out: list[dict[str, Any]] = []
    for spec, rs in zip(specs, built):
        out.extend(run_spec(spec, out_dir, progress=progress, store=store, prov=prov, resolved=rs))
    return out
