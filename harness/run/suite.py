"""The default critbench scorecard: every registered ground-truth case at its
``small_params`` x every built-in solver.

Budget: ``RUNS`` runs per cell with ``MAX_ITER`` iterations (``CASE_BUDGET``
for heavy cases).  Measured on 2 CPU cores, the runs themselves take well under
a minute in total; XLA compilation (1.5-35 s per cell, 54 cells) dominates, so
the CLI's default command enables JAX's persistent compilation cache and a
warm-cache rerun is far faster than the cold first one.  Solvers that declare ``dense``
(:func:`harness.solvers.is_dense`: they form dense Hessians) run only on cases with ``dim <= DENSE_SOLVER_MAX_DIM``.
``relu-teacher-student`` joined at ``k = 6`` (its six cells: 8 s warm, 41 s with a partly cold
compile cache, on 2 shared cores); ``k = 20`` was measured and left out: Newton-MR reaches no critical
point in 200 iterations there (0/20, 17 s) and damped Newton takes 30 s for 20 runs.
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
#: grid points, so damped Newton alone took 200 s for 20 runs x 200 iterations.
#: Its cell starts near the certified lines (``init="near-lines"``, Stoican's
#: protocol): with Xavier initial points every built-in solver scored 0%, a cell
#: that could not move; near the lines ``pinv-newton`` is correct in 7 of 8 runs
#: within 23 iterations, and a solver that returns its initial point scores 0.
CASE_BUDGET = {"si-line": (8, 60)}
#: The largest case a dense-Hessian solver (one that declares ``dense``) is run on.
DENSE_SOLVER_MAX_DIM = 200


def default_specs(runs: int = RUNS, max_iter: int = MAX_ITER, seed: int = SEED) -> list[RunSpec]:
    """The scorecard cells, case-major, in name order."""
    solvers = solver_specs(builtin_only=True)  # a broken plug-in never stops the scorecard
    specs = []
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
            specs.append(RunSpec(name, params, solver.name, {}, n, seed, max_iter=t))
    return specs
