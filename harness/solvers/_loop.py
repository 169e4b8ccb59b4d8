"""The one shared iteration loop of the built-in solvers, lockstep over a batch.

The solver's ``init``/``step`` (:class:`harness.solvers._iterative.IterativeSolver`) take
``fn(theta, args)``, the loss, with ``f = fn(theta, args)`` and ``g = grad fn(theta, args)``
at the current iterate (computed once per iterate by the loop, so a step never recomputes
them).  The loop (:func:`iterate`) is a single ``lax.while_loop``, ``vmap``-ed over a batch of
initial points and ``jit``-compiled once per (solver options, loss, batch shape, budget).
It stops a run when

* ``||grad L||^2 <= tol``                    -> ``CONVERGED``
* the step leaves ``theta`` exactly unchanged -> ``STALLED`` (Alg. 13, line 11)
* a loss, gradient or iterate is NaN/inf     -> ``DIVERGED`` (the run keeps its
  last finite iterate; other runs in the batch are unaffected)
* the iteration budget is spent              -> ``MAX_ITER``

``tol = 0`` (:data:`NO_EARLY_STOP`) disables the first test: a run then uses its
whole budget (only an exactly zero gradient ends it early, where every Newton-type
step is zero anyway), which is how the thesis's Fig. 3.2 runs "run to termination"
while the snapshots still record the first iterate below each cutoff (Fig. 3.3).
``tol`` is part of the run's solver key and record (``harness.run.keys.solver_key``).

Costs are counted, not timed: one gradient per iterate (by the loop) plus what
each step reports in ``StepInfo.grads`` and ``StepInfo.hvps``.  A
Hessian-vector product is ``jvp`` of ``grad`` (forward-over-reverse), see
:func:`harness.solvers.hvp`.

:func:`init_carry` (iterate 0) and :func:`step_carry` (one iteration) are the per-run
computation, shared with the refilling scheduler (:mod:`harness.solvers._refill`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from harness.jitcache.exported import ExportedJit
from ._protocol import (
    CONVERGED,
    DIVERGED,
    INT_TRACE_FIELDS,
    MAX_ITER,
    RUNNING,
    SNAPSHOT_CUTOFFS,
    STALLED,
    TRACE_FIELDS,
    Problem,
    SolveResult,
    check_positive,
)

if TYPE_CHECKING:
    from ._iterative import IterativeSolver

__all__ = ["NO_EARLY_STOP", "OUT_FIELDS", "LoopCarry", "check_theta0", "init_carry", "iterate", "lockstep_utilization",
           "step_carry"]

#: ``tol`` that disables the stop at ``||grad L||^2 <= tol`` (module docstring): the run uses its budget.
NO_EARLY_STOP = 0.0


class LoopCarry(NamedTuple):
    """The shared loop's state for one run (vmapped: every field gains a leading batch axis).

    Attributes:
        k: iterations taken.
        theta, f, g: the current iterate, its loss and gradient.
        state: the solver's own state pytree.
        status: :data:`RUNNING` or the stop reason.
        hvps, grads: cumulative costs (the initial gradient counts as one).
        trace: per-iteration arrays keyed by :data:`TRACE_FIELDS`, each ``(max_iter + 1,)``.
        snap, snap_it: snapshots at :data:`SNAPSHOT_CUTOFFS` and their iterations.
        max_r_theta, max_r_iter, max_r_value: the iterate whose step reported the largest
            finite ``r`` so far, its iteration and that ``r`` (NaN, -1, NaN until one does).
    """

    k: jax.Array
    theta: jax.Array
    f: jax.Array
    g: jax.Array
    state: Any
    status: jax.Array
    hvps: jax.Array
    grads: jax.Array
    trace: dict[str, jax.Array]
    snap: jax.Array
    snap_it: jax.Array
    max_r_theta: jax.Array
    max_r_iter: jax.Array
    max_r_value: jax.Array


def init_carry(solver: IterativeSolver, fn: Callable, theta0: jax.Array, args: Any, max_iter: int,
                tol: jax.Array) -> LoopCarry:
    """Iterate 0 of one run: loss, gradient, status, trace entry 0, snapshots, solver state."""
    vg = jax.value_and_grad(fn)
    f0, g0 = vg(theta0, args)
    g2_0 = jnp.vdot(g0, g0)
    T = max_iter + 1
    trace = {k: (jnp.full((T,), -1, jnp.int64) if k in INT_TRACE_FIELDS else jnp.full((T,), jnp.nan))
             for k in TRACE_FIELDS}
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
    return LoopCarry(jnp.int64(0), theta0, f0, g0, state0, status0, jnp.int64(0), jnp.int64(1), trace, snap0,
                     snap_it0, jnp.full_like(theta0, jnp.nan), jnp.int64(-1), jnp.float64(jnp.nan))


def step_carry(solver: IterativeSolver, fn: Callable, c: LoopCarry, args: Any, max_iter: int,
                tol: jax.Array) -> LoopCarry:
    """One iteration of one run: the solver's step, the new gradient, stop tests, trace and snapshots.

    Stop tests in order: non-finite -> DIVERGED, ``||g||^2 <= tol`` -> CONVERGED,
    unchanged iterate -> STALLED, the solver's :meth:`IterativeSolver.terminate`
    hook, budget spent -> MAX_ITER.

    The maximally flat iterate (thesis Fig. 3.6D) is updated before the step is
    judged: ``theta_k = c.theta`` replaces it when the step from it reported a finite
    ``info.r`` strictly larger than the best so far (so the first one wins ties).
    """
    vg = jax.value_and_grad(fn)
    theta_new, state_new, info = solver.step(fn, c.theta, c.f, c.g, c.state, args)
    f_new, g_new = vg(theta_new, args)
    g2 = jnp.vdot(g_new, g_new)
    hv = c.hvps + info.hvps
    gr = c.grads + info.grads + 1
    k = c.k + 1
    finite = jnp.isfinite(f_new) & jnp.isfinite(g2) & jnp.all(jnp.isfinite(theta_new))
    stalled = jnp.all(theta_new == c.theta)
    hook = jnp.asarray(solver.terminate(fn, theta_new, f_new, g_new, state_new, info, args), dtype=jnp.int64)
    status = jnp.where(
        ~finite,
        DIVERGED,
        jnp.where(g2 <= tol, CONVERGED, jnp.where(stalled, STALLED, jnp.where(
            hook != RUNNING, hook, jnp.where(k >= max_iter, MAX_ITER, RUNNING)))),
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
    tr = {key: c.trace[key].at[k].set(vals[key].astype(c.trace[key].dtype)) for key in TRACE_FIELDS}
    cut = jnp.asarray(SNAPSHOT_CUTOFFS, dtype=jnp.float64)
    hit = finite & (g2 < cut) & (c.snap_it < 0)
    snap = jnp.where(hit[:, None], theta_new[None, :], c.snap)
    snap_it = jnp.where(hit, k, c.snap_it)
    better = jnp.isfinite(info.r) & (jnp.isnan(c.max_r_value) | (info.r > c.max_r_value))
    max_r_theta = jnp.where(better, c.theta, c.max_r_theta)
    max_r_iter = jnp.where(better, c.k, c.max_r_iter)
    max_r_value = jnp.where(better, info.r, c.max_r_value)
    # A diverged run keeps its last finite iterate.
    keep = lambda new, old: jnp.where(finite, new, old)  # noqa: E731
    return LoopCarry(k, keep(theta_new, c.theta), keep(f_new, c.f), keep(g_new, c.g),
                     jax.tree_util.tree_map(keep, state_new, c.state), status, hv, gr, tr, snap, snap_it,
                     max_r_theta, max_r_iter, max_r_value)


#: Per-run outputs of a solve, lockstep or refilling: the carry fields that make a :class:`SolveResult`.
OUT_FIELDS = ("theta", "status", "k", "hvps", "grads", "trace", "snap", "snap_it", "max_r_theta", "max_r_iter",
               "max_r_value")


def _run_one(solver: IterativeSolver, fn: Callable, theta0: jax.Array, args: Any, max_iter: int, tol: jax.Array):
    """One run as a ``lax.while_loop`` (vmapped by :func:`_run_batch`)."""
    c = jax.lax.while_loop(
        lambda c: c.status == RUNNING,
        lambda c: step_carry(solver, fn, c, args, max_iter, tol),
        init_carry(solver, fn, theta0, args, max_iter, tol),
    )
    return tuple(getattr(c, name) for name in OUT_FIELDS)


def _run_batch_impl(solver, fn, theta0, args, max_iter, tol):
    run = lambda t0: _run_one(solver, fn, t0, args, max_iter, tol)  # noqa: E731
    return jax.vmap(run)(theta0)


_run_batch = ExportedJit(_run_batch_impl, static_argnums=(0, 1, 4))

def check_theta0(problem: Problem, theta0: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    theta0 = np.asarray(theta0, dtype=np.float64)
    if theta0.ndim == 1:
        theta0 = theta0[None, :]
    if theta0.ndim != 2 or theta0.shape[1] != problem.dim:
        raise ValueError(
            f"initial points must have shape (batch, {problem.dim}); got {tuple(theta0.shape)}"
        )
    check_positive("max_iter", max_iter, integer=True, allow_zero=True)
    check_positive("tol", tol, allow_zero=True)
    return theta0


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
    theta0 = check_theta0(problem, theta0, max_iter, tol)
    theta, status, k, hv, gr, tr, snap, snap_it, mr_theta, mr_iter, mr_value = _run_batch(
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
        lane_utilization=lockstep_utilization(np.asarray(k)),
        lanes=int(theta0.shape[0]),
        max_r_theta=np.asarray(mr_theta),
        max_r_iter=np.asarray(mr_iter),
        max_r_value=np.asarray(mr_value),
    )


def lockstep_utilization(n_iter: np.ndarray) -> float:
    """Useful lane-iterations / total of a lockstep batch: ``sum(n_iter) / (batch * max(n_iter))``."""
    n_iter = np.asarray(n_iter)
    top = int(n_iter.max()) if n_iter.size else 0
    return float(n_iter.sum() / (n_iter.size * top)) if top > 0 else 1.0
