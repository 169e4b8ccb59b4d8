"""Deliberately broken solvers (injected regressions) for the gate tests.

Each is a minimal change to a built-in solver that keeps its ``name`` so that
:func:`harness.gate.compare.compare` pairs it with the built-in's baseline cell.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import jax.numpy as jnp
import numpy as np

from harness.solvers import Problem, SolveResult
from harness.solvers.damped_newton import DampedCandidates, DampedNewton
from harness.solvers.newton_mr import NewtonMR


@dataclasses.dataclass(frozen=True)
class OneGammaDampedNewton(DampedNewton):
    """Damped Newton whose candidates all use the last ``gamma`` (a late-binding-closure bug)."""

    def candidates(self, fn: Any, theta: Any, g: Any, args: Any) -> DampedCandidates:
        same = dataclasses.replace(self, gammas=(self.gammas[-1],) * len(self.gammas))
        return DampedNewton.candidates(same, fn, theta, g, args)


class _RejectEverything:
    """A line search that rejects every trial: ``alpha = 0``."""

    def search(self, fn: Any, theta: Any, g: Any, p: Any, hgp: Any, alpha: Any, args: Any) -> tuple:
        return jnp.float64(0.0), jnp.int64(1), jnp.bool_(False)


@dataclasses.dataclass(frozen=True)
class ZeroStepNewtonMR(NewtonMR):
    """Newton-MR whose backtracking line search always rejects (zero step; stalls at once)."""

    @property
    def line_search(self) -> Any:  # type: ignore[override]
        return _RejectEverything()


@dataclasses.dataclass(frozen=True)
class PlainMinresNewtonMR(NewtonMR):
    """Newton-MR with plain MINRES: ``trancond`` beyond ``acondlim`` never switches to QLP."""

    trancond: float = 1e300


class EarlyStop:
    """Wraps a solver and stops it at ``||grad L||^2 <= cutoff`` (1e-6) instead of the requested tol."""

    def __init__(self, inner: Any, cutoff: float = 1e-6) -> None:
        self.inner, self.cutoff = inner, float(cutoff)
        self.name = inner.name

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        return self.inner.solve(problem, theta0, max_iter=max_iter, tol=max(tol, self.cutoff))


class ReturnsInitialPoint:
    """Wraps a solver and returns the initial points untouched (``max_iter = 0``)."""

    name: ClassVar[str]

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        return self.inner.solve(problem, theta0, max_iter=0, tol=tol)
