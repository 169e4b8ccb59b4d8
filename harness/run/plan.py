"""The plan: what :func:`harness.run.execute.execute` will run, as plain values.

``plan_cells(specs, store, backend)`` turns each :class:`~harness.run.spec.RunSpec`
into a :class:`CellPlan`: the resolved keys, the solver's complete options, the
runs already stored (read once, before any solver runs), and the blocks still to
solve, each a :class:`Block` of global run indices with its (padded) initial
points.  The CPU heuristics of :mod:`harness.run.runner` decide refill, lanes,
block size and the cell's concurrency (``use_refill``, ``default_batch_size``,
``block_size``, ``default_threads``).

Trust.  The parent builds cases (trusted code) and may build built-in solvers
to learn their options; a plug-in solver (``module:attr``, entry point, or an
object given by a Python caller) is never imported or called here: its name,
complete options and refill support come from a worker (``backend.describe``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cases import get_case
from harness.run.keys import case_key, run_id, solver_key
from harness.run.limits import DEFAULT_TIME_LIMIT

__all__ = ["LARGE_CASE_ELEMENTS", "LARGE_CASE_WORK", "REFILL_QUEUE", "Block", "CellPlan", "Plan", "block_size", "default_batch_size", "default_threads", "plan_cell", "plan_points",
           "solve_lanes", "use_refill"]




@dataclasses.dataclass(frozen=True)
class Block:
    """Runs ``indices`` (global) solved together from ``theta0`` (``(rows, dim)``; rows beyond
    ``len(indices)`` pad the block to the cell's shape)."""

    indices: tuple[int, ...]
    theta0: np.ndarray


@dataclasses.dataclass(frozen=True)
class CellPlan:
    """One cell: keys, complete options, stored records, blocks to solve.

    Attributes:
        label: progress label.
        case_ref, solver_ref: how a worker rebuilds the case and solver
            (``("name", name, params)`` or ``("pickle", bytes)``).
        scoring_case: the case the parent scores against (rebuilt from (name, params),
            never an object the solver held).
        case_label, solver_label: recorded as ``case``/``solver``.
        solver_name: the solver's ``name`` (as its worker reports it).
        case_key, solver_key: resume keys; solver_options: complete options (recorded).
        cost_source: ``harness`` when harness code counted HVPs/gradients.
        seed, max_iter, tol: the runs' seed and budget.
        lanes: refilling lanes or None (lockstep ``solve``).
        threads: blocks of this cell in flight at once.
        blocks: what remains to solve.  stored: records already stored.
        batch_prefix: batch ids are ``<prefix>_r<first>-<last>`` (made unique by the store's index).
        score_options: passed to ``score_run`` (e.g. ``critical_tol``).
    """

    label: str
    case_ref: tuple
    solver_ref: tuple
    scoring_case: Any
    case_label: str
    solver_label: str
    solver_name: str
    case_key: str
    solver_key: str
    solver_options: Mapping[str, Any]
    cost_source: str
    seed: int
    max_iter: int
    tol: float
    lanes: int | None
    threads: int
    blocks: tuple[Block, ...]
    stored: tuple[Mapping[str, Any], ...]
    batch_prefix: str
    score_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    runs: int = 0
    #: names the cell for workers (they build its case and solver once)
    token: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Cells to execute, in order, and the time limit per block (seconds; None: none)."""

    cells: tuple[CellPlan, ...]
    time_limit: float | None = DEFAULT_TIME_LIMIT
    workers: int = 1


def _describe(backend: Any, solver_ref: tuple, given: Mapping[str, Any]) -> dict[str, Any]:
    """Name, complete options, refill support, cost source of the solver: from the registry for
    built-ins (trusted), else from a worker."""
    from harness.run.pool import is_builtin_solver
    from harness.run.worker import describe_solver
    from harness.solvers import SolverError

    if is_builtin_solver(solver_ref):
        info = describe_solver(solver_ref, given)
    else:  # a plug-in's own answer: its costs are whatever it reports, counted in its own process
        info = dict(backend.describe(solver_ref, dict(given)))
        info["cost_source"] = "reported"
    if "error" in info:
        raise SolverError(str(info["error"]))
    return info


def plan_cell(spec: Any, store: Any, backend: Any, *, scoring_case: Any = None) -> CellPlan:
    """Plan ``spec`` (a :class:`~harness.run.spec.RunSpec`) against ``store`` (None: nothing stored).

    Raises:
        CaseError, SolverError: unknown names, bad parameters/options, a plug-in that cannot be loaded.
    """
    from harness.run.initial_points import initial_points
    from harness.run.shard import pad_rows

    case = get_case(spec.case, **spec.case_params)
    scoring = scoring_case if scoring_case is not None else get_case(spec.case, **spec.case_params)
    sref: tuple = ("name", spec.solver, copy.deepcopy(dict(spec.solver_options)))
    from harness.solvers.registry import SOLVERS

    if SOLVERS.is_registered_here(spec.solver):  # registered by this process's caller: its own object
        import cloudpickle

        from harness.solvers import get_solver

        sref = ("pickle", cloudpickle.dumps(get_solver(spec.solver, **copy.deepcopy(dict(spec.solver_options)))))
    info = _describe(backend, sref, spec.solver_options)
    if sref[0] == "name" and isinstance(info.get("typed"), dict):
        sref = ("name", spec.solver, copy.deepcopy(info["typed"]))  # as the worker typed them
    opts = copy.deepcopy(dict(info["options"]))
    B = default_batch_size(spec, case)
    refill = use_refill(spec, case, refillable=bool(info["refill"]))
    Q = block_size(spec, B, refill)
    lanes = min(B, Q) if refill else B  # = solve_lanes(spec, case): part of the key
    ckey, skey = case_key(case), solver_key(spec.solver, opts, spec.max_iter, spec.tol, lanes=lanes)
    ids = [run_id(ckey, skey, spec.seed, i) for i in range(spec.runs)]
    stored = {r["run_id"]: r for r in store.records_for(set(ids))} if store is not None else {}
    todo = [i for i in range(spec.runs) if ids[i] not in stored]
    groups = _blocks(todo, Q)
    # one draw for the whole cell: each call draws whole pools of POOL starts (a trajectory per pool for the
    # DLAE), so drawing per block repeated the same pools once per block
    start = dict(zip(todo, initial_points(case, spec.seed, todo))) if todo else {}
    blocks = tuple(Block(tuple(g), pad_rows(np.stack([start[i] for i in g]), Q)) for g in groups)
    threads = default_threads(spec, case, 0 if refill else B, max(len(blocks), 1))
    return CellPlan(
        label=f"{spec.case} × {spec.solver}", case_ref=("name", spec.case, dict(spec.case_params)), solver_ref=sref,
        scoring_case=scoring, case_label=spec.case, solver_label=spec.solver, solver_name=str(info["name"]),
        case_key=ckey, solver_key=skey, solver_options=opts, cost_source=str(info["cost_source"]),
        seed=spec.seed, max_iter=spec.max_iter, tol=spec.tol, lanes=B if refill else None, threads=threads,
        blocks=blocks, stored=tuple(sorted(stored.values(), key=lambda r: r["run_index"])),
        batch_prefix=f"{ckey}_{skey}_s{spec.seed}", runs=spec.runs)


def plan_points(
    case_ref: tuple, solver_ref: tuple, theta0: np.ndarray, seed: int, *, store: Any, backend: Any,
    max_iter: int, tol: float, batch: int, case: Any = None, scoring_case: Any = None,
    case_label: str | None = None, solver_label: str | None = None, given: Mapping[str, Any] | None = None,
    score_options: Mapping[str, Any] | None = None, batch_prefix: str | None = None, key_spec: Any = None,
) -> CellPlan:
    """Plan runs from the given rows of ``theta0`` (run ``i`` starts at row ``i``), in
    lockstep blocks of ``batch`` rows (padded), skipping stored runs.  ``key_spec``: a RunSpec
    whose :func:`solve_lanes` enter the solver key (None: no lanes in the key)."""
    from harness.run.shard import pad_rows

    if case is None:
        case = get_case(case_ref[1], **dict(case_ref[2]))
    scoring = scoring_case if scoring_case is not None else (
        get_case(case_ref[1], **dict(case_ref[2])) if case_ref[0] == "name" else copy.deepcopy(case))
    info = _describe(backend, solver_ref, dict(given or {}))
    opts = copy.deepcopy(dict(info["options"]))
    label = solver_label or (solver_ref[1] if solver_ref[0] == "name" else str(info["name"]))
    key_lanes = None if key_spec is None else solve_lanes(key_spec, case, refillable=bool(info["refill"]))
    ckey, skey = case_key(case), solver_key(label, opts, max_iter, tol, lanes=key_lanes)
    n = len(theta0)
    ids = [run_id(ckey, skey, seed, i) for i in range(n)]
    stored = {r["run_id"]: r for r in store.records_for(set(ids))} if store is not None else {}
    todo = [i for i in range(n) if ids[i] not in stored]
    b = max(1, min(int(batch), n))
    blocks = tuple(Block(tuple(todo[k:k + b]), pad_rows(theta0[todo[k:k + b]], b)) for k in range(0, len(todo), b))
    return CellPlan(
        label=f"{case_label or case.name} × {label}", case_ref=case_ref, solver_ref=solver_ref, scoring_case=scoring,
        case_label=case_label or case.name, solver_label=label, solver_name=str(info["name"]), case_key=ckey,
        solver_key=skey, solver_options=opts, cost_source=str(info["cost_source"]), seed=seed, max_iter=max_iter,
        tol=tol, lanes=None, threads=1, blocks=blocks,
        stored=tuple(sorted(stored.values(), key=lambda r: r["run_index"])),
        batch_prefix=batch_prefix or f"{ckey}_{skey}_p{seed}", score_options=dict(score_options or {}), runs=n)


#: Data elements above which a case counts as large (e.g. the thesis DLAE).
LARGE_CASE_ELEMENTS = 50_000
#: ... or data elements x parameters above which it does: a lane's inner MINRES-QLP runs up to
#: ``dim`` HVPs, each touching all the data, and a vmapped step runs every lane until the slowest
#: lane's solve stops (the Sec. 3.5 field cases: swish-autoencoder n=1000 is 32,000 x 552 = 1.8e7;
#: ``docs/measurements.md``).
LARGE_CASE_WORK = 1_000_000
#: Runs queued per refilling block (a block is solved, scored and stored atomically).
REFILL_QUEUE = 100


def _large_on_cpu(case: Any) -> bool:
    import jax

    elements = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(case.data))
    large = elements > LARGE_CASE_ELEMENTS or elements * case.dim > LARGE_CASE_WORK
    return jax.default_backend() == "cpu" and large


def use_refill(spec: Any, case: Any, solver: Any = None, *, refillable: bool | None = None) -> bool:
    """Whether the runner solves ``spec`` in refilling batches (:func:`harness.solvers.iterate_refill`).

    Yes for solvers that :func:`~harness.solvers.supports_refill` (all built-ins), except large
    cases (data with more than :data:`LARGE_CASE_ELEMENTS` elements, or more than
    :data:`LARGE_CASE_WORK` data elements x parameters) on a CPU without an explicit
    ``batch_size``: there one-run lockstep blocks on one thread per core are faster (a vmapped
    Newton-MR step also runs every lane's inner MINRES-QLP until the slowest lane's stops, and the
    skinny matmuls gain little from batching on a CPU; ``docs/measurements.md``).
    ``refillable`` (what a worker reported for a plug-in) replaces looking at ``solver``.
    """
    from harness.solvers import supports_refill  # noqa: I001

    if refillable is None:
        if solver is None:
            from harness.solvers import get_solver

            solver = get_solver(spec.solver, **spec.solver_options)
        refillable = supports_refill(solver)
    if not refillable:
        return False
    return bool(spec.batch_size) or not _large_on_cpu(case)


def default_batch_size(spec: Any, case: Any) -> int:
    """Runs per vmapped solve (lanes, for refilling batches) when ``spec.batch_size`` is not given.

    Large cases on a CPU (data with more than :data:`LARGE_CASE_ELEMENTS` elements, e.g. the thesis
    DLAE) run one at a time (see :func:`use_refill`); others batch up to :data:`DEFAULT_BATCH`.
    """
    if spec.batch_size:
        return int(spec.batch_size)
    return 1 if _large_on_cpu(case) else spec.effective_batch


def block_size(spec: Any, lanes: int, refill: bool) -> int:
    """Runs per stored block: the lanes for lockstep solves; for refilling solves
    ``min(runs, max(lanes, REFILL_QUEUE))`` (the queue a batch's lanes drain)."""
    return min(spec.runs, max(lanes, REFILL_QUEUE)) if refill else lanes


def _blocks(todo: Sequence[int], batch: int) -> list[list[int]]:
    blocks: dict[int, list[int]] = {}
    for i in todo:
        blocks.setdefault(i // batch, []).append(i)
    return [blocks[b] for b in sorted(blocks)]


def default_threads(spec: Any, case: Any, batch: int, n_blocks: int) -> int:
    """Runs solved concurrently (threads) when ``spec.threads`` is not given.

    Refilling batches (``batch`` passed as 0) run in the calling thread.  On a
    CPU, the one-run-at-a-time lockstep blocks of large cases (see
    :func:`default_batch_size`) use one thread per core: each solve is one XLA
    call that releases the GIL, and the skinny matrix products of such cases
    barely speed up with XLA's own intra-op threads, so runs in parallel give
    up to ``cores x`` the throughput (``docs/measurements.md``).  Everything else
    runs in the calling thread.
    """
    if spec.threads:
        return max(1, min(int(spec.threads), n_blocks))
    import jax

    if batch == 1 and jax.default_backend() == "cpu":
        return max(1, min(os.cpu_count() or 1, n_blocks))
    return 1


def solve_lanes(spec: Any, case: Any, solver: Any = None, *, refillable: bool | None = None) -> int:
    """The vmapped lanes every run of ``spec`` is solved in (part of its key, docs/design.md,
    "One run id, one result"): ``min(B, runs)`` for refilling solves (:func:`harness.solvers.iterate_refill`
    caps the lanes by the block's rows), ``B`` for lockstep solves (every block padded to ``B`` rows),
    ``B = default_batch_size(spec, case)``.  ``refillable``: what a worker reported for a plug-in."""
    B = default_batch_size(spec, case)
    if use_refill(spec, case, solver, refillable=refillable):
        return min(B, block_size(spec, B, True))
    return B


def check_time_limit(value: Any) -> float | None:
    """A time limit in seconds (> 0, finite) or None; ``ValueError`` naming it otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"time_limit must be a number of seconds > 0, got {value!r}")
    return float(value)


def cells_runs(cells: Sequence[CellPlan]) -> int:
    return sum(c.runs for c in cells)
