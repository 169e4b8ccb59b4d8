"""``IterativeSolver``: the base class of the built-in solvers, which run in the shared loop.

Every built-in solver is a small frozen dataclass (its options are fields,
validated in ``__post_init__``) with two pure methods over an explicit state
pytree, in the style of optimistix:

* ``init(fn, theta, f, g, args) -> state``
* ``step(fn, theta, f, g, state, args) -> (theta_new, state_new, StepInfo)``

and an optional stop hook ``terminate``.  ``solve`` runs them in the lockstep loop
(:func:`harness.solvers._loop.iterate`), ``solve_refill`` in lanes that refill
(:func:`harness.solvers._refill.iterate_refill`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

from ._loop import iterate
from ._protocol import RUNNING, Problem, SolveResult, StepInfo
from ._refill import iterate_refill

__all__ = ["IterativeSolver", "supports_refill"]


class IterativeSolver:
    """Base class for built-in JAX solvers (subclass as a frozen dataclass).

    Subclasses set ``name`` (class variable) and implement :meth:`init` and
    :meth:`step`; :meth:`solve` runs them in the shared loop.
    """

    name: ClassVar[str] = "iterative"
    hfro_method: ClassVar[str] = "none"
    #: Whether the solver forms the dense ``dim x dim`` Hessian (memory ``dim^2`` per lane): the
    #: scorecard and the leaderboard suites run such a solver only up to their dense limit.  A
    #: plug-in that does not declare it counts as not dense (:func:`harness.solvers.is_dense`).
    dense: ClassVar[bool] = False

    def hvps_per_iteration(self, dim: int) -> int:
        """An upper bound on the Hessian-vector products one outer iteration takes at dimension ``dim``
        (the sweep's dry-run budget: ``runs x max_iter x`` this).  Default ``dim``: a dense Hessian's
        worth; solvers that use fewer declare their own (:func:`harness.solvers.hvps_per_iteration`)."""
        return int(dim)

    def init(self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, args: Any) -> Any:
        return ()

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        raise NotImplementedError

    def terminate(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, info: StepInfo, args: Any
    ) -> jax.Array:
        """Optional stop hook, called after each step at the new iterate.

        Return :data:`RUNNING` to continue or a status code (e.g. ``STALLED``)
        to stop the run with that status; the loop's own tests (non-finite,
        converged, unchanged iterate) take precedence, the budget comes after.
        """
        return jnp.int64(RUNNING)

    def options(self) -> dict[str, Any]:
        """The solver's options as a JSON-friendly dict (what its records and run ids hold).

        An option declared with ``metadata={"omit_at_default": True}`` (one added after runs of
        the solver were stored, whose default keeps the old behaviour) is left out while it has
        its default, so those runs keep their ids."""
        if dataclasses.is_dataclass(self):
            return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)
                    if not (f.metadata.get("omit_at_default") and getattr(self, f.name) == f.default)}
        return {}

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        return iterate(self, problem, theta0, max_iter=max_iter, tol=tol)

    def solve_refill(
        self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float, lanes: int,
        runs: int | None = None,
    ) -> SolveResult:
        """Solve the first ``runs`` rows of ``theta0`` in ``lanes`` lanes that refill (:func:`iterate_refill`)."""
        return iterate_refill(self, problem, theta0, max_iter=max_iter, tol=tol, lanes=lanes, runs=runs)


def supports_refill(solver: Any) -> bool:
    """Whether ``solver`` solves by the shared loop and so can refill lanes (:func:`iterate_refill`):
    an :class:`IterativeSolver` that does not override ``solve``/``solve_refill`` inconsistently."""
    if not isinstance(solver, IterativeSolver):
        return False
    cls = type(solver)
    return cls.solve is IterativeSolver.solve or cls.solve_refill is not IterativeSolver.solve_refill


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v

