"""The solver protocol: what a solver sees (:class:`Problem`), what one step reports (:class:`StepInfo`),
what a solve returns (:class:`SolveResult`), the plug-in protocol (:class:`Solver`) and option checks.

Anything with a ``name`` and a ``solve(problem, theta0, *, max_iter, tol) -> SolveResult`` method is a
solver (:class:`Solver`).  Built-in solvers subclass :class:`harness.solvers._iterative.IterativeSolver`
and run in the shared loop (:mod:`harness.solvers._loop`, :mod:`harness.solvers._refill`).  Options are
validated once, in ``__post_init__``, by :func:`check_positive` / :func:`check_open_unit`, which raise
:class:`SolverOptionError` naming the option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

# Run status codes and snapshot cutoffs (shared by every solver, stored in results)
# live in the one JAX-free module harness.results.outcomes.
from harness.results.outcomes import (  # noqa: E402
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    RUNNING,
    SNAPSHOT_CUTOFFS,
    STALLED,
    STATUS_NAMES,
)

from ._oracles import NumpyOracles  # noqa: E402

__all__ = ["CONVERGED", "DIVERGED", "INT_TRACE_FIELDS", "MAX_ITER", "RUNNING", "SNAPSHOT_CUTOFFS", "STALLED",
           "STATUS_NAMES", "TRACE_FIELDS", "Problem", "SolveResult", "Solver", "SolverOptionError", "StepInfo",
           "check_open_unit", "check_positive"]

#: Per-iteration trace fields, each an array of shape ``(batch, max_iter + 1)``.
#: Entry ``k`` describes iterate ``k`` (entry 0 the initial point); the step
#: fields (``step_size`` .. ``hfro``) at entry ``k`` describe the step that
#: produced iterate ``k`` (NaN / -1 at entry 0).  Entries after a run stopped
#: are NaN (floats) or -1 (ints).
TRACE_FIELDS = (
    "loss",
    "grad_norm_sq",
    "step_size",
    "r",
    "r_H",
    "hfro",
    "krylov_iters",
    "krylov_flag",
    "hvps",
    "grads",
)
#: The integer-valued :data:`TRACE_FIELDS` (``-1`` where not applicable); the others are float (NaN).
INT_TRACE_FIELDS = frozenset({"krylov_iters", "krylov_flag", "hvps", "grads"})


class StepInfo(NamedTuple):
    """What one step reports (all scalars; use NaN / -1 for "not applicable").

    Attributes:
        step_size: the accepted step length alpha (``theta_new = theta + alpha p``).
        r: relative residual ``||H p + g|| / (||H||_F ||p|| + ||g||)`` of the
            Newton system at ``theta`` (REFERENCE.md, flatness statistics).
        r_H: relative co-kernel residual ``||H (H p + g)|| / (||H||_F ||H p + g||)``.
        hfro: the ``||H||_F`` value (or estimate) used in ``r`` and ``r_H``.
        krylov_iters: inner (MINRES-QLP) iterations used.
        krylov_flag: inner solver exit flag (see ``minres_qlp``), -1 if none.
        hvps: Hessian-vector products used by this step.
        grads: gradient evaluations used by this step (line-search trials etc.).
    """

    step_size: jax.Array
    r: jax.Array
    r_H: jax.Array
    hfro: jax.Array
    krylov_iters: jax.Array
    krylov_flag: jax.Array
    hvps: jax.Array
    grads: jax.Array

    @staticmethod
    def make(
        step_size: Any = jnp.nan,
        r: Any = jnp.nan,
        r_H: Any = jnp.nan,
        hfro: Any = jnp.nan,
        krylov_iters: Any = -1,
        krylov_flag: Any = -1,
        hvps: Any = 0,
        grads: Any = 0,
    ) -> "StepInfo":
        f = lambda x: jnp.asarray(x, dtype=jnp.float64)  # noqa: E731
        i = lambda x: jnp.asarray(x, dtype=jnp.int64)  # noqa: E731
        return StepInfo(f(step_size), f(r), f(r_H), f(hfro), i(krylov_iters), i(krylov_flag), i(hvps), i(grads))


@dataclasses.dataclass(frozen=True)
class Problem:
    """What a solver sees: a loss ``loss_fn(theta, data)`` and its size.

    ``loss_fn`` must be a pure JAX function of a flat float64 vector; ``data``
    is a pytree of arrays.  No ground truth is visible to solvers.  The runner
    hands solvers a *copy* of the case data (``harness.run.worker.isolated_data``:
    read-only NumPy leaves, fresh JAX buffers) and scores against a case it
    rebuilt itself, so a solver that writes to ``data`` only fools itself.
    """

    loss_fn: Callable[[Any, Any], Any]
    data: Any
    dim: int

    # NumPy conveniences for solvers written without JAX knowledge.
    def numpy_oracles(self) -> "NumpyOracles":
        return NumpyOracles(self)



@dataclasses.dataclass(frozen=True)
class SolveResult:
    """Host-side (NumPy) result of one batch of runs.

    Attributes:
        theta: final iterates, ``(batch, dim)``.
        status: status code per run (``CONVERGED``, ``MAX_ITER``, ``STALLED``, ``DIVERGED``).
        n_iter: iterations taken per run.
        hvps: total Hessian-vector products per run.
        grads: total gradient evaluations per run.
        trace: per-iteration arrays keyed by :data:`TRACE_FIELDS`, ``(batch, T + 1)``.
        hfro_method: how ``||H||_F`` in ``r``/``r_H`` was obtained
            (``"lanczos"``, ``"hutchinson"``, ``"exact"`` or ``"none"``).
        snapshots: ``(batch, len(SNAPSHOT_CUTOFFS), dim)``: the first iterate
            with ``||grad L||^2 < eps`` for each cutoff (NaN if never reached).
        snapshot_iter: ``(batch, len(SNAPSHOT_CUTOFFS))``: its iteration, -1 if never.
        lane_utilization: useful lane-iterations / (lanes x iterations executed)
            of the solve (None if unknown, e.g. a plugin's result).
        lanes: vmapped lanes of the solve (None if unknown).
        max_r_theta: ``(batch, dim)``: each run's maximally gradient-flat iterate (thesis
            Fig. 3.6D), the iterate ``theta_k`` whose Newton step reported the largest finite
            ``r`` of the run (``r`` of Eq. 3.36, the step *from* ``theta_k``: trace entry
            ``k + 1``); NaN if no step reported a finite ``r`` (None: not kept, e.g. a plugin).
        max_r_iter: ``(batch,)``: that ``k`` (the first one on ties), -1 if none.
        max_r_value: ``(batch,)``: that largest ``r``, NaN if none.
    """

    theta: np.ndarray
    status: np.ndarray
    n_iter: np.ndarray
    hvps: np.ndarray
    grads: np.ndarray
    trace: dict[str, np.ndarray]
    hfro_method: str = "none"
    snapshots: np.ndarray | None = None
    snapshot_iter: np.ndarray | None = None
    lane_utilization: float | None = None
    lanes: int | None = None
    max_r_theta: np.ndarray | None = None
    max_r_iter: np.ndarray | None = None
    max_r_value: np.ndarray | None = None

    @property
    def batch(self) -> int:
        return int(self.theta.shape[0])


@runtime_checkable
class Solver(Protocol):
    """The plugin protocol: anything with these two members is a solver."""

    name: str

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult: ...


class SolverOptionError(ValueError):
    """An invalid solver option (the message names the option)."""


def check_positive(name: str, value: Any, *, integer: bool = False, allow_zero: bool = False) -> None:
    """Raise :class:`SolverOptionError` unless ``value`` is a positive (int) number."""
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type:
        raise SolverOptionError(f"option {name!r} must be {'an integer' if integer else 'a number'}, got {value!r}")
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise SolverOptionError(f"option {name!r} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


def check_open_unit(name: str, value: Any, *, closed_right: bool = False) -> None:
    """Raise unless ``0 < value < 1`` (or ``<= 1`` with ``closed_right``)."""
    check_positive(name, value)
    if value > 1 or (value == 1 and not closed_right):
        raise SolverOptionError(f"option {name!r} must be in (0, 1{']' if closed_right else ')'}, got {value!r}")

