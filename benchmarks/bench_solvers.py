"""Wall time of solver work, compilation excluded (each ``setup`` runs the
timed call once, so ``jit`` has compiled the very same executable), plus a
separate compile-time benchmark."""

from __future__ import annotations

from ._common import THESIS_DLAE, case, need, problem, small_params, solver

#: The default scorecard's slowest cell (``critbench`` default suite: 20 runs,
#: 200 iterations), measured on 2 CPU cores: degenerate-mlp x damped-newton,
#: about 6 s per cell after a ~30 s compile.
SLOWEST_CELL = ("degenerate-mlp", "damped-newton")
#: The default scorecard's budget (``harness.run.suite``): runs per cell, iterations.
SCORECARD_RUNS, SCORECARD_MAX_ITER = 20, 200


class MinresQLP:
    """One MINRES-QLP solve ``H p = -g`` (HVP operator, thesis tolerances) at an
    initial point of the thesis DLAE: the inner solve of one Newton-MR step."""

    warmup_time = 0.2
    repeat = (3, 10, 10.0)
    timeout = 300

    def setup(self) -> None:
        jax = need("jax")
        minres_qlp = need("harness.solvers.minres_qlp", "minres_qlp")
        hvp = need("harness", "hvp")
        c = case("dlae", **THESIS_DLAE)
        fn = c.loss_fn

        def solve(theta, data):
            g = jax.grad(fn)(theta, data)
            return minres_qlp(lambda v: hvp(fn, theta, v, data), -g, rtol=5e-4, maxit=theta.shape[0],
                              maxxnorm=1e4, acondlim=1e7, trancond=1e4).x

        self.solve = jax.jit(solve)
        self.theta = jax.numpy.asarray(c.initial_points(0, 1)[0])
        self.data = c.data
        self.solve(self.theta, self.data).block_until_ready()

    def time_minres_qlp_dlae(self) -> None:
        self.solve(self.theta, self.data).block_until_ready()


class NewtonMRBatch:
    """A full batch of 16 Newton-MR runs (500 iterations, tol 1e-10) on the
    small DLAE of the default scorecard (``case_spec("dlae").small_params``)."""

    number = 1
    repeat = (2, 5, 20.0)
    processes = 1
    timeout = 600

    def setup(self) -> None:
        c = case("dlae", **small_params("dlae"))
        self.solver = solver("newton-mr")
        self.problem = problem(c)
        self.theta0 = c.initial_points(0, 16)
        self.solver.solve(self.problem, self.theta0, max_iter=500, tol=1e-10)

    def time_newton_mr_batch_dlae(self) -> None:
        self.solver.solve(self.problem, self.theta0, max_iter=500, tol=1e-10)


class CompileNewtonMR:
    """Compile time of the Newton-MR batch loop on the small DLAE: the jit
    caches are cleared, then one call with ``tol = 1e300`` (every run stops at
    iteration 0, but ``tol`` is traced, so the executable is the real one)."""

    number = 1
    repeat = (1, 3, 60.0)
    processes = 1
    timeout = 600

    def setup(self) -> None:
        self.jax = need("jax")
        if not hasattr(self.jax, "clear_caches"):
            raise NotImplementedError("jax.clear_caches unavailable")
        c = case("dlae", **small_params("dlae"))
        self.solver = solver("newton-mr")
        self.problem = problem(c)
        self.theta0 = c.initial_points(0, 16)

    def time_compile_newton_mr_dlae(self) -> None:
        self.jax.clear_caches()
        self.solver.solve(self.problem, self.theta0, max_iter=500, tol=1e300)


class ScorecardSlowestCell:
    """The default scorecard's slowest cell (see ``SLOWEST_CELL``): 20 runs x
    200 iterations, solve only (no scoring, no store)."""

    number = 1
    repeat = (1, 3, 30.0)
    processes = 1
    timeout = 600

    def setup(self) -> None:
        name, solver_name = SLOWEST_CELL
        c = case(name, **small_params(name))
        self.solver = solver(solver_name)
        self.problem = problem(c)
        self.theta0 = c.initial_points(0, SCORECARD_RUNS)
        self.solver.solve(self.problem, self.theta0, max_iter=SCORECARD_MAX_ITER, tol=1e-10)

    def time_scorecard_slowest_cell(self) -> None:
        self.solver.solve(self.problem, self.theta0, max_iter=SCORECARD_MAX_ITER, tol=1e-10)
