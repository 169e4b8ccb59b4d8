"""A run specification: one cell of a benchmark, typed once.

:class:`RunSpec` is the value every entry point (the CLI, sweep files, Python
callers, the reproductions and the test helpers) builds and hands to the
pipeline (:mod:`harness.run.runner`).

Typed once, whatever the source.  Constructing a :class:`RunSpec` replaces
``case_params`` and ``solver_options`` by the complete, typed values of
:func:`harness.run.params.type_values` (the registries' defaults overridden by
the given values, each typed like its default: ``forcing=0`` becomes ``0.0``,
a list for a tuple default becomes a tuple), and ``tol`` by a ``float``.  So a
cell built by the CLI, by a sweep file or in Python is the same value, with
the same keys and run ids (docs/design.md, "One run id, one result").  The
module is JAX-free; the registry look-up happens at construction
(:func:`harness.run.params.typed_case_params` imports the registries lazily).
Unknown names, unknown keys and wrongly typed values raise at construction,
with one line (``CaseError`` / ``SolverError`` / ``ParamError``, all
``ValueError``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.run.params import typed_case_params, typed_solver_options

__all__ = ["RunSpec"]


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One cell of a benchmark: ``runs`` runs of ``solver`` on ``case``.

    Attributes:
        case: registered case name.
        case_params: case parameters; stored complete and typed (module docstring).
        solver: registered solver name or ``module:attr``.
        solver_options: solver options; stored complete and typed (module docstring).
        runs: number of runs (initial points) ``>= 1``.
        seed: seed of the initial points ``>= 0``.
        max_iter: iteration budget per run.
        tol: the solver's stopping tolerance on ``||grad L||^2``.
        batch_size: runs per vmapped solve (default: :func:`harness.run.plan.default_batch_size`).
        threads: blocks solved concurrently (default: see :func:`default_threads`).
    """

    case: str
    case_params: Mapping[str, Any]
    solver: str
    solver_options: Mapping[str, Any]
    runs: int
    seed: int
    max_iter: int = 500
    tol: float = 1e-10
    batch_size: int | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        def bad(name: str, cond: bool, what: str) -> None:
            if not cond:
                raise ValueError(f"{name} must be {what}, got {getattr(self, name)!r}")

        isint = lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool)  # noqa: E731
        bad("runs", isint(self.runs) and self.runs >= 1, "an integer >= 1")
        bad("seed", isint(self.seed) and self.seed >= 0, "an integer >= 0")
        bad("max_iter", isint(self.max_iter) and self.max_iter >= 0, "an integer >= 0")
        bad("tol", isinstance(self.tol, (int, float)) and math.isfinite(self.tol) and self.tol >= 0, "a number >= 0")
        bad("batch_size", self.batch_size is None or (isint(self.batch_size) and self.batch_size >= 1),
            "None or an integer >= 1")
        bad("threads", self.threads is None or (isint(self.threads) and self.threads >= 1),
            "None or an integer >= 1")
        object.__setattr__(self, "case_params", typed_case_params(self.case, self.case_params or {}))
        object.__setattr__(self, "solver_options", typed_solver_options(self.solver, self.solver_options or {}))
        for name, kind in (("runs", int), ("seed", int), ("max_iter", int), ("tol", float)):
            object.__setattr__(self, name, kind(getattr(self, name)))  # NumPy scalars, tol=0 -> 0.0: one key
