"""One cell, resolved once: :func:`resolve` turns a :class:`~harness.run.spec.RunSpec` (runs drawn
from a seed) or :class:`Points` (runs from given initial points) into a frozen :class:`Cell`.

Everything about a cell that the pipeline needs is worked out here, once, in the parent:

* the solver's complete options, its name, whether it can refill and who counts its costs
  -- from the registry for a built-in, from one worker's answer for a plug-in
  (``backend.describe``: the plug-in's options are typed there, against its own defaults, and
  the typed values are what its workers get);
* the scoring case, built once from its reference (never an object the solver holds) and used
  for the keys, the initial points, the block-size heuristics and the judge's oracles;
* the resume keys (:mod:`harness.run.keys`), the runs already stored (read once, before any
  solver runs) and the blocks still to solve, padded to the cell's shape.

Trust.  The parent builds cases (trusted code) and may build built-in solvers; a plug-in
(``module:attr``, entry point) is never imported or called here.
"""

from __future__ import annotations

import copy
import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.run.keys import case_key, run_id, solver_key
from harness.run.plan import Block, Shape, _blocks, default_threads, layout, pad_rows
from harness.run.refs import CaseRef, SolverRef
from harness.run.spec import RunSpec

__all__ = ["Cell", "Points", "check_plugins", "resolve"]


