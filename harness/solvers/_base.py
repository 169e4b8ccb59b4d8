"""Solver protocol, result types and the one shared iteration loop.

Every built-in solver is a small frozen dataclass (its options are fields,
validated in ``__post_init__``) with two pure methods over an explicit state
pytree, in the style of optimistix:

* ``init(fn, theta, f, g, args) -> state``
* ``step(fn, theta, f, g, state, args) -> (theta_new, state_new, StepInfo)``

where ``fn(theta, args)`` is the loss, ``f = fn(theta, args)`` and
``g = grad fn(theta, args)`` at the current iterate (computed once per iterate
by the loop, so a step never recomputes them).  The loop
(:func:`iterate`) is a single ``lax.while_loop``, ``vmap``-ed over a batch of
initial points and ``jit``-compiled once per (solver options, loss, batch
shape, budget).  It stops a run when

* ``||grad L||^2 <= tol``                    -> ``CONVERGED``
* the step leaves ``theta`` exactly unchanged -> ``STALLED`` (Alg. 13, line 11)
* a loss, gradient or iterate is NaN/inf     -> ``DIVERGED`` (the run keeps its
  last finite iterate; other runs in the batch are unaffected)
* the iteration budget is spent              -> ``MAX_ITER``

Costs are counted, not timed: one gradient per iterate (by the loop) plus what
each step reports in ``StepInfo.grads`` and ``StepInfo.hvps``.  A
Hessian-vector product is ``jvp`` of ``grad`` (forward-over-reverse), see
:func:`hvp`.

Third-party solvers need not use this loop: anything with a ``name`` and a
``solve(problem, theta0, *, max_iter, tol) -> SolveResult`` method is a solver
(see :class:`Solver`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

# Run status codes and snapshot cutoffs (shared by every solver, stored in results)
# live in the one JAX-free module harness.outcomes.
from harness.outcomes import (  # noqa: E402
    CONVERGED,
    DIVERGED,
    MAX_ITER,
    RUNNING,
    SNAPSHOT_CUTOFFS,
    STALLED,
    STATUS_NAMES,
)

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
_INT_FIELDS = {"krylov_iters", "krylov_flag", "hvps", "grads"}



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
    hands solvers a *copy* of the case data (``harness.shard.isolated_data``:
    read-only NumPy leaves, fresh JAX buffers) and scores against a case it
    rebuilt itself, so a solver that writes to ``data`` only fools itself.
    """

    loss_fn: Callable[[Any, Any], Any]
    data: Any
    dim: int

    # NumPy conveniences for solvers written without JAX knowledge.
    def numpy_oracles(self) -> "NumpyOracles":
        return NumpyOracles(self)


