"""critbench harness: solvers, scoring, runner, store, reports, CLI.

Importing this package enables float64 in JAX before any array is created.
"""

import jax

jax.config.update("jax_enable_x64", True)

from .solvers import (  # noqa: E402
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    STALLED,
    IterativeSolver,
    Problem,
    SolveResult,
    Solver,
    SolverError,
    StepInfo,
    get_solver,
    hvp,
    iterate,
    register_solver,
    solver_names,
)

__version__ = "0.1.0"

__all__ = [
    "CONVERGED",
    "DIVERGED",
    "MAX_ITER",
    "STALLED",
    "IterativeSolver",
    "Problem",
    "SolveResult",
    "Solver",
    "SolverError",
    "StepInfo",
    "__version__",
    "get_solver",
    "hvp",
    "iterate",
    "register_solver",
    "solver_names",
]
