"""Peak memory of a large vmapped batch (``peakmem_``: peak resident set size
of the benchmark process, setup included)."""

from __future__ import annotations

from ._common import case, problem, solver


class NewtonMRBatch64:
    """64 Newton-MR runs at once on the DLAE k = 16, p = 4 with n = 200 samples
    (dim 128; the ``(64, T + 1)`` traces and the batched Krylov bases dominate)."""

    timeout = 600
    processes = 1

    def setup(self) -> None:
        c = case("dlae", k=16, p=4, n=200)
        self.solver = solver("newton-mr")
        self.problem = problem(c)
        self.theta0 = c.initial_points(0, 64)

    def peakmem_newton_mr_batch64_dlae(self) -> None:
        self.solver.solve(self.problem, self.theta0, max_iter=50, tol=1e-10)
