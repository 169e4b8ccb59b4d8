"""Solver facts are declared on the solver (issue 31): ``dense`` and the HVP bound per iteration.

The bound is checked against what each built-in solver really spends: every step's HVP count
(the increments of the cumulative ``hvps`` trace) is at most ``hvps_per_iteration(dim)``.  The
sweep's dry run and the two suites read the declarations, so a test patches a declaration and
sees the users follow it (a stale name table would not).
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.solvers import (
    IterativeSolver,
    Problem,
    get_solver,
    hvps_per_iteration,
    is_dense,
    resolve_factory,
    solver_specs,
)

#: Small options that make the bounds tight enough to be tested on a few iterations.
TIGHT = {"damped-newton": {"gammas": (0.1, 0.01), "krylov_iters": 2}, "btls-gnm": {"max_trials": 3},
         "newton-mr": {"maxit": 3}}
BUILTIN = [s.name for s in solver_specs(builtin_only=True)]


def test_every_builtin_solver_declares_its_facts() -> None:
    """A solver that forms dense Hessians (``hfro_method == "exact"`` from its own Hessian, ``dim`` HVPs a
    step) declares ``dense``; every other one declares a bound of its own instead of the ``dim`` default."""
    assert len(BUILTIN) == 6
    for name in BUILTIN:
        cls = resolve_factory(name)
        assert issubclass(cls, IterativeSolver)
        if is_dense(name):
            assert "dense" in vars(cls) and cls.hfro_method == "exact", name
        else:
            assert "hvps_per_iteration" in vars(cls), f"{name} lost its HVP bound declaration"
    assert {n for n in BUILTIN if is_dense(n)} == {"exact-newton", "pinv-newton"}


@pytest.mark.parametrize("name", BUILTIN)
def test_declared_bound_holds_for_every_step(name: str) -> None:
    from cases import get_case

    case = get_case("dlae", k=3, p=2, n=20)
    solver = get_solver(name, **TIGHT.get(name, {}))
    theta0 = case.initial_points(0, 3)
    res = solver.solve(Problem(case.loss_fn, case.data, case.dim), theta0, max_iter=4, tol=1e-30)
    bound = hvps_per_iteration(solver, case.dim)
    for row in range(theta0.shape[0]):
        k = int(res.n_iter[row])
        steps = np.diff(np.asarray(res.trace["hvps"][row][: k + 1], dtype=np.int64))
        assert k >= 1 and steps.max() <= bound, (name, steps, bound)
    assert int(res.hvps.max()) <= 1 + 4 * bound  # whole runs too (the initial gradient's count aside)


def test_plugin_without_declarations_gets_the_documented_defaults() -> None:
    class Plain:
        name = "plain"

        def solve(self, problem, theta0, *, max_iter, tol):  # pragma: no cover - never run
            raise NotImplementedError

    assert hvps_per_iteration(Plain(), 17) == 17
    assert IterativeSolver().hvps_per_iteration(9) == 9 and IterativeSolver.dense is False


def test_sweep_dry_run_reads_the_solvers_declaration(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.solvers.gnm import GNM
    from harness.sweep.run import dry_run_rows
    from harness.sweep.spec import parse_sweep

    sweep = parse_sweep({"runs": 3, "max_iter": 5, "case": [{"name": "quartic"}],
                         "solver": [{"name": "gnm"}, {"name": "btls-gnm", "options": {"max_trials": 4}}]})
    assert [r["hvp_bound"] for r in dry_run_rows(sweep)] == [3 * 5 * 1, 3 * 5 * (4 + 1)]
    monkeypatch.setattr(GNM, "hvps_per_iteration", lambda self, dim: 7)
    assert dry_run_rows(sweep)[0]["hvp_bound"] == 3 * 5 * 7


def test_suites_skip_what_the_solver_declares_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the dense limit at ``dim = 2`` only the 2-d cases keep dense solvers; which solvers those are
    follows the declarations (patched: ``gnm`` dense, ``exact-newton`` not)."""
    import dataclasses

    import harness.run.suite as scorecard
    from harness.run.suite import STANDARD_V1
    from harness.solvers.exact_newton import ExactNewton
    from harness.solvers.gnm import GNM

    def solvers_on(specs, case: str) -> set[str]:
        return {s.solver for s in specs if s.case == case}

    monkeypatch.setattr(scorecard, "DENSE_SOLVER_MAX_DIM", 2)
    suite = dataclasses.replace(STANDARD_V1, dense_max_dim=2)
    for specs in (scorecard.default_specs(), suite.reference_specs()):
        assert {"exact-newton", "pinv-newton", "gnm"} <= solvers_on(specs, "quartic")  # dim 2
        assert {"exact-newton", "pinv-newton"}.isdisjoint(solvers_on(specs, "xor")) and "gnm" in solvers_on(specs, "xor")
    monkeypatch.setattr(GNM, "dense", True)
    monkeypatch.setattr(ExactNewton, "dense", False)
    for specs in (scorecard.default_specs(), suite.reference_specs()):
        assert "gnm" not in solvers_on(specs, "xor") and "exact-newton" in solvers_on(specs, "xor")
