"""How a cell's runs are cut into blocks: the plain values :func:`harness.run.execute.execute` runs
(:class:`Block`, :class:`Plan`) and the CPU heuristics that decide refill, lanes, block size and a
cell's concurrency (``use_refill``, ``default_batch_size``, ``block_size``, ``default_threads``),
combined once by :func:`layout` into a cell's :class:`Layout` (whose ``lanes`` are part of its
key).  :func:`harness.run.cell.resolve` applies them to each cell.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.run.limits import DEFAULT_TIME_LIMIT

if TYPE_CHECKING:
    from harness.run.cell import Cell

__all__ = ["LARGE_CASE_ELEMENTS", "LARGE_CASE_WORK", "REFILL_QUEUE", "Block", "Layout", "Plan", "Shape",
           "block_size", "default_batch_size", "default_threads", "layout", "pad_rows", "solve_lanes", "use_refill"]

#: Default batch size (runs per vmapped solve) when a cell asks for none: ``min(runs, DEFAULT_BATCH)``.
DEFAULT_BATCH = 32


@dataclasses.dataclass(frozen=True)
class Block:
    """Runs ``indices`` (global) solved together from ``theta0`` (``(rows, dim)``; rows beyond
    ``len(indices)`` pad the block to the cell's shape)."""

    indices: tuple[int, ...]
    theta0: np.ndarray


@dataclasses.dataclass(frozen=True)
class Shape:
    """What :func:`layout` reads of a cell that is not a :class:`~harness.run.spec.RunSpec` (runs from
    given points): its ``runs`` and the ``batch_size`` asked for (None: default)."""

    runs: int
    batch_size: int | None = None


@dataclasses.dataclass(frozen=True)
class Layout:
    """How a cell's runs are solved (:func:`layout`).

    Attributes:
        batch: ``B``, the vmapped lanes of a refilling solve or the rows of a lockstep block.
        refill: whether the cell is solved in refilling batches (:func:`use_refill`).
        block: ``Q``, runs per stored block (:func:`block_size`).
    """

    batch: int
    refill: bool
    block: int

    @property
    def lanes(self) -> int:
        """The vmapped lanes every run is solved in, part of its key (docs/design.md, "One run id, one
        result"): ``min(B, Q)`` for refilling solves (:func:`harness.solvers.iterate_refill` caps the
        lanes by the block's rows), ``B`` for lockstep solves (every block padded to ``B`` rows)."""
        return min(self.batch, self.block) if self.refill else self.batch


@dataclasses.dataclass(frozen=True)
class Plan:
    """Cells to execute, in order, and the time limit per block (seconds; None: none)."""

    cells: tuple[Cell, ...]
    time_limit: float | None = DEFAULT_TIME_LIMIT
    workers: int = 1


def pad_rows(theta0: np.ndarray, batch: int) -> np.ndarray:
    """Pad a short block to ``batch`` rows (repeating its last row): one compilation."""
    n = len(theta0)
    return np.concatenate([theta0, np.repeat(theta0[-1:], batch - n, axis=0)]) if n < batch else theta0


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
    return 1 if _large_on_cpu(case) else min(int(spec.runs), DEFAULT_BATCH)


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


def layout(spec: Any, case: Any, solver: Any = None, *, refillable: bool | None = None) -> Layout:
    """The :class:`Layout` of ``spec`` (a :class:`~harness.run.spec.RunSpec` or a :class:`Shape`) on
    ``case``: ``B = default_batch_size``, :func:`use_refill` (whether the solver can refill:
    ``refillable``, else asked of ``solver`` or of the spec's solver) and ``Q = block_size``."""
    B = default_batch_size(spec, case)
    refill = use_refill(spec, case, solver, refillable=refillable)
    return Layout(B, refill, block_size(spec, B, refill))


def solve_lanes(spec: Any, case: Any, solver: Any = None, *, refillable: bool | None = None) -> int:
    """:attr:`Layout.lanes` of ``spec`` on ``case`` (:func:`layout`)."""
    return layout(spec, case, solver, refillable=refillable).lanes


def check_time_limit(value: Any) -> float | None:
    """A time limit in seconds (> 0, finite) or None; ``ValueError`` naming it otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"time_limit must be a number of seconds > 0, got {value!r}")
    return float(value)

