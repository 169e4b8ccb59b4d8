"""``execute(plan, store, backend)``: the one place where runs are solved, scored and stored.

Data flow of one block (``docs/design.md``, "Pipeline")::

    Cell.blocks[k] --SolveTask--> worker (solver only) --reply bytes--> parent (the judge):
        check_result -> score_run at the harness's own oracles of Cell.scoring_case
        -> build_records -> ResultStore.append_batch (the parent is the only writer)

:func:`execute` is called only by the front door :func:`harness.run.runner.run` (through which
``run_spec``, ``run_suite``, the reproductions, :mod:`harness.testing`, the benchmarks and sweeps
go).  It owns:

* dispatch: up to ``Cell.threads`` blocks of a cell at once, cells in
  order, as many blocks as the back end has free slots;
* warm-up: each worker compiles a cell's shapes once before its first block
  there (:mod:`harness.run.worker`); that time is ``compile_seconds`` of that block;
* failures as records: a solver exception becomes ``error`` rows (its reason
  names the runs and the seed), a worker that exits, dies or sends a malformed
  reply makes its block ``error`` ("worker exited with code 0 during runs 0-7
  (seed 0)"), a block past the time limit ``timeout``; the back end replaces
  the worker and the cell goes on;
* batch ids (unique against the store's index), appends, progress;
* Ctrl-C: nothing new starts, blocks in flight finish and are stored, then
  ``KeyboardInterrupt`` is re-raised; a second Ctrl-C kills them.

Time limit: per run; a block of n runs gets n times it, measured by the back end
from dispatch (a worker's first block of a cell includes its compile warm-up); the
per-run limit in effect is recorded in every record as ``time_limit`` (null: none
enforced, as in the in-process back end), with the judge's ``judge_cpu_seconds`` /
``judge_wall_seconds`` per run and where the solver ran (``sandbox``).  A record
that another writer stored for one of this command's run ids refuses that block
(:class:`~harness.results.index.ForeignRecordsError`, raised once every other
block is stored).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Mapping
from typing import Any

from harness.results.index import ForeignRecordsError
from harness.run.cell import Cell
from harness.run.judge import JudgedBlock, judge_block
from harness.run.plan import Block, Plan, check_time_limit
from harness.run.progress import NullProgress, ProgressSink
from harness.run.worker import Result, SolveTask, reason_rows

__all__ = ["execute", "fresh_batch_id"]


def fresh_batch_id(store: Any, base: str) -> str:
    """``base``, or ``base.N`` if stored records already use ``base`` (possible only
    after a batch-size change); orphan arrays of a killed batch are overwritten.
    O(1) reads: the batch ids come from the store's index."""
    used = store.batch_ids()
    cand, k = base, 1
    while cand in used:
        cand, k = f"{base}.{k}", k + 1
    return cand


def _task(cell: Cell, block: Block) -> SolveTask:
    return SolveTask(cell.token, cell.case, cell.solver, block.theta0, len(block.indices), cell.max_iter,
                     cell.tol, cell.lanes, cell.seed, tuple(block.indices))


def _score(cell: Cell, block: Block, outcome: tuple, *, prov: Mapping[str, Any] | None,
           time_limit: float | None, batch_id: str | None) -> JudgedBlock:
    """The parent's half of a block: check, score, build records (never trusts the reply).

    ``outcome``: ``("reply", head, arrays, meter)`` (a reply whose size and header the back end
    has checked, :mod:`harness.run.wire`) or ``(kind, reason, meter)`` with kind ``died``,
    ``timeout`` or ``invalid``; ``meter`` the judge's wall/CPU seconds of the block."""
    n = len(block.indices)
    res, seconds, compile_s = None, float("nan"), 0.0
    meter = outcome[-1] if isinstance(outcome[-1], Mapping) else {}
    if outcome[0] == "reply":
        head, arrays = outcome[1], outcome[2]
        rejected = reason_rows(head, n)
        if isinstance(head.get("result"), dict):
            res = Result(head["result"], arrays)
        elif len(rejected) < n:
            rejected = {row: ("error", f"worker sent no result for runs {block.indices[0]}-{block.indices[-1]} "
                                       f"(seed {cell.seed})") for row in range(n)}
        try:
            seconds = float(head.get("seconds", float("nan"))) / max(n, 1)
            compile_s = float(head.get("compile_seconds", 0.0))
        except (TypeError, ValueError):
            pass
    else:
        kind = outcome[0] if outcome[0] in ("timeout", "invalid") else "error"
        rejected = {row: (kind, str(outcome[1])) for row in range(n)}
    judge = {k: float(meter[k]) / max(n, 1) for k in ("judge_cpu_seconds", "judge_wall_seconds") if k in meter}
    sandbox = str(meter.get("sandbox") or ("trusted" if cell.solver.builtin else "none"))
    return judge_block(cell, res, block.indices, block.theta0, seconds=seconds, compile_seconds=compile_s,
                       prov=prov, rejected=rejected, run_facts={"time_limit": time_limit, "sandbox": sandbox, **judge},
                       batch_id=batch_id)


