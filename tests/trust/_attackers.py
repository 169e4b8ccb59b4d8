"""Deliberately broken or dishonest solvers, plugged in as a user would (``module:attr``).

Each attacks one way a solver under test could fool the harness; the tests in
``test_adversarial.py`` and ``test_isolation.py`` run them through
``harness.run.runner.run_spec`` and the CLI and check that none of them ever
scores a success.  Solvers run in worker processes, so a test aims an attack
through the solver's options (``target``: the initial point, as comma-separated
floats, on which to misbehave; ``out_dir``: where to vandalise), never
through module globals, which a worker would not see.
"""

from __future__ import annotations

import json
import os
import signal
import time
from typing import Any

import numpy as np

from harness import numpy_solver
from harness.solvers import MAX_ITER, SolveResult



def point_option(x: Any) -> str:
    """An initial point as the ``target`` option string (exact float reprs)."""
    return ",".join(repr(float(v)) for v in np.asarray(x, dtype=np.float64).ravel())


def _is(theta0: np.ndarray, target: str) -> bool:
    if not target:
        return False
    t = np.array([float(v) for v in target.split(",")])
    return t.shape == np.shape(theta0) and bool(np.allclose(theta0, t, rtol=0, atol=1e-15))


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
def raise_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except that it raises on the initial point ``target``."""
    if _is(theta0, target):
        raise RuntimeError("boom on the targeted run\nsecond line of the message")
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def nan_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except NaN in the final point of run ``target``."""
    x = _newton(oracles, theta0, max_iter, tol)
    if _is(theta0, target):
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
def foreign_point(oracles, theta0, max_iter, tol, point=""):
    """Returns ``point``: a certified critical point of another instance."""
    return np.array([float(v) for v in point.split(",")], dtype=np.float64)


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


class ForgedMaxR:
    """Newton-MR's own result with a forged maximally flat iterate (``mode``): ``shape``:
    ``max_r_theta`` of shape ``(batch, dim + 1)``; ``point``: a well-formed point off the
    trajectory (the initial point + 1); ``iter``: the true point claimed at the final iteration;
    ``none``: nothing forged (the honest reference)."""

    name = "forged-max-r"

    def __init__(self, mode: str = "shape") -> None:
        self.mode = mode

    def solve(self, problem, theta0, *, max_iter, tol):
        import dataclasses

        from harness.solvers import get_solver

        res = get_solver("newton-mr").solve(problem, theta0, max_iter=max_iter, tol=tol)
        forged = {"shape": {"max_r_theta": np.zeros((len(theta0), problem.dim + 1))},
                  "point": {"max_r_theta": np.asarray(theta0, dtype=np.float64) + 1.0},
                  "iter": {"max_r_iter": np.asarray(res.n_iter).copy()}, "none": {}}[self.mode]
        return dataclasses.replace(res, **forged)


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
def vandal(oracles, theta0, max_iter, tol, out_dir=""):
    """Writes into the result directory: a fake array file and a bogus
    'critical' record, then returns its initial point."""
    if out_dir:
        from pathlib import Path

        OUT_DIR = Path(out_dir)
        arrays = OUT_DIR / "arrays"
        arrays.mkdir(parents=True, exist_ok=True)
        np.savez(arrays / "forged.npz", theta=np.zeros((64, theta0.size)), theta0=np.zeros((64, theta0.size)))
        with open(OUT_DIR / "runs.jsonl", "a") as fh:
            fh.write(json.dumps({"run_id": "forged", "outcome": "critical"}) + "\n")
    return theta0


class Spy:
    """Logs, one JSON line per call into the file ``log``, whether the data arrived zeroed
    (by an earlier call) and whether its initial points were writeable; then zeroes the data."""

    name = "spy"

    def __init__(self, log: str = "") -> None:
        self.log = log

    def options(self) -> dict[str, Any]:
        return {"log": self.log}

    def solve(self, problem, theta0, *, max_iter, tol):
        zeroed = bool(np.all(np.asarray(problem.data["x"]) == 0))
        if self.log:
            with open(self.log, "a") as fh:
                fh.write(json.dumps({"zeroed": zeroed, "writeable": bool(theta0.flags.writeable)}) + "\n")
        problem.data["x"] = np.zeros_like(np.asarray(problem.data["x"]))
        res = _result(np.array(theta0, dtype=np.float64), len(theta0))
        # what it saw, also as its reported iteration count (a sandboxed worker cannot write the log):
        # 1 + zeroed + 2 * writeable
        res.n_iter[:] = 1 + int(zeroed) + 2 * int(theta0.flags.writeable)
        return res


# --------------------------------------------------------------------------- attacks on the process (issue 20)
def _patch_the_scorer() -> None:
    """Replace the harness's scoring functions in *this* process by ones that call everything critical."""
    import harness.run.judge as run_judge
    import harness.scoring.judge as scoring_judge

    def says_critical(*args: Any, **kwargs: Any) -> Any:
        return "critical"

    original = scoring_judge.score_run

    def score_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        out = dict(original(*args, **kwargs))
        out.update(outcome="critical", final_grad_norm_sq=0.0, correct=True)
        return out

    scoring_judge.score_run = score_run
    if hasattr(scoring_judge, "classify"):
        scoring_judge.classify = says_critical
    run_judge.score_run = score_run


@numpy_solver
def patch_scorer(oracles, theta0, max_iter, tol):
    """Patches the scorer from inside ``solve``, then returns its (non-critical) initial point."""
    _patch_the_scorer()
    return theta0


@numpy_solver
def exit_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except ``sys.exit(0)`` on the initial point ``target`` (the timed solve only)."""
    if tol < 1.0 and _is(theta0, target):
        raise SystemExit(0)
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def os_exit_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except ``os._exit(0)`` on the initial point ``target`` (the timed solve only)."""
    if tol < 1.0 and _is(theta0, target):
        os._exit(0)
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def hang_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except that it never returns on the initial point ``target``."""
    if tol < 1.0 and _is(theta0, target):
        while True:
            time.sleep(60)
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def hang_with_marker(oracles, theta0, max_iter, tol, marker=""):
    """Creates the file ``marker`` when the timed solve starts, then never returns."""
    if tol < 1.0:
        with open(marker, "w") as fh:
            fh.write(str(os.getpid()))
        while True:
            time.sleep(60)
    return _newton(oracles, theta0, max_iter, tol)


@numpy_solver
def sigkill_on_target(oracles, theta0, max_iter, tol, target=""):
    """Honest Newton, except that it SIGKILLs its own process on the initial point ``target``."""
    if tol < 1.0 and _is(theta0, target):
        os.kill(os.getpid(), signal.SIGKILL)
    return _newton(oracles, theta0, max_iter, tol)
