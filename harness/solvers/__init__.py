"""JAX critical-point finders (thesis Algorithms 2, 4, 5, 11, 12, 13) and the solver protocol.

Names are re-exported lazily (:func:`cases._registry.lazy_exports`, PEP 562): importing
``harness.solvers`` or its registry does not import JAX; ``harness.solvers.NewtonMR`` does.
"""

from cases._registry import lazy_exports

_BASE = "harness.solvers._base"
_REG = "harness.solvers.registry"
_EXPORTS = {
    **dict.fromkeys(
        ["CONVERGED", "DIVERGED", "MAX_ITER", "SNAPSHOT_CUTOFFS", "STALLED", "STATUS_NAMES", "TRACE_FIELDS",
         "RUNNING", "IterativeSolver", "LoopCarry", "NumpyOracles", "Problem", "SolveResult", "Solver",
         "SolverOptionError", "StepInfo", "hvp", "iterate", "iterate_refill", "lockstep_utilization",
         "supports_refill"],
        _BASE,
    ),
    **dict.fromkeys(
        ["ENTRY_POINT_GROUP", "SOLVERS", "SolverError", "SolverSpec", "get_solver", "hvps_per_iteration", "is_dense",
         "option_defaults", "register_solver", "resolve_factory", "solver_names", "solver_specs"],
        _REG,
    ),
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