def execute(
    plan: Plan,
    store: Any = None,
    *,
    backend: Any = None,
    progress: ProgressSink | None = None,
    time_limit: float | None | str = "plan",
    prov: Mapping[str, Any] | None = None,
) -> list[list[dict[str, Any]]]:
    """Run every block of ``plan``; store each (if ``store``) as soon as it is scored.

    Args:
        plan: the cells (:func:`harness.run.cell.resolve`).
        store: a :class:`~harness.results.store.ResultStore` (None: records are only returned).
        backend: a :class:`harness.run.pool.Backend`; default the process's shared worker pool
            (:func:`harness.run.pool.shared_pool`), grown to the plan's workers.
        progress: a progress sink.
        time_limit: seconds per block (default: the plan's), None for none.
        prov: provenance recorded in every record.

    Returns:
        Per cell, its records (stored before and now), ordered by ``run_index``.
    """
    from harness.run.pool import InlineBackend, shared_pool

    limit = plan.time_limit if time_limit == "plan" else check_time_limit(time_limit)
    progress = progress or NullProgress()
    cells = plan.cells
    n_blocks = sum(len(c.blocks) for c in cells)
    if backend is None:
        want = max([plan.workers] + [c.threads for c in cells if c.blocks]) if n_blocks else 1
        backend = shared_pool(max(1, min(want, n_blocks or 1)))
    else:
        backend.ensure(max([1] + [c.threads for c in cells if c.blocks]))
    recorded_limit = None if isinstance(backend, InlineBackend) else limit
    if len(cells) == 1:
        c = cells[0]
        progress.start(c.label, c.runs, len(c.stored), sum(1 for r in c.stored if r.get("outcome") == "critical"))
    else:
        stored = [r for c in cells for r in c.stored]
        progress.start(f"{len(cells)} cells", sum(c.runs for c in cells), len(stored),
                       sum(1 for r in stored if r.get("outcome") == "critical"))
    produced: list[list[dict[str, Any]]] = [[] for _ in cells]
    pending = deque((ci, bi) for ci, c in enumerate(cells) for bi in range(len(c.blocks)))
    in_flight: dict[int, tuple[int, int]] = {}
    busy = [0] * len(cells)
    left = [len(c.blocks) for c in cells]
    foreign: list[str] = []  # run ids another writer stored first (their blocks are refused)
    interrupted = False

    cap = getattr(backend, "cap_per_cell", True)  # a cluster back end may run more blocks of a cell at once

    def dispatch() -> None:
        while pending and backend.free() > 0:
            pick = next((item for item in pending if not cap or busy[item[0]] < cells[item[0]].threads), None)
            if pick is None:
                return
            pending.remove(pick)
            ci, bi = pick
            block = cells[ci].blocks[bi]
            in_flight[backend.submit(_task(cells[ci], block), None if limit is None else limit * len(block.indices))] \
                = pick
            busy[ci] += 1

    def handle(ci: int, bi: int, outcome: tuple) -> None:
        cell, block = cells[ci], cells[ci].blocks[bi]
        batch_id = None if store is None else \
            fresh_batch_id(store, f"{cell.batch_prefix}_r{block.indices[0]}-{block.indices[-1]}")
        judged = _score(cell, block, outcome, prov=prov, time_limit=recorded_limit, batch_id=batch_id)
        left[ci] -= 1
        if not left[ci] and hasattr(backend, "release"):
            backend.release(cell.token)  # its plug-in workers (if any) are never reused
        records = judged.records
        if store is not None:
            try:
                store.append_batch(records, judged.arrays, batch_id)
            except ForeignRecordsError as exc:  # a second writer: the other cells' blocks are still stored
                foreign.extend(exc.run_ids)
                progress.advance(len(block.indices), 0)
                return
        produced[ci].extend(records)
        progress.advance(len(block.indices), sum(1 for r in records if r["outcome"] == "critical"))

    ready: deque[tuple[int, int, tuple]] = deque()  # solved, not yet scored and stored
    while pending or in_flight or ready:
        try:
            if not interrupted:
                dispatch()  # workers get their next block before this process scores the last one
            if ready:
                handle(*ready.popleft())
                continue
            if not in_flight:
                break
            for ticket, outcome in backend.wait(None):
                ci, bi = in_flight.pop(ticket)
                busy[ci] -= 1
                ready.append((ci, bi, outcome))
        except KeyboardInterrupt:
            if interrupted or not (in_flight or ready):
                backend.abandon()
                raise
            interrupted = True
            print(f"critbench: finishing the {len(in_flight) + len(ready)} block(s) in flight so they are stored "
                  "(Ctrl-C again to abandon them)", file=sys.stderr, flush=True)
    if interrupted:
        raise KeyboardInterrupt
    if foreign:
        raise ForeignRecordsError(foreign, store.dir)
    return [sorted([*c.stored, *produced[ci]], key=lambda r: r["run_index"]) for ci, c in enumerate(cells)]
