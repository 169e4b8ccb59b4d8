"""Versioned standard suites: the cells every method is ranked on.

A suite is a named, versioned, frozen list of cells (case with its complete
parameters, runs, iteration budget, tolerance, seed).  ``standard-v1`` equals
the default scorecard (:func:`harness.run.suite.default_specs`) as it was frozen, cell for cell (cases
added to the scorecard later, :data:`SCORECARD_CASES_AFTER_V1`, are not in it):
7 ground-truth cases at their ``small_params``, 20 runs x 200 iterations each
(si-line: 8 x 60, started near the certified lines), seed 0, tolerance 1e-10.
Every built-in solver is run on every cell (the dense-Hessian solvers only on
cases with ``dim <= 200``, which is all of them in v1): those runs form the
reference archive (:mod:`harness.leaderboard.archive`).

Pairing.  Run ``i`` of a ``(case, seed)`` starts from the same initial point
``theta0_i`` for every solver (:mod:`harness.run.initial_points`), so the
``i``-th runs of two solvers on one cell form a matched pair (the leaderboard's
paired tests rest on this).

Versions.  A cell list is never edited in place: a changed cell makes a new
version (``standard-v2``).  :func:`suite_hash` fingerprints the declaration; a
result set written by :func:`run_suite_for` records ``suite`` and
``suite_hash`` in its ``meta.json`` (:meth:`ResultStore.write_meta`), and the
leaderboard refuses to rank result sets of different suites or fingerprints
against each other unless explicitly told to (``--allow-mixed-suites``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.run.keys import stable_hash
from harness.run.spec import RunSpec

__all__ = ["DEFAULT_SUITE", "SUITES", "Suite", "SuiteCell", "SuiteError", "get_suite", "run_suite_for",
           "suite_hash", "suite_names"]


class SuiteError(ValueError):
    """Unknown suite, or result sets of different suites (one-line message)."""


@dataclasses.dataclass(frozen=True)
class SuiteCell:
    """One cell: ``runs`` runs of any solver on ``case`` with ``case_params`` (complete), from ``seed``."""

    case: str
    case_params: Mapping[str, Any]
    runs: int
    max_iter: int
    seed: int = 0
    tol: float = 1e-10

    def spec(self, solver: str, options: Mapping[str, Any] | None = None) -> RunSpec:
        """The :class:`RunSpec` running ``solver`` (with ``options``) on this cell."""
        return RunSpec(self.case, dict(self.case_params), solver, dict(options or {}), self.runs, self.seed,
                       max_iter=self.max_iter, tol=self.tol)

    def to_json(self) -> dict[str, Any]:
        return {"case": self.case, "case_params": dict(self.case_params), "runs": self.runs,
                "max_iter": self.max_iter, "seed": self.seed, "tol": self.tol}


@dataclasses.dataclass(frozen=True)
class Suite:
    """A named, versioned suite: its cells, the reference solvers and the largest case a dense-Hessian
    solver (one that declares ``dense``, :func:`harness.solvers.is_dense`) is run on."""

    name: str
    description: str
    cells: tuple[SuiteCell, ...]
    reference_solvers: tuple[str, ...]
    dense_max_dim: int = 200

    @property
    def hash(self) -> str:
        return suite_hash(self)

    def specs(self, solver: str, options: Mapping[str, Any] | None = None) -> list[RunSpec]:
        """Every cell for one (user) solver: what ``critbench suite run`` runs."""
        return [c.spec(solver, options) for c in self.cells]

    def reference_specs(self) -> list[RunSpec]:
        """Every cell x every reference solver (dense solvers skipped above ``dense_max_dim``), case-major."""
        from cases import get_case
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

#: Every declared suite, by name.
SUITES: dict[str, Suite] = {STANDARD_V1.name: STANDARD_V1, STANDARD_V2.name: STANDARD_V2}
#: The suite the leaderboard uses when none is named.
DEFAULT_SUITE = STANDARD_V1.name


def suite_names() -> list[str]:
    return sorted(SUITES)


def get_suite(name: str) -> Suite:
    """The suite called ``name``.

    Raises:
        SuiteError: no such suite.
    """
    try:
        return SUITES[name]
    except KeyError:
        raise SuiteError(f"unknown suite {name!r} (known: {', '.join(suite_names())})") from None


def check_stamp(meta: Mapping[str, Any], where: str) -> tuple[str | None, str | None]:
    """``(suite, suite_hash)`` recorded in a result set's ``meta`` (``None`` when absent)."""
    s, h = meta.get("suite"), meta.get("suite_hash")
    return (None if s is None else str(s)), (None if h is None else str(h))


def run_suite_for(
    suite: Suite,
    solver: str,
    out_dir: str | Path,
    *,
    options: Mapping[str, Any] | None = None,
    jobs: int = 1,
    progress: Any = None,
    command: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Run ``solver`` (only it) on every cell of ``suite`` into ``out_dir`` and stamp ``meta.json``.

    Raises:
        SuiteError: ``out_dir`` already holds results of another suite (or another version of it).
    """
    from harness.results.store import ResultStore, load_meta
    from harness.run.runner import run_suite

    out = Path(out_dir)
    if out.exists():
        have = check_stamp(load_meta(out), str(out))
        if have[0] is not None and have != (suite.name, suite.hash):
            raise SuiteError(f"{str(out)!r} holds results of suite {have[0]} ({have[1]}), not {suite.name} "
                             f"({suite.hash}): use another --out")
    specs = suite.specs(solver, options)
    ResultStore(out).write_meta(**suite.stamp())  # before the runs: an interrupted set is stamped too
    return run_suite(specs, out, progress=progress, command=command, jobs=jobs)
