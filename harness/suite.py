"""The default critbench scorecard: every registered ground-truth case at its
``small_params`` x every built-in solver.

Budget (measured on 2 CPU cores, see ``measure`` in the CLI report): ``RUNS``
runs per cell with ``MAX_ITER`` iterations keep the whole default suite under
5 minutes.  ``exact-newton`` and ``pinv-newton`` form dense Hessians and run
only on cases with ``dim <= DENSE_SOLVER_MAX_DIM``.
"""

from __future__ import annotations

from cases import case_names, case_spec, get_case
from harness.runner import RunSpec
from harness.solvers import solver_specs

#: Runs per (case, solver) cell of the default scorecard.
RUNS = 20
#: Iteration budget per run of the default scorecard.
MAX_ITER = 200
#: Seed of the default scorecard's initial points.
SEED = 0
#: Dense-Hessian solvers and the largest case they are run on.
DENSE_SOLVERS = frozenset({"exact-newton", "pinv-newton"})
DENSE_SOLVER_MAX_DIM = 200


def default_specs(runs: int = RUNS, max_iter: int = MAX_ITER, seed: int = SEED) -> list[RunSpec]:
    """The scorecard cells, case-major, in name order."""
    solvers = [s.name for s in solver_specs() if s.builtin]
    specs = []
    for name in case_names():
        cs = case_spec(name)
        if cs.ground_truth_kind == "none":
            continue
        params = dict(cs.small_params)
        dim = get_case(name, **params).dim
        for solver in solvers:
            if solver in DENSE_SOLVERS and dim > DENSE_SOLVER_MAX_DIM:
                continue
            specs.append(RunSpec(name, params, solver, {}, runs, seed, max_iter=max_iter))
    return specs
