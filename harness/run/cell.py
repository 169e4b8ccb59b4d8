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

References.  A worker rebuilds a cell's case and solver from a :class:`CaseRef` and a
:class:`SolverRef`: plain, frozen, picklable values that travel in every
:class:`~harness.run.worker.SolveTask` (the parent's own, trusted requests are pickled
frames; replies never are, :mod:`harness.run.wire`).  A reference is one of two kinds:

* by name (``blob is None``): a registered case with its complete parameters, a
  registered solver (built-in, ``module:attr`` or entry point) with its options; the
  worker builds it through the registry.  Built-in and plug-in solvers always travel
  this way: a plug-in is never imported, built or pickled by the judge's process.
* pickled (``blob``): an object a Python caller made in its own process -- a
  :class:`cases.Case` or solver given to :mod:`harness.testing`, or a solver
  registered in the caller's process (``register_solver``); ``name`` is then its
  label (recorded as ``case``/``solver``) and a solver's ``options`` are those it was
  built with (recorded, never used to rebuild it).

A solver reference also describes its solver (:meth:`SolverRef.describe`): the judge's process
asks a built-in directly, a plug-in's own worker asks it for the judge (``Backend.describe``).
The module imports no JAX and no registry until called, so a worker unpickles a task cheaply.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness._format import exception_line
from harness.run.keys import case_key, run_id, solver_key
from harness.run.plan import Block, Shape, _blocks, default_threads, layout, pad_rows
from harness.run.spec import RunSpec

__all__ = ["CaseRef", "Cell", "Points", "SolverFacts", "SolverRef", "check_plugins", "cost_source_of", "resolve"]


def _loads(blob: bytes) -> Any:
    import cloudpickle

    return cloudpickle.loads(blob)


@dataclasses.dataclass(frozen=True)
class CaseRef:
    """A case by registered ``name`` with its complete ``params``, or a pickled ``blob``
    (then ``name`` is the case's label)."""

    name: str
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blob: bytes | None = None

    def build(self) -> Any:
        """A fresh :class:`cases.Case` (rebuilt from name and parameters, or unpickled)."""
        if self.blob is not None:
            return _loads(self.blob)
        from cases import get_case

        return get_case(self.name, **dict(self.params))


@dataclasses.dataclass(frozen=True)
class SolverRef:
    """A solver by registered ``name`` with its ``options``, or a pickled ``blob``
    (then ``name`` is the solver's label and ``options`` those it was built with)."""

    name: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    blob: bytes | None = None

    @property
    def builtin(self) -> bool:
        """Whether this names a built-in solver (trusted code the judge's process may import)."""
        from harness.solvers.registry import SOLVERS

        return self.blob is None and SOLVERS.is_builtin(self.name)

    @property
    def what(self) -> str:
        """How errors name it."""
        return self.name if self.blob is None else "the given solver"

    def with_options(self, options: Mapping[str, Any]) -> SolverRef:
        """The same solver by name with ``options`` (a pickled solver is kept as it is)."""
        if self.blob is not None:
            return self
        return dataclasses.replace(self, options=copy.deepcopy(dict(options)))

    def build(self) -> Any:
        """The solver (built by the registry from name and a copy of the options, or unpickled)."""
        if self.blob is not None:
            return _loads(self.blob)
        from harness.solvers import get_solver

        return get_solver(self.name, **copy.deepcopy(dict(self.options)))

    def describe(self) -> dict[str, Any]:
        """What the pipeline needs of the solver, as plain JSON values (the solver is built and dropped):

        * ``typed``: the options typed against the solver's ``defaults`` (:func:`harness.run.spec.type_values`,
          idempotent; for a plug-in the one typing of its options, done in its worker: the judge never
          imports a plug-in), and ``defaults`` (None for a pickled solver);
        * ``name`` (as built), ``options`` (complete: the solver's ``options()`` if it has one, else
          ``typed``), ``refill`` (:func:`harness.solvers.supports_refill`) and ``cost_source``
          (:func:`cost_source_of`).

        ``{"error": one line, "defaults": ...}`` when it cannot be built or its options are bad.
        """
        from harness.run.wire import _jsonable
        from harness.solvers import SolverError, supports_refill

        defaults: dict[str, Any] | None = None
        ref, typed = self, dict(self.options)
        try:
            if self.blob is None:
                from harness.solvers import option_defaults

                declared = option_defaults(self.name)
                defaults = json.loads(json.dumps(declared, default=_jsonable))
                if declared:
                    from harness.run.spec import type_values

                    typed = type_values(typed, declared, owner=f"solver {self.name!r}", what="option")
                ref = self.with_options(typed)
            solver = ref.build()
            out = {"name": str(getattr(solver, "name", self.name if self.blob is None else "?")),
                   "options": _options_of(solver, typed), "refill": bool(supports_refill(solver)),
                   "cost_source": cost_source_of(solver), "defaults": defaults, "typed": typed}
            return json.loads(json.dumps(out, default=_jsonable))  # plain values only
        except (SolverError, ValueError) as exc:  # ParamError is a ValueError
            return {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__, "defaults": defaults}
        except BaseException as exc:  # noqa: BLE001 - a plug-in's import may raise anything (SyntaxError, SystemExit)
            return {"error": f"cannot load solver {self.what!r}: {exception_line(exc)}", "defaults": defaults}


