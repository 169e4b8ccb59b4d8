"""The default critbench scorecard: every registered ground-truth case at its
``small_params`` x every built-in solver.

Budget: ``RUNS`` runs per cell with ``MAX_ITER`` iterations (``CASE_BUDGET``
for heavy cases).  XLA compilation, not the runs, dominates a cold scorecard, so
the CLI's default command enables JAX's persistent compilation cache.
``exact-newton`` and ``pinv-newton`` form dense Hessians and run only on cases
with ``dim <= DENSE_SOLVER_MAX_DIM``.  ``relu-teacher-student`` runs at ``k = 6``.
Timings and the measurements behind these choices: ``docs/measurements.md``.
"""

from __future__ import annotations

from cases import case_names, case_spec, get_case
from harness.run.spec import RunSpec
from harness.solvers import solver_specs

#: Runs per (case, solver) cell of the default scorecard.
RUNS = 20
#: Iteration budget per run of the default scorecard.
MAX_ITER = 200
#: Seed of the default scorecard's initial points.
SEED = 0
#: Per-case budgets overriding (RUNS, MAX_ITER): si-line's loss sums over 1681
#: grid points, so its runs are slow.  Its cell starts near the certified lines
#: (``init="near-lines"``, Stoican's protocol), where a solver that returns its
#: initial point scores 0 (``docs/measurements.md``).
CASE_BUDGET = {"si-line": (8, 60)}
#: Dense-Hessian solvers and the largest case they are run on.
DENSE_SOLVERS = frozenset({"exact-newton", "pinv-newton"})
DENSE_SOLVER_MAX_DIM = 200


def default_specs(runs: int = RUNS, max_iter: int = MAX_ITER, seed: int = SEED) -> list[RunSpec]:
    """The scorecard cells, case-major, in name order."""
    solvers = [s.name for s in solver_specs(builtin_only=True)]  # a broken plug-in never stops the scorecard
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
            n, t = CASE_BUDGET.get(name, (runs, max_iter)) if (runs, max_iter) == (RUNS, MAX_ITER) else (runs, max_iter)
            specs.append(RunSpec(name, params, solver, {}, n, seed, max_iter=t))
    return specs
