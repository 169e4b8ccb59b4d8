"""Suites, one kind in one registry: a :class:`Suite` is a named, frozen list of cells, looked up
by name (:func:`get_suite`) by everything that runs a fixed set of cells.

* ``scorecard``: the default critbench scorecard (``critbench`` with no command): every registered
  ground-truth case at its ``small_params`` x every built-in solver, ``RUNS`` runs of ``MAX_ITER``
  iterations (``CASE_BUDGET`` for heavy cases).  Built when looked up (:func:`scorecard`), since the
  registered cases decide its cells.  Solvers that declare ``dense`` (:func:`harness.solvers.is_dense`:
  they form dense Hessians) run only on cases with ``dim <= DENSE_SOLVER_MAX_DIM``.
* ``standard-v1``, ``standard-v2``: the leaderboard's versioned suites (:mod:`harness.leaderboard.suite`):
  cells without a solver, run for every reference solver and for each new method.
* ``ci-gate``: the CI regression gate's quick suite (``ci/gate.py``): each cell names its solver.

A cell names its solver (scorecard, CI gate) or leaves it to the caller (leaderboard suites); a suite's
fingerprint (:func:`suite_hash`) covers its name and cells.  Plug-in suites register under the
``critbench.suites`` entry-point group (a ``Suite``, or a function returning one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from cases import case_names, case_spec, get_case
from cases._registry import Registry, RegistryError
from harness.run.keys import stable_hash
from harness.run.spec import RunSpec
from harness.solvers import solver_specs

__all__ = ["CI_GATE", "DEFAULT_SUITE", "SCORECARD_CASES_AFTER_V1", "STANDARD_V1", "STANDARD_V2", "SUITES", "Suite",
           "SuiteCell", "SuiteError", "default_specs", "get_suite", "scorecard", "suite_hash", "suite_names"]


class SuiteError(RegistryError):
    """Unknown suite, a cell without a solver, or result sets of different suites (one-line message)."""


@dataclasses.dataclass(frozen=True)
class SuiteCell:
    """One cell: ``runs`` runs on ``case`` with ``case_params`` (complete), from ``seed``; ``solver`` when the
    cell names its own (else the caller's)."""

    case: str
    case_params: Mapping[str, Any]
    runs: int
    max_iter: int
    seed: int = 0
    tol: float = 1e-10
    solver: str | None = None

    def spec(self, solver: str | None = None, options: Mapping[str, Any] | None = None) -> RunSpec:
        """The :class:`RunSpec` running ``solver`` (default: the cell's own) with ``options`` on this cell.

        Raises:
            SuiteError: neither the cell nor the caller names a solver.
        """
        name = solver if solver is not None else self.solver
        if name is None:
            raise SuiteError(f"cell {self.case!r} names no solver: give one")
        return RunSpec(self.case, dict(self.case_params), name, dict(options or {}), self.runs, self.seed,
                       max_iter=self.max_iter, tol=self.tol)

    def to_json(self) -> dict[str, Any]:
        out = {"case": self.case, "case_params": dict(self.case_params), "runs": self.runs,
               "max_iter": self.max_iter, "seed": self.seed, "tol": self.tol}
        return out if self.solver is None else {**out, "solver": self.solver}


@dataclasses.dataclass(frozen=True)
class Suite:
    """A named, versioned suite: its cells, the reference solvers (leaderboard suites) and the largest case
    a dense-Hessian solver (one that declares ``dense``, :func:`harness.solvers.is_dense`) is run on."""

    name: str
    description: str
    cells: tuple[SuiteCell, ...]
    reference_solvers: tuple[str, ...] = ()
    dense_max_dim: int = 200

    @property
    def hash(self) -> str:
        return suite_hash(self)

    def specs(self, solver: str | None = None, options: Mapping[str, Any] | None = None) -> list[RunSpec]:
        """Every cell, each with its own solver or with ``solver`` (and ``options``): what ``critbench suite
        run`` runs for a new method, and the scorecard and CI gate run as declared."""
        return [c.spec(solver, options) for c in self.cells]

    def reference_specs(self) -> list[RunSpec]:
        """Every cell x every reference solver (dense solvers skipped above ``dense_max_dim``), case-major."""
        from harness.solvers import is_dense

        out = []
        for c in self.cells:
            dim = get_case(c.case, **dict(c.case_params)).dim
            for s in self.reference_solvers:
                if is_dense(s) and dim > self.dense_max_dim:
                    continue
                out.append(c.spec(s))
        return out

    def stamp(self) -> dict[str, Any]:
        """What a result set records in ``meta.json``: ``suite`` and ``suite_hash``."""
        return {"suite": self.name, "suite_hash": self.hash}


def suite_hash(suite: Suite) -> str:
    """First 10 hex digits of SHA-256 over the canonical JSON of the suite's cells (name included)."""
    return stable_hash({"name": suite.name, "cells": [c.to_json() for c in suite.cells]})


# --------------------------------------------------------------------------- the default scorecard

#: Runs per (case, solver) cell of the default scorecard.
RUNS = 20
#: Iteration budget per run of the default scorecard.
MAX_ITER = 200
#: Seed of the default scorecard's initial points.
SEED = 0
#: Per-case budgets overriding (RUNS, MAX_ITER): si-line's loss sums over 1681
#: grid points, so damped Newton alone took 200 s for 20 runs x 200 iterations.
#: Its cell starts near the certified lines (``init="near-lines"``, Stoican's
#: protocol): with Xavier initial points every built-in solver scored 0%, a cell
#: that could not move; near the lines ``pinv-newton`` is correct in 7 of 8 runs
#: within 23 iterations, and a solver that returns its initial point scores 0.
CASE_BUDGET = {"si-line": (8, 60)}
#: The largest case a dense-Hessian solver (one that declares ``dense``) is run on.
DENSE_SOLVER_MAX_DIM = 200


def scorecard(runs: int = RUNS, max_iter: int = MAX_ITER, seed: int = SEED) -> Suite:
    """The default scorecard as a suite: one cell per (ground-truth case, built-in solver), case-major, in
    name order."""
    solvers = solver_specs(builtin_only=True)  # a broken plug-in never stops the scorecard
    cells = []
    for name in case_names():
        cs = case_spec(name)
        if cs.ground_truth_kind == "none":
            continue
        params = dict(cs.small_params)
        dim = get_case(name, **params).dim
        for solver in solvers:
            if solver.dense and dim > DENSE_SOLVER_MAX_DIM:
                continue
            n, t = CASE_BUDGET.get(name, (runs, max_iter)) if (runs, max_iter) == (RUNS, MAX_ITER) else (runs, max_iter)
            cells.append(SuiteCell(name, params, n, t, seed, RunSpec.tol, solver=solver.name))
    return Suite("scorecard", "every ground-truth case at its small_params x every built-in solver", tuple(cells))


def default_specs(runs: int = RUNS, max_iter: int = MAX_ITER, seed: int = SEED) -> list[RunSpec]:
    """The scorecard's runs (:func:`scorecard`, looked up by name)."""
    return get_suite("scorecard", runs=runs, max_iter=max_iter, seed=seed).specs()


# --------------------------------------------------------------------------- the leaderboard's suites
_DLAE = {"k": 6, "p": 2, "n": 500, "exact": True}
_QFAM = {"a": (1.0, 2.0, 0.5), "b": (-6.0, -3.0, 1.0), "c": (1.0, 0.5, -1.0), "rotation_seed": 0}
_SI = {"width": 5, "mu": 0.3, "init": "near-lines"}

#: standard-v1: the default scorecard (harness.run.suite, at RUNS=20, MAX_ITER=200, SEED=0), frozen.
STANDARD_V1 = Suite(
    name="standard-v1",
    description="the default scorecard, frozen: 7 ground-truth cases at small_params, 20 runs x 200 iterations "
                "(si-line 8 x 60 near the lines), seed 0, tol 1e-10",
    cells=(
        SuiteCell("deep-linear", {}, 20, 200),
        SuiteCell("degenerate-mlp", {}, 20, 200),
        SuiteCell("dlae", _DLAE, 20, 200),
        SuiteCell("example-1.1", {}, 20, 200),
        SuiteCell("quartic", {}, 20, 200),
        SuiteCell("quartic-family", _QFAM, 20, 200),
        SuiteCell("si-line", _SI, 8, 60),
        SuiteCell("xor", {}, 20, 200),
    ),
    reference_solvers=("btls-gnm", "damped-newton", "exact-newton", "gnm", "newton-mr", "pinv-newton"),
    dense_max_dim=200,
)

#: Cases that joined the default scorecard after standard-v1 was frozen: in the scorecard, not in v1
#: (a suite is never edited in place; they belong to a later version).
SCORECARD_CASES_AFTER_V1: frozenset[str] = frozenset({"relu-teacher-student"})

#: standard-v2: standard-v1's cells plus the ReLU teacher-student case at k = 6 (issue 29): the default
#: scorecard as it is now, frozen.
STANDARD_V2 = Suite(
    name="standard-v2",
    description="standard-v1 plus relu-teacher-student (k = 6, interval-certified ground truth), 20 runs x 200 "
                "iterations, seed 0, tol 1e-10",
    cells=STANDARD_V1.cells + (SuiteCell("relu-teacher-student", {"k": 6}, 20, 200),),
    reference_solvers=STANDARD_V1.reference_solvers,
    dense_max_dim=STANDARD_V1.dense_max_dim,
)


# --------------------------------------------------------------------------- the CI gate's quick suite
_DLAE_SMALL = {"k": 4, "p": 2, "n": 50, "exact": True}
#: ci-gate: three solvers (Newton-MR, damped Newton, BTLS-GNM) on three certified cases (thesis Eq. 3.35
#: quartic, Example 1.1, a small exact DLAE) plus damped Newton on the deep linear net (over-damping, one
#: large gamma for every candidate, shows there as ~3.7x HVPs per success), 64 runs each from seed 0
#: (``docs/gate-power.md`` chose 64).
CI_GATE = Suite(
    name="ci-gate",
    description="the CI regression gate's quick suite: 10 (case, solver) cells, 64 runs each from seed 0",
    cells=tuple(SuiteCell(case, params, 64, max_iter, solver=solver) for case, params, solver, max_iter in (
        ("quartic", {}, "newton-mr", 200),
        ("quartic", {}, "damped-newton", 200),
        ("quartic", {}, "btls-gnm", 500),
        ("example-1.1", {}, "newton-mr", 200),
        ("example-1.1", {}, "damped-newton", 200),
        ("example-1.1", {}, "btls-gnm", 500),
        ("dlae", _DLAE_SMALL, "newton-mr", 200),
        ("dlae", _DLAE_SMALL, "damped-newton", 200),
        ("dlae", _DLAE_SMALL, "btls-gnm", 500),
        ("deep-linear", {}, "damped-newton", 200),
    )),
)


# --------------------------------------------------------------------------- the registry
def _check_suite(name: str, obj: Any) -> Any:
    if isinstance(obj, Suite) or callable(obj):
        return obj
    raise SuiteError(f"suite {name!r} is a {type(obj).__name__}, not a Suite (or a function returning one)")


#: Every suite, by name: built-ins here, plug-ins from the ``critbench.suites`` entry points.
SUITES = Registry("suite", "critbench.suites", {
    "scorecard": "harness.run.suite:scorecard",
    "standard-v1": "harness.run.suite:STANDARD_V1",
    "standard-v2": "harness.run.suite:STANDARD_V2",
    "ci-gate": "harness.run.suite:CI_GATE",
}, error=SuiteError, validate=_check_suite)
#: The suite the leaderboard uses when none is named.
DEFAULT_SUITE = "standard-v1"


def suite_names() -> list[str]:
    """Every suite's name, sorted (imports nothing)."""
    return SUITES.names()


def get_suite(name: str, **params: Any) -> Suite:
    """The suite called ``name``; ``params`` go to a suite built when looked up (``scorecard``).

    Raises:
        SuiteError: no such suite, or ``params`` for a suite declared as a value.
    """
    obj: Suite | Callable[..., Suite] = SUITES.get(name)
    if isinstance(obj, Suite):
        if params:
            raise SuiteError(f"suite {name!r} is fixed; it takes no parameters ({', '.join(sorted(params))})")
        return obj
    suite = obj(**params)
    if not isinstance(suite, Suite):
        raise SuiteError(f"suite {name!r}: its function returned a {type(suite).__name__}, not a Suite")
    return suite