@dataclasses.dataclass(frozen=True)
class Points:
    """Runs from given initial points: run ``i`` of ``seed`` starts at row ``i`` of ``theta0``.

    Attributes:
        case, solver: the references (the solver's ``options`` are the options given).
        theta0: ``(runs, dim)`` initial points.
        seed: the run ids' seed.
        max_iter, tol: the budget.
        batch: rows per lockstep block (padded); None: all rows in one block.
        lanes_in_key: the solver key holds the lanes that a :class:`RunSpec` of these runs would
            use (as ``critbench run`` would key them); else no lanes.
        score_options: passed to :func:`harness.scoring.judge.score_run` (``critical_tol``).
        record_theta0: each record carries its initial point (``theta0``, a list).
    """

    case: CaseRef
    solver: SolverRef
    theta0: np.ndarray
    seed: int
    max_iter: int = 500
    tol: float = 1e-10
    batch: int | None = None
    lanes_in_key: bool = False
    score_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    record_theta0: bool = False


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell, resolved: what every block of it is solved with and judged against.

    Attributes:
        case, solver: how a worker builds the case and the solver (the solver's options as typed).
        scoring_case: the case the judge scores against, built once here from ``case``.
        solver_name: the solver's ``name`` (as built).
        options: the solver's complete options (recorded).
        refill: whether the solver can solve in refilling batches.
        cost_source: ``harness`` when harness code counted HVPs/gradients, ``reported`` for a plug-in.
        case_key, solver_key: resume keys.
        seed, max_iter, tol: the runs' seed and budget.
        lanes: refilling lanes, or None (lockstep ``solve``).
        threads: blocks of this cell in flight at once.
        blocks: what remains to solve; stored: records already stored.
        batch_prefix: batch ids are ``<prefix>_r<first>-<last>``.
        score_options: passed to ``score_run``.
        record_theta0: records carry their initial point (``theta0``, a list).
        token: names the cell for workers (they build its case and solver once).
    """

    case: CaseRef
    solver: SolverRef
    scoring_case: Any
    solver_name: str
    options: Mapping[str, Any]
    refill: bool
    cost_source: str
    case_key: str
    solver_key: str
    seed: int
    max_iter: int
    tol: float
    lanes: int | None
    threads: int
    blocks: tuple[Block, ...]
    stored: tuple[Mapping[str, Any], ...]
    batch_prefix: str
    score_options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    record_theta0: bool = False
    token: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def case_label(self) -> str:
        return self.case.name

    @property
    def solver_label(self) -> str:
        return self.solver.name

    @property
    def label(self) -> str:
        return f"{self.case.name} × {self.solver.name}"

    @property
    def runs(self) -> int:
        return len(self.stored) + sum(len(b.indices) for b in self.blocks)

    @property
    def ground_truth(self) -> Any:
        """The certified ground truth the runs are judged against (None: none)."""
        return self.scoring_case.ground_truth


def _describe(backend: Any, ref: SolverRef, given: Mapping[str, Any]) -> dict[str, Any]:
    """Name, complete options, refill support, cost source (and the typed given options) of the
    solver: from the registry for built-ins (trusted), else from a worker."""
    from harness.run.worker import describe_solver
    from harness.solvers import SolverError

    if ref.builtin:
        info = describe_solver(ref, given)
    else:  # a plug-in's own answer: its costs are whatever it reports, counted in its own process
        info = dict(backend.describe(ref, dict(given)))
        info["cost_source"] = "reported"
    if "error" in info:
        raise SolverError(str(info["error"]))
    return info


def _solver_ref(spec: RunSpec) -> SolverRef:
    """The solver of ``spec`` by name, or pickled when it was registered in this process by its caller."""
    from harness.solvers.registry import SOLVERS

    ref = SolverRef(spec.solver, copy.deepcopy(dict(spec.solver_options)))
    if SOLVERS.is_registered_here(spec.solver):  # registered by this process's caller: its own object
        import cloudpickle

        return SolverRef(spec.solver, blob=cloudpickle.dumps(ref.build()))
    return ref


def check_plugins(specs: Sequence[RunSpec], backend: Any) -> None:
    """Describe every plug-in solver of ``specs`` in a worker now (the back end keeps the answer, so
    :func:`resolve` starts no second worker for it), so that one that cannot be loaded fails before
    anything else is made, e.g. a result directory.

    Raises:
        SolverError: a plug-in that cannot be loaded, or options it rejects.
    """
    from harness.solvers.registry import SOLVERS

    for spec in specs:
        if SOLVERS.is_registered_here(spec.solver):  # the caller's own object: not a plug-in (and not built here)
            continue
        ref = _solver_ref(spec)  # by name
        if not ref.builtin:
            _describe(backend, ref, spec.solver_options)


def _stored(store: Any, ids: list[str]) -> dict[str, Mapping[str, Any]]:
    return {r["run_id"]: r for r in store.records_for(set(ids))} if store is not None else {}


def resolve(what: RunSpec | Points, *, backend: Any, store: Any = None) -> Cell:
    """The :class:`Cell` of ``what`` against ``store`` (None: nothing stored).

    Raises:
        CaseError, SolverError: unknown names, bad parameters/options, a plug-in that cannot be loaded.
    """
    if isinstance(what, Points):
        case_ref, sref, given = what.case, what.solver, what.solver.options
    else:
        case_ref, sref, given = CaseRef(what.case, dict(what.case_params)), _solver_ref(what), what.solver_options
    case = case_ref.build()  # the one case of the parent: keys, initial points, the judge's oracles
    info = _describe(backend, sref, given)
    if isinstance(info.get("typed"), dict):
        sref = sref.with_options(info["typed"])  # as the worker typed them
    opts = copy.deepcopy(dict(info["options"]))
    refillable = bool(info["refill"])
    facts = dict(case=case_ref, solver=sref, scoring_case=case, solver_name=str(info["name"]), options=opts,
                 refill=refillable, cost_source=str(info["cost_source"]))
    if isinstance(what, Points):
        return _points_cell(what, store, case, facts)
    spec = what
    lay = layout(spec, case, refillable=refillable)
    ckey, skey = case_key(case), solver_key(spec.solver, opts, spec.max_iter, spec.tol, lanes=lay.lanes)
    ids = [run_id(ckey, skey, spec.seed, i) for i in range(spec.runs)]
    stored = _stored(store, ids)
    todo = [i for i in range(spec.runs) if ids[i] not in stored]
    groups = _blocks(todo, lay.block)
    # one draw for the whole cell: each call draws whole pools of POOL starts (a trajectory per pool for the
    # DLAE), so drawing per block repeated the same pools once per block
    from harness.run.initial_points import initial_points

    start = dict(zip(todo, initial_points(case, spec.seed, todo))) if todo else {}
    blocks = tuple(Block(tuple(g), pad_rows(np.stack([start[i] for i in g]), lay.block)) for g in groups)
    threads = default_threads(spec, case, 0 if lay.refill else lay.batch, max(len(blocks), 1))
    return Cell(**facts, case_key=ckey, solver_key=skey, seed=spec.seed, max_iter=spec.max_iter, tol=spec.tol,
                lanes=lay.batch if lay.refill else None, threads=threads, blocks=blocks,
                stored=tuple(sorted(stored.values(), key=lambda r: r["run_index"])),
                batch_prefix=f"{ckey}_{skey}_s{spec.seed}")


def _points_cell(p: Points, store: Any, case: Any, facts: dict[str, Any]) -> Cell:
    """Lockstep blocks of ``p.batch`` given rows (padded), skipping stored runs."""
    theta0 = np.asarray(p.theta0, dtype=np.float64)
    n = len(theta0)
    # the lanes of a RunSpec of these n runs with the default batch
    key_lanes = layout(Shape(n), case, refillable=facts["refill"]).lanes if p.lanes_in_key else None
    ckey = case_key(case)
    skey = solver_key(p.solver.name, facts["options"], p.max_iter, p.tol, lanes=key_lanes)
    ids = [run_id(ckey, skey, p.seed, i) for i in range(n)]
    stored = _stored(store, ids)
    todo = [i for i in range(n) if ids[i] not in stored]
    b = max(1, min(int(p.batch or n), n))
    blocks = tuple(Block(tuple(todo[k:k + b]), pad_rows(theta0[todo[k:k + b]], b)) for k in range(0, len(todo), b))
    return Cell(**facts, case_key=ckey, solver_key=skey, seed=int(p.seed), max_iter=p.max_iter, tol=p.tol,
                lanes=None, threads=1, blocks=blocks, stored=tuple(sorted(stored.values(), key=lambda r: r["run_index"])),
                batch_prefix=f"{ckey}_{skey}_p{p.seed}", score_options=dict(p.score_options),
                record_theta0=p.record_theta0)
