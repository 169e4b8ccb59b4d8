"""JAX critical-point finders (thesis Algorithms 2, 4, 5, 11, 12, 13) and the solver protocol.

Names are re-exported lazily (:func:`cases._registry.lazy_exports`, PEP 562): importing
``harness.solvers`` or its registry does not import JAX; ``harness.solvers.NewtonMR`` does.
"""

from cases._registry import lazy_exports

_PROTOCOL = "harness.solvers._protocol"
_REG = "harness.solvers.registry"
_EXPORTS = {
    **dict.fromkeys(
        ["CONVERGED", "DIVERGED", "MAX_ITER", "SNAPSHOT_CUTOFFS", "STALLED", "STATUS_NAMES", "TRACE_FIELDS",
         "RUNNING", "Problem", "SolveResult", "Solver", "SolverOptionError", "StepInfo", "check_open_unit",
         "check_positive"],
        _PROTOCOL,
    ),
    "NumpyOracles": "harness.solvers._oracles",
    "hvp": "harness.solvers._oracles",
    **dict.fromkeys(["IterativeSolver", "supports_refill"], "harness.solvers._iterative"),
    **dict.fromkeys(["LoopCarry", "iterate", "lockstep_utilization"], "harness.solvers._loop"),
    "iterate_refill": "harness.solvers._refill",
    **dict.fromkeys(
        ["ENTRY_POINT_GROUP", "SOLVERS", "SolverError", "SolverSpec", "get_solver", "hvps_per_iteration", "is_dense",
         "option_defaults", "register_solver", "resolve_factory", "solver_names", "solver_specs"],
        _REG,
    ),
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
