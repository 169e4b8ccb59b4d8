"""Inline cases and solvers for the scoring/runner tests (no dependence on other rooms' tuning)."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from cases import Case, CriticalClass, GroundTruth
from harness.solvers import IterativeSolver, StepInfo


def example11_loss(theta: Any, data: Any) -> Any:
    """Thesis Example 1.1: ``(θ2 θ1 - 1)^2``."""
    return (theta[1] * theta[0] - 1.0) ** 2


def make_example11(origin_index: int = 1, origin_loss: float = 1.0) -> Case:
    """Example 1.1 with an origin class whose certified invariants can be falsified."""
    classes = [CriticalClass("origin", origin_loss, origin_index, 0, 2, point=np.zeros(2))]
    return Case("ex11-inline", {}, 2, example11_loss, {}, lambda rng, n: rng.standard_normal((n, 2)),
                GroundTruth(classes), "inline Example 1.1")


@dataclasses.dataclass(frozen=True)
class GD(IterativeSolver):
    """Plain gradient descent ``theta - lr * g`` (a tiny honest solver for tests)."""

    lr: float = 0.05
    name: ClassVar[str] = "test-gd"

    def step(self, fn, theta, f, g, state, args):
        return theta - self.lr * g, state, StepInfo.make(step_size=self.lr)


@dataclasses.dataclass(frozen=True)
class ReturnsStart(IterativeSolver):
    """A wrong solver: never moves, but claims it converged (forges its trace)."""

    name: ClassVar[str] = "test-returns-start"

    def solve(self, problem, theta0, *, max_iter, tol):
        from harness.solvers import SolveResult

        th = np.atleast_2d(np.asarray(theta0, dtype=float))
        b = th.shape[0]
        trace = {"grad_norm_sq": np.full((b, 2), 1e-20), "loss": np.zeros((b, 2)),
                 "r": np.full((b, 2), np.nan), "r_H": np.full((b, 2), np.nan)}
        return SolveResult(theta=th, status=np.zeros(b, np.int64), n_iter=np.ones(b, np.int64),
                           hvps=np.zeros(b, np.int64), grads=np.ones(b, np.int64), trace=trace)
