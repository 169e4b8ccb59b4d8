"""A run specification: one cell of a benchmark, typed once.

:class:`RunSpec` is the value every entry point (the CLI, sweep files, Python
callers, the reproductions and the test helpers) builds and hands to the
pipeline (:mod:`harness.run.runner`).  JAX-free.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["DEFAULT_BATCH", "RunSpec"]

#: Default batch size (runs per vmapped solve) when ``RunSpec.batch_size`` is None.
DEFAULT_BATCH = 32


@dataclasses.dataclass(frozen=True)
class RunSpec:
    """One cell of a benchmark: ``runs`` runs of ``solver`` on ``case``.

    Attributes:
        case: registered case name.
        case_params: typed case parameters (the CLI passes the complete set,
            parsed once by :mod:`harness.run.params`; registries do not coerce strings).
        solver: registered solver name or ``module:attr``.
        solver_options: typed solver options (likewise complete from the CLI).
        runs: number of runs (initial points) ``>= 1``.
        seed: seed of the initial points ``>= 0``.
        max_iter: iteration budget per run.
        tol: the solver's stopping tolerance on ``||grad L||^2``.
        batch_size: runs per vmapped solve (default ``min(runs, DEFAULT_BATCH)``).
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
        object.__setattr__(self, "case_params", dict(self.case_params or {}))
        object.__setattr__(self, "solver_options", dict(self.solver_options or {}))

    @property
    def effective_batch(self) -> int:
        return int(self.batch_size or min(self.runs, DEFAULT_BATCH))
