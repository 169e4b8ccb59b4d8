"""Deliberately broken or dishonest solvers, plugged in as a user would (``module:attr``).

Each attacks one way a solver under test could fool the harness; the tests in
``test_adversarial.py`` run them through ``harness.run.runner.run_spec`` and the
CLI and check that none of them ever scores a success.  Module globals let a
test aim an attack (which run to fail on, where the result directory is).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from harness import numpy_solver
from harness.solvers import MAX_ITER, SolveResult

#: Initial point on which :func:`raise_on_target` raises (set by the test).
TARGET: np.ndarray | None = None
#: Result directory that :func:`vandal` writes into (set by the test).
OUT_DIR: Path | None = None
#: A point that :func:`foreign_point` returns (set by the test).
FOREIGN: np.ndarray | None = None


def _newton(oracles: Any, x: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """Plain Newton with a dense Hessian from HVPs (small cases): an honest solver."""
    eye = np.eye(x.size)
    for _ in range(max_iter):
        g = oracles.grad(x)
        if g @ g <= tol:
            break
        h = np.column_stack([oracles.hvp(x, e) for e in eye])
        x = x - np.linalg.lstsq(h, g, rcond=None)[0]
    return x


@numpy_solver
def newton(oracles, theta0, max_iter, tol):
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def five_entries(oracles, theta0, max_iter, tol):
    """Returns 5 parameters whatever the case (a p = 0 DLAE has zero gradient)."""
    return np.zeros(5)


@numpy_solver
def one_too_many(oracles, theta0, max_iter, tol):
    return np.append(_newton(oracles, theta0, max_iter, tol), 0.0)


@numpy_solver
def float32_theta(oracles, theta0, max_iter, tol):
    return _newton(oracles, theta0, max_iter, tol).astype(np.float32)


@numpy_solver
def integer_theta(oracles, theta0, max_iter, tol):
    return np.rint(_newton(oracles, theta0, max_iter, tol)).astype(np.int64)


@numpy_solver
def raise_on_target(oracles, theta0, max_iter, tol):
    """Honest Newton, except that it raises on the initial point ``TARGET``."""
    if TARGET is not None and np.allclose(theta0, TARGET):
        raise RuntimeError("boom on the targeted run\nsecond line of the message")
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def nan_on_target(oracles, theta0, max_iter, tol):
    """Honest Newton, except NaN in the final point of run ``TARGET``."""
    x = _newton(oracles, theta0, max_iter, tol)
    if TARGET is not None and np.allclose(theta0, TARGET):
        x = x.copy()
        x[0] = np.nan
    return x


@numpy_solver
def plus_inf(oracles, theta0, max_iter, tol):
    return np.full_like(theta0, np.inf)


@numpy_solver
def initial_point(oracles, theta0, max_iter, tol):
    """Claims convergence at once: a trace saying ``||g||^2 = 0`` at the start."""
    return theta0, {"grad_norm_sq": [0.0], "loss": [0.0], "n_iter": 0}


@numpy_solver
def fake_flatness(oracles, theta0, max_iter, tol):
    """Returns the initial point with a fabricated gradient-flat r / r_H trace."""
    n = max(1, min(max_iter, 5))
    return theta0, {"r": [0.99] * (n + 1), "r_H": [1e-9] * (n + 1)}


@numpy_solver
def hides_hvps(oracles, theta0, max_iter, tol):
    """Takes 7 HVPs and 3 gradients but reports none."""
    for _ in range(7):
        oracles.hvp(theta0, np.ones_like(theta0))
    for _ in range(3):
        oracles.grad(theta0)
    return theta0, {"hvps": [0, 0], "grads": [0, 0]}


@numpy_solver
def foreign_point(oracles, theta0, max_iter, tol):
    """Returns ``FOREIGN``: a certified critical point of another instance."""
    return np.array(FOREIGN, dtype=np.float64)


def _result(theta: Any, batch: int, *, hvps: int = 0, status: Any = None) -> SolveResult:
    return SolveResult(theta=theta, status=np.full(batch, MAX_ITER) if status is None else status,
                       n_iter=np.ones(batch, np.int64), hvps=np.full(batch, hvps, np.int64),
                       grads=np.ones(batch, np.int64), trace={})


class ShapeLiar:
    """A custom-class solver returning ``theta`` of shape ``(batch, dim + extra)``."""

    name = "shape-liar"

    def __init__(self, extra: int = 1) -> None:
        self.extra = extra

    def solve(self, problem, theta0, *, max_iter, tol):
        b = len(theta0)
        return _result(np.zeros((b, problem.dim + self.extra)), b)


class Float32Class:
    """A custom-class solver returning float32 ``theta`` of the right shape (the initial points)."""

    name = "float32-class"

    def solve(self, problem, theta0, *, max_iter, tol):
        return _result(np.asarray(theta0, dtype=np.float32), len(theta0))


class MissingFields:
    """Returns an object with only ``theta`` (no status, n_iter, hvps, grads)."""

    name = "missing-fields"

    def solve(self, problem, theta0, *, max_iter, tol):
        class Bare:
            theta = np.array(theta0, dtype=np.float64)

        return Bare()


class DataZeroer:
    """Zeroes the case data it is given (in place where it can, by replacement
    where it cannot) and returns its initial points: on zero data every point
    has loss 0 and gradient 0."""

    name = "data-zeroer"

    def solve(self, problem, theta0, *, max_iter, tol):
        data = problem.data
        for key in list(data):
            arr = np.asarray(data[key])
            try:
                arr[...] = 0.0
            except ValueError:  # read-only: replace it instead
                pass
            data[key] = np.zeros_like(arr)
        return _result(np.array(theta0, dtype=np.float64), len(theta0))


class Raiser:
    """A custom-class solver that raises on every batch."""

    name = "raiser"

    def solve(self, problem, theta0, *, max_iter, tol):
        raise ValueError("custom solver exploded")


class HvpUnderreporter:
    """A custom-class solver reporting 0 HVPs (its costs cannot be counted by the harness)."""

    name = "hvp-underreporter"

    def solve(self, problem, theta0, *, max_iter, tol):
        return _result(np.array(theta0, dtype=np.float64), len(theta0), hvps=0)


class OptionMutator:
    """Mutates its options (and adds one) on every solve."""

    name = "option-mutator"

    def __init__(self, step: float = 0.5) -> None:
        self.opts = {"step": step, "schedule": [1, 2]}

    def options(self) -> dict[str, Any]:
        return self.opts

    def solve(self, problem, theta0, *, max_iter, tol):
        self.opts["step"] = 123.0
        self.opts["sneaky"] = True
        self.opts["schedule"].append(3)  # nested: survives a shallow copy
        return _result(np.array(theta0, dtype=np.float64), len(theta0))


@numpy_solver
def vandal(oracles, theta0, max_iter, tol):
    """Writes into the result directory: a fake array file and a bogus
    'critical' record, then returns its initial point."""
    if OUT_DIR is not None:
        arrays = OUT_DIR / "arrays"
        arrays.mkdir(parents=True, exist_ok=True)
        np.savez(arrays / "forged.npz", theta=np.zeros((64, theta0.size)), theta0=np.zeros((64, theta0.size)))
        with open(OUT_DIR / "runs.jsonl", "a") as fh:
            fh.write(json.dumps({"run_id": "forged", "outcome": "critical"}) + "\n")
    return theta0


class Spy:
    """Records the problem and initial points it is given (for isolation tests)."""

    name = "spy"
    seen: list[Any] = []

    def solve(self, problem, theta0, *, max_iter, tol):
        """Notes whether the data arrived zeroed (by an earlier call), then zeroes it."""
        Spy.seen.append((bool(np.all(np.asarray(problem.data["x"]) == 0)), theta0))
        problem.data["x"] = np.zeros_like(np.asarray(problem.data["x"]))
        return _result(np.array(theta0, dtype=np.float64), len(theta0))
