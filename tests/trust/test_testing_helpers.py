"""The user-facing test helper (``harness.testing.run_records``, behind the pytest
plugin and ``assert_finds_ground_truth``) isolates solvers as the runner does."""

from __future__ import annotations

import numpy as np

from harness.solvers import Problem, SolveResult
from harness.testing import run_records

from . import _attackers

DLAE_SMALL = {"k": 4, "p": 2, "n": 50, "exact": True}


class _Raises:
    name = "raises"

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        raise RuntimeError("boom in a plugin")


def test_run_records_scores_on_data_the_solver_never_held() -> None:
    # On zeroed data every point is critical: a solver that zeroes its data and returns
    # its (random) initial points must not be scored as a success.
    recs = run_records(_attackers.DataZeroer(), "dlae", case_params=DLAE_SMALL, runs=3)
    assert not any(r["outcome"] == "critical" for r in recs)
    assert all(r["final_loss"] > 0.1 for r in recs)


def test_run_records_turns_a_solver_exception_into_error_records() -> None:
    recs = run_records(_Raises(), "quartic", runs=2, seed=3)
    assert [r["outcome"] for r in recs] == ["error", "error"]
    assert all("boom in a plugin" in str(r) for r in recs)