def _options_of(solver: Any, given: Mapping[str, Any]) -> dict[str, Any]:
    """The solver's complete options (``solver.options()`` if it has one) else ``given``."""
    opts = getattr(solver, "options", None)
    if callable(opts):
        try:
            return dict(opts())
        except Exception:  # noqa: BLE001 - a plugin's options() must not break a run
            pass
    return dict(given)


def cost_source_of(solver: Any) -> str:
    """``harness`` when the harness's own code counted HVPs/gradients (the shared
    loop of built-ins, the counting oracles of the NumPy adapter), else ``solver``."""
    from harness.solvers import IterativeSolver
    from harness.solvers.numpy_adapter import NumpySolver

    return "harness" if isinstance(solver, (IterativeSolver, NumpySolver)) else "solver"


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
class SolverFacts:
    """What describing a solver once tells the pipeline (:meth:`SolverRef.describe`; for a plug-in, its
    worker's answer).

    Attributes:
        name: the solver's ``name`` as built (recorded as ``solver_name``).
        options: its complete options (recorded; hashed in the solver key).
        refill: whether it can solve in refilling batches.
        cost_source: ``harness`` when harness code counted HVPs/gradients, ``solver`` when the solver
            did, ``reported`` for a plug-in (counted in its own process).
    """

    name: str
    options: Mapping[str, Any]
    refill: bool
    cost_source: str