class NumpyOracles:
    """Counting NumPy callables ``loss(theta)``, ``grad(theta)``, ``hvp(theta, v)``.

    For wrapping solvers written in NumPy/SciPy: each call is jit-compiled
    JAX underneath, returns float64 NumPy arrays, and increments the counters
    ``n_loss``, ``n_grad`` and ``n_hvp`` (the harness's portable cost measure).
    """

    def __init__(self, problem: Problem) -> None:
        fn, data = problem.loss_fn, problem.data
        loss, grad, hvp_ = _numpy_oracle_fns(fn)  # compiled once per loss function, data traced
        self._loss = lambda t: loss(t, data)
        self._grad = lambda t: grad(t, data)
        self._hvp = lambda t, v: hvp_(t, v, data)
        self.n_loss = 0
        self.n_grad = 0
        self.n_hvp = 0

    def loss(self, theta: np.ndarray) -> float:
        self.n_loss += 1
        return float(self._loss(jnp.asarray(theta, dtype=jnp.float64)))

    def grad(self, theta: np.ndarray) -> np.ndarray:
        self.n_grad += 1
        return np.asarray(self._grad(jnp.asarray(theta, dtype=jnp.float64)))

    def hvp(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        self.n_hvp += 1
        return np.asarray(self._hvp(jnp.asarray(theta, dtype=jnp.float64), jnp.asarray(v, dtype=jnp.float64)))


@functools.lru_cache(maxsize=64)
def _numpy_oracle_fns(fn: Callable[[Any, Any], Any]) -> tuple[Callable, Callable, Callable]:
    """jit-compiled ``loss(t, data)``, ``grad(t, data)``, ``hvp(t, v, data)`` of one loss
    function (the data is an argument, so a fresh copy per shard does not recompile)."""
    return (jax.jit(fn), jax.jit(jax.grad(fn)), jax.jit(lambda t, v, d: hvp(fn, t, v, d)))


def hvp(fn: Callable[[Any, Any], Any], theta: jax.Array, v: jax.Array, args: Any) -> jax.Array:
    """Hessian-vector product ``Hess fn(theta) @ v`` as ``jvp`` of ``grad`` (one HVP)."""
    g = lambda t: jax.grad(fn)(t, args)  # noqa: E731
    return jax.jvp(g, (theta,), (v,))[1]


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


class IterativeSolver:
    """Base class for built-in JAX solvers (subclass as a frozen dataclass).

    Subclasses set ``name`` (class variable) and implement :meth:`init` and
    :meth:`step`; :meth:`solve` runs them in the shared loop.
    """

    name: ClassVar[str] = "iterative"
    hfro_method: ClassVar[str] = "none"

    def init(self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, args: Any) -> Any:
        return ()

    def step(
        self, fn: Callable, theta: jax.Array, f: jax.Array, g: jax.Array, state: Any, args: Any
    ) -> tuple[jax.Array, Any, StepInfo]:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        """The solver's options as a JSON-friendly dict."""
        if dataclasses.is_dataclass(self):
            return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {}

    def solve(self, problem: Problem, theta0: np.ndarray, *, max_iter: int, tol: float) -> SolveResult:
        return iterate(self, problem, theta0, max_iter=max_iter, tol=tol)


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _run_one(solver: IterativeSolver, fn: Callable, theta0: jax.Array, args: Any, max_iter: int, tol: jax.Array):
    """One run as a ``lax.while_loop`` (vmapped by :func:`_run_batch`)."""
    vg = jax.value_and_grad(fn)
    f0, g0 = vg(theta0, args)
    g2_0 = jnp.vdot(g0, g0)
    T = max_iter + 1
    trace = {k: (jnp.full((T,), -1, jnp.int64) if k in _INT_FIELDS else jnp.full((T,), jnp.nan)) for k in TRACE_FIELDS}
    trace["loss"] = trace["loss"].at[0].set(f0)
    trace["grad_norm_sq"] = trace["grad_norm_sq"].at[0].set(g2_0)
    trace["hvps"] = trace["hvps"].at[0].set(0)
    trace["grads"] = trace["grads"].at[0].set(1)
    finite0 = jnp.isfinite(f0) & jnp.isfinite(g2_0) & jnp.all(jnp.isfinite(theta0))
    status0 = jnp.where(
        ~finite0,
        DIVERGED,
        jnp.where(g2_0 <= tol, CONVERGED, jnp.where(max_iter <= 0, MAX_ITER, RUNNING)),
    ).astype(jnp.int64)
    state0 = solver.init(fn, theta0, f0, g0, args)
    cut = jnp.asarray(SNAPSHOT_CUTOFFS, dtype=jnp.float64)
    hit0 = finite0 & (g2_0 < cut)
    snap0 = jnp.where(hit0[:, None], theta0[None, :], jnp.nan)
    snap_it0 = jnp.where(hit0, 0, -1).astype(jnp.int64)
    carry0 = (jnp.int64(0), theta0, f0, g0, state0, status0, jnp.int64(0), jnp.int64(1), trace, snap0, snap_it0)

    def cond(c):
        return c[5] == RUNNING

    def body(c):
        k, theta, f, g, state, _, hv, gr, tr, snap, snap_it = c
        theta_new, state_new, info = solver.step(fn, theta, f, g, state, args)
        f_new, g_new = vg(theta_new, args)
        g2 = jnp.vdot(g_new, g_new)
        hv = hv + info.hvps
        gr = gr + info.grads + 1
        k = k + 1
        finite = jnp.isfinite(f_new) & jnp.isfinite(g2) & jnp.all(jnp.isfinite(theta_new))
        stalled = jnp.all(theta_new == theta)
        status = jnp.where(
            ~finite,
            DIVERGED,
            jnp.where(g2 <= tol, CONVERGED, jnp.where(stalled, STALLED, jnp.where(k >= max_iter, MAX_ITER, RUNNING))),
        ).astype(jnp.int64)
        vals = {
            "loss": f_new,
            "grad_norm_sq": g2,
            "step_size": info.step_size,
            "r": info.r,
            "r_H": info.r_H,
            "hfro": info.hfro,
            "krylov_iters": info.krylov_iters,
            "krylov_flag": info.krylov_flag,
            "hvps": hv,
            "grads": gr,
        }
        tr = {key: tr[key].at[k].set(vals[key].astype(tr[key].dtype)) for key in TRACE_FIELDS}
        hit = finite & (g2 < cut) & (snap_it < 0)
        snap = jnp.where(hit[:, None], theta_new[None, :], snap)
        snap_it = jnp.where(hit, k, snap_it)
        # A diverged run keeps its last finite iterate.
        keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
        return (
            k,
            keep(theta_new, theta),
            keep(f_new, f),
            keep(g_new, g),
            jax.tree_util.tree_map(keep, state_new, state),
            status,
            hv,
            gr,
            tr,
            snap,
            snap_it,
        )

    k, theta, _, _, _, status, hv, gr, tr, snap, snap_it = jax.lax.while_loop(cond, body, carry0)
    return theta, status, k, hv, gr, tr, snap, snap_it


def _run_batch_impl(solver, fn, theta0, args, max_iter, tol):
    run = lambda t0: _run_one(solver, fn, t0, args, max_iter, tol)  # noqa: E731
    return jax.vmap(run)(theta0)


_run_batch = jax.jit(_run_batch_impl, static_argnums=(0, 1, 4))


def iterate(
    solver: IterativeSolver,
    problem: Problem,
    theta0: np.ndarray,
    *,
    max_iter: int,
    tol: float,
) -> SolveResult:
    """Run ``solver`` from each row of ``theta0`` (shape ``(batch, dim)``).

    One ``jit`` compilation per (solver options, loss function, batch shape,
    ``max_iter``); ``tol`` and the data are traced, so changing them does not
    recompile.
    """
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.ndim == 1:
        theta0 = theta0[None, :]
    if theta0.ndim != 2 or theta0.shape[1] != problem.dim:
        raise ValueError(
            f"initial points must have shape (batch, {problem.dim}); got {tuple(theta0.shape)}"
        )
    check_positive("max_iter", max_iter, integer=True, allow_zero=True)
    check_positive("tol", tol, allow_zero=True)
    theta, status, k, hv, gr, tr, snap, snap_it = _run_batch(
        solver, problem.loss_fn, jnp.asarray(theta0), problem.data, int(max_iter), jnp.float64(tol)
    )
    return SolveResult(
        theta=np.asarray(theta),
        status=np.asarray(status),
        n_iter=np.asarray(k),
        hvps=np.asarray(hv),
        grads=np.asarray(gr),
        trace={key: np.asarray(v) for key, v in tr.items()},
        hfro_method=str(getattr(solver, "hfro_method", "none")),
        snapshots=np.asarray(snap),
        snapshot_iter=np.asarray(snap_it),
    )