@dataclasses.dataclass(frozen=True)
class Cell:
    """One cell, resolved: what every block of it is solved with and judged against.

    Attributes:
        case, solver: how a worker builds the case and the solver (the solver's options as typed).
        scoring_case: the case the judge scores against, built once here from ``case``.
        facts: what describing the solver told (name, complete options, refill, cost source).
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
    facts: SolverFacts
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


def _describe(backend: Any, ref: SolverRef) -> tuple[SolverRef, SolverFacts]:
    """The solver described once (:meth:`SolverRef.describe`: asked here for a built-in, which is
    trusted, else of a worker): ``ref`` with its options as typed there, and the :class:`SolverFacts`.

    Raises:
        SolverError: it cannot be built, or its options are bad (the describe answer's one line).
    """
    from harness.solvers import SolverError

    if ref.builtin:
        info = ref.describe()
    else:  # a plug-in's own answer: its costs are whatever it reports, counted in its own process
        info = dict(backend.describe(ref))
        info["cost_source"] = "reported"
    if "error" in info:
        raise SolverError(str(info["error"]))
    if isinstance(info.get("typed"), dict):
        ref = ref.with_options(info["typed"])  # as the worker typed them
    return ref, SolverFacts(str(info["name"]), copy.deepcopy(dict(info["options"])), bool(info["refill"]),
                            str(info["cost_source"]))


def _solver_ref(spec: RunSpec) -> SolverRef:
    """The solver of ``spec`` by name, or pickled when it was registered in this process by its caller."""
    from harness.solvers.registry import SOLVERS

    ref = SolverRef(spec.solver, copy.deepcopy(dict(spec.solver_options)))
    if SOLVERS.is_registered_here(spec.solver):  # registered by this process's caller: its own object
        import cloudpickle

        return SolverRef(spec.solver, ref.options, blob=cloudpickle.dumps(ref.build()))
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
            _describe(backend, ref)


def _stored_and_todo(store: Any, ckey: str, skey: str, seed: int,
                     n: int) -> tuple[tuple[Mapping[str, Any], ...], list[int]]:
    """Runs ``0 .. n-1`` of ``seed``: the records ``store`` (None: nothing stored) already holds, by
    ``run_index``, and the indices still to solve."""
    ids = [run_id(ckey, skey, seed, i) for i in range(n)]
    stored = {r["run_id"]: r for r in store.records_for(set(ids))} if store is not None else {}
    return (tuple(sorted(stored.values(), key=lambda r: r["run_index"])),
            [i for i in range(n) if ids[i] not in stored])


def resolve(what: RunSpec | Points, *, backend: Any, store: Any = None) -> Cell:
    """The :class:`Cell` of ``what`` against ``store`` (None: nothing stored).

    Raises:
        CaseError, SolverError: unknown names, bad parameters/options, a plug-in that cannot be loaded.
    """
    if isinstance(what, Points):
        case_ref, sref = what.case, what.solver
    else:
        case_ref, sref = CaseRef(what.case, dict(what.case_params)), _solver_ref(what)
    case = case_ref.build()  # the one case of the parent: keys, initial points, the judge's oracles
    sref, facts = _describe(backend, sref)
    common = dict(case=case_ref, solver=sref, scoring_case=case, facts=facts)
    if isinstance(what, Points):
        return _points_cell(what, store, case, common)
    spec = what
    lay = layout(spec, case, refillable=facts.refill)
    ckey, skey = case_key(case), solver_key(spec.solver, facts.options, spec.max_iter, spec.tol, lanes=lay.lanes)
    stored, todo = _stored_and_todo(store, ckey, skey, spec.seed, spec.runs)
    groups = _blocks(todo, lay.block)
    # one draw for the whole cell: each call draws whole pools of POOL starts (a trajectory per pool for the
    # DLAE), so drawing per block repeated the same pools once per block
    from harness.run.initial_points import initial_points

    start = dict(zip(todo, initial_points(case, spec.seed, todo))) if todo else {}
    blocks = tuple(Block(tuple(g), pad_rows(np.stack([start[i] for i in g]), lay.block)) for g in groups)
    threads = default_threads(spec, case, 0 if lay.refill else lay.batch, max(len(blocks), 1))
    return Cell(**common, case_key=ckey, solver_key=skey, seed=spec.seed, max_iter=spec.max_iter, tol=spec.tol,
                lanes=lay.batch if lay.refill else None, threads=threads, blocks=blocks, stored=stored,
                batch_prefix=f"{ckey}_{skey}_s{spec.seed}")


def _points_cell(p: Points, store: Any, case: Any, common: dict[str, Any]) -> Cell:
    """Lockstep blocks of ``p.batch`` given rows (padded), skipping stored runs."""
    theta0 = np.asarray(p.theta0, dtype=np.float64)
    n = len(theta0)
    # the lanes of a RunSpec of these n runs with the default batch
    facts = common["facts"]
    key_lanes = layout(Shape(n), case, refillable=facts.refill).lanes if p.lanes_in_key else None
    ckey = case_key(case)
    skey = solver_key(p.solver.name, facts.options, p.max_iter, p.tol, lanes=key_lanes)
    stored, todo = _stored_and_todo(store, ckey, skey, p.seed, n)
    b = max(1, min(int(p.batch or n), n))
    blocks = tuple(Block(tuple(todo[k:k + b]), pad_rows(theta0[todo[k:k + b]], b)) for k in range(0, len(todo), b))
    return Cell(**common, case_key=ckey, solver_key=skey, seed=int(p.seed), max_iter=p.max_iter, tol=p.tol,
                lanes=None, threads=1, blocks=blocks, stored=stored,
                batch_prefix=f"{ckey}_{skey}_p{p.seed}", score_options=dict(p.score_options),
                record_theta0=p.record_theta0)
